/**
 * Snapshot files: `<dir>/<term:16 hex>-<index:16 hex>.snap`, each one record
 * (see record.ts) whose payload is the metadata (msgpack, length-prefixed)
 * followed by the application's data. A payload larger than a record may
 * hold (256 MiB: a store of a few hundred thousand objects' history) is
 * split: `snapshotFileChunk` records, then the last part as the
 * `snapshotFile` record, so a file cut at a record boundary is still told
 * from a whole one.
 *
 * A snapshot may be a link of a chain (issues #16, #22): its file holds only
 * what changed since the snapshot before it, named in its own name,
 * `<term>-<index>+<base term>-<base index>.snap`. Its data is then the data of
 * every file of the chain, oldest first, back to back (the application reads
 * that as one snapshot): loading reads them all, and a chain with a file torn,
 * missing or not what its name says is not used. A purge keeps every file a
 * kept file's chain needs.
 *
 * Saving is the classic atomic-replace sequence: write a temporary file, fsync
 * it, rename it into place, fsync the directory. A crash at any point leaves
 * either no snapshot or a whole one; a leftover temporary file is removed on
 * open. Loading verifies the checksum and that the name agrees with the
 * metadata inside; a file that fails is skipped and reported, never used.
 */
import type { Disk, DiskError } from '../actor/disk.js';
import type { Snapshot, SnapshotMetadata } from '../raft/types.js';
import { invariant, StorageError } from './errors.js';
import { concatFrames, decodeRecords, encodeRecord, encodeRecordHeader, RECORD_HEADER_BYTES, RECORD_PAYLOAD_BYTES_MAX } from './record.js';
import { decodeSnapshotMetadata, encodeSnapshotMetadata, RecordType, type RecordTypeNumber } from './wal-codec.js';

/** Files kept after a save: the newest is the one that matters, older ones are a margin against a bad newest file. */
export const SNAPSHOTS_RETAINED_DEFAULT = 3;

const SNAPSHOT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})(?:\+([0-9a-f]{16})-([0-9a-f]{16}))?\.snap$/;
const TEMP_SUFFIX = '.tmp';

export interface SnapshotStoreOptions {
  dir?: string;
  /** How many snapshot files to keep after each save (at least 1). */
  retained?: number;
}

export interface SkippedSnapshot {
  name: string;
  reason: string;
}

export interface SnapshotStoreReport {
  /** Snapshot files that could not be used, and why. */
  skipped: SkippedSnapshot[];
  /** Temporary files of saves interrupted by a crash, removed on open. */
  tempFilesRemoved: string[];
}

function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}

/** A snapshot's place: what names it in the WAL, and what a link of a chain names as its base. */
export type SnapshotId = Pick<SnapshotMetadata, 'term' | 'index'>;

/** @param base for a link of a chain: the snapshot it follows */
export function snapshotName(metadata: SnapshotId, base?: SnapshotId): string {
  const own = `${hex16(metadata.term)}-${hex16(metadata.index)}`;
  return base === undefined ? `${own}.snap` : `${own}+${hex16(base.term)}-${hex16(base.index)}.snap`;
}

/** @param chunkBytes the largest payload of one record (smaller only in tests). */
export function encodeSnapshotFile(snapshot: Snapshot, chunkBytes = RECORD_PAYLOAD_BYTES_MAX): Uint8Array {
  invariant(Number.isInteger(chunkBytes) && chunkBytes > 0 && chunkBytes <= RECORD_PAYLOAD_BYTES_MAX, `chunkBytes ${chunkBytes} must be 1..${RECORD_PAYLOAD_BYTES_MAX}`);
  const metadata = encodeSnapshotMetadata(snapshot.metadata);
  const payload = new Uint8Array(4 + metadata.length + snapshot.data.length);
  new DataView(payload.buffer).setUint32(0, metadata.length, true);
  payload.set(metadata, 4);
  payload.set(snapshot.data, 4 + metadata.length);
  if (payload.length <= chunkBytes) return encodeRecord(RecordType.snapshotFile, payload);
  // Too large for one record (a store of 300 MB made every replica throw here, then again after each restart).
  const records: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += chunkBytes) {
    const last = at + chunkBytes >= payload.length;
    records.push(encodeRecord(last ? RecordType.snapshotFile : RecordType.snapshotFileChunk, payload.subarray(at, Math.min(payload.length, at + chunkBytes))));
  }
  return concatFrames(records);
}

