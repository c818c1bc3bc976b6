/**
 * The hand-written codec against @grpc/proto-loader's (what the face used before, and what etcd3 speaks):
 * random requests encoded by proto-loader must convert to the same store request, or fail with the same
 * status, through either reader; random responses written by hand must decode, through proto-loader, to
 * what proto-loader's own encoding of `responseToWire` decodes to.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type * as protoLoader from '@grpc/proto-loader';
import { Prng } from '../../actor/prng.js';
import type { KeyValue, ResponseOp } from '../protocol.js';
import { deleteFromWire, putFromWire, rangeFromWire, responseToWire, txnFromWire } from './convert.js';
import { loadKvService } from './server.js';
import { readDeleteRangeRequest, readPutRequest, readRangeRequest, readTxnRequest, writeResponseMessage } from './wire-codec.js';

const service = loadKvService();
const method = (name: string) => service[name] as protoLoader.MethodDefinition<object, object>;

/** A seeded sequence, so a failure names the case that broke. */
function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.next();
}

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const maybe = (rand: Rand, p = 0.5): boolean => rand() < p;

/** Keys and values: ASCII, multi-byte UTF-8, empty, and now and then bytes that are not UTF-8. */
function bytes(rand: Rand): Buffer {
  switch (Math.floor(rand() * 6)) {
    case 0: return Buffer.alloc(0);
    case 1: return Buffer.from([0xff, 0xfe, Math.floor(rand() * 256)]);
    case 2: return Buffer.from(`/k/é☃${Math.floor(rand() * 1e6)}`, 'utf8');
    case 3: return Buffer.from('x'.repeat(Math.floor(rand() * 300)), 'utf8');
    default: return Buffer.from(`/bench/${Math.floor(rand() * 1e9)}`, 'utf8');
  }
}

/** int64s as proto-loader takes them: small, large, past 2^53, negative. */
function int64(rand: Rand): string | number {
  return pick(rand, [0, 1, 7, 127, 128, 300, 16_384, 2 ** 31, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, '9007199254740993', '-1', '-300', '9223372036854775807', '-9223372036854775808']);
}

function rangeRequest(rand: Rand): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  if (maybe(rand, 0.9)) r.key = bytes(rand);
  if (maybe(rand, 0.3)) r.range_end = bytes(rand);
  if (maybe(rand, 0.3)) r.limit = int64(rand);
  if (maybe(rand, 0.3)) r.revision = int64(rand);
  if (maybe(rand, 0.2)) r.sort_order = pick(rand, ['None', 'Ascend', 'Descend']);
  if (maybe(rand, 0.2)) r.sort_target = pick(rand, ['Key', 'Version', 'Create', 'Mod', 'Value']);
  for (const f of ['serializable', 'keys_only', 'count_only']) if (maybe(rand, 0.3)) r[f] = maybe(rand);
  for (const f of ['min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision']) if (maybe(rand, 0.05)) r[f] = int64(rand);
  return r;
}

function putRequest(rand: Rand): Record<string, unknown> {
  const r: Record<string, unknown> = { key: bytes(rand), value: bytes(rand) };
  if (maybe(rand, 0.3)) r.lease = int64(rand);
  if (maybe(rand, 0.3)) r.prev_kv = maybe(rand);
  if (maybe(rand, 0.05)) r.ignore_value = true;
  if (maybe(rand, 0.05)) r.ignore_lease = true;
  return r;
}

function deleteRequest(rand: Rand): Record<string, unknown> {
  const r: Record<string, unknown> = { key: bytes(rand) };
  if (maybe(rand, 0.5)) r.range_end = bytes(rand);
  if (maybe(rand, 0.5)) r.prev_kv = maybe(rand);
  return r;
}

function compare(rand: Rand): Record<string, unknown> {
  const c: Record<string, unknown> = { key: bytes(rand) };
  if (maybe(rand, 0.8)) c.result = pick(rand, ['Equal', 'Greater', 'Less', 'NotEqual']);
  const target = pick(rand, ['Version', 'Create', 'Mod', 'Value', 'Lease']);
  if (maybe(rand, 0.8)) c.target = target;
  const member = pick(rand, ['version', 'create_revision', 'mod_revision', 'value', 'lease', undefined]);
  if (member === 'value') c.value = bytes(rand);
  else if (member !== undefined) c[member] = int64(rand);
  if (maybe(rand, 0.2)) c.range_end = bytes(rand);
  return c;
}

function requestOp(rand: Rand, depth: number): Record<string, unknown> {
  switch (Math.floor(rand() * (depth > 0 ? 4 : 3))) {
    case 0: return { request_range: rangeRequest(rand) };
    case 1: return { request_put: putRequest(rand) };
    case 2: return { request_delete_range: deleteRequest(rand) };
    default: return { request_txn: txnRequest(rand, depth - 1) };
  }
}

function txnRequest(rand: Rand, depth = 2): Record<string, unknown> {
  const n = (max: number) => Math.floor(rand() * (max + 1));
  return {
    compare: Array.from({ length: n(3) }, () => compare(rand)),
    success: Array.from({ length: n(3) }, () => requestOp(rand, depth)),
    failure: Array.from({ length: n(2) }, () => requestOp(rand, depth)),
  };
}

