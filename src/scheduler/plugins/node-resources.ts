/**
 * NodeResourcesFit (Filter: cpu, memory and pod count; Score: the
 * LeastAllocated strategy, Kubernetes' default, which older releases called
 * the NodeResourcesLeastAllocated plugin) and
 * NodeResourcesBalancedAllocation (Score: prefer nodes whose cpu and memory
 * would be used in equal shares).
 */
import type { Pod } from '../../api/types/index.js';
import { MAX_NODE_SCORE, unschedulable, type CycleState, type FilterPlugin, type PreFilterPlugin, type ScorePlugin } from '../framework.js';
import { podRequests, type NodeInfo, type Resources } from '../types.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';
export const NODE_RESOURCES_BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';
export const ERR_REASON_TOO_MANY_PODS = 'Too many pods';

const STATE_KEY = 'PreFilterNodeResourcesFit';

interface PodResourceState {
  requests: Resources;
  nonZero: Resources;
}

function podState(state: CycleState, pod: Pod): PodResourceState {
  let s = state.read<PodResourceState>(STATE_KEY);
  if (s === undefined) {
    s = { requests: podRequests(pod), nonZero: podRequests(pod, true) };
    state.write(STATE_KEY, s);
  }
  return s;
}

/** Kubernetes' resource weights for scoring (cpu 1, memory 1). */
const SCORED_RESOURCES: { name: keyof Resources; weight: number; allocatable: (n: NodeInfo) => number }[] = [
  { name: 'milliCpu', weight: 1, allocatable: (n) => n.allocatable.milliCpu },
  { name: 'memoryBytes', weight: 1, allocatable: (n) => n.allocatable.memoryBytes },
];

/** `((allocatable - requested) * 100) / allocatable` with Go's integer division; 0 when full or empty. */
function leastRequestedScore(requested: number, allocatable: number): number {
  if (allocatable === 0 || requested > allocatable) return 0;
  return Math.trunc(((allocatable - requested) * MAX_NODE_SCORE) / allocatable);
}

export const nodeResourcesFit: PreFilterPlugin & FilterPlugin & ScorePlugin = {
  name: NODE_RESOURCES_FIT,
  preFilter(state, pod) {
    podState(state, pod);
    return null;
  },
  filter(state, pod, node) {
    const { requests } = podState(state, pod);
    const reasons: string[] = [];
    // Same order as Kubernetes' fitsRequest: pods first, then cpu, memory.
    if (node.pods.size + 1 > node.allocatable.pods) reasons.push(ERR_REASON_TOO_MANY_PODS);
    if (requests.milliCpu > 0 && requests.milliCpu > node.allocatable.milliCpu - node.requested.milliCpu) reasons.push('Insufficient cpu');
    if (requests.memoryBytes > 0 && requests.memoryBytes > node.allocatable.memoryBytes - node.requested.memoryBytes) reasons.push('Insufficient memory');
    return reasons.length === 0 ? null : unschedulable(...reasons);
  },
  score(state, pod, node) {
    const { nonZero } = podState(state, pod);
    let sum = 0;
    let weights = 0;
    for (const r of SCORED_RESOURCES) {
      const allocatable = r.allocatable(node);
      if (allocatable === 0) continue;
      sum += leastRequestedScore(node.nonZeroRequested[r.name] + nonZero[r.name], allocatable) * r.weight;
      weights += r.weight;
    }
    return weights === 0 ? 0 : Math.trunc(sum / weights);
  },
};

export const nodeResourcesBalancedAllocation: ScorePlugin = {
  name: NODE_RESOURCES_BALANCED_ALLOCATION,
  score(state, pod, node) {
    const { requests } = podState(state, pod);
    const fractions: number[] = [];
    for (const r of SCORED_RESOURCES) {
      const allocatable = r.allocatable(node);
      if (allocatable === 0) continue;
      fractions.push(Math.min(1, (node.requested[r.name] + requests[r.name]) / allocatable));
    }
    let std = 0;
    if (fractions.length === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
    else if (fractions.length > 2) {
      const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
      std = Math.sqrt(fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length);
    }
    return Math.trunc((1 - std) * MAX_NODE_SCORE);
  },
};
