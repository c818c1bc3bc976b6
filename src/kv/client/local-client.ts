/**
 * A `KvClient` over one in-process MVCC store: no consensus, no transport.
 * For unit tests of code written against `KvClient` (the API server's
 * registry, controllers' tests) and for embedding a single-replica store.
 * Semantics are the replicated store's, minus failures: every call is
 * linearizable because there is one copy. Watch events are delivered
 * asynchronously (a microtask after the write), as they would be over a
 * transport, so callers cannot come to rely on synchronous delivery.
 */
import { isError } from '../mvcc/errors.js';
import { LeaseClock } from '../mvcc/lease-clock.js';
import { MvccStore } from '../mvcc/store.js';
import { WatchHub } from '../mvcc/watch-hub.js';
import type { ApplyRequest, ApplyResponse, ErrorResponse, LeaseKeepAliveResponse, LeaseTimeToLiveResponse, WatchResponse } from '../protocol.js';
import {
  KvClosedError,
  KvError,
  type CallOptions,
  type CompactOptions,
  type DeleteOptions,
  type KvClient,
  type KvWatch,
  type PutOptions,
  type RangeOptions,
  type TxnSpec,
  type WatchHandlers,
  type WatchOptions,
} from './types.js';

export interface LocalKvClientOptions {
  /** Milliseconds; leases expire against it. Pass the actor context's `now`. */
  now(): number;
  /** Start from this store (for example one restored from a snapshot). */
  store?: MvccStore;
}

type Narrow<R extends ApplyResponse['type']> = Extract<ApplyResponse, { type: R }>;

export class LocalKvClient implements KvClient {
  readonly store: MvccStore;
  private readonly hub: WatchHub;
  private readonly leases: LeaseClock;
  private readonly watches = new Map<number, { handlers: WatchHandlers; handle: { nextRevision: number } }>();
  private pumpScheduled = false;
  private closed = false;

  constructor(private readonly options: LocalKvClientOptions) {
    this.store = options.store ?? new MvccStore();
    this.hub = new WatchHub(this.store);
    this.leases = new LeaseClock(this.store);
    this.leases.promote(options.now());
  }

  range(key: string, o: RangeOptions = {}) {
    return this.call('range', {
      type: 'range', key, rangeEnd: o.rangeEnd, limit: o.limit, revision: o.revision, countOnly: o.countOnly, keysOnly: o.keysOnly,
    });
  }

  put(key: string, value: string, o: PutOptions = {}) {
    return this.call('put', { type: 'put', key, value, lease: o.lease, prevKv: o.prevKv });
  }

  deleteRange(key: string, o: DeleteOptions = {}) {
    return this.call('deleteRange', { type: 'deleteRange', key, rangeEnd: o.rangeEnd, prevKv: o.prevKv });
  }

  txn(spec: TxnSpec, _o?: CallOptions) {
    return this.call('txn', { type: 'txn', compare: spec.compare, success: spec.success, failure: spec.failure });
  }

  /** `physical` changes nothing here: the local store compacts in the call (not in steps). */
  compact(revision: number, _o?: CompactOptions) {
    return this.call('compact', { type: 'compact', revision });
  }

  leaseGrant(ttlSeconds: number, o: CallOptions & { id?: number } = {}) {
    return this.call('leaseGrant', { type: 'leaseGrant', id: o.id ?? 0, ttlSeconds });
  }

  leaseRevoke(id: number, _o?: CallOptions) {
    return this.call('leaseRevoke', { type: 'leaseRevoke', id });
  }

  async leaseKeepAlive(id: number, _o?: CallOptions): Promise<LeaseKeepAliveResponse> {
    this.expireLeases();
    const ttlSeconds = this.leases.keepAlive(id, this.options.now());
    if (ttlSeconds === undefined) throw new KvError(leaseNotFound());
    return { type: 'leaseKeepAlive', header: { revision: this.store.revision }, id, ttlSeconds };
  }

