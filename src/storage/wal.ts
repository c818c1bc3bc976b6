/**
 * The write-ahead log: Raft's hard state, entries and snapshot markers as
 * checksummed records in numbered segment files.
 *
 * Files: `<dir>/<seq:16 hex>-<firstIndex:16 hex>.wal`. `seq` counts segments
 * from 1 without gaps; `firstIndex` is the index the next entry had when the
 * segment was created, so every entry in earlier segments is below it — that
 * is what lets `releaseBefore` drop whole segments under a snapshot. Each new
 * segment starts by restating the current snapshot marker and hard state, so
 * the segments that remain after a release replay on their own.
 *
 * Durability: `append` writes, `sync` fsyncs. A failed write or fsync poisons
 * the WAL: after an fsync error the kernel may have dropped the dirty pages and
 * cleared the error (PostgreSQL's "fsyncgate"), so a retry could report
 * success for data that is gone. The only safe continuation is to reopen,
 * which re-reads what is really on disk.
 *
 * Open: a torn or corrupt record is cut together with everything after it
 * (later segments included); the cut is fsynced and reported, never skipped
 * over silently and never a crash.
 */
import { DiskError, type BackgroundOp, type Disk, type FsyncWithinResult } from '../actor/disk.js';
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import { emptyHardState } from '../raft/types.js';
import { invariant, StorageError } from './errors.js';
import { LogShape, type Indexed, type WalSnapshotRecord } from './log-shape.js';
import { concatFrames, decodeRecords, encodeRecord, RECORD_HEADER_BYTES, sealRecord, type TailProblem } from './record.js';
import {
  decodeEntry,
  decodeHardState,
  decodeWalSnapshot,
  entryPayloadBytes,
  encodeHardState,
  writeEntry,
  encodeWalSnapshot,
  RecordType,
} from './wal-codec.js';

/** etcd's segment size: big enough that rotation (an fsyncDir) is rare, small enough to release space promptly. */
export const WAL_SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Below this, rotation would happen on nearly every append; tests use small segments, nothing uses smaller. */
export const WAL_SEGMENT_BYTES_MIN = 64;

export interface WalOptions {
  /** Directory of the segments inside the disk. */
  dir?: string;
  /** A segment that has reached this size is closed and a new one started before the next append. */
  segmentBytesMax?: number;
  /**
   * Fsync off the caller's thread (`Disk.inBackground`), for Raft's async
   * storage writes: `append` writes on the thread as always (a write to the
   * page cache, microseconds; handing it to the pool too cost two more
   * thread hops per Ready), `sync` queues the fsync and returns, and
   * `sync(done)` calls `done` in a later turn once everything appended
   * before it is durable. Rotations queue their fsyncs too. Opening is
   * synchronous.
   */
  background?: boolean;
  /**
   * Background mode: fsync on the caller's thread when none of the WAL's
   * operations is in flight, and queue it (group commit) only when one is.
   * A lone write then pays the fsync (0.1 ms here) instead of a round trip
   * through libuv's pool (p99 1.8-2.5 ms on this machine, issue #22); under
   * load the fsyncs still group. `nowMs` (the actor's clock) times each
   * inline fsync: one slower than `WAL_INLINE_FSYNC_SLOW_MS` sends fsyncs to
   * the background until one there, asked with nothing ahead of it, is fast
   * again, so a slow disk holds the thread once, not on every write.
   * `beforeFsync`, if given, runs just before an inline fsync: the replica
   * posts the messages its turn has queued (a leader's appends), so the
   * followers write to their disks while this one does rather than after.
   */
  inlineFsyncWhenIdle?: WalInlineFsync;
}

/** `WalOptions.inlineFsyncWhenIdle`'s clock and hooks. */
export interface WalInlineFsync {
  nowMs: () => number;
  beforeFsync?: () => void;
  /**
   * Asked at each idle `sync`: whether this write stands alone (the replica: nothing else of its Raft log
   * uncommitted). False sends it to the background as if an fsync were in flight. Under load (64 puts
   * outstanding) a leader's thread waiting out fsyncs stopped taking proposals and sending appends meanwhile:
   * puts/s fell by half (issue 22, docs/kv-bench.md); a lone write has nothing to overlap with. Absent: always.
   */
  lone?: () => boolean;
}

