/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's
 * `leaderelection` package does it, with its parameters:
 *
 * - leaseDuration: how long a candidate waits, from the moment it last saw
 *   the lease record change, before it may take the lease over (15 s);
 * - renewDeadline: how long a leader keeps acting without a successful
 *   renewal (10 s);
 * - retryPeriod: the pause between attempts (2 s; candidates add up to
 *   1.2x jitter as client-go's JitterUntil does).
 *
 * Safety: the leader stamps renewTime before it sends a renewal and stops
 * acting `renewDeadline` after the stamp of its last successful one. Any
 * other candidate saw that record no earlier than the stamp and waits
 * `leaseDuration` from then, so as long as leaseDuration > renewDeadline the
 * old leader has stopped before anyone else can start; the difference
 * (5 s by default) is the margin for clocks that run at different rates.
 * A leader that cannot reach the API server at all stops by a local timer:
 * no reply is needed to step down. `isLeader()` also checks the deadline
 * itself, so a caller that guards each write with it is safe even if the
 * timer message is delayed.
 */
import type { Lease } from '../api/types/index.js';
import type { Clock } from './clock.js';
import { isConflict, isNotFound } from './list-watch.js';

/** get / create / update of Leases; update is compare-and-swap on metadata.resourceVersion (409 on mismatch). */
export interface LeaseClient {
  /** null when the lease does not exist. */
  get(namespace: string, name: string): Promise<Lease | null>;
  create(lease: Lease): Promise<Lease>;
  update(lease: Lease): Promise<Lease>;
}

export interface LeaderElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** Kubernetes' defaults for kube-scheduler and kube-controller-manager. */
export const LEADER_ELECTION_DEFAULTS: Readonly<LeaderElectionTimings> = Object.freeze({
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

/**
 * The bound on one lease request: kube-controller-manager and kube-scheduler
 * build their leader-election client with resourcelock.NewFromKubeconfig,
 * which sets the HTTP timeout to renewDeadline / 2 (5 s by default). client-go
 * floors it at 1 s; here it scales with the time profile instead, so a fast
 * profile's partitioned candidate is not held longer than its timings say.
 */
export function leaseRequestTimeoutMs(t: LeaderElectionTimings): number {
  return t.renewDeadlineMs / 2;
}

/** client-go's JitterFactor: candidates wait retryPeriod * (1 + random * 1.2) between attempts so they do not collide. */
export const LEADER_ELECTION_JITTER_FACTOR = 1.2;

/** The defaults scaled by a time profile's factor (1 = realistic; the `fast` profile uses less). */
export function scaledLeaderElectionTimings(factor: number): LeaderElectionTimings {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new Error(`time profile factor must be a positive number, got ${factor}`);
  return {
    leaseDurationMs: LEADER_ELECTION_DEFAULTS.leaseDurationMs * factor,
    renewDeadlineMs: LEADER_ELECTION_DEFAULTS.renewDeadlineMs * factor,
    retryPeriodMs: LEADER_ELECTION_DEFAULTS.retryPeriodMs * factor,
  };
}

/** The checks client-go's NewLeaderElector makes; each one is needed for the safety argument above. */
export function validateLeaderElectionTimings(t: LeaderElectionTimings): void {
  if (!(t.retryPeriodMs > 0)) throw new Error(`retryPeriod must be positive, got ${t.retryPeriodMs} ms`);
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) {
    throw new Error(`leaseDuration (${t.leaseDurationMs} ms) must be greater than renewDeadline (${t.renewDeadlineMs} ms): a leader must stop before others may take over`);
  }
  if (!(t.renewDeadlineMs > LEADER_ELECTION_JITTER_FACTOR * t.retryPeriodMs)) {
    throw new Error(`renewDeadline (${t.renewDeadlineMs} ms) must be greater than ${LEADER_ELECTION_JITTER_FACTOR} x retryPeriod (${t.retryPeriodMs} ms)`);
  }
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Called once per leadership term, when this candidate stops acting as leader. */
  onStoppedLeading(): void;
  /** The observed holder changed (including to this candidate). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions extends Partial<LeaderElectionTimings> {
  namespace: string;
  name: string;
  identity: string;
  client: LeaseClient;
  clock: Clock;
  callbacks: LeaderCallbacks;
  /**
   * Test only: skip the timing validation, to show that the no-overlap test
   * catches an unsafe configuration. Never set it in a component.
   */
  unsafeSkipValidation?: boolean;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function formatMicroTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, -1)}000Z`;
}

export type ElectorState = 'stopped' | 'candidate' | 'leader';

export interface ElectorStats {
  attempts: number;
  /** Attempts in which a lease request timed out (see leaseRequestTimeoutMs). */
  attemptTimeouts: number;
  conflicts: number;
  acquisitions: number;
  renewals: number;
  terms: number;
}

type AttemptResult = 'acquired' | 'renewed' | 'held-by-other' | 'failed';

export class LeaderElector {
  readonly timings: LeaderElectionTimings;
  private state: ElectorState = 'stopped';
  /** Local time before which this replica may act as leader; 0 when not leading. */
  private leadingUntilMs = 0;
  /** The lease record last seen and when it was first seen in that form (client-go's observedRecord / observedTime). */
  private observedRecordKey = '';
  private observedAtMs = 0;
  private observedHolder = '';
  /** The lease as this replica last read or wrote it: a leader renews it without reading it again. */
  private lastLease: Lease | undefined;
  private attemptSeq = 0;
  private requestSeq = 0;
  /** Set when a request of the current attempt hit its timeout (counted once per attempt in stats.attemptTimeouts). */
  private requestTimedOut = false;
  /** Each lease request's bound (leaseRequestTimeoutMs: renewDeadline / 2). */
  readonly requestTimeoutMs: number;
  readonly stats: ElectorStats = { attempts: 0, attemptTimeouts: 0, conflicts: 0, acquisitions: 0, renewals: 0, terms: 0 };

  constructor(private readonly options: LeaderElectorOptions) {
    this.timings = {
      leaseDurationMs: options.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
    };
    if (options.unsafeSkipValidation !== true) validateLeaderElectionTimings(this.timings);
    this.requestTimeoutMs = leaseRequestTimeoutMs(this.timings);
    if (options.identity === '') throw new Error('LeaderElector: identity must not be empty');
    options.clock.metrics?.leaderElection(options.name, () => this.isLeader());
  }

  get identity(): string {
    return this.options.identity;
  }

  /** True only while this replica may act: leading and within renewDeadline of its last successful renewal. */
  isLeader(): boolean {
    return this.state === 'leader' && this.options.clock.now() < this.leadingUntilMs;
  }

  /** The holder this replica last observed in the lease ('' when none). */
  get leader(): string {
    return this.observedHolder;
  }

  get currentState(): ElectorState {
    return this.state;
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'candidate';
    this.scheduleAttempt(0);
  }

  /** Stop campaigning; a leader steps down at once and, unless `release` is false, clears the lease so a standby need not wait. */
  async stop(release = true): Promise<void> {
    const wasLeader = this.state === 'leader';
    this.stepDown();
    this.state = 'stopped';
    this.attemptSeq++;
    this.options.clock.cancelTimer(this.timerKey('attempt'));
    if (!wasLeader || !release) return;
    try {
      const lease = await this.options.client.get(this.options.namespace, this.options.name);
      if (lease === null || lease.spec?.holderIdentity !== this.options.identity) return;
      const now = this.options.clock.now();
      await this.options.client.update({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: formatMicroTime(now), acquireTime: formatMicroTime(now) } });
    } catch {
      // Best effort, as client-go's release: the lease expires on its own otherwise.
    }
  }

  /** A method, not an inline comparison: the state changes across awaits, which the compiler's narrowing does not see. */
  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private timerKey(what: string): string {
    return `leader-election/${this.options.namespace}/${this.options.name}/${this.options.identity}/${what}`;
  }

  /**
   * One lease request, failed if it takes longer than requestTimeoutMs, as
   * client-go's HTTP timeout does. The bound is per request, not per attempt:
   * an attempt is a GET and an UPDATE, and bounding both together by the
   * retry period (as this code once did) meant that under an API server
   * answering in 1–2 s no attempt could ever finish, so after a leader lost
   * its lease nobody took it for minutes (a 5,000-node density burst stalled
   * so, 2026-12-07). Safety never rests on this bound: a leader acts only
   * until renewDeadline after the stamp of its last successful renewal.
   */
  private bounded<T>(request: Promise<T>): Promise<T> {
    const key = this.timerKey(`request/${++this.requestSeq}`);
    return new Promise<T>((resolve, reject) => {
      this.options.clock.timer(key, this.requestTimeoutMs, () => {
        this.requestTimedOut = true;
        reject(new Error(`lease request timed out after ${this.requestTimeoutMs} ms`));
      });
      request.then(
        (value) => {
          this.options.clock.cancelTimer(key);
          resolve(value);
        },
        (error: unknown) => {
          this.options.clock.cancelTimer(key);
          reject(error);
        },
      );
    });
  }

  private scheduleAttempt(delayMs: number): void {
    this.options.clock.timer(this.timerKey('attempt'), delayMs, () => void this.attempt());
  }

  private nextDelayMs(): number {
    const retry = this.timings.retryPeriodMs;
    // A leader renews on the period; candidates jitter so that two standbys do not collide every time.
    return this.state === 'leader' ? retry : retry * (1 + this.options.clock.random() * LEADER_ELECTION_JITTER_FACTOR);
  }

  private async attempt(): Promise<void> {
    if (this.state === 'stopped') return;
    const seq = ++this.attemptSeq;
    this.stats.attempts++;
    const stampMs = this.options.clock.now();
    this.requestTimedOut = false;
    const result = await this.tryAcquireOrRenew(stampMs).catch((): AttemptResult => 'failed');
    if (seq !== this.attemptSeq || this.isStopped()) return;
    if (this.requestTimedOut) this.stats.attemptTimeouts++;
    if (result === 'acquired' || result === 'renewed') this.onSuccess(result, stampMs);
    else if (this.state === 'leader' && result === 'held-by-other') this.stepDown();
    if (!this.isStopped()) this.scheduleAttempt(this.nextDelayMs());
  }

  private onSuccess(result: 'acquired' | 'renewed', stampMs: number): void {
    const untilMs = stampMs + this.timings.renewDeadlineMs;
    if (untilMs <= this.options.clock.now()) return; // the success came too late to act on
    if (this.state !== 'leader') {
      this.state = 'leader';
      this.stats.terms++;
      this.leadingUntilMs = untilMs;
      this.armDeadline();
      this.options.callbacks.onStartedLeading();
      return;
    }
    if (result === 'renewed') this.stats.renewals++;
    this.leadingUntilMs = Math.max(this.leadingUntilMs, untilMs);
    this.armDeadline();
  }

  private armDeadline(): void {
    const delayMs = Math.max(0, this.leadingUntilMs - this.options.clock.now());
    this.options.clock.timer(this.timerKey('deadline'), delayMs, () => {
      if (this.state === 'leader' && this.options.clock.now() >= this.leadingUntilMs) this.stepDown();
    });
  }

  private stepDown(): void {
    this.options.clock.cancelTimer(this.timerKey('deadline'));
    if (this.state !== 'leader') return;
    this.state = 'candidate';
    this.leadingUntilMs = 0;
    this.options.callbacks.onStoppedLeading();
  }

  private observe(lease: Lease | null): void {
    this.lastLease = lease ?? undefined;
    const spec = lease?.spec ?? {};
    const recordKey = JSON.stringify([spec.holderIdentity ?? '', spec.renewTime ?? '', spec.acquireTime ?? '', spec.leaseTransitions ?? 0, lease?.metadata.resourceVersion ?? '']);
    if (recordKey !== this.observedRecordKey) {
      this.observedRecordKey = recordKey;
      this.observedAtMs = this.options.clock.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== '') this.options.callbacks.onNewLeader?.(holder);
    }
  }

  /**
   * client-go's fast path: a leader whose lease is still valid writes its
   * renewal over the lease it last saw, with no GET first. A conflict (someone
   * else wrote it) or any other failure falls back to reading the lease.
   */
  private async renewOptimistically(stamp: string, leaseDurationSeconds: number): Promise<AttemptResult | undefined> {
    const last = this.lastLease;
    if (this.state !== 'leader' || last === undefined || last.spec?.holderIdentity !== this.options.identity) return undefined;
    if (this.options.clock.now() >= this.observedAtMs + this.timings.leaseDurationMs) return undefined;
    try {
      const written = await this.bounded(this.options.client.update({ ...last, spec: { ...last.spec, leaseDurationSeconds, renewTime: stamp } }));
      this.observe(written);
      return 'renewed';
    } catch {
      return undefined;
    }
  }

  private async tryAcquireOrRenew(stampMs: number): Promise<AttemptResult> {
    const { client, namespace, name, identity } = this.options;
    const leaseDurationSeconds = Math.max(1, Math.ceil(this.timings.leaseDurationMs / 1000));
    const stamp = formatMicroTime(stampMs);
    const renewed = await this.renewOptimistically(stamp, leaseDurationSeconds);
    if (renewed !== undefined) return renewed;
    const existing = await this.bounded(client.get(namespace, name));
    if (existing === null) {
      try {
        const created = await this.bounded(client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { namespace, name },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
        }));
        this.observe(created);
        this.stats.acquisitions++;
        return 'acquired';
      } catch (error) {
        if (isConflict(error)) this.stats.conflicts++;
        return 'failed';
      }
    }
    this.observe(existing);
    const spec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const iHold = holder === identity;
    // Expiry is judged on our own clock from when we saw the record change, never from the timestamps in it (clocks differ).
    const expired = this.options.clock.now() >= this.observedAtMs + this.timings.leaseDurationMs;
    if (holder !== '' && !iHold && !expired) return 'held-by-other';
    const transitions = spec.leaseTransitions ?? 0;
    const updated: Lease = {
      ...existing,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: stamp,
        acquireTime: iHold ? spec.acquireTime ?? stamp : stamp,
        leaseTransitions: iHold ? transitions : transitions + 1,
      },
    };
    try {
      const written = await this.bounded(client.update(updated));
      this.observe(written);
      if (!iHold) this.stats.acquisitions++;
      return iHold ? 'renewed' : 'acquired';
    } catch (error) {
      if (isConflict(error)) {
        this.stats.conflicts++;
        return 'held-by-other';
      }
      if (isNotFound(error)) return 'failed';
      return 'failed';
    }
  }
}
