/**
 * The no-pdb-violation check, as a pure judge of what the run recorded
 * (tests feed it broken records): no pod a drain took away (through the
 * eviction API or, in the broken variant, deleted directly) took a budget's
 * healthy pods below what the budget must keep.
 */
import type { CheckResult } from '../../engine/types.js';
import type { BudgetRecord, DisruptionRecord, PodHealthChange } from './sink.js';

/** One disruption that left a budget with fewer healthy pods than it must keep. */
export interface BudgetViolation {
  budget: string;
  pod: string;
  tMs: number;
  via: DisruptionRecord['via'];
  /** Healthy pods of the budget just before the disruption, the disrupted one included. */
  healthyBefore: number;
  desiredHealthy: number;
}

/**
 * Pure: the violations of `budgets` by `disruptions`, judged from the
 * observed health of every pod at each disruption's moment.
 *
 * A disruption of a pod that was not healthy takes nothing from a budget,
 * so only healthy pods count; a pod disrupted earlier counts as gone from
 * its disruption on, even when the watch has not yet shown it terminating
 * (the disruption controller's disruptedPods does the same). An eviction
 * is accepted only after the disruption controller saw a replacement Ready
 * and wrote the budget's status, a longer path than the observer's watch,
 * so by default the watch's view at the disruption's moment is trusted; a
 * pod the watch shows turning healthy within `watchLagMs` after it counts
 * as healthy at it (for runtimes whose watch lags more: a wider lag can
 * only hide a violation that lasted less, never invent one).
 * Crashes and node failures are not disruptions: they lower the count
 * before a drain, and the drain may then disrupt nothing more.
 */
export function findBudgetViolations(
  budgets: readonly BudgetRecord[], health: readonly PodHealthChange[], disruptions: readonly DisruptionRecord[], watchLagMs: number,
): BudgetViolation[] {
  const violations: BudgetViolation[] = [];
  // Judged as each request was sent: the pod was taken at some moment before the answer, and the watch may show it
  // going before the answer arrives (then it looked unhealthy "at" its own disruption, and a violation hid).
  const ordered = [...disruptions].sort((a, b) => (a.sentMs ?? a.tMs) - (b.sentMs ?? b.tMs));
  for (const budget of budgets) {
    const changes = health.filter((h) => h.app === budget.app);
    const gone = new Set<string>();
    for (const d of ordered) {
      const app = changes.find((h) => h.uid === d.uid)?.app;
      if (app !== budget.app) continue;
      // A replacement that turned healthy before the answer (or within the lag after it) counts as healthy.
      const sentMs = d.sentMs ?? d.tMs;
      const healthy = healthyAt(changes, sentMs, watchLagMs + (d.tMs - sentMs));
      for (const uid of gone) healthy.delete(uid);
      gone.add(d.uid);
      if (!healthy.has(d.uid)) continue;
      if (healthy.size - 1 < budget.desiredHealthy) {
        violations.push({ budget: budget.name, pod: d.pod, tMs: d.tMs, via: d.via, healthyBefore: healthy.size, desiredHealthy: budget.desiredHealthy });
      }
    }
  }
  return violations;
}

/** The uids healthy at `tMs` by their last change up to it, or that turned healthy within `lagMs` after it. */
function healthyAt(changes: readonly PodHealthChange[], tMs: number, lagMs: number): Set<string> {
  const state = new Map<string, boolean>();
  for (const h of changes) {
    if (h.tMs <= tMs) state.set(h.uid, h.healthy);
    else if (h.tMs <= tMs + lagMs && h.healthy) state.set(h.uid, true);
  }
  return new Set([...state].filter(([, healthy]) => healthy).map(([uid]) => uid));
}

export function judgeNoPdbViolation(
  budgets: readonly BudgetRecord[], health: readonly PodHealthChange[], disruptions: readonly DisruptionRecord[], watchLagMs: number,
): CheckResult {
  const name = 'no-pdb-violation';
  if (budgets.length === 0) return { name, verdict: 'unknown', summary: 'no PodDisruptionBudget was created: give a workload a `pdb`' };
  if (health.length === 0) return { name, verdict: 'unknown', summary: 'no pod health was watched' };
  const violations = findBudgetViolations(budgets, health, disruptions, watchLagMs);
  const judged = disruptions.filter((d) => budgets.some((b) => health.some((h) => h.uid === d.uid && h.app === b.app))).length;
  return {
    name,
    verdict: violations.length === 0 ? 'pass' : 'fail',
    summary: violations.length === 0
      ? `${judged} disruptions of budgeted pods (${disruptions.length} in all), none took a budget of ${budgets.map((b) => `${b.name} (${b.desiredHealthy} healthy)`).join(', ')} below what it keeps`
      : `${violations.length} disruptions violated a budget: ${violations.slice(0, 5).map((v) => `${v.via} of ${v.pod} at ${Math.round(v.tMs)} ms left ${v.budget} ${v.healthyBefore - 1} healthy of ${v.desiredHealthy}`).join('; ')}`,
    details: { violations, disruptions: disruptions.length },
  };
}
