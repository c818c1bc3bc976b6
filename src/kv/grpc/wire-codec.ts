/**
 * The protobuf wire format of the face's hot messages, read and written by
 * hand: Range, Put, DeleteRange and Txn requests into the shapes convert.ts
 * takes (as @grpc/proto-loader hands them over), and the store's responses
 * straight to bytes. proto-loader's codecs decode into a protobufjs message,
 * then build a second object of every field with its default (int64s through
 * Long into strings); on the way out they build the wire object
 * (`responseToWire`, a Buffer per key and value), a protobufjs message from it,
 * and then the bytes: three objects per field where one does. Every cross-
 * process call of `bench kv` goes through them on the thread that serves it.
 *
 * Exactness: a request the reader is not sure of (a wire type other than the
 * field's, a group, an embedded message given twice, a truncated field) makes
 * it return undefined, and the caller decodes it with proto-loader as before,
 * so odd input gets the same answer as before. Unknown fields are skipped, as
 * protobuf requires. wire-codec.test.ts checks both ways against proto-loader.
 *
 * Pure: no sockets, no clock.
 */
import type { KeyValue, ResponseOp } from '../protocol.js';
import type { WireCompare, WireDeleteRangeRequest, WirePutRequest, WireRangeRequest, WireRequestOp, WireTxnRequest } from './convert.js';

/** Thrown inside the reader when it leaves the message to proto-loader. */
const UNSURE = Symbol('unsure');

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Enum names as rpc.proto spells them (proto-loader's `enums: String`); an unknown number stays a number, as there. */
const SORT_ORDERS = ['None', 'Ascend', 'Descend'];
const SORT_TARGETS = ['Key', 'Version', 'Create', 'Mod', 'Value'];
const COMPARE_RESULTS = ['Equal', 'Greater', 'Less', 'NotEqual'];
const COMPARE_TARGETS = ['Version', 'Create', 'Mod', 'Value', 'Lease'];
const enumName = (names: readonly string[], n: number | string): string | number => (typeof n === 'number' ? (names[n] ?? n) : n);

class Reader {
  pos: number;
  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start;
  }

  /** A varint as int64 (two's complement past 2^63), a number when safe, else its decimal string (as proto-loader's `longs: String`). */
  varint(): number | string {
    const buf = this.buf;
    const start = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw UNSURE;
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    // Past 49 bits: exactly, through BigInt.
    let big = 0n;
    let shift = 0n;
    this.pos = start;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw UNSURE;
      const b = buf[this.pos++]!;
      big |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        const signed = BigInt.asIntN(64, big);
        const n = Number(signed);
        return Number.isSafeInteger(n) ? n : signed.toString();
      }
      shift += 7n;
    }
    throw UNSURE;
  }

  /** A tag, a length or an enum: well under 2^31 in any message this face takes. */
  small(): number {
    const v = this.varint();
    if (typeof v !== 'number' || v > 0x7fffffff) throw UNSURE;
    return v;
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** A length-delimited field's bounds. */
  span(): [number, number] {
    const length = this.small();
    const start = this.pos;
    if (start + length > this.end) throw UNSURE;
    this.pos = start + length;
    return [start, start + length];
  }

  bytes(): Buffer {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.pos += 8;
        break;
      case LENGTH_DELIMITED:
        this.span();
        return;
      case FIXED32:
        this.pos += 4;
        break;
      default:
        throw UNSURE;
    }
    if (this.pos > this.end) throw UNSURE;
  }
}

/** Runs `read`; undefined when the reader is unsure (the caller then decodes with proto-loader). */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error === UNSURE) return undefined;
    throw error;
  }
}

function expect(wireType: number, wanted: number): void {
  if (wireType !== wanted) throw UNSURE;
}

/** A scalar field: how it is read, and its name in the shape convert.ts takes. */
type ScalarKind = 'bytes' | 'int64' | 'bool' | readonly string[];
type ScalarFields = ReadonlyArray<readonly [string, ScalarKind] | undefined>;

