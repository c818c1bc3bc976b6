// test-lane: threads-only (no listener, no child process: safe beside another io test)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ThreadedSystem } from '../../actor/threaded/threaded-system.js';
import { kvClientActor, type KvClientActorMsg, type KvOpResult } from '../client/client-actor.js';
import { awaitGroupLeader, groupStatus, spawnEtcdGroup, type EtcdGroup } from './group.js';
import type { ReplicaStatus } from './protocol.js';

/** Long enough that no poll on a loaded machine misses the window; the leader is blocked for all of it. */
const LEADER_FSYNC_MS = 5_000;

describe('a replica group on threads', () => {
  let system: ThreadedSystem;
  let group: EtcdGroup;

  before(async () => {
    system = new ThreadedSystem({ seed: 11, logLevel: 'fatal' });
    // An election timeout (10 s) longer than the leader's stalled fsync: the followers must not depose it meanwhile.
    // Inline writes: this pins how the synchronous mode overlaps the leader's fsync with the followers' (async-writes.test.ts has the default mode).
    group = await spawnEtcdGroup(system, { replicas: 3, replica: { electionTicks: 100, electionTimeoutJitterTicks: 10, asyncStorageWrites: false } });
    await system.spawn(kvClientActor, { name: 'client', args: { replicas: group.names } });
    // With that timeout a first election would take 10 s: ask one replica to stand now.
    system.ref(group.names[0]!).tell({ type: 'campaign', body: null });
  });

  after(async () => {
    await system.shutdown();
  });

  async function leader(): Promise<ReplicaStatus> {
    const found = await awaitGroupLeader(system, group.names, () => new Promise((r) => setTimeout(r, 100)));
    if (found === undefined) throw new Error('no leader within 30 s');
    return found;
  }

  test("a leader's appends reach the followers' disks while its own fsync still blocks its thread (Raft thesis §10.2.1)", async () => {
    const client = system.ref<KvClientActorMsg>('client');
    const put = (key: string): Promise<KvOpResult> => client.ask<KvOpResult>({ type: 'op', body: { op: 'put', key, value: 'v' } }, { timeoutMs: 30_000 });
    assert.ok((await put('warm')).ok);
    const lead = await leader();
    const followers = group.names.filter((n) => n !== lead.name);
    const durableBefore = Math.max(...(await groupStatus(system, followers)).map((s) => s?.durableLastIndex ?? 0));

    await system.faults.disk(lead.name, { fsyncDelayMs: LEADER_FSYNC_MS });
    let putDone = false;
    const pending = put('k').finally(() => (putDone = true));
    const sentAt = performance.now();
    let followerHadIt = false;
    let leaderAnsweredMeanwhile = false;
    while (!putDone && performance.now() - sentAt < LEADER_FSYNC_MS - 1_000) {
      const statuses = await groupStatus(system, followers, 200);
      if (statuses.some((s) => s !== undefined && s.durableLastIndex > durableBefore)) {
        followerHadIt = true;
        // The leader's thread is inside the fsync of the very entry the follower already holds: it cannot answer.
        leaderAnsweredMeanwhile = (await groupStatus(system, [lead.name], 300))[0] !== undefined;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await system.faults.disk(lead.name, { fsyncDelayMs: 0 });
    assert.ok(followerHadIt, `no follower made the entry durable within ${LEADER_FSYNC_MS - 1_000} ms: the leader sent its append only after its own fsync`);
    assert.equal(leaderAnsweredMeanwhile, false, 'the leader answered while its fsync should have been blocking it');
    // The stalled put itself may have run out its deadline (the client's attempts wait 1 s each); the group recovers.
    await pending;
    assert.ok((await put('after')).ok, "writes succeed once the leader's disk is fast again");
  });

  test('on threads, a killed leader\'s followers hear of its end, forget it and elect a successor', async () => {
    const lead = await leader();
    const followers = group.names.filter((n) => n !== lead.name);
    await system.faults.kill(lead.name);
    let next: ReplicaStatus | undefined;
    for (let i = 0; i < 300 && next === undefined; i++) {
      next = (await groupStatus(system, followers)).find((s) => s !== undefined && s.role === 'leader' && s.term > lead.term);
      if (next === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(next !== undefined, 'a successor was elected');
    const statuses = await groupStatus(system, followers);
    assert.deepEqual(statuses.map((s) => s?.leadersForgotten), [1, 1], 'both followers forgot the killed leader on the notice of its end');
  });
});