/**
 * An inline fsync slower than this marks the disk slow (`inlineFsyncWhenIdle`).
 * Why 5 ms: a twentieth of etcd's 100 ms heartbeat, and 50 times what a WAL
 * fsync takes on this machine's disk; a slower disk should not hold ticks.
 */
export const WAL_INLINE_FSYNC_SLOW_MS = 5;

/**
 * How long a lone write's fsync holds the thread on a disk that bounds it
 * (`Disk.fsyncWithin`) before going on in the background. Why 2 ms: above
 * this disk's fsync p99 when quiet (0.16 ms) and most of its p99 under load,
 * a fiftieth of a 100 ms heartbeat; a disk slower than that costs a tick at
 * most this much, once, then the WAL counts it slow (`diskSlow`).
 */
export const WAL_FSYNC_WAIT_MS = 2;

export interface WalAppend {
  /** Recorded first: an installed snapshot resets the log, a compaction drops the entries it covers. */
  snapshot?: WalSnapshotRecord;
  entries?: readonly Entry[];
  hardState?: HardState;
}

/** What was cut from the WAL when it was opened, and why. */
export interface WalTruncation {
  kind: TailProblem['kind'];
  reason: TailProblem['reason'] | 'segment-missing' | 'entry-gap';
  /** The segment in which the bad bytes start. */
  segment: string;
  /** Byte offset in that segment where the file was cut. */
  offset: number;
  /** Bytes cut from that segment. */
  bytesCut: number;
  /** Whole segments after it that were removed, because nothing after a bad record can be trusted. */
  segmentsRemoved: string[];
  /** Records of the bad segment that were kept. */
  recordsKept: number;
  message: string;
}

export interface WalRecovery {
  hardState: HardState;
  /** The latest snapshot marker: entries start right after it. */
  snapshot: SnapshotMetadata | undefined;
  /** Contiguous entries after the snapshot. */
  entries: Entry[];
  /** Segments replayed, in order (after any truncation). */
  segments: string[];
  /** Set when a torn or corrupt tail was cut. */
  truncation: WalTruncation | undefined;
}

interface Segment {
  seq: number;
  firstIndex: number;
  name: string;
}

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

const noop = (): void => undefined;

/** The append buffer's first size: a Ready of a few small entries. */
const APPEND_BUFFER_MIN_BYTES = 64 * 1024;
/** The largest append buffer kept between appends; a unit beyond it (a rare huge Ready) builds in one of its own. */
const APPEND_BUFFER_KEPT_BYTES_MAX = 4 * 1024 * 1024;

function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

function parseSegmentName(name: string): Segment | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  return { seq: Number.parseInt(match[1]!, 16), firstIndex: Number.parseInt(match[2]!, 16), name };
}

export class Wal {
  private readonly dir: string;
  private readonly segmentBytesMax: number;
  private segments: Segment[];
  /** What the written records describe: the writer checks every append against it. */
  private readonly shape: LogShape<Indexed>;
  private hardState: HardState;
  /** Bytes of the current (last) segment. */
  private tailBytes: number;
  /** The snapshot index covered by fsynced records: the bound for `releaseBefore`. */
  private syncedSnapshotIndex: number;
  private pendingSnapshotIndex: number;
  private unsynced = false;
  private failure: Error | undefined = undefined;
  private readonly background: boolean;
  /** Background mode: operations queued and not yet done, and the callbacks waiting on the last one (`afterWrites`). */
  private backgroundPending = 0;
  private lastOpWaiters: Array<() => void> | undefined;
  /** Background mode: fsyncs of the tail queued and not done; while there are any, `sync` defers (group commit). */
  private fsyncsInFlight = 0;
  /** Completions waiting for the fsync after those in flight (in order; `afterWrites` queues behind them). */
  private deferred: Array<() => void> | undefined;
  /** Background mode: what times inline fsyncs (and runs before each), when they are allowed (`inlineFsyncWhenIdle`). */
  private readonly inlineClock: (() => number) | undefined;
  private readonly inlineOptions: WalInlineFsync | undefined;
  /** An inline fsync was slow: fsyncs go to the background until one there is fast. */
  private diskSlow = false;
  /** The buffer appends build their records in (`appendBuffer`). */
  private scratch = new Uint8Array(0);

