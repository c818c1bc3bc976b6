import type { ErrorResponse } from '../protocol.js';

/** etcd's --max-txn-ops default: bounds the work and the size of one revision. */
export const TXN_OPS_MAX = 128;
/** etcd's --max-request-bytes default (1.5 MiB): a Raft entry must stay small enough to replicate promptly. */
export const REQUEST_BYTES_MAX = 1.5 * 1024 * 1024;
/** etcd's MaxLeaseTTL (9,000,000,000 s would overflow nothing here, but etcd caps at this). */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;

/** Constructors for etcd-shaped errors; the messages are etcd's own. */
export const kvError = {
  compacted: (compactRevision: number): ErrorResponse => ({
    type: 'error',
    code: 'compacted',
    message: 'etcdserver: mvcc: required revision has been compacted',
    grpcCode: 'OutOfRange',
    compactRevision,
  }),
  futureRevision: (): ErrorResponse => ({
    type: 'error',
    code: 'futureRevision',
    message: 'etcdserver: mvcc: required revision is a future revision',
    grpcCode: 'OutOfRange',
  }),
  leaseNotFound: (): ErrorResponse => ({ type: 'error', code: 'leaseNotFound', message: 'etcdserver: requested lease not found', grpcCode: 'NotFound' }),
  leaseExists: (): ErrorResponse => ({ type: 'error', code: 'leaseExists', message: 'etcdserver: lease already exists', grpcCode: 'FailedPrecondition' }),
  leaseTtlTooLarge: (): ErrorResponse => ({ type: 'error', code: 'leaseTtlTooLarge', message: 'etcdserver: too large lease TTL', grpcCode: 'OutOfRange' }),
  tooManyOps: (): ErrorResponse => ({ type: 'error', code: 'tooManyOps', message: 'etcdserver: too many operations in txn request', grpcCode: 'InvalidArgument' }),
  duplicateKey: (): ErrorResponse => ({ type: 'error', code: 'duplicateKey', message: 'etcdserver: duplicate key given in txn request', grpcCode: 'InvalidArgument' }),
  requestTooLarge: (): ErrorResponse => ({ type: 'error', code: 'requestTooLarge', message: 'etcdserver: request is too large', grpcCode: 'InvalidArgument' }),
  emptyKey: (): ErrorResponse => ({ type: 'error', code: 'emptyKey', message: 'etcdserver: key is not provided', grpcCode: 'InvalidArgument' }),
  watchNotFound: (): ErrorResponse => ({ type: 'error', code: 'watchNotFound', message: 'mvcc: watcher does not exist', grpcCode: 'NotFound' }),
};

export function isError(value: unknown): value is ErrorResponse {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'error';
}

/** Thrown inside a txn to abort it; the store rolls back and returns the error value. */
export class TxnAbort extends Error {
  constructor(readonly error: ErrorResponse) {
    super(error.message);
  }
}
