/**
 * ForgetLeader (etcd-io/raft 3.6): a follower told by a side channel that its
 * leader died forgets it, and from then on grants pre-votes and votes at once
 * instead of honouring the leader's lease for an election timeout. Only
 * liveness may change: terms, votes and the up-to-date check stay as they were.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MsgVote } from './protocol.js';
import type { RaftConfig } from './raft.js';
import { RaftTrio } from './test-trio.js';
import { NONE } from './types.js';

const ELECTION_TICKS = 10;

/** Three voters with pre-vote and check-quorum (the replicas' defaults); `isolated` nodes are cut off the network. */
class Trio extends RaftTrio {
  readonly isolated = this.cut;

  constructor(extra: Partial<RaftConfig> = {}) {
    // random() = 0: every election timeout is exactly ELECTION_TICKS, so nothing campaigns by chance.
    super((id) => ({ id, electionTicks: ELECTION_TICKS, heartbeatTicks: 1, preVote: true, checkQuorum: true, random: () => 0, ...extra }));
  }

  /** Node 1 leads term 1, with its no-op committed everywhere. */
  electFirst(): void {
    this.node(1).startElection();
    this.deliver();
    assert.equal(this.node(1).role, 'leader');
    this.tickAll();
  }

  tickAll(times = 1): void {
    this.tick(times);
  }
}

