/**
 * The machinery every controller and the scheduler share: informers over an
 * abstract ListWatcher, an indexed store, a rate-limited work queue, and
 * leader election over Leases. Time comes from an injected Clock.
 */
export {
  ApiClient, ApiStatusError, apiVersionOfType, API_REQUEST_TIMEOUT_MS_DEFAULT, API_WATCH_RESTART_MS_DEFAULT, CONTROL_PLANE_LIST_SLICE_ITEMS,
  PODS, NODES, NAMESPACES, SERVICES, ENDPOINTS, EVENTS, CONFIGMAPS, SECRETS, DEPLOYMENTS, REPLICASETS, LEASES, ENDPOINTSLICES,
  STATEFULSETS, DAEMONSETS, CONTROLLERREVISIONS, PODDISRUPTIONBUDGETS,
  type ApiClientHost, type ApiClientOptions, type ResourceType, type RequestOptions, type ClientListOptions,
} from './api-client.js';
export { ActorClock, VirtualClock, settle, type Clock, type ClientTimerMsg } from './clock.js';
export {
  ClientError, isConflict, isGone, isNotFound,
  type ListWatcher, type ListOptions, type ListResult, type WatchHandlers, type WatchHandle, type WatchFailure, type ClientWatchEvent, type WatchEventKind,
} from './list-watch.js';
export {
  Store, objectKey, splitKey, indexByNamespace, indexByNodeName, indexByOwnerUid, indexByControllerUid, orphansOf,
  INDEX_NAMESPACE, INDEX_NODE_NAME, INDEX_OWNER_UID, INDEX_CONTROLLER_UID, type IndexFunc,
} from './store.js';
export { Informer, INFORMER_BACKOFF_INITIAL_MS, INFORMER_BACKOFF_MAX_MS, type EventHandlers, type InformerOptions, type InformerStats } from './informer.js';
export {
  RateLimitingQueue, ItemExponentialFailureRateLimiter, BucketRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter,
  type RateLimiter, type WorkQueueOptions, type WorkQueueStats,
} from './workqueue.js';
export {
  LeaderElector, LEADER_ELECTION_DEFAULTS, LEADER_ELECTION_JITTER_FACTOR, scaledLeaderElectionTimings, validateLeaderElectionTimings, formatMicroTime,
  type LeaseClient, type LeaderElectionTimings, type LeaderCallbacks, type LeaderElectorOptions, type ElectorState, type ElectorStats,
} from './leader-election.js';
export { EventCorrelator, type CorrelatedEvent } from './event-correlator.js';
export { ClientMetrics, WORKQUEUE_DURATION_BUCKETS, restMethod, type WorkQueueMetrics } from './metrics.js';
