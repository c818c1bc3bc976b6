/**
 * NodeResourcesFit (Filter: cpu, memory and pod count; Score: the
 * LeastAllocated strategy, Kubernetes' default, which older releases called
 * the NodeResourcesLeastAllocated plugin) and
 * NodeResourcesBalancedAllocation (Score: prefer nodes whose cpu and memory
 * would be used in equal shares).
 */
import type { Pod } from '../../api/types/index.js';
import { MAX_NODE_SCORE, unschedulable, type CycleState, type FilterPlugin, type PreFilterPlugin, type ScorePlugin } from '../framework.js';
import { podRequests, type Resources } from '../types.js';

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

// Kubernetes scores cpu and memory, weight 1 each (its default resources for both strategies); the Score functions below are written out for those two.

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
    const tooManyPods = node.pods.size + 1 > node.allocatable.pods;
    const shortOfCpu = requests.milliCpu > 0 && requests.milliCpu > node.allocatable.milliCpu - node.requested.milliCpu;
    const shortOfMemory = requests.memoryBytes > 0 && requests.memoryBytes > node.allocatable.memoryBytes - node.requested.memoryBytes;
    // Called for hundreds of nodes a cycle: the fitting case allocates nothing.
    if (!tooManyPods && !shortOfCpu && !shortOfMemory) return null;
    // Same order as Kubernetes' fitsRequest: pods first, then cpu, memory.
    const reasons: string[] = [];
    if (tooManyPods) reasons.push(ERR_REASON_TOO_MANY_PODS);
    if (shortOfCpu) reasons.push('Insufficient cpu');
    if (shortOfMemory) reasons.push('Insufficient memory');
    return unschedulable(...reasons);
  },
  score(state, pod, node) {
    const { nonZero } = podState(state, pod);
    // The SCORED_RESOURCES loop, unrolled for cpu and memory (weight 1 each): this runs for hundreds of nodes a cycle.
    let sum = 0;
    let weights = 0;
    const { milliCpu, memoryBytes } = node.allocatable;
    if (milliCpu !== 0) {
      sum += leastRequestedScore(node.nonZeroRequested.milliCpu + nonZero.milliCpu, milliCpu);
      weights++;
    }
    if (memoryBytes !== 0) {
      sum += leastRequestedScore(node.nonZeroRequested.memoryBytes + nonZero.memoryBytes, memoryBytes);
      weights++;
    }
    return weights === 0 ? 0 : Math.trunc(sum / weights);
  },
};

export const nodeResourcesBalancedAllocation: ScorePlugin = {
  name: NODE_RESOURCES_BALANCED_ALLOCATION,
  score(state, pod, node) {
    const { requests } = podState(state, pod);
    const { milliCpu, memoryBytes } = node.allocatable;
    // With two resources the standard deviation is half their difference; with one or none it is 0.
    let std = 0;
    if (milliCpu !== 0 && memoryBytes !== 0) {
      const cpuFraction = Math.min(1, (node.requested.milliCpu + requests.milliCpu) / milliCpu);
      const memoryFraction = Math.min(1, (node.requested.memoryBytes + requests.memoryBytes) / memoryBytes);
      std = Math.abs((cpuFraction - memoryFraction) / 2);
    }
    return Math.trunc((1 - std) * MAX_NODE_SCORE);
  },
};
