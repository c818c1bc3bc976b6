/**
 * InterPodAffinity. Filter: required pod affinity and anti-affinity.
 * PreFilter counts, per topology domain (`key=value` of a node label), the
 * existing pods that matter; Filter then checks one node in O(its labels).
 *
 * - existing pods' anti-affinity: a pod already running whose required
 *   anti-affinity term selects the incoming pod keeps it out of its domain;
 * - the incoming pod's affinity: every term needs a matching pod in the
 *   node's domain (unless no pod matches anywhere and the pod matches its own
 *   terms: the first pod of a group may go anywhere, as in Kubernetes);
 * - the incoming pod's anti-affinity: no matching pod in the node's domain.
 *
 * Score (kube-scheduler 1.32's): per topology domain, the weights of the
 * incoming pod's preferred affinity terms its matching pods satisfy, minus
 * those of its preferred anti-affinity terms; plus, from existing pods whose
 * terms select the incoming pod, their preferred weights (anti-affinity
 * negative) and 1 per required affinity term (hardPodAffinityWeight).
 * A node scores the sum over its domains, scaled min..max to 0..100.
 */
import type { Pod } from '../../api/types/index.js';
import { matchesLabels, selectorFromObject, type Selector } from '../../api/selectors.js';
import { MAX_NODE_SCORE, skip, unresolvable, unschedulable, type CycleState, type FilterPlugin, type NodeScore, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from '../framework.js';
import { affinityOf, nodesWithAffinityPods, nodesWithRequiredAntiAffinityPods, type NodeInfo, type PodAffinityTerm, type Snapshot, type WeightedPodAffinityTerm } from '../types.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

const STATE_KEY = 'PreFilterInterPodAffinity';
const SCORE_STATE_KEY = 'PreScoreInterPodAffinity';
const SNAPSHOT_KEY = 'InterPodAffinitySnapshot';
/** Kubernetes' InterPodAffinityArgs.hardPodAffinityWeight default: what an existing pod's required affinity to the incoming pod adds. */
export const HARD_POD_AFFINITY_WEIGHT = 1;

interface CompiledTerm {
  topologyKey: string;
  /** null: the term has no labelSelector and selects no pod, as in Kubernetes. */
  selector: Selector | null;
  /** undefined: every namespace. */
  namespaces: Set<string> | undefined;
}

interface AffinityState {
  existingAntiAffinity: Map<string, number>;
  affinityCounts: Map<string, number>[];
  antiAffinityCounts: Map<string, number>[];
  affinityTerms: CompiledTerm[];
  antiAffinityTerms: CompiledTerm[];
  /** No pod anywhere matches the affinity terms, and the pod matches them itself. */
  firstOfItsGroup: boolean;
}

function compile(term: PodAffinityTerm, ownerNamespace: string): CompiledTerm {
  const everyNamespace = term.namespaceSelector !== undefined && Object.keys(term.namespaceSelector).length === 0;
  const listed = term.namespaces ?? [];
  return {
    topologyKey: term.topologyKey,
    selector: term.labelSelector === undefined ? null : selectorFromObject(term.labelSelector),
    namespaces: everyNamespace ? undefined : new Set(listed.length > 0 ? listed : [ownerNamespace]),
  };
}

function termSelects(term: CompiledTerm, pod: Pod): boolean {
  if (term.namespaces !== undefined && !term.namespaces.has(pod.metadata.namespace ?? '')) return false;
  return term.selector !== null && matchesLabels(term.selector, pod.metadata.labels);
}

function domain(node: NodeInfo, topologyKey: string): string | undefined {
  const value = node.node.metadata.labels?.[topologyKey];
  return value === undefined ? undefined : `${topologyKey}=${value}`;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function computeState(pod: Pod, snapshot: Snapshot): AffinityState {
  const namespace = pod.metadata.namespace ?? 'default';
  const affinity = affinityOf(pod);
  const affinityTerms = (affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compile(t, namespace));
  const antiAffinityTerms = (affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compile(t, namespace));
  const existingAntiAffinity = new Map<string, number>();
  const affinityCounts = affinityTerms.map(() => new Map<string, number>());
  const antiAffinityCounts = antiAffinityTerms.map(() => new Map<string, number>());
  let anyAffinityMatch = false;
  for (const node of nodesWithRequiredAntiAffinityPods(snapshot)) {
    for (const existing of node.podsWithRequiredAntiAffinity.values()) {
      const existingNamespace = existing.metadata.namespace ?? 'default';
      for (const raw of affinityOf(existing)!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution!) {
        const term = compile(raw, existingNamespace);
        const d = domain(node, term.topologyKey);
        if (d !== undefined && termSelects(term, pod)) increment(existingAntiAffinity, d);
      }
    }
  }
  // The pod's own terms count every pod in the cluster; without terms there is nothing more to count.
  for (const node of affinityTerms.length === 0 && antiAffinityTerms.length === 0 ? [] : snapshot.nodes) {
    for (const existing of node.pods.values()) {
      affinityTerms.forEach((term, i) => {
        if (!termSelects(term, existing)) return;
        anyAffinityMatch = true;
        const d = domain(node, term.topologyKey);
        if (d !== undefined) increment(affinityCounts[i]!, d);
      });
      antiAffinityTerms.forEach((term, i) => {
        const d = domain(node, term.topologyKey);
        if (d !== undefined && termSelects(term, existing)) increment(antiAffinityCounts[i]!, d);
      });
    }
  }
  const firstOfItsGroup = affinityTerms.length > 0 && !anyAffinityMatch && affinityTerms.every((t) => termSelects(t, pod));
  return { existingAntiAffinity, affinityCounts, antiAffinityCounts, affinityTerms, antiAffinityTerms, firstOfItsGroup };
}

/** `topologyKey` -> domain value -> score, as Kubernetes' scoreMap. */
type TopologyScore = Map<string, Map<string, number>>;

function addScore(scores: TopologyScore, term: CompiledTerm, weight: number, target: Pod, node: NodeInfo): void {
  if (weight === 0 || !termSelects(term, target)) return;
  const value = node.node.metadata.labels?.[term.topologyKey];
  if (value === undefined) return;
  let byValue = scores.get(term.topologyKey);
  if (byValue === undefined) scores.set(term.topologyKey, (byValue = new Map()));
  byValue.set(value, (byValue.get(value) ?? 0) + weight);
}

function weighted(terms: WeightedPodAffinityTerm[] | undefined, namespace: string): { term: CompiledTerm; weight: number }[] {
  return (terms ?? []).map((t) => ({ term: compile(t.podAffinityTerm, namespace), weight: t.weight }));
}

/** Kubernetes' PreScore with processExistingPod: the score of every domain for this pod. */
export function computeTopologyScore(pod: Pod, snapshot: Snapshot): TopologyScore {
  const namespace = pod.metadata.namespace ?? 'default';
  const affinity = affinityOf(pod);
  const preferredAffinity = weighted(affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
  const preferredAntiAffinity = weighted(affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
  const hasOwnTerms = preferredAffinity.length > 0 || preferredAntiAffinity.length > 0;
  const scores: TopologyScore = new Map();
  for (const node of hasOwnTerms ? snapshot.nodes : nodesWithAffinityPods(snapshot)) {
    if (Object.keys(node.node.metadata.labels ?? {}).length === 0) continue;
    // Without terms of its own, only existing pods with affinity can move the score.
    for (const existing of (hasOwnTerms ? node.pods : node.podsWithAffinity).values()) {
      for (const { term, weight } of preferredAffinity) addScore(scores, term, weight, existing, node);
      for (const { term, weight } of preferredAntiAffinity) addScore(scores, term, -weight, existing, node);
      const theirs = affinityOf(existing);
      if (theirs === undefined) continue;
      const theirNamespace = existing.metadata.namespace ?? 'default';
      for (const raw of theirs.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) addScore(scores, compile(raw, theirNamespace), HARD_POD_AFFINITY_WEIGHT, pod, node);
      for (const { term, weight } of weighted(theirs.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, theirNamespace)) addScore(scores, term, weight, pod, node);
      for (const { term, weight } of weighted(theirs.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, theirNamespace)) addScore(scores, term, -weight, pod, node);
    }
  }
  return scores;
}

export const interPodAffinity: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: INTER_POD_AFFINITY,
  preFilter(state: CycleState, pod, snapshot) {
    state.write(SNAPSHOT_KEY, snapshot);
    let computed: AffinityState;
    try {
      computed = computeState(pod, snapshot);
    } catch (error) {
      // A selector that does not parse is this pod's problem: it fits nowhere, the scheduler goes on.
      return unresolvable(`invalid pod affinity term: ${error instanceof Error ? error.message : String(error)}`);
    }
    state.write(STATE_KEY, computed);
    // As Kubernetes: no term of the pod's and no existing pod's anti-affinity against it, so Filter would pass every node.
    if (computed.existingAntiAffinity.size === 0 && computed.affinityTerms.length === 0 && computed.antiAffinityTerms.length === 0) return skip();
    return null;
  },
  preScore(state, pod, feasible) {
    const snapshot = state.read<Snapshot>(SNAPSHOT_KEY) ?? { nodes: feasible, byName: new Map(feasible.map((n) => [n.name, n])) };
    let scores: TopologyScore;
    try {
      scores = computeTopologyScore(pod, snapshot);
    } catch {
      return skip();
    }
    // As Kubernetes: no domain scored, so every node would score alike.
    if (scores.size === 0) return skip();
    state.write(SCORE_STATE_KEY, scores);
    return null;
  },
  score(state, _pod, node) {
    const scores = state.read<TopologyScore>(SCORE_STATE_KEY);
    if (scores === undefined) return 0;
    let sum = 0;
    for (const [key, byValue] of scores) {
      const value = node.node.metadata.labels?.[key];
      if (value !== undefined) sum += byValue.get(value) ?? 0;
    }
    return sum;
  },
  normalizeScore(state, _pod, scores: NodeScore[]) {
    const topology = state.read<TopologyScore>(SCORE_STATE_KEY);
    if (topology === undefined || topology.size === 0) return;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const s of scores) {
      min = Math.min(min, s.score);
      max = Math.max(max, s.score);
    }
    const spread = max - min;
    // As Kubernetes computes it (the ratio first), so rounding lands where it does there.
    for (const s of scores) s.score = spread > 0 ? Math.trunc(MAX_NODE_SCORE * ((s.score - min) / spread)) : 0;
  },
  filter(state, pod, node) {
    const s = state.read<AffinityState>(STATE_KEY);
    if (s === undefined) throw new Error('InterPodAffinity.filter ran without its PreFilter');
    if (s.existingAntiAffinity.size > 0) {
      for (const [key, value] of Object.entries(node.node.metadata.labels ?? {})) {
        if ((s.existingAntiAffinity.get(`${key}=${value}`) ?? 0) > 0) return unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY);
      }
    }
    for (let i = 0; i < s.affinityTerms.length; i++) {
      const d = domain(node, s.affinityTerms[i]!.topologyKey);
      if (d === undefined) return unresolvable(ERR_REASON_AFFINITY);
      if (!s.firstOfItsGroup && (s.affinityCounts[i]!.get(d) ?? 0) === 0) return unresolvable(ERR_REASON_AFFINITY);
    }
    for (let i = 0; i < s.antiAffinityTerms.length; i++) {
      const d = domain(node, s.antiAffinityTerms[i]!.topologyKey);
      if (d !== undefined && (s.antiAffinityCounts[i]!.get(d) ?? 0) > 0) return unschedulable(ERR_REASON_ANTI_AFFINITY);
    }
    return null;
  },
};
