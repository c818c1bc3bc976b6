/**
 * PodTopologySpread, as kube-scheduler 1.32's: a pod's
 * `topologySpreadConstraints` keep matching pods evenly spread over the
 * domains of a node label (a zone from `topology.kubernetes.io/zone`, a
 * node from `kubernetes.io/hostname`...).
 *
 * Filter (whenUnsatisfiable: DoNotSchedule): placing the pod in a node's
 * domain must not make that domain exceed the least populated one by more
 * than maxSkew; with fewer domains than minDomains the least is taken as 0.
 * Score (ScheduleAnyway): fewer matching pods in a node's domains is
 * better, weighted by log(number of domains + 2), normalized so the least
 * crowded node gets 100.
 *
 * Counted: pods in the pod's namespace matching the constraint's selector,
 * not terminating, on nodes that carry every constraint's key and (per
 * nodeAffinityPolicy, default Honor) match the pod's nodeSelector and
 * required node affinity and (per nodeTaintsPolicy, default Ignore)
 * whose taints the pod tolerates. Kubernetes' cluster-level default
 * constraints (for pods of Services and ReplicaSets that set none) are not applied.
 */
import type { Pod } from '../../api/types/index.js';
import { matchesLabels, selectorFromObject, type Selector } from '../../api/selectors.js';
import { MAX_NODE_SCORE, skip, unresolvable, unschedulable, type CycleState, type FilterPlugin, type NodeScore, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from '../framework.js';
import { topologySpreadConstraintsOf, type NodeInfo, type Snapshot, type TopologySpreadConstraint } from '../types.js';
import { podMatchesNodeSelectorAndAffinity } from './node-affinity.js';
import { tolerates } from './taint-toleration.js';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

const FILTER_STATE_KEY = 'PreFilterPodTopologySpread';
const SCORE_STATE_KEY = 'PreScorePodTopologySpread';
const SNAPSHOT_KEY = 'PodTopologySpreadSnapshot';

interface CompiledConstraint {
  maxSkew: number;
  topologyKey: string;
  /** null: no labelSelector, which selects no pod (Kubernetes' labels.Nothing). */
  selector: Selector | null;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorTaints: boolean;
}

function compile(c: TopologySpreadConstraint): CompiledConstraint {
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector: c.labelSelector === undefined || c.labelSelector === null ? null : selectorFromObject(c.labelSelector),
    minDomains: c.minDomains ?? 1,
    honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorTaints: (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor',
  };
}

/** The pod's constraints of one kind, compiled; a selector that does not parse is the pod's error, not a crash. */
function constraintsOf(pod: Pod, kind: TopologySpreadConstraint['whenUnsatisfiable']): CompiledConstraint[] | { error: string } {
  try {
    return topologySpreadConstraintsOf(pod).filter((c) => c.whenUnsatisfiable === kind).map(compile);
  } catch (error) {
    return { error: `invalid topology spread constraint: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function selects(c: CompiledConstraint, pod: Pod): boolean {
  return c.selector !== null && matchesLabels(c.selector, pod.metadata.labels);
}

/** Kubernetes' countPodsMatchSelector: same namespace, not terminating, selected. */
function countMatching(node: NodeInfo, c: CompiledConstraint, namespace: string): number {
  if (c.selector === null) return 0;
  let n = 0;
  for (const p of node.pods.values()) {
    if (p.metadata.deletionTimestamp !== undefined || (p.metadata.namespace ?? 'default') !== namespace) continue;
    if (matchesLabels(c.selector, p.metadata.labels)) n++;
  }
  return n;
}

function hasAllKeys(node: NodeInfo, constraints: readonly CompiledConstraint[]): boolean {
  const labels = node.node.metadata.labels ?? {};
  return constraints.every((c) => Object.prototype.hasOwnProperty.call(labels, c.topologyKey));
}

/** Kubernetes' matchNodeInclusionPolicies. */
function includes(c: CompiledConstraint, pod: Pod, node: NodeInfo): boolean {
  if (c.honorNodeAffinity && !podMatchesNodeSelectorAndAffinity(pod, node.node)) return false;
  if (c.honorTaints) {
    for (const taint of node.node.spec?.taints ?? []) {
      if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(pod.spec?.tolerations, taint)) return false;
    }
  }
  return true;
}

interface FilterState {
  constraints: CompiledConstraint[];
  /** `key=value` -> matching pods in that domain. */
  counts: Map<string, number>;
  /** Per constraint: the fewest matching pods in any domain, and how many domains there are. */
  minMatch: number[];
  domains: number[];
}

function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

function computeFilterState(pod: Pod, snapshot: Snapshot, constraints: CompiledConstraint[]): FilterState {
  const namespace = pod.metadata.namespace ?? 'default';
  const counts = new Map<string, number>();
  const domainsPerConstraint = constraints.map(() => new Set<string>());
  for (const node of snapshot.nodes) {
    if (!hasAllKeys(node, constraints)) continue;
    const labels = node.node.metadata.labels!;
    constraints.forEach((c, i) => {
      if (!includes(c, pod, node)) return;
      const pair = pairKey(c.topologyKey, labels[c.topologyKey]!);
      domainsPerConstraint[i]!.add(pair);
      counts.set(pair, (counts.get(pair) ?? 0) + countMatching(node, c, namespace));
    });
  }
  const minMatch = domainsPerConstraint.map((domains) => {
    let min = Number.POSITIVE_INFINITY;
    for (const d of domains) min = Math.min(min, counts.get(d) ?? 0);
    return min === Number.POSITIVE_INFINITY ? 0 : min;
  });
  return { constraints, counts, minMatch, domains: domainsPerConstraint.map((d) => d.size) };
}

interface ScoreState {
  constraints: CompiledConstraint[];
  counts: Map<string, number>;
  weights: number[];
  ignored: Set<string>;
}

export const podTopologySpread: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: POD_TOPOLOGY_SPREAD,
  preFilter(state: CycleState, pod, snapshot) {
    state.write(SNAPSHOT_KEY, snapshot);
    const constraints = constraintsOf(pod, 'DoNotSchedule');
    if ('error' in constraints) return unresolvable(constraints.error);
    // As Kubernetes: no DoNotSchedule constraint, no Filter to run.
    if (constraints.length === 0) return skip();
    state.write(FILTER_STATE_KEY, computeFilterState(pod, snapshot, constraints));
    return null;
  },
  filter(state, pod, node) {
    const s = state.read<FilterState>(FILTER_STATE_KEY);
    if (s === undefined) return null;
    const labels = node.node.metadata.labels ?? {};
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      const value = labels[c.topologyKey];
      if (value === undefined) return unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
      const self = selects(c, pod) ? 1 : 0;
      const matchNum = s.counts.get(pairKey(c.topologyKey, value)) ?? 0;
      const minMatch = s.domains[i]! < c.minDomains ? 0 : s.minMatch[i]!;
      if (matchNum + self - minMatch > c.maxSkew) return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
    }
    return null;
  },
  preScore(state, pod, feasible) {
    const constraints = constraintsOf(pod, 'ScheduleAnyway');
    if ('error' in constraints || constraints.length === 0) return skip();
    const namespace = pod.metadata.namespace ?? 'default';
    const counts = new Map<string, number>();
    const ignored = new Set<string>();
    const domains = constraints.map(() => 0);
    for (const node of feasible) {
      if (!hasAllKeys(node, constraints)) {
        ignored.add(node.name);
        continue;
      }
      constraints.forEach((c, i) => {
        if (c.topologyKey === LABEL_HOSTNAME) return;
        const pair = pairKey(c.topologyKey, node.node.metadata.labels![c.topologyKey]!);
        if (!counts.has(pair)) {
          counts.set(pair, 0);
          domains[i]!++;
        }
      });
    }
    // Counted over every node, not only the feasible ones: a crowded zone stays crowded even where the pod cannot go.
    const snapshot = state.read<Snapshot>(SNAPSHOT_KEY);
    for (const node of snapshot?.nodes ?? feasible) {
      if (!hasAllKeys(node, constraints)) continue;
      for (const c of constraints) {
        if (c.topologyKey === LABEL_HOSTNAME || !includes(c, pod, node)) continue;
        const pair = pairKey(c.topologyKey, node.node.metadata.labels![c.topologyKey]!);
        const current = counts.get(pair);
        if (current !== undefined) counts.set(pair, current + countMatching(node, c, namespace));
      }
    }
    const weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? feasible.length - ignored.size : domains[i]!) + 2));
    state.write(SCORE_STATE_KEY, { constraints, counts, weights, ignored } satisfies ScoreState);
    return null;
  },
  score(state, pod, node) {
    const s = state.read<ScoreState>(SCORE_STATE_KEY);
    if (s === undefined || s.ignored.has(node.name)) return 0;
    const namespace = pod.metadata.namespace ?? 'default';
    const labels = node.node.metadata.labels ?? {};
    let score = 0;
    s.constraints.forEach((c, i) => {
      const value = labels[c.topologyKey];
      if (value === undefined) return;
      const count = c.topologyKey === LABEL_HOSTNAME ? countMatching(node, c, namespace) : (s.counts.get(pairKey(c.topologyKey, value)) ?? 0);
      score += count * s.weights[i]! + (c.maxSkew - 1);
    });
    return Math.round(score);
  },
  normalizeScore(state, _pod, scores: NodeScore[]) {
    const s = state.read<ScoreState>(SCORE_STATE_KEY);
    if (s === undefined) return;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const score of scores) {
      if (s.ignored.has(score.name)) continue;
      min = Math.min(min, score.score);
      max = Math.max(max, score.score);
    }
    for (const score of scores) {
      if (s.ignored.has(score.name)) score.score = 0;
      else if (max === 0) score.score = MAX_NODE_SCORE;
      else score.score = Math.trunc((MAX_NODE_SCORE * (max + min - score.score)) / max);
    }
  },
};
