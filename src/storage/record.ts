/**
 * The record frame shared by WAL segments and snapshot files.
 *
 * ```
 * offset  size  field
 *      0     4  payloadBytes   u32 LE
 *      4     1  type           1..255 (0 is never written: zero-filled space is not a record)
 *      5     3  reserved       zero
 *      8     4  payloadCrc     CRC-32C of the payload, u32 LE
 *     12     4  headerCrc      CRC-32C of bytes 0..12, u32 LE
 *     16     n  payload
 * ```
 *
 * The header has its own checksum so that a flipped bit in the length field is
 * reported as corruption rather than mistaken for a record torn by a crash
 * (a corrupt length would otherwise point past the end of the file).
 * Consequence: "torn" is only ever said of a record whose header is intact and
 * whose bytes simply stop, or whose header itself is cut short.
 */
import { crc32c, crc32cUpdate } from './crc32c.js';

export const RECORD_HEADER_BYTES = 16;
/**
 * Largest payload one record may carry. Big enough for a snapshot of the
 * whole MVCC store of a large test cluster; small enough that a record can
 * always be built in memory. Writers refuse anything larger.
 */
export const RECORD_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;

export interface DecodedRecord {
  type: number;
  /** A view into the decoded buffer (not a copy). */
  payload: Uint8Array;
  /** Byte offset of the record's header in the buffer. */
  offset: number;
  /** Byte offset just past the record. */
  end: number;
}

export type TornReason = 'header-incomplete' | 'payload-incomplete';
export type CorruptReason = 'header-checksum' | 'payload-checksum' | 'reserved-bytes' | 'type-zero' | 'payload-too-large';

/** Why decoding stopped before the end of the buffer. */
export type TailProblem =
  | { kind: 'torn'; reason: TornReason; offset: number; bytes: number }
  | { kind: 'corrupt'; reason: CorruptReason; offset: number; bytes: number };

export interface DecodeResult {
  records: DecodedRecord[];
  /** Bytes from the start that hold whole, valid records: where a writer should truncate to. */
  validBytes: number;
  /** Set when bytes after `validBytes` could not be decoded; `bytes` is how many would be cut. */
  problem: TailProblem | undefined;
}

export function encodeRecord(type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  frame.set(encodeRecordHeader(type, payload), 0);
  frame.set(payload, RECORD_HEADER_BYTES);
  return frame;
}

/**
 * The header of the record `encodeRecord` would make, alone: a writer that
 * appends the header and then the payload writes the same bytes without
 * copying a large payload (a snapshot part of a megabyte) into a new frame.
 */
export function encodeRecordHeader(type: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 1 || type > 255) throw new RangeError(`record type ${type} outside 1..255`);
  if (payload.length > RECORD_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`record payload of ${payload.length} bytes exceeds the limit of ${RECORD_PAYLOAD_BYTES_MAX}`);
  }
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, payload.length, true);
  header[4] = type;
  view.setUint32(8, crc32c(payload), true);
  view.setUint32(12, crc32cUpdate(0, header, 0, 12), true);
  return header;
}

/**
 * Seals a record whose payload is already in place at `offset + RECORD_HEADER_BYTES`
 * of `out`: writes its header (length, type, both checksums). Lets a writer build
 * a batch of records in one buffer instead of a payload, a frame and a
 * concatenation per record; the bytes are exactly `encodeRecord`'s.
 */
export function sealRecord(out: Uint8Array, offset: number, type: number, payloadBytes: number, outView?: DataView): void {
  if (!Number.isInteger(type) || type < 1 || type > 255) throw new RangeError(`record type ${type} outside 1..255`);
  if (payloadBytes > RECORD_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`record payload of ${payloadBytes} bytes exceeds the limit of ${RECORD_PAYLOAD_BYTES_MAX}`);
  }
  // `outView`: a DataView of the whole of `out`, as writeEntry's (one for a batch of records, not one per record).
  const view = outView ?? new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(offset, payloadBytes, true);
  out[offset + 4] = type;
  out[offset + 5] = 0;
  out[offset + 6] = 0;
  out[offset + 7] = 0;
  const payloadStart = offset + RECORD_HEADER_BYTES;
  view.setUint32(offset + 8, crc32cUpdate(0, out, payloadStart, payloadStart + payloadBytes), true);
  view.setUint32(offset + 12, crc32cUpdate(0, out, offset, offset + 12), true);
}

/** Concatenates frames so a batch of records reaches the disk in one append. */
export function concatFrames(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const frame of frames) total += frame.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

/**
 * Decodes records from the start of `bytes` until the end or the first bad
 * record. Never throws on bad input: a bad record and everything after it is
 * described in `problem`, never skipped over (a later record cannot be trusted
 * to follow a broken one).
 */
export function decodeRecords(bytes: Uint8Array): DecodeResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: DecodedRecord[] = [];
  let offset = 0;
  const stop = (problem: TailProblem): DecodeResult => ({ records, validBytes: offset, problem });
  while (offset < bytes.length) {
    const remaining = bytes.length - offset;
    if (remaining < RECORD_HEADER_BYTES) {
      return stop({ kind: 'torn', reason: 'header-incomplete', offset, bytes: remaining });
    }
    if (crc32cUpdate(0, bytes, offset, offset + 12) !== view.getUint32(offset + 12, true)) {
      return stop({ kind: 'corrupt', reason: 'header-checksum', offset, bytes: remaining });
    }
    const payloadBytes = view.getUint32(offset, true);
    const type = bytes[offset + 4]!;
    if (type === 0) return stop({ kind: 'corrupt', reason: 'type-zero', offset, bytes: remaining });
    if (bytes[offset + 5] !== 0 || bytes[offset + 6] !== 0 || bytes[offset + 7] !== 0) {
      return stop({ kind: 'corrupt', reason: 'reserved-bytes', offset, bytes: remaining });
    }
    if (payloadBytes > RECORD_PAYLOAD_BYTES_MAX) {
      return stop({ kind: 'corrupt', reason: 'payload-too-large', offset, bytes: remaining });
    }
    const end = offset + RECORD_HEADER_BYTES + payloadBytes;
    if (end > bytes.length) return stop({ kind: 'torn', reason: 'payload-incomplete', offset, bytes: remaining });
    if (crc32cUpdate(0, bytes, offset + RECORD_HEADER_BYTES, end) !== view.getUint32(offset + 8, true)) {
      return stop({ kind: 'corrupt', reason: 'payload-checksum', offset, bytes: remaining });
    }
    records.push({ type, payload: bytes.subarray(offset + RECORD_HEADER_BYTES, end), offset, end });
    offset = end;
  }
  return { records, validBytes: offset, problem: undefined };
}
