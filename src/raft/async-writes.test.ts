import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RaftNode, type Ready } from './raw-node.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A one-voter group with async storage writes; every Ready is advanced but not yet durable. */
function soleVoter(): { node: RaftNode; pending: Ready[]; step: () => void } {
  const node = RaftNode.bootstrap({ config: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0, asyncStorageWrites: true }, voters: [1] });
  const pending: Ready[] = [];
  const step = (): void => {
    while (node.hasReady()) {
      const rd = node.ready();
      pending.push(rd);
      node.advance();
    }
  };
  step();
  return { node, pending, step };
}

function completeAll(node: RaftNode, pending: Ready[]): void {
  for (const rd of pending.splice(0)) node.onDurable(rd);
}

describe('async storage writes (etcd-io/raft AsyncStorageWrites)', () => {
  test('a candidate counts its own vote only once the hard state holding it is durable', () => {
    const { node, pending, step } = soleVoter();
    completeAll(node, pending);
    node.campaign();
    step();
    assert.equal(node.status().role, 'candidate', 'its vote is written but not durable');
    completeAll(node, pending);
    assert.equal(node.status().role, 'leader');
  });

  test('a leader counts its own entries toward the commit index only once they are durable', () => {
    const { node, pending, step } = soleVoter();
    completeAll(node, pending);
    node.campaign();
    step();
    completeAll(node, pending);
    step();
    completeAll(node, pending);
    step();
    const r = node.propose(enc('x'));
    assert.ok(r.accepted);
    step();
    assert.ok(node.status().commit < r.index, 'handed to storage is not durable');
    completeAll(node, pending);
    assert.ok(node.status().commit >= r.index);
  });

  test('onDurable is refused on a node without async writes', () => {
    const node = RaftNode.bootstrap({ config: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0 }, voters: [1] });
    const rd = node.ready();
    node.advance();
    assert.throws(() => node.onDurable(rd), /asyncStorageWrites/);
  });
});
