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
import type { ConfState, NodeId } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * A bounded FIFO of the appends in flight to one follower: the last index
 * each carried and its payload bytes. Full at `capacity` appends or at
 * `bytesMax` bytes (as etcd, one append may take it past the byte bound: an
 * entry larger than the bound still goes, alone).
 */
export class Inflights {
  private indexes: number[] = [];
  private sizes: number[] = [];
  private totalBytes = 0;
  constructor(readonly capacity: number, readonly bytesMax: number = Number.POSITIVE_INFINITY) {
    invariant(capacity > 0, 'inflight capacity must be positive');
    invariant(bytesMax > 0, 'inflight byte bound must be positive');
  }
  add(index: number, bytes = 0): void {
    invariant(!this.full(), 'inflights overflow: the caller must check full() first');
    invariant(bytes >= 0, 'inflight bytes cannot be negative');
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.totalBytes += bytes;
  }
  /** The follower acknowledged up to `index`: everything at or below it is delivered. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= index) n++;
    this.free(n);
  }
  freeFirstOne(): void {
    this.free(Math.min(1, this.indexes.length));
  }
  private free(n: number): void {
    if (n === 0) return;
    for (let i = 0; i < n; i++) this.totalBytes -= this.sizes[i]!;
    this.indexes = this.indexes.slice(n);
    this.sizes = this.sizes.slice(n);
    invariant(this.totalBytes >= 0, 'inflight bytes went negative');
  }
  full(): boolean {
    return this.indexes.length >= this.capacity || this.totalBytes >= this.bytesMax;
  }
  count(): number {
    return this.indexes.length;
  }
  /** Payload bytes in flight. */
  bytes(): number {
    return this.totalBytes;
  }
  reset(): void {
    this.indexes = [];
    this.sizes = [];
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

export type VoteResult = 'won' | 'lost' | 'pending';

/** Membership plus per-member progress and votes. Single-server changes only: no joint consensus. */
export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflightMsgs: number, readonly maxInflightBytes: number = Number.POSITIVE_INFINITY) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** Replace membership (from a snapshot or at start). Progress of kept members is reset by the caller. */
  setConf(cs: ConfState, nextIndex: number): void {
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners);
    for (const id of cs.learners) invariant(!this.voters.has(id), `node ${id} is both voter and learner`);
    this.progress = new Map();
    for (const id of [...cs.voters, ...cs.learners]) this.progress.set(id, new Progress(nextIndex, this.maxInflightMsgs, this.learners.has(id), this.maxInflightBytes));
  }

  /** The largest index replicated on a quorum of voters (by their match). */
  committed(): number {
    if (this.voters.size === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1]!;
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  voteResult(): VoteResult {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    if (granted >= q) return 'won';
    if (rejected > this.voters.size - q) return 'lost';
    return 'pending';
  }

  /** Check-quorum: has a quorum of voters (counting `self`) been heard from recently? */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive) active++;
    }
    return active >= this.quorum();
  }
}
