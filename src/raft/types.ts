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

export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner';

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
}

/** Membership: voters decide elections and commitment; learners only receive the log. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
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
