/**
 * The messages Raft peers exchange, as one discriminated union on `type`.
 * Every handler switches on `type` exhaustively, so a new message kind is a
 * compile error until each role decides what to do with it.
 *
 * `term` is the sender's term, except for messages that are forwarded from a
 * follower to its leader on behalf of the application (msgReadIndex,
 * msgTransferLeader): those carry term 0 and are handled like local requests,
 * as etcd does, so a forwarded request never disturbs terms.
 */
import type { Entry, NodeId, Snapshot } from './types.js';

interface Envelope {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Append entries after (index, logTerm); also carries the leader's commit index. */
export interface MsgApp extends Envelope {
  type: 'msgApp';
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * Answer to msgApp (and to msgSnap). On success `index` is the last index the follower
 * now matches. On reject `index` echoes the rejected msgApp index and
 * (rejectHint, logTerm) tell the leader where the logs may agree: the largest index
 * <= rejectHint whose term is <= the msgApp's logTerm (fast backtracking).
 */
export interface MsgAppResp extends Envelope {
  type: 'msgAppResp';
  index: number;
  reject: boolean;
  rejectHint: number;
  logTerm: number;
}

/** Request a vote (or a pre-vote) for a candidate whose log ends at (index, logTerm). */
export interface MsgVote extends Envelope {
  type: 'msgVote' | 'msgPreVote';
  index: number;
  logTerm: number;
  /** Set by a leadership-transfer campaign: voters ignore their leader lease for it. */
  transfer: boolean;
}

export interface MsgVoteResp extends Envelope {
  type: 'msgVoteResp' | 'msgPreVoteResp';
  reject: boolean;
  /**
   * On a rejection: the voter's commit index and the term of its entry there. A candidate
   * holding that same entry holds the same committed prefix and may commit up to it: how a
   * voter that lost its commit index in a crash learns that a configuration change it holds
   * was committed, instead of campaigning forever under the configuration before it.
   */
  commit?: number;
  commitTerm?: number;
}

/** Leader liveness; `commit` is min(follower match, leader commit); `context` confirms a ReadIndex round. */
export interface MsgHeartbeat extends Envelope {
  type: 'msgHeartbeat';
  commit: number;
  context: string;
  /** The leader's tick count when it sent this; echoed back, it dates the leader's read lease. */
  sentTick: number;
}

export interface MsgHeartbeatResp extends Envelope {
  type: 'msgHeartbeatResp';
  context: string;
  /** `sentTick` of the heartbeat this answers. */
  sentTick: number;
}

/** InstallSnapshot: the follower fell behind the leader's compacted log. */
export interface MsgSnap extends Envelope {
  type: 'msgSnap';
  snapshot: Snapshot;
}

/** Leadership transfer: the target campaigns at once, skipping pre-vote and leases. */
export interface MsgTimeoutNow extends Envelope {
  type: 'msgTimeoutNow';
}

/** A follower forwards an application's read request to its leader (term 0). */
export interface MsgReadIndex extends Envelope {
  type: 'msgReadIndex';
  context: string;
}

export interface MsgReadIndexResp extends Envelope {
  type: 'msgReadIndexResp';
  index: number;
  context: string;
}

/** A follower forwards an application's transfer request to its leader (term 0). */
export interface MsgTransferLeader extends Envelope {
  type: 'msgTransferLeader';
  transferee: NodeId;
}

export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgTimeoutNow
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgTransferLeader;

export type MessageType = Message['type'];

/** Messages a follower forwards for the application; they carry term 0. */
export function isForwardedRequest(m: Message): m is MsgReadIndex | MsgTransferLeader {
  return m.type === 'msgReadIndex' || m.type === 'msgTransferLeader';
}

export function assertNever(x: never): never {
  throw new Error(`raft: unhandled case ${JSON.stringify(x)}`);
}
