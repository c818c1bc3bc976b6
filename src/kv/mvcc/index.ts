export { MvccStore, INITIAL_REVISION, COMPACTION_STEP_KEYS_DEFAULT, type LeaseInfo, type LoggedEvent, type StoreSnapshotData } from './store.js';
export { WatchHub, WATCH_BATCH_EVENTS_MAX, WATCHERS_MAX } from './watch-hub.js';
export { LeaseClock, LEASE_REVOKES_PER_CHECK_MAX } from './lease-clock.js';
export { kvError, isError, LEASE_TTL_SECONDS_MAX, REQUEST_BYTES_MAX, TXN_OPS_MAX } from './errors.js';
export { checkProposal } from './proposal.js';
export { SnapshotEncoder, SNAPSHOT_BATCH_BYTES_DEFAULT, storeFromBytes, storeToBytes } from './snapshot-codec.js';
export { StoreSnapshotCursor, type SnapshotKeyRow, type StoreSnapshotHeader } from './snapshot-cursor.js';
