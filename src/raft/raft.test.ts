import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryStorage } from './log.js';
import type { Message } from './protocol.js';
import { Raft } from './raft.js';
import { RaftNode } from './raw-node.js';
import { InMemoryGroup } from './sim/group.js';
import { emptyHardState } from './types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A lone Raft in a 3-voter group (ids 1..3), driven by hand. */
function lone(id = 1, extra: Partial<ConstructorParameters<typeof Raft>[0]> = {}): Raft {
  const storage = new MemoryStorage(undefined, { voters: [1, 2, 3], learners: [] });
  return new Raft({ id, electionTicks: 10, heartbeatTicks: 1, random: () => 0, ...extra }, storage, emptyHardState);
}

function vote(from: number, to: number, term: number, index: number, logTerm: number): Message {
  return { type: 'msgVote', from, to, term, index, logTerm, transfer: false };
}

describe('vote granting', () => {
  test('a follower grants one vote per term and refuses a second candidate', () => {
    const r = lone(1);
    r.step(vote(2, 1, 1, 0, 0));
    r.step(vote(3, 1, 1, 0, 0));
    const resps = r.msgs.filter((m) => m.type === 'msgVoteResp');
    assert.deepEqual(resps.map((m) => [m.to, m.type === 'msgVoteResp' && m.reject]), [[2, false], [3, true]]);
    assert.equal(r.vote, 2);
  });

  test('a candidate whose log is behind is refused (lower last term, or same term and shorter)', () => {
    const r = lone(1);
    r.log.append([{ term: 2, index: 1, type: 'normal', data: enc('x') }, { term: 2, index: 2, type: 'normal', data: enc('y') }]);
    r.step(vote(2, 1, 3, 5, 1));
    r.step(vote(3, 1, 4, 1, 2));
    assert.deepEqual(r.msgs.map((m) => m.type === 'msgVoteResp' && m.reject), [true, true]);
    assert.equal(r.vote, 0);
  });

  test('the up-to-date check is what the grantVoteWithoutUpToDateCheck knob breaks', () => {
    const r = lone(1, { testingKnobs: { grantVoteWithoutUpToDateCheck: true } });
    r.log.append([{ term: 2, index: 1, type: 'normal', data: enc('x') }]);
    r.step(vote(2, 1, 3, 0, 0));
    assert.equal(r.msgs[0]!.type === 'msgVoteResp' && r.msgs[0]!.reject, false);
  });
});

describe('term handling', () => {
  test('a message from a higher term turns a leader into a follower of that term', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    const leader = g.node(1);
    const term = leader.status().term;
    leader.step({ type: 'msgHeartbeat', from: 2, to: 1, term: term + 5, commit: 0, context: '', sentTick: 0 });
    assert.equal(leader.status().role, 'follower');
    assert.equal(leader.status().term, term + 5);
    assert.equal(leader.leader(), 2);
  });

  test('a stale leader learns the new term from the answer to its append and steps down', () => {
    const g = new InMemoryGroup({ config: { preVote: true } });
    assert.ok(g.elect(1));
    g.isolate(1);
    assert.ok(g.elect(2));
    g.heal();
    g.node(1).propose(enc('stale'));
    g.stabilize();
    assert.equal(g.node(1).status().role, 'follower');
    assert.equal(g.node(1).status().term, g.node(2).status().term);
    assert.ok(!g.appliedData(2).includes('stale'));
  });
});

