/**
 * The client of the replicated store: the three etcd replica actors.
 *
 * - Leader discovery: writes go to the replica believed to lead. Each attempt
 *   tells the replica how long it may wait (`KvRouting.waitMs`): a follower
 *   forwards the request to the leader and relays the answer with the
 *   leader's name (the client goes there directly next), and a replica that
 *   knows no live leader holds it until one is elected. A NotLeader reply
 *   names the leader, or sends the client to the next replica at once; it
 *   backs off only after a whole round of replicas could not help.
 * - Deadlines: every request has one (`timeoutMs`); each attempt gets what
 *   TCP would give it (RFC 6298: smoothed round trip + 4 × its variance over
 *   this client's recent attempts), never less than `attemptTimeoutMs` and
 *   never more than what is left of the deadline (`AttemptTimeout`). When it
 *   passes, the attempt goes on while the replica is heard from (replies,
 *   watch events, progress notifications), as a gRPC keepalive keeps a slow
 *   call: only a silent replica is left, after `attemptTimeoutMs` for an idle
 *   client. A loaded store's latency never turns into failures.
 * - Retries with exponential backoff and jitter, only when safe: reads always;
 *   writes only when the replica proves the write never entered the log
 *   (NotLeader, refused proposal, not delivered). A write whose outcome is
 *   unknown (timeout, leader lost after proposing, replica crashed while
 *   holding it) rejects with `KvUnavailableError` and `indeterminate: true` —
 *   retrying it blindly could apply it twice.
 * - Watches survive the replica serving them: the client remembers the next
 *   revision it owes each watch and resumes from there on another replica when
 *   the stream is canceled for a reason other than compaction, or goes silent
 *   (replicas send progress notifications; silence means death or partition).
 *   Events below the resume point are dropped, so none is delivered twice,
 *   and the resume point starts exactly after the last one delivered, so none
 *   is missed.
 *
 * Everything the client needs from the world — its name for watch events,
 * ask/send, time, sleep, randomness — comes through `KvClientHost`, so it runs
 * inside an actor (deterministically in the simulated runtime). The host
 * actor forwards the messages addressed to the client to `handle()`.
 */
