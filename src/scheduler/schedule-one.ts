/**
 * One scheduling cycle, pure: a pod and a snapshot in, a decision out. No
 * I/O, no clock; randomness (tie-breaking) is injected. The caller binds,
 * records events and updates its cache.
 */
import type { Pod } from '../api/types/index.js';
import { CycleState, isSkip, isSuccess, MAX_NODE_SCORE, NO_DISRUPTION_BUDGETS, type DisruptionBudgetCheck, type Framework, type NodeScore, type ScorePlugin, type Status } from './framework.js';
import { runFiltersWithNominatedPods } from './filter.js';
import type { NodeInfo, Snapshot } from './types.js';

export const ERR_NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** Kubernetes' minFeasibleNodesToFind: below this many nodes, all are looked at. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** Kubernetes' minFeasibleNodesPercentageToFind: the adaptive share never drops below 5 %. */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

export type ScheduleResult =
  | { kind: 'scheduled'; nodeName: string; score: number; feasibleNodes: number; evaluatedNodes: number; nextStartNodeIndex: number }
  | {
      kind: 'unschedulable';
      /** The FailedScheduling message, worded as Kubernetes' FitError. */
      message: string;
      /** Plugins that rejected at least one node: the queue moves the pod back on events these care about. */
      unschedulablePlugins: Set<string>;
      /** True when some node failed only with Unschedulable (preemption could help); false when all are unresolvable. */
      resolvable: boolean;
      /** From preemption: the node the pod waits for; '' clears a nomination the pod had (preemption found nothing). */
      nominatedNodeName?: string;
      /** From preemption: the pods to delete on the nominated node. */
      victims?: Pod[];
      nextStartNodeIndex: number;
    }
  | { kind: 'error'; message: string };

export interface ScheduleOptions {
  /** A float in [0, 1): breaks ties between equally good nodes. */
  random: () => number;
  /** Where to start looking (round robin across cycles, as Kubernetes' nextStartNodeIndex). */
  startNodeIndex?: number;
  /** Pods that preempted and wait for a node, by node: they hold room there against pods of lower or equal priority. */
  nominatedPods?: (nodeName: string) => readonly Pod[];
  /** For preemption's choice of victims; default: no budgets. */
  violatesDisruptionBudget?: DisruptionBudgetCheck;
}

const NONE: readonly Pod[] = Object.freeze([]);

/** Kubernetes' numFeasibleNodesToFind: every node up to 100, then an adaptive share (50 % minus 1 % per 125 nodes, at least 5 %). */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage === 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125);
    if (percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (percentage >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * percentage) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/**
 * Kubernetes' FitError.Error(): `0/N nodes are available: ` then each
 * reason with the number of nodes that gave it, formatted `"<count> <reason>"`
 * and sorted as strings (Go's sort.Strings), joined by `, `, ending in `.`;
 * a PreFilter rejection replaces the histogram; a PostFilter message follows.
 */
export function fitErrorMessage(numAllNodes: number, statuses: Map<string, Status>, preFilterMessage = '', postFilterMessage = ''): string {
  let message = `0/${numAllNodes} nodes are available:`;
  if (preFilterMessage !== '') message += ` ${preFilterMessage}.`;
  else {
    const histogram = new Map<string, number>();
    for (const status of statuses.values()) for (const reason of status.reasons) histogram.set(reason, (histogram.get(reason) ?? 0) + 1);
    const parts = [...histogram].map(([reason, count]) => `${count} ${reason}`);
    parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length > 0) message += ` ${parts.join(', ')}.`;
  }
  if (postFilterMessage !== '') message += ` ${postFilterMessage}.`;
  return message;
}

/** The Normal `Scheduled` event's message. */
export function scheduledMessage(pod: Pod, nodeName: string): string {
  return `Successfully assigned ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} to ${nodeName}`;
}

function selectHost(scores: NodeScore[], random: () => number): NodeScore {
  // Reservoir sampling among the best, as Kubernetes' selectHost: ties are broken uniformly at random.
  let best = scores[0]!;
  let ties = 1;
  for (let i = 1; i < scores.length; i++) {
    const s = scores[i]!;
    if (s.score > best.score) {
      best = s;
      ties = 1;
    } else if (s.score === best.score) {
      ties++;
      if (Math.floor(random() * ties) === 0) best = s;
    }
  }
  return best;
}

function checkedScore(plugin: ScorePlugin, nodeName: string, score: number): number {
  if (!(score >= 0 && score <= MAX_NODE_SCORE) || !Number.isInteger(score)) throw new Error(`score plugin ${plugin.name} gave node ${nodeName} ${score}, outside 0..${MAX_NODE_SCORE}`);
  return score;
}

