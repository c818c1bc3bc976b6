/**
 * What the scheduler reads from Pods and Nodes, as the structural subset of
 * the Kubernetes JSON it needs (PodSpec.affinity is untyped in the shared
 * types; here it gets its Kubernetes shape), and NodeInfo: a node with the
 * pods assigned to it and the sums of their requests.
 */
import type { LabelSelector, Node, Pod, ResourceList } from '../api/types/index.js';
import { quantityMilliValue, quantityValue } from './quantity.js';

export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface PreferredSchedulingTerm {
  weight: number;
  preference: NodeSelectorTerm;
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
  preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  /** `{}` selects every namespace; other selectors need namespace labels, which the scheduler does not watch (treated as none). */
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

export interface WeightedPodAffinityTerm {
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

export interface PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export interface Affinity {
  nodeAffinity?: NodeAffinity;
  podAffinity?: PodAffinity;
  podAntiAffinity?: PodAffinity;
}

export function affinityOf(pod: Pod): Affinity | undefined {
  return pod.spec?.affinity as Affinity | undefined;
}

/** A pod's `spec.topologySpreadConstraints[*]`, as Kubernetes 1.32 has it (matchLabelKeys is not read here). */
export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: LabelSelector;
  minDomains?: number;
  /** Default Honor: only nodes the pod's nodeSelector / required node affinity admit count. */
  nodeAffinityPolicy?: 'Honor' | 'Ignore';
  /** Default Ignore: nodes with taints the pod does not tolerate count too. */
  nodeTaintsPolicy?: 'Honor' | 'Ignore';
}

export function topologySpreadConstraintsOf(pod: Pod): TopologySpreadConstraint[] {
  return (pod.spec?.topologySpreadConstraints ?? []) as unknown as TopologySpreadConstraint[];
}

/** `spec.priority` (set by the Priority admission plugin; 0 when absent, as Kubernetes' PodPriority). */
export function podPriority(pod: Pod): number {
  return pod.spec?.priority ?? 0;
}

/** Requests the scheduler counts. */
export interface Resources {
  milliCpu: number;
  memoryBytes: number;
}

/** Kubernetes' defaults for containers that request nothing, used only when scoring (so a node full of best-effort pods does not look empty). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST_BYTES = 200 * 1024 * 1024;

function containerRequests(requests: ResourceList | undefined, nonZero: boolean): Resources {
  const cpu = requests?.cpu;
  const memory = requests?.memory;
  return {
    milliCpu: cpu !== undefined ? quantityMilliValue(cpu) : nonZero ? DEFAULT_MILLI_CPU_REQUEST : 0,
    memoryBytes: memory !== undefined ? quantityValue(memory) : nonZero ? DEFAULT_MEMORY_REQUEST_BYTES : 0,
  };
}

/**
 * A pod's effective request: the sum over its containers, or the largest
 * init container if that is larger (init containers run one at a time,
 * before the others), plus nothing for overhead (no RuntimeClass here).
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const containers = pod.spec?.containers;
  // Parsed once per containers list: an informer's objects are read-only, and the copy the cache assumes on a node shares the list.
  const cacheable = containers !== undefined && (pod.spec?.initContainers?.length ?? 0) === 0;
  if (cacheable) {
    const cached = (nonZero ? NON_ZERO_REQUESTS : REQUESTS).get(containers);
    if (cached !== undefined) return { ...cached };
  }
  const sum = sumRequests(pod, nonZero);
  if (cacheable) (nonZero ? NON_ZERO_REQUESTS : REQUESTS).set(containers, { ...sum });
  return sum;
}

const REQUESTS = new WeakMap<object, Resources>();
const NON_ZERO_REQUESTS = new WeakMap<object, Resources>();

function sumRequests(pod: Pod, nonZero: boolean): Resources {
  const sum: Resources = { milliCpu: 0, memoryBytes: 0 };
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequests(c.resources?.requests, nonZero);
    sum.milliCpu += r.milliCpu;
    sum.memoryBytes += r.memoryBytes;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c.resources?.requests, nonZero);
    sum.milliCpu = Math.max(sum.milliCpu, r.milliCpu);
    sum.memoryBytes = Math.max(sum.memoryBytes, r.memoryBytes);
  }
  return sum;
}

export interface Allocatable extends Resources {
  pods: number;
}

export function nodeAllocatable(node: Node): Allocatable {
  const list = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    milliCpu: list.cpu !== undefined ? quantityMilliValue(list.cpu) : 0,
    memoryBytes: list.memory !== undefined ? quantityValue(list.memory) : 0,
    pods: list.pods !== undefined ? quantityValue(list.pods) : 0,
  };
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

/** A node and the pods on it; `requested` sums real requests (for Filter), `nonZeroRequested` the scoring view. */
export class NodeInfo {
  readonly pods = new Map<string, Pod>();
  readonly requested: Resources = { milliCpu: 0, memoryBytes: 0 };
  readonly nonZeroRequested: Resources = { milliCpu: 0, memoryBytes: 0 };
  /** Pods here with required pod anti-affinity: the only ones InterPodAffinity must check against each incoming pod. */
  readonly podsWithRequiredAntiAffinity = new Map<string, Pod>();
  /** Pods here with any pod affinity or anti-affinity: the ones whose terms InterPodAffinity's scoring must read for every incoming pod. */
  readonly podsWithAffinity = new Map<string, Pod>();
  allocatable: Allocatable;

  constructor(public node: Node) {
    this.allocatable = nodeAllocatable(node);
  }

  get name(): string {
    return this.node.metadata.name!;
  }

  /** A copy whose pods can be added and removed without touching this one (preemption's dry runs, nominated pods). */
  clone(): NodeInfo {
    const copy = new NodeInfo(this.node);
    for (const pod of this.pods.values()) copy.addPod(pod);
    return copy;
  }

  setNode(node: Node): void {
    if (node.metadata.name !== this.name) throw new Error(`NodeInfo.setNode: ${node.metadata.name} is not ${this.name}`);
    this.node = node;
    this.allocatable = nodeAllocatable(node);
  }

  addPod(pod: Pod): void {
    const key = podKey(pod);
    if (this.pods.has(key)) throw new Error(`NodeInfo ${this.name}: pod ${key} added twice`);
    this.pods.set(key, pod);
    this.account(pod, 1);
    const affinity = affinityOf(pod);
    if ((affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0) this.podsWithRequiredAntiAffinity.set(key, pod);
    if (affinity?.podAffinity !== undefined || affinity?.podAntiAffinity !== undefined) this.podsWithAffinity.set(key, pod);
  }

  removePod(key: string): Pod | undefined {
    const pod = this.pods.get(key);
    if (pod === undefined) return undefined;
    this.pods.delete(key);
    this.podsWithRequiredAntiAffinity.delete(key);
    this.podsWithAffinity.delete(key);
    this.account(pod, -1);
    return pod;
  }

  private account(pod: Pod, sign: 1 | -1): void {
    const r = podRequests(pod);
    const nz = podRequests(pod, true);
    this.requested.milliCpu += sign * r.milliCpu;
    this.requested.memoryBytes += sign * r.memoryBytes;
    this.nonZeroRequested.milliCpu += sign * nz.milliCpu;
    this.nonZeroRequested.memoryBytes += sign * nz.memoryBytes;
  }
}

/** The cluster as one scheduling cycle sees it. The scheduler never mutates it during a cycle. */
export interface Snapshot {
  nodes: NodeInfo[];
  byName: Map<string, NodeInfo>;
  /** Nodes hosting a pod with pod affinity or anti-affinity (Kubernetes' HavePodsWithAffinityList), kept by a cache; else found from `nodes`. */
  havePodsWithAffinity?: () => readonly NodeInfo[];
  /** Nodes hosting a pod with required pod anti-affinity (Kubernetes' HavePodsWithRequiredAntiAffinityList), kept by a cache; else found from `nodes`. */
  havePodsWithRequiredAntiAffinity?: () => readonly NodeInfo[];
}

/** The nodes whose pods' affinity terms can move an incoming pod's InterPodAffinity score. */
export function nodesWithAffinityPods(snapshot: Snapshot): readonly NodeInfo[] {
  return snapshot.havePodsWithAffinity?.() ?? snapshot.nodes.filter((n) => n.podsWithAffinity.size > 0);
}

/** The nodes whose pods' required anti-affinity can keep an incoming pod away. */
export function nodesWithRequiredAntiAffinityPods(snapshot: Snapshot): readonly NodeInfo[] {
  return snapshot.havePodsWithRequiredAntiAffinity?.() ?? snapshot.nodes.filter((n) => n.podsWithRequiredAntiAffinity.size > 0);
}

/** Pods that hold resources: assigned and not finished (the scheduler's cache ignores Succeeded and Failed pods). */
export function holdsResources(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return (pod.spec?.nodeName ?? '') !== '' && phase !== 'Succeeded' && phase !== 'Failed';
}

export function buildSnapshot(nodes: Node[], pods: Pod[]): Snapshot {
  const byName = new Map<string, NodeInfo>();
  const infos: NodeInfo[] = [];
  for (const node of nodes) {
    const info = new NodeInfo(node);
    byName.set(info.name, info);
    infos.push(info);
  }
  for (const pod of pods) {
    if (!holdsResources(pod)) continue;
    byName.get(pod.spec!.nodeName!)?.addPod(pod);
  }
  return { nodes: infos, byName };
}