import type { Message } from '../../actor/protocol.js';
import { ActorNotFoundError, ActorUnavailableError, AskTimeoutError } from '../../actor/errors.js';
import { AttemptTimeout } from './attempt-timeout.js';
import type { ActorContext } from '../../actor/behaviour.js';
import type {
  ApplyResponse,
  CompactionResponse,
  DeleteRangeResponse,
  ErrorResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  TxnResponse,
  WatchResponse,
} from '../protocol.js';
import type { ClientReply, ClientRequest, KvRouting, KvWatchMsg, MemberListReply, ReplicaMsg } from '../replica/protocol.js';
import { addRouting, withRouting } from '../replica/routing.js';
import {
  KvClosedError,
  KvError,
  KvUnavailableError,
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

/** What the client needs from its host. */
export interface KvClientHost {
  /** The actor name replicas send watch events to. */
  readonly name: string;
  /** `keepWaiting` as the actor runtime's `AskOptions.keepWaiting`; a host without it gives up at `timeoutMs`. */
  ask<R>(to: string, msg: Message, options: { timeoutMs: number; keepWaiting?: (waitedMs: number) => number }): Promise<R>;
  send(to: string, msg: Message): void;
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export interface ReplicatedKvClientOptions {
  /** The replica actors' names. */
  replicas: string[];
  /** Deadline of a call when the caller gives none. */
  requestTimeoutMs?: number;
  /** Shortest time a single attempt on one replica is given (longer when recent attempts were slow). */
  attemptTimeoutMs?: number;
  /** First retry backoff; doubles per attempt up to `backoffMaxMs`. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A watch silent this long is presumed dead and resumed elsewhere (replicas send progress every second by default). */
  watchSilenceMs?: number;
  /**
   * etcd clientv3's `AutoSyncInterval`: every this many ms, replace the replica list with the
   * cluster's voting members (`sync()`), so members added or removed since the client started are
   * used or dropped. 0 (the default, as in clientv3): never; the client still learns a replica it
   * did not know when one names it as the leader.
   */
  autoSyncIntervalMs?: number;
  /**
   * The replica this client lives beside (a gRPC gateway in that replica's thread): serializable
   * reads go to it first, and the first call starts there. An etcd member answers the serializable
   * reads of the clients connected to it from its own state, stale as that may be, without asking
   * the leader; this is that. When it cannot answer (restarting, silent), they go the usual way.
   */
  localReplica?: string;
}

export const KV_REQUEST_TIMEOUT_MS_DEFAULT = 5_000;
export const KV_ATTEMPT_TIMEOUT_MS_DEFAULT = 1_000;
export const KV_BACKOFF_BASE_MS_DEFAULT = 25;
export const KV_BACKOFF_MAX_MS_DEFAULT = 500;
export const KV_WATCH_SILENCE_MS_DEFAULT = 3_500;
/** Watch messages held for a watch whose create reply has not been processed yet. */
const EARLY_WATCH_MESSAGES_MAX = 10_000;

/**
 * Of an attempt's timeout, how long a replica may hold the request waiting
 * for a leader or the leader's answer to a forward (`KvRouting.waitMs`); the
 * rest is for the reply's way back, so a held request is answered, not timed out.
 */
const LEADER_WAIT_FRACTION = 0.8;

/**
 * Answers that waited for a leader (held, forwarded) measure the election,
 * not the replica: they would teach the attempt timeout an election's length.
 */
function isRoundTripSample(reply: ClientReply): boolean {
  return reply === null || typeof reply !== 'object' || (reply.type !== 'notLeader' && reply.type !== 'unavailable' && reply.type !== 'forwarded');
}

/** A timed-out attempt on a replica seen alive counts as this many times its timeout: RFC 6298's back-off. */
const TIMEOUT_BACKOFF_FACTOR = 2;

/** Thrown by a call that could not complete; `indeterminate` when a write may have been applied. */
export class KvRequestError extends KvUnavailableError {
  constructor(message: string, readonly indeterminate: boolean, deadlineExceeded = false) {
    super(message, deadlineExceeded);
    this.name = 'KvRequestError';
  }
}

interface WatchState {
  readonly id: number;
  readonly key: string;
  readonly options: WatchOptions;
  readonly handlers: WatchHandlers;
  nextRevision: number;
  replica: string | undefined;
  serverWatchId: number | undefined;
  /** The `seq` the next message of the current stream must carry. */
  expectedSeq: number;
  lastHeardMs: number;
  creating: boolean;
  ended: boolean;
  early: KvWatchMsg['body'][];
}

type Narrow<T extends string> = Extract<ApplyResponse | LeaseKeepAliveResponse | LeaseTimeToLiveResponse, { type: T }>;

export class ReplicatedKvClient implements KvClient {
  private readonly replicas: string[];
  private readonly requestTimeoutMs: number;
  private readonly attemptTimeout: AttemptTimeout;
  /** When each replica last answered this client (any attempt): a replica answering others is slow, not silent. */
  private readonly lastAnswerAtMs = new Map<string, number>();
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly watchSilenceMs: number;
  private target: number;
  private readonly localReplica: string | undefined;
  private readonly watches = new Map<number, WatchState>();
  private nextWatchId = 1;
  private watchdogRunning = false;
  private closed = false;

  constructor(private readonly host: KvClientHost, options: ReplicatedKvClientOptions) {
    if (options.replicas.length === 0) throw new Error('a kv client needs at least one replica name');
    this.replicas = [...options.replicas];
    this.requestTimeoutMs = options.requestTimeoutMs ?? KV_REQUEST_TIMEOUT_MS_DEFAULT;
    this.attemptTimeout = new AttemptTimeout(options.attemptTimeoutMs ?? KV_ATTEMPT_TIMEOUT_MS_DEFAULT);
    this.backoffBaseMs = options.backoffBaseMs ?? KV_BACKOFF_BASE_MS_DEFAULT;
    this.backoffMaxMs = options.backoffMaxMs ?? KV_BACKOFF_MAX_MS_DEFAULT;
    this.watchSilenceMs = options.watchSilenceMs ?? KV_WATCH_SILENCE_MS_DEFAULT;
    this.target = Math.floor(host.random() * this.replicas.length);
    this.localReplica = options.localReplica;
    // Drawn above either way: the same seed gives the same later draws with or without a local replica.
    if (options.localReplica !== undefined) this.target = this.indexOfNamed(options.localReplica);
    const autoSyncMs = options.autoSyncIntervalMs ?? 0;
    if (autoSyncMs > 0) void this.autoSync(autoSyncMs);
  }

  /** The replicas this client sends to now (its starting list, as changed by `sync()` and leader hints). */
  get replicaNames(): readonly string[] {
    return this.replicas;
  }

  /**
   * clientv3's `Sync`: ask a replica for the membership and use its voting members from now on
   * (learners serve no client requests, as etcd's client leaves them out). Returns the new list;
   * when no replica answers within `timeoutMs` each, the list is left as it was and returned.
   */
  async sync(timeoutMs = 1_000): Promise<readonly string[]> {
    const asked = [...this.replicas];
    for (let i = 0; i < asked.length && !this.closed; i++) {
      const replica = asked[(this.target + i) % asked.length]!;
      let reply: MemberListReply;
      try {
        reply = await this.host.ask<MemberListReply>(replica, { type: 'memberList', body: null } satisfies ReplicaMsg, { timeoutMs });
      } catch {
        continue;
      }
      const voters = Array.isArray(reply?.members) ? reply.members.filter((m) => !m.isLearner && typeof m.name === 'string' && m.name !== '').map((m) => m.name) : [];
      if (voters.length === 0) continue;
      const current = this.replicas[this.target];
      this.replicas.splice(0, this.replicas.length, ...voters);
      const keep = [current, reply.leader].map((name) => (name === undefined ? -1 : this.replicas.indexOf(name))).find((at) => at >= 0);
      this.target = keep ?? 0;
      return this.replicas;
    }
    return this.replicas;
  }

  private async autoSync(intervalMs: number): Promise<void> {
    while (!this.closed) {
      await this.host.sleep(intervalMs);
      if (!this.closed) await this.sync();
    }
  }

  /** Where `name` is in the list, added at the end if a replica named one this client did not know (a member added later). */
  private indexOfNamed(name: string | undefined): number {
    if (name === undefined || name === '') return -1;
    const at = this.replicas.indexOf(name);
    if (at >= 0) return at;
    this.replicas.push(name);
    return this.replicas.length - 1;
  }

  /** The replica the next write goes to (the believed leader). */
  get leaderHint(): string {
    return this.replicas[this.target]!;
  }

  range(key: string, o: RangeOptions = {}): Promise<RangeResponse> {
    const request: ClientRequest = {
      type: 'range', key, rangeEnd: o.rangeEnd, limit: o.limit, revision: o.revision, countOnly: o.countOnly, keysOnly: o.keysOnly, serializable: o.serializable,
    };
    return this.call('range', request, o, true, o.serializable === true ? this.localReplica : undefined);
  }

  put(key: string, value: string, o: PutOptions = {}): Promise<PutResponse> {
    return this.call('put', { type: 'put', key, value, lease: o.lease, prevKv: o.prevKv }, o, false);
  }

  deleteRange(key: string, o: DeleteOptions = {}): Promise<DeleteRangeResponse> {
    return this.call('deleteRange', { type: 'deleteRange', key, rangeEnd: o.rangeEnd, prevKv: o.prevKv }, o, false);
  }

  txn(spec: TxnSpec, o: CallOptions = {}): Promise<TxnResponse> {
    const readOnly = spec.success.every((op) => op.type === 'range') && spec.failure.every((op) => op.type === 'range');
    return this.call('txn', { type: 'txn', compare: spec.compare, success: spec.success, failure: spec.failure }, o, readOnly);
  }

  compact(revision: number, o: CompactOptions = {}): Promise<CompactionResponse> {
    // Compacting twice to the same revision is harmless (the second is a no-op error we surface): retry-safe.
    return this.call('compact', { type: 'compact', revision, ...(o.physical === true ? { physical: true } : {}) }, o, true);
  }

  leaseGrant(ttlSeconds: number, o: CallOptions & { id?: number } = {}): Promise<LeaseGrantResponse> {
    // With an explicit id a retried grant fails with leaseExists instead of granting twice: retry-safe.
    return this.call('leaseGrant', { type: 'leaseGrant', id: o.id ?? 0, ttlSeconds }, o, (o.id ?? 0) !== 0);
  }

  leaseRevoke(id: number, o: CallOptions = {}): Promise<LeaseRevokeResponse> {
    return this.call('leaseRevoke', { type: 'leaseRevoke', id }, o, true);
  }

  leaseKeepAlive(id: number, o: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
    return this.call('leaseKeepAlive', { type: 'leaseKeepAlive', id }, o, true);
  }

  leaseTimeToLive(id: number, o: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    return this.call('leaseTimeToLive', { type: 'leaseTimeToLive', id, keys: o.keys }, o, true);
  }

  watch(key: string, options: WatchOptions, handlers: WatchHandlers): KvWatch {
    if (this.closed) throw new KvClosedError();
    const state: WatchState = {
      id: this.nextWatchId++, key, options, handlers, nextRevision: options.startRevision ?? 0, replica: undefined, serverWatchId: undefined, expectedSeq: 1,
      lastHeardMs: this.host.now(), creating: false, ended: false, early: [],
    };
    this.watches.set(state.id, state);
    void this.establish(state);
    this.startWatchdog();
    return {
      get nextRevision() {
        return state.nextRevision;
      },
      cancel: () => this.endWatch(state, undefined, false),
    };
  }

  /** Consume a message addressed to the client (watch events); returns false for anything else. */
  handle(msg: Message): boolean {
    if (msg.type !== 'kvWatch') return false;
    const body = (msg as KvWatchMsg).body;
    if (typeof body !== 'object' || body === null || typeof body.clientWatchId !== 'number') return true;
    // Watch events and progress notifications (every second) show the replica alive, however slow its answers.
    if (typeof body.replica === 'string') this.lastAnswerAtMs.set(body.replica, this.host.now());
    const state = this.watches.get(body.clientWatchId);
    if (state === undefined || state.ended) {
      this.cancelStray(body);
      return true;
    }
    if (state.creating) {
      if (state.early.length < EARLY_WATCH_MESSAGES_MAX) state.early.push(body);
      return true;
    }
    this.onWatchMessage(state, body);
    return true;
  }

  requestProgress(): void {
    // One message per replica, naming this client's watches there that asked for progress.
    const byReplica = new Map<string, number[]>();
    for (const state of this.watches.values()) {
      if (state.ended || state.creating || state.replica === undefined || state.serverWatchId === undefined || state.options.progressNotify !== true) continue;
      let ids = byReplica.get(state.replica);
      if (ids === undefined) byReplica.set(state.replica, (ids = []));
      ids.push(state.serverWatchId);
    }
    for (const [replica, watchIds] of byReplica) this.host.send(replica, { type: 'watchProgress', body: { watchIds } } satisfies ReplicaMsg);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of [...this.watches.values()]) this.endWatch(state, undefined, true);
  }

  // ---------------------------------------------------------------- requests

  /** `first`: the replica the first attempt goes to, when not the believed leader (a serializable read's local replica). */
  private async call<T extends string>(type: T, request: ClientRequest, options: CallOptions, retrySafe: boolean, first?: string): Promise<Narrow<T>> {
    if (this.closed) throw new KvClosedError();
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    // One clock read serves the deadline and the first attempt (they are the same instant); later attempts read it again.
    let nowMs = this.host.now();
    const deadline = nowMs + timeoutMs;
    let attempt = 0;
    /** Replicas in a row that could not help and named no leader: only after a whole round of them does the client back off. */
    let misses = 0;
    let sent = 0;
    let lastProblem = 'no attempt made';
    for (;;) {
      if (sent > 0) nowMs = this.host.now();
      const remaining = deadline - nowMs;
      if (remaining <= 0) {
        throw new KvRequestError(`kv ${request.type}: no replica completed it within ${timeoutMs} ms (last problem: ${lastProblem})`, false, true);
      }
      // Only the first attempt goes to `first`: a retry goes the usual way.
      const local = sent === 0 && first !== undefined && first !== this.replicas[this.target];
      const replica = local ? first : this.replicas[this.target]!;
      const attemptMs = this.attemptTimeout.nextMs(remaining);
      const routing: KvRouting = { waitMs: Math.floor(attemptMs * LEADER_WAIT_FRACTION) };
      // The first attempt sends the request this client just made (no copy: see addRouting); a retry sends a fresh
      // body, as an earlier one may still be in flight. Neither is a spread: see routing.ts.
      const body = sent++ === 0 ? addRouting(request, routing) : withRouting(request, routing);
      let reply: ClientReply;
      try {
        reply = await this.attempt<ClientReply>(replica, { type: 'kv', body } satisfies ReplicaMsg, nowMs, remaining, attemptMs);
      } catch (error) {
        this.attemptFailed(replica, nowMs, attemptMs, error);
        const delivered = !(error instanceof ActorNotFoundError) && !(error instanceof ActorUnavailableError && !/crash|kill/.test(error.reason));
        if (!(error instanceof AskTimeoutError || error instanceof ActorUnavailableError || error instanceof ActorNotFoundError)) throw error;
        lastProblem = `${replica}: ${error.message}`;
        // This replica died holding the request or did not answer in time (a restarting replica replays its log
        // before it answers): the next call starts elsewhere, or every write would wait out the attempt timeout here.
        // A local replica's failed read says nothing of the believed leader: the retry goes there.
        if (!local) this.rotate();
        if (delivered && !retrySafe) {
          const deadlineExceeded = error instanceof AskTimeoutError && this.host.now() >= deadline;
          const why = error instanceof AskTimeoutError ? `; attempt timeout from ${this.attemptTimeout.describe()}` : '';
          throw new KvRequestError(`kv ${request.type} to ${replica}: outcome unknown (${error.message}${why})`, true, deadlineExceeded);
        }
        // A replica that knows no leader already held the request for most of the attempt: the next one may know better now.
        if (++misses >= this.replicas.length) await this.backoff(attempt++, deadline);
        continue;
      }
      this.answered(replica, nowMs, remaining, isRoundTripSample(reply));
      if (reply === null || typeof reply !== 'object') throw new Error(`kv ${request.type}: replica ${replica} sent a malformed reply`);
      let relayed = false;
      if (reply.type === 'forwarded') {
        // A follower relayed it to the leader: answer as the leader's, and go there directly from now on.
        const leader = this.indexOfNamed(reply.leader);
        if (leader >= 0) this.target = leader;
        relayed = true;
        reply = reply.reply;
        if (reply === null || typeof reply !== 'object' || reply.type === 'forwarded') throw new Error(`kv ${request.type}: replica ${replica} relayed a malformed reply`);
      }
      switch (reply.type) {
        case 'notLeader': {
          lastProblem = `${replica} is not the leader`;
          const hinted = this.indexOfNamed(reply.leader);
          if (hinted >= 0 && hinted !== this.target) {
            this.target = hinted;
            misses = 0;
          } else {
            this.rotate();
            if (++misses >= this.replicas.length) await this.backoff(attempt++, deadline);
          }
          continue;
        }
        case 'unavailable':
          lastProblem = `${replica}: ${reply.reason}`;
          if (reply.proposed && !retrySafe) throw new KvRequestError(`kv ${request.type} on ${replica}: outcome unknown (${reply.reason})`, true);
          // The leader itself refused (overloaded, leadership moving): try it again after a pause, not another replica.
          if (!relayed && (reply.reason === 'no leader' || reply.leader === undefined) && !local) this.rotate();
          await this.backoff(attempt++, deadline);
          continue;
        case 'error':
          throw new KvError(reply as ErrorResponse);
        default:
          if (reply.type !== type) throw new Error(`kv ${request.type}: replica ${replica} answered ${reply.type}`);
          return reply as Narrow<T>;
      }
    }
  }

  /**
   * Send one attempt, sent at `sentAtMs` and given `timeoutMs` (the adaptive attempt timeout). The caller
   * reports its outcome (`answered`, `attemptFailed`) after awaiting it: no promise chained onto the ask, whose
   * extra promise and hop cost every read (docs/metrics.md, "Reads after the routing fix").
   */
  private attempt<R>(replica: string, msg: ReplicaMsg, sentAtMs: number, remainingMs: number, timeoutMs: number): Promise<R> {
    const deadlineMs = sentAtMs + remainingMs;
    // gRPC's keepalive, not a per-request timeout: when the attempt timeout passes, a replica heard from within it
    // (answers to other calls, watch events, the progress notifications it sends every second) is slow, not gone, and
    // keeps the request up to the call's deadline. Only a silent one (paused, partitioned, its thread stalled) loses it.
    // Giving up on a live replica would turn a loaded store's latency into failed writes of unknown outcome, and their
    // retries into more load: congestion collapse.
    // Not for a call without a deadline (a watch being created): a lost message would then hold it for ever; retrying it
    // after the attempt timeout is safe, and the stray server-side watch it may leave is canceled when it speaks.
    const keepWaiting = (): number => {
      const nowMs = this.host.now();
      if (nowMs >= deadlineMs || !Number.isFinite(deadlineMs)) return 0;
      const heardMs = this.lastAnswerAtMs.get(replica) ?? Number.NEGATIVE_INFINITY;
      return heardMs > nowMs - timeoutMs ? Math.min(timeoutMs, deadlineMs - nowMs) : 0;
    };
    return this.host.ask<R>(replica, msg, { timeoutMs, keepWaiting });
  }

  /** An attempt sent at `sentAtMs` got an answer: the replica is alive, and a round trip that is a `sample` feeds the estimate. */
  private answered(replica: string, sentAtMs: number, remainingMs: number, sample: boolean): void {
    const answeredAtMs = this.host.now();
    this.lastAnswerAtMs.set(replica, answeredAtMs);
    const roundTripMs = answeredAtMs - sentAtMs;
    // An answer cannot come before it was asked for, nor after the deadline it was kept to: outside that, the clock jumped (a skew fault), and it is no sample.
    if (sample && roundTripMs >= 0 && roundTripMs <= remainingMs) this.attemptTimeout.observe(roundTripMs);
  }

  /** An attempt sent at `sentAtMs` with `timeoutMs` failed with `error`. */
  private attemptFailed(replica: string, sentAtMs: number, timeoutMs: number, error: unknown): void {
    // Karn: a timed-out attempt has no round trip. But if the replica answered other attempts meanwhile it is alive and
    // slower than the timeout: count twice the timeout (RFC 6298 §5.5 backs the timer off by doubling it). The timeout
    // itself would not do: with the floor clamping every attempt, samples equal to the floor hold the estimate there.
    // Without a sample, a store that turns slow keeps the estimate at the fast answers that still fit and times out for
    // ever. A silent replica, or any on a client with one call at a time, gives no sample: its failover time does not move.
    if (error instanceof AskTimeoutError && (this.lastAnswerAtMs.get(replica) ?? Number.NEGATIVE_INFINITY) > sentAtMs) {
      this.attemptTimeout.observe(TIMEOUT_BACKOFF_FACTOR * timeoutMs);
    }
  }

  private rotate(): void {
    this.target = (this.target + 1) % this.replicas.length;
  }

  private async backoff(attempt: number, deadline: number): Promise<void> {
    const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(attempt, 20));
    // Full jitter (AWS architecture blog): spreads clients that failed together.
    const ms = Math.min(ceiling * (0.5 + this.host.random() / 2), Math.max(0, deadline - this.host.now()));
    if (ms > 0) await this.host.sleep(ms);
  }

  // ---------------------------------------------------------------- watches

  private async establish(state: WatchState): Promise<void> {
    let attempt = 0;
    while (!state.ended && !this.closed) {
      const replica = this.replicas[(this.target + attempt) % this.replicas.length]!;
      state.creating = true;
      state.early = [];
      let reply: WatchResponse | ErrorResponse | ClientReply;
      // No deadline of its own: a watch keeps trying until it is established or canceled.
      const sentAtMs = this.host.now();
      const attemptMs = this.attemptTimeout.nextMs(Number.POSITIVE_INFINITY);
      try {
        reply = await this.attempt<WatchResponse | ErrorResponse>(
          replica,
          {
            type: 'watchCreate',
            body: {
              key: state.key, rangeEnd: state.options.rangeEnd, startRevision: state.nextRevision, prevKv: state.options.prevKv,
              progressNotify: state.options.progressNotify, filters: state.options.filters, watcher: this.host.name, clientWatchId: state.id,
            },
          } satisfies ReplicaMsg,
          sentAtMs,
          Number.POSITIVE_INFINITY,
          attemptMs,
        );
      } catch (error) {
        this.attemptFailed(replica, sentAtMs, attemptMs, error);
        state.creating = false;
        if (!(error instanceof AskTimeoutError || error instanceof ActorUnavailableError || error instanceof ActorNotFoundError)) throw error;
        await this.host.sleep(Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** Math.min(attempt++, 20)));
        continue;
      }
      this.answered(replica, sentAtMs, Number.POSITIVE_INFINITY, true);
      state.creating = false;
      if (reply.type === 'error') {
        this.endWatch(state, new KvError(reply as ErrorResponse), true);
        return;
      }
      if (reply.type !== 'watch' || state.ended) {
        if (reply.type === 'watch') this.host.send(replica, { type: 'watchCancel', body: { watchId: reply.watchId } } satisfies ReplicaMsg);
        if (state.ended) return;
        attempt++;
        continue;
      }
      if (state.nextRevision === 0) state.nextRevision = reply.header.revision + 1;
      state.replica = replica;
      state.serverWatchId = reply.watchId;
      state.expectedSeq = 1;
      state.lastHeardMs = this.host.now();
      const early = state.early;
      state.early = [];
      for (const body of early) {
        if (state.ended || state.replica === undefined) break;
        this.onWatchMessage(state, body);
      }
      return;
    }
  }

  private onWatchMessage(state: WatchState, body: KvWatchMsg['body']): void {
    const response = body.response;
    if (body.replica !== state.replica || response.watchId !== state.serverWatchId) {
      this.cancelStray(body);
      return;
    }
    if (body.seq !== state.expectedSeq) {
      // A message of this stream was lost or overtaken: what was delivered is exact up to
      // nextRevision, so resume from there rather than deliver around a hole.
      this.resume(state);
      return;
    }
    state.expectedSeq++;
    state.lastHeardMs = this.host.now();
    if (response.canceled) {
      if (response.compactRevision !== undefined) {
        this.endWatch(state, new KvError({
          type: 'error', code: 'compacted', message: response.cancelReason ?? 'etcdserver: mvcc: required revision has been compacted', grpcCode: 'OutOfRange',
          compactRevision: response.compactRevision,
        }), true);
      } else {
        this.resume(state);
      }
      return;
    }
    if (response.events.length > 0) {
      const fresh = response.events.filter((e) => e.kv.modRevision >= state.nextRevision);
      if (fresh.length === 0) return;
      state.nextRevision = fresh[fresh.length - 1]!.kv.modRevision + 1;
      state.handlers.onEvents(fresh, response.header.revision);
      return;
    }
    if (response.header.revision + 1 > state.nextRevision) state.nextRevision = response.header.revision + 1;
    if (state.options.progressNotify === true) state.handlers.onProgress?.(response.header.revision);
  }

  private resume(state: WatchState): void {
    if (state.replica !== undefined && state.serverWatchId !== undefined) {
      this.host.send(state.replica, { type: 'watchCancel', body: { watchId: state.serverWatchId } } satisfies ReplicaMsg);
      // Start the search on another replica: this one just failed us.
      const at = this.replicas.indexOf(state.replica);
      if (at === this.target) this.rotate();
    }
    state.replica = undefined;
    state.serverWatchId = undefined;
    void this.establish(state);
  }

  private endWatch(state: WatchState, error: KvError | undefined, notify: boolean): void {
    if (state.ended) return;
    state.ended = true;
    this.watches.delete(state.id);
    if (state.replica !== undefined && state.serverWatchId !== undefined) {
      this.host.send(state.replica, { type: 'watchCancel', body: { watchId: state.serverWatchId } } satisfies ReplicaMsg);
    }
    if (notify) state.handlers.onEnd?.(error);
  }

  private cancelStray(body: KvWatchMsg['body']): void {
    if (!body.response.canceled && typeof body.replica === 'string') {
      this.host.send(body.replica, { type: 'watchCancel', body: { watchId: body.response.watchId } } satisfies ReplicaMsg);
    }
  }

  /** Resumes watches that went silent: their replica died, paused or was cut off. */
  private startWatchdog(): void {
    if (this.watchdogRunning) return;
    this.watchdogRunning = true;
    void (async () => {
      while (!this.closed && this.watches.size > 0) {
        await this.host.sleep(this.watchSilenceMs / 2);
        const now = this.host.now();
        for (const state of this.watches.values()) {
          if (!state.creating && state.replica !== undefined && now - state.lastHeardMs > this.watchSilenceMs) this.resume(state);
        }
      }
      this.watchdogRunning = false;
    })();
  }
}

