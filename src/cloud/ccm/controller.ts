/**
 * The controller loop of sample-controller: a rate-limited work queue of
 * keys and workers that call `sync(key)`. Success forgets the key's backoff;
 * failure requeues it with per-key exponential backoff (the cloud API's
 * outages and throttling end here). Level-triggered: `sync` reads current
 * state and never trusts the event that queued the key.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../client/clock.js';
import { ItemExponentialFailureRateLimiter, RateLimitingQueue, type WorkQueueStats } from '../../client/workqueue.js';

export interface RetryBackoff {
  /** First retry delay after a failed sync; doubles per consecutive failure of the key. */
  baseMs: number;
  maxMs: number;
}

/** The service controller's own: 5 s doubling to 5 min (kube's minRetryDelay / maxRetryDelay). */
export const RETRY_BACKOFF_DEFAULT: Readonly<RetryBackoff> = Object.freeze({ baseMs: 5_000, maxMs: 300_000 });

export interface ControllerStats {
  syncs: number;
  failures: number;
  queue: WorkQueueStats;
}

export class KeyedController {
  private readonly queue: RateLimitingQueue<string>;
  private running = false;
  private readonly statsCounters = { syncs: 0, failures: 0 };
  /** The last error per key, for status and logs (bounded by the number of keys the queue can hold). */
  readonly lastErrors = new Map<string, string>();

  constructor(
    readonly name: string,
    clock: Clock,
    private readonly sync: (key: string) => Promise<void>,
    private readonly log: Logger,
    backoff: RetryBackoff = RETRY_BACKOFF_DEFAULT,
    private readonly workers = 1,
  ) {
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`controller ${name}: workers must be a positive integer, got ${workers}`);
    this.queue = new RateLimitingQueue<string>({ name, clock, rateLimiter: new ItemExponentialFailureRateLimiter<string>(backoff.baseMs, backoff.maxMs) });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let w = 0; w < this.workers; w++) void this.work();
  }

  /** No new work; a sync in progress finishes (its writes are guarded by the caller's leadership check). */
  stop(): void {
    this.running = false;
    this.queue.shutDown();
  }

  get stats(): ControllerStats {
    return { ...this.statsCounters, queue: { ...this.queue.stats } };
  }

  get pending(): number {
    return this.queue.length + this.queue.waitingCount + this.queue.processingCount;
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        this.statsCounters.syncs++;
        await this.sync(key);
        this.queue.forget(key);
        this.lastErrors.delete(key);
      } catch (error) {
        this.statsCounters.failures++;
        const message = error instanceof Error ? error.message : String(error);
        this.lastErrors.set(key, message);
        this.log.info({ controller: this.name, key, retries: this.queue.numRequeues(key), err: message }, 'sync failed; retrying with backoff');
        if (this.running) this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}

/** Thrown by a write guard when this replica is no longer the leader: the sync stops before touching anything. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
}
