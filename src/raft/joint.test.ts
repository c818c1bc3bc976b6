import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryStorage } from './log.js';
import { Raft } from './raft.js';
import { RaftNode } from './raw-node.js';
import { InMemoryGroup } from './sim/group.js';
import { emptyHardState, type ConfChangeV2, type ConfState } from './types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A lone Raft whose snapshot holds configuration `cs`, driven by hand. */
function lone(id: number, cs: ConfState, extra: Partial<ConstructorParameters<typeof Raft>[0]> = {}): Raft {
  const storage = new MemoryStorage(undefined, cs);
  return new Raft({ id, electionTicks: 10, heartbeatTicks: 1, random: () => 0, ...extra }, storage, emptyHardState);
}

const JOINT: ConfState = { voters: [1, 4, 5], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [], autoLeave: false };

/** Voters 1..3 led by 1, with 4 and 5 started and added as learners, caught up. */
function withLearners(config: ConstructorParameters<typeof InMemoryGroup>[0] = {}): InMemoryGroup {
  const g = new InMemoryGroup(config);
  assert.ok(g.elect(1));
  for (const id of [4, 5]) {
    g.add(id, RaftNode.join({ config: g.configFor(id) }));
    assert.ok(g.node(1).proposeConfChange({ type: 'addLearner', nodeId: id }).accepted);
    g.stabilize();
  }
  g.tick(2);
  return g;
}

const replace23by45: ConfChangeV2 = {
  transition: 'jointExplicit',
  changes: [{ type: 'addVoter', nodeId: 4 }, { type: 'addVoter', nodeId: 5 }, { type: 'removeVoter', nodeId: 2 }, { type: 'removeVoter', nodeId: 3 }],
};

describe('joint consensus: elections', () => {
  test('a candidate with a majority of the incoming voters but not of the outgoing ones does not win', () => {
    const r = lone(1, JOINT);
    r.tick();
    for (let i = 0; i < 20 && r.role !== 'candidate'; i++) r.tick();
    assert.equal(r.role, 'candidate');
    const term = r.term;
    assert.deepEqual(r.msgs.filter((m) => m.type === 'msgVote').map((m) => m.to), [2, 3, 4, 5], 'asks the voters of both halves');
    r.step({ type: 'msgVoteResp', from: 4, to: 1, term, reject: false });
    r.step({ type: 'msgVoteResp', from: 5, to: 1, term, reject: false });
    assert.equal(r.role, 'candidate', '{1,4,5} is all of C_new, but only 1 of C_old');
    r.step({ type: 'msgVoteResp', from: 2, to: 1, term, reject: false });
    assert.equal(r.role, 'leader');
  });

  test('a candidate refused by a majority of the outgoing voters loses, whatever the incoming ones say', () => {
    const r = lone(1, JOINT);
    for (let i = 0; i < 21 && r.role !== 'candidate'; i++) r.tick();
    const term = r.term;
    r.step({ type: 'msgVoteResp', from: 4, to: 1, term, reject: false });
    r.step({ type: 'msgVoteResp', from: 2, to: 1, term, reject: true });
    r.step({ type: 'msgVoteResp', from: 3, to: 1, term, reject: true });
    assert.equal(r.role, 'follower');
  });

  test('a voter of the outgoing half only still campaigns', () => {
    const r = lone(2, JOINT);
    for (let i = 0; i < 21 && r.role !== 'candidate'; i++) r.tick();
    assert.equal(r.role, 'candidate');
  });
});

describe('joint consensus: commitment and reads', () => {
  test('in a joint configuration an entry commits only on a majority of both halves', () => {
    const g = withLearners();
    assert.ok(g.node(1).proposeConfChangeV2(replace23by45).accepted);
    g.stabilize();
    assert.deepEqual(g.node(1).status().confState, { voters: [1, 4, 5], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [], autoLeave: false });
    // {1,4,5} is all of C_new, but C_old = {1,2,3} has only 1 of its majority.
    g.isolate(2, 3);
    const r = g.node(1).propose(enc('needs-both'));
    g.tick(3);
    assert.ok(r.accepted && g.node(1).status().commit < r.index);
    g.heal();
    g.tick(3);
    assert.ok(g.node(1).status().commit >= r.index);
  });

  test('the planted bug jointQuorumIncomingOnly commits on the incoming half alone', () => {
    const g = withLearners({ config: { testingKnobs: { jointQuorumIncomingOnly: true } } });
    assert.ok(g.node(1).proposeConfChangeV2(replace23by45).accepted);
    g.stabilize();
    g.isolate(2, 3);
    const r = g.node(1).propose(enc('unsafe'));
    g.tick(3);
    assert.ok(r.accepted && g.node(1).status().commit >= r.index);
  });

  test('a ReadIndex round in a joint configuration needs acks from both halves', () => {
    const g = withLearners();
    assert.ok(g.node(1).proposeConfChangeV2(replace23by45).accepted);
    g.stabilize();
    g.isolate(2, 3);
    assert.ok(g.node(1).readIndex('r1').accepted);
    g.tick(3);
    assert.deepEqual(g.readStates.get(1), []);
    g.heal();
    g.tick(2);
    assert.deepEqual(g.readStates.get(1)!.map((s) => s.context), ['r1']);
  });
});