describe('log matching', () => {
  test('a follower rejects an append whose previous entry does not match, hinting where to retry', () => {
    const r = lone(2);
    r.log.append([1, 2, 3].map((i) => ({ term: 1, index: i, type: 'normal' as const, data: enc(`e${i}`) })));
    r.step({ type: 'msgApp', from: 1, to: 2, term: 3, index: 5, logTerm: 3, entries: [], commit: 0 });
    const resp = r.msgs.at(-1)!;
    assert.equal(resp.type, 'msgAppResp');
    assert.ok(resp.type === 'msgAppResp' && resp.reject && resp.rejectHint === 3 && resp.logTerm === 1);
  });

  test('a conflicting uncommitted suffix is replaced by the leader\'s entries', () => {
    const r = lone(2);
    r.log.append([1, 2, 3].map((i) => ({ term: 1, index: i, type: 'normal' as const, data: enc(`old${i}`) })));
    r.step({ type: 'msgApp', from: 1, to: 2, term: 2, index: 1, logTerm: 1, entries: [{ term: 2, index: 2, type: 'normal', data: enc('new2') }], commit: 1 });
    assert.equal(r.log.lastIndex(), 2);
    assert.equal(r.log.term(2), 2);
    assert.equal(r.log.committed, 1);
  });

  test('fast backtracking skips a whole divergent term in one round trip', () => {
    const g = new InMemoryGroup({ config: { maxEntriesPerMsg: 1 } });
    assert.ok(g.elect(1));
    g.isolate(1);
    for (let i = 0; i < 30; i++) g.node(1).propose(enc(`lost${i}`));
    g.stabilize();
    assert.ok(g.elect(2));
    g.propose('kept');
    g.heal();
    const before = g.delivered.length;
    g.tick(3);
    const rejects = g.delivered.slice(before).filter((m) => m.type === 'msgAppResp' && m.reject && m.from === 1);
    assert.ok(rejects.length <= 2, `expected at most 2 rejections, got ${rejects.length}`);
    assert.deepEqual(g.appliedData(1).slice(-1), ['kept']);
  });
});

describe('commitment', () => {
  test('an entry commits once a quorum has it, not before', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(2, 3);
    const r = g.node(1).propose(enc('x'));
    g.stabilize();
    assert.ok(r.accepted);
    assert.ok(g.node(1).status().commit < r.index);
    g.filter = (m) => m.from !== 3 && m.to !== 3;
    g.tick(1);
    assert.ok(g.node(1).status().commit >= r.index);
  });

  /**
   * The Raft paper's Figure 8: leader 1 (term 4) replicates its term-2 entry to a
   * majority; counting those replicas must not commit it, since node 2 (last term 3)
   * can still win and overwrite it.
   */
  function figure8(knobOn: boolean): InMemoryGroup {
    const g = new InMemoryGroup({ config: { maxEntriesPerMsg: 1, testingKnobs: { commitByCountingOldTermEntries: knobOn } } });
    assert.ok(g.elect(1));
    g.isolate(1);
    g.node(1).propose(enc('a')); // index 5, term 2, only on node 1
    g.stabilize();
    // Node 2 wins term 3 but its no-op (index 5, term 3) reaches nobody.
    g.filter = (m) => m.from !== 1 && m.to !== 1 && !(m.type === 'msgApp' && m.from === 2);
    assert.ok(g.elect(2));
    // Node 1 crashes and restarts (a follower now); its campaign for term 3 is refused (node 3 voted for 2).
    g.isolate(2);
    g.crash(1);
    g.restart(1);
    g.node(1).campaign();
    g.stabilize();
    assert.ok(!g.node(1).isLeader());
    // Node 1 wins term 4; node 3 gets index 5 ("a", term 2) but not the term-4 no-op at 6.
    const node3HasA = (): boolean => g.node(3).logTerm(5) === 2;
    g.filter = (m) => m.from !== 2 && m.to !== 2 && !(m.type === 'msgApp' && m.entries.some((e) => e.index >= 6) && node3HasA());
    assert.ok(g.elect(1));
    assert.equal(g.node(3).logTerm(5), 2);
    return g;
  }

  test('a leader never commits an earlier term\'s entry by counting replicas (Figure 8)', () => {
    const g = figure8(false);
    assert.equal(g.node(1).status().commit, 4);
    assert.ok(!g.appliedData(1).includes('a'));
  });

  test('with commitByCountingOldTermEntries the Figure 8 history loses a committed entry', () => {
    const g = figure8(true);
    assert.equal(g.node(1).status().commit, 5);
    assert.ok(g.appliedData(1).includes('a'));
    // Node 1 fails; node 2 (last term 3) wins with node 3's vote and overwrites index 5.
    g.crash(1);
    g.heal();
    // Node 2 still believes it leads term 3; restarted, it campaigns (node 3 voted in term 4, so maybe twice).
    g.crash(2);
    g.restart(2);
    for (let attempt = 0; attempt < 3 && !g.node(2).isLeader(); attempt++) g.elect(2);
    assert.ok(g.node(2).isLeader());
    g.propose('after');
    assert.notEqual(g.node(3).logTerm(5), 2);
    assert.ok(!g.appliedData(3).includes('a'), 'the entry node 1 applied is gone from the new leader\'s history');
  });
});

