/**
 * etcd's v3 wire messages (etcdserverpb, as @grpc/proto-loader decodes them
 * with etcd3's options: snake_case fields, int64 as strings, enums as names,
 * oneofs named) to and from the store's own protocol (src/kv/protocol.ts).
 * Pure: no sockets, no clock. The store keeps keys and values as text, so a
 * key or value that is not valid UTF-8 is refused with InvalidArgument
 * rather than silently changed.
 */
import type { Compare, CompareResult, DeleteRangeRequest, KeyValue, PutRequest, RangeRequest, RequestOp, ResponseOp, TxnRequest } from '../protocol.js';

/** A gRPC status a converter or handler answers with (codes as @grpc/grpc-js numbers them). */
export class GrpcStatusError extends Error {
  constructor(readonly code: GrpcCode, message: string) {
    super(message);
    this.name = 'GrpcStatusError';
  }
}

/** The gRPC status codes this face uses (google.rpc.Code). */
export const GRPC_CODE = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  failedPrecondition: 9,
  outOfRange: 11,
  unavailable: 14,
  internal: 13,
} as const;
export type GrpcCode = (typeof GRPC_CODE)[keyof typeof GRPC_CODE];

/** Bytes as proto-loader hands them over (a Buffer), or absent when the field was not sent. */
type Bytes = Uint8Array | undefined;
/** int64 fields decode as decimal strings (etcd3's `longs: String`); numbers are accepted too. */
type Int64 = string | number | undefined;

export interface WireRangeRequest {
  key?: Bytes; range_end?: Bytes; limit?: Int64; revision?: Int64; serializable?: boolean; keys_only?: boolean; count_only?: boolean;
  sort_order?: string; sort_target?: string;
  min_mod_revision?: Int64; max_mod_revision?: Int64; min_create_revision?: Int64; max_create_revision?: Int64;
}
export interface WirePutRequest { key?: Bytes; value?: Bytes; lease?: Int64; prev_kv?: boolean; ignore_value?: boolean; ignore_lease?: boolean }
export interface WireDeleteRangeRequest { key?: Bytes; range_end?: Bytes; prev_kv?: boolean }
export interface WireCompare {
  result?: string; target?: string; key?: Bytes; range_end?: Bytes;
  target_union?: string; version?: Int64; create_revision?: Int64; mod_revision?: Int64; value?: Bytes; lease?: Int64;
}
export interface WireRequestOp {
  request?: string;
  request_range?: WireRangeRequest; request_put?: WirePutRequest; request_delete_range?: WireDeleteRangeRequest; request_txn?: WireTxnRequest;
}
export interface WireTxnRequest { compare?: WireCompare[]; success?: WireRequestOp[]; failure?: WireRequestOp[] }

/** What the face sends back: field names as in rpc.proto; proto-loader encodes numbers into int64 fields. */
export interface WireHeader { cluster_id: number; member_id: number; revision: number; raft_term: number }
export interface WireKeyValue { key: Buffer; create_revision: number; mod_revision: number; version: number; value: Buffer; lease: number }

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A key, value or range end as the store's text; InvalidArgument when it is not UTF-8. */
export function text(bytes: Bytes, field: string): string {
  if (bytes === undefined || bytes.length === 0) return '';
  try {
    return utf8.decode(bytes);
  } catch {
    throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: ${field} is not valid UTF-8 (this store keeps keys and values as text)`);
  }
}

/** An int64 field as a safe integer; InvalidArgument past 2^53 rather than a silently rounded revision. */
export function int(value: Int64, field: string): number {
  if (value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: ${field} ${String(value)} is not an integer this store can hold`);
  return n;
}

function rangeEnd(bytes: Bytes): string | undefined {
  const end = text(bytes, 'range_end');
  return end === '' ? undefined : end;
}

/** Options this face does not implement are refused by name, never ignored. */
function refuseRangeExtras(r: WireRangeRequest): void {
  const unsupported: string[] = [];
  // Keys come back ascending by key already: that one sort is honoured, any other refused.
  const sorted = r.sort_order !== undefined && r.sort_order !== 'None';
  if (sorted && !(r.sort_order === 'Ascend' && (r.sort_target ?? 'Key') === 'Key')) unsupported.push(`sort_order ${r.sort_order} by ${r.sort_target ?? 'Key'}`);
  for (const f of ['min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision'] as const) if (int(r[f], f) !== 0) unsupported.push(f);
  if (unsupported.length > 0) throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: ${unsupported.join(', ')} not supported by this store's gRPC face`);
}