/** The snapshot in a file's bytes, or the reason it cannot be trusted. Never throws. */
export function decodeSnapshotFile(bytes: Uint8Array): Snapshot | string {
  const decoded = decodeSnapshotFileLaidOut(bytes, '');
  return typeof decoded === 'string' ? decoded : decoded.snapshot;
}

/** `decodeSnapshotFile`, and where the data lies in the file at `path` (to read it back a range at a time). */
function decodeSnapshotFileLaidOut(bytes: Uint8Array, path: string): { snapshot: Snapshot; layout: SnapshotFileLayout } | string {
  const decoded = decodeRecords(bytes);
  if (decoded.problem !== undefined) return `${decoded.problem.kind} record (${decoded.problem.reason}) at byte ${decoded.problem.offset}`;
  const records = decoded.records;
  if (records.length === 0) return '0 records, expected 1 or more';
  for (let i = 0; i < records.length; i++) {
    const expected = i === records.length - 1 ? RecordType.snapshotFile : RecordType.snapshotFileChunk;
    if (records[i]!.type !== expected) return `record ${i + 1} of ${records.length} has type ${records[i]!.type}, expected ${expected}${expected === RecordType.snapshotFile ? ' (the file ends before its last part)' : ''}`;
  }
  let payload = records[0]!.payload;
  if (records.length > 1) payload = concatFrames(records.map((r) => r.payload));
  if (payload.length < 4) return 'payload shorter than its metadata length';
  const metadataBytes = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (4 + metadataBytes > payload.length) return 'metadata length beyond the payload';
  try {
    const metadata = decodeSnapshotMetadata(payload.subarray(4, 4 + metadataBytes));
    const snapshot = { metadata, data: new Uint8Array(payload.subarray(4 + metadataBytes)) };
    // The data is every payload after the metadata's bytes, which may share the first record with data.
    const pieces: SnapshotFilePiece[] = [];
    let skip = 4 + metadataBytes;
    let dataOffset = 0;
    for (const record of records) {
      const from = Math.min(skip, record.payload.length);
      skip -= from;
      const length = record.payload.length - from;
      if (length === 0) continue;
      pieces.push({ dataOffset, fileOffset: record.offset + RECORD_HEADER_BYTES + from, length });
      dataOffset += length;
    }
    return { snapshot, layout: { path, dataBytes: snapshot.data.length, pieces } };
  } catch (error) {
    return error instanceof StorageError ? error.message : String(error);
  }
}

export class SnapshotStore {
  readonly dir: string;
  private readonly retained: number;

  private constructor(
    private readonly disk: Disk,
    options: SnapshotStoreOptions,
  ) {
    this.dir = options.dir ?? 'snap';
    this.retained = options.retained ?? SNAPSHOTS_RETAINED_DEFAULT;
    invariant(Number.isInteger(this.retained) && this.retained >= 1, `retained ${this.retained} must be a positive integer`);
  }

  /** Opens the store, removing temporary files left by interrupted saves. */
  static open(disk: Disk, options: SnapshotStoreOptions = {}): { store: SnapshotStore; report: SnapshotStoreReport } {
    const store = new SnapshotStore(disk, options);
    const tempFilesRemoved = disk.list(store.dir).filter((name) => name.endsWith(TEMP_SUFFIX));
    for (const name of tempFilesRemoved) disk.remove(`${store.dir}/${name}`);
    if (tempFilesRemoved.length > 0) disk.fsyncDir(store.dir);
    return { store, report: { skipped: [], tempFilesRemoved } };
  }

  /**
   * Writes the snapshot durably: tmp, fsync, rename, fsync dir. Does not purge
   * older files: until the WAL's marker for this snapshot is synced, the WAL
   * still points at an older one (see `purge`).
   */
  save(snapshot: Snapshot): string {
    const name = snapshotName(snapshot.metadata);
    const temp = `${this.dir}/${name}${TEMP_SUFFIX}`;
    this.disk.write(temp, encodeSnapshotFile(snapshot));
    this.disk.fsync(temp);
    this.disk.rename(temp, `${this.dir}/${name}`);
    this.disk.fsyncDir(this.dir);
    return name;
  }

  /**
   * Starts a snapshot file to be written in parts, for a snapshot too large to
   * encode and write in one go without stalling its thread. Same atomic
   * sequence as `save`; the bytes on disk decode exactly as a saved file.
   */
  beginSave(metadata: SnapshotMetadata, options: SnapshotWriterOptions = {}): SnapshotWriter {
    return new SnapshotWriter(this.disk, this.dir, metadata, options);
  }

