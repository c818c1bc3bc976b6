/**
 * Payload layouts of WAL records. Entries and hard states are hand-rolled
 * fixed layouts (they are written on every Raft step, and a fixed layout is
 * both faster than msgpack and trivially versioned by the record type);
 * snapshot metadata is rare and variable-sized, so it is msgpack.
 *
 * Integers are stored as two u32 halves (high, low): terms and indexes are
 * integers below 2^53, which a JS number holds exactly.
 */
import { pack, unpack } from 'msgpackr';
import type { Entry, EntryType, HardState, SnapshotMetadata } from '../raft/types.js';
import { StorageError } from './errors.js';
import type { WalSnapshotRecord } from './log-shape.js';

/** Record types in WAL segments and snapshot files. Never reuse a number: old files keep their meaning. */
export const RecordType = {
  entry: 1,
  hardState: 2,
  snapshot: 3,
  snapshotFile: 4,
  /** A snapshot file's payload too large for one record: every part but the last (which is a `snapshotFile`). */
  snapshotFileChunk: 5,
} as const;
export type RecordTypeNumber = (typeof RecordType)[keyof typeof RecordType];

const ENTRY_HEADER_BYTES = 17;
const HARD_STATE_BYTES = 24;
const TWO_POW_32 = 2 ** 32;

function setU53(view: DataView, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${field} ${value} is not a non-negative safe integer`);
  view.setUint32(offset, Math.floor(value / TWO_POW_32), true);
  view.setUint32(offset + 4, value >>> 0, true);
}

function getU53(view: DataView, offset: number): number {
  return view.getUint32(offset, true) * TWO_POW_32 + view.getUint32(offset + 4, true);
}

function entryTypeCode(type: EntryType): number {
  switch (type) {
    case 'normal':
      return 1;
    case 'confChange':
      return 2;
  }
}

export function encodeEntry(entry: Entry): Uint8Array {
  const out = new Uint8Array(entryPayloadBytes(entry));
  writeEntry(out, 0, entry);
  return out;
}

/** Bytes `encodeEntry` gives for this entry. */
export function entryPayloadBytes(entry: Entry): number {
  return ENTRY_HEADER_BYTES + entry.data.length;
}

/**
 * Writes `encodeEntry(entry)` into `out` at `offset`. `outView`, a DataView of the whole of `out` (as its bytes
 * start), spares a view per entry to a writer that writes many (the WAL's append).
 */
export function writeEntry(out: Uint8Array, offset: number, entry: Entry, outView?: DataView): void {
  const view = outView ?? new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[offset] = entryTypeCode(entry.type);
  setU53(view, offset + 1, entry.term, 'entry term');
  setU53(view, offset + 9, entry.index, 'entry index');
  out.set(entry.data, offset + ENTRY_HEADER_BYTES);
}

export function decodeEntry(payload: Uint8Array): Entry {
  if (payload.length < ENTRY_HEADER_BYTES) throw undecodable('entry', `${payload.length} bytes is shorter than its header`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const code = payload[0];
  const type: EntryType | undefined = code === 1 ? 'normal' : code === 2 ? 'confChange' : undefined;
  if (type === undefined) throw undecodable('entry', `unknown entry type code ${code}`);
  // Copy the data into a plain Uint8Array: the payload is a view into a whole segment (maybe a Buffer,
  // whose slice() is another view) that must not stay alive for one entry.
  return { term: getU53(view, 1), index: getU53(view, 9), type, data: new Uint8Array(payload.subarray(ENTRY_HEADER_BYTES)) };
}

export function encodeHardState(hardState: HardState): Uint8Array {
  const out = new Uint8Array(HARD_STATE_BYTES);
  const view = new DataView(out.buffer);
  setU53(view, 0, hardState.term, 'hard state term');
  setU53(view, 8, hardState.vote, 'hard state vote');
  setU53(view, 16, hardState.commit, 'hard state commit');
  return out;
}

export function decodeHardState(payload: Uint8Array): HardState {
  if (payload.length !== HARD_STATE_BYTES) throw undecodable('hard state', `${payload.length} bytes, expected ${HARD_STATE_BYTES}`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { term: getU53(view, 0), vote: getU53(view, 8), commit: getU53(view, 16) };
}

/** A joint configuration adds three fields; a plain one keeps the four-field shape older files have. */
export function encodeSnapshotMetadata(metadata: SnapshotMetadata): Uint8Array {
  const cs = metadata.confState;
  if ((cs.votersOutgoing?.length ?? 0) > 0) return pack([metadata.index, metadata.term, cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext ?? [], cs.autoLeave === true]);
  return pack([metadata.index, metadata.term, cs.voters, cs.learners]);
}

export function decodeSnapshotMetadata(payload: Uint8Array): SnapshotMetadata {
  let decoded: unknown;
  try {
    decoded = unpack(payload);
  } catch (error) {
    throw undecodable('snapshot metadata', String(error));
  }
  if (
    !Array.isArray(decoded) ||
    (decoded.length !== 4 && decoded.length !== 7) ||
    !Number.isSafeInteger(decoded[0]) ||
    !Number.isSafeInteger(decoded[1]) ||
    !isIdList(decoded[2]) ||
    !isIdList(decoded[3]) ||
    (decoded.length === 7 && (!isIdList(decoded[4]) || !isIdList(decoded[5]) || typeof decoded[6] !== 'boolean'))
  ) {
    throw undecodable('snapshot metadata', 'unexpected shape');
  }
  const [index, term, voters, learners] = decoded as [number, number, number[], number[]];
  if (decoded.length === 4) return { index, term, confState: { voters, learners } };
  const [, , , , votersOutgoing, learnersNext, autoLeave] = decoded as [number, number, number[], number[], number[], number[], boolean];
  return { index, term, confState: { voters, learners, votersOutgoing, learnersNext, autoLeave } };
}

export function encodeWalSnapshot(record: WalSnapshotRecord): Uint8Array {
  return pack([record.retainLog, encodeSnapshotMetadata(record.metadata)]);
}

export function decodeWalSnapshot(payload: Uint8Array): WalSnapshotRecord {
  let decoded: unknown;
  try {
    decoded = unpack(payload);
  } catch (error) {
    throw undecodable('WAL snapshot', String(error));
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'boolean' || !(decoded[1] instanceof Uint8Array)) {
    throw undecodable('WAL snapshot', 'unexpected shape');
  }
  return { retainLog: decoded[0], metadata: decodeSnapshotMetadata(decoded[1]) };
}

function isIdList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((id) => Number.isSafeInteger(id) && id > 0);
}

function undecodable(what: string, detail: string): StorageError {
  return new StorageError(
    'undecodable',
    `a ${what} record passed its checksum but cannot be decoded (${detail}); ` +
      'the files were written by another format version or by a bug — they are left untouched',
  );
}
