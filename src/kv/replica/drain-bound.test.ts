/**
 * A Ready drain applies at most `applyEntriesPerDrainMax` committed entries and leaves the rest to a later
 * turn, so a leader with a backlog of thousands keeps ticking and heartbeating (issue #22: in a 5,000-node
 * run single drains applied 730-4,700 entries, held the leader's thread 0.5-1.2 s and its ticks came
 * 1.3-3.9 s late, past the 1 s election timeout). Virtual time: `applyCostMsPerEntry` makes each applied
 * entry keep the replica busy, as the CPU did there, so how long a drain holds the ticks is a property of
 * the seed, not of the machine.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import { kvClientActor, type KvClientActorMsg, type KvOp, type KvOpResult } from '../client/client-actor.js';
import { awaitGroupLeader, groupStatus, spawnEtcdGroup } from './group.js';
import type { ReplicaArgs, ReplicaStatus } from './protocol.js';

const SETTLE = { maxMs: 120_000 };
const TICK_MS = 100;
/** Writes proposed at once: the backlog a leader commits in a few steps and must apply. */
const WRITES = 1_500;
/** 1 virtual ms an entry: 1,500 entries in one drain would hold the thread 1.5 s, past the election timeout. */
const COST_MS = 1;

interface Run {
  leaderGapMs: number;
  drainsCut: number;
  leaderChanges: number;
  applied: number[];
  ok: number;
}

async function backlog(seed: number, replica: Partial<ReplicaArgs>): Promise<Run> {
  const sim = new SimulatedSystem({ seed });
  const group = await spawnEtcdGroup(sim, { replicas: 3, replica: { applyCostMsPerEntry: COST_MS, ...replica } });
  await sim.spawn(kvClientActor, { name: 'client', args: { replicas: group.names } });
  const client = sim.ref<KvClientActorMsg>('client');
  const op = (o: KvOp): Promise<KvOpResult> => client.ask<KvOpResult>({ type: 'op', body: o }, { timeoutMs: 60_000 });
  const status = async (): Promise<ReplicaStatus[]> => (await sim.settle(groupStatus(sim, group.names), SETTLE)).filter((s): s is ReplicaStatus => s !== undefined);
  const leader = await awaitGroupLeader(sim, group.names, () => sim.runFor(200), 100, (answer) => sim.settle(answer, SETTLE));
  assert.ok(leader !== undefined, 'a leader');
  assert.ok((await sim.settle(op({ op: 'put', key: 'warm', value: 'up' }), SETTLE)).ok);
  await sim.runFor(500);
  await sim.settle(sim.ref(leader.name).ask({ type: 'status', body: { resetLongestTickGap: true } }, { timeoutMs: 500 }), SETTLE);
  const results = await sim.settle(Promise.all(Array.from({ length: WRITES }, (_, i) => op({ op: 'put', key: `k${i}`, value: `v${i}` }))), SETTLE);
  await sim.runFor(3_000);
  const after = await status();
  const leaderNow = after.find((s) => s.name === leader!.name)!;
  await sim.shutdown();
  return {
    leaderGapMs: leaderNow.longestTickGapMs ?? 0,
    drainsCut: after.reduce((n, s) => n + (s.drainsCut ?? 0), 0),
    leaderChanges: after.filter((s) => s.role === 'leader' && (s.name !== leader!.name || s.term !== leader!.term)).length + (leaderNow.role === 'leader' ? 0 : 1),
    applied: after.map((s) => s.appliedIndex),
    ok: results.filter((r) => r.ok).length,
  };
}

describe('a replica\'s Ready drain is bounded (issue #22)', () => {
  test('a leader applying a backlog of 1,500 entries keeps ticking between apply slices and keeps its term', async () => {
    for (const seed of [1, 2, 3]) {
      const run = await backlog(seed, { applyEntriesPerDrainMax: 32 });
      assert.ok(run.drainsCut > 0, `seed ${seed}: the backlog was applied in slices (${JSON.stringify(run)})`);
      // A slice costs 32 ms; a tick may wait for one slice (and an fsync), never for the backlog.
      assert.ok(run.leaderGapMs < 2 * TICK_MS, `seed ${seed}: the leader's longest tick gap ${run.leaderGapMs} ms (${JSON.stringify(run)})`);
      assert.equal(run.leaderChanges, 0, `seed ${seed}: no leader change (${JSON.stringify(run)})`);
      assert.equal(run.ok, WRITES, `seed ${seed}: every write acknowledged`);
      assert.equal(new Set(run.applied).size, 1, `seed ${seed}: every replica applied everything (${JSON.stringify(run)})`);
    }
  });

  test('without the bound the same backlog holds the leader\'s ticks for most of an election timeout (what the bound prevents)', async () => {
    const run = await backlog(1, { applyEntriesPerDrainMax: Number.MAX_SAFE_INTEGER, applyBytesPerDrainMax: Number.MAX_SAFE_INTEGER });
    assert.equal(run.drainsCut, 0);
    assert.ok(run.leaderGapMs >= 5 * TICK_MS, `the leader's longest tick gap ${run.leaderGapMs} ms (${JSON.stringify(run)})`);
  });
});
