/**
 * The store's snapshot as bytes, for Raft snapshots.
 *
 * Format 2 (written): msgpack values back to back — `[2, header]`, then any
 * number of batches of key rows, ascending. A replica encodes one batch per
 * step (see replica/snapshotter.ts) so a store of a gigabyte never holds its
 * thread for long; small batches are also far faster to encode: msgpackr
 * packed a 334 MB store in one call at about 9 MB/s (it grows and recopies its
 * buffer) and in 3 MB batches at about 500 MB/s (docs/kv-bench.md).
 *
 * Format 3, a delta (issues #16, #22): `[3, header and baseRevision]`, then
 * batches of the rows of every key written since the snapshot at
 * `baseRevision` began: its versions since, appended to its history there —
 * or, when a compaction dropped all of that history (or the key), its whole
 * history now, replacing it (snapshot-cursor.ts, `SnapshotKeyRow`). A key only
 * compacted since is not in it: restoring compacts every history to the last
 * header's compact revision, which drops what the compaction dropped. A delta is never
 * read alone: it follows a format 2 snapshot (or the delta before it) whose
 * revision is its `baseRevision`, and the bytes of a chain are its links'
 * bytes back to back — what a replica sends a lagging follower, and what
 * `storeFromBytes` and `SnapshotDecoder` read. A chain restores exactly the
 * store a whole snapshot at its last revision restores, whatever compactions
 * ran in between: a compaction only drops a prefix of a history, and
 * compacting the longer history the chain holds to the later revision drops
 * that prefix too (the test of snapshot-codec.test.ts checks it over random
 * writes, deletions, leases and compactions in steps).
 *
 * Format 1 (read only, for snapshots written before): one value `[1, data]`.
 */
import { pack, Packr, unpackMultiple } from 'msgpackr';
import { concatFrames } from '../../storage/record.js';
import type { StoreSnapshotCursor, SnapshotKeyRow, StoreSnapshotHeader } from './snapshot-cursor.js';
import { MvccStore, type StoreRestore, type StoreSnapshotData } from './store.js';

const FORMAT_WHOLE = 1;
const FORMAT_BATCHED = 2;
const FORMAT_DELTA = 3;

/** What a delta's header says beyond a whole snapshot's: the revision of the snapshot it follows. */
export type DeltaSnapshotHeader = StoreSnapshotHeader & { baseRevision: number };

/** A segment's header: batches are lists of rows, so a value whose first element is a number is a header. */
function segmentHeader(value: unknown): { format: number; header: unknown } | undefined {
  return Array.isArray(value) && typeof value[0] === 'number' ? { format: value[0], header: value[1] } : undefined;
}

/** Estimated bytes per batch: small enough to encode in a few milliseconds, large enough that framing is noise. */
export const SNAPSHOT_BATCH_BYTES_DEFAULT = 1 << 20;

/**
 * Buffers batches are packed into, given back once their bytes are written
 * and reused: msgpackr's own output buffers are fresh allocations, grown 4x
 * and recopied, so a gigabyte's snapshot allocated well over a gigabyte of
 * Buffers, which V8 accounts as external memory and collects for.
 */
export class PackBufferPool {
  private readonly free: Buffer[] = [];

  /**
   * @param bufferBytes room for one batch and its overshoot (a batch ends after the key that passes the estimate).
   * @param keepMax buffers kept for reuse: as many as can wait for the disk at once, and one being packed.
   */
  constructor(
    readonly bufferBytes: number,
    private readonly keepMax: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keepMax && buffer.length === this.bufferBytes) this.free.push(buffer);
  }
}

/** Packs like msgpackr's `pack`: the same options, so the same bytes. */
const pooledPackr = new Packr({ useRecords: false });
/** What msgpackr packs into after a pooled batch: other callers must never write into a pooled buffer. */
const SCRATCH_BYTES = 8192;

