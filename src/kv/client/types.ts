/**
 * The store client every user of the etcd stand-in shares: the API server,
 * the chaos workloads, the benchmarks and library users. Two implementations:
 * `LocalKvClient` (one in-process MVCC store, no consensus: unit tests and
 * single-replica embedding) and the replicated client that talks to the three
 * etcd replica actors. Code written against `KvClient` runs on either.
 *
 * Store errors (compacted, lease not found, too many ops...) reject with a
 * `KvError` carrying etcd's code; transport trouble rejects with
 * `KvUnavailableError` (no replica answered before the deadline) — the
 * operation may or may not have taken effect.
 */
import type {
  Compare,
  DeleteRangeResponse,
  ErrorResponse,
  Event,
  KvErrorCode,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  RequestOp,
  TxnResponse,
  CompactionResponse,
  WatchFilter,
} from '../protocol.js';

export interface CallOptions {
  /** Give up after this long (default: the client's `requestTimeoutMs`). */
  timeoutMs?: number;
}

export interface CompactOptions extends CallOptions {
  /** As etcd's `physical`: the call returns once the compaction has been carried out on the member that answered. */
  physical?: boolean;
}

export interface RangeOptions extends CallOptions {
  rangeEnd?: string;
  limit?: number;
  revision?: number;
  countOnly?: boolean;
  keysOnly?: boolean;
  /** Read the serving replica's state without a ReadIndex round: fast, possibly stale. */
  serializable?: boolean;
}

export interface PutOptions extends CallOptions {
  lease?: number;
  prevKv?: boolean;
}

export interface DeleteOptions extends CallOptions {
  rangeEnd?: string;
  prevKv?: boolean;
}

export interface TxnSpec {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface WatchOptions {
  rangeEnd?: string;
  /** First revision to deliver; 0 or absent: changes after now. */
  startRevision?: number;
  prevKv?: boolean;
  /** Ask for periodic progress notifications (an empty batch carrying the current revision). */
  progressNotify?: boolean;
  filters?: WatchFilter[];
}

/** What a watch calls back with. Batches arrive in revision order, never split within a revision. */
export interface WatchHandlers {
  /** Events of one or more whole revisions; `revision` is the store's revision when they were sent. */
  onEvents(events: Event[], revision: number): void;
  /** A progress notification: every event up to `revision` has been delivered. */
  onProgress?(revision: number): void;
  /**
   * The watch ended for good: the revisions it still needed were compacted
   * (`error.code === 'compacted'`, with `compactRevision`), or the client closed.
   * A watch never ends because a replica died: the client resumes it elsewhere.
   */
  onEnd?(error: KvError | undefined): void;
}

export interface KvWatch {
  /** The next revision this watch will deliver. */
  readonly nextRevision: number;
  cancel(): void;
}

export interface KvClient {
  range(key: string, options?: RangeOptions): Promise<RangeResponse>;
  put(key: string, value: string, options?: PutOptions): Promise<PutResponse>;
  deleteRange(key: string, options?: DeleteOptions): Promise<DeleteRangeResponse>;
  txn(spec: TxnSpec, options?: CallOptions): Promise<TxnResponse>;
  compact(revision: number, options?: CompactOptions): Promise<CompactionResponse>;
  leaseGrant(ttlSeconds: number, options?: CallOptions & { id?: number }): Promise<LeaseGrantResponse>;
  leaseRevoke(id: number, options?: CallOptions): Promise<LeaseRevokeResponse>;
  leaseKeepAlive(id: number, options?: CallOptions): Promise<LeaseKeepAliveResponse>;
  leaseTimeToLive(id: number, options?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLiveResponse>;
  watch(key: string, options: WatchOptions, handlers: WatchHandlers): KvWatch;
  /**
   * etcd's RequestProgress: every synced watch opened with `progressNotify` gets a progress notification
   * (its revision) soon, without waiting for the periodic one. What Kubernetes' consistent reads from the
   * watch cache use to learn that the cache has caught up.
   */
  requestProgress(): void;
  /**
   * False when `requestProgress` is not answered (an etcd older than 3.4.31 / 3.5.13, whose answer may overtake
   * pending events): consistent reads must then go to the store, as kube-apiserver falls back. Absent: true.
   */
  readonly supportsProgressRequests?: boolean;
  /** Cancels every watch and rejects nothing further; calls after close reject. */
  close(): void;
}

/** A store error, shaped like etcd's. */
export class KvError extends Error {
  readonly code: KvErrorCode;
  readonly grpcCode: ErrorResponse['grpcCode'];
  /** For `compacted`: the revision the store is compacted to. */
  readonly compactRevision: number | undefined;

  constructor(response: ErrorResponse) {
    super(response.message);
    this.name = 'KvError';
    this.code = response.code;
    this.grpcCode = response.grpcCode;
    this.compactRevision = response.compactRevision;
  }
}

/**
 * No replica answered in time; a write may or may not have been applied.
 * `deadlineExceeded` when the call's whole deadline ran out (the API server
 * answers 504 Timeout, as kube-apiserver does when its request context
 * expires), not when one replica was given up on before it.
 */
export class KvUnavailableError extends Error {
  constructor(message: string, readonly deadlineExceeded = false) {
    super(message);
    this.name = 'KvUnavailableError';
  }
}

/** The client was closed. */
export class KvClosedError extends Error {
  constructor() {
    super('the kv client is closed');
    this.name = 'KvClosedError';
  }
}