describe('pre-vote', () => {
  test('an isolated node does not raise its term, and rejoining does not depose the leader', () => {
    const g = new InMemoryGroup({ config: { preVote: true } });
    assert.ok(g.elect(1));
    const term = g.node(1).status().term;
    g.isolate(3);
    g.tick(50);
    assert.equal(g.node(3).status().term, term);
    assert.equal(g.node(3).status().role, 'preCandidate');
    g.heal();
    g.tick(3);
    assert.ok(g.node(1).isLeader());
    assert.equal(g.node(1).status().term, term);
  });

  test('without pre-vote the same isolation bumps the term and disrupts the leader', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    const term = g.node(1).status().term;
    g.isolate(3);
    g.tick(50);
    assert.ok(g.node(3).status().term > term);
    g.heal();
    g.tick(30);
    assert.ok(g.node(1).status().term > term);
  });
});

describe('check-quorum', () => {
  test('a leader that cannot hear a quorum steps down within an election timeout', () => {
    const g = new InMemoryGroup({ config: { checkQuorum: true } });
    assert.ok(g.elect(1));
    g.isolate(1);
    g.tick(2 * 10);
    assert.equal(g.node(1).status().role, 'follower');
  });

  test('without check-quorum the isolated leader keeps believing it leads', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(1);
    g.tick(2 * 10);
    assert.ok(g.node(1).isLeader());
  });

  test('followers in a leader lease ignore a disruptive candidate', () => {
    const g = new InMemoryGroup({ config: { checkQuorum: true } });
    assert.ok(g.elect(1));
    const term = g.node(1).status().term;
    g.node(3).campaign();
    g.stabilize();
    assert.ok(g.node(1).isLeader());
    assert.equal(g.node(1).status().term, term);
  });
});