/** Encodes a cursor's view in batches: `header()` first, then `nextBatch()` until it returns undefined. */
export class SnapshotEncoder {
  /** A cursor of a delta (`deltaAfter`) encodes a delta. */
  constructor(
    private readonly cursor: StoreSnapshotCursor,
    private readonly batchBytes = SNAPSHOT_BATCH_BYTES_DEFAULT,
  ) {}

  header(): Uint8Array {
    const baseRevision = this.cursor.deltaAfter;
    if (baseRevision === undefined) return pack([FORMAT_BATCHED, this.cursor.header]);
    const header: DeltaSnapshotHeader = { ...this.cursor.header, baseRevision };
    return pack([FORMAT_DELTA, header]);
  }

  /** The next batch's bytes, or undefined once every key is written. */
  nextBatch(): Uint8Array | undefined {
    while (!this.cursor.done) {
      const rows = this.cursor.next(this.batchBytes);
      if (rows.length > 0) return pack(rows);
    }
    return undefined;
  }

  /**
   * `nextBatch`, packed into a buffer of `pool`: `buffer` is that buffer, to
   * give back once the bytes are no longer needed, or undefined when the
   * batch outgrew it (msgpackr then moved to a buffer of its own).
   */
  nextBatchPooled(pool: PackBufferPool): { bytes: Uint8Array; buffer: Buffer | undefined } | undefined {
    while (!this.cursor.done) {
      const rows = this.cursor.next(this.batchBytes);
      if (rows.length === 0) continue;
      const buffer = pool.take();
      // msgpackr's output buffer is shared by every Packr of the module: point it at ours for this one call,
      // then at a fresh scratch buffer, so no later pack anywhere writes into a buffer the pool will reuse.
      pooledPackr.useBuffer(buffer);
      let bytes: Uint8Array;
      try {
        bytes = pooledPackr.pack(rows);
      } finally {
        pooledPackr.useBuffer(Buffer.allocUnsafeSlow(SCRATCH_BYTES));
      }
      if (bytes.buffer === buffer.buffer) return { bytes, buffer };
      pool.give(buffer);
      return { bytes, buffer: undefined };
    }
    return undefined;
  }
}

/** The whole store at once (tests, small stores, and the simulated runtime's checks). */
export function storeToBytes(store: MvccStore, batchBytes = SNAPSHOT_BATCH_BYTES_DEFAULT): Uint8Array {
  return cursorToBytes(store.openSnapshotCursor(), batchBytes);
}

/**
 * One link of a chain at once, the cursor opened and read in one call (tests and measurements; replicas read
 * it in steps): a whole snapshot that starts a chain, or a delta after the link at `baseRevision`. The store
 * must track its changes (`trackSnapshotChanges`).
 */
export function chainLinkToBytes(store: MvccStore, link: { baseRevision?: number }, batchBytes = SNAPSHOT_BATCH_BYTES_DEFAULT): Uint8Array {
  return cursorToBytes(store.openSnapshotCursor(link.baseRevision === undefined ? 'full' : { deltaAfter: link.baseRevision }), batchBytes);
}

/** Every batch of `cursor` after its header, as one buffer; closes the cursor. */
function cursorToBytes(cursor: StoreSnapshotCursor, batchBytes: number): Uint8Array {
  try {
    const encoder = new SnapshotEncoder(cursor, batchBytes);
    const parts = [encoder.header()];
    for (let batch = encoder.nextBatch(); batch !== undefined; batch = encoder.nextBatch()) parts.push(batch);
    return concatFrames(parts);
  } finally {
    cursor.close();
  }
}

