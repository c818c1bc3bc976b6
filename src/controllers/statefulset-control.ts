/**
 * What a StatefulSet should do next, given its pods (Kubernetes'
 * stateful_set_control.go, the decision half): pure, no I/O. The
 * controller (statefulset.ts) carries the plan out.
 *
 * - Pods are named `<set>-<ordinal>`; ordinals run from `ordinals.start`
 *   (default 0) for `replicas` pods; any other ordinal is condemned.
 * - OrderedReady: one step per sync; a pod is created only once every lower
 *   ordinal is Running and Ready; condemned pods go one at a time, highest
 *   ordinal first, and only while the others are healthy.
 * - Parallel: every missing pod is created and every condemned one deleted
 *   at once.
 * - RollingUpdate: after the set is complete and healthy, the highest
 *   ordinal not at the update revision and at or above `partition` is
 *   deleted (to be recreated at the update revision), one at a time,
 *   waiting for each to be Running and Ready. OnDelete leaves pods alone.
 */
import type { Pod, StatefulSet, StatefulSetStatus } from '../api/types/index.js';
import { isDeleting, isPodAvailable, isPodReady } from './common.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './history.js';

/** The label naming a StatefulSet pod (a Service may select one member by it). */
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** The label carrying a pod's ordinal (Kubernetes 1.28+, PodIndexLabel). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** At most this many creates or deletes per sync under Parallel (Kubernetes' BurstReplicas): a set of a million replicas costs a million syncs' worth of patience, never a million requests at once. */
export const STATEFULSET_BURST = 500;

export type StatefulSetAction =
  | { type: 'create'; ordinal: number; revision: 'current' | 'update' }
  | { type: 'delete'; pod: Pod; why: 'failed' | 'condemned' | 'update' };

export interface StatefulSetPlanInput {
  set: StatefulSet;
  /** The set's pods (claimed), terminating ones included. */
  pods: Pod[];
  currentRevision: string;
  updateRevision: string;
  nowMs: number;
}

export function podName(setName: string, ordinal: number): string {
  return `${setName}-${ordinal}`;
}

