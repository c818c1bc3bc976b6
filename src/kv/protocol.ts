/**
 * Requests and responses of the key-value store, modelled on etcd's v3 API
 * (etcdserverpb). Keys and values are strings: the API server stores JSON, a
 * JS string compares, hashes and slices faster than bytes, and msgpack carries
 * it between threads as-is. Keys are ordered by JS string order (UTF-16 code
 * units), which is byte order for ASCII keys — every Kubernetes key is ASCII.
 *
 * Range semantics are etcd's: `rangeEnd` absent or '' means the single key
 * `key`; `rangeEnd` '\0' means every key >= `key`; otherwise [key, rangeEnd).
 * `prefixEnd(prefix)` gives the range end of a prefix.
 */

export interface ResponseHeader {
  /** The store's revision when the response was made (after a write: the write's revision). */
  revision: number;
}

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the put that created this key (since its last deletion). */
  createRevision: number;
  /** Revision of the last change to this key. */
  modRevision: number;
  /** Number of puts since the key was created: 1 after creation. */
  version: number;
  /** The lease the key is attached to; 0 for none. */
  lease: number;
}

export interface RangeRequest {
  type: 'range';
  key: string;
  rangeEnd?: string;
  /** At most this many kvs; 0 or absent: no limit. */
  limit?: number;
  /** Read at this past revision; 0 or absent: the current one. */
  revision?: number;
  countOnly?: boolean;
  keysOnly?: boolean;
  /** Served from the local replica without a ReadIndex round (may be stale). */
  serializable?: boolean;
}

export interface RangeResponse {
  type: 'range';
  header: ResponseHeader;
  kvs: KeyValue[];
  /** More keys matched than `limit` let through. */
  more: boolean;
  /** Keys that matched, regardless of `limit`. */
  count: number;
}

export interface PutRequest {
  type: 'put';
  key: string;
  value: string;
  lease?: number;
  prevKv?: boolean;
}

export interface PutResponse {
  type: 'put';
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  type: 'deleteRange';
  key: string;
  rangeEnd?: string;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  type: 'deleteRange';
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = 'equal' | 'notEqual' | 'greater' | 'less';

/**
 * A txn guard. For a missing key, version, createRevision, modRevision and
 * lease compare as 0 (so `version equal 0` means "does not exist") and a value
 * compare is false. With `rangeEnd`, every key in the range must satisfy it.
 */
export type Compare =
  | { key: string; rangeEnd?: string; target: 'value'; result: CompareResult; value: string }
  | { key: string; rangeEnd?: string; target: 'version' | 'createRevision' | 'modRevision' | 'lease'; result: CompareResult; value: number };

export type RequestOp = RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest;
export type ResponseOp = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse;

export interface TxnRequest {
  type: 'txn';
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  type: 'txn';
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  type: 'compact';
  revision: number;
  /**
   * etcd's `physical`: answer only once the replica that answers has dropped every compacted version (the
   * compaction runs in steps after it is applied), not as soon as it is applied.
   */
  physical?: boolean;
}

export interface CompactionResponse {
  type: 'compact';
  header: ResponseHeader;
}

export interface LeaseGrantRequest {
  type: 'leaseGrant';
  /** 0: the store assigns the next free id (deterministically, so every replica agrees). */
  id: number;
  ttlSeconds: number;
}

export interface LeaseGrantResponse {
  type: 'leaseGrant';
  header: ResponseHeader;
  id: number;
  ttlSeconds: number;
}

/** Also how the leader expires a lease: it proposes a revoke through Raft. */
export interface LeaseRevokeRequest {
  type: 'leaseRevoke';
  id: number;
}

export interface LeaseRevokeResponse {
  type: 'leaseRevoke';
  header: ResponseHeader;
}

/** Served by the leader from its lease clock; not replicated (as in etcd). */
export interface LeaseKeepAliveRequest {
  type: 'leaseKeepAlive';
  id: number;
}

export interface LeaseKeepAliveResponse {
  type: 'leaseKeepAlive';
  header: ResponseHeader;
  id: number;
  ttlSeconds: number;
}

export interface LeaseTimeToLiveRequest {
  type: 'leaseTimeToLive';
  id: number;
  keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  type: 'leaseTimeToLive';
  header: ResponseHeader;
  id: number;
  /** Seconds left before expiry, rounded up. */
  ttlSeconds: number;
  grantedTtlSeconds: number;
  keys: string[];
}

export type WatchFilter = 'noPut' | 'noDelete';

export interface WatchCreateRequest {
  type: 'watchCreate';
  key: string;
  rangeEnd?: string;
  /** Deliver events from this revision on; 0 or absent: from the next revision. */
  startRevision?: number;
  prevKv?: boolean;
  progressNotify?: boolean;
  filters?: WatchFilter[];
}

export interface WatchCancelRequest {
  type: 'watchCancel';
  watchId: number;
}

export interface WatchProgressRequest {
  type: 'watchProgress';
}

export interface Event {
  type: 'put' | 'delete';
  /** For a delete: the key, with modRevision the deletion's revision and the other fields 0. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchResponse {
  type: 'watch';
  header: ResponseHeader;
  watchId: number;
  created?: boolean;
  canceled?: boolean;
  /** Set when the watcher was canceled because the revisions it still needed were compacted. */
  compactRevision?: number;
  cancelReason?: string;
  /** Whole revisions, in order. Empty in a progress notification. */
  events: Event[];
}

export type KvErrorCode =
  | 'compacted'
  | 'futureRevision'
  | 'leaseNotFound'
  | 'leaseExists'
  | 'leaseTtlTooLarge'
  | 'tooManyOps'
  | 'duplicateKey'
  | 'requestTooLarge'
  | 'emptyKey'
  | 'watchNotFound';

/** Errors are values, shaped like etcd's (its message text, its gRPC code). */
export interface ErrorResponse {
  type: 'error';
  code: KvErrorCode;
  message: string;
  grpcCode: 'OutOfRange' | 'NotFound' | 'FailedPrecondition' | 'InvalidArgument';
  /** For `compacted`: the revision the store is compacted to. */
  compactRevision?: number;
}

/** What goes through Raft and is applied, in log order, on every replica. */
export type ApplyRequest =
  | RangeRequest
  | PutRequest
  | DeleteRangeRequest
  | TxnRequest
  | CompactionRequest
  | LeaseGrantRequest
  | LeaseRevokeRequest;

export type ApplyResponse =
  | RangeResponse
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactionResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse
  | ErrorResponse;

/** The range end that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return '\0';
}
