/**
 * A scheduler profile: which plugins run and how much each Score plugin
 * weighs, with Kubernetes 1.32's defaults (the `default-scheduler` profile,
 * in its order, so FailedScheduling messages name the same first failure).
 */
import { buildFramework, type AnyPlugin, type Framework } from './framework.js';
import { INTER_POD_AFFINITY, interPodAffinity } from './plugins/inter-pod-affinity.js';
import { NODE_AFFINITY, nodeAffinity } from './plugins/node-affinity.js';
import { NODE_NAME, nodeName } from './plugins/node-name.js';
import { NODE_RESOURCES_BALANCED_ALLOCATION, NODE_RESOURCES_FIT, nodeResourcesBalancedAllocation, nodeResourcesFit } from './plugins/node-resources.js';
import { NODE_UNSCHEDULABLE, nodeUnschedulable } from './plugins/node-unschedulable.js';
import { TAINT_TOLERATION, taintToleration } from './plugins/taint-toleration.js';
import { POD_TOPOLOGY_SPREAD, podTopologySpread } from './plugins/pod-topology-spread.js';
import { DEFAULT_PREEMPTION, defaultPreemption } from './plugins/default-preemption.js';

/** Every plugin this scheduler knows, by its Kubernetes name. */
export const PLUGIN_REGISTRY: Record<string, AnyPlugin> = {
  [NODE_UNSCHEDULABLE]: nodeUnschedulable,
  [NODE_NAME]: nodeName,
  [TAINT_TOLERATION]: taintToleration,
  [NODE_AFFINITY]: nodeAffinity,
  [NODE_RESOURCES_FIT]: nodeResourcesFit,
  [POD_TOPOLOGY_SPREAD]: podTopologySpread,
  [INTER_POD_AFFINITY]: interPodAffinity,
  [DEFAULT_PREEMPTION]: defaultPreemption,
  [NODE_RESOURCES_BALANCED_ALLOCATION]: nodeResourcesBalancedAllocation,
};

/** Kubernetes' default order (filters run in it; the first failing one names the reason). */
export const DEFAULT_PLUGINS: readonly string[] = [
  NODE_UNSCHEDULABLE, NODE_NAME, TAINT_TOLERATION, NODE_AFFINITY, NODE_RESOURCES_FIT, POD_TOPOLOGY_SPREAD, INTER_POD_AFFINITY, DEFAULT_PREEMPTION,
  NODE_RESOURCES_BALANCED_ALLOCATION,
];

/** Kubernetes' default Score weights. */
export const DEFAULT_SCORE_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  [TAINT_TOLERATION]: 3,
  [NODE_AFFINITY]: 2,
  [POD_TOPOLOGY_SPREAD]: 2,
  [INTER_POD_AFFINITY]: 2,
  [NODE_RESOURCES_FIT]: 1,
  [NODE_RESOURCES_BALANCED_ALLOCATION]: 1,
});

/** Names older releases used for what is now a NodeResourcesFit scoring strategy. */
const ALIASES: Record<string, string> = { NodeResourcesLeastAllocated: NODE_RESOURCES_FIT };

export interface SchedulerProfileConfig {
  /** Pods whose `spec.schedulerName` is this are ours. Default `default-scheduler`. */
  schedulerName?: string;
  /** Replaces the default plugin list (order kept as Kubernetes' default order). */
  enabled?: string[];
  /** Removed from the list; `*` removes every default plugin before `enabled` is added. */
  disabled?: string[];
  /** Score weights by plugin name; 0 keeps a plugin's Filter but drops its Score. */
  scoreWeights?: Record<string, number>;
  /** 0: Kubernetes' adaptive share of nodes to score in large clusters. */
  percentageOfNodesToScore?: number;
}

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

function canonical(name: string): string {
  const resolved = ALIASES[name] ?? name;
  if (!(resolved in PLUGIN_REGISTRY)) throw new Error(`unknown scheduler plugin ${JSON.stringify(name)}; known: ${Object.keys(PLUGIN_REGISTRY).join(', ')}`);
  return resolved;
}

export function buildProfile(config: SchedulerProfileConfig = {}): Framework {
  const disabled = new Set((config.disabled ?? []).map((n) => (n === '*' ? n : canonical(n))));
  let names = disabled.has('*') ? [] : DEFAULT_PLUGINS.filter((n) => !disabled.has(n));
  for (const n of (config.enabled ?? []).map(canonical)) if (!names.includes(n)) names.push(n);
  names = DEFAULT_PLUGINS.filter((n) => names.includes(n));
  const weights: Record<string, number> = { ...DEFAULT_SCORE_WEIGHTS };
  for (const [name, weight] of Object.entries(config.scoreWeights ?? {})) weights[canonical(name)] = weight;
  return buildFramework(names.map((n) => PLUGIN_REGISTRY[n]!), weights, config.percentageOfNodesToScore ?? 0);
}
