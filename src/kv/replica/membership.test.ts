import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import { kvClientActor, type KvClientActorMsg, type KvOp, type KvOpResult } from '../client/client-actor.js';
import { addLearnerReplica, changeMembers, groupStatus, listMembers, spawnEtcdGroup } from './group.js';
import type { MemberListReply, ReplicaStatus } from './protocol.js';

const SETTLE = { maxMs: 120_000 };

describe('membership changes on a running replica group (simulated runtime)', () => {
  test('a member is added as a learner, promoted, and the leader removed while a writer keeps writing; no acknowledged write is lost', async () => {
    const sim = new SimulatedSystem({ seed: 22 });
    const group = await spawnEtcdGroup(sim, { replicas: 3 });
    await sim.spawn(kvClientActor, { name: 'client', args: { replicas: [...group.names] } });
    const client = sim.ref<KvClientActorMsg>('client');
    const op = (o: KvOp): Promise<KvOpResult> => sim.settle(client.ask<KvOpResult>({ type: 'op', body: o }, { timeoutMs: 60_000 }), SETTLE);
    const statuses = async (): Promise<ReplicaStatus[]> => (await sim.settle(groupStatus(sim, group.names), SETTLE)).filter((s): s is ReplicaStatus => s !== undefined);
    const acked: string[] = [];
    let next = 0;
    const write = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const key = `w/${next++}`;
        const r = await op({ op: 'put', key, value: key });
        if (r.ok) acked.push(key);
      }
    };
    await write(20);

    // member add --learner, with writes going on while it is added.
    const adding = addLearnerReplica(sim, group);
    await write(10);
    const added = await sim.settle(adding, SETTLE);
    assert.ok(added.reply.ok, JSON.stringify(added.reply));
    assert.deepEqual(added.reply.ok && added.reply.members.find((m) => m.id === 4), { id: 4, name: 'etcd-3', isLearner: true });
    await write(10);
    await sim.runFor(1_000);

    // member promote, once in sync (the leader refuses a learner that is not).
    const promoted = await sim.settle(changeMembers(sim, group.names, [{ type: 'addVoter', nodeId: 4 }]), SETTLE);
    assert.ok(promoted.ok, JSON.stringify(promoted));
    await write(10);

    // member remove of the leader itself: it hands leadership to a caught-up voter and steps down.
    const leader = (await statuses()).find((s) => s.role === 'leader');
    assert.ok(leader, 'a leader');
    const removing = changeMembers(sim, group.names, [{ type: 'removeVoter', nodeId: leader.id }]);
    await write(10);
    const removed = await sim.settle(removing, SETTLE);
    assert.ok(removed.ok, JSON.stringify(removed));
    await sim.stop(leader.name);
    await write(20);

    const list = await sim.settle(listMembers(sim, group.names.filter((n) => n !== leader.name)), SETTLE);
    assert.ok(list);
    assert.deepEqual(list.members.map((m) => [m.id, m.isLearner]), [1, 2, 3, 4].filter((id) => id !== leader.id).map((id) => [id, false]));
    const newLeader = (await statuses()).find((s) => s.role === 'leader');
    assert.ok(newLeader && newLeader.id !== leader.id, 'another member leads');

    assert.ok(acked.length >= 70, `most writes were acknowledged (${acked.length} of ${next})`);
    for (const key of acked) {
      const r = await op({ op: 'get', key });
      assert.ok(r.ok && r.value === key, `acknowledged write ${key} is there: ${JSON.stringify(r)}`);
    }
    // The member added later holds them too.
    const learnerStatus = (await statuses()).find((s) => s.name === 'etcd-3');
    assert.ok(learnerStatus && newLeader && learnerStatus.appliedIndex >= newLeader.commitIndex - 5, JSON.stringify(learnerStatus));
  });

  test('a member list after a change is the leader\'s, though the replica asked first has not heard of the change yet', async () => {
    const sim = new SimulatedSystem({ seed: 7 });
    const group = await spawnEtcdGroup(sim, { replicas: 3 });
    await sim.runFor(3_000);
    const leader = (await sim.settle(groupStatus(sim, group.names), SETTLE)).find((s) => s?.role === 'leader');
    assert.ok(leader, 'a leader');
    const lagging = group.names.find((n) => n !== leader.name)!;
    // Cut off from the leader only: the change commits with the other follower, this one never hears of it.
    await sim.faults.partition([lagging], [leader.name]);
    const added = await sim.settle(addLearnerReplica(sim, group), SETTLE);
    assert.ok(added.reply.ok, JSON.stringify(added.reply));
    const stale = await sim.settle(sim.ref(lagging).ask<MemberListReply>({ type: 'memberList', body: null }), SETTLE);
    assert.equal(stale.members.some((m) => m.id === added.id), false, 'the follower asked first has not applied the change');
    const list = await sim.settle(listMembers(sim, [lagging, ...group.names.filter((n) => n !== lagging)]), SETTLE);
    assert.deepEqual(list?.members.find((m) => m.id === added.id), { id: added.id, name: added.name, isLearner: true });
  });

  test('promoting a learner that is far behind is refused with etcd\'s message; an unknown change gets a clear error', async () => {
    const sim = new SimulatedSystem({ seed: 5 });
    const group = await spawnEtcdGroup(sim, { replicas: 3 });
    await sim.runFor(3_000);
    // A learner id no replica runs: it never catches up.
    const add = await sim.settle(changeMembers(sim, group.names, [{ type: 'addLearner', nodeId: 9 }]), SETTLE);
    assert.ok(add.ok, JSON.stringify(add));
    const promote = await sim.settle(changeMembers(sim, group.names, [{ type: 'addVoter', nodeId: 9 }]), SETTLE);
    assert.ok(!promote.ok && promote.error.startsWith('can only promote a learner member which is in sync with leader'), JSON.stringify(promote));
    const bad = await sim.settle(changeMembers(sim, group.names, [{ type: 'removeVoter', nodeId: -1 }]), SETTLE);
    assert.ok(!bad.ok && bad.error === 'changes must name positive integer member ids', JSON.stringify(bad));
  });
});

