/**
 * DefaultPreemption (PostFilter), as kube-scheduler 1.32's: when a pod fits
 * no node, find nodes where deleting pods of lower priority would make it
 * fit, choose the fewest and least important victims on each, pick one node
 * by Kubernetes' criteria, and say which node to nominate and which pods to
 * delete. Pure: the scheduler writes nominatedNodeName and deletes victims.
 *
 * Victims on a node: remove every lower-priority pod; if the pod then fits,
 * give pods back most important first (budget-violating ones first, so they
 * are the likeliest to be spared), keeping each one whose return still lets
 * the pod fit. Node choice: fewest budget violations, then the lowest
 * highest-victim priority, the smallest sum of victim priorities, the fewest
 * victims, the latest start of the most important victims, the first found.
 */
import type { Pod } from '../../api/types/index.js';
import { CycleState, isSkip, isSuccess, type Framework, type PostFilterContext, type PostFilterPlugin, type PostFilterResult, type Status } from '../framework.js';
import { runFiltersWithNominatedPods } from '../filter.js';
import { podKey, podPriority, type NodeInfo, type Snapshot } from '../types.js';

export const DEFAULT_PREEMPTION = 'DefaultPreemption';
/** Kubernetes' DefaultPreemptionArgs defaults: dry-run at least 10 % of the candidate nodes, and at least 100. */
export const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
export const MIN_CANDIDATE_NODES_ABSOLUTE = 100;

export const ERR_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const ERR_NO_VICTIMS = 'No preemption victims found for incoming pod';
export const MSG_POLICY_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const MSG_TERMINATING_ON_NOMINATED = 'not eligible due to a terminating pod on the nominated node.';

/** Victims chosen on one node. */
export interface Candidate {
  nodeName: string;
  /** Most important first. */
  victims: Pod[];
  /** How many of the victims an eviction would take below a disruption budget. */
  numPdbViolations: number;
}

