/**
 * src/storage — the durable log: WAL segments, snapshot files, and the
 * RaftStorage API that makes state durable before its messages may leave.
 */
export { crc32c, crc32cUpdate } from './crc32c.js';
export {
  concatFrames,
  decodeRecords,
  encodeRecord,
  RECORD_HEADER_BYTES,
  RECORD_PAYLOAD_BYTES_MAX,
  type DecodedRecord,
  type DecodeResult,
  type TailProblem,
} from './record.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export { segmentName, Wal, WAL_SEGMENT_BYTES_DEFAULT, type WalAppend, type WalOptions, type WalRecovery, type WalTruncation } from './wal.js';
export type { WalSnapshotRecord } from './log-shape.js';
export {
  SnapshotStore,
  SNAPSHOTS_RETAINED_DEFAULT,
  snapshotName,
  type SkippedSnapshot,
  type SnapshotStoreOptions,
  type SnapshotStoreReport,
} from './snapshot-store.js';
export {
  Durable,
  LogCompactedError,
  Outbox,
  RaftStorage,
  type PersistUnit,
  type RaftStorageOptions,
  type RaftStorageReport,
} from './raft-storage.js';
// The disks: MemoryDisk is both the in-memory and the fault-injecting implementation
// (fsync failures, lost unsynced writes on crash); NodeDisk is real files.
export { DiskError, MemoryDisk, noDiskFaults, type Disk, type DiskFaults } from '../actor/disk.js';
export { NodeDisk } from '../actor/node-disk.js';
