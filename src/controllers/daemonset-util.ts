/**
 * What a DaemonSet should do next (Kubernetes' pkg/controller/daemon, the
 * decision half): pure, no I/O. daemonset.ts carries the plan out.
 *
 * - A node should run the daemon pod when the template's nodeSelector and
 *   required node affinity match it and every NoSchedule / NoExecute taint
 *   is tolerated (with the tolerations every daemon pod gets); a pod
 *   already there keeps running while its NoExecute taints are tolerated.
 * - Each pod is pinned to its node by a required node affinity on
 *   `metadata.name` (the scheduler binds it), as Kubernetes does since 1.12.
 * - RollingUpdate replaces old pods node by node while at most
 *   maxUnavailable nodes lack an available pod, or with maxSurge starts the
 *   new pod beside the old one and deletes the old once the new is
 *   available; OnDelete replaces a pod only once someone deletes it.
 */
import type { DaemonSet, DaemonSetStatus, IntOrString, Node, Pod, Taint, Toleration } from '../api/types/index.js';
import { podMatchesNodeSelectorAndAffinity } from '../scheduler/plugins/node-affinity.js';
import { tolerates } from '../scheduler/plugins/taint-toleration.js';
import { isDeleting, isPodAvailable, isPodReady, ownerRefTo, parseTime } from './common.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './history.js';

/** The label with the DaemonSet's generation at the pod's creation (Kubernetes' deprecated pod-template-generation). */
export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

/**
 * The tolerations Kubernetes adds to every daemon pod (AddOrUpdateDaemonPodTolerations):
 * a daemon survives its node going not-ready or unreachable, and lands on
 * nodes under pressure or cordoned; with hostNetwork also on nodes whose network is not set up.
 */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const list: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork) list.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return list;
}

/** The template's tolerations plus the daemon defaults (an existing toleration of the same key and effect wins). */
export function withDaemonTolerations(tolerations: Toleration[] | undefined, hostNetwork: boolean): Toleration[] {
  const out = [...(tolerations ?? [])];
  for (const t of daemonPodTolerations(hostNetwork)) {
    if (!out.some((o) => o.key === t.key && o.effect === t.effect)) out.push(t);
  }
  return out;
}

export interface NodeFit {
  /** A daemon pod should be created here. */
  shouldRun: boolean;
  /** A daemon pod already here may stay. */
  shouldContinueRunning: boolean;
}

/** Kubernetes' nodeShouldRunDaemonPod. */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): NodeFit {
  const spec = ds.spec?.template?.spec;
  const probe: Pod = { metadata: {}, spec: { ...(spec ?? { containers: [] }), tolerations: withDaemonTolerations(spec?.tolerations, spec?.hostNetwork === true) } };
  if (spec?.nodeName && spec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!podMatchesNodeSelectorAndAffinity(probe, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const untolerated = (effects: Taint['effect'][]) => taints.some((t) => effects.includes(t.effect) && !tolerates(probe.spec?.tolerations, t));
  if (untolerated(['NoSchedule', 'NoExecute'])) return { shouldRun: false, shouldContinueRunning: !untolerated(['NoExecute']) };
  return { shouldRun: true, shouldContinueRunning: true };
}

/** The node a daemon pod is for: its nodeName once bound, else the `metadata.name` its node affinity pins (Kubernetes' GetTargetNodeName). */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = (pod.spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key: string; operator: string; values?: string[] }[] }[] } } } | undefined)
    ?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  // The pod's affinity is user input: anything but the expected shape names no node.
  if (!Array.isArray(terms)) return undefined;
  for (const term of terms) {
    if (!Array.isArray(term?.matchFields)) continue;
    for (const field of term.matchFields) {
      if (field.key === 'metadata.name' && field.operator === 'In' && field.values?.length === 1) return field.values[0];
    }
  }
  return undefined;
}

/**
 * The daemon pod for `nodeName`: the template, the revision hash and
 * generation labels, the default tolerations, and a required node affinity
 * that names the node — replacing the template's required terms, which the
 * controller has already checked (Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity).
 */
export function newDaemonPod(ds: DaemonSet, nodeName: string, hash: string): Pod {
  const template = ds.spec!.template;
  const spec = structuredClone(template.spec);
  spec.tolerations = withDaemonTolerations(spec.tolerations, spec.hostNetwork === true);
  const affinity = { ...((spec.affinity ?? {}) as Record<string, unknown>) };
  const nodeAffinity = { ...((affinity.nodeAffinity ?? {}) as Record<string, unknown>) };
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
  };
  affinity.nodeAffinity = nodeAffinity;
  spec.affinity = affinity;
  return {
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: {
        ...(template.metadata?.labels ?? {}),
        [CONTROLLER_REVISION_HASH_LABEL]: hash,
        [POD_TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 1),
      },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [ownerRefTo(ds, 'apps/v1', 'DaemonSet')],
    },
    spec,
  };
}