  /** Names of snapshot files, oldest (lowest index) first. */
  names(): string[] {
    return this.disk
      .list(this.dir)
      .filter((name) => SNAPSHOT_NAME.test(name))
      .sort((a, b) => parseName(a).index - parseName(b).index || parseName(a).term - parseName(b).term);
  }

  /**
   * The newest valid snapshot whose index is at most `indexMax` (or any, when
   * omitted) and, when `match` is given, whose index and term equal it; for a
   * link of a chain, the data of the whole chain. Invalid files (and chains)
   * met on the way are listed in `skipped`.
   */
  loadNewest(filter: { indexMax?: number; match?: Pick<SnapshotMetadata, 'index' | 'term'> } = {}): {
    snapshot: Snapshot | undefined;
    /** Where its data lies: its chain's files, oldest first (one for a snapshot that is not a link). */
    files?: SnapshotFileLayout[];
    skipped: SkippedSnapshot[];
  } {
    const skipped: SkippedSnapshot[] = [];
    const names = this.names();
    for (const name of [...names].reverse()) {
      const { index, term } = parseName(name);
      if (filter.indexMax !== undefined && index > filter.indexMax) continue;
      if (filter.match !== undefined && (index !== filter.match.index || term !== filter.match.term)) continue;
      const loaded = this.loadChain(name, names);
      if (loaded === undefined) continue;
      if (typeof loaded === 'string') {
        skipped.push({ name, reason: loaded });
        continue;
      }
      return { snapshot: loaded.snapshot, files: loaded.files, skipped };
    }
    return { snapshot: undefined, skipped };
  }

  /** The snapshot in `name` with the data of its whole chain; undefined if the file vanished, or why it cannot be used. */
  private loadChain(name: string, names: readonly string[]): { snapshot: Snapshot; files: SnapshotFileLayout[] } | string | undefined {
    const data: Uint8Array[] = [];
    const files: SnapshotFileLayout[] = [];
    let newest: Snapshot | undefined;
    for (let at: string | undefined = name, depth = 0; at !== undefined; depth++) {
      const { index, term, base } = parseName(at);
      const bytes = this.disk.read(`${this.dir}/${at}`);
      if (bytes === undefined) return depth === 0 ? undefined : `its chain's file ${at} is missing`;
      const laidOut = decodeSnapshotFileLaidOut(bytes, `${this.dir}/${at}`);
      if (typeof laidOut === 'string') return depth === 0 ? laidOut : `its chain's file ${at}: ${laidOut}`;
      const decoded = laidOut.snapshot;
      if (decoded.metadata.index !== index || decoded.metadata.term !== term) {
        return `${depth === 0 ? '' : `its chain's file ${at} `}holds the snapshot at index ${decoded.metadata.index} term ${decoded.metadata.term}, not what its name says`;
      }
      newest ??= decoded;
      data.push(decoded.data);
      files.push(laidOut.layout);
      if (base === undefined) break;
      if (base.index >= index) return `${at} names a base at index ${base.index}, not before its own`;
      // Any file of the base's index and term holds the same state (Raft applies the same entries to it).
      at = names.find((candidate) => { const parsed = parseName(candidate); return parsed.index === base.index && parsed.term === base.term; });
      if (at === undefined) return `its chain's file at index ${base.index} term ${base.term} is missing`;
    }
    return { snapshot: { metadata: newest!.metadata, data: data.length === 1 ? data[0]! : concatFrames(data.reverse()) }, files: files.reverse() };
  }

  /**
   * Removes all but the `retained` newest files and the files their chains
   * need. Call once the newest is the one the WAL's synced marker names. With `background`, off the thread
   * (unlinking a file of a gigabyte is not free); a removal a crash undoes
   * leaves a file the next purge removes.
   */
  purge(background = false): string[] {
    const names = this.names();
    // The chains of the files kept are kept whole: a link alone restores nothing.
    const kept = new Set(names.slice(Math.max(0, names.length - this.retained)));
    for (const name of [...kept]) {
      for (let base = parseName(name).base; base !== undefined; ) {
        const file = names.find((candidate) => { const parsed = parseName(candidate); return parsed.index === base!.index && parsed.term === base!.term; });
        if (file === undefined || kept.has(file)) break;
        kept.add(file);
        base = parseName(file).base;
      }
    }
    const excess = names.filter((name) => !kept.has(name));
    if (excess.length === 0) return excess;
    if (background) {
      // A failed unlink leaves an old file behind, which the next purge tries again: nothing to stop for.
      for (const name of excess) this.disk.inBackground({ type: 'remove', path: `${this.dir}/${name}` }, () => undefined, 'bulk');
      this.disk.inBackground({ type: 'fsyncDir', dir: this.dir }, () => undefined, 'bulk');
      return excess;
    }
    for (const name of excess) this.disk.remove(`${this.dir}/${name}`);
    this.disk.fsyncDir(this.dir);
    return excess;
  }
}