/** The ordinal of a pod named `<set>-<n>`, or undefined for any other name. */
export function ordinalOf(setName: string, pod: Pod): number | undefined {
  const name = pod.metadata.name ?? '';
  const prefix = `${setName}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  if (!/^(0|[1-9][0-9]*)$/.test(rest)) return undefined;
  const n = Number(rest);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

function partitionOf(set: StatefulSet): number {
  return set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
}

function isRollingUpdate(set: StatefulSet): boolean {
  return (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

export function revisionOfPod(pod: Pod): string | undefined {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
}

const isFailed = (pod: Pod) => pod.status?.phase === 'Failed';
const isSucceeded = (pod: Pod) => pod.status?.phase === 'Succeeded';
/** Kubernetes' isCreated: the API server gave it a phase. */
const isCreated = (pod: Pod) => (pod.status?.phase ?? '') !== '';
const isRunningAndReady = (pod: Pod) => pod.status?.phase === 'Running' && isPodReady(pod);

function isHealthy(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  return isRunningAndReady(pod) && !isDeleting(pod) && isPodAvailable(pod, minReadySeconds, nowMs);
}

/**
 * For a missing ordinal: made from the current revision when a rolling
 * update keeps it back (below the partition), else from the update revision.
 */
export function revisionForNewPod(set: StatefulSet, ordinal: number): 'current' | 'update' {
  if (isRollingUpdate(set) && ordinal < startOrdinal(set) + partitionOf(set)) return 'current';
  return 'update';
}

/** The next steps toward `set.spec`: one at most under OrderedReady, all that can go at once under Parallel. */
export function planStatefulSet(input: StatefulSetPlanInput): StatefulSetAction[] {
  const { set, pods, nowMs } = input;
  const setName = set.metadata.name ?? '';
  const replicas = set.spec?.replicas ?? 1;
  const start = startOrdinal(set);
  const monotonic = (set.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const minReadySeconds = set.spec?.minReadySeconds ?? 0;
  // By index, not an array of `replicas` slots: replicas is user input and may be huge.
  const slots = new Map<number, Pod>();
  const condemned: Pod[] = [];
  for (const pod of pods) {
    const ordinal = ordinalOf(setName, pod);
    if (ordinal === undefined) continue;
    if (ordinal >= start && ordinal < start + replicas) slots.set(ordinal - start, pod);
    else condemned.push(pod);
  }
  condemned.sort((a, b) => (ordinalOf(setName, b) ?? 0) - (ordinalOf(setName, a) ?? 0));

  const actions: StatefulSetAction[] = [];
  let firstUnhealthy: Pod | undefined;
  for (let i = 0; i < replicas; i++) {
    if (actions.length >= STATEFULSET_BURST) return actions;
    const ordinal = start + i;
    const pod = slots.get(i);
    if (pod === undefined) {
      actions.push({ type: 'create', ordinal, revision: revisionForNewPod(set, ordinal) });
      if (monotonic) return actions;
      continue;
    }
    if ((isFailed(pod) || isSucceeded(pod)) && !isDeleting(pod)) {
      // A member that stopped for good is replaced under its own name.
      actions.push({ type: 'delete', pod, why: 'failed' });
      if (monotonic) return actions;
      continue;
    }
    if (!isCreated(pod)) {
      if (monotonic) return actions;
      continue;
    }
    if (!isHealthy(pod, minReadySeconds, nowMs)) {
      firstUnhealthy ??= pod;
      if (monotonic) return actions; // OrderedReady: nothing past an unhealthy member
    }
  }

  for (const pod of condemned) {
    if (actions.length >= STATEFULSET_BURST) return actions;
    if (isDeleting(pod)) {
      if (monotonic) return actions; // wait for it to go before the next
      continue;
    }
    // Scale down waits for the rest to be healthy; the condemned pod itself may be the unhealthy one.
    if (monotonic && firstUnhealthy !== undefined && firstUnhealthy !== pod) return actions;
    actions.push({ type: 'delete', pod, why: 'condemned' });
    if (monotonic) return actions;
  }
  if (actions.length > 0 || !isRollingUpdate(set)) return actions;

  // RollingUpdate: highest ordinal first, ordinals below the partition untouched, one pod at a time.
  const partition = partitionOf(set);
  for (let i = replicas - 1; i >= partition; i--) {
    const pod = slots.get(i);
    if (pod === undefined) return actions;
    if (revisionOfPod(pod) !== input.updateRevision && !isDeleting(pod)) {
      actions.push({ type: 'delete', pod, why: 'update' });
      return actions;
    }
    if (!isHealthy(pod, minReadySeconds, nowMs)) return actions; // wait for the updated pod before the next
  }
  return actions;
}

/**
 * The status Kubernetes reports for these pods: counts by readiness and
 * revision; once a rolling update has every pod at the update revision
 * and ready, the update revision becomes the current one.
 */
export function statefulSetStatus(input: StatefulSetPlanInput, collisionCount: number | undefined): StatefulSetStatus {
  const { set, pods, nowMs } = input;
  const minReadySeconds = set.spec?.minReadySeconds ?? 0;
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    replicas: 0, readyReplicas: 0, currentReplicas: 0, updatedReplicas: 0, availableReplicas: 0,
    currentRevision: input.currentRevision, updateRevision: input.updateRevision,
    collisionCount: collisionCount ?? 0,
  };
  for (const pod of pods) {
    if (ordinalOf(set.metadata.name ?? '', pod) === undefined || !isCreated(pod)) continue;
    status.replicas++;
    if (isRunningAndReady(pod)) {
      status.readyReplicas!++;
      if (isPodAvailable(pod, minReadySeconds, nowMs)) status.availableReplicas!++;
    }
    if (isDeleting(pod)) continue;
    const revision = revisionOfPod(pod);
    if (revision === input.currentRevision) status.currentReplicas!++;
    if (revision === input.updateRevision) status.updatedReplicas!++;
  }
  if (isRollingUpdate(set) && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
  return status;
}
