/** The simulated cloud: its pure state machine, its actor and protocol, and typed clients. */
export * from './types.js';
export { MUTATING_OPS, type CloudOp, type CloudOps, type CloudRequest, type CloudRequestOf, type CloudResponse } from './api.js';
export {
  CloudState, DEFAULT_CLOUD_CONFIG, resolveCloudConfig,
  INSTANCES_MAX, LOAD_BALANCERS_MAX, LISTENERS_PER_LOAD_BALANCER_MAX, TARGETS_PER_LOAD_BALANCER_MAX, ROUTES_MAX, CREATIONS_KEPT_MAX,
  type CloudConfig, type DataPlaneEntry, type PersistedCloud,
} from './state.js';
export { AddressPool, parseCidr, parseIpv4, formatIpv4 } from './ip.js';
export { CLOUD_NAME, type CloudMsg, type DataPlaneStatus } from './protocol.js';
export { cloudProvider, PENDING_CALLS_MAX, type CloudArgs } from './behaviour.js';
export { ActorCloudClient, DirectCloudClient, CLOUD_CALL_TIMEOUT_MS, type CloudClient } from './client.js';
