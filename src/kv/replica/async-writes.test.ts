/**
 * The replicas' async storage writes (issue #22, etcd-io/raft's
 * AsyncStorageWrites) in the simulated runtime: crashes in the middle of a
 * write's fsync lose only what was not fsynced, and never a write the client
 * was told succeeded. Virtual time, so every run replays from its seed.
 *
 * The broken variant `unsafeAckBeforeDurable` (a follower that acknowledges
 * before its fsync) is run through the first scenario too: it must lose an
 * acknowledged write there, or the scenario proves nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import { kvClientActor, type KvClientActorMsg, type KvOp, type KvOpResult } from '../client/client-actor.js';
import { groupStatus, spawnEtcdGroup } from './group.js';
import type { ReplicaArgs, ReplicaStatus } from './protocol.js';

const SETTLE = { maxMs: 120_000 };
/** Far longer than the scenarios' windows: the slowed fsync is still in flight when the crash comes. */
const SLOW_FSYNC_MS = 5_000;

async function cluster(seed: number, replica: Partial<ReplicaArgs> = {}) {
  const sim = new SimulatedSystem({ seed });
  const group = await spawnEtcdGroup(sim, { replicas: 3, replica });
  await sim.spawn(kvClientActor, { name: 'client', args: { replicas: group.names } });
  const client = sim.ref<KvClientActorMsg>('client');
  const op = (o: KvOp & { timeoutMs?: number }): Promise<KvOpResult> => sim.settle(client.ask<KvOpResult>({ type: 'op', body: o }, { timeoutMs: 60_000 }), SETTLE);
  const status = async (names: readonly string[] = group.names): Promise<ReplicaStatus[]> =>
    (await sim.settle(groupStatus(sim, names), SETTLE)).filter((s): s is ReplicaStatus => s !== undefined);
  const waitForLeader = async (among: readonly string[] = group.names, aboveTerm = 0): Promise<ReplicaStatus> => {
    for (let i = 0; i < 200; i++) {
      const l = (await status(among)).find((s) => s.role === 'leader' && s.term > aboveTerm);
      if (l !== undefined) return l;
      await sim.runFor(100);
    }
    throw new Error('no leader within 20 s of virtual time');
  };
  /** A put whose answer is watched, not awaited: the scenario goes on while it is in flight. */
  const putInFlight = (key: string, value: string): { answer: () => KvOpResult | undefined } => {
    let answer: KvOpResult | undefined;
    void client.ask<KvOpResult>({ type: 'op', body: { op: 'put', key, value } }, { timeoutMs: 60_000 }).then(
      (r) => (answer = r),
      () => undefined,
    );
    return { answer: () => answer };
  };
  return { sim, group, client, op, status, waitForLeader, putInFlight };
}

/**
 * A follower's fsync is slow and the other follower is cut off: the write can
 * commit only on that follower's acknowledgement. The follower crashes before
 * its fsync (losing what it had not fsynced), and the two followers then elect
 * a leader without the old one. Returns whether the put was acknowledged, and
 * what the new leader serves for its key.
 */
async function followerCrashesMidFsync(seed: number, replica: Partial<ReplicaArgs>): Promise<{ acked: boolean; value: string | null | undefined; trace: string }> {
  const c = await cluster(seed, { leaderDownFailover: false, ...replica });
  const leader = await c.waitForLeader();
  assert.ok((await c.op({ op: 'put', key: 'warm', value: '1' })).ok, 'the client now targets the leader');
  const [slow, cut] = c.group.names.filter((n) => n !== leader.name) as [string, string];
  const cutIds = await c.sim.faults.partition([cut], [leader.name, slow, 'client']);
  await c.sim.faults.disk(slow, { fsyncDelayMs: SLOW_FSYNC_MS, loseUnsyncedOnCrash: true });
  const put = c.putInFlight('k', 'v');
  await c.sim.runFor(300);
  const acked = put.answer()?.ok === true;
  const [slowStatus] = await c.status([slow]);
  if (replica.unsafeAckBeforeDurable !== true) {
    assert.ok(slowStatus!.lastIndex > slowStatus!.durableLastIndex, `the slow follower holds the entry, not yet durable: ${JSON.stringify(slowStatus)}`);
    assert.equal(acked, false, 'no quorum holds the entry durably: the put is not acknowledged');
  }
  // The old leader goes away for good (cut off), the cut follower comes back, and the slow one crashes mid-fsync.
  await c.sim.faults.partition([leader.name], [slow, cut, 'client']);
  await c.sim.faults.heal(cutIds);
  await c.sim.faults.kill(slow);
  // Its disk recovers: a vote is answered only once durable, and with fsyncs slower than an election timeout no election could finish.
  await c.sim.faults.disk(slow, { fsyncDelayMs: 0 });
  await c.waitForLeader([slow, cut], leader.term);
  const get = await c.op({ op: 'get', key: 'k', timeoutMs: 30_000 });
  assert.ok(get.ok, JSON.stringify(get));
  const trace = c.sim.traceHash();
  await c.sim.shutdown();
  return { acked, value: get.value, trace };
}