/** Start time, for "more important" and "latest start" (a pod not started yet counts as the newest). */
function startTimeMs(pod: Pod): number {
  const t = pod.status?.startTime;
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Kubernetes' MoreImportantPod: higher priority; at equal priority, the one that started first. */
export function moreImportant(a: Pod, b: Pod): boolean {
  const pa = podPriority(a);
  const pb = podPriority(b);
  if (pa !== pb) return pa > pb;
  return startTimeMs(a) < startTimeMs(b);
}

function byImportance(a: Pod, b: Pod): number {
  if (moreImportant(a, b)) return -1;
  if (moreImportant(b, a)) return 1;
  return 0;
}

/**
 * Kubernetes' PodEligibleToPreemptOthers: not with preemptionPolicy Never,
 * and not while a lower-priority pod is still terminating on the node the
 * pod preempted on before (it is making room). The refusal's message, or
 * undefined when eligible.
 */
export function ineligibility(pod: Pod, snapshot: Snapshot, statuses: Map<string, Status>): string | undefined {
  if (pod.spec?.preemptionPolicy === 'Never') return MSG_POLICY_NEVER;
  const nominated = pod.status?.nominatedNodeName;
  if (nominated) {
    // The nominated node became hopeless (say, its labels changed): preempting elsewhere is allowed.
    if (statuses.get(nominated)?.code === 'UnschedulableAndUnresolvable') return undefined;
    const node = snapshot.byName.get(nominated);
    if (node !== undefined) {
      const priority = podPriority(pod);
      for (const p of node.pods.values()) {
        if (p.metadata.deletionTimestamp !== undefined && podPriority(p) < priority) return MSG_TERMINATING_ON_NOMINATED;
      }
    }
  }
  return undefined;
}

/** A view of the snapshot where one node is replaced by a working copy. */
function withNode(snapshot: Snapshot, copy: NodeInfo): Snapshot {
  const byName = new Map(snapshot.byName);
  byName.set(copy.name, copy);
  return { nodes: snapshot.nodes.map((n) => (n.name === copy.name ? copy : n)), byName };
}

/**
 * Does the pod fit the working copy of its node? PreFilter runs again on the
 * view with that copy, so plugins whose state counts other pods (affinity,
 * spread) see the removals.
 */
function fits(framework: Framework, pod: Pod, snapshot: Snapshot, copy: NodeInfo, nominated: readonly Pod[]): Status | null {
  const view = withNode(snapshot, copy);
  const state = new CycleState();
  for (const plugin of framework.preFilter) {
    const status = plugin.preFilter(state, pod, view);
    if (isSkip(status)) state.skipFilterPlugins.add(plugin.name);
    else if (!isSuccess(status)) return { ...status!, plugin: plugin.name };
  }
  return runFiltersWithNominatedPods(framework, state, pod, copy, nominated);
}

/**
 * Kubernetes' SelectVictimsOnNode: the minimal set of lower-priority pods
 * whose removal lets the pod fit, most important first; or the status
 * saying why no set does.
 */
export function selectVictimsOnNode(
  pod: Pod, node: NodeInfo, snapshot: Snapshot, context: Pick<PostFilterContext, 'framework' | 'nominatedPods' | 'violatesDisruptionBudget'>,
): { victims: Pod[]; numPdbViolations: number } | { status: Status } {
  const priority = podPriority(pod);
  const potential: Pod[] = [];
  for (const p of node.pods.values()) if (podPriority(p) < priority) potential.push(p);
  // Most nodes of a cluster of equals have none: answer before copying the node.
  if (potential.length === 0) return { status: { code: 'UnschedulableAndUnresolvable', reasons: [ERR_NO_VICTIMS] } };
  const copy = node.clone();
  for (const p of potential) copy.removePod(podKey(p));
  const nominated = context.nominatedPods(node.name);
  const status = fits(context.framework, pod, snapshot, copy, nominated);
  if (status !== null) return { status };
  potential.sort(byImportance);
  const violates = context.violatesDisruptionBudget(potential);
  const violating = potential.filter((_, i) => violates[i] === true);
  const nonViolating = potential.filter((_, i) => violates[i] !== true);
  const victims: Pod[] = [];
  let numPdbViolations = 0;
  const reprieve = (p: Pod, violatesBudget: boolean): void => {
    copy.addPod(p);
    if (fits(context.framework, pod, snapshot, copy, nominated) === null) return;
    copy.removePod(podKey(p));
    victims.push(p);
    if (violatesBudget) numPdbViolations++;
  };
  for (const p of violating) reprieve(p, true);
  for (const p of nonViolating) reprieve(p, false);
  victims.sort(byImportance);
  return { victims, numPdbViolations };
}

/** Kubernetes' pickOneNodeForPreemption over the candidates (in the order they were found). */
export function pickOneNodeForPreemption(candidates: readonly Candidate[]): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  // A node that needs no victim at all wins outright.
  const free = candidates.find((c) => c.victims.length === 0);
  if (free !== undefined) return free;
  const keepMin = (list: Candidate[], score: (c: Candidate) => number): Candidate[] => {
    let best = Number.POSITIVE_INFINITY;
    for (const c of list) best = Math.min(best, score(c));
    return list.filter((c) => score(c) === best);
  };
  let left = [...candidates];
  const criteria: ((c: Candidate) => number)[] = [
    (c) => c.numPdbViolations,
    (c) => podPriority(c.victims[0]!),
    // Kubernetes shifts each priority by MaxInt32 + 1 so that negative priorities still add up to more victims costing more.
    (c) => c.victims.reduce((sum, v) => sum + podPriority(v) + 2 ** 31, 0),
    (c) => c.victims.length,
    // The latest start time among the most important victims: preempt what has run least (negated for keepMin).
    (c) => -earliestStartOfMostImportant(c.victims),
  ];
  for (const score of criteria) {
    left = keepMin(left, score);
    if (left.length === 1) return left[0];
  }
  return left[0];
}

