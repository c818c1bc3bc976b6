/** Starting a whole cluster (see start.ts) and its spec (spec.ts). */
export { startCluster, formatClusterStatus, type Cluster, type ClusterStatus, type StartClusterOptions } from './start.js';
export { resolveClusterSpec, timingFor, ClusterSpecError, REALISTIC_TIMING, FAST_PROFILE_DIVISOR, NODES_MAX, type ClusterSpec, type Timing, type TimeProfile, type RuntimeKind } from './spec.js';