/**
 * A `KvClientHost` for a client living inside an actor. The actor must pass
 * every message to `handle` first (it consumes watch events and wake-ups):
 *
 * ```ts
 * const { host, handle } = actorKvClientHost(ctx);
 * const kv = new ReplicatedKvClient(host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
 * // in receive(msg): if (handle(msg) || kv.handle(msg)) return undefined;
 * ```
 */
export function actorKvClientHost(ctx: ActorContext<never>): { host: KvClientHost; handle(msg: Message): boolean } {
  const sleepers = new Map<number, () => void>();
  let nextSleeper = 0;
  const host: KvClientHost = {
    name: ctx.name,
    ask: (to, msg, options) => ctx.ask(to, msg, options),
    send: (to, msg) => ctx.send(to, msg),
    now: () => ctx.now(),
    random: () => ctx.random(),
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const id = nextSleeper++;
        sleepers.set(id, resolve);
        ctx.timer(`kvclient.sleep.${id}`, ms, { type: 'kvClientWake', body: { id } } as never);
      }),
  };
  return {
    host,
    handle(msg: Message): boolean {
      if (msg.type !== 'kvClientWake') return false;
      const id = (msg.body as { id?: unknown } | null)?.id;
      const resolve = typeof id === 'number' ? sleepers.get(id) : undefined;
      if (resolve !== undefined) {
        sleepers.delete(id as number);
        resolve();
      }
      return true;
    },
  };
}
