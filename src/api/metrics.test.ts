/**
 * The API server's /metrics and /readyz over actor messages, in the simulated
 * runtime with three store replicas: the same text the HTTPS paths serve.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../actor/index.js';
import { spawnEtcdGroup } from '../kv/replica/group.js';
import { apiServer } from './behaviour.js';
import { reportedVerb, storeKeyType } from './metrics.js';
import type { ApiHealthReply, ApiMetricsReply, ApiReply, ApiServerMsg } from './protocol.js';

/** The value of the one sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const found: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) found.push(Number(m[3]));
  }
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} names one series, not ${found.length}`);
  return found[0];
}

async function startCluster(seed: number) {
  const sim = new SimulatedSystem({ seed, logger: createLogger({ level: 'silent' }) });
  const group = await spawnEtcdGroup(sim, { replicas: 3 });
  await sim.spawn(apiServer, { name: 'apiserver', args: { http: false, kv: { kind: 'replicated', options: { replicas: group.names } } } });
  const api = sim.ref<ApiServerMsg>('apiserver');
  const ask = <T>(msg: ApiServerMsg, maxMs = 30_000) => sim.settle(api.ask<T>(msg, { timeoutMs: maxMs }), { maxMs });
  await ask({ type: 'api.info', body: null });
  const metrics = async () => (await ask<ApiMetricsReply>({ type: 'api.metrics', body: null })).text;
  const readyz = (query: { verbose?: boolean; exclude?: string[] } = {}) => ask<ApiHealthReply>({ type: 'api.health', body: { endpoint: 'readyz', ...query } });
  return { sim, group, ask, metrics, readyz };
}

const configMap = (name: string) => ({ type: 'api.create' as const, body: { group: '', version: 'v1', resource: 'configmaps', namespace: 'default', object: { metadata: { name }, data: { k: 'v' } } } });

test('the API server\'s series move as requests are served, and each store replica\'s arrive with its component label', async () => {
  const { sim, group, ask, metrics } = await startCluster(21);
  try {
    const before = await metrics();
    const created = (labels: Record<string, string>) => (text: string) => sample(text, 'apiserver_request_total', { verb: 'POST', resource: 'configmaps', code: '201', component: 'apiserver', ...labels }) ?? 0;
    assert.equal(created({})(before), 0);
    assert.ok((await ask<ApiReply>(configMap('a'))).ok);
    assert.ok((await ask<ApiReply>(configMap('b'))).ok);
    const conflict = await ask<ApiReply>(configMap('a'));
    assert.equal(conflict.ok, false);
    const after = await metrics();

    assert.equal(created({})(after), 2);
    assert.equal(sample(after, 'apiserver_request_total', { verb: 'POST', resource: 'configmaps', code: '409' }), 1);
    assert.equal(sample(after, 'apiserver_request_duration_seconds_count', { verb: 'POST', resource: 'configmaps', code: '201' }), 2);
    const bucket = (le: string) => sample(after, 'apiserver_request_duration_seconds_bucket', { le, verb: 'POST', resource: 'configmaps', code: '201' });
    assert.equal(bucket('0.005'), 2, 'Kubernetes\' buckets, from 5 ms (virtual time: a write here takes less)');
    assert.equal(bucket('60'), 2, 'up to 60 s');
    assert.equal(sample(after, 'apiserver_current_inflight_requests', { request_kind: 'mutating' }), 0);
    assert.ok(sample(after, 'apiserver_storage_objects', { resource: 'configmaps' })! >= 2);
    assert.ok(sample(after, 'apiserver_storage_objects', { resource: 'clusterroles.rbac.authorization.k8s.io' })! > 0);
    assert.ok(sample(after, 'etcd_request_duration_seconds_count', { operation: 'txn', type: 'configmaps' })! >= 2, 'the store calls are timed');
    assert.ok(/^# TYPE apiserver_registered_watchers gauge$/m.test(after));
    assert.ok(/^# TYPE apiserver_watch_events_total counter$/m.test(after));

    const leaders = group.names.map((name) => sample(after, 'etcd_server_is_leader', { component: name }));
    assert.deepEqual(leaders.slice().sort(), [0, 0, 1], 'one replica leads');
    for (const name of group.names) {
      assert.equal(sample(after, 'etcd_server_has_leader', { component: name }), 1);
      assert.ok(sample(after, 'etcd_server_leader_changes_seen_total', { component: name })! >= 1);
      assert.ok(sample(after, 'etcd_server_proposals_committed_total', { component: name })! > 0);
      assert.ok(sample(after, 'etcd_server_proposals_applied_total', { component: name })! > 0);
      assert.equal(sample(after, 'etcd_server_proposals_failed_total', { component: name }), 0);
      assert.ok(sample(after, 'etcd_disk_wal_fsync_duration_seconds_count', { component: name })! > 0);
      assert.ok(sample(after, 'etcd_mvcc_db_total_size_in_bytes', { component: name })! > 0);
      assert.ok(sample(after, 'etcd_debugging_mvcc_keys_total', { component: name })! >= 2);
    }
    const leader = group.names[leaders.indexOf(1)]!;
    assert.equal(sample(after, 'etcd_server_proposals_pending', { component: leader }), 0);
    for (const follower of group.names.filter((name) => name !== leader)) {
      assert.ok(sample(after, 'etcd_network_peer_round_trip_time_seconds_count', { component: leader, To: follower })! > 0, `the leader times its heartbeats to ${follower}`);
    }
    assert.ok(/^# TYPE etcd_disk_backend_commit_duration_seconds histogram$/m.test(after));
    assert.equal((after.match(/^# TYPE etcd_server_has_leader /gm) ?? []).length, 1, 'one family, three series');
  } finally {
    await sim.shutdown();
  }
});

test('/readyz?verbose names its checks, and fails on etcd while the store has no leader', async () => {
  const { sim, group, readyz } = await startCluster(22);
  try {
    assert.deepEqual(await readyz({ verbose: true }), { found: true, code: 200, body: '[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n' });
    assert.deepEqual(await readyz(), { found: true, code: 200, body: 'ok' });

    // Two of three replicas gone: no quorum, so no leader (check-quorum deposes the one left).
    await sim.stop(group.names[0]!);
    await sim.stop(group.names[1]!);
    await sim.runFor(5_000);
    const failed = await readyz({ verbose: true });
    assert.equal(failed.code, 500, 'Kubernetes answers a failed health check with 500');
    assert.equal(failed.body, '[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check failed\n');
    assert.deepEqual(await readyz({ verbose: true, exclude: ['etcd'] }), { found: true, code: 200, body: '[+]ping ok\n[+]etcd excluded: ok\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n' });
  } finally {
    await sim.shutdown();
  }
});

test('verbs are reported as kube-apiserver reports them, and store keys by their resource', () => {
  assert.deepEqual((['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const).map((v) => reportedVerb(v, false)), ['GET', 'LIST', 'WATCH', 'POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION']);
  assert.equal(reportedVerb('patch', true), 'APPLY');
  assert.equal(storeKeyType('/registry/pods/default/a'), 'pods');
  assert.equal(storeKeyType('/registry/health'), 'health');
  assert.equal(storeKeyType('/elsewhere'), '');
});
