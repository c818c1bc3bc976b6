export { MvccStore, INITIAL_REVISION, type LeaseInfo, type LoggedEvent, type StoreSnapshotData } from './store.js';
export { WatchHub, WATCH_BATCH_EVENTS_MAX, WATCHERS_MAX } from './watch-hub.js';
export { LeaseClock, LEASE_REVOKES_PER_CHECK_MAX } from './lease-clock.js';
export { kvError, isError, LEASE_TTL_SECONDS_MAX, REQUEST_BYTES_MAX, TXN_OPS_MAX } from './errors.js';
export { checkProposal, storeFromBytes, storeToBytes } from './proposal.js';
