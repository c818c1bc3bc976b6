/**
 * The rules that turn a sequence of WAL records into a Raft log. Replay uses
 * them to rebuild the log; the writer uses the same rules to check each append
 * before it reaches the disk, so what is written always replays to what the
 * writer believed.
 *
 * - An entry for index i replaces the entries from i on (a later record for an
 *   index supersedes the earlier suffix, as after a log conflict).
 * - A snapshot record with `retainLog` (a local compaction) drops entries up to
 *   its index and keeps the rest; without it (a snapshot installed from the
 *   leader) it resets the log to the snapshot.
 * - Entries before the first segment's first index may have been released; they
 *   are unknown, and must all be covered by the snapshot when replay ends.
 */
import type { SnapshotMetadata } from '../raft/types.js';

export interface Indexed {
  index: number;
  term: number;
}

export interface WalSnapshotRecord {
  metadata: SnapshotMetadata;
  /** True for a local compaction (entries after the index stay); false for an installed snapshot (log reset). */
  retainLog: boolean;
}

export class LogShape<E extends Indexed> {
  snapshot: SnapshotMetadata | undefined = undefined;
  /** Entries after the snapshot, contiguous. */
  entries: E[] = [];
  /** The index just before the first entry this log can know (the snapshot's, or the first segment's first index - 1). */
  private base: number;

  constructor(base: number) {
    this.base = base;
  }

  get snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  firstIndex(): number {
    return this.entries.length > 0 ? this.entries[0]!.index : this.base + 1;
  }

  lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.index : this.base;
  }

  /** The term of the entry at `index`, the snapshot's term at its index, or undefined when unknown. */
  termAt(index: number): number | undefined {
    if (this.snapshot !== undefined && index === this.snapshot.index) return this.snapshot.term;
    const first = this.firstIndex();
    if (this.entries.length === 0 || index < first || index > this.lastIndex()) return undefined;
    return this.entries[index - first]!.term;
  }

  /** Why `entry` cannot follow the current log, or undefined when it can. */
  entryProblem(entry: Indexed): string | undefined {
    if (entry.index <= this.snapshotIndex) return `entry ${entry.index} is at or before the snapshot at ${this.snapshotIndex}`;
    if (entry.index > this.lastIndex() + 1) return `entry ${entry.index} leaves a gap after the last index ${this.lastIndex()}`;
    return undefined;
  }

  appendEntry(entry: E): void {
    const first = this.firstIndex();
    if (this.entries.length > 0 && entry.index >= first) {
      this.entries.length = entry.index - first;
    } else {
      this.entries = [];
      this.base = entry.index - 1;
    }
    this.entries.push(entry);
  }

  /** Why `record` cannot be applied, or undefined when it can. */
  snapshotProblem(record: WalSnapshotRecord): string | undefined {
    const { index, term } = record.metadata;
    if (index <= this.snapshotIndex) return `snapshot at ${index} does not advance past the snapshot at ${this.snapshotIndex}`;
    if (record.retainLog) {
      const known = this.termAt(index);
      if (known !== term) return `compaction at ${index} term ${term} does not match the log (term there: ${known ?? 'unknown'})`;
    }
    return undefined;
  }

  applySnapshot(record: WalSnapshotRecord): void {
    const { index } = record.metadata;
    if (record.retainLog) {
      const first = this.firstIndex();
      if (index >= first) this.entries = this.entries.slice(index - first + 1);
      if (this.entries.length === 0) this.base = Math.max(this.base, index);
    } else {
      this.entries = [];
      this.base = index;
    }
    this.snapshot = record.metadata;
  }

  /** After replay: the log must reach back to its snapshot. */
  gapProblem(): string | undefined {
    if (this.firstIndex() > this.snapshotIndex + 1) {
      return `entries ${this.snapshotIndex + 1}..${this.firstIndex() - 1} are neither in the WAL nor covered by its snapshot`;
    }
    return undefined;
  }
}