/** Kubernetes' GetEarliestPodStartTime: among the victims of the highest priority, the earliest start. */
function earliestStartOfMostImportant(victims: readonly Pod[]): number {
  const top = Math.max(...victims.map(podPriority));
  let earliest = Number.POSITIVE_INFINITY;
  for (const v of victims) if (podPriority(v) === top) earliest = Math.min(earliest, startTimeMs(v));
  // Not started at all: as late as can be, but comparable (Infinity - Infinity would be NaN).
  return earliest === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : earliest;
}

/** Kubernetes' GetOffsetAndNumCandidates: how many nodes to dry-run, from a random start. */
export function offsetAndNumCandidates(numNodes: number, random: () => number): { offset: number; numCandidates: number } {
  let n = Math.trunc((numNodes * MIN_CANDIDATE_NODES_PERCENTAGE) / 100);
  if (n < MIN_CANDIDATE_NODES_ABSOLUTE) n = MIN_CANDIDATE_NODES_ABSOLUTE;
  if (n > numNodes) n = numNodes;
  return { offset: Math.floor(random() * numNodes), numCandidates: n };
}

/**
 * Kubernetes' findCandidates and DryRunPreemption: the candidates (those
 * violating no budget first) and, for every node without one, why.
 */
export function findCandidates(pod: Pod, snapshot: Snapshot, statuses: Map<string, Status>, context: PostFilterContext): { candidates: Candidate[]; nodeStatuses: Map<string, Status> } {
  const nodeStatuses = new Map<string, Status>();
  const potential: NodeInfo[] = [];
  for (const node of snapshot.nodes) {
    const status = statuses.get(node.name);
    // Only nodes whose rejection removing pods could cure (a filtered node, not an unresolvable one).
    if (status !== undefined && status.code === 'Unschedulable') potential.push(node);
    else nodeStatuses.set(node.name, { code: 'UnschedulableAndUnresolvable', reasons: [ERR_NOT_HELPFUL] });
  }
  if (potential.length === 0) return { candidates: [], nodeStatuses };
  const { offset, numCandidates } = offsetAndNumCandidates(potential.length, context.random);
  const nonViolating: Candidate[] = [];
  const violating: Candidate[] = [];
  for (let i = 0; i < potential.length && nonViolating.length + violating.length < numCandidates; i++) {
    const node = potential[(offset + i) % potential.length]!;
    const result = selectVictimsOnNode(pod, node, snapshot, context);
    if ('status' in result) {
      nodeStatuses.set(node.name, result.status);
      continue;
    }
    const candidate = { nodeName: node.name, ...result };
    (result.numPdbViolations === 0 ? nonViolating : violating).push(candidate);
  }
  return { candidates: [...nonViolating, ...violating], nodeStatuses };
}

/** The FitError text of the dry run, as Kubernetes words it after `preemption: `. */
function histogram(numAllNodes: number, nodeStatuses: Map<string, Status>): string {
  const counts = new Map<string, number>();
  for (const status of nodeStatuses.values()) for (const reason of status.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, count]) => `${count} ${reason}`);
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `0/${numAllNodes} nodes are available:${parts.length > 0 ? ` ${parts.join(', ')}.` : ''}`;
}

export const defaultPreemption: PostFilterPlugin = {
  name: DEFAULT_PREEMPTION,
  postFilter(_state, pod, snapshot, statuses, context): PostFilterResult | null {
    const refusal = ineligibility(pod, snapshot, statuses);
    if (refusal !== undefined) return { message: `preemption: ${refusal}` };
    const { candidates, nodeStatuses } = findCandidates(pod, snapshot, statuses, context);
    const best = pickOneNodeForPreemption(candidates);
    if (best === undefined) {
      // Nothing helps: a nomination the pod had is cleared, as Kubernetes does.
      return { nominatedNodeName: '', message: `preemption: ${histogram(nodeStatuses.size, nodeStatuses)}` };
    }
    return { nominatedNodeName: best.nodeName, victims: best.victims };
  },
};
