/** Builders of nodes and pods for scheduler tests (test support, not used by the scheduler). */
import type { Node, Pod, Taint, Toleration } from '../api/types/index.js';
import type { Affinity, TopologySpreadConstraint } from './types.js';

export interface NodeSpecForTest {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

export function makeNode(name: string, spec: NodeSpecForTest = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...spec.labels } },
    spec: { taints: spec.taints, unschedulable: spec.unschedulable },
    status: { allocatable: { cpu: spec.cpu ?? '4', memory: spec.memory ?? '8Gi', pods: spec.pods ?? '110' } },
  };
}

export interface PodSpecForTest {
  cpu?: string;
  memory?: string;
  nodeName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  initCpu?: string;
  priority?: number;
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  /** status.startTime (RFC 3339). */
  startTime?: string;
  terminating?: boolean;
  nominatedNodeName?: string;
  topologySpreadConstraints?: TopologySpreadConstraint[];
}

export function makePod(name: string, spec: PodSpecForTest = {}): Pod {
  const requests: Record<string, string> = {};
  if (spec.cpu !== undefined) requests.cpu = spec.cpu;
  if (spec.memory !== undefined) requests.memory = spec.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name, namespace: spec.namespace ?? 'default', uid: `uid-${name}`, labels: spec.labels,
      ...(spec.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'app', image: 'app', resources: { requests } }],
      ...(spec.initCpu !== undefined ? { initContainers: [{ name: 'init', resources: { requests: { cpu: spec.initCpu } } }] } : {}),
      nodeName: spec.nodeName,
      nodeSelector: spec.nodeSelector,
      tolerations: spec.tolerations,
      affinity: spec.affinity as Record<string, unknown> | undefined,
      schedulerName: 'default-scheduler',
      ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
      ...(spec.preemptionPolicy !== undefined ? { preemptionPolicy: spec.preemptionPolicy } : {}),
      ...(spec.topologySpreadConstraints !== undefined ? { topologySpreadConstraints: spec.topologySpreadConstraints as unknown as Record<string, unknown>[] } : {}),
    },
    status: {
      phase: 'Pending',
      ...(spec.startTime !== undefined ? { startTime: spec.startTime } : {}),
      ...(spec.nominatedNodeName !== undefined ? { nominatedNodeName: spec.nominatedNodeName } : {}),
    },
  };
}