describe('ReadIndex', () => {
  test('the leader answers a read at its commit index after a heartbeat quorum', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    const index = g.propose('w');
    assert.ok(g.node(1).readIndex('ctx-1').accepted);
    g.stabilize();
    assert.deepEqual(g.readStates.get(1), [{ index, context: 'ctx-1' }]);
  });

  test('an isolated leader never answers a safe read', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(1);
    g.node(1).readIndex('ctx');
    g.tick(30);
    assert.deepEqual(g.readStates.get(1), []);
  });

  test('a follower\'s read is forwarded to the leader and answered to the follower', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    const index = g.propose('w');
    assert.ok(g.node(2).readIndex('f').accepted);
    g.stabilize();
    assert.deepEqual(g.readStates.get(2), [{ index, context: 'f' }]);
  });

  test('a lease-based read is answered without a heartbeat round while a quorum\'s acks are fresh, and not after', () => {
    // electionTicks 10, clockDriftBound 1.5: the lease is floor(9 / 1.5) = 6 leader ticks from the acked heartbeat.
    const g = new InMemoryGroup({ config: { checkQuorum: true, readOnlyOption: 'leaseBased', clockDriftBound: 1.5 } });
    assert.ok(g.elect(1));
    g.propose('w');
    g.tick(); // a heartbeat round, acknowledged by both followers
    g.isolate(1);
    g.node(1).readIndex('lease');
    g.stabilize();
    assert.equal(g.readStates.get(1)!.length, 1, 'answered from the lease alone: this is why it needs bounded clock drift');
    g.tick(5); // still inside the lease: 5 ticks since the acked heartbeat
    g.node(1).readIndex('lease-late');
    g.stabilize();
    assert.equal(g.readStates.get(1)!.length, 2);
    g.tick(1);
    assert.ok(g.node(1).isLeader(), 'check-quorum has not deposed it yet');
    g.node(1).readIndex('lease-expired');
    g.tick(3);
    assert.equal(g.readStates.get(1)!.length, 2, 'past its lease the leader needs a heartbeat quorum, which it cannot get');
  });

  test('past its lease a lease-based leader falls back to a heartbeat round and still answers', () => {
    const g = new InMemoryGroup({ config: { checkQuorum: true, readOnlyOption: 'leaseBased' } });
    assert.ok(g.elect(1));
    const index = g.propose('w');
    // No heartbeat has been acknowledged yet: no lease, so the read waits for one round.
    g.node(1).readIndex('fallback');
    g.stabilize();
    assert.deepEqual(g.readStates.get(1), [{ index, context: 'fallback' }]);
  });

  test('a leader that sent msgTimeoutNow serves no more lease reads in that term', () => {
    const g = new InMemoryGroup({ config: { checkQuorum: true, readOnlyOption: 'leaseBased' } });
    assert.ok(g.elect(1));
    g.propose('w');
    g.tick();
    // The TimeoutNow is lost: the transfer is abandoned after an election timeout, but the message might still arrive.
    g.filter = (m) => m.type !== 'msgTimeoutNow';
    assert.ok(g.node(1).transferLeadership(2).accepted);
    g.stabilize();
    g.tick(10);
    g.heal();
    assert.ok(g.node(1).isLeader());
    assert.equal(g.node(1).status().leadTransferee, 0, 'the transfer was abandoned');
    g.isolate(1);
    g.node(1).readIndex('after-transfer');
    g.stabilize();
    assert.deepEqual(g.readStates.get(1), [], 'a delayed TimeoutNow could still elect node 2 through the lease');
  });

  test('a follower restarted with lease reads honours the lease it may have promised before the crash', () => {
    const g = new InMemoryGroup({ config: { checkQuorum: true, readOnlyOption: 'leaseBased' } });
    assert.ok(g.elect(1));
    g.propose('w');
    g.tick();
    g.crash(2);
    const restarted = g.restart(2);
    const term = restarted.status().term;
    restarted.step({ type: 'msgVote', from: 3, to: 2, term: term + 1, index: 100, logTerm: term, transfer: false });
    assert.equal(restarted.status().term, term, 'the campaign is ignored, not even its term is taken');
    for (let i = 0; i < 10; i++) restarted.tick();
    restarted.step({ type: 'msgVote', from: 3, to: 2, term: term + 1, index: 100, logTerm: term, transfer: false });
    assert.equal(restarted.status().term, term + 1, 'after an election timeout it votes again');
  });

  test('an isolated leader that still believes it leads never answers a lease read staler than the new leader\'s commit', () => {
    // Check-quorum alone lets a cut-off leader believe it leads for up to two election
    // timeouts, while its followers may elect a successor after one: the lease must be
    // dated from heartbeats a quorum acknowledged, not from the check-quorum window.
    let windowSeen = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const g = new InMemoryGroup({ seed, config: { checkQuorum: true, preVote: true, readOnlyOption: 'leaseBased' } });
      assert.ok(g.elect(1));
      g.propose('w');
      g.tick(10); // the leader's check-quorum has just run and the followers acked the heartbeat that went with it
      g.isolate(1);
      let successor: RaftNode | undefined;
      for (let t = 0; t < 40 && !successor; t++) {
        g.tick();
        successor = [2, 3].map((id) => g.node(id)).find((n) => n.isLeader());
      }
      assert.ok(successor, `seed ${seed}: the majority elects a new leader`);
      const committed = g.node(successor.id).status().lastIndex;
      g.propose('x'); // through the newest leader
      assert.ok(g.node(successor.id).status().commit > committed);
      if (!g.node(1).isLeader()) continue;
      windowSeen++;
      g.node(1).readIndex(`stale-${seed}`);
      g.stabilize();
      for (const rs of g.readStates.get(1)!) {
        assert.ok(rs.index >= g.node(successor.id).status().commit, `seed ${seed}: lease read at ${rs.index} misses the commit at ${g.node(successor.id).status().commit}`);
      }
    }
    assert.ok(windowSeen > 0, 'some seed must reach the window where two nodes believe they lead');
  });

  test('lease-based reads are refused by the config unless check-quorum provides the lease', () => {
    assert.throws(() => new InMemoryGroup({ config: { readOnlyOption: 'leaseBased' } }), /checkQuorum/);
  });
});

