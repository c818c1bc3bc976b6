/**
 * Time, timers and randomness for client machinery (informers, work queues,
 * leader election), injected so the same code runs on real time inside an
 * actor and on virtual time in tests. The shape mirrors ActorContext's
 * now/timer/random: timers are keyed, and a timer with the same key replaces
 * the earlier one.
 */
import type { ActorContext } from '../actor/behaviour.js';
import type { Message } from '../actor/protocol.js';
import { Prng } from '../actor/prng.js';
import type { ClientMetrics } from './metrics.js';

export interface Clock {
  /** Milliseconds since the epoch (real or virtual). */
  now(): number;
  /** Call `fire` after `ms`; a pending timer with the same key is replaced. */
  timer(key: string, ms: number, fire: () => void): void;
  cancelTimer(key: string): void;
  /** A float in [0, 1). */
  random(): number;
  /**
   * The component's client-go series, when it exposes them: every queue,
   * elector and API client made with this clock counts itself there, so no
   * caller has to pass metrics along.
   */
  readonly metrics?: ClientMetrics;
}

/** The message an actor receives when a client timer fires; pass it to `ActorClock.fire`. */
export type ClientTimerMsg = Message<'client.timer', { key: string }>;

/**
 * A Clock over an ActorContext. ActorContext timers deliver a message to the
 * actor instead of calling back, so the actor's `receive` must route
 * `client.timer` messages to `fire(key)`.
 */
export class ActorClock implements Clock {
  private readonly callbacks = new Map<string, () => void>();

  constructor(private readonly ctx: Pick<ActorContext, 'now' | 'timer' | 'cancelTimer' | 'random'>, private readonly prefix = 'client/', readonly metrics?: ClientMetrics) {}

  now(): number {
    return this.ctx.now();
  }

  timer(key: string, ms: number, fire: () => void): void {
    const full = this.prefix + key;
    this.callbacks.set(full, fire);
    (this.ctx.timer as (k: string, ms: number, msg: ClientTimerMsg) => void)(full, Math.max(0, ms), { type: 'client.timer', body: { key: full } });
  }

  cancelTimer(key: string): void {
    const full = this.prefix + key;
    this.callbacks.delete(full);
    this.ctx.cancelTimer(full);
  }

  random(): number {
    return this.ctx.random();
  }

  /** Route a `client.timer` message here; returns false for a key this clock does not own (already cancelled). */
  fire(key: string): boolean {
    const callback = this.callbacks.get(key);
    if (callback === undefined) return false;
    this.callbacks.delete(key);
    callback();
    return true;
  }
}

interface PendingTimer {
  key: string;
  atMs: number;
  /** Insertion order: timers due at the same instant fire in the order they were set. */
  seq: number;
  fire: () => void;
}

/**
 * Virtual time for tests. `advance(ms)` fires due timers in time order and,
 * between timers, lets pending promise continuations run, so async code
 * (awaiting a fake API) progresses as it would in real time but
 * deterministically and without sleeping.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new Map<string, PendingTimer>();
  private readonly prng: Prng;

  constructor(startMs = 1_700_000_000_000, seed = 1) {
    this.nowMs = startMs;
    this.prng = new Prng(seed);
  }

  now(): number {
    return this.nowMs;
  }

  timer(key: string, ms: number, fire: () => void): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error(`timer ${key}: delay must be a finite non-negative number of ms, got ${ms}`);
    this.timers.set(key, { key, atMs: this.nowMs + ms, seq: this.seq++, fire });
  }

  cancelTimer(key: string): void {
    this.timers.delete(key);
  }

  /** The runtime's seeded PRNG: deterministic per seed. */
  random(): number {
    return this.prng.next();
  }

  pendingTimerKeys(): string[] {
    return [...this.timers.keys()].sort();
  }

  /** Advance by `ms`, firing due timers in order and settling promises after each. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`advance: ms must be non-negative, got ${ms}`);
    const targetMs = this.nowMs + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(targetMs);
      if (next === undefined) break;
      this.timers.delete(next.key);
      this.nowMs = next.atMs;
      next.fire();
      await settle();
    }
    this.nowMs = targetMs;
    await settle();
  }

  /** Advance in steps of `stepMs`, calling `check` after each step (for invariants that must hold at every instant). */
  async advanceBy(totalMs: number, stepMs: number, check: (nowMs: number) => void): Promise<void> {
    for (let elapsed = 0; elapsed < totalMs; elapsed += stepMs) {
      await this.advance(Math.min(stepMs, totalMs - elapsed));
      check(this.nowMs);
    }
  }

  private nextDue(limitMs: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.atMs > limitMs) continue;
      if (best === undefined || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Let queued promise continuations (several hops deep) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
