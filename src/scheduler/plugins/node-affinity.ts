/**
 * NodeAffinity. Filter: `spec.nodeSelector` and required node affinity
 * (terms ORed, expressions within a term ANDed). Score: the sum of the
 * weights of the preferred terms the node matches, scaled to 0..100.
 */
import type { Node, Pod } from '../../api/types/index.js';
import { defaultNormalizeScore, MAX_NODE_SCORE, skip, unresolvable, type FilterPlugin, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from '../framework.js';
import { affinityOf, type NodeSelectorRequirement, type NodeSelectorTerm } from '../types.js';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";

function matchesRequirement(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In': return value !== undefined && values.includes(value);
    case 'NotIn': return value === undefined || !values.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt':
    case 'Lt': {
      // Both sides must parse as integers, as Kubernetes requires; anything else does not match.
      if (value === undefined || values.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0]!)) return false;
      return req.operator === 'Gt' ? Number(value) > Number(values[0]) : Number(value) < Number(values[0]);
    }
    default: return false;
  }
}

/** A term with no requirements matches nothing, as in Kubernetes. matchFields supports `metadata.name` only. */
export function nodeMatchesTerm(node: Node, term: NodeSelectorTerm): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const req of expressions) {
    if (!matchesRequirement(req, Object.prototype.hasOwnProperty.call(labels, req.key) ? labels[req.key] : undefined)) return false;
  }
  for (const req of fields) {
    if (req.key !== 'metadata.name' || !matchesRequirement(req, node.metadata.name)) return false;
  }
  return true;
}

export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (labels[key] !== value) return false;
  }
  const required = affinityOf(pod)?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined) return true;
  return required.nodeSelectorTerms.some((term) => nodeMatchesTerm(node, term));
}

export const nodeAffinity: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
  name: NODE_AFFINITY,
  preFilter(_state, pod) {
    // As Kubernetes: neither a nodeSelector nor required node affinity, so Filter would pass every node.
    const required = affinityOf(pod)?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    return required === undefined && Object.keys(pod.spec?.nodeSelector ?? {}).length === 0 ? skip() : null;
  },
  preScore(_state, pod) {
    // As Kubernetes: no preferred term, so every node would score 0.
    return (affinityOf(pod)?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0) === 0 ? skip() : null;
  },
  filter(_state, pod, node) {
    return podMatchesNodeSelectorAndAffinity(pod, node.node) ? null : unresolvable(ERR_REASON_NODE_AFFINITY);
  },
  score(_state, pod, node) {
    let sum = 0;
    for (const term of affinityOf(pod)?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (term.weight !== 0 && nodeMatchesTerm(node.node, term.preference)) sum += term.weight;
    }
    return sum;
  },
  normalizeScore(_state, _pod, scores) {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
  },
};