describe('joint consensus: entering and leaving', () => {
  test('several changes with transition auto pass through a joint configuration and leave it without being asked', () => {
    const g = withLearners();
    const seen: string[] = [];
    const r = g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [{ type: 'addVoter', nodeId: 4 }, { type: 'removeVoter', nodeId: 3 }] });
    assert.ok(r.accepted);
    // Deliver round by round to watch the configuration pass through C_old,new.
    for (let i = 0; i < 50; i++) {
      g.tick();
      const cs = g.node(2).status().confState;
      const label = cs.votersOutgoing ? `joint ${cs.voters} / ${cs.votersOutgoing}` : `${cs.voters}`;
      if (seen[seen.length - 1] !== label) seen.push(label);
    }
    assert.deepEqual(seen.slice(-1), ['1,2,4']);
    assert.ok(g.node(1).status().confState.votersOutgoing === undefined);
    const applied = g.applied.get(2)!.filter((e) => e.type === 'confChange').map((e) => new TextDecoder().decode(e.data));
    assert.ok(applied.includes('{"transition":"auto","changes":[]}'), 'the leader proposed the leave entry itself');
  });

  test('an explicit joint configuration stays until the application leaves it; etcd\'s proposal rules are enforced', () => {
    const g = withLearners();
    const notJoint = g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [] });
    assert.deepEqual(notJoint, { accepted: false, reason: 'invalidConfChange', leader: 1, message: 'not in joint state; refusing empty conf change' });
    assert.ok(g.node(1).proposeConfChangeV2(replace23by45).accepted);
    const pending = g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [] });
    assert.equal(pending.accepted ? 'accepted' : pending.reason, 'confChangePending');
    g.stabilize();
    g.tick(20);
    assert.deepEqual(g.node(1).status().confState.votersOutgoing, [1, 2, 3], 'still joint: nobody asked to leave');
    const again = g.node(1).proposeConfChangeV2({ transition: 'jointExplicit', changes: [{ type: 'removeVoter', nodeId: 4 }] });
    assert.equal(again.accepted ? '' : again.message, 'possible unapplied conf change: must transition out of joint config first');
    assert.ok(g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [] }).accepted);
    g.stabilize();
    for (const id of [1, 4, 5]) assert.deepEqual(g.node(id).status().confState, { voters: [1, 4, 5], learners: [] });
    assert.equal(g.node(2).status().removed, true, 'a voter of the outgoing half only is removed when the joint configuration is left');
  });

  test('a change that would remove every voter is refused at proposal', () => {
    const g = new InMemoryGroup({ voters: [1, 2] });
    assert.ok(g.elect(1));
    const r = g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [{ type: 'removeVoter', nodeId: 1 }, { type: 'removeVoter', nodeId: 2 }] });
    assert.deepEqual(r, { accepted: false, reason: 'invalidConfChange', leader: 1, message: 'removed all voters' });
  });

  test('a learner is promoted to voter by a one-change V2', () => {
    const g = withLearners();
    assert.ok(g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [{ type: 'addVoter', nodeId: 4 }] }).accepted);
    g.stabilize();
    assert.deepEqual(g.node(4).status().confState, { voters: [1, 2, 3, 4], learners: [5] });
  });

  test('a voter demoted through a joint configuration keeps voting until it is left, then is a learner', () => {
    const g = withLearners();
    assert.ok(g.node(1).proposeConfChangeV2({ transition: 'jointExplicit', changes: [{ type: 'addLearner', nodeId: 3 }, { type: 'addVoter', nodeId: 4 }] }).accepted);
    g.stabilize();
    assert.deepEqual(g.node(1).status().confState, { voters: [1, 2, 4], learners: [5], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: false });
    assert.ok(g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [] }).accepted);
    g.stabilize();
    assert.deepEqual(g.node(3).status().confState, { voters: [1, 2, 4], learners: [3, 5] });
    assert.equal(g.node(3).status().removed, false);
  });
});