export function storeFromBytes(bytes: Uint8Array): MvccStore {
  const values = unpackValues(bytes);
  const first = segmentHeader(values[0]);
  if (first === undefined || (first.format !== FORMAT_WHOLE && first.format !== FORMAT_BATCHED)) {
    throw new Error(`kv snapshot: unknown format ${first === undefined ? typeof values[0] : String(first.format)}; expected ${FORMAT_WHOLE} or ${FORMAT_BATCHED}`);
  }
  if (first.format === FORMAT_WHOLE) {
    if (values.length !== 1) throw new Error(`kv snapshot: format ${FORMAT_WHOLE} holds one value, found ${values.length}`);
    return MvccStore.fromSnapshotData(first.header as StoreSnapshotData);
  }
  const restore = MvccStore.restoring(first.header as StoreSnapshotHeader);
  for (let i = 1; i < values.length; i++) addValue(restore, values[i], i);
  return restore.build();
}

/** One value after a chain's first header: a batch of rows, or the header of the next delta. */
function addValue(restore: StoreRestore, value: unknown, at: number): void {
  const segment = segmentHeader(value);
  if (segment !== undefined) {
    if (segment.format !== FORMAT_DELTA) throw new Error(`kv snapshot: value ${at} is a header of format ${segment.format}; only a delta (${FORMAT_DELTA}) may follow a snapshot`);
    restore.delta(segment.header as DeltaSnapshotHeader);
    return;
  }
  if (!Array.isArray(value)) throw new Error(`kv snapshot: batch ${at} is ${typeof value}, not a list of keys`);
  restore.add(value as SnapshotKeyRow[]);
}

/**
 * Decodes snapshot bytes into a store a step at a time, for a follower that
 * received a snapshot of a gigabyte: `step()` until it returns the store.
 * Format 1 snapshots (one value) decode in the first step.
 */
export class SnapshotDecoder {
  private offset = 0;
  private restore: StoreRestore | undefined;
  /** Values decoded after the first header: batches and the headers of deltas. */
  private batches = 0;

  /**
   * @param finishKeysPerStep keys made part of the store per step once all bytes are decoded (about the
   *   work of decoding `stepBytes`, for keys of a few hundred bytes)
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly stepBytes = SNAPSHOT_BATCH_BYTES_DEFAULT * 4,
    private readonly finishKeysPerStep = Math.max(1, Math.round(stepBytes / 256)),
  ) {}

  /** Decodes about `stepBytes` more; returns the store once every batch is in. */
  step(): MvccStore | undefined {
    if (this.restore === undefined) {
      let first: unknown;
      let end = 0;
      decodeFrom(this.bytes, 0, (value, _start, valueEnd) => {
        first = value;
        end = valueEnd;
        return false;
      });
      const segment = segmentHeader(first);
      if (segment?.format !== FORMAT_BATCHED) return storeFromBytes(this.bytes);
      this.restore = MvccStore.restoring(segment.header as StoreSnapshotHeader);
      this.offset = end;
    }
    const stopAt = this.offset + this.stepBytes;
    let consumed = this.offset;
    if (this.offset < this.bytes.byteLength) {
      decodeFrom(this.bytes, this.offset, (value, _start, end) => {
        this.batches++;
        addValue(this.restore!, value, this.batches);
        consumed = this.offset + end;
        return consumed < stopAt;
      });
      this.offset = consumed;
    }
    if (this.offset < this.bytes.byteLength) return undefined;
    // Indexing the keys once all are in (a chain's later links change histories) is a step's work of its own too.
    if (!this.restore.finishStep(this.finishKeysPerStep)) return undefined;
    return this.restore.build();
  }
}

function decodeFrom(bytes: Uint8Array, offset: number, forEach: (value: unknown, start: number, end: number) => boolean): void {
  try {
    unpackMultiple(bytes.subarray(offset), (value: unknown, start?: number, end?: number) => forEach(value, start ?? 0, end ?? 0));
  } catch (error) {
    throw new Error(`kv snapshot: ${bytes.byteLength} bytes that do not decode as msgpack at ${offset}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function unpackValues(bytes: Uint8Array): unknown[] {
  try {
    return unpackMultiple(bytes) as unknown[];
  } catch (error) {
    throw new Error(`kv snapshot: ${bytes.byteLength} bytes that do not decode as msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
}