describe('async storage writes in the simulated runtime', () => {
  test('a follower acknowledges only once its fsync is done: a crash before it loses no acknowledged write', async () => {
    for (const seed of [1, 2, 3]) {
      const { acked, value } = await followerCrashesMidFsync(seed, {});
      assert.ok(!acked || value === 'v', `seed ${seed}: the acknowledged put is kept (got ${JSON.stringify(value)})`);
    }
  });

  test('the broken variant that acknowledges before its fsync loses an acknowledged write in the same scenario', async () => {
    let lost = 0;
    for (const seed of [1, 2, 3]) {
      const { acked, value } = await followerCrashesMidFsync(seed, { unsafeAckBeforeDurable: true });
      if (acked && value !== 'v') lost++;
    }
    assert.equal(lost, 3, 'every seed lost the acknowledged put: the scenario above would catch a follower that acks early');
  });

  test("a leader's own fsync is not on the commit path: it crashes mid-fsync, the write was acknowledged and survives", async () => {
    const c = await cluster(5);
    const leader = await c.waitForLeader();
    assert.ok((await c.op({ op: 'put', key: 'warm', value: '1' })).ok);
    await c.sim.faults.disk(leader.name, { fsyncDelayMs: SLOW_FSYNC_MS, loseUnsyncedOnCrash: true });
    const put = c.putInFlight('k', 'v');
    await c.sim.runFor(300);
    assert.equal(put.answer()?.ok, true, 'committed on the followers\' fsyncs while the leader\'s was in flight');
    const [before] = await c.status([leader.name]);
    assert.ok(before!.lastIndex > before!.durableLastIndex, `the leader's copy is not durable yet: ${JSON.stringify(before)}`);
    await c.sim.faults.kill(leader.name);
    await c.sim.faults.disk(leader.name, { fsyncDelayMs: 0 });
    await c.waitForLeader(c.group.names, leader.term);
    const get = await c.op({ op: 'get', key: 'k', timeoutMs: 30_000 });
    assert.ok(get.ok && get.value === 'v', JSON.stringify(get));
    await c.sim.runFor(2_000);
    const all = await c.status();
    assert.equal(new Set(all.map((s) => s.appliedIndex)).size, 1, `the restarted leader caught up: ${JSON.stringify(all.map((s) => [s.name, s.appliedIndex]))}`);
    await c.sim.shutdown();
  });

  test("ticks and heartbeats go on while the leader's fsync is slower than an election timeout: no election", async () => {
    const c = await cluster(6);
    const leader = await c.waitForLeader();
    assert.ok((await c.op({ op: 'put', key: 'warm', value: '1' })).ok);
    // Longer than the longest randomized election timeout (2 s): inline, the leader's heartbeats would stop for all of it.
    await c.sim.faults.disk(leader.name, { fsyncDelayMs: 3_000 });
    const [before] = await c.status([leader.name]);
    const entry = before!.lastIndex + 1;
    const put = c.putInFlight('k', 'v');
    await c.sim.runFor(2_500);
    const during = await c.status();
    assert.equal(put.answer()?.ok, true, "committed on the followers' fsyncs");
    for (const s of during) {
      assert.equal(s.term, leader.term, `${s.name}: no election while the leader's fsync is slow`);
      assert.equal(s.leader, leader.name);
      assert.ok(s.commitIndex >= entry, `${s.name}: the entry is committed: ${JSON.stringify(s)}`);
    }
    const l = during.find((s) => s.name === leader.name)!;
    assert.ok(l.ticks! - before!.ticks! >= 20, `the leader ticked ${l.ticks! - before!.ticks!} times in 2.5 s of virtual time`);
    assert.ok(l.writesInFlight! > 0 && l.durableLastIndex < entry, `the leader's own copy is still on its way to the disk: ${JSON.stringify(l)}`);
    await c.sim.runFor(2_000);
    const [after] = await c.status([leader.name]);
    assert.ok(after!.durableLastIndex >= entry && after!.role === 'leader' && after!.term === leader.term, JSON.stringify(after));
    await c.sim.shutdown();
  });

  test('a run with crashes in the middle of fsyncs replays byte-identically from its seed', async () => {
    const a = await followerCrashesMidFsync(9, {});
    const b = await followerCrashesMidFsync(9, {});
    assert.equal(a.trace, b.trace);
  });
});
