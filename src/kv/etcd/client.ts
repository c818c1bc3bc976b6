/**
 * A `KvClient` over a real etcd v3 cluster, through the `etcd3` npm client
 * (gRPC). The API server, the chaos workloads and library users run on it
 * unchanged: keys and values are the same strings, revisions are etcd's,
 * errors are mapped to the same `KvError` codes (a compacted revision is
 * `compacted` with its `compactRevision` where etcd says it), transport
 * trouble to `KvRequestError` (indeterminate for writes: etcd may have
 * applied them).
 *
 * Watches are multiplexed on one gRPC watch stream that this client owns
 * (not etcd3's watch manager): it must resume every watch from its next
 * revision on another member when the stream breaks, end a watch with
 * `compacted` when etcd cancels it for that, and send etcd's
 * WatchProgressRequest. That request's answer is trusted only from etcd
 * versions where it is ordered after every pending event (3.4.31+, 3.5.13+,
 * 3.6+, as Kubernetes requires for consistent reads from its watch cache);
 * on older versions `supportsProgressRequests` is false and the API server
 * reads consistent lists from etcd instead, as kube-apiserver does.
 *
 * I/O edge: threaded runtime only (the simulated runtime cannot replay a real
 * etcd). Timers and time come from the injected clock.
 */
import { Etcd3, type IDuplexStream, type IEvent, type IKeyValue, type IOptions, type IRequestOp, type IResponseOp, type IWatchRequest, type IWatchResponse, type ICompare } from 'etcd3';
import type { Compare, DeleteRangeResponse, Event, KeyValue, KvErrorCode, PutResponse, RangeResponse, RequestOp, ResponseOp, TxnResponse, CompactionResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, ErrorResponse } from '../protocol.js';
import { KvRequestError } from '../client/replicated-client.js';
export { parseEtcdEndpoints } from './endpoints.js';
import { KvClosedError, KvError, type CallOptions, type CompactOptions, type DeleteOptions, type KvClient, type KvWatch, type PutOptions, type RangeOptions, type TxnSpec, type WatchHandlers, type WatchOptions } from '../client/types.js';

export interface EtcdKvClientOptions {
  /** Client URLs of the members (`http://127.0.0.1:2379`, ...). */
  endpoints: string[];
  /** Per-call deadline (default 5 s, the replicated client's). */
  requestTimeoutMs?: number;
  /**
   * Try a failed call again on another member until its deadline (default true): a read after any transport
   * error, a write only when it never left (no connection to that member), as etcd's Go client does.
   * False for histories that must record each attempt as it went.
   */
  retry?: boolean;
  /** Time for deadlines and reconnect backoff: the actor context's (threaded runtime: wall-clock ms). */
  clock: { now(): number; sleep(ms: number): Promise<void> };
}

export const ETCD_REQUEST_TIMEOUT_MS_DEFAULT = 5_000;
/** Backoff between attempts to open a new watch stream: first, and the cap (a member restarts in about a second). */
const WATCH_RECONNECT_MS_MIN = 50;
const WATCH_RECONNECT_MS_MAX = 1_000;
/**
 * gRPC keepalive: how a stream to a paused (SIGSTOP) or cut-off member is noticed. etcd refuses pings more often
 * than every 5 s (its --grpc-keepalive-min-time) and closes the connection of a client that sends them.
 */
const KEEPALIVE_TIME_MS = 5_000;
const KEEPALIVE_TIMEOUT_MS = 2_000;
/** How long `connect` keeps trying members at least (a member may be restarting). */
const CONNECT_TIMEOUT_MS_MIN = 10_000;
/** Backoff between attempts of one call on other members. */
const RETRY_BACKOFF_MS_MIN = 20;
const RETRY_BACKOFF_MS_MAX = 500;

/** The call never reached a member (no connection): even a write can be sent again. */
function neverSent(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /No connection established|ECONNREFUSED|circuit breaker is open/.test(message);
}

/** Lease ids the client picks itself, tried in turn when etcd says one is taken. */
const LEASE_ID_ATTEMPTS_MAX = 5;
/** The first etcd versions whose WatchProgressRequest answer never overtakes pending events (etcd#15220). */
const PROGRESS_FIXED_VERSIONS: ReadonlyArray<readonly [number, number, number]> = [[3, 4, 31], [3, 5, 13], [3, 6, 0]];

