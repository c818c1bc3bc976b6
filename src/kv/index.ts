/** src/kv — the etcd stand-in. So far: the pure MVCC store and its protocol. */
export * from './protocol.js';
export * from './mvcc/index.js';
export * from './client/index.js';
