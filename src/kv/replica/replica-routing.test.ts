import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import { groupStatus, spawnEtcdGroup } from './group.js';
import type { ClientReply, ReplicaMsg, ReplicaStatus } from './protocol.js';
import { FORWARD_WAIT_MIN_MS } from './replica.js';

const SETTLE = { maxMs: 120_000 };

async function group(seed: number) {
  const sim = new SimulatedSystem({ seed });
  const g = await spawnEtcdGroup(sim, { replicas: 3 });
  const ask = (name: string, body: Extract<ReplicaMsg, { type: 'kv' }>['body']): Promise<ClientReply> =>
    sim.ref<ReplicaMsg>(name).ask<ClientReply>({ type: 'kv', body }, { timeoutMs: 60_000 });
  const status = async (): Promise<ReplicaStatus[]> => (await sim.settle(groupStatus(sim, g.names), SETTLE)).filter((s): s is ReplicaStatus => s !== undefined);
  const waitForLeader = async (): Promise<ReplicaStatus> => {
    for (let i = 0; i < 100; i++) {
      const leader = (await status()).find((s) => s.role === 'leader');
      if (leader !== undefined) return leader;
      await sim.runFor(200);
    }
    throw new Error('no leader within 20 s of virtual time');
  };
  return { sim, names: g.names, ask, status, waitForLeader };
}

describe('replica request routing: forward to the leader, hold while there is none', () => {
  test('a follower forwards a write to the leader and relays its answer, naming the leader', async () => {
    const g = await group(21);
    const leader = await g.waitForLeader();
    await g.sim.runFor(300);
    const follower = g.names.find((n) => n !== leader.name)!;
    const reply = await g.sim.settle(g.ask(follower, { type: 'put', key: 'k', value: 'v', waitMs: 1_000 }), SETTLE);
    assert.equal(reply.type, 'forwarded', JSON.stringify(reply));
    assert.ok(reply.type === 'forwarded' && reply.leader === leader.name && reply.reply.type === 'put', JSON.stringify(reply));
    const read = await g.sim.settle(g.ask(leader.name, { type: 'range', key: 'k' }), SETTLE);
    assert.ok(read.type === 'range' && read.kvs[0]?.value === 'v', JSON.stringify(read));
    await g.sim.shutdown();
  });

  test('a follower with too little wait left for a forward redirects to the leader instead (no forward left to time out)', async () => {
    const g = await group(27);
    const leader = await g.waitForLeader();
    await g.sim.runFor(300);
    const follower = g.names.find((n) => n !== leader.name)!;
    const reply = await g.sim.settle(g.ask(follower, { type: 'put', key: 'k', value: 'v', waitMs: FORWARD_WAIT_MIN_MS - 1 }), SETTLE);
    assert.deepEqual(reply, { type: 'notLeader', leader: leader.name });
    await g.sim.shutdown();
  });

  test('without a wait a follower answers NotLeader at once, naming the leader it hears from', async () => {
    const g = await group(22);
    const leader = await g.waitForLeader();
    await g.sim.runFor(300);
    const follower = g.names.find((n) => n !== leader.name)!;
    const reply = await g.sim.settle(g.ask(follower, { type: 'put', key: 'k', value: 'v' }), SETTLE);
    assert.deepEqual(reply, { type: 'notLeader', leader: leader.name });
    await g.sim.shutdown();
  });

  test('a replica that knows no leader yet holds a write until one is elected, then it commits', async () => {
    const g = await group(23);
    // At start nobody leads: the first election takes at least an election timeout (1 s).
    const early = await g.sim.settle(g.ask(g.names[0]!, { type: 'put', key: 'early', value: 'no wait' }), SETTLE);
    assert.ok(early.type === 'notLeader' && early.leader === undefined, `a sender that gives no wait gets NotLeader at once, as before: ${JSON.stringify(early)}`);
    const reply = await g.sim.settle(g.ask(g.names[0]!, { type: 'put', key: 'held', value: 'v', waitMs: 5_000 }), SETTLE);
    const answer = reply.type === 'forwarded' ? reply.reply : reply;
    assert.equal(answer.type, 'put', JSON.stringify(reply));
    await g.sim.shutdown();
  });

  test('a held request is answered NotLeader when its wait ends, before its sender gives up', async () => {
    const g = await group(24);
    const startedMs = g.sim.now();
    const reply = await g.sim.settle(g.ask(g.names[1]!, { type: 'put', key: 'k', value: 'v', waitMs: 300 }), SETTLE);
    assert.ok(reply.type === 'notLeader' && reply.leader === undefined, JSON.stringify(reply));
    const waitedMs = g.sim.now() - startedMs;
    assert.ok(waitedMs >= 300 && waitedMs < 310, `held for its wait, not longer (${waitedMs} ms of virtual time)`);
    await g.sim.shutdown();
  });

  test('a follower cut off from its leader for an election timeout no longer names it', async () => {
    const g = await group(25);
    const leader = await g.waitForLeader();
    await g.sim.runFor(300);
    const follower = g.names.find((n) => n !== leader.name)!;
    // The other follower still hears the leader, so pre-vote keeps the cut-off one from being elected: Raft's lead stays the old one.
    await g.sim.faults.partition([leader.name], [follower]);
    await g.sim.runFor(1_500);
    const cutOff = (await g.status()).find((s) => s.name === follower)!;
    assert.equal(cutOff.leader, leader.name, 'Raft still follows the old leader (what the hint used to name)');
    const reply = await g.sim.settle(g.ask(follower, { type: 'put', key: 'k', value: 'v' }), SETTLE);
    assert.ok(reply.type === 'notLeader' && reply.leader === undefined, JSON.stringify(reply));
    await g.sim.shutdown();
  });

  test('a write sent to a follower when the leader is killed is held and committed by the next leader', async () => {
    const g = await group(26);
    const leader = await g.waitForLeader();
    await g.sim.runFor(300);
    await g.sim.faults.kill(leader.name);
    const follower = g.names.find((n) => n !== leader.name)!;
    const reply = await g.sim.settle(g.ask(follower, { type: 'put', key: 'k', value: 'after the kill', waitMs: 5_000 }), SETTLE);
    const answer = reply.type === 'forwarded' ? reply.reply : reply;
    assert.equal(answer.type, 'put', JSON.stringify(reply));
    // The restarted replica may well win the next election: what matters is that a new term's leader answered.
    const next = await g.waitForLeader();
    assert.ok(next.term > leader.term, `a leader of a later term (${next.term}) than the killed one (${leader.term})`);
    if (reply.type === 'forwarded') assert.equal(reply.leader, next.name);
    await g.sim.shutdown();
  });
});
