/** kube-proxy: the routing table (pure) and the TCP forwarder (threaded I/O). */
export * from './routing.js';
export * from './types.js';
export { TcpForwarder, CONNECT_ATTEMPTS_MAX, CONNECT_TIMEOUT_MS, type ForwarderStats } from './tcp-forwarder.js';
