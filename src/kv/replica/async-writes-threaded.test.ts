// test-lane: threads-only (no listener, no child process: safe beside another io test)
/**
 * The replicas' async storage writes on threads (issue #22): with the fsyncs
 * of some replicas slowed on their real disks (`fsyncDelayMs`, spent off the
 * actor's thread in libuv's pool), the slowed replicas go on ticking, sending
 * and answering heartbeats, and a follower's acknowledgement waits for its own
 * fsync. Asserts are on states seen while the fsync is in flight (the delay is
 * long against a poll), never on how long something took.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ThreadedSystem } from '../../actor/threaded/threaded-system.js';
import type { ClientReply } from './protocol.js';
import { awaitGroupLeader, groupStatus, spawnEtcdGroup, type EtcdGroup } from './group.js';
import type { ReplicaStatus } from './protocol.js';

/** Longer than the longest randomized election timeout (2 s): a replica blocked for it would be deposed or would campaign. */
const SLOW_FSYNC_MS = 4_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('async storage writes on threads', () => {
  let system: ThreadedSystem;
  let group: EtcdGroup;

  before(async () => {
    system = new ThreadedSystem({ seed: 17, logLevel: 'fatal' });
    group = await spawnEtcdGroup(system, { replicas: 3 });
  });

  after(async () => {
    await system.shutdown();
  });

  async function leader(): Promise<ReplicaStatus> {
    const found = await awaitGroupLeader(system, group.names, () => sleep(100));
    if (found === undefined) throw new Error('no leader within 30 s');
    return found;
  }

  /** A put asked of the leader itself, with room for the slowed fsyncs (the client's attempts give up after 1 s). */
  function put(to: string, key: string): { done: () => boolean; reply: Promise<ClientReply> } {
    let done = false;
    const reply = system.ref(to).ask<ClientReply>({ type: 'kv', body: { type: 'put', key, value: 'v' } }, { timeoutMs: 30_000 }).finally(() => (done = true));
    return { done: () => done, reply };
  }

  test("a follower's acknowledgement waits for its fsync, and the slowed followers tick and answer meanwhile", async () => {
    const lead = await leader();
    assert.equal((await put(lead.name, 'warm').reply).type, 'put');
    const followers = group.names.filter((n) => n !== lead.name);
    for (const f of followers) await system.faults.disk(f, { fsyncDelayMs: SLOW_FSYNC_MS });
    const [leadBefore] = await groupStatus(system, [lead.name]);
    const entry = leadBefore!.lastIndex + 1;
    const ticksBefore = (await groupStatus(system, followers)).map((s) => s!.ticks!);
    const p = put(lead.name, 'k');
    // Seen while the followers' fsyncs are in flight: each holds the entry but not durably, and the leader has not committed it.
    let seen: ReplicaStatus[] | undefined;
    const startedAt = performance.now();
    while (seen === undefined && performance.now() - startedAt < SLOW_FSYNC_MS - 1_000) {
      const statuses = await groupStatus(system, group.names, 500);
      const fs = statuses.filter((s): s is ReplicaStatus => s !== undefined && s.name !== lead.name);
      if (fs.length === 2 && fs.every((s) => s.lastIndex >= entry)) seen = statuses.filter((s): s is ReplicaStatus => s !== undefined);
      else await sleep(20);
    }
    assert.ok(seen !== undefined, 'both followers answered a status ask while holding the entry');
    assert.equal(p.done(), false, 'the put was not acknowledged before any follower made the entry durable');
    for (const s of seen.filter((x) => x.name !== lead.name)) {
      assert.ok(s.durableLastIndex < entry, `${s.name} holds the entry but has not fsynced it: ${JSON.stringify(s)}`);
    }
    const leadSeen = seen.find((s) => s.name === lead.name);
    if (leadSeen !== undefined) assert.ok(leadSeen.commitIndex < entry, `the leader has not committed it: ${JSON.stringify(leadSeen)}`);
    // Past an election timeout into the slow fsyncs: the followers still tick and follow the same leader.
    await sleep(2_500);
    assert.equal(p.done(), false, 'still not acknowledged: both followers are still inside their fsyncs');
    const during = await groupStatus(system, followers, 500);
    for (const [i, s] of during.entries()) {
      assert.ok(s !== undefined, `${followers[i]} answered during its fsync`);
      assert.equal(s.term, lead.term, `${s.name}: no election`);
      assert.equal(s.leader, lead.name);
      assert.ok(s.ticks! - ticksBefore[i]! >= 10, `${s.name} ticked ${s.ticks! - ticksBefore[i]!} times during its fsync`);
    }
    for (const f of followers) await system.faults.disk(f, { fsyncDelayMs: 0 });
    assert.equal((await p.reply).type, 'put', 'acknowledged once the followers made it durable');
  });

  test("a leader's slow fsync is off the commit path: writes are acknowledged on the followers' fsyncs and nobody campaigns", async () => {
    const lead = await leader();
    await system.faults.disk(lead.name, { fsyncDelayMs: SLOW_FSYNC_MS });
    const [before] = await groupStatus(system, [lead.name]);
    const entry = before!.lastIndex + 1;
    const reply = await put(lead.name, 'k2').reply;
    assert.equal(reply.type, 'put', JSON.stringify(reply));
    const [l] = await groupStatus(system, [lead.name], 500);
    assert.ok(l !== undefined && l.durableLastIndex < entry, `answered while the leader's own copy was still on its way to the disk: ${JSON.stringify(l)}`);
    await sleep(2_500);
    const all = await groupStatus(system, group.names, 500);
    for (const [i, s] of all.entries()) {
      assert.ok(s !== undefined, `${group.names[i]} answered`);
      assert.equal(s.term, lead.term, `${s.name}: no election while the leader's fsync was slow`);
    }
    await system.faults.disk(lead.name, { fsyncDelayMs: 0 });
  });
});