/** What converting a request does: its store request, or the status it fails with. */
function outcome<W>(convert: (w: W) => unknown, wire: W): unknown {
  try {
    return { ok: convert(wire) };
  } catch (error) {
    return { failed: error instanceof Error ? `${error.name}: ${(error as { code?: number }).code} ${error.message}` : String(error) };
  }
}

/** A field this face does not know, of each wire type: protobuf readers skip them. */
const tag = (field: number, wireType: number): number[] => varint(field * 8 + wireType);
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}
const UNKNOWN_FIELDS = Buffer.from([...tag(99, 0), 0x96, 0x01, ...tag(100, 2), 3, 0x61, 0x62, 0x63, ...tag(101, 5), 1, 2, 3, 4, ...tag(102, 1), 1, 2, 3, 4, 5, 6, 7, 8]);

const REQUESTS = [
  { name: 'Range', make: rangeRequest, read: readRangeRequest, convert: rangeFromWire },
  { name: 'Put', make: putRequest, read: readPutRequest, convert: putFromWire },
  { name: 'DeleteRange', make: deleteRequest, read: readDeleteRangeRequest, convert: deleteFromWire },
  { name: 'Txn', make: (rand: Rand) => txnRequest(rand), read: readTxnRequest, convert: txnFromWire },
] as const;

describe('the face\'s hand-written protobuf codec', () => {
  for (const { name, make, read, convert } of REQUESTS) {
    test(`${name} requests: the same store request or the same refusal as through proto-loader, unknown fields skipped (2,000 random)`, () => {
      const rand = prng(name.length * 7919);
      const definition = method(name);
      for (let i = 0; i < 2_000; i++) {
        const wire = make(rand);
        const encoded = definition.requestSerialize(wire);
        const bytes = maybe(rand, 0.2) ? Buffer.concat([encoded, UNKNOWN_FIELDS]) : encoded;
        const fast = read(bytes);
        assert.ok(fast !== undefined, `${name} #${i}: a well-formed request is read by hand`);
        const expected = outcome(convert as (w: unknown) => unknown, definition.requestDeserialize(bytes));
        assert.deepEqual(outcome(convert as (w: unknown) => unknown, fast), expected, `${name} #${i}: ${JSON.stringify(wire)}`);
      }
    });
  }

  test('a request the reader is unsure of is left to proto-loader: a wrong wire type, a truncated field, a group', () => {
    assert.equal(readRangeRequest(Buffer.from([0x08, 0x01])), undefined, 'key (field 1) as a varint');
    assert.equal(readRangeRequest(Buffer.from([0x0a, 0x05, 0x61])), undefined, 'a key longer than the message');
    assert.equal(readRangeRequest(Buffer.from([0x18])), undefined, 'a varint cut off');
    assert.equal(readPutRequest(Buffer.from(tag(50, 3))), undefined, 'a group');
    assert.equal(readTxnRequest(Buffer.from([0x12, 0x04, 0x0a, 0x00, 0x12, 0x00])), undefined, 'a RequestOp naming two requests');
    assert.deepEqual(readRangeRequest(Buffer.alloc(0)), {}, 'an empty message is every field at its default');
  });

  test('responses written by hand decode, through proto-loader, as proto-loader\'s own encoding of responseToWire does (2,000 random)', () => {
    const rand = prng(4242);
    const kv = (): KeyValue => ({
      key: bytes(rand).toString('utf8'), value: maybe(rand, 0.2) ? '' : bytes(rand).toString('utf8'),
      createRevision: Number(pick(rand, [0, 1, 300, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER])), modRevision: Number(pick(rand, [0, 1, 128, 16_384, 2 ** 35])),
      version: Number(pick(rand, [0, 1, 2, 1_000])), lease: Number(pick(rand, [0, 7, 2 ** 50, -1])),
    });
    const header = () => ({ revision: Number(pick(rand, [0, 1, 127, 128, 2 ** 33, Number.MAX_SAFE_INTEGER])) });
    const response = (depth: number): ResponseOp => {
      switch (Math.floor(rand() * (depth > 0 ? 4 : 3))) {
        case 0: return { type: 'range', header: header(), kvs: Array.from({ length: Math.floor(rand() * 4) }, kv), more: maybe(rand), count: Number(pick(rand, [0, 1, 5, 300])) };
        case 1: return maybe(rand) ? { type: 'put', header: header() } : { type: 'put', header: header(), prevKv: kv() };
        case 2: return { type: 'deleteRange', header: header(), deleted: Number(pick(rand, [0, 1, 1_000])), prevKvs: Array.from({ length: Math.floor(rand() * 3) }, kv) };
        default: return { type: 'txn', header: header(), succeeded: maybe(rand), responses: Array.from({ length: Math.floor(rand() * 4) }, () => response(depth - 1)) };
      }
    };
    const names = { range: 'Range', put: 'Put', deleteRange: 'DeleteRange', txn: 'Txn' } as const;
    for (let i = 0; i < 2_000; i++) {
      const r = response(2);
      const definition = method(names[r.type]);
      const expected = definition.responseDeserialize(definition.responseSerialize(responseToWire(r)));
      assert.deepEqual(definition.responseDeserialize(writeResponseMessage(r)), expected, `#${i}: ${JSON.stringify(r)}`);
      const framed = writeResponseMessage(r, 5);
      assert.deepEqual(definition.responseDeserialize(framed.subarray(5)), expected, `#${i}, written after a 5-byte prefix`);
    }
  });
});
