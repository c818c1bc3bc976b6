/**
 * Appends batched per Ready (`batchAppends`, `Raft.extendQueuedAppend`): proposals of one turn reach each
 * follower as one append, and the group ends with the same logs, commit and applied entries as with one append
 * per proposal (etcd-io/raft's eager appends, `batchAppends: false`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message, MsgApp } from './protocol.js';
import { entrySizeBytes } from './log.js';
import { InMemoryGroup } from './sim/group.js';
import type { RaftConfig } from './raft.js';

const PROPOSALS = 7;

function appendsFrom1(msgs: readonly Message[]): MsgApp[] {
  return msgs.filter((m): m is MsgApp => m.type === 'msgApp' && m.from === 1);
}

/** Node 1 leads with its no-op committed; then `PROPOSALS` proposals in one turn (no Ready between them). */
function burst(config: Partial<RaftConfig>): { g: InMemoryGroup; sent: Message[] } {
  const g = new InMemoryGroup({ config });
  assert.ok(g.elect(1));
  const leader = g.node(1);
  const before = g.delivered.length;
  for (let i = 0; i < PROPOSALS; i++) assert.ok(leader.propose(new TextEncoder().encode(`p${i}`)).accepted);
  g.stabilize();
  return { g, sent: g.delivered.slice(before) };
}

function proposed(): string[] {
  return Array.from({ length: PROPOSALS }, (_, i) => `p${i}`);
}

describe('appends batched per Ready', () => {
  test('proposals of one turn reach each follower as one append carrying all of them, answered once', () => {
    const { g, sent } = burst({});
    for (const to of [2, 3]) {
      const withEntries = appendsFrom1(sent).filter((m) => m.to === to && m.entries.length > 0);
      assert.deepEqual(withEntries.map((m) => m.entries.length), [PROPOSALS], `follower ${to}'s appends`);
      assert.equal(sent.filter((m) => m.type === 'msgAppResp' && m.from === to).length, 2, `follower ${to} answers the append and the commit`);
    }
    for (const id of [1, 2, 3]) assert.deepEqual(g.appliedData(id), proposed(), `node ${id} applied`);
  });

  test('with batchAppends false (one append per proposal) the group ends in the same state, with more messages', () => {
    const batched = burst({});
    const eager = burst({ batchAppends: false });
    for (const to of [2, 3]) {
      assert.equal(appendsFrom1(eager.sent).filter((m) => m.to === to && m.entries.length > 0).length, PROPOSALS);
    }
    assert.ok(eager.sent.length > 2 * batched.sent.length, `eager ${eager.sent.length} messages against batched ${batched.sent.length}`);
    for (const id of [1, 2, 3]) {
      const a = batched.g.node(id).status();
      const b = eager.g.node(id).status();
      assert.deepEqual([a.term, a.commit, a.applied, a.lastIndex], [b.term, b.commit, b.applied, b.lastIndex], `node ${id}`);
      assert.deepEqual(batched.g.appliedData(id), eager.g.appliedData(id));
    }
  });

  test('an append never grows past maxEntriesPerMsg or maxSizePerMsgBytes', () => {
    const byCount = burst({ maxEntriesPerMsg: 3 });
    for (const to of [2, 3]) {
      assert.deepEqual(appendsFrom1(byCount.sent).filter((m) => m.to === to && m.entries.length > 0).map((m) => m.entries.length), [3, 3, 1]);
    }
    // Room for two of these entries (same size each) in one message, not three.
    const bySize = burst({ maxSizePerMsgBytes: 2 * entrySizeBytes(appendsFrom1(byCount.sent).find((m) => m.entries.length > 0)!.entries[0]!) });
    for (const to of [2, 3]) {
      const sizes = appendsFrom1(bySize.sent).filter((m) => m.to === to && m.entries.length > 0).map((m) => m.entries.length);
      assert.deepEqual(sizes, [2, 2, 2, 1], `follower ${to}`);
    }
    for (const g of [byCount.g, bySize.g]) for (const id of [1, 2, 3]) assert.deepEqual(g.appliedData(id), proposed());
  });

  test('an append is not extended past a later message to the same follower: what it receives keeps its order', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    const leader = g.node(1);
    const before = g.delivered.length;
    leader.propose(new TextEncoder().encode('a'));
    leader.tick(); // heartbeatTicks 1: a heartbeat to each follower, queued after the first append
    leader.propose(new TextEncoder().encode('b'));
    g.stabilize();
    const firstTo2 = g.delivered.slice(before).filter((m) => m.from === 1 && m.to === 2).slice(0, 3);
    assert.deepEqual(firstTo2.map((m) => (m.type === 'msgApp' ? `app:${m.entries.length}` : m.type)), ['app:1', 'msgHeartbeat', 'app:1']);
    for (const id of [1, 2, 3]) assert.deepEqual(g.appliedData(id), ['a', 'b']);
  });
});
