/**
 * The scheduling framework: plugins at named extension points, as
 * kube-scheduler's `pkg/scheduler/framework`. A plugin is one object that
 * implements any of the points; the profile says which plugins are enabled
 * and how much each Score plugin weighs.
 */
import type { Pod } from '../api/types/index.js';
import type { NodeInfo, Snapshot } from './types.js';

export type StatusCode = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error' | 'Skip';

export interface Status {
  code: StatusCode;
  /** Reasons exactly as Kubernetes words them ("Insufficient cpu"); counted in the FailedScheduling message. */
  reasons: string[];
  /** The plugin that returned it (set by the framework). */
  plugin?: string;
}

export const SUCCESS: Status = Object.freeze({ code: 'Success', reasons: [] }) as Status;

export function unschedulable(...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons };
}

export function unresolvable(...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons };
}

export function isSuccess(status: Status | null | undefined): boolean {
  return status === null || status === undefined || status.code === 'Success';
}

/**
 * What a PreFilter or PreScore plugin returns when it has nothing to do for
 * this pod (Kubernetes' framework.Skip): the framework then leaves out the
 * plugin's Filter or Score for the whole cycle, which would only have passed
 * every node or scored every node alike.
 */
export function skip(): Status {
  return { code: 'Skip', reasons: [] };
}

export function isSkip(status: Status | null | undefined): boolean {
  return status?.code === 'Skip';
}

/** Per-cycle scratch space: PreFilter and PreScore results read later by Filter and Score. */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins whose PreFilter said Skip: their Filter is not run this cycle (Kubernetes' SkipFilterPlugins). */
  readonly skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore said Skip: their Score is not run this cycle (Kubernetes' SkipScorePlugins). */
  readonly skipScorePlugins = new Set<string>();
  private filters: { from: readonly FilterPlugin[]; skipped: number; list: readonly FilterPlugin[] } | undefined;

  /** The framework's Filter plugins less those skipped, worked out once per cycle rather than once per node. */
  filterPlugins(all: readonly FilterPlugin[]): readonly FilterPlugin[] {
    const f = this.filters;
    if (f !== undefined && f.from === all && f.skipped === this.skipFilterPlugins.size) return f.list;
    const list = this.skipFilterPlugins.size === 0 ? all : all.filter((p) => !this.skipFilterPlugins.has(p.name));
    this.filters = { from: all, skipped: this.skipFilterPlugins.size, list };
    return list;
  }
  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
}

/** Kubernetes' score range. */
export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;

export interface NodeScore {
  name: string;
  score: number;
}

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  /** Null or Success to go on; Skip to go on without this plugin's Filter; any other status makes every node fail with it. */
  preFilter(state: CycleState, pod: Pod, snapshot: Snapshot): Status | null;
}

export interface FilterPlugin extends Plugin {
  /** Null or Success when the pod fits the node. */
  filter(state: CycleState, pod: Pod, node: NodeInfo): Status | null;
}

export interface PostFilterResult {
  /** A node the pod may fit on after preemption (not bound; the pod is retried). */
  nominatedNodeName?: string;
  /** Pods to delete so that the pod fits on the nominated node (the caller deletes them). */
  victims?: Pod[];
  /** Appended to the FailedScheduling message. */
  message?: string;
}

/**
 * Given pods that would be evicted, in order, which of them an eviction
 * would take below a PodDisruptionBudget (the budget's allowance is used up
 * along the list, as Kubernetes' filterPodsWithPDBViolation).
 */
export type DisruptionBudgetCheck = (pods: readonly Pod[]) => boolean[];

/** No budgets: no eviction violates anything. */
export const NO_DISRUPTION_BUDGETS: DisruptionBudgetCheck = (pods) => pods.map(() => false);

/** What a PostFilter plugin may use besides the cycle's state: the framework to dry-run filters, the cycle's randomness, nominated pods, budgets. */
export interface PostFilterContext {
  framework: Framework;
  random: () => number;
  /** Pods waiting for a node they preempted on, by node. */
  nominatedPods: (nodeName: string) => readonly Pod[];
  violatesDisruptionBudget: DisruptionBudgetCheck;
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: Pod, snapshot: Snapshot, statuses: Map<string, Status>, context: PostFilterContext): PostFilterResult | null;
}

export interface PreScorePlugin extends Plugin {
  /** Null or Success to go on; Skip to leave this plugin's Score out of the cycle. */
  preScore(state: CycleState, pod: Pod, nodes: NodeInfo[]): Status | null;
}

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: Pod, node: NodeInfo): number;
  /** Rescale raw scores in place to 0..MAX_NODE_SCORE. Without it, scores must already be in range. */
  normalizeScore?(state: CycleState, pod: Pod, scores: NodeScore[]): void;
}

export type AnyPlugin = Plugin & Partial<PreFilterPlugin & FilterPlugin & PostFilterPlugin & PreScorePlugin & ScorePlugin>;

export const EXTENSION_POINTS = ['PreFilter', 'Filter', 'PostFilter', 'PreScore', 'Score', 'Bind'] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

/** Scales raw scores so the largest is MAX_NODE_SCORE (or the reverse), as Kubernetes' DefaultNormalizeScore. */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: NodeScore[]): void {
  let max = 0;
  for (const s of scores) max = Math.max(max, s.score);
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return;
  }
  for (const s of scores) {
    let score = Math.trunc((maxPriority * s.score) / max);
    if (reverse) score = maxPriority - score;
    s.score = score;
  }
}

/** The plugin lists of one profile, in Kubernetes' order, with the Score weights. */
export interface Framework {
  readonly preFilter: PreFilterPlugin[];
  readonly filter: FilterPlugin[];
  readonly postFilter: PostFilterPlugin[];
  readonly preScore: PreScorePlugin[];
  readonly score: { plugin: ScorePlugin; weight: number }[];
  /** The share of nodes to look at in a large cluster (0 = Kubernetes' adaptive default). */
  readonly percentageOfNodesToScore: number;
}

export function buildFramework(plugins: AnyPlugin[], weights: Record<string, number>, percentageOfNodesToScore = 0): Framework {
  const names = new Set<string>();
  for (const p of plugins) {
    if (names.has(p.name)) throw new Error(`plugin ${p.name} is enabled twice`);
    names.add(p.name);
  }
  if (!(percentageOfNodesToScore >= 0 && percentageOfNodesToScore <= 100)) throw new Error(`percentageOfNodesToScore must be 0..100, got ${percentageOfNodesToScore}`);
  const score: { plugin: ScorePlugin; weight: number }[] = [];
  for (const p of plugins) {
    if (typeof p.score !== 'function') continue;
    const weight = weights[p.name] ?? 1;
    if (!Number.isInteger(weight) || weight < 0) throw new Error(`score weight of ${p.name} must be a non-negative integer, got ${weight}`);
    if (weight > 0) score.push({ plugin: p as ScorePlugin, weight });
  }
  return {
    preFilter: plugins.filter((p): p is AnyPlugin & PreFilterPlugin => typeof p.preFilter === 'function'),
    filter: plugins.filter((p): p is AnyPlugin & FilterPlugin => typeof p.filter === 'function'),
    postFilter: plugins.filter((p): p is AnyPlugin & PostFilterPlugin => typeof p.postFilter === 'function'),
    preScore: plugins.filter((p): p is AnyPlugin & PreScorePlugin => typeof p.preScore === 'function'),
    score,
    percentageOfNodesToScore,
  };
}
