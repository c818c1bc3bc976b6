/** What the kv bench's two tests share: a tiny configuration and the sanity checks of our side. */
import assert from 'node:assert/strict';
import { quickKvBenchOptions, type KvBenchOptions, type KvBenchResult } from './run.js';

/** A tiny run: shapes and sanity only, never a speed. */
export const TINY_KV_BENCH: KvBenchOptions = {
  ...quickKvBenchOptions, sequentialOps: 20, loadMs: 150, warmupOps: 5, warmupLoadMs: 50, getKeys: 20, outstanding: 8, outstandingHigh: 32, failoverKills: 1, fastFailoverKills: 1, failoverSteadyMs: 200,
};

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
  const names = rowNames(options.outstanding, options.outstandingHigh);
  assert.deepEqual(result.rows.map((r) => r.name), names);
  for (const row of result.rows) {
    assert.deepEqual(Object.keys(row).sort(), ['better', 'etcd', 'name', 'ours', 'ratio', 'unit']);
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
  assert.equal(ours.failover.length, options.failoverKills);
  assert.equal(ours.failoverFast.length, options.fastFailoverKills);
  for (const kill of [...ours.failover, ...ours.failoverFast]) {
    assert.ok(kill.resumed, 'writes resumed after the new leader');
    // A new leader needs at least one election timeout without heartbeats; the gap spans the outage.
    assert.ok(kill.timeToLeaderMs > 0 && kill.longestGapMs > 0, JSON.stringify(kill));
    assert.ok(kill.acks > 0);
  }
}