/** A message of scalar fields, indexed by field number; unknown fields skipped, the last of a repeated scalar kept (protobuf's rules). */
function readScalars<T>(r: Reader, fields: ScalarFields): T {
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const tag = r.small();
    const wireType = tag & 7;
    const spec = fields[tag >>> 3];
    if (spec === undefined) {
      r.skip(wireType);
      continue;
    }
    const [name, kind] = spec;
    if (kind === 'bytes') {
      expect(wireType, LENGTH_DELIMITED);
      out[name] = r.bytes();
    } else {
      expect(wireType, VARINT);
      const v = r.varint();
      out[name] = kind === 'int64' ? v : kind === 'bool' ? v !== 0 : enumName(kind, v);
    }
  }
  return out as T;
}

const RANGE_FIELDS: ScalarFields = [
  undefined, ['key', 'bytes'], ['range_end', 'bytes'], ['limit', 'int64'], ['revision', 'int64'], ['sort_order', SORT_ORDERS], ['sort_target', SORT_TARGETS],
  ['serializable', 'bool'], ['keys_only', 'bool'], ['count_only', 'bool'],
  ['min_mod_revision', 'int64'], ['max_mod_revision', 'int64'], ['min_create_revision', 'int64'], ['max_create_revision', 'int64'],
];
const PUT_FIELDS: ScalarFields = [undefined, ['key', 'bytes'], ['value', 'bytes'], ['lease', 'int64'], ['prev_kv', 'bool'], ['ignore_value', 'bool'], ['ignore_lease', 'bool']];
const DELETE_FIELDS: ScalarFields = [undefined, ['key', 'bytes'], ['range_end', 'bytes'], ['prev_kv', 'bool']];

const readRange = (r: Reader): WireRangeRequest => readScalars(r, RANGE_FIELDS);
const readPut = (r: Reader): WirePutRequest => readScalars(r, PUT_FIELDS);
const readDelete = (r: Reader): WireDeleteRangeRequest => readScalars(r, DELETE_FIELDS);

const TARGET_UNION = ['', '', '', '', 'version', 'create_revision', 'mod_revision', 'value', 'lease'] as const;

function readCompare(r: Reader): WireCompare {
  const out: WireCompare = {};
  while (r.pos < r.end) {
    const tag = r.small();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if ((field >= 1 && field <= 8) || field === 64) expect(wireType, field === 3 || field === 7 || field === 64 ? LENGTH_DELIMITED : VARINT);
    switch (field) {
      case 1: out.result = enumName(COMPARE_RESULTS, r.varint()) as string; break;
      case 2: out.target = enumName(COMPARE_TARGETS, r.varint()) as string; break;
      case 3: out.key = r.bytes(); break;
      case 4: case 5: case 6: case 8: {
        // A oneof: the last member given is the one set, as protobuf decodes it.
        for (const member of ['version', 'create_revision', 'mod_revision', 'value', 'lease'] as const) delete out[member];
        const name = TARGET_UNION[field] as 'version' | 'create_revision' | 'mod_revision' | 'lease';
        out[name] = r.varint();
        out.target_union = name;
        break;
      }
      case 7:
        for (const member of ['version', 'create_revision', 'mod_revision', 'lease'] as const) delete out[member];
        out.value = r.bytes();
        out.target_union = 'value';
        break;
      case 64: out.range_end = r.bytes(); break;
      default: r.skip(wireType);
    }
  }
  return out;
}

/** Each embedded-message field numbered 1 to `last` of a message of them alone, as a reader of its own; other fields skipped. */
function eachMessageField(r: Reader, last: number, onField: (field: number, inner: Reader) => void): void {
  while (r.pos < r.end) {
    const tag = r.small();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field < 1 || field > last) {
      r.skip(wireType);
      continue;
    }
    expect(wireType, LENGTH_DELIMITED);
    const [start, end] = r.span();
    onField(field, new Reader(r.buf, start, end));
  }
}

