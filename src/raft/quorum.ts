/**
 * Quorum arithmetic over majority configurations, alone and joint (etcd-io/raft's
 * `quorum` package). In a joint configuration C_old,new a decision needs a majority of
 * the incoming voters AND a majority of the outgoing ones (Raft thesis §4.3): that is
 * what keeps two disjoint majorities from deciding apart while membership changes.
 */
import type { NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The largest value that a majority of `voters` has reached, given each voter's value
 * (a match index, a heartbeat stamp): the majority's commit index when values are matches.
 * An empty configuration imposes no constraint: +Infinity, so a joint decision reduces
 * to the other half (etcd returns MaxUint64 for the same reason).
 */
export function majorityValue(voters: ReadonlySet<NodeId>, valueOf: (id: NodeId) => number): number {
  if (voters.size === 0) return Number.POSITIVE_INFINITY;
  // Insertion sort (descending) into a reused array: a leader runs this on every append answer,
  // and a sort with a comparator over a fresh array was most of its cost for three voters.
  const values = scratch;
  let n = 0;
  for (const id of voters) {
    const v = valueOf(id);
    let i = n++;
    while (i > 0 && values[i - 1]! < v) {
      values[i] = values[i - 1]!;
      i--;
    }
    values[i] = v;
  }
  return values[Math.floor(n / 2)]!;
}

/** Working space of `majorityValue`: one array serves every call, as `valueOf` (a lookup) never re-enters it. */
const scratch: number[] = [];

/** Outcome of a vote among `voters`: granted by a majority, refused by enough to make that impossible, or open. An empty configuration wins. */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const quorum = Math.floor(voters.size / 2) + 1;
  if (granted >= quorum) return 'won';
  if (granted + missing >= quorum) return 'pending';
  return 'lost';
}

/** A joint configuration: both halves must agree; `outgoing` is empty outside a joint configuration. */
export interface JointVoters {
  incoming: ReadonlySet<NodeId>;
  outgoing: ReadonlySet<NodeId>;
}

/** The value a majority of each half has reached: the smaller of the two. */
export function jointValue(cfg: JointVoters, valueOf: (id: NodeId) => number): number {
  return Math.min(majorityValue(cfg.incoming, valueOf), majorityValue(cfg.outgoing, valueOf));
}

/** Won only when both halves are won; lost as soon as either is lost. */
export function jointVoteResult(cfg: JointVoters, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVoteResult(cfg.incoming, votes);
  const b = majorityVoteResult(cfg.outgoing, votes);
  if (a === 'lost' || b === 'lost') return 'lost';
  if (a === 'won' && b === 'won') return 'won';
  return 'pending';
}