export function isUpdatedPod(pod: Pod, hash: string): boolean {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
}

/** intstr scaled against `total`, percentages rounded up (GetScaledValueFromIntOrPercent with roundUp). */
export function scaledValue(value: IntOrString | undefined, total: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const match = /^([0-9]+)%$/.exec(value);
  if (match !== null) return Math.ceil((Number(match[1]) * total) / 100);
  return /^[0-9]+$/.test(value) ? Number(value) : fallback;
}

export interface DaemonSetPlanInput {
  ds: DaemonSet;
  nodes: Node[];
  /** The set's pods (claimed), by the node they are for; terminating ones included. */
  podsByNode: Map<string, Pod[]>;
  hash: string;
  nowMs: number;
}

export interface DaemonSetPlan {
  /** Nodes that get a new daemon pod. */
  create: string[];
  delete: Pod[];
}

const byAge = (a: Pod, b: Pod) => (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0)
  || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1);

/** Kubernetes' podsShouldBeOnNode and rollingUpdate, for one sync. */
export function planDaemonSet(input: DaemonSetPlanInput): DaemonSetPlan {
  const { ds, nodes, podsByNode } = input;
  const create: string[] = [];
  const remove: Pod[] = [];
  const nodeNames = new Set<string>();
  const surge = maxSurgeOf(ds, desiredNumberScheduled(ds, nodes));
  for (const node of nodes) {
    const name = node.metadata.name!;
    nodeNames.add(name);
    const fit = nodeShouldRunDaemonPod(node, ds);
    const all = podsByNode.get(name) ?? [];
    // A node whose old pod is still terminating gets its new one only once the old is gone.
    if (fit.shouldRun && all.length === 0) {
      create.push(name);
      continue;
    }
    const pods = all.filter((p) => !isDeleting(p));
    if (!fit.shouldContinueRunning) {
      remove.push(...pods);
      continue;
    }
    // A failed daemon pod is deleted; the next sync makes a new one.
    const failed = pods.filter((p) => p.status?.phase === 'Failed');
    remove.push(...failed);
    const running = pods.filter((p) => p.status?.phase !== 'Failed').sort(byAge);
    if (running.length > 1) remove.push(...(surge > 0 ? surgedDuplicatesToDelete(running, input.hash, ds.spec?.minReadySeconds ?? 0, input.nowMs) : duplicatesToDelete(running, input.hash)));
  }
  // Pods for nodes that are gone.
  for (const [name, pods] of podsByNode) if (!nodeNames.has(name)) remove.push(...pods.filter((p) => !isDeleting(p)));
  if (create.length === 0 && remove.length === 0 && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    if (surge > 0) return rollingUpdateWithSurge(input, surge);
    remove.push(...rollingUpdateDeletions(input));
  }
  return { create, delete: remove };
}

/** maxSurge scaled against the desired count, rounded up; 0 when the strategy has none. */
export function maxSurgeOf(ds: DaemonSet, desired: number): number {
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return 0;
  return Math.max(0, scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge, desired, 0));
}

/**
 * With surge a node may hold an old and a new pod for a while: the oldest of
 * each is kept until the new one is available (or the old one stops being
 * ready); any further duplicate goes (Kubernetes' podsShouldBeOnNode with surge).
 */
function surgedDuplicatesToDelete(sortedByAge: Pod[], hash: string, minReadySeconds: number, nowMs: number): Pod[] {
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  const out: Pod[] = [];
  for (const pod of sortedByAge) {
    if (isUpdatedPod(pod, hash) && oldestNew === undefined) oldestNew = pod;
    else if (!isUpdatedPod(pod, hash) && oldestOld === undefined) oldestOld = pod;
    else out.push(pod);
  }
  if (oldestNew !== undefined && oldestOld !== undefined && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReadySeconds, nowMs))) out.push(oldestOld);
  return out;
}

/**
 * Kubernetes' rollingUpdate with maxSurge: a new pod is started beside the
 * old one on at most maxSurge nodes at a time (at once where the old one is
 * not available), and the old one goes once the new one is available.
 */
