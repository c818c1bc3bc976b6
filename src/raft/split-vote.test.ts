/**
 * Split votes between the two live voters of a three-voter group whose leader
 * is stalled (a paused process): the situation of the chaos scenario
 * etcd-leader-paused (docs/raft.md, "Split votes while a leader is paused").
 *
 * The two live voters tick in lockstep, as the simulated runtime's replicas do,
 * so equal timeout draws make them time out at the same instant. Each node's
 * timeout draws are scripted per term, so every split is chosen, not found.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RaftConfig } from './raft.js';
import { RaftTrio } from './test-trio.js';
import type { NodeId } from './types.js';

const ELECTION_TICKS = 10;

/**
 * Three voters with pre-vote and check-quorum (the replicas' defaults). `drawsByTerm(id, term)`
 * is the random() value a node uses for the timeout it draws on entering `term`: the timeout is
 * electionTicks + floor(value * electionTicks), e.g. 0.2 -> 12 ticks. A `paused` node neither
 * sends, receives nor ticks.
 */
class LockstepTrio extends RaftTrio {
  readonly paused = this.cut;

  constructor(drawsByTerm: (id: NodeId, term: number) => number, extra: Partial<RaftConfig> = {}) {
    super((id, self) => ({
      id,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      // reset() sets the new term before it draws, so the draw can be looked up by term.
      random: () => drawsByTerm(id, self()?.term ?? 0),
      ...extra,
    }));
  }

  /** Node 3 leads term 1 and has just sent a heartbeat to both followers; then it stalls. */
  electThreeThenPauseIt(): void {
    this.node(3).startElection();
    this.deliver();
    assert.equal(this.node(3).role, 'leader');
    assert.equal(this.node(3).term, 1);
    this.node(3).tick(); // heartbeatTicks 1: a heartbeat now, so both followers' timers start together
    this.deliver();
    for (const id of [1, 2]) assert.equal(this.node(id).lead, 3);
    this.paused.add(3);
  }

  roles(): string[] {
    return [1, 2].map((id) => `${id}:${this.node(id).role}@${this.node(id).term}`);
  }
}

describe('split votes between the two live voters of three', () => {
  test('a split vote repeats only while the two draw equal timeouts, and the first unequal draw elects a leader without the stalled one', () => {
    // Both draw 12 ticks in term 1, 13 in term 2; in term 3 node 1 draws 10, node 2 draws 15.
    const draws: Record<number, Record<number, number>> = { 1: { 1: 0.2, 2: 0.3, 3: 0.0 }, 2: { 1: 0.2, 2: 0.3, 3: 0.5 } };
    const trio = new LockstepTrio((id, term) => draws[id]?.[term] ?? 0.9);
    trio.electThreeThenPauseIt();

    // Round 1: both time out in the same tick. Each grants the other's pre-vote (a future term, an
    // equally up-to-date log, no leader heard for 12 >= electionTicks ticks), so both campaign; each
    // has voted for itself in term 2 and refuses the other. Without the stalled voter, no majority.
    trio.tick(11);
    assert.deepEqual(trio.roles(), ['1:follower@1', '2:follower@1']);
    trio.tick();
    assert.deepEqual(trio.roles(), ['1:candidate@2', '2:candidate@2']);
    assert.equal(trio.node(1).vote, 1);
    assert.equal(trio.node(2).vote, 2);

    // Round 2: the timeout is drawn afresh in each term; equal draws again (13), a second split.
    trio.tick(12);
    assert.deepEqual(trio.roles(), ['1:candidate@2', '2:candidate@2']);
    trio.tick();
    assert.deepEqual(trio.roles(), ['1:candidate@3', '2:candidate@3']);

    // Round 3: unequal draws (10 and 15). Node 1 times out alone; node 2, a candidate of term 3 that
    // knows no leader, grants its pre-vote and then its vote. The stalled node 3 is not needed.
    trio.tick(9);
    assert.deepEqual(trio.roles(), ['1:candidate@3', '2:candidate@3']);
    trio.tick();
    assert.deepEqual(trio.roles(), ['1:leader@4', '2:follower@4']);
    assert.equal(trio.node(2).lead, 1);
    assert.equal(trio.node(3).term, 1, 'the stalled node took no part');
  });

  test('with no jitter (electionTimeoutJitterTicks 0) the two lockstep voters split every round: the redraw is what ends a split', () => {
    const trio = new LockstepTrio(() => 0.5, { electionTimeoutJitterTicks: 0 });
    trio.electThreeThenPauseIt();
    const rounds = 5;
    trio.tick(rounds * ELECTION_TICKS);
    assert.deepEqual(trio.roles(), [`1:candidate@${1 + rounds}`, `2:candidate@${1 + rounds}`]);
  });
});
