/**
 * TaintToleration. Filter: a node with a NoSchedule or NoExecute taint the
 * pod does not tolerate is out. Score: fewer untolerated PreferNoSchedule
 * taints is better (normalized in reverse).
 */
import type { Pod, Taint, Toleration } from '../../api/types/index.js';
import { defaultNormalizeScore, MAX_NODE_SCORE, unresolvable, type FilterPlugin, type PreScorePlugin, type ScorePlugin } from '../framework.js';

export const TAINT_TOLERATION = 'TaintToleration';

/** Kubernetes' `Toleration.ToleratesTaint`: an empty key with Exists matches every key; an empty effect matches every effect. */
export function toleratesTaint(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect !== undefined && t.effect !== '' as string && t.effect !== taint.effect) return false;
  if ((t.key ?? '') !== '' && t.key !== taint.key) return false;
  const operator = t.operator ?? 'Equal';
  if (operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

export function tolerates(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return tolerations !== undefined && tolerations.some((t) => toleratesTaint(t, taint));
}

/** Filter and Score run once per node per pod (hundreds a cycle): a node without taints costs no array. */
const NO_TAINTS: readonly Taint[] = Object.freeze([]);
/** Where PreScore leaves the pod's PreferNoSchedule tolerations for Score. */
const PREFER_NO_SCHEDULE_KEY = `PreScore${TAINT_TOLERATION}`;

function preferNoScheduleTolerations(pod: Pod): Toleration[] {
  return (pod.spec?.tolerations ?? []).filter((t) => t.effect === undefined || t.effect === 'PreferNoSchedule');
}

export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

export const taintToleration: FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: TAINT_TOLERATION,
  filter(_state, pod: Pod, node) {
    for (const taint of node.node.spec?.taints ?? NO_TAINTS) {
      if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
      if (!tolerates(pod.spec?.tolerations, taint)) return unresolvable(untoleratedTaintReason(taint));
    }
    return null;
  },
  // As Kubernetes' PreScore: the pod's PreferNoSchedule tolerations picked out once per cycle, not once per node.
  preScore(state, pod) {
    state.write(PREFER_NO_SCHEDULE_KEY, preferNoScheduleTolerations(pod));
    return null;
  },
  score(state, pod, node) {
    const taints = node.node.spec?.taints ?? NO_TAINTS;
    if (taints.length === 0) return 0;
    const preferNoSchedule = state.read<Toleration[]>(PREFER_NO_SCHEDULE_KEY) ?? preferNoScheduleTolerations(pod);
    let count = 0;
    for (const taint of taints) {
      if (taint.effect === 'PreferNoSchedule' && !tolerates(preferNoSchedule, taint)) count++;
    }
    return count;
  },
  normalizeScore(_state, _pod, scores) {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
  },
};
