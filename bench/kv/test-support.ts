/** What the kv bench's two tests share: a tiny configuration and the sanity checks of our side. */
import assert from 'node:assert/strict';
import { quickKvBenchOptions, type KvBenchOptions, type KvBenchResult } from './run.js';

/** A tiny run: shapes and sanity only, never a speed. */
export const TINY_KV_BENCH: KvBenchOptions = {
  ...quickKvBenchOptions, sequentialOps: 20, loadMs: 150, warmupOps: 5, warmupLoadMs: 50, getKeys: 20, outstanding: 8, outstandingHigh: 32, failoverKills: 1, fastFailoverKills: 1, failoverSteadyMs: 200,
  clientProcessesMax: 2, processLoadMs: 150,
};

/** The cross-process rows, after the existing ones. */
export const crossProcessRowNames = (outstanding: number, outstandingHigh: number, processesMax: number): string[] => [
  ...([['put', outstanding], ['put', outstandingHigh], ['linearizable get', outstanding], ['serializable get', outstanding], ['compare-and-swap txn', outstanding]] as const).flatMap(([op, n]) => [
    `${op} throughput, ${n} outstanding, one etcd3 client process (gRPC)`,
    `${op} throughput, ${n} outstanding, best of 1-${processesMax} etcd3 client processes (gRPC)`,
  ]),
  ...['put', 'linearizable get'].flatMap((op) => [50, 99].map((p) => `${op} latency p${p}, best of 1-${processesMax} etcd3 client processes (gRPC)`)),
];

/** Rows that say whether their figure was the client's ceiling. */
const JUDGED_ROWS = /throughput, \d+ outstanding$|etcd3 client process/;

const rowNames = (outstanding: number, outstandingHigh: number): string[] => [
  'sequential put latency p50',
  'sequential put latency p99',
  `put throughput, ${outstanding} outstanding`,
  `put throughput, ${outstandingHigh} outstanding`,
  `linearizable get throughput, ${outstanding} outstanding`,
  `compare-and-swap txn throughput, ${outstanding} outstanding`,
  'watch delivery latency p50 (put sent -> event)',
  'watch delivery latency p99 (put sent -> event)',
  'failover: time to a new leader (median of kills)',
  'failover: time to a new leader (p90 of kills)',
  'failover: longest gap between acked writes (median of kills)',
  'failover: longest gap between acked writes (p90 of kills)',
  'failover, election 150-300 ms: time to a new leader (median of kills)',
  'failover, election 150-300 ms: time to a new leader (p90 of kills)',
  'failover, election 150-300 ms: longest gap between acked writes (median of kills)',
  'failover, election 150-300 ms: longest gap between acked writes (p90 of kills)',
];

/** The checks both the ours-only and the side-by-side test make of our figures. */
export function assertOurSideSane(result: KvBenchResult, options: KvBenchOptions): void {
  const names = [...rowNames(options.outstanding, options.outstandingHigh), ...crossProcessRowNames(options.outstanding, options.outstandingHigh, options.clientProcessesMax)];
  assert.deepEqual(result.rows.map((r) => r.name), names);
  for (const row of result.rows) {
    const judged = row.unit === 'ops/s' && JUDGED_ROWS.test(row.name);
    assert.deepEqual(Object.keys(row).sort(), ['better', ...(judged ? ['clientBound'] : []), 'etcd', 'name', 'ours', 'ratio', 'unit'], row.name);
    if (judged && !row.name.includes('etcd3 client')) assert.equal(row.clientBound?.ours, null, `${row.name}: our in-process client is not scaled, so not judged`);
    if (row.etcd === null) assert.equal(row.clientBound?.etcd ?? null, null, row.name);
    assert.ok(Number.isFinite(row.ours) && row.ours >= 0, `${row.name}: ours = ${row.ours}`);
    assert.equal(row.better, row.unit === 'ops/s' ? 'higher' : 'lower', row.name);
  }
  const byName = new Map(result.rows.map((r) => [r.name, r]));
  assert.ok(byName.get('sequential put latency p99')!.ours >= byName.get('sequential put latency p50')!.ours);
  for (const name of names.filter((n) => n.includes('throughput'))) assert.ok(byName.get(name)!.ours > 0, `${name} is positive`);
  const ours = result.ours;
  assert.equal(ours.putLatencyUs.count, options.sequentialOps, 'every sequential put succeeded and was timed');
  assert.equal(ours.watchLatencyUs.count, options.sequentialOps, 'every watched put produced its event');
  for (const [phase, e] of Object.entries(ours.errors)) assert.equal(e.count, 0, `${phase}: ${e.first}`);
  assert.equal(ours.casFailed, 0, 'each CAS worker owns its key, so no compare fails');
  const scaling = ours.acrossProcesses;
  assert.ok(scaling !== null, 'the cross-process rows ran');
  for (const [op, sc] of Object.entries(scaling)) {
    assert.equal(sc.steps[0]!.processes, 1, `${op}: the first step is one client process`);
    assert.ok(sc.steps.every((st) => st.errors === 0 && st.ops > 0 && st.latencyUs.count === st.ops), `${op}: every operation succeeded and was timed: ${JSON.stringify(sc.steps)}`);
    assert.ok(sc.best.processes <= options.clientProcessesMax);
  }
  assert.equal(ours.failover.length, options.failoverKills);
  assert.equal(ours.failoverFast.length, options.fastFailoverKills);
  for (const kill of [...ours.failover, ...ours.failoverFast]) {
    assert.ok(kill.resumed, 'writes resumed after the new leader');
    // A new leader needs at least one election timeout without heartbeats; the gap spans the outage.
    assert.ok(kill.timeToLeaderMs > 0 && kill.longestGapMs > 0, JSON.stringify(kill));
    assert.ok(kill.acks > 0);
  }
}

