/**
 * etcd's automatic MVCC compaction (`--auto-compaction-mode`,
 * `--auto-compaction-retention`), as a pure policy the leader replica asks on
 * each tick. Without it a store that nobody compacts keeps every version
 * forever, and every snapshot carries the whole history.
 *
 * - `revision`: every 5 minutes, compact to the current revision minus
 *   `retention` revisions (etcd's revision compactor).
 * - `periodic`: keep `retention` milliseconds of history. The revision is
 *   sampled every retention/10 (at most every hour, as etcd does), and each
 *   sample compacts to the one taken a retention earlier (etcd's periodic
 *   compactor, v3.3 and later).
 *
 * Only the leader proposes (a compaction is a replicated request like any
 * other); a new leader starts its samples afresh, as etcd's compactor resumes
 * from scratch on the new leader.
 */

export type AutoCompactionMode = 'periodic' | 'revision';

export interface AutoCompactionConfig {
  mode: AutoCompactionMode;
  /** `periodic`: milliseconds of history to keep; `revision`: revisions to keep. */
  retention: number;
}

/** etcd's revision compactor checks every 5 minutes. */
export const REVISION_COMPACTION_INTERVAL_MS = 5 * 60_000;
const HOUR_MS = 60 * 60_000;

export class AutoCompactor {
  private samples: Array<{ atMs: number; revision: number }> = [];
  private nextCheckMs: number | undefined;

  constructor(readonly config: AutoCompactionConfig) {
    if (!(Number.isFinite(config.retention) && config.retention > 0)) throw new Error(`auto-compaction retention must be positive, got ${config.retention}`);
  }

  /** How often the policy acts. */
  get intervalMs(): number {
    return this.config.mode === 'revision' ? REVISION_COMPACTION_INTERVAL_MS : Math.min(HOUR_MS, Math.max(1, this.config.retention / 10));
  }

  /**
   * Called by the leader on each tick (and by a non-leader, which only
   * forgets its samples). Returns the revision to compact to, when one is due.
   */
  onTick(nowMs: number, leader: boolean, revision: number, compactRevision: number): number | undefined {
    if (!leader) {
      this.samples = [];
      this.nextCheckMs = undefined;
      return undefined;
    }
    if (this.nextCheckMs === undefined) {
      this.nextCheckMs = nowMs + this.intervalMs;
      this.samples = [{ atMs: nowMs, revision }];
      return undefined;
    }
    if (nowMs < this.nextCheckMs) return undefined;
    this.nextCheckMs = nowMs + this.intervalMs;
    let target: number;
    if (this.config.mode === 'revision') {
      target = revision - this.config.retention;
    } else {
      this.samples.push({ atMs: nowMs, revision });
      // The newest sample at least a retention old: everything after it is kept.
      let keepFrom = -1;
      for (let i = 0; i < this.samples.length; i++) if (nowMs - this.samples[i]!.atMs >= this.config.retention) keepFrom = i;
      if (keepFrom < 0) return undefined;
      target = this.samples[keepFrom]!.revision;
      this.samples = this.samples.slice(keepFrom);
    }
    return target > compactRevision ? target : undefined;
  }
}

/**
 * Parses etcd's `--auto-compaction-retention`: for `periodic` a Go duration
 * (`30m`, `1h30m`, `90s`) or a bare number of hours; for `revision` a
 * number of revisions. Throws with a message that says what is accepted.
 */
export function parseAutoCompactionRetention(mode: AutoCompactionMode, text: string): number {
  const trimmed = text.trim();
  if (mode === 'revision') {
    if (!/^\d+$/.test(trimmed) || Number(trimmed) <= 0) throw new Error(`--auto-compaction-retention ${text}: in revision mode, a positive number of revisions (e.g. 1000)`);
    return Number(trimmed);
  }
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const hours = Number(trimmed);
    if (hours > 0) return hours * HOUR_MS;
  }
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS };
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === trimmed) {
    const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
    if (ms > 0) return ms;
  }
  throw new Error(`--auto-compaction-retention ${text}: in periodic mode, a duration (e.g. 30m, 1h, 90s) or a number of hours`);
}