describe('Raft.forgetLeader', () => {
  test('a follower that forgot its leader grants at once the pre-vote it ignores within the lease', () => {
    const trio = new Trio();
    trio.electFirst();
    // The leader dies: nothing more from it.
    trio.isolated.add(1);
    trio.node(3).startElection();
    trio.deliver();
    assert.equal(trio.node(3).role, 'preCandidate', 'node 2 still honours the lease of the leader it heard a tick ago');
    assert.equal(trio.node(2).term, 1);

    assert.deepEqual(trio.node(2).forgetLeader(), { forgotten: true });
    trio.node(3).startElection();
    trio.deliver();
    assert.equal(trio.node(3).role, 'leader');
    assert.equal(trio.node(3).term, 2);
    assert.equal(trio.node(2).lead, 3);
  });

  test('forgetting keeps term and vote, stays follower and does not campaign', () => {
    const trio = new Trio();
    trio.electFirst();
    const follower = trio.node(2);
    const before = { term: follower.term, vote: follower.vote };
    follower.forgetLeader();
    assert.equal(follower.lead, NONE);
    assert.equal(follower.role, 'follower');
    assert.deepEqual({ term: follower.term, vote: follower.vote }, before);
    assert.equal(follower.msgs.length, 0, 'forgetting sends nothing');
  });

  test('a leader, a candidate and a leaderless follower refuse to forget, naming why', () => {
    const trio = new Trio();
    assert.deepEqual(trio.node(2).forgetLeader(), { forgotten: false, reason: 'noLeader' });
    trio.electFirst();
    assert.deepEqual(trio.node(1).forgetLeader(), { forgotten: false, reason: 'notFollower' });
    assert.equal(trio.node(1).lead, 1, 'the leader still leads');
    trio.isolated.add(3);
    trio.node(3).startElection();
    assert.deepEqual(trio.node(3).forgetLeader(), { forgotten: false, reason: 'notFollower' });
  });

  test('under lease-based reads forgetting is refused, as etcd refuses it: the lease rests on the followers', () => {
    const trio = new Trio({ readOnlyOption: 'leaseBased' });
    trio.electFirst();
    assert.deepEqual(trio.node(2).forgetLeader(), { forgotten: false, reason: 'leaseBasedReads' });
    assert.equal(trio.node(2).lead, 1);
  });

  test('a follower that forgot its leader still refuses a candidate whose log is behind', () => {
    const trio = new Trio();
    trio.electFirst();
    // Node 3 misses an entry that node 2 has.
    trio.isolated.add(3);
    trio.node(1).propose(new TextEncoder().encode('x'));
    trio.deliver();
    trio.isolated.clear();
    trio.isolated.add(1);
    trio.node(2).forgetLeader();
    trio.node(3).startElection();
    trio.deliver();
    assert.notEqual(trio.node(3).role, 'leader');
    assert.equal(trio.node(2).vote, 1, 'node 2 kept its vote of the term');
    // The up-to-date node wins instead, with node 3's vote (node 3 knows no leader: it campaigned).
    trio.node(2).startElection();
    trio.deliver();
    assert.equal(trio.node(2).role, 'leader');
  });

  test('a leader that is alive after all is followed again at its next heartbeat, and its lease with it', () => {
    const trio = new Trio();
    trio.electFirst();
    trio.node(2).forgetLeader();
    trio.tickAll();
    assert.equal(trio.node(2).lead, 1);
    trio.node(3).startElection();
    trio.deliver();
    assert.equal(trio.node(1).role, 'leader', 'the pre-vote is ignored again within the lease');
    assert.equal(trio.node(1).term, 1);
  });

  test('without a side channel a partitioned leader is not forgotten: the followers wait out the lease', () => {
    const trio = new Trio();
    trio.electFirst();
    trio.isolated.add(1);
    // Up to one tick short of the election timeout, no campaign gets a pre-vote.
    for (let i = 0; i < ELECTION_TICKS - 2; i++) {
      trio.tickAll();
      trio.node(3).startElection();
      trio.deliver();
      assert.notEqual(trio.node(3).role, 'leader', `tick ${i + 1}: node 2 is still in the lease`);
      assert.equal(trio.node(2).lead, 1);
    }
  });

  test('forgetting does not free the vote: a second candidate of the same term is refused', () => {
    const trio = new Trio();
    trio.electFirst();
    const follower = trio.node(2);
    follower.forgetLeader();
    const sameTerm: MsgVote = { type: 'msgVote', from: 3, to: 2, term: follower.term, index: 100, logTerm: follower.term, transfer: false };
    follower.step(sameTerm);
    const resp = follower.msgs.find((m) => m.type === 'msgVoteResp');
    assert.ok(resp !== undefined && resp.type === 'msgVoteResp');
    assert.equal(resp.reject, true);
    assert.equal(follower.vote, 1);
  });

  test('the planted bug forgetLeaderClearsVote grants that second vote (the sweep must catch it)', () => {
    const trio = new Trio({ testingKnobs: { forgetLeaderClearsVote: true } });
    trio.electFirst();
    const follower = trio.node(2);
    follower.forgetLeader();
    follower.step({ type: 'msgVote', from: 3, to: 2, term: follower.term, index: 100, logTerm: follower.term, transfer: false });
    const resp = follower.msgs.find((m) => m.type === 'msgVoteResp');
    assert.ok(resp !== undefined && resp.type === 'msgVoteResp');
    assert.equal(resp.reject, false);
  });

  test('why lease reads refuse it: the planted bug forgetLeaderUnderLeaseReads lets a cut-off leader serve a stale read', () => {
    // The simulation's lease (3 ticks) is shorter than any election there (messages take a tick or more each way),
    // so the sweep cannot reach this; on real clocks a detector elects in milliseconds, well inside a lease.
    const enc = new TextEncoder();
    const trio = new Trio({ readOnlyOption: 'leaseBased', testingKnobs: { forgetLeaderUnderLeaseReads: true } });
    trio.electFirst();
    trio.node(1).propose(enc.encode('x'));
    trio.tickAll();
    trio.isolated.add(1);
    for (const id of [2, 3]) assert.deepEqual(trio.node(id).forgetLeader(), { forgotten: true });
    trio.node(3).startElection();
    trio.deliver();
    assert.equal(trio.node(3).role, 'leader');
    trio.node(3).propose(enc.encode('y'));
    // No storage here: the new leader counts its own entries as a RaftNode does once they are persisted.
    trio.node(3).selfPersistedTo(trio.node(3).log.lastIndex());
    trio.deliver();
    trio.tickAll();
    const committedElsewhere = trio.node(3).log.committed;
    // Node 1 never heard of term 2 and still holds its lease: it answers at once, from its own commit index.
    assert.equal(trio.node(1).role, 'leader');
    assert.deepEqual(trio.node(1).readIndex('r'), { accepted: true });
    const read = trio.node(1).readStates.find((r) => r.context === 'r');
    assert.ok(read !== undefined && read.index < committedElsewhere, `stale read at ${read?.index}, while ${committedElsewhere} is committed`);
  });
});