describe('leadership transfer', () => {
  test('the target of a transfer becomes leader in the next term', () => {
    const g = new InMemoryGroup({ config: { checkQuorum: true, preVote: true } });
    assert.ok(g.elect(1));
    const term = g.node(1).status().term;
    assert.ok(g.node(1).transferLeadership(3).accepted);
    g.stabilize();
    assert.ok(g.node(3).isLeader());
    assert.equal(g.node(3).status().term, term + 1);
  });

  test('a lagging target is caught up before it is told to campaign', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(3);
    g.propose('a');
    g.propose('b');
    g.heal();
    g.node(1).transferLeadership(3);
    g.stabilize();
    assert.ok(g.node(3).isLeader());
    assert.deepEqual(g.appliedData(3).slice(-2), ['a', 'b']);
  });

  test('proposals are refused while a transfer is in progress', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(3);
    g.node(1).transferLeadership(3);
    const r = g.node(1).propose(enc('x'));
    assert.equal(r.accepted, false);
    assert.ok(!r.accepted && r.reason === 'transferring');
  });
});

describe('snapshots', () => {
  test('a follower behind the compacted log is brought up by InstallSnapshot', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(3);
    for (let i = 0; i < 10; i++) g.propose(`e${i}`);
    const leader = g.node(1);
    const applied = leader.status().applied;
    g.compact(1, 'state-at-' + applied);
    assert.ok(leader.status().firstIndex > g.node(3).status().lastIndex + 1);
    g.heal();
    g.tick(2);
    const sent = g.delivered.filter((m) => m.type === 'msgSnap' && m.to === 3);
    assert.equal(sent.length, 1);
    assert.equal(g.node(3).status().commit, leader.status().commit);
    assert.equal(g.disks.get(3)!.durable.snapshot?.metadata.index, applied);
    g.propose('after');
    assert.deepEqual(g.appliedData(3), ['after']);
  });

  test('a restarted node recovers its log and state from the persisted snapshot and entries', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.propose('a');
    g.compact(2, 's');
    g.propose('b');
    const before = g.node(2).status();
    g.crash(2);
    const node = g.restart(2);
    assert.equal(node.status().lastIndex, before.lastIndex);
    assert.equal(node.status().term, before.term);
    assert.deepEqual(g.appliedData(2), ['b']);
  });
});

describe('membership', () => {
  test('a learner joins, catches up without voting, then is promoted to voter', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.propose('before');
    g.add(4, RaftNode.join({ config: g.configFor(4) }));
    assert.ok(g.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 }).accepted);
    g.stabilize();
    g.tick(2);
    assert.deepEqual(g.appliedData(4), ['before']);
    assert.deepEqual(g.node(4).status().confState, { voters: [1, 2, 3], learners: [4] });
    // Learners are not counted: with 2 and 3 down, nothing commits.
    g.isolate(2, 3);
    const r = g.node(1).propose(enc('needs-quorum'));
    g.tick(2);
    assert.ok(r.accepted && g.node(1).status().commit < r.index);
    g.heal();
    g.tick(2);
    assert.ok(g.node(1).proposeConfChange({ type: 'addVoter', nodeId: 4 }).accepted);
    g.stabilize();
    assert.deepEqual(g.node(1).status().confState, { voters: [1, 2, 3, 4], learners: [] });
  });

  test('only one membership change may be pending at a time', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.isolate(2, 3);
    assert.ok(g.node(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 }).accepted);
    const second = g.node(1).proposeConfChange({ type: 'addLearner', nodeId: 5 });
    assert.ok(!second.accepted && second.reason === 'confChangePending');
  });

  test('a removed voter no longer counts toward the quorum and does not campaign', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.node(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 });
    g.stabilize();
    assert.deepEqual(g.node(1).status().confState.voters, [1, 2]);
    g.isolate(3);
    g.tick(50);
    assert.equal(g.node(3).status().role, 'follower');
    g.heal();
    const index = g.propose('two-voters');
    assert.ok(g.node(2).status().commit >= index);
  });
});

