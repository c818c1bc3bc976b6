/**
 * What the leader knows about each follower, and the flow control that follows from it.
 *
 * - probe: we do not know where the follower's log matches; send one append at a
 *   time and wait for the answer (or the next heartbeat response) before the next.
 * - replicate: the follower is keeping up; stream appends optimistically, at most
 *   `maxInflightMsgs` unacknowledged at once, and (etcd-io/raft's MaxInflightBytes)
 *   at most `maxInflightBytes` of entry payload: a slow follower then holds one
 *   window's bytes in the leader's memory and the network, not a window of messages of any size.
 * - snapshot: the follower needs a snapshot; send nothing else until it reports in.
 */
import { invariant } from './assert.js';
import { configFromConfState, confStateFromConfig, isJoint, members, type MembershipConfig } from './confchange.js';
import { jointValue, jointVoteResult, type JointVoters, type VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * A bounded FIFO of the appends in flight to one follower: the last index
 * each carried and its payload bytes. Full at `capacity` appends or at
 * `bytesMax` bytes (as etcd, one append may take it past the byte bound: an
 * entry larger than the bound still goes, alone).
 */
export class Inflights {
  /** A ring of `held` slots from `start` (grown by doubling up to `capacity`): freeing moves `start`, never the items. */
  private indexes: number[] = [];
  private sizes: number[] = [];
  private start = 0;
  private held = 0;
  private totalBytes = 0;
  constructor(readonly capacity: number, readonly bytesMax: number = Number.POSITIVE_INFINITY) {
    invariant(capacity > 0, 'inflight capacity must be positive');
    invariant(bytesMax > 0, 'inflight byte bound must be positive');
  }
  add(index: number, bytes = 0): void {
    invariant(!this.full(), 'inflights overflow: the caller must check full() first');
    invariant(bytes >= 0, 'inflight bytes cannot be negative');
    if (this.held === this.indexes.length) this.grow();
    let slot = this.start + this.held;
    if (slot >= this.indexes.length) slot -= this.indexes.length;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.held++;
    this.totalBytes += bytes;
  }
  /** The follower acknowledged up to `index`: everything at or below it is delivered. */
  freeLE(index: number): void {
    const size = this.indexes.length;
    let n = 0;
    let slot = this.start;
    while (n < this.held && this.indexes[slot]! <= index) {
      n++;
      if (++slot === size) slot = 0;
    }
    this.free(n);
  }
  freeFirstOne(): void {
    this.free(Math.min(1, this.held));
  }
  // A ring, as etcd's: a leader frees on every append answer, and cutting arrays there (slices, or
  // shortening them in place) was a share of its time and garbage.
  private free(n: number): void {
    if (n === 0) return;
    const size = this.indexes.length;
    let slot = this.start;
    for (let i = 0; i < n; i++) {
      this.totalBytes -= this.sizes[slot]!;
      if (++slot === size) slot = 0;
    }
    this.held -= n;
    this.start = this.held === 0 ? 0 : slot;
    invariant(this.totalBytes >= 0, 'inflight bytes went negative');
  }
  /** Room for more: double the ring (at most to `capacity`), its items moved to the front in order. */
  private grow(): void {
    const size = this.indexes.length;
    const grown = Math.min(this.capacity, Math.max(4, size * 2));
    const indexes = new Array<number>(grown);
    const sizes = new Array<number>(grown);
    for (let i = 0, slot = this.start; i < this.held; i++) {
      indexes[i] = this.indexes[slot]!;
      sizes[i] = this.sizes[slot]!;
      if (++slot === size) slot = 0;
    }
    this.indexes = indexes;
    this.sizes = sizes;
    this.start = 0;
  }
  full(): boolean {
    return this.held >= this.capacity || this.totalBytes >= this.bytesMax;
  }
  count(): number {
    return this.held;
  }
  /** Payload bytes in flight. */
  bytes(): number {
    return this.totalBytes;
  }
  reset(): void {
    this.indexes = [];
    this.sizes = [];
    this.start = 0;
    this.held = 0;
    this.totalBytes = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Ticks spent in snapshot state; a lost snapshot is retried after an election timeout. */
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: an append is out and we wait for its answer. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, public isLearner: boolean, maxInflightBytes: number = Number.POSITIVE_INFINITY) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise right after what is known to match.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A successful append response up to `index`. Returns false for a stale one. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** In replicate state we assume an append will succeed and move `next` past it. */
  optimisticUpdate(lastIndex: number): void {
    this.next = lastIndex + 1;
  }

  /**
   * A rejected append of `rejected`; `matchHint` is where the logs may agree.
   * Returns false when the rejection is stale (an answer to an older append).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Record that an append carrying `count` entries up to `lastIndex` (or none), `bytes` of payload, was sent. */
  sentEntries(count: number, lastIndex: number, bytes = 0): void {
    if (this.state === 'replicate' && count > 0) {
      this.optimisticUpdate(lastIndex);
      this.inflights.add(lastIndex, bytes);
    } else if (this.state === 'probe' && count > 0) {
      this.probeSent = true;
    }
  }
}

export type { VoteResult } from './quorum.js';

/**
 * Membership (possibly joint) plus per-member progress and votes. Every decision
 * (commit index, election, check-quorum, the read lease, ReadIndex acks) goes through
 * `jointValue` / `jointVoteResult`, so in C_old,new it needs both majorities.
 */
export class ProgressTracker {
  private cfg: MembershipConfig = configFromConfState({ voters: [], learners: [] });
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  /**
   * `incomingOnly` is a planted bug (the jointQuorumIncomingOnly testing knob): joint
   * decisions count the incoming voters only, as if the configuration were not joint.
   */
  constructor(readonly maxInflightMsgs: number, readonly maxInflightBytes: number = Number.POSITIVE_INFINITY, private readonly incomingOnly = false) {}

  /** The incoming voters (all voters outside a joint configuration). */
  get voters(): ReadonlySet<NodeId> {
    return this.cfg.voters;
  }

  get votersOutgoing(): ReadonlySet<NodeId> {
    return this.cfg.votersOutgoing;
  }

  get learners(): ReadonlySet<NodeId> {
    return this.cfg.learners;
  }

  get config(): MembershipConfig {
    return this.cfg;
  }

  isJoint(): boolean {
    return isJoint(this.cfg);
  }

  /** Leave the joint configuration by itself once it is applied. */
  autoLeave(): boolean {
    return this.cfg.autoLeave;
  }

  confState(): ConfState {
    return confStateFromConfig(this.cfg);
  }

  /** A voter of either half: it campaigns and its votes and acks count. */
  isVoter(id: NodeId): boolean {
    return this.cfg.voters.has(id) || this.cfg.votersOutgoing.has(id);
  }

  /** Voters of both halves, sorted: whom a candidate asks. */
  allVoters(): NodeId[] {
    return [...new Set([...this.cfg.voters, ...this.cfg.votersOutgoing])].sort((a, b) => a - b);
  }

  /** The configuration is exactly one voter, `id`: it decides alone. */
  isSoleVoter(id: NodeId): boolean {
    return !this.isJoint() && this.cfg.voters.size === 1 && this.cfg.voters.has(id);
  }

  private halves(): JointVoters {
    return { incoming: this.cfg.voters, outgoing: this.incomingOnly ? new Set<NodeId>() : this.cfg.votersOutgoing };
  }

  /** Replace membership (from a snapshot or at start); every member starts a fresh progress at `nextIndex`. */
  setConf(cs: ConfState, nextIndex: number): void {
    const cfg = configFromConfState(cs);
    for (const id of cfg.learners) invariant(!cfg.voters.has(id) && !cfg.votersOutgoing.has(id), `node ${id} is both voter and learner`);
    this.cfg = cfg;
    this.progress = new Map();
    for (const id of members(cfg)) this.progress.set(id, new Progress(nextIndex, this.maxInflightMsgs, cfg.learners.has(id), this.maxInflightBytes));
  }

  /**
   * Switch to `cfg` after a change: kept members keep their progress, new ones start at
   * `nextIndex` (counted active for one check-quorum round: they were only just heard of),
   * and members of neither half nor learners are dropped.
   */
  switchTo(cfg: MembershipConfig, nextIndex: number): void {
    this.cfg = cfg;
    const all = members(cfg);
    for (const id of [...this.progress.keys()]) if (!all.has(id)) this.progress.delete(id);
    for (const id of all) {
      const pr = this.progress.get(id);
      if (pr) pr.isLearner = cfg.learners.has(id);
      else {
        const fresh = new Progress(nextIndex, this.maxInflightMsgs, cfg.learners.has(id), this.maxInflightBytes);
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      }
    }
  }

  /** The largest index replicated on a majority of each half (by their match). */
  committed(): number {
    if (this.cfg.voters.size === 0) return 0;
    return jointValue(this.halves(), (id) => this.progress.get(id)?.match ?? 0);
  }

  /** The largest of `valueOf` that a majority of each half has reached (e.g. heartbeat stamps for the read lease). */
  quorumValue(valueOf: (id: NodeId) => number): number {
    return jointValue(this.halves(), valueOf);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  voteResult(): VoteResult {
    return jointVoteResult(this.halves(), this.votes);
  }

  /** Whether the nodes in `acks` make a quorum of both halves. */
  hasQuorum(acks: Iterable<NodeId>): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    for (const id of this.allVoters()) if (!votes.has(id)) votes.set(id, false);
    return jointVoteResult(this.halves(), votes) === 'won';
  }

  /** Check-quorum: has a quorum of each half (counting `self`) been heard from recently? */
  quorumActive(self: NodeId): boolean {
    const active: NodeId[] = [];
    for (const [id, pr] of this.progress) if (id === self || pr.recentActive) active.push(id);
    return this.hasQuorum(active);
  }
}
