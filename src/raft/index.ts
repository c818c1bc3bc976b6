/**
 * kubethreads Raft: a pure Raft state machine in the shape of etcd-io/raft.
 *
 * Drive a node with `tick()` (logical time), `step(message)` (from peers) and the
 * application's requests (`propose`, `proposeConfChange`, `readIndex`,
 * `transferLeadership`). After each input, while `hasReady()`, take `ready()`,
 * persist its hard state / entries / snapshot, THEN send its messages, apply its
 * committed entries, answer its read states, and call `advance()`. See docs/raft.md.
 *
 * The library does no I/O, reads no clock and draws randomness only from
 * `config.random`.
 */
export { RaftNode, type Ready, type NodeStatus, type BootstrapOptions, type RestartOptions, type StartOptions } from './raw-node.js';
export {
  type RaftConfig,
  type RaftTestingKnobs,
  type RaftRole,
  type SoftState,
  type ProposalResult,
  type RequestResult,
  type ForgetLeaderResult,
  encodeConfChange,
  decodeConfChange,
  encodeConfChangeV2,
  decodeConfChangeV2,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_ENTRIES_PER_MSG,
  DEFAULT_MAX_SIZE_PER_MSG_BYTES,
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES,
  DEFAULT_MAX_UNCOMMITTED_ENTRIES,
  DEFAULT_CLOCK_DRIFT_BOUND,
} from './raft.js';
export type { ReadState, ReadOnlyOption } from './read-only.js';
export type { Message, MessageType } from './protocol.js';
export { RaftInvariantError } from './assert.js';
export * from './types.js';
export { applyChange, type MembershipConfig, type ChangeResult } from './confchange.js';