  private constructor(
    private readonly disk: Disk,
    options: WalOptions,
    recovery: WalRecovery,
    segments: Segment[],
  ) {
    this.dir = options.dir ?? 'wal';
    this.segmentBytesMax = options.segmentBytesMax ?? WAL_SEGMENT_BYTES_DEFAULT;
    this.background = options.background === true;
    this.inlineOptions = this.background ? options.inlineFsyncWhenIdle : undefined;
    this.inlineClock = this.inlineOptions?.nowMs;
    this.segments = segments;
    this.shape = new LogShape<Indexed>(0);
    if (recovery.snapshot !== undefined) this.shape.applySnapshot({ metadata: recovery.snapshot, retainLog: false });
    for (const entry of recovery.entries) this.shape.appendEntry({ index: entry.index, term: entry.term });
    this.hardState = recovery.hardState;
    this.tailBytes = disk.size(this.path(segments[segments.length - 1]!)) ?? 0;
    this.syncedSnapshotIndex = recovery.snapshot?.index ?? 0;
    this.pendingSnapshotIndex = this.syncedSnapshotIndex;
  }

  /**
   * Opens (or creates) the WAL in `options.dir`, replays it and cuts any torn
   * or corrupt tail. Throws `StorageError` only for what cutting cannot repair:
   * an undecodable record that passed its checksum, or a log that no longer
   * reaches back to its snapshot.
   */
  static open(disk: Disk, options: WalOptions = {}): { wal: Wal; recovery: WalRecovery } {
    const dir = options.dir ?? 'wal';
    const segmentBytesMax = options.segmentBytesMax ?? WAL_SEGMENT_BYTES_DEFAULT;
    invariant(Number.isInteger(segmentBytesMax) && segmentBytesMax >= WAL_SEGMENT_BYTES_MIN, `segmentBytesMax ${segmentBytesMax} below ${WAL_SEGMENT_BYTES_MIN}`);
    const segments = disk
      .list(dir)
      .map(parseSegmentName)
      .filter((segment): segment is Segment => segment !== undefined)
      .sort((a, b) => a.seq - b.seq);
    if (segments.length === 0) {
      const first: Segment = { seq: 1, firstIndex: 1, name: segmentName(1, 1) };
      disk.write(`${dir}/${first.name}`, new Uint8Array(0));
      disk.fsync(`${dir}/${first.name}`);
      disk.fsyncDir(dir);
      segments.push(first);
    }
    const recovery = replay(disk, dir, segments);
    return { wal: new Wal(disk, { ...options, dir, segmentBytesMax }, recovery, segments), recovery };
  }

  /** The index of the last entry written (synced or not), or the snapshot's index when there are none. */
  lastIndex(): number {
    return this.shape.lastIndex();
  }

  /** Names of the live segments, oldest first. */
  segmentNames(): string[] {
    return this.segments.map((segment) => segment.name);
  }

