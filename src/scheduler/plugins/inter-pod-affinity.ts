/**
 * InterPodAffinity (Filter only): required pod affinity and anti-affinity.
 * PreFilter counts, per topology domain (`key=value` of a node label), the
 * existing pods that matter; Filter then checks one node in O(its labels).
 *
 * - existing pods' anti-affinity: a pod already running whose required
 *   anti-affinity term selects the incoming pod keeps it out of its domain;
 * - the incoming pod's affinity: every term needs a matching pod in the
 *   node's domain (unless no pod matches anywhere and the pod matches its own
 *   terms: the first pod of a group may go anywhere, as in Kubernetes);
 * - the incoming pod's anti-affinity: no matching pod in the node's domain.
 */
import type { Pod } from '../../api/types/index.js';
import { matchesLabels, selectorFromObject, type Selector } from '../../api/selectors.js';
import { unresolvable, unschedulable, type CycleState, type FilterPlugin, type PreFilterPlugin } from '../framework.js';
import { affinityOf, type NodeInfo, type PodAffinityTerm, type Snapshot } from '../types.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

const STATE_KEY = 'PreFilterInterPodAffinity';

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
  for (const node of snapshot.nodes) {
    for (const existing of node.podsWithRequiredAntiAffinity.values()) {
      const existingNamespace = existing.metadata.namespace ?? 'default';
      for (const raw of affinityOf(existing)!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution!) {
        const term = compile(raw, existingNamespace);
        const d = domain(node, term.topologyKey);
        if (d !== undefined && termSelects(term, pod)) increment(existingAntiAffinity, d);
      }
    }
    if (affinityTerms.length === 0 && antiAffinityTerms.length === 0) continue;
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

export const interPodAffinity: PreFilterPlugin & FilterPlugin = {
  name: INTER_POD_AFFINITY,
  preFilter(state: CycleState, pod, snapshot) {
    state.write(STATE_KEY, computeState(pod, snapshot));
    return null;
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
