/**
 * The whole cluster's series on one port, as `kubethreads up --metrics-port`
 * serves them: a threaded cluster with a node, a Deployment run on it, and
 * every component's series scraped over HTTP, linted by promtool, and (when
 * Debian's prometheus is installed) scraped by a real Prometheus that sees
 * them move.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KUBECTL, PROMTOOL, requireKubectl, requirePromtool, requireTool } from '../testing/tools.js';
import { runUp } from '../cli/up.js';
import { prometheusConfig, startMetricsServer, type MetricsServer } from './metrics-server.js';
import { startCluster, waitForNodesReady, type Cluster } from './start.js';
import { resolveClusterSpec } from './spec.js';
import { eventually, httpGet } from './testing.js';

/** Debian's prometheus server (package prometheus, beside promtool). */
const PROMETHEUS = '/usr/bin/prometheus';

/** etcd exposes these three gauges under `_total` names; promtool's lint flags them on etcd too. */
const ETCD_OWN_LINT = [
  'etcd_debugging_mvcc_keys_total non-counter metrics should not have "_total" suffix',
  'etcd_server_proposals_applied_total non-counter metrics should not have "_total" suffix',
  'etcd_server_proposals_committed_total non-counter metrics should not have "_total" suffix',
];

/** Every series issue 17 names, and the component that must expose it. */
const EXPECTED: [family: string, component: string][] = [
  ['apiserver_request_total', 'apiserver'],
  ['apiserver_request_duration_seconds', 'apiserver'],
  ['apiserver_current_inflight_requests', 'apiserver'],
  ['apiserver_watch_events_total', 'apiserver'],
  ['apiserver_registered_watchers', 'apiserver'],
  ['apiserver_storage_objects', 'apiserver'],
  ['etcd_request_duration_seconds', 'apiserver'],
  ['etcd_server_has_leader', 'etcd-0'],
  ['etcd_server_is_leader', 'etcd-1'],
  ['etcd_server_leader_changes_seen_total', 'etcd-2'],
  ['etcd_server_proposals_committed_total', 'etcd-0'],
  ['etcd_server_proposals_applied_total', 'etcd-0'],
  ['etcd_server_proposals_pending', 'etcd-0'],
  ['etcd_server_proposals_failed_total', 'etcd-0'],
  ['etcd_disk_wal_fsync_duration_seconds', 'etcd-0'],
  ['etcd_disk_backend_commit_duration_seconds', 'etcd-0'],
  ['etcd_mvcc_db_total_size_in_bytes', 'etcd-0'],
  ['etcd_debugging_mvcc_keys_total', 'etcd-0'],
  ['scheduler_schedule_attempts_total', 'scheduler-0'],
  ['scheduler_scheduling_attempt_duration_seconds', 'scheduler-0'],
  ['scheduler_e2e_scheduling_duration_seconds', 'scheduler-1'],
  ['scheduler_pending_pods', 'scheduler-1'],
  ['workqueue_depth', 'controller-manager-0'],
  ['workqueue_adds_total', 'controller-manager-0'],
  ['workqueue_queue_duration_seconds', 'controller-manager-0'],
  ['workqueue_work_duration_seconds', 'controller-manager-0'],
  ['workqueue_retries_total', 'controller-manager-0'],
  ['leader_election_master_status', 'controller-manager-1'],
  ['leader_election_master_status', 'scheduler-0'],
  ['rest_client_requests_total', 'kubelet-node-0'],
  ['rest_client_requests_total', 'scheduler-0'],
  ['kubelet_running_pods', 'kubelet-node-0'],
  ['kubelet_running_containers', 'kubelet-node-0'],
  ['kubelet_pod_start_duration_seconds', 'kubelet-node-0'],
  ['kubelet_pod_worker_duration_seconds', 'kubelet-node-0'],
  ['kubeproxy_sync_proxy_rules_duration_seconds', 'kube-proxy-node-0'],
  ['kubethreads_actor_messages_sent_total', 'runtime-node-0'],
  ['kubethreads_actor_messages_received_total', 'etcd-1'],
  ['kubethreads_actor_messages_dropped_total', 'apiserver'],
  ['kubethreads_actor_mailbox_depth', 'kubelet-node-0'],
  ['kubethreads_actor_restarts_total', 'scheduler-0'],
  ['kubethreads_actor_ask_timeouts_total', 'controller-manager-0'],
];

