/**
 * Which preemption victims an eviction would take below a
 * PodDisruptionBudget: Kubernetes' filterPodsWithPDBViolation. Each budget's
 * `status.disruptionsAllowed` is used up along the list of victims; a pod the
 * budget already counts as disrupted (`status.disruptedPods`) costs nothing;
 * a budget with an empty selector selects nothing, as in Kubernetes.
 */
import type { Pod } from '../api/types/index.js';
import type { PodDisruptionBudget } from '../api/types/policy.js';
import { matchesLabels, selectorFromObject, type Selector } from '../api/selectors.js';
import type { DisruptionBudgetCheck } from './framework.js';

/** A check over the budgets as they are now (`budgets()` is read once per call). */
export function disruptionBudgetCheck(budgets: () => readonly PodDisruptionBudget[]): DisruptionBudgetCheck {
  return (pods) => {
    const live = budgets().map((pdb) => ({ pdb, selector: selectorOf(pdb), allowed: pdb.status?.disruptionsAllowed ?? 0 }));
    return pods.map((pod) => {
      let violates = false;
      for (const b of live) {
        if (b.selector === undefined || b.pdb.metadata.namespace !== pod.metadata.namespace) continue;
        if (!matchesLabels(b.selector, pod.metadata.labels)) continue;
        if (pod.metadata.name !== undefined && b.pdb.status?.disruptedPods?.[pod.metadata.name] !== undefined) continue;
        b.allowed--;
        if (b.allowed < 0) violates = true;
      }
      return violates;
    });
  };
}

function selectorOf(pdb: PodDisruptionBudget): Selector | undefined {
  const selector = pdb.spec?.selector;
  if (selector === undefined || ((selector.matchLabels === undefined || Object.keys(selector.matchLabels).length === 0) && (selector.matchExpressions ?? []).length === 0)) return undefined;
  try {
    return selectorFromObject(selector);
  } catch {
    // The API server validates selectors; a bad one protects nothing rather than failing the scheduling cycle.
    return undefined;
  }
}