describe('a client of a group whose membership changes (simulated runtime)', () => {
  test('a client that knows one replica follows the leader to a member added later; sync() replaces its list with the voters, and writes go on after its only starting replica is removed', async () => {
    const sim = new SimulatedSystem({ seed: 7 });
    const group = await spawnEtcdGroup(sim, { replicas: 3 });
    await sim.spawn(kvClientActor, { name: 'client', args: { replicas: ['etcd-0'] } });
    const client = sim.ref<KvClientActorMsg>('client');
    const op = (o: KvOp): Promise<KvOpResult> => sim.settle(client.ask<KvOpResult>({ type: 'op', body: o }, { timeoutMs: 60_000 }), SETTLE);
    const replicas = (sync: boolean): Promise<string[]> => sim.settle(client.ask<string[]>({ type: 'replicas', body: { sync } }, { timeoutMs: 10_000 }), SETTLE);
    assert.ok((await op({ op: 'put', key: 'a', value: '1' })).ok);

    const added = await sim.settle(addLearnerReplica(sim, group), SETTLE);
    assert.ok(added.reply.ok, JSON.stringify(added.reply));
    await sim.runFor(1_000);
    assert.ok((await sim.settle(changeMembers(sim, group.names, [{ type: 'addVoter', nodeId: 4 }]), SETTLE)).ok);
    // Hand leadership to the new member: remove the others one at a time (the leader among them steps down).
    for (const id of [2, 3]) {
      const removed = await sim.settle(changeMembers(sim, group.names, [{ type: 'removeVoter', nodeId: id }]), SETTLE);
      assert.ok(removed.ok, JSON.stringify(removed));
      await sim.stop(`etcd-${id - 1}`);
      group.names.splice(group.names.indexOf(`etcd-${id - 1}`), 1);
    }
    // Now etcd-0 and etcd-3 vote. Which of them leads depends on the run's schedule; if etcd-0 does, restart it:
    // etcd-3 sees its incarnation end and takes over, so that a write through etcd-0 is forwarded to, or hinted
    // at, a member the client never knew.
    await sim.runFor(2_000);
    const leaderBefore = (await sim.settle(groupStatus(sim, group.names), SETTLE)).find((s) => s?.role === 'leader');
    if (leaderBefore?.name === 'etcd-0') {
      await sim.faults.restart('etcd-0');
      await sim.runFor(2_000);
      const leaderNow = (await sim.settle(groupStatus(sim, group.names), SETTLE)).find((s) => s?.role === 'leader');
      assert.equal(leaderNow?.name, 'etcd-3', 'etcd-3 took over from the restarted etcd-0');
    }
    assert.ok((await op({ op: 'put', key: 'b', value: '2' })).ok);
    const leader = (await sim.settle(groupStatus(sim, group.names), SETTLE)).find((s) => s?.role === 'leader');
    assert.ok(leader, 'a leader');
    const before = await replicas(false);
    assert.ok(before.includes(leader.name), `the client learned the leader from hints: ${before.join(', ')}`);
    assert.ok(before.includes('etcd-3'), `the member added after the client started is known: ${before.join(', ')}`);

    assert.deepEqual(await replicas(true), ['etcd-0', 'etcd-3'], `sync: the voting members, the removed ones dropped (before: ${before.join(', ')})`);
    // Remove the client's only starting replica: with the synced list, writes go on.
    const removed = await sim.settle(changeMembers(sim, group.names, [{ type: 'removeVoter', nodeId: 1 }]), SETTLE);
    assert.ok(removed.ok, JSON.stringify(removed));
    await sim.stop('etcd-0');
    assert.ok((await op({ op: 'put', key: 'c', value: '3' })).ok, 'a write after etcd-0 is gone');
    assert.deepEqual(await replicas(true), ['etcd-3']);
    for (const [key, value] of [['a', '1'], ['b', '2'], ['c', '3']]) {
      const r = await op({ op: 'get', key: key! });
      assert.ok(r.ok && r.value === value, `${key}: ${JSON.stringify(r)}`);
    }
  });

});
