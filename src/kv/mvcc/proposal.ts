/**
 * The edge of the replicated state machine: checking a request before it is
 * proposed to Raft.
 */
import type { ApplyRequest, ErrorResponse, RequestOp } from '../protocol.js';
import { kvError, REQUEST_BYTES_MAX, TXN_OPS_MAX } from './errors.js';

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