export function rollingUpdateWithSurge(input: DaemonSetPlanInput, maxSurge: number): DaemonSetPlan {
  const { ds, nodes, podsByNode, hash, nowMs } = input;
  const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
  let surging = 0;
  const allowedNodes: string[] = [];
  const candidateNodes: string[] = [];
  const remove: Pod[] = [];
  for (const node of nodes) {
    if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue;
    const name = node.metadata.name!;
    const pods = (podsByNode.get(name) ?? []).filter((p) => !isDeleting(p));
    const fresh = pods.filter((p) => isUpdatedPod(p, hash));
    const old = pods.filter((p) => !isUpdatedPod(p, hash));
    if (fresh.length > 1 || old.length > 1) {
      surging++;
      continue;
    }
    if (old.length === 0) continue;
    if (fresh.length === 0) {
      if (!isPodAvailable(old[0]!, minReadySeconds, nowMs)) allowedNodes.push(name);
      else if (surging < maxSurge) candidateNodes.push(name);
      continue;
    }
    if (!isPodAvailable(fresh[0]!, minReadySeconds, nowMs)) {
      surging++;
      continue;
    }
    remove.push(old[0]!);
  }
  const remaining = Math.max(0, Math.min(maxSurge - surging, candidateNodes.length));
  return { create: [...allowedNodes, ...candidateNodes.slice(0, remaining)], delete: remove };
}

/** More than one daemon pod on a node: keep the oldest updated one (else the oldest), delete the rest. */
function duplicatesToDelete(sortedByAge: Pod[], hash: string): Pod[] {
  const keep = sortedByAge.find((p) => isUpdatedPod(p, hash)) ?? sortedByAge[0]!;
  return sortedByAge.filter((p) => p !== keep);
}

/** The number of nodes that should run the daemon pod. */
export function desiredNumberScheduled(ds: DaemonSet, nodes: Node[]): number {
  return nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
}

/** Kubernetes' rollingUpdate with maxSurge 0: old pods go while at most maxUnavailable nodes lack an available pod; an unavailable old pod goes at once. */
export function rollingUpdateDeletions(input: DaemonSetPlanInput): Pod[] {
  const { ds, nodes, podsByNode, hash, nowMs } = input;
  const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
  const desired = desiredNumberScheduled(ds, nodes);
  let maxUnavailable = scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, desired, 1);
  if (maxUnavailable <= 0) maxUnavailable = 1; // both 0 is refused by validation; a percentage of few nodes may round to 0: never stall, as Kubernetes
  let unavailable = 0;
  const allowed: Pod[] = [];
  const candidates: Pod[] = [];
  for (const node of nodes) {
    if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue;
    const pods = (podsByNode.get(node.metadata.name!) ?? []).filter((p) => !isDeleting(p));
    const fresh = pods.filter((p) => isUpdatedPod(p, hash));
    const old = pods.filter((p) => !isUpdatedPod(p, hash));
    // No pod (being replaced: its old one is terminating) or more than one: the node counts as unavailable.
    if (pods.length === 0 || (fresh.length > 0 && old.length > 0) || pods.length > 1) {
      unavailable++;
      continue;
    }
    if (fresh.length === 1) {
      if (!isPodAvailable(fresh[0]!, minReadySeconds, nowMs)) unavailable++;
      continue;
    }
    const pod = old[0]!;
    if (!isPodAvailable(pod, minReadySeconds, nowMs)) {
      // Replacing a pod that serves nothing costs no availability; the node counts as unavailable already.
      allowed.push(pod);
      unavailable++;
    } else candidates.push(pod);
  }
  const remaining = Math.max(0, Math.min(maxUnavailable - unavailable, candidates.length));
  return [...allowed, ...candidates.slice(0, remaining)];
}

/** The status Kubernetes reports (updateDaemonSetStatus): per node that should run it, the oldest pod counts. */
export function daemonSetStatus(input: DaemonSetPlanInput): DaemonSetStatus {
  const { ds, nodes, podsByNode, hash, nowMs } = input;
  const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
  const status: DaemonSetStatus = {
    currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0,
    updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0, observedGeneration: ds.metadata.generation,
  };
  for (const node of nodes) {
    const fit = nodeShouldRunDaemonPod(node, ds);
    const pods = (podsByNode.get(node.metadata.name!) ?? []).filter((p) => !isDeleting(p)).sort(byAge);
    if (fit.shouldRun) {
      status.desiredNumberScheduled++;
      if (pods.length === 0) continue;
      status.currentNumberScheduled++;
      const pod = pods[0]!;
      if (isPodReady(pod)) {
        status.numberReady++;
        if (isPodAvailable(pod, minReadySeconds, nowMs)) status.numberAvailable!++;
      }
      if (isUpdatedPod(pod, hash)) status.updatedNumberScheduled!++;
    } else if (pods.length > 0) {
      status.numberMisscheduled++;
    }
  }
  status.numberUnavailable = status.desiredNumberScheduled - status.numberAvailable!;
  return status;
}
