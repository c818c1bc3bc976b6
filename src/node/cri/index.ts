/** The container runtime interface: what a kubelet asks its runtime. */
export * from './protocol.js';