  /** True once a write or fsync has failed: every call throws until the WAL is reopened. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Writes the records of one Raft step (snapshot marker, entries, hard state)
   * in one append. Not durable until `sync`. Throws on a broken invariant
   * (entries that leave a gap, a snapshot that does not advance) before
   * anything is written.
   */
  append(unit: WalAppend): void {
    this.checkUsable();
    // Validate first so a rejected unit leaves nothing behind.
    this.checkAppend(unit);
    const entries = unit.entries ?? [];
    if (unit.snapshot === undefined && entries.length === 0 && unit.hardState === undefined) return;
    // Every record of the unit built in place in one buffer: one allocation and one copy of each entry's data.
    const snapshot = unit.snapshot === undefined ? undefined : encodeWalSnapshot(unit.snapshot);
    const hardState = unit.hardState === undefined ? undefined : encodeHardState(unit.hardState);
    let total = 0;
    if (snapshot !== undefined) total += RECORD_HEADER_BYTES + snapshot.length;
    for (const entry of entries) total += RECORD_HEADER_BYTES + entryPayloadBytes(entry);
    if (hardState !== undefined) total += RECORD_HEADER_BYTES + hardState.length;
    const bytes = this.appendBuffer(total);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    if (snapshot !== undefined) {
      bytes.set(snapshot, at + RECORD_HEADER_BYTES);
      sealRecord(bytes, at, RecordType.snapshot, snapshot.length, view);
      at += RECORD_HEADER_BYTES + snapshot.length;
    }
    for (const entry of entries) {
      const n = entryPayloadBytes(entry);
      writeEntry(bytes, at + RECORD_HEADER_BYTES, entry, view);
      sealRecord(bytes, at, RecordType.entry, n, view);
      at += RECORD_HEADER_BYTES + n;
    }
    if (hardState !== undefined) {
      bytes.set(hardState, at + RECORD_HEADER_BYTES);
      sealRecord(bytes, at, RecordType.hardState, hardState.length, view);
    }
    this.guard(() => {
      if (this.tailBytes >= this.segmentBytesMax) this.rotate();
      this.disk.append(this.path(this.tail()), bytes);
      this.tailBytes += bytes.length;
    });
    this.unsynced = true;
    if (unit.snapshot !== undefined) {
      this.shape.applySnapshot(unit.snapshot);
      this.pendingSnapshotIndex = unit.snapshot.metadata.index;
    }
    for (const entry of unit.entries ?? []) this.shape.appendEntry({ index: entry.index, term: entry.term });
    if (unit.hardState !== undefined) this.hardState = { ...unit.hardState };
  }

  /**
   * Where an append's records are built: a view of one buffer kept from append to append (`Disk.append` takes
   * a copy or writes it before returning), grown by doubling up to APPEND_BUFFER_KEPT_BYTES_MAX; a larger unit
   * gets a buffer of its own. A fresh buffer per Ready was allocated, zeroed and freed every time, a large one as
   * new pages the kernel faults in: half the CPU of an append of 256 entries of 1.5 KB, 6.9-7.6 against 3.5-3.7 µs
   * per entry with the kept one (scripts/wal-append-cost.mjs; a density burst's appends run to 1,024 entries and
   * more). etcd's WAL writer reuses its page buffer the same way. Every byte of the view is written before it is
   * appended.
   */
  private appendBuffer(bytes: number): Uint8Array {
    if (bytes > APPEND_BUFFER_KEPT_BYTES_MAX) return new Uint8Array(bytes);
    if (this.scratch.length < bytes) {
      let size = Math.max(APPEND_BUFFER_MIN_BYTES, this.scratch.length);
      while (size < bytes) size *= 2;
      this.scratch = new Uint8Array(Math.min(size, APPEND_BUFFER_KEPT_BYTES_MAX));
    }
    return this.scratch.subarray(0, bytes);
  }