describe('removed members', () => {
  test('a node that applies its own removal refuses proposals, reads and transfers, and cannot campaign even when told to', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    assert.ok(g.node(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 }).accepted);
    g.stabilize();
    const removed = g.node(3);
    assert.equal(removed.status().removed, true);
    assert.equal(g.node(2).status().removed, false);
    assert.deepEqual(removed.readIndex('r1'), { accepted: false, reason: 'removed', leader: 0 });
    assert.deepEqual(removed.transferLeadership(2), { accepted: false, reason: 'removed', leader: 0 });
    assert.deepEqual(removed.propose(enc('x')), { accepted: false, reason: 'removed', leader: 0 });
    const term = removed.status().term;
    removed.step({ type: 'msgTimeoutNow', from: 1, to: 3, term });
    g.tick(50);
    assert.equal(removed.status().role, 'follower');
    assert.equal(removed.status().term, term);
    assert.ok(g.node(1).isLeader());
  });

  test('a leader that applies its own removal steps down, reports removed, and the rest elect a leader', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    assert.ok(g.node(1).proposeConfChange({ type: 'removeVoter', nodeId: 1 }).accepted);
    g.stabilize();
    assert.equal(g.node(1).status().role, 'follower');
    assert.equal(g.node(1).status().removed, true);
    g.tick(50);
    const leader = g.leader();
    assert.ok(leader && leader.id !== 1);
    assert.ok(!g.node(1).isLeader());
  });

  test('a removed node added back as a learner serves again', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    g.node(1).proposeConfChange({ type: 'removeVoter', nodeId: 3 });
    g.stabilize();
    assert.equal(g.node(3).status().removed, true);
    g.tick(2);
    assert.ok(g.node(1).proposeConfChange({ type: 'addLearner', nodeId: 3 }).accepted);
    g.stabilize();
    g.tick(2);
    assert.equal(g.node(3).status().removed, false);
    assert.deepEqual(g.node(3).status().confState, { voters: [1, 2], learners: [3] });
    assert.ok(g.node(3).readIndex('r1').accepted);
  });

  /** Voters 1..4; 1 leads, is cut off, and 2..4 remove it under a new leader 2: 1 never receives its removal. */
  function removedWhileCutOff(config: { preVote?: boolean; checkQuorum?: boolean }, oneLeads: boolean): InMemoryGroup {
    const g = new InMemoryGroup({ voters: [1, 2, 3, 4], config });
    assert.ok(g.elect(oneLeads ? 1 : 2));
    g.isolate(1);
    if (oneLeads) assert.ok(g.elect(2));
    assert.ok(g.node(2).proposeConfChange({ type: 'removeVoter', nodeId: 1 }).accepted);
    g.stabilize();
    assert.deepEqual(g.node(3).status().confState.voters, [2, 3, 4]);
    assert.equal(g.node(1).status().removed, false, 'node 1 does not know');
    g.heal();
    return g;
  }

  test('without pre-vote and check-quorum, a removed leader that never learned it is a harmless stale leader (seed 710476)', () => {
    const g = removedWhileCutOff({}, true);
    const staleTerm = g.node(1).status().term;
    const term = g.node(2).status().term;
    g.tick(100);
    // Nobody sends to node 1 and members drop its lower-term heartbeats, so it never hears term `term`...
    assert.ok(g.node(1).isLeader());
    assert.equal(g.node(1).status().term, staleTerm);
    // ...and it cannot commit anything, while the group commits under the newest term's leader.
    const stale = g.node(1).propose(enc('to-the-stale-leader'));
    const index = g.propose('to-the-newest-leader');
    g.tick(20);
    assert.ok(stale.accepted && g.node(1).status().commit < stale.index);
    assert.ok(g.node(2).isLeader() && g.node(2).status().term === term);
    assert.ok(g.node(4).status().commit >= index);
  });

  test('with pre-vote, members answer a removed stale leader\'s heartbeat with their term: it steps down and its pre-votes change nothing', () => {
    const g = removedWhileCutOff({ preVote: true }, true);
    const term = g.node(2).status().term;
    g.tick(100);
    assert.equal(g.node(1).status().role === 'leader', false);
    assert.ok(g.node(2).isLeader());
    assert.equal(g.node(2).status().term, term);
  });

  test('with pre-vote and check-quorum (the replica\'s defaults), a removed follower that never learned it cannot depose the leader', () => {
    const g = removedWhileCutOff({ preVote: true, checkQuorum: true }, false);
    const term = g.node(2).status().term;
    g.tick(100);
    assert.ok(g.node(2).isLeader());
    assert.equal(g.node(2).status().term, term);
  });

  test('without them, the same removed follower campaigns in higher terms and deposes the leader (Raft thesis §4.2.3)', () => {
    const g = removedWhileCutOff({}, false);
    const term = g.node(2).status().term;
    g.tick(100);
    // Its log lacks the removal, so it never wins, but each campaign raises the members' term.
    assert.ok(!g.node(1).isLeader());
    assert.ok(g.node(2).status().term > term);
  });
});