function parseName(name: string): { term: number; index: number; base?: SnapshotId } {
  const match = SNAPSHOT_NAME.exec(name);
  invariant(match !== null, `not a snapshot file name: ${name}`);
  const own = { term: Number.parseInt(match[1]!, 16), index: Number.parseInt(match[2]!, 16) };
  return match[3] === undefined ? own : { ...own, base: { term: Number.parseInt(match[3], 16), index: Number.parseInt(match[4]!, 16) } };
}

export interface SnapshotWriterOptions {
  /** A link of a chain: the snapshot this one follows (its data holds only what changed since). */
  base?: SnapshotId;
  /** With `base`: the data bytes of the chain before this link (the snapshot's whole data is those, then this file's). */
  baseDataBytes?: number;
  /** Largest payload of one record (smaller only in tests). */
  chunkBytes?: number;
  /**
   * Fsync the temporary file whenever this many bytes were written since the
   * last fsync, so the final fsync never has a gigabyte of dirty pages to
   * write while the thread waits.
   */
  syncEveryBytes?: number;
  /**
   * Write and fsync off the actor's thread (`Disk.inBackground`): each
   * `append` only asks the disk, and the file is finished with
   * `finishInBackground`. The thread that ticks Raft then never waits on the
   * disk for a snapshot — on this machine a megabyte's write(2) alone took
   * up to 160 ms while three replicas wrote theirs (docs/kv-bench.md). All of
   * it goes in the disk's `bulk` lane, so the WAL's fsyncs (the `log` lane)
   * never queue behind a snapshot's writeback.
   */
  background?: boolean;
}

/** Default for `syncEveryBytes`: a few milliseconds of writeback on an SSD. */
export const SNAPSHOT_SYNC_EVERY_BYTES_DEFAULT = 8 << 20;

/**
 * One snapshot file being written part by part (see `SnapshotStore.beginSave`).
 * Each `append` writes the previous part as a `snapshotFileChunk` record and
 * holds the new one back, so `finish` can write the last part as the
 * `snapshotFile` record that marks a whole file.
 */