/** Whether an etcd server version answers WatchProgressRequest in order with its events. */
export function progressRequestsSafe(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major > 3 || (major === 3 && minor > 6)) return true;
  const fixed = PROGRESS_FIXED_VERSIONS.find(([a, b]) => a === major && b === minor);
  return fixed !== undefined && patch >= fixed[2];
}

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A cockatiel policy that calls through once: no retry, no circuit breaker (etcd3 only uses `execute`). */
const PASS_THROUGH = {
  execute: <T>(fn: (context: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as FaultPolicy;

const ETCD_ERRORS: ReadonlyArray<{ pattern: RegExp; code: KvErrorCode; grpcCode: ErrorResponse['grpcCode'] }> = [
  { pattern: /required revision has been compacted/, code: 'compacted', grpcCode: 'OutOfRange' },
  { pattern: /required revision is a future revision/, code: 'futureRevision', grpcCode: 'OutOfRange' },
  { pattern: /requested lease not found/, code: 'leaseNotFound', grpcCode: 'NotFound' },
  { pattern: /lease already exists/, code: 'leaseExists', grpcCode: 'FailedPrecondition' },
  { pattern: /too large lease TTL/, code: 'leaseTtlTooLarge', grpcCode: 'OutOfRange' },
  { pattern: /too many operations in txn request/, code: 'tooManyOps', grpcCode: 'InvalidArgument' },
  { pattern: /duplicate key given in txn request/, code: 'duplicateKey', grpcCode: 'InvalidArgument' },
  { pattern: /request is too large/, code: 'requestTooLarge', grpcCode: 'InvalidArgument' },
  { pattern: /key is not provided/, code: 'emptyKey', grpcCode: 'InvalidArgument' },
];

/** etcd's error as our `KvError`, or transport trouble as a `KvRequestError` (indeterminate when a write may have applied). */
export function mapEtcdError(error: unknown, mutating: boolean): Error {
  if (error instanceof KvError || error instanceof KvRequestError || error instanceof KvClosedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  for (const known of ETCD_ERRORS) {
    if (known.pattern.test(message)) return new KvError({ type: 'error', code: known.code, message: `etcdserver: ${message.replace(/^.*etcdserver: /, '')}`, grpcCode: known.grpcCode });
  }
  const name = error instanceof Error ? error.constructor.name : '';
  const deadline = name === 'GRPCDeadlineExceededError' || /deadline exceeded/i.test(message);
  return new KvRequestError(`etcd: ${message}`, mutating, deadline);
}

const toBuffer = (s: string): Buffer => Buffer.from(s, 'utf8');
const rangeEndBuffer = (rangeEnd: string | undefined): Buffer | undefined => (rangeEnd === undefined || rangeEnd === '' ? undefined : rangeEnd === '\0' ? Buffer.from([0]) : toBuffer(rangeEnd));

function fromKv(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision),
    version: Number(kv.version), lease: Number(kv.lease),
  };
}

function fromEvent(e: IEvent): Event {
  const kv = fromKv(e.kv);
  return { type: e.type === 'Delete' ? 'delete' : 'put', kv, ...(e.prev_kv ? { prevKv: fromKv(e.prev_kv) } : {}) };
}

const COMPARE_TARGET = { value: 'Value', version: 'Version', createRevision: 'Create', modRevision: 'Mod', lease: 'Lease' } as const;
const COMPARE_RESULT = { equal: 'Equal', notEqual: 'NotEqual', greater: 'Greater', less: 'Less' } as const;

function toCompare(c: Compare): ICompare {
  const base: ICompare = { key: toBuffer(c.key), range_end: rangeEndBuffer(c.rangeEnd), target: COMPARE_TARGET[c.target], result: COMPARE_RESULT[c.result] };
  switch (c.target) {
    case 'value':
      return { ...base, value: toBuffer(c.value) };
    case 'version':
      return { ...base, version: c.value };
    case 'createRevision':
      return { ...base, create_revision: c.value };
    case 'modRevision':
      return { ...base, mod_revision: c.value };
    case 'lease':
      return { ...base, lease: c.value };
  }
}

function toRequestOp(op: RequestOp): IRequestOp {
  switch (op.type) {
    case 'range':
      return {
        request_range: {
          key: toBuffer(op.key), range_end: rangeEndBuffer(op.rangeEnd), limit: op.limit ?? 0, revision: op.revision ?? 0,
          count_only: op.countOnly === true, keys_only: op.keysOnly === true, serializable: op.serializable === true,
        },
      };
    case 'put':
      return { request_put: { key: toBuffer(op.key), value: toBuffer(op.value), lease: op.lease ?? 0, prev_kv: op.prevKv === true } };
    case 'deleteRange':
      return { request_delete_range: { key: toBuffer(op.key), range_end: rangeEndBuffer(op.rangeEnd), prev_kv: op.prevKv === true } };
    case 'txn':
      return { request_txn: { compare: op.compare.map(toCompare), success: op.success.map(toRequestOp), failure: op.failure.map(toRequestOp) } };
  }
}

function fromResponseOp(r: IResponseOp): ResponseOp {
  if (r.response_range) return { type: 'range', header: { revision: Number(r.response_range.header.revision) }, kvs: (r.response_range.kvs ?? []).map(fromKv), more: r.response_range.more, count: Number(r.response_range.count) };
  if (r.response_put) return { type: 'put', header: { revision: Number(r.response_put.header.revision) }, ...(r.response_put.prev_kv ? { prevKv: fromKv(r.response_put.prev_kv) } : {}) };
  if (r.response_delete_range) {
    const d = r.response_delete_range;
    return { type: 'deleteRange', header: { revision: Number(d.header.revision) }, deleted: Number(d.deleted), prevKvs: (d.prev_kvs ?? []).map(fromKv) };
  }
  const t = r.response_txn;
  return { type: 'txn', header: { revision: Number(t.header.revision) }, succeeded: t.succeeded, responses: (t.responses ?? []).map(fromResponseOp) };
}

interface EtcdWatchState {
  readonly key: string;
  readonly options: WatchOptions;
  readonly handlers: WatchHandlers;
  nextRevision: number;
  /** etcd's id on the current stream; undefined until its `created` answer. */
  serverId: string | undefined;
  ended: boolean;
}

export class EtcdKvClient implements KvClient {
  readonly supportsProgressRequests: boolean;
  /** The server version the client found at connect. */
  readonly serverVersion: string;
  private readonly etcd: Etcd3;
  private readonly timeoutMs: number;
  private closed = false;
  private readonly watches = new Set<EtcdWatchState>();
  /** Watches whose create request went out on the current stream, in order: etcd answers creates in order. */
  private pendingCreates: EtcdWatchState[] = [];
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private opening: Promise<void> | undefined;
  private reconnectMs = WATCH_RECONNECT_MS_MIN;
  private leaseCounter = 0;

  private constructor(private readonly options: EtcdKvClientOptions, etcd: Etcd3, version: string) {
    this.etcd = etcd;
    this.timeoutMs = options.requestTimeoutMs ?? ETCD_REQUEST_TIMEOUT_MS_DEFAULT;
    this.serverVersion = version;
    this.supportsProgressRequests = progressRequestsSafe(version);
  }

  /** Connects and asks a member for the server version (which decides whether progress requests are trusted). */
  static async connect(options: EtcdKvClientOptions): Promise<EtcdKvClient> {
    if (options.endpoints.length === 0) throw new Error('an etcd client needs at least one endpoint');
    // etcd3's own policies retry writes that may have applied and open a 5 s circuit breaker per member after a
    // few failures (every member fails while there is no leader); the client retries itself, by etcd's rules.
    const etcd = new Etcd3({
      hosts: options.endpoints,
      grpcOptions: { 'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS, 'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS, 'grpc.keepalive_permit_without_calls': 1 },
      faultHandling: { global: PASS_THROUGH, host: () => PASS_THROUGH },
    });
    // Any member will do: each attempt goes to one picked at random, until one answers or the time is up.
    const deadlineMs = options.clock.now() + Math.max(options.requestTimeoutMs ?? ETCD_REQUEST_TIMEOUT_MS_DEFAULT, CONNECT_TIMEOUT_MS_MIN);
    let backoffMs = RETRY_BACKOFF_MS_MIN;
    for (;;) {
      try {
        const { version } = await etcd.maintenance.status({ deadline: deadlineMs });
        return new EtcdKvClient(options, etcd, version);
      } catch (error) {
        if (options.clock.now() + backoffMs >= deadlineMs) {
          etcd.close();
          throw new Error(`no etcd member answered at ${options.endpoints.join(', ')}: ${error instanceof Error ? error.message : String(error)}`);
        }
        await options.clock.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, RETRY_BACKOFF_MS_MAX);
      }
    }
  }

  /** Runs a call; on transport trouble tries again (another member: the pool picks one at random) while it is safe and time is left. */
  private async call<T>(mutating: boolean, o: CallOptions | undefined, run: (deadline: { deadline: number }) => Promise<T>): Promise<T> {
    if (this.closed) throw new KvClosedError();
    const deadlineMs = this.options.clock.now() + (o?.timeoutMs ?? this.timeoutMs);
    let backoffMs = RETRY_BACKOFF_MS_MIN;
    for (;;) {
      try {
        // Every attempt shares the call's one deadline.
        return await run({ deadline: deadlineMs });
      } catch (error) {
        const mapped = mapEtcdError(error, mutating && !neverSent(error));
        const retry = this.options.retry !== false && mapped instanceof KvRequestError && !mapped.indeterminate && !this.closed;
        if (!retry || this.options.clock.now() + backoffMs >= deadlineMs) throw mapped;
        await this.options.clock.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, RETRY_BACKOFF_MS_MAX);
      }
    }
  }

  range(key: string, o: RangeOptions = {}): Promise<RangeResponse> {
    return this.call(false, o, async (d) => {
      const r = await this.etcd.kv.range(
        {
          key: toBuffer(key), range_end: rangeEndBuffer(o.rangeEnd), limit: o.limit ?? 0, revision: o.revision ?? 0,
          count_only: o.countOnly === true, keys_only: o.keysOnly === true, serializable: o.serializable === true,
        },
        d,
      );
      return { type: 'range', header: { revision: Number(r.header.revision) }, kvs: (r.kvs ?? []).map(fromKv), more: r.more, count: Number(r.count) };
    });
  }

  put(key: string, value: string, o: PutOptions = {}): Promise<PutResponse> {
    return this.call(true, o, async (d) => {
      const r = await this.etcd.kv.put({ key: toBuffer(key), value: toBuffer(value), lease: o.lease ?? 0, prev_kv: o.prevKv === true }, d);
      return { type: 'put', header: { revision: Number(r.header.revision) }, ...(r.prev_kv ? { prevKv: fromKv(r.prev_kv) } : {}) };
    });
  }

  deleteRange(key: string, o: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    return this.call(true, o, async (d) => {
      const r = await this.etcd.kv.deleteRange({ key: toBuffer(key), range_end: rangeEndBuffer(o.rangeEnd), prev_kv: o.prevKv === true }, d);
      return { type: 'deleteRange', header: { revision: Number(r.header.revision) }, deleted: Number(r.deleted), prevKvs: (r.prev_kvs ?? []).map(fromKv) };
    });
  }

  txn(spec: TxnSpec, o?: CallOptions): Promise<TxnResponse> {
    // A txn of reads only changes nothing: its failure is not indeterminate.
    const mutating = [...spec.success, ...spec.failure].some((op) => op.type !== 'range');
    return this.call(mutating, o, async (d) => {
      const r = await this.etcd.kv.txn({ compare: spec.compare.map(toCompare), success: spec.success.map(toRequestOp), failure: spec.failure.map(toRequestOp) }, d);
      return { type: 'txn', header: { revision: Number(r.header.revision) }, succeeded: r.succeeded, responses: (r.responses ?? []).map(fromResponseOp) };
    });
  }

  compact(revision: number, o?: CompactOptions): Promise<CompactionResponse> {
    return this.call(true, o, async (d) => {
      const r = await this.etcd.kv.compact({ revision, ...(o?.physical === true ? { physical: true } : {}) }, d);
      return { type: 'compact', header: { revision: Number(r.header.revision) } };
    });
  }

  /**
   * etcd picks 64-bit lease ids, past what a JS number holds exactly; unless the caller names one, the client
   * picks a safe integer itself (time and a counter) and tries the next one when etcd says it is taken.
   */
  leaseGrant(ttlSeconds: number, o: CallOptions & { id?: number } = {}): Promise<LeaseGrantResponse> {
    return this.call(true, o, async (d) => {
      for (let attempt = 0; ; attempt++) {
        const id = o.id ?? this.nextLeaseId();
        try {
          const r = await this.etcd.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id }, d);
          if (r.error) throw new Error(`etcdserver: ${r.error}`);
          return { type: 'leaseGrant', header: { revision: Number(r.header.revision) }, id, ttlSeconds: Number(r.TTL) };
        } catch (error) {
          const mapped = mapEtcdError(error, true);
          if (o.id !== undefined || !(mapped instanceof KvError && mapped.code === 'leaseExists') || attempt >= LEASE_ID_ATTEMPTS_MAX) throw mapped;
        }
      }
    });
  }

  private nextLeaseId(): number {
    this.leaseCounter = (this.leaseCounter + 1) % 1_000;
    return (Math.floor(this.options.clock.now()) * 1_000 + this.leaseCounter) % Number.MAX_SAFE_INTEGER || 1;
  }

  leaseRevoke(id: number, o?: CallOptions): Promise<LeaseRevokeResponse> {
    return this.call(true, o, async (d) => {
      const r = await this.etcd.leaseClient.leaseRevoke({ ID: id }, d);
      return { type: 'leaseRevoke', header: { revision: Number(r.header.revision) } };
    });
  }

  /** One keep-alive over etcd's stream, then the stream is closed. etcd answers TTL 0 for a lease it does not know. */
  leaseKeepAlive(id: number, o?: CallOptions): Promise<LeaseKeepAliveResponse> {
    return this.call(false, o, async (d) => {
      const stream = await this.etcd.leaseClient.leaseKeepAlive(d);
      try {
        const response = await new Promise<{ header: { revision: string }; ID: string; TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.on('end', () => reject(new Error('the lease keep-alive stream ended without an answer')));
          stream.write({ ID: id });
        });
        if (Number(response.TTL) <= 0) throw new Error('etcdserver: requested lease not found');
        return { type: 'leaseKeepAlive', header: { revision: Number(response.header.revision) }, id: Number(response.ID), ttlSeconds: Number(response.TTL) };
      } finally {
        stream.cancel();
      }
    });
  }

  leaseTimeToLive(id: number, o: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    return this.call(false, o, async (d) => {
      const r = await this.etcd.leaseClient.leaseTimeToLive({ ID: id, keys: o.keys === true }, d);
      if (Number(r.TTL) < 0) throw new Error('etcdserver: requested lease not found');
      return {
        type: 'leaseTimeToLive', header: { revision: Number(r.header.revision) }, id: Number(r.ID), ttlSeconds: Number(r.TTL), grantedTtlSeconds: Number(r.grantedTTL),
        keys: (r.keys ?? []).map((k) => k.toString('utf8')),
      };
    });
  }

  watch(key: string, options: WatchOptions, handlers: WatchHandlers): KvWatch {
    if (this.closed) throw new KvClosedError();
    const state: EtcdWatchState = { key, options, handlers, nextRevision: options.startRevision ?? 0, serverId: undefined, ended: false };
    this.watches.add(state);
    if (this.stream !== undefined) this.sendCreate(state);
    else this.openStream();
    return {
      get nextRevision() {
        return state.nextRevision;
      },
      cancel: () => this.cancelWatch(state),
    };
  }

  requestProgress(): void {
    // Old servers may answer ahead of pending events; their answer would let a cache claim revisions it lacks.
    if (!this.supportsProgressRequests || this.stream === undefined) return;
    this.stream.write({ progress_request: {} });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) w.ended = true;
    this.watches.clear();
    this.pendingCreates = [];
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.etcd.close();
  }

  private cancelWatch(state: EtcdWatchState): void {
    if (state.ended) return;
    state.ended = true;
    this.watches.delete(state);
    if (state.serverId !== undefined && this.stream !== undefined) this.stream.write({ cancel_request: { watch_id: state.serverId } });
  }

  private end(state: EtcdWatchState, error: KvError | undefined): void {
    if (state.ended) return;
    state.ended = true;
    this.watches.delete(state);
    state.handlers.onEnd?.(error);
  }

  private sendCreate(state: EtcdWatchState): void {
    const o = state.options;
    state.serverId = undefined;
    this.pendingCreates.push(state);
    this.stream!.write({
      create_request: {
        key: toBuffer(state.key), range_end: rangeEndBuffer(o.rangeEnd), start_revision: state.nextRevision, prev_kv: o.prevKv === true,
        progress_notify: o.progressNotify === true && this.supportsProgressRequests,
        filters: (o.filters ?? []).map((f) => (f === 'noPut' ? 'Noput' : 'Nodelete')),
      },
    });
  }

  /** Opens the shared watch stream (once at a time) and (re)creates every watch on it from its next revision. */
  private openStream(): void {
    if (this.opening !== undefined || this.closed) return;
    this.opening = (async () => {
      while (!this.closed && this.watches.size > 0) {
        try {
          const stream = await this.etcd.watchClient.watch();
          if (this.closed) {
            stream.cancel();
            return;
          }
          this.attach(stream);
          return;
        } catch {
          await this.options.clock.sleep(this.reconnectMs);
          this.reconnectMs = Math.min(this.reconnectMs * 2, WATCH_RECONNECT_MS_MAX);
        }
      }
    })().finally(() => {
      this.opening = undefined;
    });
  }

  private attach(stream: IDuplexStream<IWatchRequest, IWatchResponse>): void {
    this.stream = stream;
    this.pendingCreates = [];
    let gone = false;
    const lost = (): void => {
      if (gone) return;
      gone = true;
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.pendingCreates = [];
      for (const w of this.watches) w.serverId = undefined;
      if (this.closed || this.watches.size === 0) return;
      void this.options.clock.sleep(this.reconnectMs).then(() => this.openStream());
      this.reconnectMs = Math.min(this.reconnectMs * 2, WATCH_RECONNECT_MS_MAX);
    };
    stream.on('data', (response) => {
      if (this.stream === stream) this.onResponse(response);
    });
    stream.on('error', lost);
    stream.on('end', lost);
    for (const w of this.watches) this.sendCreate(w);
  }

  private onResponse(r: IWatchResponse): void {
    const revision = Number(r.header?.revision ?? 0);
    if (r.created) {
      const state = this.pendingCreates.shift();
      if (state !== undefined && !state.ended) {
        state.serverId = r.watch_id;
        this.reconnectMs = WATCH_RECONNECT_MS_MIN;
        if (state.nextRevision === 0) state.nextRevision = revision + 1;
      } else if (state !== undefined && this.stream !== undefined) {
        // Canceled before etcd named it: cancel it now that it has a name.
        this.stream.write({ cancel_request: { watch_id: r.watch_id } });
      }
      if (!r.canceled) return;
    }
    // A progress answer to WatchProgressRequest names no watch (-1): every synced watch on the stream has seen all before it.
    if (r.watch_id === '-1' || Number(r.watch_id) === -1) {
      for (const w of this.watches) {
        if (w.serverId === undefined || w.options.progressNotify !== true) continue;
        if (revision + 1 > w.nextRevision) w.nextRevision = revision + 1;
        w.handlers.onProgress?.(revision);
      }
      return;
    }
    const state = [...this.watches].find((w) => w.serverId === r.watch_id);
    if (r.canceled) {
      if (state === undefined) return;
      const compactRevision = Number(r.compact_revision ?? 0);
      if (compactRevision > 0) {
        this.end(state, new KvError({ type: 'error', code: 'compacted', message: 'etcdserver: mvcc: required revision has been compacted', grpcCode: 'OutOfRange', compactRevision }));
        return;
      }
      // etcd canceled it for another reason (a member shutting down): create it again from where it was.
      if (this.stream !== undefined) this.sendCreate(state);
      return;
    }
    if (state === undefined) return;
    const events = (r.events ?? []).map(fromEvent);
    if (events.length === 0) {
      if (state.options.progressNotify === true && this.supportsProgressRequests) {
        if (revision + 1 > state.nextRevision) state.nextRevision = revision + 1;
        state.handlers.onProgress?.(revision);
      }
      return;
    }
    state.nextRevision = events[events.length - 1]!.kv.modRevision + 1;
    state.handlers.onEvents(events, revision);
  }
}