/** deploy/grafana/kubethreads.json: every PromQL expression of its panels. */
function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(new URL('../../../deploy/grafana/kubethreads.json', import.meta.url), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** Sum of the samples of `name` whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

function hasSeries(text: string, family: string, component: string): boolean {
  return new RegExp(`^${family}(_bucket|_count|_sum)?\\{[^}]*component="${component}"`, 'm').test(text);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe('every component\'s series on one metrics port', { skip: requireKubectl() }, () => {
  let dir: string;
  let cluster: Cluster;
  let metrics: MetricsServer;
  let kubectl: (...args: string[]) => string;
  const scrape = async () => {
    const reply = await httpGet(metrics.url, 10_000);
    assert.equal(reply.status, 200);
    return reply.body;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubethreads-metrics-port-'));
    const spec = resolveClusterSpec({ port: 0, dataDir: join(dir, 'data'), kubeconfigPath: join(dir, 'kubeconfig'), nodes: 1, profile: 'fast' });
    cluster = await startCluster(spec, { logLevel: 'fatal' });
    metrics = await startMetricsServer({ system: cluster.system, port: 0 });
    kubectl = (...args) => execFileSync(KUBECTL, ['--kubeconfig', spec.kubeconfigPath, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.ok(await waitForNodesReady(cluster, { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), stopped: () => false }), 'the node becomes Ready');
    kubectl('create', 'deployment', 'web', '--image=nginx', '--replicas=2');
    kubectl('expose', 'deployment', 'web', '--port=80');
    await eventually('two pods Running', () => {
      const phases = kubectl('get', 'pods', '-o', 'jsonpath={.items[*].status.phase}').split(' ').filter((p) => p === 'Running');
      return phases.length === 2 ? true : undefined;
    }, 60_000);
  });

  after(async () => {
    await metrics?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every series issue 17 names is served, each under its component label', async () => {
    const text = await scrape();
    const missing = EXPECTED.filter(([family, component]) => !hasSeries(text, family, component));
    assert.deepEqual(missing, [], 'series missing from the scrape');
  });

  test('the series move with the work the cluster did', async () => {
    // Gauges read from periodic state (the kubelet's container relist, the proxy's sync) catch up within a period or two.
    const unmet = (text: string): string[] => {
      const expectations: [string, boolean][] = [
        ['two pods scheduled', total(text, 'scheduler_schedule_attempts_total', { result: 'scheduled' }) >= 2],
        ['two pods through the scheduling SLI', total(text, 'scheduler_pod_scheduling_sli_duration_seconds_count', {}) >= 2],
        ['two running pods on the node', total(text, 'kubelet_running_pods', { component: 'kubelet-node-0' }) === 2],
        ['two running containers on the node', total(text, 'kubelet_running_containers', { component: 'kubelet-node-0', container_state: 'running' }) === 2],
        ['two pod starts timed', total(text, 'kubelet_pod_start_duration_seconds_count', { component: 'kubelet-node-0' }) >= 2],
        ['the ReplicaSet controller queued its set', total(text, 'workqueue_adds_total', { name: 'replicaset' }) >= 1],
        ['the Deployment controller queued its Deployment', total(text, 'workqueue_adds_total', { name: 'deployment' }) >= 1],
        ['the kubelet\'s status writes counted', total(text, 'rest_client_requests_total', { component: 'kubelet-node-0', method: 'PUT', code: '200' }) >= 1],
        ['the Service made kube-proxy sync', total(text, 'kubeproxy_sync_proxy_rules_duration_seconds_count', { component: 'kube-proxy-node-0' }) >= 1],
        ['one scheduler leads', total(text, 'leader_election_master_status', { name: 'kube-scheduler' }) === 1],
        ['one controller-manager leads', total(text, 'leader_election_master_status', { name: 'kube-controller-manager' }) === 1],
        ['the API server received messages', total(text, 'kubethreads_actor_messages_received_total', { component: 'apiserver' }) > 0],
        ['one family header for every component', (text.match(/^# TYPE workqueue_adds_total /gm) ?? []).length === 1],
      ];
      return expectations.filter(([, met]) => !met).map(([what]) => what);
    };
    let last: string[] = [];
    await eventually('the series to move', async () => ((last = unmet(await scrape())).length === 0 ? true : undefined), 30_000).catch(() => undefined);
    assert.deepEqual(last, [], 'not seen in the scrape');
  });

  test('every series the Grafana dashboard draws is served', async () => {
    const text = await scrape();
    const missing = dashboardExpressions().flatMap((expr) => [...expr.matchAll(/([a-zA-Z_:][\w:]*)\{/g)].map((m) => m[1]!)).filter((name) => !new RegExp(`^${name}\\{`, 'm').test(text));
    assert.deepEqual([...new Set(missing)], [], 'the dashboard queries series nobody serves');
  });

  test('a path other than /metrics is 404 and a POST is 405', async () => {
    assert.equal((await httpGet(metrics.url.replace('/metrics', '/other'))).status, 404);
    const reply = await fetch(metrics.url, { method: 'POST' });
    assert.equal(reply.status, 405);
    await reply.body?.cancel();
  });

  test('promtool check metrics finds nothing but the names etcd itself has', { skip: requirePromtool() }, async () => {
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await scrape(), encoding: 'utf8', timeout: 20_000 });
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
    assert.deepEqual(problems, ETCD_OWN_LINT, `promtool (exit ${lint.status}) said:\n${problems.join('\n')}`);
  });

  test('a real Prometheus scraping the port sees the series move as the cluster works', {
    skip: requireTool('prometheus', existsSync(PROMETHEUS), 'run scripts/install-prometheus.sh (Debian\'s prometheus package)'),
  }, async () => {
    const promDir = join(dir, 'prometheus');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, prometheusConfig(metrics.port, undefined, 1));
    const webPort = await freePort();
    const prometheus: ChildProcess = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${promDir}`, `--web.listen-address=127.0.0.1:${webPort}`], { stdio: 'ignore' });
    try {
      const query = async (promql: string): Promise<number | undefined> => {
        const reply = await httpGet(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(promql)}`, 5_000);
        if (reply.status !== 200) return undefined;
        const result = (JSON.parse(reply.body) as { data: { result: { value: [number, string] }[] } }).data.result;
        return result.length === 0 ? undefined : Number(result[0]!.value[1]);
      };
      const attempts = 'sum(scheduler_schedule_attempts_total{result="scheduled"})';
      const before = await eventually('Prometheus scraped the cluster', () => query(attempts), 60_000);
      const writes = await eventually('the store\'s commits in Prometheus', () => query('max(etcd_server_proposals_committed_total)'), 30_000);
      kubectl('scale', 'deployment', 'web', '--replicas=4');
      await eventually('Prometheus sees the new pods scheduled', async () => ((await query(attempts))! >= before + 2 ? true : undefined), 60_000);
      await eventually('Prometheus sees the store commit more', async () => ((await query('max(etcd_server_proposals_committed_total)'))! > writes ? true : undefined), 30_000);
      await eventually('Prometheus sees a running pod count of 4', async () => ((await query('sum(kubelet_running_pods)')) === 4 ? true : undefined), 60_000);
      // Each of the dashboard's queries, with its variables filled in as Grafana would, is valid PromQL.
      for (const expr of dashboardExpressions()) {
        const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*');
        const reply = await httpGet(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(promql)}`, 5_000);
        assert.equal(reply.status, 200, `the dashboard's ${expr}: ${reply.body}`);
      }
    } finally {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus.once('exit', resolve));
    }
  });
});