export class SnapshotWriter {
  readonly name: string;
  /** Data bytes of the chain before this file (0 unless it is a link of a chain). */
  readonly baseDataBytes: number;
  private readonly temp: string;
  private readonly chunkBytes: number;
  private readonly syncEveryBytes: number;
  private held: Uint8Array;
  /** Whether `held` is a part of the data (the first held part is the metadata). */
  private heldIsData = false;
  /** Told once `held` (the last part of an append's data) is written: its buffer may then be reused. */
  private heldWritten: (() => void) | undefined;
  private unsyncedBytes = 0;
  private written = 0;
  private fileBytes = 0;
  private readonly pieces: SnapshotFilePiece[] = [];
  private state: 'open' | 'finishing' | 'finished' | 'aborted' = 'open';
  private readonly background: boolean;
  /** Bytes asked of the disk in the background and not yet written. */
  private backgroundBytesPending = 0;
  /** The first background operation that failed: the file is lost, the next call on the writer throws it. */
  private backgroundFailure: DiskError | undefined;
  /** Whether the temporary file was renamed into place (a finish in the background got that far). */
  private renamed = false;
  /** Called after each background write ends (`background` only): a caller that waits for room may go on. */
  onWritten: (() => void) | undefined;

  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
    readonly metadata: SnapshotMetadata,
    options: SnapshotWriterOptions,
  ) {
    this.chunkBytes = options.chunkBytes ?? RECORD_PAYLOAD_BYTES_MAX;
    this.syncEveryBytes = options.syncEveryBytes ?? SNAPSHOT_SYNC_EVERY_BYTES_DEFAULT;
    this.background = options.background ?? false;
    invariant(Number.isInteger(this.chunkBytes) && this.chunkBytes > 0 && this.chunkBytes <= RECORD_PAYLOAD_BYTES_MAX, `chunkBytes ${this.chunkBytes} must be 1..${RECORD_PAYLOAD_BYTES_MAX}`);
    this.name = snapshotName(metadata, options.base);
    this.baseDataBytes = options.base === undefined ? 0 : (options.baseDataBytes ?? 0);
    this.temp = `${dir}/${this.name}${TEMP_SUFFIX}`;
    const meta = encodeSnapshotMetadata(metadata);
    this.held = new Uint8Array(4 + meta.length);
    new DataView(this.held.buffer).setUint32(0, meta.length, true);
    this.held.set(meta, 4);
    this.disk.write(this.temp, new Uint8Array(0));
  }

  /** Bytes of the snapshot's data appended so far. */
  get dataBytes(): number {
    return this.written;
  }

  /** Whether this writer writes off the thread (`background`). */
  get writesInBackground(): boolean {
    return this.background;
  }

  /** The file is whole, durable and in place. */
  get isFinished(): boolean {
    return this.state === 'finished';
  }

  /** Bytes handed to the disk in the background and not yet written (0 without `background`). */
  get bytesInFlight(): number {
    return this.backgroundBytesPending;
  }

  /**
   * Appends the next part of the snapshot's data. `data` must stay unchanged
   * until it is written: the last part of it is held back until the next
   * append or the finish (see the class), and with `background` the disk is
   * only asked. `written` (if given) is called once it is all written — in a
   * later turn, or inside a later call on this writer — and never if the
   * writer is aborted first. Throws the error of a background write that failed.
   */
  append(data: Uint8Array, written?: () => void): void {
    invariant(this.state === 'open', () => `append to a snapshot writer that is ${this.state}`);
    this.throwBackgroundFailure();
    for (let at = 0; at < data.length; at += this.chunkBytes) {
      this.writeRecord(RecordType.snapshotFileChunk, this.held, this.heldIsData);
      this.held = data.subarray(at, Math.min(data.length, at + this.chunkBytes));
      this.heldIsData = true;
    }
    if (data.length > 0) this.heldWritten = written;
    else written?.();
    this.written += data.length;
    if (this.unsyncedBytes >= this.syncEveryBytes) {
      // In the background nobody waits for it: it only keeps the last fsync's writeback short.
      if (this.background) this.disk.inBackground({ type: 'fsync', path: this.temp }, (error) => this.backgroundEnded(0, error), 'bulk');
      else this.disk.fsync(this.temp);
      this.unsyncedBytes = 0;
    }
  }

  /**
   * `finish` off the thread (`background` writers): the last part, then
   * fsync, rename, fsync the directory, each fsync in the background; `done`
   * is called, as a turn of the actor, once the file is whole and durable
   * (or with the error that lost it). Not called if the writer is aborted
   * first.
   */
  finishInBackground(done: (error: DiskError | undefined) => void): void {
    invariant(this.background && this.state === 'open', () => `finish in the background a writer that is ${this.state}${this.background ? '' : ' and writes in the foreground'}`);
    this.throwBackgroundFailure();
    this.state = 'finishing';
    this.writeRecord(RecordType.snapshotFile, this.held, this.heldIsData);
    this.disk.inBackground({ type: 'fsync', path: this.temp }, (fsyncError) => {
      if (this.state === 'aborted') return;
      const error = fsyncError ?? this.backgroundFailure;
      if (error !== undefined) {
        this.abort();
        return done(error);
      }
      // A rename is a metadata update with nothing to write back: the fsync of the directory is what waits.
      this.disk.rename(this.temp, `${this.dir}/${this.name}`);
      this.renamed = true;
      this.disk.inBackground({ type: 'fsyncDir', dir: this.dir }, (dirError) => {
        if (this.state === 'aborted') return;
        if (dirError !== undefined) {
          this.abort();
          return done(dirError);
        }
        this.state = 'finished';
        done(undefined);
      }, 'bulk');
    }, 'bulk');
  }

  /** Writes the last part, then fsync, rename, fsync the directory: the file is whole and durable. Returns its name. */
  finish(): string {
    invariant(this.state === 'open', () => `finish a snapshot writer that is ${this.state}`);
    this.writeRecord(RecordType.snapshotFile, this.held, this.heldIsData);
    this.disk.fsync(this.temp);
    this.disk.rename(this.temp, `${this.dir}/${this.name}`);
    this.disk.fsyncDir(this.dir);
    this.state = 'finished';
    return this.name;
  }

  /** Removes the temporary file (or the file a finish in the background renamed but did not yet make durable); the store is as if the save never began. */
  abort(): void {
    if (this.state !== 'open' && this.state !== 'finishing') return;
    this.state = 'aborted';
    const path = this.renamed ? `${this.dir}/${this.name}` : this.temp;
    // Behind the writes still queued, which would otherwise bring the file back.
    if (this.background) this.disk.inBackground({ type: 'remove', path }, () => undefined, 'bulk');
    else this.disk.remove(path);
  }

  /** Where the data's parts lie in the finished file: to read it back a range at a time (`SnapshotFileReader`). */
  layout(): SnapshotFileLayout {
    invariant(this.state === 'finished', () => `the layout of a snapshot writer that is ${this.state}`);
    return { path: `${this.dir}/${this.name}`, dataBytes: this.written, pieces: [...this.pieces] };
  }

  private backgroundEnded(bytes: number, error: DiskError | undefined): void {
    this.backgroundBytesPending -= bytes;
    if (error !== undefined) this.backgroundFailure ??= error;
    if (this.state === 'open') this.onWritten?.();
  }

  private throwBackgroundFailure(): void {
    if (this.backgroundFailure !== undefined) throw this.backgroundFailure;
  }

  private writeRecord(type: RecordTypeNumber, payload: Uint8Array, isData: boolean): void {
    const written = this.heldWritten;
    this.heldWritten = undefined;
    // Header, then the payload as it is: no copy of a megabyte into a new frame per part (each one fed V8's GC).
    const header = encodeRecordHeader(type, payload);
    if (isData && payload.length > 0) {
      const last = this.pieces[this.pieces.length - 1];
      this.pieces.push({ dataOffset: last === undefined ? 0 : last.dataOffset + last.length, fileOffset: this.fileBytes + header.length, length: payload.length });
    }
    if (this.background) {
      const bytes = header.length + payload.length;
      this.backgroundBytesPending += bytes;
      this.disk.inBackground({ type: 'append', path: this.temp, data: header }, (error) => this.backgroundEnded(0, error), 'bulk');
      this.disk.inBackground({ type: 'append', path: this.temp, data: payload }, (error) => {
        this.backgroundEnded(bytes, error);
        if (error === undefined && this.state !== 'aborted') written?.();
      }, 'bulk');
    } else {
      this.disk.append(this.temp, header);
      this.disk.append(this.temp, payload);
      written?.();
    }
    this.fileBytes += header.length + payload.length;
    this.unsyncedBytes += header.length + payload.length;
  }
}

