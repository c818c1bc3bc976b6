/**
 * POST pods/{name}/eviction, as Kubernetes' EvictionREST: a pod is deleted
 * only if the PodDisruptionBudget covering it allows one more disruption.
 * The budget's status.disruptionsAllowed is decremented (and the pod noted
 * in status.disruptedPods for the disruption controller) by a status
 * update pinned to the budget's resourceVersion, so two evictions racing
 * for the last allowed disruption cannot both win. Refusals are 429
 * TooManyRequests with Kubernetes' message and a `DisruptionBudget` cause;
 * `kubectl drain` retries them every 5 s and reports them.
 */
import { ApiError, apiErrors } from './errors.js';
import { isObject } from './patch.js';
import { matchesLabels, selectorFromObject } from './selectors.js';
import type { DeleteOptions, Pod, PodDisruptionBudget, PodDisruptionBudgetCondition } from './types/index.js';

/** Kubernetes' message for every refusal of an eviction by a budget. */
export const EVICTION_REFUSED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";
/** policyv1.DisruptionBudgetCause. */
export const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';
/** Kubernetes gives up after this many lost races on the budget's resourceVersion. */
const EVICTION_CONFLICT_RETRIES_MAX = 5;
/** Kubernetes' MaxDisruptedPodSize: evictions the disruption controller has not yet confirmed. */
export const DISRUPTED_PODS_MAX = 2000;

/** What an eviction needs from the API server: reads, the pinned budget status update, the pod delete. */
export interface EvictionStore {
  getPod(namespace: string, name: string): Promise<Pod>;
  /** Budgets of the namespace (from the watch cache: only to find which one covers the pod). */
  budgets(namespace: string): PodDisruptionBudget[];
  /** The budget as stored now. */
  getBudget(namespace: string, name: string): Promise<PodDisruptionBudget>;
  /** Status update, compare-and-swap on the budget's metadata.resourceVersion (409 on a lost race). */
  updateBudgetStatus(budget: PodDisruptionBudget): Promise<void>;
  /** Marks the pod with the DisruptionTarget condition before it goes (best effort). */
  markDisruptionTarget(pod: Pod): Promise<void>;
  deletePod(namespace: string, name: string, options: DeleteOptions): Promise<void>;
  now(): number;
}

function tooManyRequests(cause: string, retryAfterSeconds: number): ApiError {
  const error = new ApiError(429, 'TooManyRequests', EVICTION_REFUSED_MESSAGE, { causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: cause }] });
  if (retryAfterSeconds > 0) error.status.details!.retryAfterSeconds = retryAfterSeconds;
  return error;
}

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Pods a budget cannot protect: finished, not yet running, or already going (Kubernetes' canIgnorePDB). */
function canIgnoreBudget(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp !== undefined;
}

/** The budgets whose (non-empty) selector matches the pod: an empty selector covers nothing here, as in Kubernetes' eviction. */
export function budgetsCovering(pod: Pod, budgets: readonly PodDisruptionBudget[]): PodDisruptionBudget[] {
  return budgets.filter((b) => {
    try {
      const selector = selectorFromObject(b.spec?.selector);
      return selector.length > 0 && matchesLabels(selector, pod.metadata.labels);
    } catch {
      return false; // validation refuses such selectors; one stored before covers nothing
    }
  });
}

/**
 * Evicts `namespace/name` as Kubernetes does, or throws the ApiError to
 * answer with (404 for a missing pod, 429 for a refusal, 500 for a pod
 * under several budgets).
 */
export async function evictPod(store: EvictionStore, namespace: string, name: string, body: unknown): Promise<void> {
  const eviction = isObject(body) ? body : {};
  const meta = isObject(eviction.metadata) ? eviction.metadata : {};
  if (typeof meta.name === 'string' && meta.name !== '' && meta.name !== name) throw apiErrors.badRequest(`name in URL does not match name in Eviction object`);
  const options = isObject(eviction.deleteOptions) ? (eviction.deleteOptions as DeleteOptions) : {};
  const pod = await store.getPod(namespace, name);
  if (canIgnoreBudget(pod)) return store.deletePod(namespace, name, options);
  const covering = budgetsCovering(pod, store.budgets(namespace));
  if (covering.length === 0) return store.deletePod(namespace, name, options);
  if (covering.length > 1) throw apiErrors.internal('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  const budgetName = covering[0]!.metadata.name ?? '';
  for (let attempt = 0; ; attempt++) {
    const budget = await store.getBudget(namespace, budgetName);
    const policy = budget.spec?.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget';
    const status = budget.status;
    // An unready pod adds nothing to the budget: AlwaysAllow lets it go at once; IfHealthyBudget when the budget is met anyway.
    if (!isReady(pod) && (policy === 'AlwaysAllow' || (status !== undefined && status.desiredHealthy > 0 && status.currentHealthy >= status.desiredHealthy))) {
      return store.deletePod(namespace, name, options);
    }
    try {
      await checkAndDecrement(store, budget, name);
    } catch (error) {
      if (error instanceof ApiError && error.code === 409 && attempt < EVICTION_CONFLICT_RETRIES_MAX) continue;
      throw error;
    }
    await store.markDisruptionTarget(pod).catch(() => undefined); // a condition, not a reason to keep the pod
    return store.deletePod(namespace, name, options);
  }
}

async function checkAndDecrement(store: EvictionStore, budget: PodDisruptionBudget, podName: string): Promise<void> {
  const name = budget.metadata.name ?? '';
  const status = budget.status;
  if (status === undefined || (status.observedGeneration ?? 0) < (budget.metadata.generation ?? 1)) {
    // The controller has not seen this budget's spec yet: come back soon.
    throw tooManyRequests(`The disruption budget ${name} is still being processed by the server.`, 10);
  }
  if (status.disruptionsAllowed < 0) throw apiErrors.forbiddenAdmission(`poddisruptionbudgets.policy "${name}" is forbidden: pdb disruptions allowed is negative`, 'poddisruptionbudgets', 'policy', name);
  if (Object.keys(status.disruptedPods ?? {}).length > DISRUPTED_PODS_MAX) {
    throw apiErrors.forbiddenAdmission(`poddisruptionbudgets.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, 'poddisruptionbudgets', 'policy', name);
  }
  if (status.disruptionsAllowed === 0) {
    throw tooManyRequests(`The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`, 0);
  }
  const allowed = status.disruptionsAllowed - 1;
  const stamp = new Date(Math.floor(store.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const conditions = allowed > 0 ? status.conditions : disruptionAllowedCondition(status.conditions, budget.metadata.generation, stamp);
  const next: PodDisruptionBudget = {
    ...budget,
    status: { ...status, disruptionsAllowed: allowed, disruptedPods: { ...(status.disruptedPods ?? {}), [podName]: stamp }, ...(conditions !== undefined ? { conditions } : {}) },
  };
  await store.updateBudgetStatus(next);
}

/** The DisruptionAllowed condition once no disruption is left (Kubernetes' UpdateDisruptionAllowedCondition with 0). */
function disruptionAllowedCondition(conditions: PodDisruptionBudgetCondition[] | undefined, generation: number | undefined, stamp: string): PodDisruptionBudgetCondition[] {
  const others = (conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed');
  const previous = (conditions ?? []).find((c) => c.type === 'DisruptionAllowed');
  const changed = previous?.status !== 'False';
  return [...others, {
    type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '',
    observedGeneration: generation, lastTransitionTime: changed ? stamp : previous?.lastTransitionTime ?? stamp,
  }];
}
