/**
 * A consistent view of the MVCC store at one revision, read a batch at a time
 * while writes go on: how a replica takes a snapshot without stopping.
 *
 * No copy of the data is needed. The store only appends versions to a key's
 * history, so filtering each history to revisions at or below the cursor's
 * revision sees exactly the store as it was. Compaction is the one operation
 * that loses old versions, and it never edits a history in place: it replaces
 * the array or drops the key. Before it does, the store hands the cursor the
 * old array (`preserve`), so a compaction that lands mid-snapshot changes
 * nothing the snapshot reads — copy-on-write at the granularity of one key.
 */
import type { KeyValue } from '../protocol.js';

/** One version of a key: `kv` null is a tombstone. */
export interface Version {
  main: number;
  sub: number;
  kv: KeyValue | null;
}

/** Everything in a snapshot but the keys; small, taken at once. */
export interface StoreSnapshotHeader {
  revision: number;
  compactRevision: number;
  nextLeaseId: number;
  /** [lease id, TTL seconds], ascending by id. */
  leases: Array<[number, number]>;
}

/**
 * A key and its history as a snapshot stores it: [revision, sub, value or null for a tombstone]. In a delta
 * (snapshot-codec.ts, format 3) only the versions after the delta's base, appended to the key's history
 * there; with the third element, instead its whole history, which replaces the base's (none: the key is gone).
 */
export type SnapshotKeyRow = [string, Array<[number, number, KeyValue | null]>, REPLACE?];

/** A delta's row that replaces its key's history rather than appending to it. */
export type REPLACE = 1;

/** What the cursor needs from the store. */
export interface SnapshotSource {
  versionsOf(key: string): readonly Version[] | undefined;
}

/** Fixed cost per stored version in the batch-size estimate (revisions, key, msgpack framing). */
const VERSION_OVERHEAD_BYTES = 48;

export class StoreSnapshotCursor {
  private at = 0;
  private readonly preserved = new Map<string, readonly Version[]>();
  private closed = false;
  private abandoned = false;

  /**
   * @param keys every key of the store at `header.revision`, ascending (a copy: the cursor owns it)
   * @param onClose called when the cursor is closed, and again if it is abandoned after that: stops the store's
   *   compaction hook, and on an abandon gives the changed keys back
   * @param deltaAfter for a delta: the revision of the chain's link before it; `keys` are the keys written
   *   since. A key's row then holds its versions after that revision, to append to its history there — or,
   *   when no version of that history is left at the cursor's revision (a compaction dropped it, or the key
   *   is gone), its whole history, to replace it (see `SnapshotKeyRow`)
   */
  constructor(
    readonly header: Readonly<StoreSnapshotHeader>,
    private readonly keys: string[],
    private readonly source: SnapshotSource,
    private readonly onClose: (cursor: StoreSnapshotCursor, abandoned: boolean, wasClosed: boolean) => void,
    readonly deltaAfter?: number,
  ) {}

  /** Whether this cursor reads a delta (`deltaAfter`). */
  get delta(): boolean {
    return this.deltaAfter !== undefined;
  }

  get done(): boolean {
    return this.at >= this.keys.length;
  }

  /** Keys read so far and in all: for progress reports. */
  get progress(): { keys: number; of: number } {
    return { keys: this.at, of: this.keys.length };
  }

  /**
   * The next keys' histories at the cursor's revision, stopping after the
   * first key that brings the estimated encoded size to `budgetBytes` (so a
   * batch always makes progress, even past a huge key). Empty once done.
   * The estimate depends only on the data, never on time, so a simulated run
   * takes its snapshots in the same steps on every replay.
   */
  next(budgetBytes: number): SnapshotKeyRow[] {
    if (this.closed) throw new Error('snapshot cursor used after close');
    const rows: SnapshotKeyRow[] = [];
    const revision = this.header.revision;
    let bytes = 0;
    while (this.at < this.keys.length && bytes < budgetBytes) {
      const key = this.keys[this.at++]!;
      const versions = this.preserved.get(key) ?? this.source.versionsOf(key);
      const after = this.deltaAfter;
      if (after === undefined) {
        const kept: Array<[number, number, KeyValue | null]> = [];
        for (const v of versions ?? []) {
          if (v.main > revision) break;
          kept.push([v.main, v.sub, v.kv]);
          bytes += VERSION_OVERHEAD_BYTES + key.length + (v.kv === null ? 0 : v.kv.value.length);
        }
        if (kept.length > 0) rows.push([key, kept]);
        continue;
      }
      // A version at or before the base is still here: nothing written since was dropped, the rest appends.
      const appends = versions !== undefined && versions.length > 0 && versions[0]!.main <= after && versions[0]!.main <= revision;
      const kept: Array<[number, number, KeyValue | null]> = [];
      for (const v of versions ?? []) {
        if (v.main > revision) break;
        if (v.main <= after) continue;
        kept.push([v.main, v.sub, v.kv]);
        bytes += VERSION_OVERHEAD_BYTES + key.length + (v.kv === null ? 0 : v.kv.value.length);
      }
      if (appends && kept.length === 0) continue;
      rows.push(appends ? [key, kept] : [key, kept, 1]);
      bytes += VERSION_OVERHEAD_BYTES + key.length;
    }
    if (this.done) this.preserved.clear();
    return rows;
  }

  /**
   * The store is about to replace or drop `key`'s history: keep the old one
   * if the cursor has not read the key yet. Called by compaction only.
   */
  preserve(key: string, versions: readonly Version[]): void {
    if (this.closed || this.preserved.has(key)) return;
    // Keys are read in ascending order: one already passed needs nothing.
    if (this.at > 0 && this.at <= this.keys.length && key <= this.keys[this.at - 1]!) return;
    this.preserved.set(key, versions);
  }

  /** Stops the store's bookkeeping for this cursor; call when its snapshot is taken. Idempotent. */
  close(): void {
    this.end(false);
  }

  /**
   * The snapshot will not be used: the store counts the keys it would have held as changed again. Also after
   * `close` (a snapshot read whole may still be abandoned before it is durable). Idempotent.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const wasClosed = this.closed;
    this.closed = true;
    this.preserved.clear();
    this.onClose(this, true, wasClosed);
  }

  private end(abandoned: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.preserved.clear();
    this.onClose(this, abandoned, false);
  }
}
