/**
 * A chaos run that samples metric series on its timeline (scenario option
 * `metrics`): the values follow the faults, land in result.json, replay byte
 * for byte from the seed, and are plotted in report.html.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toResultFile } from './output.js';
import { renderReport } from './report-html.js';
import { runScenario } from './run.js';
import { parseScenario } from './scenario.js';
import { defaultRegistry } from './registry.js';

const SCENARIO = `
name: leader-crash-sampled
cluster: { replicas: 3, tickMs: 10, heartbeatTicks: 1, electionTicks: 10 }
workload:
  register: { clients: 2, keys: 2, thinkMs: 10 }
nemesis:
  - { atMs: 1000, fault: kill, target: leader }
durationMs: 3000
checks: [linearizable]
metrics:
  everyMs: 200
  series:
    - etcd_server_leader_changes_seen_total
    - { metric: etcd_server_is_leader }
    - { histogram: etcd_disk_wal_fsync_duration_seconds, quantile: 0.99 }
    - no_such_series
`;

test('a run samples the chosen series on its timeline: leader changes rise after the leader is killed, and the report plots them', async () => {
  const { scenario } = parseScenario(SCENARIO, 'inline.yaml', defaultRegistry);
  const first = await runScenario(scenario, { seed: 3, runtime: 'simulated' });
  const samples = first.outcome.metrics!;
  assert.ok(samples.length >= 14, `a sample every 200 ms over 3 s, not ${samples.length}`);
  const changesAt = (fromMs: number, toMs: number) => samples.filter((s) => s.tMs >= fromMs && s.tMs < toMs).map((s) => s.values[0]!);
  const before = Math.max(...changesAt(0, 1000));
  const after = Math.max(...changesAt(2000, 3000));
  assert.ok(after > before, `leader changes seen rise after the kill (${before} before, ${after} after)`);
  for (const s of samples) assert.ok(s.values[1] === null || s.values[1] <= 1, 'at most one replica leads at a time');
  assert.ok(samples.every((s) => s.values[3] === null), 'a series nobody exposes is null, not 0');

  const result = toResultFile(first, 'replay');
  assert.deepEqual(result.metrics?.series, ['etcd_server_leader_changes_seen_total', 'etcd_server_is_leader', 'p99 etcd_disk_wal_fsync_duration_seconds', 'no_such_series']);
  const again = await runScenario(scenario, { seed: 3, runtime: 'simulated' });
  assert.equal(JSON.stringify(again.outcome.metrics), JSON.stringify(samples), 'the same seed samples the same values');

  const html = renderReport({ outcome: first.outcome, history: first.history, replay: 'replay', versions: {} });
  assert.match(html, /<h2>Sampled metrics \(every 200 ms/);
  assert.match(html, /aria-label="etcd_server_leader_changes_seen_total over time"/);
  assert.match(html, /aria-label="p99 etcd_disk_wal_fsync_duration_seconds over time"/);
});

test('a scenario without metrics samples nothing and its result has no metrics field', async () => {
  const { scenario } = parseScenario(SCENARIO.replace(/metrics:[\s\S]*$/, ''), 'inline.yaml', defaultRegistry);
  const run = await runScenario({ ...scenario, durationMs: 500, nemesis: [] }, { seed: 3, runtime: 'simulated' });
  assert.equal(run.outcome.metrics, undefined);
  assert.equal('metrics' in toResultFile(run, 'replay'), false);
});

test('a bad metrics option is refused with the line and the field', () => {
  assert.throws(() => parseScenario(SCENARIO.replace('quantile: 0.99', 'quantile: 99'), 'bad.yaml', defaultRegistry), /quantile/);
  assert.throws(() => parseScenario(SCENARIO.replace('everyMs: 200', 'everyMs: -1'), 'bad.yaml', defaultRegistry), /everyMs/);
});
