/**
 * The etcd component: a group of replica actors, each Raft + the MVCC store +
 * the write-ahead log in its own data directory (src/kv/replica).
 */
export { etcdReplica } from '../src/kv/replica/behaviour.js';
export { spawnEtcdGroup, groupStatus, etcdGroupNames, type EtcdGroup, type EtcdGroupOptions } from '../src/kv/replica/group.js';
