import { DEFAULT_SUPERVISION, type SupervisionOptions } from './behaviour.js';

export type ExitKind = 'crashed' | 'killed' | 'stopped';

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; reason: 'policy' | 'restart-budget-exhausted' };

/**
 * The supervisor's bookkeeping for one actor: pure, so both runtimes share it
 * and it is tested without threads. Restarts inside the window count against
 * the budget and double the backoff.
 */
export class RestartTracker {
  readonly options: SupervisionOptions;
  private restartTimesMs: number[] = [];

  constructor(options: Partial<SupervisionOptions> = {}) {
    this.options = { ...DEFAULT_SUPERVISION, ...options };
    if (this.options.backoffMinMs < 0 || this.options.backoffMaxMs < this.options.backoffMinMs) {
      throw new Error(`supervision backoff must satisfy 0 <= backoffMinMs <= backoffMaxMs (got ${this.options.backoffMinMs}, ${this.options.backoffMaxMs})`);
    }
  }

  /** Decide what to do when the actor exits at `nowMs`. */
  onExit(kind: ExitKind, nowMs: number): RestartDecision {
    const { restart } = this.options;
    if (restart === 'temporary') return { restart: false, reason: 'policy' };
    if (restart === 'transient' && kind === 'stopped') return { restart: false, reason: 'policy' };
    this.restartTimesMs = this.restartTimesMs.filter((t) => nowMs - t < this.options.windowMs);
    if (this.restartTimesMs.length >= this.options.maxRestarts) return { restart: false, reason: 'restart-budget-exhausted' };
    const recent = this.restartTimesMs.length;
    this.restartTimesMs.push(nowMs);
    const delayMs = Math.min(this.options.backoffMaxMs, this.options.backoffMinMs * 2 ** recent);
    return { restart: true, delayMs };
  }

  get restartCount(): number {
    return this.restartTimesMs.length;
  }
}
