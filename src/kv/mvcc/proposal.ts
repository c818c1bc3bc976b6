/**
 * The edges of the replicated state machine: checking a request before it is
 * proposed to Raft, and the store's snapshot as bytes for Raft snapshots.
 */
import { pack, unpack } from 'msgpackr';
import type { ApplyRequest, ErrorResponse, RequestOp } from '../protocol.js';
import { kvError, REQUEST_BYTES_MAX, TXN_OPS_MAX } from './errors.js';
import { MvccStore, type StoreSnapshotData } from './store.js';

/** Rejects, before proposing, what etcd rejects before proposing: oversized requests and oversized txns. */
export function checkProposal(request: ApplyRequest, encodedBytes: number): ErrorResponse | undefined {
  if (encodedBytes > REQUEST_BYTES_MAX) return kvError.requestTooLarge();
  if (request.type === 'txn') return checkTxnOps(request);
  return undefined;
}

function checkTxnOps(op: RequestOp): ErrorResponse | undefined {
  if (op.type !== 'txn') return undefined;
  if (op.success.length > TXN_OPS_MAX || op.failure.length > TXN_OPS_MAX) return kvError.tooManyOps();
  for (const child of [...op.success, ...op.failure]) {
    const problem = checkTxnOps(child);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Format version of the snapshot bytes; bump when the layout changes. */
const SNAPSHOT_FORMAT = 1;

export function storeToBytes(store: MvccStore): Uint8Array {
  return pack([SNAPSHOT_FORMAT, store.toSnapshotData()]);
}

export function storeFromBytes(bytes: Uint8Array): MvccStore {
  const decoded = unpack(bytes) as unknown;
  if (!Array.isArray(decoded) || decoded[0] !== SNAPSHOT_FORMAT) {
    throw new Error(`kv snapshot: unknown format ${Array.isArray(decoded) ? String(decoded[0]) : typeof decoded}; expected ${SNAPSHOT_FORMAT}`);
  }
  return MvccStore.fromSnapshotData(decoded[1] as StoreSnapshotData);
}
