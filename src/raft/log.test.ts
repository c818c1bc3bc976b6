import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Unstable } from './log.js';
import { RaftNode } from './raw-node.js';
import type { Entry } from './types.js';

const entry = (index: number, term = 1): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });
const indexes = (entries: readonly Entry[]): number[] => entries.map((e) => e.index);

describe('the unstable tail', () => {
  test('a handed-out tail never changes, and appends after it copy it once, then go in place', () => {
    const unstable = new Unstable(1);
    unstable.truncateAndAppend([entry(1)]);
    const held = unstable.handOut();
    unstable.truncateAndAppend([entry(2)]);
    assert.deepEqual(indexes(held), [1], 'what a Ready holds is not appended to');
    const copy = unstable.entries;
    assert.notEqual(copy, held);
    unstable.truncateAndAppend([entry(3)]);
    unstable.truncateAndAppend([entry(4), entry(5)]);
    assert.equal(unstable.entries, copy, 'appends between two hand-outs do not copy the tail');
    assert.deepEqual(indexes(unstable.entries), [1, 2, 3, 4, 5]);
  });

  test('a conflicting append after a hand-out replaces the suffix in a copy, leaving the held tail as it was', () => {
    const unstable = new Unstable(1);
    unstable.truncateAndAppend([entry(1), entry(2), entry(3)]);
    const held = unstable.handOut();
    unstable.truncateAndAppend([entry(2, 2)]);
    assert.deepEqual(held.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 1]]);
    assert.deepEqual(unstable.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 2]]);
  });

  test('a Ready kept for its durability report keeps its entries while the leader proposes more', () => {
    const node = RaftNode.bootstrap({ config: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0, asyncStorageWrites: true }, voters: [1] });
    const drain = (): void => {
      while (node.hasReady()) {
        const rd = node.ready();
        node.advance();
        node.onDurable(rd);
      }
    };
    drain();
    node.campaign();
    drain();
    drain();
    assert.ok(node.isLeader());
    const first = node.propose(new Uint8Array([1]));
    assert.ok(first.accepted);
    const rd = node.ready();
    const handed = indexes(rd.entries);
    for (let i = 0; i < 3; i++) assert.ok(node.propose(new Uint8Array([2 + i])).accepted);
    assert.deepEqual(indexes(rd.entries), handed, 'proposals after the Ready do not show in it');
    node.advance();
    node.onDurable(rd);
    const next = node.ready();
    assert.deepEqual(indexes(next.entries), [first.index + 1, first.index + 2, first.index + 3]);
    node.advance();
    node.onDurable(next);
  });
});