const REQUEST_OPS = ['', 'request_range', 'request_put', 'request_delete_range', 'request_txn'] as const;

function readRequestOp(r: Reader): WireRequestOp {
  const out: WireRequestOp = {};
  eachMessageField(r, 4, (field, inner) => {
    // One member of the oneof, once: a member given twice is merged by protobuf, left to proto-loader here.
    if (out.request !== undefined) throw UNSURE;
    switch (field) {
      case 1: out.request_range = readRange(inner); break;
      case 2: out.request_put = readPut(inner); break;
      case 3: out.request_delete_range = readDelete(inner); break;
      default: out.request_txn = readTxn(inner);
    }
    out.request = REQUEST_OPS[field];
  });
  return out;
}

function readTxn(r: Reader): WireTxnRequest {
  const out: Required<WireTxnRequest> = { compare: [], success: [], failure: [] };
  eachMessageField(r, 3, (field, inner) => {
    if (field === 1) out.compare.push(readCompare(inner));
    else (field === 2 ? out.success : out.failure).push(readRequestOp(inner));
  });
  return out;
}

const whole = <T>(read: (r: Reader) => T) => (bytes: Buffer): T | undefined => attempt(() => read(new Reader(bytes, 0, bytes.length)));

/** Each request as proto-loader would hand it to convert.ts, or undefined for proto-loader to decode. */
export const readRangeRequest = whole(readRange);
export const readPutRequest = whole(readPut);
export const readDeleteRangeRequest = whole(readDelete);
export const readTxnRequest = whole(readTxn);

// ------------------------------------------------------------------ writing