/** A contiguous run of a snapshot's data in its file. */
export interface SnapshotFilePiece {
  dataOffset: number;
  fileOffset: number;
  length: number;
}

export interface SnapshotFileLayout {
  path: string;
  dataBytes: number;
  pieces: SnapshotFilePiece[];
}

/**
 * A snapshot's data read back from its file a range at a time, so a replica
 * need not keep a gigabyte in memory to send it to a lagging follower. Each
 * piece was checksummed when written; a range read back is not checked again
 * (the follower decodes it, and a file that changed under us is a bug).
 */
export class SnapshotFileReader {
  readonly byteLength: number;

  /** @param layouts the files of a chain, oldest first (one file for a snapshot that is not a link) */
  constructor(
    private readonly disk: Disk,
    readonly layouts: readonly SnapshotFileLayout[],
  ) {
    this.byteLength = layouts.reduce((sum, layout) => sum + layout.dataBytes, 0);
  }

  /** Data bytes [offset, offset + length), or undefined when a file is gone (purged for a newer snapshot). */
  read(offset: number, length: number): Uint8Array | undefined {
    const end = Math.min(this.byteLength, offset + length);
    const out = new Uint8Array(Math.max(0, end - offset));
    let fileStart = 0;
    for (const layout of this.layouts) {
      for (const piece of layout.pieces) {
        const from = Math.max(offset, fileStart + piece.dataOffset);
        const to = Math.min(end, fileStart + piece.dataOffset + piece.length);
        if (from >= to) continue;
        const bytes = this.disk.readRange(layout.path, piece.fileOffset + (from - fileStart - piece.dataOffset), to - from);
        if (bytes === undefined || bytes.length !== to - from) return undefined;
        out.set(bytes, from - offset);
      }
      fileStart += layout.dataBytes;
    }
    return out;
  }
}
