/**
 * The Node object a kubelet registers and the status it reports, and its
 * Lease in kube-node-lease. Pure: the kubelet supplies time and health.
 */
import type { Lease, Node, NodeCondition, NodeStatus } from '../../api/types/index.js';
import { formatMicroTime, formatTime } from './status.js';
import { isPlainObject, sameJsonExcept } from '../../api/json-equal.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const KUBELET_VERSION = 'v1.32.0-kubethreads';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
export const RUNTIME_LABEL = 'kubethreads.io/runtime';

export interface NodeIdentity {
  nodeName: string;
  nodeIP: string;
  podCidr: string | undefined;
  defaultRuntime: string;
  /** Runtimes this node offers (its pods' runtimeClassName may name any). */
  runtimes: string[];
  capacity: Record<string, string>;
  labels?: Record<string, string>;
  /** spec.providerID at registration (the kubelet's --provider-id); undefined: left to a cloud controller. */
  providerID?: string;
  /** Where the kubelet's HTTPS endpoint listens on nodeIP; 0: it serves none (reached by actor message only). */
  kubeletPort?: number;
}

export function nodeObject(id: NodeIdentity): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: id.nodeName,
      labels: {
        [HOSTNAME_LABEL]: id.nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
        [RUNTIME_LABEL]: id.defaultRuntime,
        ...id.labels,
      },
    },
    spec: {
      ...(id.podCidr === undefined ? {} : { podCIDR: id.podCidr, podCIDRs: [id.podCidr] }),
      ...(id.providerID === undefined ? {} : { providerID: id.providerID }),
    },
  };
}

export interface NodeHealth {
  runtimeReady: boolean;
  runtimeMessage?: string;
}

function nodeCondition(type: string, ok: boolean, reason: string, message: string, nowMs: number, previous: NodeCondition[] | undefined): NodeCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  return {
    type,
    status,
    lastHeartbeatTime: formatTime(nowMs),
    lastTransitionTime: before?.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : formatTime(nowMs),
    reason,
    message,
  };
}

/** The status the kubelet reports: capacity, conditions (Ready from the runtime's health), addresses, node info. */
export function nodeStatus(id: NodeIdentity, health: NodeHealth, runtimeVersion: string, nowMs: number, previous: NodeStatus | undefined): NodeStatus {
  const prev = previous?.conditions;
  // The pressure conditions are False when healthy, as Kubernetes reports them.
  const conditions = [
    nodeCondition('MemoryPressure', false, 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', nowMs, prev),
    nodeCondition('DiskPressure', false, 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', nowMs, prev),
    nodeCondition('PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', nowMs, prev),
    health.runtimeReady
      ? nodeCondition('Ready', true, 'KubeletReady', 'kubelet is posting ready status', nowMs, prev)
      : nodeCondition('Ready', false, 'KubeletNotReady', `container runtime is down: ${health.runtimeMessage ?? 'no answer'}`, nowMs, prev),
  ];
  return {
    capacity: { ...id.capacity },
    allocatable: { ...id.capacity },
    conditions,
    addresses: [
      { type: 'InternalIP', address: id.nodeIP },
      { type: 'Hostname', address: id.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort ?? 0 } },
    nodeInfo: {
      machineID: id.nodeName,
      systemUUID: id.nodeName,
      bootID: id.nodeName,
      kernelVersion: 'kubethreads',
      osImage: `kubethreads node (runtimes: ${id.runtimes.join(', ')})`,
      containerRuntimeVersion: runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

/** Two statuses that differ only in heartbeat times need no write (Kubernetes' nodeStatusReportFrequency rule). */
export function sameNodeStatus(a: NodeStatus | undefined, b: NodeStatus): boolean {
  if (a === undefined) return false;
  // Field by field (every node's status sync asks, every 10 s of virtual time): the texts below, without writing them.
  if (Array.isArray(a.conditions) && Array.isArray(b.conditions) && a.conditions.every(isPlainObject) && b.conditions.every(isPlainObject)) {
    return sameJsonExcept(a as Record<string, unknown>, b as Record<string, unknown>, NOTHING, { conditions: sameConditionsButHeartbeat });
  }
  const strip = (s: NodeStatus) => JSON.stringify({ ...s, conditions: (s.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined })) });
  return strip(a) === strip(b);
}

const NOTHING: ReadonlySet<string> = new Set();
const HEARTBEAT: ReadonlySet<string> = new Set(['lastHeartbeatTime']);

function sameConditionsButHeartbeat(a: unknown, b: unknown): boolean {
  const x = a as Record<string, unknown>[];
  const y = b as Record<string, unknown>[];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!sameJsonExcept(x[i]!, y[i]!, HEARTBEAT)) return false;
  return true;
}

export function nodeLease(nodeName: string, nodeUid: string | undefined, leaseDurationSeconds: number, nowMs: number): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUid !== undefined ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds, renewTime: formatMicroTime(nowMs) },
  };
}