test('kubethreads up --metrics-port serves the cluster\'s series and writes a prometheus.yml promtool accepts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-up-metrics-'));
  try {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (c: Buffer) => (printed += c.toString()));
    const run = runUp({
      spec: { nodes: 0, port: 0, profile: 'fast', kubeconfigPath: join(dir, 'kubeconfig'), dataDir: join(dir, 'data') },
      logLevel: 'fatal', durationS: 8, intervalMs: 1_000, json: true, watchParent: false, out, err: new PassThrough(), metricsPort: 0,
    });
    const url = await eventually('the metrics line', () => /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(printed)?.[1], 60_000);
    const reply = await httpGet(url, 10_000);
    assert.equal(reply.status, 200);
    assert.match(reply.body, /^etcd_server_has_leader\{component="etcd-0"\} 1$/m);
    assert.match(reply.body, /^kubethreads_actor_messages_received_total\{component="scheduler-1"\} \d+$/m);
    const config = readFileSync(join(dir, 'prometheus.yml'), 'utf8');
    assert.match(config, new RegExp(`targets: \\['127\\.0\\.0\\.1:${new URL(url).port}'\\]`));
    if (requirePromtool() === false) {
      const check = spawnSync(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(check.status, 0, `promtool check config: ${check.stdout}${check.stderr}`);
    }
    assert.equal(await run, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the metrics server refuses a taken or impossible port with the port named, and answers 500 when gathering fails', async () => {
  const failing = { metrics: async (): Promise<string> => { throw new Error('a thread went away'); } };
  const first = await startMetricsServer({ system: failing, port: 0 });
  try {
    await assert.rejects(startMetricsServer({ system: failing, port: first.port }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port} for metrics: EADDRINUSE`));
    await assert.rejects(startMetricsServer({ system: failing, port: 70_000 }), /the metrics port must be an integer 0\.\.65535, not 70000/);
    const reply = await httpGet(first.url);
    assert.equal(reply.status, 500);
    assert.equal(reply.body, 'gathering the metrics failed: a thread went away\n');
  } finally {
    await first.close();
  }
});
