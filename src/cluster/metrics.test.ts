/**
 * What a user of a real cluster does first: `kubectl get --raw /metrics` and
 * `/readyz?verbose` against `kubethreads up`'s API server (threads, three
 * store replicas), and Prometheus' own linter on the scrape.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KUBECTL, PROMTOOL, requireKubectl, requirePromtool } from '../testing/tools.js';
import { startCluster } from './start.js';
import { resolveClusterSpec } from './spec.js';

/**
 * promtool's lint objects to a `_total` suffix on a gauge; etcd itself exposes these three as gauges under
 * these names, so a scrape of a real etcd draws the same three lines. Anything else is ours to fix.
 */
const ETCD_OWN_LINT = [
  'etcd_debugging_mvcc_keys_total non-counter metrics should not have "_total" suffix',
  'etcd_server_proposals_applied_total non-counter metrics should not have "_total" suffix',
  'etcd_server_proposals_committed_total non-counter metrics should not have "_total" suffix',
];

describe('metrics and health through the real kubectl', { skip: requireKubectl() }, () => {
  let dir: string;
  let stop: () => Promise<void>;
  let kubectl: (...args: string[]) => string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubethreads-metrics-'));
    const spec = resolveClusterSpec({ port: 0, dataDir: join(dir, 'data'), kubeconfigPath: join(dir, 'kubeconfig'), nodes: 0 });
    const cluster = await startCluster(spec, { logLevel: 'fatal' });
    stop = () => cluster.stop();
    kubectl = (...args) => execFileSync(KUBECTL, ['--kubeconfig', spec.kubeconfigPath, ...args], { encoding: 'utf8', timeout: 20_000 });
  });

  after(async () => {
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl get --raw /metrics: the API server\'s series, and every store replica\'s under its component label', () => {
    kubectl('create', 'configmap', 'counted', '--from-literal=k=v');
    const text = kubectl('get', '--raw', '/metrics');
    assert.match(text, /^# TYPE apiserver_request_total counter$/m);
    assert.match(text, /^apiserver_request_total\{verb="POST",resource="configmaps",code="201",component="apiserver"\} [1-9]/m);
    assert.match(text, /^apiserver_request_duration_seconds_bucket\{le="0\.005",/m);
    for (const name of ['apiserver_current_inflight_requests', 'apiserver_watch_events_total', 'apiserver_registered_watchers', 'apiserver_storage_objects', 'etcd_request_duration_seconds']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    for (const replica of ['etcd-0', 'etcd-1', 'etcd-2']) {
      assert.match(text, new RegExp(`^etcd_server_has_leader\\{component="${replica}"\\} 1$`, 'm'), replica);
      assert.match(text, new RegExp(`^etcd_disk_wal_fsync_duration_seconds_count\\{component="${replica}"\\} [1-9]`, 'm'), replica);
    }
    assert.equal((text.match(/^etcd_server_is_leader\{component="etcd-\d"\} 1$/gm) ?? []).length, 1, 'one replica leads');
  });

  test('kubectl get --raw /readyz?verbose: the named checks, then readyz check passed', () => {
    assert.equal(kubectl('get', '--raw', '/readyz?verbose'), '[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n');
    assert.equal(kubectl('get', '--raw', '/livez?verbose'), '[+]ping ok\n[+]etcd ok\nlivez check passed\n');
    assert.equal(kubectl('get', '--raw', '/readyz/etcd'), 'ok');
  });

  test('promtool check metrics finds nothing in the scrape but the names etcd itself has', { skip: requirePromtool() }, () => {
    const text = kubectl('get', '--raw', '/metrics');
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
    assert.deepEqual(problems, ETCD_OWN_LINT, `promtool (exit ${lint.status}) said:\n${problems.join('\n')}`);
  });
});