  /**
   * Makes everything appended durable. On failure the WAL is poisoned (see the module comment).
   * In background mode the fsync is queued behind the appends and `done`, if given, is called in
   * a later turn once it is done (at once when nothing is queued: then all is durable already).
   */
  sync(done?: () => void): void {
    this.checkUsable();
    if (!this.background) {
      if (this.unsynced) {
        this.guard(() => this.disk.fsync(this.path(this.tail())));
        this.unsynced = false;
        this.syncedSnapshotIndex = this.pendingSnapshotIndex;
      }
      done?.();
      return;
    }
    if (!this.unsynced) {
      this.afterWrites(done);
      return;
    }
    // Group commit: while an fsync is on its way, the appends since wait for one more, asked when it ends.
    if (this.fsyncsInFlight > 0) {
      (this.deferred ??= []).push(done ?? noop);
      return;
    }
    // Nothing of the WAL in flight: no group to form, and the pool's round trip would cost more than the fsync.
    if (this.inlineClock !== undefined && !this.diskSlow && this.backgroundPending === 0 && this.inlineOptions!.lone?.() !== false) {
      // A disk that can bound the wait holds the thread WAL_FSYNC_WAIT_MS at most, then finishes as a background fsync.
      if (this.disk.fsyncWithin !== undefined) {
        this.startFsync(done === undefined ? [] : [done], this.inlineOptions!);
        return;
      }
      this.fsyncInline(this.inlineOptions!);
      this.afterWrites(done);
      return;
    }
    this.startFsync(done === undefined ? [] : [done]);
  }

  /** The tail's fsync on this thread, timed: durable when it returns. */
  private fsyncInline(clock: { nowMs: () => number; beforeFsync?: () => void }): void {
    clock.beforeFsync?.();
    const nowMs = clock.nowMs;
    const startedMs = nowMs();
    this.guard(() => this.disk.fsync(this.path(this.tail())));
    this.unsynced = false;
    this.syncedSnapshotIndex = Math.max(this.syncedSnapshotIndex, this.pendingSnapshotIndex);
    if (nowMs() - startedMs > WAL_INLINE_FSYNC_SLOW_MS) this.diskSlow = true;
  }

  /**
   * Queues an fsync of the tail covering every append so far; `waiters` run when it is done. With `within`
   * (a lone write, `Disk.fsyncWithin`), the thread first waits for it up to WAL_FSYNC_WAIT_MS: ended by then,
   * the waiters run before this returns; not, the disk counts as slow until a background fsync is fast again.
   */
  private startFsync(waiters: Array<() => void>, within?: { nowMs: () => number; beforeFsync?: () => void }): void {
    const snapshotIndex = this.pendingSnapshotIndex;
    const path = this.path(this.tail());
    this.unsynced = false;
    this.fsyncsInFlight++;
    // Asked with nothing ahead of it, its time to done is the disk's: fast again lets fsyncs back on the thread.
    const timedFromMs = this.diskSlow && this.backgroundPending === 0 ? this.inlineClock?.() : undefined;
    const start = within === undefined ? undefined : (report: (error: DiskError | undefined) => void): boolean => {
      within.beforeFsync?.();
      const result = this.guarded((): FsyncWithinResult => this.disk.fsyncWithin!(path, WAL_FSYNC_WAIT_MS, report));
      if (result === 'outlasted') this.diskSlow = true;
      return result === 'durable';
    };
    this.queue({ type: 'fsync', path }, (after) => {
      if (timedFromMs !== undefined && this.inlineClock!() - timedFromMs <= WAL_INLINE_FSYNC_SLOW_MS) this.diskSlow = false;
      this.syncedSnapshotIndex = Math.max(this.syncedSnapshotIndex, snapshotIndex);
      this.fsyncsInFlight--;
      const next = this.deferred;
      this.deferred = undefined;
      if (next === undefined) return;
      // Their appends are covered by a new fsync, or by one asked after them and still queued (a rotation's).
      if (this.unsynced) this.startFsync(next);
      else for (const waiter of next) this.afterWrites(waiter, after);
    }, start);
    for (const waiter of waiters) this.afterWrites(waiter);
  }

  /**
   * Background mode: `done` once every operation queued so far is done (at once when none is).
   * For a unit that needs no fsync of its own (only the commit index moved) but whose turn to
   * complete comes after the writes before it.
   */
  afterWrites(done?: () => void, current?: Array<() => void>): void {
    if (done === undefined) return;
    // Behind the units waiting for the next fsync: completions stay in order.
    if (this.deferred !== undefined) this.deferred.push(done);
    else if (this.lastOpWaiters !== undefined) this.lastOpWaiters.push(done);
    else if (current !== undefined) current.push(done);
    else done();
  }

