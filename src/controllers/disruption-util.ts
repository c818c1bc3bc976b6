/**
 * The disruption controller's arithmetic (Kubernetes' pkg/controller/disruption):
 * how many pods a PodDisruptionBudget expects and wants healthy, how many
 * are healthy, and so how many may be disrupted now; which pods the
 * eviction subresource has just evicted still count as on their way out.
 * Pure.
 */
import type { IntOrString, Pod, PodDisruptionBudget, PodDisruptionBudgetCondition, PodDisruptionBudgetStatus } from '../api/types/index.js';
import { matchesLabels, selectorFromObject } from '../api/selectors.js';
import { formatTime, isDeleting, isPodReady, parseTime } from './common.js';

/** Kubernetes' DeletionTimeout: an evicted pod not gone after this is counted again (and a NotDeleted event says so). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/**
 * An int, or a percent of `total` rounded up (roundUp) or down, as
 * intstr.GetScaledValueFromIntOrPercent; throws on a malformed value.
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (match === null) throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(value)}`);
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** Whether the budget needs the pods' controllers' scale (maxUnavailable, or a percent minAvailable). */
export function needsScale(pdb: PodDisruptionBudget): boolean {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) return true;
  return typeof spec.minAvailable === 'string';
}

/** The pods a budget covers: in policy/v1 an empty selector selects every pod of the namespace, a missing one none. */
export function podsOfBudget(pdb: PodDisruptionBudget, pods: readonly Pod[]): Pod[] {
  const selector = pdb.spec?.selector;
  if (selector === undefined || selector === null) return [];
  let requirements;
  try {
    requirements = selectorFromObject(selector);
  } catch {
    return []; // validation refuses such selectors; one stored before cannot select anything
  }
  return pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && matchesLabels(requirements, p.metadata.labels));
}

/** expectedPods and desiredHealthy, given the summed scale of the pods' controllers (needed only when needsScale). */
export function expectedAndDesired(pdb: PodDisruptionBudget, podCount: number, controllersScale: number): { expectedPods: number; desiredHealthy: number } {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    const maxUnavailable = scaledValue(spec.maxUnavailable, controllersScale, true);
    return { expectedPods: controllersScale, desiredHealthy: Math.max(0, controllersScale - maxUnavailable) };
  }
  if (typeof spec.minAvailable === 'number') return { expectedPods: podCount, desiredHealthy: spec.minAvailable };
  if (typeof spec.minAvailable === 'string') return { expectedPods: controllersScale, desiredHealthy: scaledValue(spec.minAvailable, controllersScale, true) };
  return { expectedPods: 0, desiredHealthy: 0 };
}

/**
 * status.disruptedPods without the pods that went and those overdue;
 * `recheckMs` is when the next entry runs out; `overdue` names pods that
 * should have gone by now.
 */
export function liveDisruptedPods(pdb: PodDisruptionBudget, pods: readonly Pod[], nowMs: number): { disruptedPods: Record<string, string>; recheckMs: number | undefined; overdue: Pod[] } {
  const recorded = pdb.status?.disruptedPods ?? {};
  const disruptedPods: Record<string, string> = {};
  const overdue: Pod[] = [];
  let recheckMs: number | undefined;
  for (const pod of pods) {
    if (isDeleting(pod)) continue;
    const at = recorded[pod.metadata.name ?? ''];
    if (at === undefined) continue;
    const dueMs = (parseTime(at) ?? 0) + DISRUPTED_POD_TIMEOUT_MS;
    if (dueMs < nowMs) overdue.push(pod);
    else {
      disruptedPods[pod.metadata.name ?? ''] = at;
      recheckMs = recheckMs === undefined ? dueMs : Math.min(recheckMs, dueMs);
    }
  }
  return { disruptedPods, recheckMs, overdue };
}

/** Ready pods neither being deleted nor just evicted. */
export function countHealthy(pods: readonly Pod[], disruptedPods: Readonly<Record<string, string>>): number {
  let healthy = 0;
  for (const pod of pods) {
    if (isDeleting(pod) || disruptedPods[pod.metadata.name ?? ''] !== undefined) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

/** The DisruptionAllowed condition for `allowed` (SufficientPods / InsufficientPods, or SyncFailed with a message); its transition time moves only when its status does. */
export function disruptionAllowedCondition(
  previous: readonly PodDisruptionBudgetCondition[] | undefined, allowed: number, generation: number | undefined, nowMs: number, failure?: string,
): PodDisruptionBudgetCondition[] {
  const status = allowed > 0 && failure === undefined ? 'True' : 'False';
  const reason = failure !== undefined ? 'SyncFailed' : allowed > 0 ? 'SufficientPods' : 'InsufficientPods';
  const before = (previous ?? []).find((c) => c.type === 'DisruptionAllowed');
  const others = (previous ?? []).filter((c) => c.type !== 'DisruptionAllowed');
  const lastTransitionTime = before !== undefined && before.status === status ? before.lastTransitionTime : formatTime(nowMs);
  return [...others, { type: 'DisruptionAllowed', status, reason, message: failure ?? '', observedGeneration: generation, lastTransitionTime }];
}

/** The whole status (Kubernetes' updatePdbStatus): no disruption while nothing is expected, so a budget whose pods just appeared is safe. */
export function budgetStatus(
  pdb: PodDisruptionBudget, counts: { currentHealthy: number; desiredHealthy: number; expectedPods: number }, disruptedPods: Record<string, string>, nowMs: number,
): PodDisruptionBudgetStatus {
  let allowed = counts.currentHealthy - counts.desiredHealthy;
  if (counts.expectedPods <= 0 || allowed <= 0) allowed = 0;
  const status: PodDisruptionBudgetStatus = {
    observedGeneration: pdb.metadata.generation,
    disruptionsAllowed: allowed, currentHealthy: counts.currentHealthy, desiredHealthy: counts.desiredHealthy, expectedPods: counts.expectedPods,
    conditions: disruptionAllowedCondition(pdb.status?.conditions, allowed, pdb.metadata.generation, nowMs),
  };
  if (Object.keys(disruptedPods).length > 0) status.disruptedPods = disruptedPods;
  return status;
}
