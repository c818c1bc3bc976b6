/**
 * The vocabulary of the Raft library, shared by the state machine (src/raft)
 * and the durable log (src/storage). Shaped after etcd's raftpb.
 */

/** A node's identity in a group. Positive; 0 means "none". */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to Raft for normal entries; an encoded ConfChange for confChange entries. Empty: a no-op. */
  data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/**
 * One membership change. `addLearner` of a voter demotes it (etcd's AddLearnerNode);
 * `removeVoter` removes the node whatever its role (etcd's RemoveNode).
 */
export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner';

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
}

/**
 * How a ConfChangeV2 moves between configurations (etcd's ConfChangeTransition):
 * - 'auto': one voter change goes straight to the new configuration; more go through a
 *   joint configuration that Raft leaves by itself once it is applied;
 * - 'jointImplicit': always joint, left automatically (autoLeave);
 * - 'jointExplicit': always joint, left only by an empty ConfChangeV2 from the application.
 */
export type ConfChangeTransition = 'auto' | 'jointImplicit' | 'jointExplicit';

/**
 * Several changes applied atomically (etcd's ConfChangeV2). No changes at all means
 * "leave the joint configuration". A single `ConfChange` is the V2 change with one element
 * and transition 'auto'.
 */
export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChange[];
}

/**
 * Membership: voters decide elections and commitment; learners only receive the log.
 * In a joint configuration (C_old,new) every decision needs a majority of `voters` (the
 * incoming set) AND of `votersOutgoing`; `learnersNext` are outgoing voters that become
 * learners when the joint configuration is left; `autoLeave` says Raft leaves it by itself.
 * The three joint fields are present only in a joint configuration.
 */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing?: NodeId[];
  learnersNext?: NodeId[];
  autoLeave?: boolean;
}

/** Whether a configuration is joint (has outgoing voters). */
export function isJointConfState(cs: ConfState): boolean {
  return (cs.votersOutgoing?.length ?? 0) > 0;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The application's state machine at `metadata.index`, opaque to Raft. */
  data: Uint8Array;
}

export const emptyHardState: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}