  /** Whether appends and fsyncs go through the background queue (`WalOptions.background`). */
  get inBackground(): boolean {
    return this.background;
  }

  /** Background mode: the highest snapshot marker known durable (releases wait for it). */
  get durableSnapshotIndex(): number {
    return this.syncedSnapshotIndex;
  }

  /** Background mode: operations queued and not yet done. */
  get pendingOps(): number {
    return this.backgroundPending;
  }

  /**
   * Queues one background operation; a failure poisons the WAL and is thrown from the turn that reports it.
   * `start`, if given, starts it instead of `inBackground` and returns true when it ended before returning
   * (then it is reported done at once; else `start` has passed the report on to be called when it ends).
   */
  private queue(op: BackgroundOp, then?: (waiters: Array<() => void>) => void, start?: (report: (error: DiskError | undefined) => void) => boolean): void {
    const waiters: Array<() => void> = [];
    this.lastOpWaiters = waiters;
    this.backgroundPending++;
    const report = (error: DiskError | undefined): void => {
      this.backgroundPending--;
      if (this.lastOpWaiters === waiters) this.lastOpWaiters = undefined;
      if (error !== undefined || this.failure !== undefined) {
        this.guard(() => {
          throw error ?? this.failure;
        });
      }
      then?.(waiters);
      for (const waiter of waiters) waiter();
    };
    if (start === undefined) this.disk.inBackground(op, report);
    else if (start(report)) report(undefined);
  }

  /**
   * Removes segments whose entries are all at or below `snapshotIndex`. The
   * snapshot must already be recorded and synced in this WAL: the remaining
   * segments then still hold a snapshot marker covering what was removed.
   * Returns the names removed. With `background`, the unlinks and the
   * directory's fsync run off the thread (`Disk.inBackground`): unlinking a
   * 64 MiB segment held a loaded replica's tick for 60-76 ms. A removal that
   * a crash undoes leaves a segment wholly under the marker, as a crash
   * between the unlink and the directory's fsync always could.
   */
  releaseBefore(snapshotIndex: number, maxSegments = Number.POSITIVE_INFINITY, background = false): string[] {
    this.checkUsable();
    invariant(
      snapshotIndex <= this.syncedSnapshotIndex,
      () => `release up to ${snapshotIndex} beyond the synced snapshot marker at ${this.syncedSnapshotIndex}`,
    );
    const removed: string[] = [];
    while (removed.length < maxSegments && this.segments.length > 1 && this.segments[1]!.firstIndex <= snapshotIndex + 1) {
      const segment = this.segments.shift()!;
      removed.push(segment.name);
    }
    if (removed.length === 0) return removed;
    if (background) {
      const failed = (error: DiskError | undefined): void => {
        if (error !== undefined) this.guard(() => { throw error; });
      };
      for (const name of removed) this.disk.inBackground({ type: 'remove', path: `${this.dir}/${name}` }, failed);
      this.disk.inBackground({ type: 'fsyncDir', dir: this.dir }, failed);
      return removed;
    }
    this.guard(() => {
      for (const name of removed) this.disk.remove(`${this.dir}/${name}`);
      this.disk.fsyncDir(this.dir);
    });
    return removed;
  }

