/**
 * Failover on the end of the leader's actor (`leaderDownFailover`): the runtime
 * tells the followers the leader's incarnation ended, as peers of a killed
 * process see its streams close, and they elect a successor without waiting
 * out the election timeout. A partition or a pause closes nothing: there the
 * election timeout stays the only detector. Virtual time, so the bounds below
 * are exact properties of a seed, not timings of a machine.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import { groupStatus, spawnEtcdGroup } from './group.js';
import type { ReplicaArgs, ReplicaStatus } from './protocol.js';

const SETTLE = { maxMs: 120_000 };
/** The replicas' defaults: 100 ms ticks, an election timeout of 10 ticks (randomized over [1 s, 2 s)). */
const ELECTION_TIMEOUT_MS = 1_000;
const HEARTBEAT_MS = 100;
const POLL_MS = 5;
const WAIT_MAX_MS = 10_000;

type Fault = 'kill' | 'restart' | 'partition' | 'pause';

/** Virtual ms from the fault on the leader to a leader of a later term, and that leader's term step. */
async function failoverAfter(seed: number, fault: Fault, replica: Partial<ReplicaArgs> = {}): Promise<{ ms: number; termStep: number; leader: string }> {
  const sim = new SimulatedSystem({ seed });
  const group = await spawnEtcdGroup(sim, { replicas: 3, replica });
  const status = async (): Promise<ReplicaStatus[]> => (await sim.settle(groupStatus(sim, group.names), SETTLE)).filter((s): s is ReplicaStatus => s !== undefined);
  let first: ReplicaStatus | undefined;
  for (let waited = 0; first === undefined && waited < WAIT_MAX_MS; waited += 100) {
    first = (await status()).find((s) => s.role === 'leader');
    if (first === undefined) await sim.runFor(100);
  }
  assert.ok(first !== undefined, 'a first leader');
  // Steady heartbeats before the fault, so the followers hold a fresh lease.
  await sim.runFor(3 * HEARTBEAT_MS);
  const others = group.names.filter((n) => n !== first!.name);
  const faultAtMs = sim.now();
  if (fault === 'kill') await sim.faults.kill(first.name);
  else if (fault === 'restart') await sim.faults.restart(first.name);
  else if (fault === 'partition') await sim.faults.partition([first.name], others);
  else await sim.faults.pause(first.name);
  // A killed or restarted leader comes back at once (its supervisor) and may itself win the next term, when its
  // election timeout runs out before the followers': that too is a leader of a later term. A paused one cannot answer.
  const candidates = fault === 'kill' || fault === 'restart' ? group.names : others;
  for (let waited = 0; waited < WAIT_MAX_MS; waited += POLL_MS) {
    const next = (await sim.settle(groupStatus(sim, candidates), SETTLE)).find((s) => s !== undefined && s.role === 'leader' && s.term > first!.term);
    if (next !== undefined) {
      const ms = sim.now() - faultAtMs;
      await sim.shutdown();
      return { ms, termStep: next.term - first.term, leader: next.name };
    }
    await sim.runFor(POLL_MS);
  }
  await sim.shutdown();
  assert.fail(`no new leader within ${WAIT_MAX_MS} ms of virtual time after a ${fault} (seed ${seed})`);
}

const SEEDS = [11, 12, 13, 14, 15];

describe('replica failover on the leader actor\'s end', () => {
  test('a killed leader is succeeded well within one election timeout', async () => {
    for (const seed of SEEDS) {
      const { ms } = await failoverAfter(seed, 'kill');
      assert.ok(ms < ELECTION_TIMEOUT_MS / 2, `seed ${seed}: new leader ${ms} ms after the kill`);
    }
  });

  test('a leader restarted by a fault is succeeded as fast', async () => {
    const { ms } = await failoverAfter(21, 'restart');
    assert.ok(ms < ELECTION_TIMEOUT_MS / 2, `new leader ${ms} ms after the restart`);
  });

  test('with leaderDownFailover off, the followers wait out the election timeout, as etcd does', async () => {
    for (const seed of SEEDS.slice(0, 3)) {
      const { ms } = await failoverAfter(seed, 'kill', { leaderDownFailover: false });
      assert.ok(ms >= ELECTION_TIMEOUT_MS - HEARTBEAT_MS, `seed ${seed}: new leader ${ms} ms after the kill`);
    }
  });

  test('a partitioned leader is alive and not forgotten: the election timeout is the only detector', async () => {
    const { ms } = await failoverAfter(31, 'partition');
    assert.ok(ms >= ELECTION_TIMEOUT_MS - HEARTBEAT_MS, `new leader ${ms} ms after the partition`);
  });

  test('a paused leader is not forgotten either', async () => {
    const { ms } = await failoverAfter(32, 'pause');
    assert.ok(ms >= ELECTION_TIMEOUT_MS - HEARTBEAT_MS, `new leader ${ms} ms after the pause`);
  });
});
