/**
 * client-go's work queue (util/workqueue): a FIFO of keys with the
 * dirty / processing sets that give its two guarantees —
 *
 * - an item added many times before a worker takes it is processed once;
 * - an item is never processed by two workers at once: added while being
 *   processed, it is queued again only when the worker calls `done`.
 *
 * On top, the delaying queue (`addAfter`) and the rate-limited queue
 * (`addRateLimited` / `forget` / `numRequeues`) with client-go's default
 * controller rate limiter: the larger of a per-item exponential backoff
 * (5 ms doubling to 1000 s) and an overall token bucket (10 qps, burst 100).
 */
import type { Clock } from './clock.js';
import type { WorkQueueMetrics } from './metrics.js';

export interface RateLimiter<T> {
  /** How long to wait before the item may be processed again; counts a failure. */
  when(item: T): number;
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** Per-item exponential backoff: baseDelay * 2^failures, capped. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();

  constructor(readonly baseDelayMs = 5, readonly maxDelayMs = 1_000_000) {
    if (!(baseDelayMs > 0) || !(maxDelayMs >= baseDelayMs)) throw new Error(`bad backoff: base ${baseDelayMs} ms, max ${maxDelayMs} ms`);
  }

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity long after the cap; Math.min keeps it finite.
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/** An overall token bucket: `qps` tokens a second, at most `burst` saved up. Delays, never refuses. */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly clock: Clock, readonly qps = 10, readonly burst = 100) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`bad bucket: qps ${qps}, burst ${burst}`);
    this.tokens = burst;
    this.lastMs = clock.now();
  }

  when(_item: T): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) / 1000) * this.qps);
    this.lastMs = now;
    this.tokens -= 1; // reserve even when it goes negative: the wait pays the debt, as golang.org/x/time/rate does
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];
  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }
  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }
  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }
  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** client-go's DefaultControllerRateLimiter. */
export function defaultControllerRateLimiter<T>(clock: Clock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(new ItemExponentialFailureRateLimiter<T>(5, 1_000_000), new BucketRateLimiter<T>(clock, 10, 100));
}

export interface WorkQueueOptions<T> {
  name: string;
  clock: Clock;
  rateLimiter?: RateLimiter<T>;
  /** Where this queue's workqueue_* series go; default: the clock's component metrics, if it has them. */
  metrics?: WorkQueueMetrics;
}

export interface WorkQueueStats {
  adds: number;
  /** Adds that found the item already queued (dirty) and were absorbed. */
  deduplicated: number;
  retries: number;
}

/**
 * Keys are compared with `===` (use strings: `namespace/name`). The queue
 * holds at most one entry per distinct key, so its length is bounded by the
 * number of objects the controller watches; no separate limit is needed.
 */
export class RateLimitingQueue<T> {
  private readonly queue: T[] = [];
  private queueHead = 0;
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  /** Delayed items and when each becomes ready; an item keeps its earliest time. */
  private readonly waiting = new Map<T, number>();
  private readonly getters: ((item: T | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly rateLimiter: RateLimiter<T>;
  readonly stats: WorkQueueStats = { adds: 0, deduplicated: 0, retries: 0 };
  private readonly metrics: WorkQueueMetrics | undefined;

  constructor(private readonly options: WorkQueueOptions<T>) {
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<T>(options.clock);
    this.metrics = options.metrics ?? options.clock.metrics?.workqueue(options.name, () => this.length);
  }

  /** Items queued and not yet taken by a worker. */
  get length(): number {
    return this.queue.length - this.queueHead;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(item: T): void {
    if (this.shuttingDown) return;
    this.stats.adds++;
    if (this.dirty.has(item)) {
      this.stats.deduplicated++;
      return;
    }
    this.metrics?.added(item, this.options.clock.now());
    this.dirty.add(item);
    // Being processed: it goes back in the queue when the worker is done, not before.
    if (this.processing.has(item)) return;
    this.push(item);
  }

  /** Take the next item, waiting for one; undefined once the queue shuts down. Call `done(item)` when finished. */
  get(): Promise<T | undefined> {
    const item = this.tryGet();
    if (item !== undefined || this.shuttingDown) return Promise.resolve(item);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Take the next item if there is one, without waiting. */
  tryGet(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.queue[this.queueHead]!;
    this.queueHead++;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.take(item);
    return item;
  }

  done(item: T): void {
    if (!this.processing.delete(item)) throw new Error(`workqueue ${this.options.name}: done(${String(item)}) for an item that is not being processed`);
    this.metrics?.finished(item, this.options.clock.now());
    if (this.dirty.has(item)) this.push(item);
  }

  addAfter(item: T, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const readyAtMs = this.options.clock.now() + delayMs;
    const current = this.waiting.get(item);
    if (current !== undefined && current <= readyAtMs) return;
    this.waiting.set(item, readyAtMs);
    this.armWaitingTimer();
  }

  addRateLimited(item: T): void {
    this.stats.retries++;
    this.metrics?.retried();
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** The item succeeded: reset its backoff. */
  forget(item: T): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item);
  }

  /** No new items; waiting getters receive undefined; workers finish what they hold. */
  shutDown(): void {
    this.shuttingDown = true;
    this.waiting.clear();
    this.options.clock.cancelTimer(this.timerKey());
    for (const getter of this.getters.splice(0)) getter(undefined);
  }

  private push(item: T): void {
    const getter = this.getters.shift();
    if (getter !== undefined) {
      this.take(item);
      getter(item);
      return;
    }
    this.queue.push(item);
  }

  private take(item: T): void {
    if (this.processing.has(item)) throw new Error(`workqueue ${this.options.name}: invariant broken, ${String(item)} handed out while being processed`);
    this.processing.add(item);
    this.dirty.delete(item);
    this.metrics?.taken(item, this.options.clock.now());
  }

  private timerKey(): string {
    return `workqueue/${this.options.name}/waiting`;
  }

  private armWaitingTimer(): void {
    let earliest = Infinity;
    for (const at of this.waiting.values()) earliest = Math.min(earliest, at);
    if (earliest === Infinity) {
      this.options.clock.cancelTimer(this.timerKey());
      return;
    }
    this.options.clock.timer(this.timerKey(), Math.max(0, earliest - this.options.clock.now()), () => this.releaseReady());
  }

  private releaseReady(): void {
    const now = this.options.clock.now();
    const ready = [...this.waiting].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [item] of ready) {
      this.waiting.delete(item);
      this.add(item);
    }
    this.armWaitingTimer();
  }
}