/** Run the Score plugins over the feasible nodes: raw, normalized, range-checked, weighted, summed. */
export function scoreNodes(framework: Framework, state: CycleState, pod: Pod, feasible: NodeInfo[]): NodeScore[] {
  for (const plugin of framework.preScore) {
    const status = plugin.preScore(state, pod, feasible);
    if (isSkip(status)) state.skipScorePlugins.add(plugin.name);
    else if (!isSuccess(status)) throw new Error(`preScore plugin ${plugin.name}: ${status!.reasons.join('; ')}`);
  }
  const totals: NodeScore[] = feasible.map((n) => ({ name: n.name, score: 0 }));
  for (const { plugin, weight } of framework.score) {
    if (state.skipScorePlugins.has(plugin.name)) continue;
    if (plugin.normalizeScore === undefined) {
      // Nothing to normalize: add each score as it comes, with no list per plugin (hundreds of nodes, every cycle).
      for (let i = 0; i < feasible.length; i++) totals[i]!.score += checkedScore(plugin, feasible[i]!.name, plugin.score(state, pod, feasible[i]!)) * weight;
      continue;
    }
    const scores: NodeScore[] = feasible.map((n) => ({ name: n.name, score: plugin.score(state, pod, n) }));
    plugin.normalizeScore(state, pod, scores);
    for (let i = 0; i < scores.length; i++) totals[i]!.score += checkedScore(plugin, scores[i]!.name, scores[i]!.score) * weight;
  }
  return totals;
}

export function scheduleOne(pod: Pod, snapshot: Snapshot, framework: Framework, options: ScheduleOptions): ScheduleResult {
  const numAllNodes = snapshot.nodes.length;
  if (numAllNodes === 0) return { kind: 'error', message: ERR_NO_NODES_AVAILABLE };
  const startNodeIndex = (options.startNodeIndex ?? 0) % numAllNodes;
  const state = new CycleState();

  for (const plugin of framework.preFilter) {
    const status = plugin.preFilter(state, pod, snapshot);
    if (isSuccess(status)) continue;
    if (isSkip(status)) {
      state.skipFilterPlugins.add(plugin.name);
      continue;
    }
    if (status!.code === 'Error') return { kind: 'error', message: `running PreFilter plugin "${plugin.name}": ${status!.reasons.join(', ')}` };
    const statuses = new Map(snapshot.nodes.map((n) => [n.name, { ...status!, plugin: plugin.name }]));
    return {
      kind: 'unschedulable',
      message: fitErrorMessage(numAllNodes, statuses, status!.reasons.join(', ')),
      unschedulablePlugins: new Set([plugin.name]),
      resolvable: status!.code === 'Unschedulable',
      nextStartNodeIndex: startNodeIndex,
    };
  }

  const nominatedPods = options.nominatedPods ?? (() => NONE);
  // A pod that preempted tries its nominated node first: the room it freed is there (Kubernetes' evaluateNominatedNode).
  const nominated = pod.status?.nominatedNodeName ? snapshot.byName.get(pod.status.nominatedNodeName) : undefined;
  if (nominated !== undefined && runFiltersWithNominatedPods(framework, state, pod, nominated, nominatedPods(nominated.name)) === null) {
    return { kind: 'scheduled', nodeName: nominated.name, score: 0, feasibleNodes: 1, evaluatedNodes: 1, nextStartNodeIndex: startNodeIndex };
  }

  const wanted = numFeasibleNodesToFind(framework.percentageOfNodesToScore, numAllNodes);
  const feasible: NodeInfo[] = [];
  const statuses = new Map<string, Status>();
  let evaluated = 0;
  while (evaluated < numAllNodes && feasible.length < wanted) {
    const node = snapshot.nodes[(startNodeIndex + evaluated) % numAllNodes]!;
    evaluated++;
    const status = runFiltersWithNominatedPods(framework, state, pod, node, nominatedPods(node.name));
    if (status === null) feasible.push(node);
    else statuses.set(node.name, status);
  }
  const nextStartNodeIndex = (startNodeIndex + evaluated) % numAllNodes;

  if (feasible.length === 0) {
    let postFilterMessage = '';
    let nominatedNodeName: string | undefined;
    let victims: Pod[] | undefined;
    const context = { framework, random: options.random, nominatedPods, violatesDisruptionBudget: options.violatesDisruptionBudget ?? NO_DISRUPTION_BUDGETS };
    for (const plugin of framework.postFilter) {
      const result = plugin.postFilter(state, pod, snapshot, statuses, context);
      if (result?.message) postFilterMessage = result.message;
      if (result?.nominatedNodeName !== undefined) nominatedNodeName = result.nominatedNodeName;
      if (result?.nominatedNodeName) {
        victims = result.victims;
        break;
      }
    }
    const unschedulablePlugins = new Set<string>();
    let resolvable = false;
    for (const s of statuses.values()) {
      unschedulablePlugins.add(s.plugin!);
      if (s.code === 'Unschedulable') resolvable = true;
    }
    return {
      kind: 'unschedulable',
      message: fitErrorMessage(numAllNodes, statuses, '', postFilterMessage),
      unschedulablePlugins,
      resolvable,
      ...(nominatedNodeName !== undefined ? { nominatedNodeName } : {}),
      ...(victims !== undefined ? { victims } : {}),
      nextStartNodeIndex,
    };
  }

  // One feasible node needs no scoring, as in Kubernetes.
  if (feasible.length === 1) {
    return { kind: 'scheduled', nodeName: feasible[0]!.name, score: 0, feasibleNodes: 1, evaluatedNodes: evaluated, nextStartNodeIndex };
  }
  const best = selectHost(scoreNodes(framework, state, pod, feasible), options.random);
  return { kind: 'scheduled', nodeName: best.name, score: best.score, feasibleNodes: feasible.length, evaluatedNodes: evaluated, nextStartNodeIndex };
}
