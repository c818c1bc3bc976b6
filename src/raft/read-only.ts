/**
 * ReadIndex bookkeeping on the leader (Raft thesis §6.4). A read request records the
 * commit index at arrival; it may be answered once a quorum has acknowledged a
 * heartbeat sent after it, which proves no newer leader existed when it arrived.
 * Requests are answered in arrival order: a quorum for a later request confirms the
 * earlier ones as well.
 */
import type { NodeId } from './types.js';

export type ReadOnlyOption = 'safe' | 'leaseBased';

/** Bound on outstanding read requests: each costs memory until a heartbeat round answers it. */
export const READ_INDEX_PENDING_MAX = 4096;

export interface ReadIndexRequest {
  context: string;
  /** Who asked: the leader itself, or the follower that forwarded it. */
  from: NodeId;
  index: number;
  acks: Set<NodeId>;
}

export interface ReadState {
  /** Once the application has applied this index, it may answer the read. */
  index: number;
  context: string;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexRequest>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Returns false when the request is a duplicate context or the queue is full. */
  addRequest(index: number, context: string, from: NodeId): boolean {
    if (this.pending.has(context) || this.queue.length >= READ_INDEX_PENDING_MAX) return false;
    this.pending.set(context, { context, from, index, acks: new Set() });
    this.queue.push(context);
    return true;
  }

  /** Record a heartbeat ack for `context`; returns the acks so far, or undefined if unknown. */
  recvAck(id: NodeId, context: string): Set<NodeId> | undefined {
    const req = this.pending.get(context);
    if (!req) return undefined;
    req.acks.add(id);
    return req.acks;
  }

  /** Pop every request up to and including `context`, in arrival order. */
  advance(context: string): ReadIndexRequest[] {
    const at = this.queue.indexOf(context);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1).map((c) => this.pending.get(c)!);
    this.queue = this.queue.slice(at + 1);
    for (const r of done) this.pending.delete(r.context);
    return done;
  }

  /** The context of the newest pending request: heartbeats carry it. */
  lastPendingContext(): string {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1]! : '';
  }

  pendingCount(): number {
    return this.queue.length;
  }

  reset(): void {
    this.pending = new Map();
    this.queue = [];
  }
}
