/**
 * The kubelet component: one actor per node (`kubelet-<node>`) that registers
 * the Node, renews its Lease and runs the pods bound to it on the node's
 * container runtime(s). See src/node/kubelet and docs/kubelet.md.
 */
export { kubelet, DEFAULT_NODE_CAPACITY, type KubeletArgs, type KubeletMsg, type RuntimeKind } from '../src/node/kubelet/kubelet.js';
export { kubeletTimingFor, scaledKubeletTiming, REALISTIC_KUBELET_TIMING, type KubeletTiming } from '../src/node/kubelet/timing.js';