export function rangeFromWire(r: WireRangeRequest): RangeRequest {
  refuseRangeExtras(r);
  const out: RangeRequest = { type: 'range', key: text(r.key, 'key') };
  const end = rangeEnd(r.range_end);
  if (end !== undefined) out.rangeEnd = end;
  const limit = int(r.limit, 'limit');
  if (limit < 0) throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: limit ${limit} is negative`);
  if (limit > 0) out.limit = limit;
  const revision = int(r.revision, 'revision');
  if (revision > 0) out.revision = revision;
  if (r.serializable === true) out.serializable = true;
  if (r.keys_only === true) out.keysOnly = true;
  if (r.count_only === true) out.countOnly = true;
  return out;
}

export function putFromWire(r: WirePutRequest): PutRequest {
  if (r.ignore_value === true || r.ignore_lease === true) throw new GrpcStatusError(GRPC_CODE.invalidArgument, 'kubethreads: ignore_value and ignore_lease are not supported by this store\'s gRPC face');
  const out: PutRequest = { type: 'put', key: text(r.key, 'key'), value: text(r.value, 'value') };
  const lease = int(r.lease, 'lease');
  if (lease !== 0) out.lease = lease;
  if (r.prev_kv === true) out.prevKv = true;
  return out;
}

export function deleteFromWire(r: WireDeleteRangeRequest): DeleteRangeRequest {
  const out: DeleteRangeRequest = { type: 'deleteRange', key: text(r.key, 'key') };
  const end = rangeEnd(r.range_end);
  if (end !== undefined) out.rangeEnd = end;
  if (r.prev_kv === true) out.prevKv = true;
  return out;
}

/** Enum names as rpc.proto spells them (proto-loader's `enums: String`). */
const COMPARE_RESULTS: Record<string, CompareResult> = { Equal: 'equal', NotEqual: 'notEqual', Greater: 'greater', Less: 'less' };
const NUMERIC_TARGETS: Record<string, { target: 'version' | 'createRevision' | 'modRevision' | 'lease'; field: 'version' | 'create_revision' | 'mod_revision' | 'lease' }> = {
  Version: { target: 'version', field: 'version' },
  Create: { target: 'createRevision', field: 'create_revision' },
  Mod: { target: 'modRevision', field: 'mod_revision' },
  Lease: { target: 'lease', field: 'lease' },
};

export function compareFromWire(c: WireCompare): Compare {
  // proto3 defaults: an absent result is EQUAL and an absent target is VERSION, as etcd reads them.
  const result = COMPARE_RESULTS[c.result ?? 'Equal'];
  if (result === undefined) throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: unknown compare result ${String(c.result)}`);
  const key = text(c.key, 'compare key');
  const end = rangeEnd(c.range_end);
  const base = end === undefined ? { key } : { key, rangeEnd: end };
  const target = c.target ?? 'Version';
  if (target === 'Value') return { ...base, target: 'value', result, value: text(c.value, 'compare value') };
  const numeric = NUMERIC_TARGETS[target];
  if (numeric === undefined) throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: unknown compare target ${target}`);
  return { ...base, target: numeric.target, result, value: int(c[numeric.field], numeric.field) };
}

export function requestOpFromWire(op: WireRequestOp): RequestOp {
  switch (op.request) {
    case 'request_range':
      return rangeFromWire(op.request_range ?? {});
    case 'request_put':
      return putFromWire(op.request_put ?? {});
    case 'request_delete_range':
      return deleteFromWire(op.request_delete_range ?? {});
    case 'request_txn':
      return txnFromWire(op.request_txn ?? {});
    default:
      throw new GrpcStatusError(GRPC_CODE.invalidArgument, `kubethreads: a txn operation names no request (${String(op.request)})`);
  }
}

export function txnFromWire(t: WireTxnRequest): TxnRequest {
  return {
    type: 'txn',
    compare: (t.compare ?? []).map(compareFromWire),
    success: (t.success ?? []).map(requestOpFromWire),
    failure: (t.failure ?? []).map(requestOpFromWire),
  };
}

export function headerToWire(revision: number): WireHeader {
  // One store, no cluster or member identity and no term the client could act on: zeros, as a proxy may answer.
  return { cluster_id: 0, member_id: 0, revision, raft_term: 0 };
}

export function keyValueToWire(kv: KeyValue): WireKeyValue {
  return { key: Buffer.from(kv.key, 'utf8'), create_revision: kv.createRevision, mod_revision: kv.modRevision, version: kv.version, value: Buffer.from(kv.value, 'utf8'), lease: kv.lease };
}

/** A response in etcdserverpb's shape; `txn` nests, as etcd's TxnResponse does. */
export function responseToWire(r: ResponseOp): Record<string, unknown> {
  const header = headerToWire(r.header.revision);
  switch (r.type) {
    case 'range':
      return { header, kvs: r.kvs.map(keyValueToWire), more: r.more, count: r.count };
    case 'put':
      return r.prevKv === undefined ? { header } : { header, prev_kv: keyValueToWire(r.prevKv) };
    case 'deleteRange':
      return { header, deleted: r.deleted, prev_kvs: r.prevKvs.map(keyValueToWire) };
    case 'txn':
      return { header, succeeded: r.succeeded, responses: r.responses.map(responseOpToWire) };
  }
}

function responseOpToWire(r: ResponseOp): Record<string, unknown> {
  const field = { range: 'response_range', put: 'response_put', deleteRange: 'response_delete_range', txn: 'response_txn' }[r.type];
  return { [field]: responseToWire(r) };
}