  async leaseTimeToLive(id: number, o: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    this.expireLeases();
    const lease = this.store.lease(id);
    const remaining = this.leases.remainingSeconds(id, this.options.now());
    if (lease === undefined || remaining === undefined) throw new KvError(leaseNotFound());
    return {
      type: 'leaseTimeToLive', header: { revision: this.store.revision }, id, ttlSeconds: remaining, grantedTtlSeconds: lease.ttlSeconds,
      keys: o.keys === true ? [...lease.keys].sort() : [],
    };
  }

  watch(key: string, o: WatchOptions, handlers: WatchHandlers): KvWatch {
    if (this.closed) throw new KvClosedError();
    const created = this.hub.create({
      type: 'watchCreate', key, rangeEnd: o.rangeEnd, startRevision: o.startRevision, prevKv: o.prevKv, progressNotify: o.progressNotify, filters: o.filters,
    });
    const handle = { nextRevision: o.startRevision && o.startRevision > 0 ? o.startRevision : this.store.revision + 1 };
    if (isError(created)) {
      void Promise.resolve().then(() => handlers.onEnd?.(new KvError(created)));
      return { nextRevision: handle.nextRevision, cancel: () => undefined };
    }
    const watchId = created.watchId;
    this.watches.set(watchId, { handlers, handle });
    this.schedulePump();
    const watches = this.watches;
    const hub = this.hub;
    return {
      get nextRevision() {
        return handle.nextRevision;
      },
      cancel() {
        if (watches.delete(watchId)) hub.cancel(watchId);
      },
    };
  }

  /** Sends a progress notification to every synced watch that asked for them. */
  requestProgress(): void {
    this.deliver(this.hub.progress(true));
  }

  /** Revokes leases whose time is up; runs before every call. */
  expireLeases(): void {
    for (const id of this.leases.expired(this.options.now())) this.store.apply({ type: 'leaseRevoke', id });
    this.schedulePump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [watchId, { handlers }] of this.watches) {
      this.hub.cancel(watchId);
      handlers.onEnd?.(undefined);
    }
    this.watches.clear();
  }

  private async call<T extends ApplyRequest['type']>(type: T, request: Extract<ApplyRequest, { type: T }>): Promise<Narrow<T>> {
    if (this.closed) throw new KvClosedError();
    this.expireLeases();
    const response: ApplyResponse | ErrorResponse = this.store.apply(request);
    if (isError(response)) throw new KvError(response);
    if (type === 'leaseGrant') this.leases.keepAlive((response as Narrow<'leaseGrant'>).id, this.options.now());
    this.schedulePump();
    return response as Narrow<T>;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.watches.size === 0) return;
    this.pumpScheduled = true;
    void Promise.resolve().then(() => {
      this.pumpScheduled = false;
      // Pump until every watcher is synced: a lagging watcher gets its history in bounded batches.
      // (A batch filtered down to nothing answers no response, so emptiness alone does not mean synced.)
      for (;;) {
        const responses = this.hub.pump();
        this.deliver(responses);
        if (responses.length === 0 && [...this.watches.keys()].every((id) => this.hub.isSynced(id))) break;
      }
    });
  }

  private deliver(responses: WatchResponse[]): void {
    for (const response of responses) {
      const watch = this.watches.get(response.watchId);
      if (watch === undefined) continue;
      if (response.canceled) {
        this.watches.delete(response.watchId);
        watch.handlers.onEnd?.(new KvError({
          type: 'error', code: 'compacted', message: response.cancelReason ?? 'watch canceled', grpcCode: 'OutOfRange', compactRevision: response.compactRevision,
        }));
        continue;
      }
      if (response.events.length > 0) {
        watch.handle.nextRevision = response.events[response.events.length - 1]!.kv.modRevision + 1;
        watch.handlers.onEvents(response.events, response.header.revision);
      } else {
        watch.handle.nextRevision = Math.max(watch.handle.nextRevision, response.header.revision + 1);
        watch.handlers.onProgress?.(response.header.revision);
      }
    }
  }
}

function leaseNotFound(): ErrorResponse {
  return { type: 'error', code: 'leaseNotFound', message: 'etcdserver: requested lease not found', grpcCode: 'NotFound' };
}