/** Bytes of a varint of a non-negative safe integer, or of a negative int64 (always ten). */
function varintSize(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/**
 * The response's size is computed first (`measure`), then written into one
 * buffer of that size: nothing is copied twice. Lengths of nested messages
 * are kept from the measuring pass in `lengths`, in the order they are written.
 */
class Writer {
  buf!: Buffer;
  pos = 0;
  readonly lengths: number[] = [];
  next = 0;

  varint(n: number): void {
    if (n < 0) {
      // int64's two's complement: ten bytes.
      let v = BigInt.asUintN(64, BigInt(n));
      for (let i = 0; i < 9; i++) {
        this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      this.buf[this.pos++] = Number(v);
      return;
    }
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
}

/** Size of field `tag` (already shifted) holding varint `n`, left out when 0 (proto3). */
const varintField = (n: number): number => (n === 0 ? 0 : 1 + varintSize(n));
const stringField = (bytes: number): number => (bytes === 0 ? 0 : 1 + varintSize(bytes) + bytes);
const messageField = (bytes: number): number => 1 + varintSize(bytes) + bytes;

function writeVarintField(w: Writer, tag: number, n: number): void {
  if (n === 0) return;
  w.buf[w.pos++] = tag;
  w.varint(n);
}

function writeStringField(w: Writer, tag: number, text: string, bytes: number): void {
  if (bytes === 0) return;
  w.buf[w.pos++] = tag;
  w.varint(bytes);
  w.pos += w.buf.write(text, w.pos, bytes, 'utf8');
}

/** ResponseHeader: only the revision (cluster, member and term are 0: see headerToWire). */
const headerSize = (revision: number): number => varintField(revision);

function writeHeader(w: Writer, revision: number): void {
  const size = headerSize(revision);
  w.buf[w.pos++] = 0x0a; // field 1, length-delimited
  w.varint(size);
  writeVarintField(w, 0x18, revision); // field 3
}

/** mvccpb.KeyValue's size; its key and value byte lengths are kept for the writing pass. */
function measureKv(w: Writer, kv: KeyValue): number {
  const keyBytes = Buffer.byteLength(kv.key, 'utf8');
  const valueBytes = Buffer.byteLength(kv.value, 'utf8');
  w.lengths.push(keyBytes, valueBytes);
  const size = stringField(keyBytes) + varintField(kv.createRevision) + varintField(kv.modRevision) + varintField(kv.version) + stringField(valueBytes) + varintField(kv.lease);
  w.lengths.push(size);
  return size;
}

function writeKv(w: Writer, tag: number, kv: KeyValue): void {
  const keyBytes = w.lengths[w.next++]!;
  const valueBytes = w.lengths[w.next++]!;
  const size = w.lengths[w.next++]!;
  w.buf[w.pos++] = tag;
  w.varint(size);
  writeStringField(w, 0x0a, kv.key, keyBytes);
  writeVarintField(w, 0x10, kv.createRevision);
  writeVarintField(w, 0x18, kv.modRevision);
  writeVarintField(w, 0x20, kv.version);
  writeStringField(w, 0x2a, kv.value, valueBytes);
  writeVarintField(w, 0x30, kv.lease);
}

/** A response's size (its fields, not its own tag and length); nested lengths pushed in writing order. */
function measureResponse(w: Writer, r: ResponseOp): number {
  let size = messageField(headerSize(r.header.revision));
  switch (r.type) {
    case 'range':
      for (const kv of r.kvs) size += messageField(measureKv(w, kv));
      return size + (r.more ? 2 : 0) + varintField(r.count);
    case 'put':
      return r.prevKv === undefined ? size : size + messageField(measureKv(w, r.prevKv));
    case 'deleteRange':
      size += varintField(r.deleted);
      for (const kv of r.prevKvs) size += messageField(measureKv(w, kv));
      return size;
    case 'txn':
      size += r.succeeded ? 2 : 0;
      for (const op of r.responses) {
        // ResponseOp holds one response (its own tag and length), and is itself a field of the txn response.
        const at = w.lengths.length;
        w.lengths.push(0);
        const inner = measureResponse(w, op);
        w.lengths[at] = inner;
        size += messageField(messageField(inner));
      }
      return size;
  }
}

const RESPONSE_OP_TAGS = { range: 0x0a, put: 0x12, deleteRange: 0x1a, txn: 0x22 } as const;

function writeResponse(w: Writer, r: ResponseOp): void {
  writeHeader(w, r.header.revision);
  switch (r.type) {
    case 'range':
      for (const kv of r.kvs) writeKv(w, 0x12, kv);
      if (r.more) {
        w.buf[w.pos++] = 0x18;
        w.buf[w.pos++] = 1;
      }
      writeVarintField(w, 0x20, r.count);
      return;
    case 'put':
      if (r.prevKv !== undefined) writeKv(w, 0x12, r.prevKv);
      return;
    case 'deleteRange':
      writeVarintField(w, 0x10, r.deleted);
      for (const kv of r.prevKvs) writeKv(w, 0x1a, kv);
      return;
    case 'txn':
      if (r.succeeded) {
        w.buf[w.pos++] = 0x10;
        w.buf[w.pos++] = 1;
      }
      for (const op of r.responses) {
        const inner = w.lengths[w.next++]!;
        w.buf[w.pos++] = 0x1a; // TxnResponse.responses
        w.varint(messageField(inner));
        w.buf[w.pos++] = RESPONSE_OP_TAGS[op.type];
        w.varint(inner);
        writeResponse(w, op);
      }
      return;
  }
}

/**
 * A response as etcd's RangeResponse, PutResponse, DeleteRangeResponse or
 * TxnResponse (by its type), after `reserve` bytes left for the caller (the
 * gRPC frame's 5-byte prefix), so the message is never copied into a frame.
 */
export function writeResponseMessage(r: ResponseOp, reserve = 0): Buffer {
  const w = new Writer();
  const size = measureResponse(w, r);
  w.buf = Buffer.allocUnsafe(reserve + size);
  w.pos = reserve;
  writeResponse(w, r);
  if (w.pos !== reserve + size) throw new Error(`wire-codec: wrote ${w.pos - reserve} bytes of a ${size}-byte ${r.type} response`);
  return w.buf;
}