describe('flow control and the Ready contract', () => {
  test('a follower in replicate state has at most maxInflightMsgs appends outstanding', () => {
    const g = new InMemoryGroup({ config: { maxInflightMsgs: 2, maxEntriesPerMsg: 1 } });
    assert.ok(g.elect(1));
    g.filter = (m) => !(m.type === 'msgAppResp' && m.from === 2);
    for (let i = 0; i < 10; i++) g.node(1).propose(enc(`p${i}`));
    g.stabilize();
    assert.equal(g.node(1).progress().get(2)!.inflight, 2);
    const appsTo2 = g.delivered.filter((m) => m.type === 'msgApp' && m.to === 2 && m.entries.some((e) => e.index > 4));
    assert.equal(appsTo2.length, 2);
  });

  test('a follower in replicate state has at most maxInflightBytes of entry payload outstanding (one append may cross it)', () => {
    const g = new InMemoryGroup({ config: { maxInflightMsgs: 100, maxInflightBytes: 250, maxEntriesPerMsg: 1 } });
    assert.ok(g.elect(1));
    g.filter = (m) => !(m.type === 'msgAppResp' && m.from === 2);
    // 100-byte entries: appends go out while fewer than 250 bytes are in flight, so three (300 bytes), then none.
    for (let i = 0; i < 10; i++) g.node(1).propose(new Uint8Array(100).fill(i));
    g.stabilize();
    assert.equal(g.node(1).progress().get(2)!.inflight, 3);
    const appsTo2 = g.delivered.filter((m) => m.type === 'msgApp' && m.to === 2 && m.entries.some((e) => e.data.byteLength === 100));
    assert.equal(appsTo2.length, 3);
    // Once the follower acknowledges, the window opens and the rest follow.
    g.filter = () => true;
    g.tick(1);
    g.stabilize();
    assert.equal(g.node(2).status().lastIndex, g.node(1).status().lastIndex);
  });

  test('a leader refuses proposals as overloaded past maxUncommittedSizeBytes of its term\'s uncommitted payload, and accepts again once they commit', () => {
    const g = new InMemoryGroup({ config: { maxUncommittedSizeBytes: 250 } });
    assert.ok(g.elect(1));
    g.isolate(1);
    const leader = g.node(1);
    // Nothing uncommitted: one proposal goes in whatever its size (as etcd, so one large entry cannot wedge the leader).
    assert.equal(leader.propose(new Uint8Array(400)).accepted, true);
    const refused = leader.propose(new Uint8Array(10));
    assert.ok(!refused.accepted && refused.reason === 'overloaded', JSON.stringify(refused));
    g.heal();
    g.tick(1);
    g.stabilize();
    assert.equal(leader.status().role, 'leader');
    const accepted = [1, 2].map(() => leader.propose(new Uint8Array(100)).accepted);
    assert.deepEqual(accepted, [true, true], 'the committed 400 bytes no longer count');
    const third = leader.propose(new Uint8Array(100));
    assert.ok(!third.accepted && third.reason === 'overloaded', '200 uncommitted + 100 would pass 250');
  });

  test('a vote is in the Ready\'s hard state with mustSync, alongside the vote response', () => {
    const n = RaftNode.bootstrap({ config: { id: 2, electionTicks: 10, heartbeatTicks: 1, random: () => 0 }, voters: [1, 2, 3] });
    n.ready();
    n.advance();
    n.step(vote(1, 2, 5, 3, 1));
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 5, vote: 1, commit: 3 });
    assert.equal(rd.mustSync, true);
    assert.equal(rd.messages[0]!.type, 'msgVoteResp');
    n.advance();
  });

  test('ready() twice without advance() is a caller bug and throws', () => {
    const n = RaftNode.bootstrap({ config: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0 }, voters: [1] });
    n.ready();
    assert.throws(() => n.ready(), /advance/);
  });

  test('a single-voter group commits once its own log is persisted', () => {
    const g = new InMemoryGroup({ voters: [1] });
    assert.ok(g.elect(1));
    g.propose('solo');
    assert.deepEqual(g.appliedData(1), ['solo']);
  });
});
