/**
 * A real etcd as the store: the `KvClient` over etcd3 (gRPC), the local
 * member processes kubethreads starts, and the endpoint parser. Imported on
 * its own, not through src/kv/index.ts, so that users of the embedded store
 * never load the gRPC client. See docs/etcd.md.
 */
export { EtcdKvClient, ETCD_REQUEST_TIMEOUT_MS_DEFAULT, mapEtcdError, progressRequestsSafe, type EtcdKvClientOptions } from './client.js';
export { EtcdCluster, asReplicaStatuses, etcdVersion, leaderOf, memberStatus, type EtcdClusterOptions, type EtcdMemberStatus } from './cluster.js';
export { parseEtcdEndpoints } from './endpoints.js';