  private checkAppend(unit: WalAppend): void {
    // The live shape's rules, without mutating it: snapshot first, then entries in order.
    let snapshotIndex = this.shape.snapshotIndex;
    let lastIndex = this.shape.lastIndex();
    if (unit.snapshot !== undefined) {
      const problem = this.shape.snapshotProblem(unit.snapshot);
      invariant(problem === undefined, () => `WAL append rejected: ${problem}`);
      snapshotIndex = unit.snapshot.metadata.index;
      if (!unit.snapshot.retainLog) lastIndex = snapshotIndex;
      else lastIndex = Math.max(lastIndex, snapshotIndex);
    }
    let previous: Entry | undefined;
    for (const entry of unit.entries ?? []) {
      if (previous !== undefined) {
        invariant(entry.index === previous.index + 1, () => `WAL append rejected: entries ${previous!.index} and ${entry.index} are not contiguous`);
        invariant(entry.term >= previous.term, () => `WAL append rejected: term goes down from ${previous!.term} to ${entry.term} at ${entry.index}`);
      }
      invariant(entry.index > snapshotIndex, () => `WAL append rejected: entry ${entry.index} at or before the snapshot at ${snapshotIndex}`);
      invariant(entry.index <= lastIndex + 1, () => `WAL append rejected: entry ${entry.index} leaves a gap after ${lastIndex}`);
      lastIndex = entry.index;
      previous = entry;
    }
    if (unit.hardState !== undefined) {
      invariant(
        unit.hardState.term >= this.hardState.term,
        () => `WAL append rejected: hard state term goes down from ${this.hardState.term} to ${unit.hardState!.term}`,
      );
    }
  }

  /** Closes the full segment and starts the next one, restating snapshot marker and hard state. */
  private rotate(): void {
    if (this.background) {
      this.rotateInBackground();
      return;
    }
    // The old segment is already synced: rotation only happens at the start of an append after a sync.
    if (this.unsynced) this.disk.fsync(this.path(this.tail()));
    const { next, path, header } = this.writeNextSegmentHeader();
    this.disk.fsync(path);
    this.disk.fsyncDir(this.dir);
    this.segments.push(next);
    this.tailBytes = header.length;
  }

  /** The next segment, its first records (snapshot marker, hard state) written, not yet fsynced. */
  private writeNextSegmentHeader(): { next: Segment; path: string; header: Uint8Array } {
    const next: Segment = { seq: this.tail().seq + 1, firstIndex: this.shape.lastIndex() + 1, name: '' };
    next.name = segmentName(next.seq, next.firstIndex);
    const frames: Uint8Array[] = [];
    if (this.shape.snapshot !== undefined) {
      frames.push(encodeRecord(RecordType.snapshot, encodeWalSnapshot({ metadata: this.shape.snapshot, retainLog: true })));
    }
    frames.push(encodeRecord(RecordType.hardState, encodeHardState(this.hardState)));
    const header = concatFrames(frames);
    const path = `${this.dir}/${next.name}`;
    this.disk.write(path, header);
    return { next, path, header };
  }

  /** `rotate` with its fsyncs in the background queue: the same writes and fsyncs, in the same order. */
  private rotateInBackground(): void {
    if (this.unsynced) {
      // The old tail's last fsync, which covers the units deferred for it.
      const waiters = this.deferred ?? [];
      this.deferred = undefined;
      this.startFsync(waiters);
    }
    const { next, path, header } = this.writeNextSegmentHeader();
    this.queue({ type: 'fsync', path });
    this.queue({ type: 'fsyncDir', dir: this.dir });
    this.segments.push(next);
    this.tailBytes = header.length;
  }

  private tail(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private path(segment: Segment): string {
    return `${this.dir}/${segment.name}`;
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      throw new StorageError('wal-failed', `the WAL failed earlier (${this.failure.message}); reopen it to learn what is durable`, {
        cause: this.failure,
      });
    }
  }

  private guard(action: () => void): void {
    this.guarded(action);
  }

  /** `guard` of an action with a result. */
  private guarded<T>(action: () => T): T {
    try {
      return action();
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      if (!(error instanceof DiskError)) throw error;
      throw new StorageError('wal-failed', `WAL write failed: ${this.failure.message}; reopen the WAL to learn what is durable`, {
        cause: error,
      });
    }
  }
}