describe('joint consensus: removing the leader', () => {
  test('a leader removed by a joint change leads through the joint configuration and steps down once the leave applies', () => {
    const g = withLearners();
    assert.ok(g.node(1).proposeConfChangeV2({ transition: 'jointExplicit', changes: [{ type: 'removeVoter', nodeId: 1 }, { type: 'addVoter', nodeId: 4 }] }).accepted);
    g.stabilize();
    assert.ok(g.node(1).isLeader(), 'still a voter of the outgoing half');
    const index = g.propose('under-joint');
    assert.ok(g.node(4).status().commit >= index);
    assert.ok(g.node(1).proposeConfChangeV2({ transition: 'auto', changes: [] }).accepted);
    g.stabilize();
    assert.equal(g.node(1).isLeader(), false);
    assert.equal(g.node(1).status().removed, true);
    g.tick(40);
    const leader = g.leader();
    assert.ok(leader && [2, 3, 4].includes(leader.id));
    const after = g.propose('after-leader-left');
    assert.ok(g.node(4).status().commit >= after);
  });
});

describe('joint consensus: durability', () => {
  test('a snapshot taken in a joint configuration carries it, and a node restarted from it is still joint', () => {
    const g = withLearners();
    assert.ok(g.node(1).proposeConfChangeV2(replace23by45).accepted);
    g.stabilize();
    g.compact(4, 'state');
    g.crash(4);
    const node = g.restart(4);
    assert.deepEqual(node.status().confState, { voters: [1, 4, 5], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [], autoLeave: false });
  });

  test('the single-change API still refuses a second pending change and a no-op change', () => {
    const g = new InMemoryGroup();
    assert.ok(g.elect(1));
    const noop = g.node(1).proposeConfChange({ type: 'addVoter', nodeId: 2 });
    assert.equal(noop.accepted ? 'accepted' : noop.reason, 'invalidConfChange');
  });
});

describe('joint consensus: a voter that lost its commit index', () => {
  test('a candidate rejected by a voter whose commit entry it holds learns that commit index (and so the configuration it commits)', () => {
    const r = lone(3, JOINT);
    r.log.append([{ term: 1, index: 1, type: 'normal', data: enc('a') }, { term: 1, index: 2, type: 'normal', data: enc('b') }]);
    assert.equal(r.log.committed, 0);
    // A rejection naming an entry we do not hold teaches nothing...
    r.step({ type: 'msgPreVoteResp', from: 2, to: 3, term: 0, reject: true, commit: 2, commitTerm: 7 });
    assert.equal(r.log.committed, 0);
    // ...one naming an entry we hold commits our prefix up to it.
    r.step({ type: 'msgPreVoteResp', from: 2, to: 3, term: 0, reject: true, commit: 2, commitTerm: 1 });
    assert.equal(r.log.committed, 2);
  });

  test('a voter rejecting a candidate names its commit index and the term there', () => {
    const r = lone(2, JOINT);
    r.log.append([{ term: 1, index: 1, type: 'normal', data: enc('a') }]);
    r.log.commitTo(1);
    r.term = 1;
    r.step({ type: 'msgVote', from: 1, to: 2, term: 2, index: 0, logTerm: 0, transfer: false });
    assert.deepEqual(r.msgs.filter((m) => m.type === 'msgVoteResp'), [{ type: 'msgVoteResp', from: 2, to: 1, term: 2, reject: true, commit: 1, commitTerm: 1 }]);
  });
});

describe('a candidate removed under its feet', () => {
  test('a candidate that applies a committed change removing it stops campaigning and never leads', () => {
    const r = lone(3, { voters: [1, 2, 3], learners: [] });
    r.log.append([{ term: 1, index: 1, type: 'confChange', data: enc('{"type":"removeVoter","nodeId":3}') }]);
    r.term = 1;
    for (let i = 0; i < 21 && r.role !== 'candidate'; i++) r.tick();
    assert.equal(r.role, 'candidate');
    const term = r.term;
    // Node 1 refuses, and says the removal is committed; the application applies it.
    r.step({ type: 'msgVoteResp', from: 1, to: 3, term, reject: true, commit: 1, commitTerm: 1 });
    assert.equal(r.log.committed, 1);
    r.applyConfChange({ type: 'removeVoter', nodeId: 3 });
    assert.equal(r.role, 'follower');
    r.step({ type: 'msgVoteResp', from: 2, to: 3, term, reject: false });
    assert.notEqual(r.role, 'leader');
  });
});
