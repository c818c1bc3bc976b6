/** The kubelet: node registration, lease, pod sync over the CRI, probes, status, logs. */
export { kubelet, DEFAULT_NODE_CAPACITY, POD_UID_LABEL, CONTAINER_NAME_LABEL, type KubeletArgs, type KubeletMsg, type RuntimeKind } from './kubelet.js';
export { REALISTIC_KUBELET_TIMING, scaledKubeletTiming, kubeletTimingFor, type KubeletTiming } from './timing.js';
export { Backoff } from './backoff.js';
export { buildPodStatus, containerStatusOf, podPhase, formatTime, formatMicroTime, type ContainerView, type PodStatusInput } from './status.js';
export { ProbeTracker, SimProber, probeTiming, type Prober, type ProbeKind, type ProbeOutcome } from './probe.js';
export { NODE_LEASE_NAMESPACE, nodeObject, nodeStatus, nodeLease } from './node-status.js';
export { KubeApi, PODS, NODES, LEASES, SERVICES, ENDPOINTS, ENDPOINT_SLICES, type Resource } from './api-client.js';