function replay(disk: Disk, dir: string, segments: Segment[]): WalRecovery {
  const shape = new LogShape<Entry>(segments[0]!.firstIndex - 1);
  let hardState: HardState = { ...emptyHardState };
  let truncation: WalTruncation | undefined;
  for (let i = 0; i < segments.length && truncation === undefined; i++) {
    const segment = segments[i]!;
    const path = `${dir}/${segment.name}`;
    if (i > 0 && segment.seq !== segments[i - 1]!.seq + 1) {
      truncation = cut(disk, dir, segments, i, {
        kind: 'corrupt',
        reason: 'segment-missing',
        offset: 0,
        bytesCut: 0,
        recordsKept: 0,
        message: `segment ${segment.name} follows ${segments[i - 1]!.name}: segment ${segments[i - 1]!.seq + 1} is missing`,
      });
      break;
    }
    const bytes = disk.read(path) ?? new Uint8Array(0);
    const decoded = decodeRecords(bytes);
    let kept = 0;
    let stoppedAt: { offset: number; message: string } | undefined;
    for (const record of decoded.records) {
      switch (record.type) {
        case RecordType.entry: {
          const entry = decodeEntry(record.payload);
          const problem = shape.entryProblem(entry);
          if (problem !== undefined && entry.index > shape.snapshotIndex) {
            stoppedAt = { offset: record.offset, message: problem };
          } else if (problem === undefined) {
            shape.appendEntry(entry);
          }
          break;
        }
        case RecordType.hardState:
          hardState = decodeHardState(record.payload);
          break;
        case RecordType.snapshot: {
          const snapshot = decodeWalSnapshot(record.payload);
          if (snapshot.metadata.index > shape.snapshotIndex) shape.applySnapshot(snapshot);
          break;
        }
        default:
          throw new StorageError('undecodable', `record of unknown type ${record.type} in ${path} at ${record.offset}; written by another format version?`);
      }
      if (stoppedAt !== undefined) break;
      kept++;
    }
    if (stoppedAt !== undefined) {
      truncation = cut(disk, dir, segments, i + 1, {
        kind: 'corrupt',
        reason: 'entry-gap',
        offset: stoppedAt.offset,
        bytesCut: bytes.length - stoppedAt.offset,
        recordsKept: kept,
        message: `${path}: ${stoppedAt.message}`,
      }, segment);
    } else if (decoded.problem !== undefined) {
      const problem = decoded.problem;
      truncation = cut(disk, dir, segments, i + 1, {
        kind: problem.kind,
        reason: problem.reason,
        offset: problem.offset,
        bytesCut: problem.bytes,
        recordsKept: kept,
        message: `${path}: ${problem.kind} record (${problem.reason}) at byte ${problem.offset}; cut ${problem.bytes} bytes`,
      }, segment);
    }
  }
  const gap = shape.gapProblem();
  if (gap !== undefined) {
    throw new StorageError('log-gap', `WAL in ${dir}: ${gap}; the node's log is incomplete — restore it from a peer's snapshot`);
  }
  return {
    hardState,
    snapshot: shape.snapshot,
    entries: shape.entries,
    segments: segments.map((segment) => segment.name),
    truncation,
  };
}

/**
 * Cuts the WAL at `detail.offset` in `badSegment` (if given) and removes every
 * segment from index `removeFrom` on; mutates `segments` to what remains.
 */
function cut(
  disk: Disk,
  dir: string,
  segments: Segment[],
  removeFrom: number,
  detail: Omit<WalTruncation, 'segment' | 'segmentsRemoved'>,
  badSegment?: Segment,
): WalTruncation {
  const removed = segments.splice(removeFrom);
  if (badSegment !== undefined) {
    const path = `${dir}/${badSegment.name}`;
    disk.truncate(path, detail.offset);
    disk.fsync(path);
  }
  for (const segment of removed) disk.remove(`${dir}/${segment.name}`);
  if (removed.length > 0) disk.fsyncDir(dir);
  return {
    ...detail,
    segment: badSegment?.name ?? removed[0]?.name ?? '',
    segmentsRemoved: removed.map((segment) => segment.name),
  };
}
