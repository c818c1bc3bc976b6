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
 * Format 1 (read only, for snapshots written before): one value `[1, data]`.
 */
import { pack, unpackMultiple } from 'msgpackr';
import { concatFrames } from '../../storage/record.js';
import type { StoreSnapshotCursor, SnapshotKeyRow, StoreSnapshotHeader } from './snapshot-cursor.js';
import { MvccStore, type StoreRestore, type StoreSnapshotData } from './store.js';

const FORMAT_WHOLE = 1;
const FORMAT_BATCHED = 2;

/** Estimated bytes per batch: small enough to encode in a few milliseconds, large enough that framing is noise. */
export const SNAPSHOT_BATCH_BYTES_DEFAULT = 1 << 20;

/** Encodes a cursor's view in batches: `header()` first, then `nextBatch()` until it returns undefined. */
export class SnapshotEncoder {
  constructor(
    private readonly cursor: StoreSnapshotCursor,
    private readonly batchBytes = SNAPSHOT_BATCH_BYTES_DEFAULT,
  ) {}

  header(): Uint8Array {
    return pack([FORMAT_BATCHED, this.cursor.header]);
  }

  /** The next batch's bytes, or undefined once every key is written. */
  nextBatch(): Uint8Array | undefined {
    while (!this.cursor.done) {
      const rows = this.cursor.next(this.batchBytes);
      if (rows.length > 0) return pack(rows);
    }
    return undefined;
  }
}

/** The whole store at once (tests, small stores, and the simulated runtime's checks). */
export function storeToBytes(store: MvccStore, batchBytes = SNAPSHOT_BATCH_BYTES_DEFAULT): Uint8Array {
  const cursor = store.openSnapshotCursor();
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
  const first = values[0];
  if (!Array.isArray(first) || (first[0] !== FORMAT_WHOLE && first[0] !== FORMAT_BATCHED)) {
    throw new Error(`kv snapshot: unknown format ${Array.isArray(first) ? String(first[0]) : typeof first}; expected ${FORMAT_WHOLE} or ${FORMAT_BATCHED}`);
  }
  if (first[0] === FORMAT_WHOLE) {
    if (values.length !== 1) throw new Error(`kv snapshot: format ${FORMAT_WHOLE} holds one value, found ${values.length}`);
    return MvccStore.fromSnapshotData(first[1] as StoreSnapshotData);
  }
  const batches = values.slice(1);
  for (const [i, batch] of batches.entries()) {
    if (!Array.isArray(batch)) throw new Error(`kv snapshot: batch ${i + 1} of ${batches.length} is ${typeof batch}, not a list of keys`);
  }
  return MvccStore.fromSnapshotParts(first[1] as StoreSnapshotHeader, batches as SnapshotKeyRow[][]);
}

/**
 * Decodes snapshot bytes into a store a step at a time, for a follower that
 * received a snapshot of a gigabyte: `step()` until it returns the store.
 * Format 1 snapshots (one value) decode in the first step.
 */
export class SnapshotDecoder {
  private offset = 0;
  private restore: StoreRestore | undefined;
  private batches = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly stepBytes = SNAPSHOT_BATCH_BYTES_DEFAULT * 4,
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
      if (!Array.isArray(first) || first[0] !== FORMAT_BATCHED) return storeFromBytes(this.bytes);
      this.restore = MvccStore.restoring(first[1] as StoreSnapshotHeader);
      this.offset = end;
    }
    const stopAt = this.offset + this.stepBytes;
    let consumed = this.offset;
    if (this.offset < this.bytes.byteLength) {
      decodeFrom(this.bytes, this.offset, (batch, _start, end) => {
        if (!Array.isArray(batch)) throw new Error(`kv snapshot: batch ${this.batches + 1} is ${typeof batch}, not a list of keys`);
        this.restore!.add(batch as SnapshotKeyRow[]);
        this.batches++;
        consumed = this.offset + end;
        return consumed < stopAt;
      });
      this.offset = consumed;
    }
    return this.offset >= this.bytes.byteLength ? this.restore.build() : undefined;
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
