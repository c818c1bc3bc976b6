/**
 * Per-key exponential backoff, as client-go's flowcontrol.Backoff that the
 * kubelet uses for CrashLoopBackOff and ImagePullBackOff. Pure: time is passed in.
 *
 * A failure at `sinceMs` is "in backoff" while less than the key's current
 * delay has passed since it; each restart (`next`) doubles the delay up to
 * the cap. An entry untouched for twice the cap is forgotten, so a container
 * that ran well for long enough starts over at the initial delay.
 */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; lastUpdateMs: number }>();

  constructor(readonly initialMs: number, readonly maxMs: number) {
    if (!(initialMs > 0 && maxMs >= initialMs)) throw new Error(`backoff needs 0 < initialMs <= maxMs, got ${initialMs}, ${maxMs}`);
  }

  /** The current delay of `key` (0 when it has none). */
  delayMs(key: string, nowMs: number): number {
    const entry = this.entries.get(key);
    if (entry === undefined || this.expired(entry.lastUpdateMs, nowMs)) return 0;
    return entry.delayMs;
  }

  /** True while less than the key's delay has passed since `sinceMs` (the failure's time). */
  inBackoffSince(key: string, sinceMs: number, nowMs: number): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined || this.expired(entry.lastUpdateMs, sinceMs)) return false;
    return nowMs - sinceMs < entry.delayMs;
  }

  /** When the backoff started at `sinceMs` ends. */
  readyAtMs(key: string, sinceMs: number): number {
    return sinceMs + (this.entries.get(key)?.delayMs ?? 0);
  }

  /** Record a retry now: the first gets the initial delay, later ones double it up to the cap. */
  next(key: string, nowMs: number): number {
    const entry = this.entries.get(key);
    const delayMs = entry === undefined || this.expired(entry.lastUpdateMs, nowMs) ? this.initialMs : Math.min(entry.delayMs * 2, this.maxMs);
    this.entries.set(key, { delayMs, lastUpdateMs: nowMs });
    return delayMs;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forget every key that starts with `prefix` (a pod that is gone). */
  forgetPrefix(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(lastUpdateMs: number, atMs: number): boolean {
    return atMs - lastUpdateMs > 2 * this.maxMs;
  }
}
