/**
 * Running the Filter plugins on one node, with the pods nominated there
 * counted (Kubernetes' RunFilterPluginsWithNominatedPods): a pod that
 * preempted on a node holds the room it freed against pods of lower or
 * equal priority until it is bound.
 */
import type { Pod } from '../api/types/index.js';
import { isSuccess, type CycleState, type Framework, type Status } from './framework.js';
import { podKey, podPriority, type NodeInfo } from './types.js';

/** The first failing filter's status (naming the plugin), or null when the pod fits. Throws on a plugin Error. */
export function runFilters(framework: Framework, state: CycleState, pod: Pod, node: NodeInfo): Status | null {
  for (const plugin of state.filterPlugins(framework.filter)) {
    const status = plugin.filter(state, pod, node);
    if (!isSuccess(status)) {
      if (status!.code === 'Error') throw new Error(`filter plugin ${plugin.name} failed on node ${node.name}: ${status!.reasons.join('; ')}`);
      return { ...status!, plugin: plugin.name };
    }
  }
  return null;
}

/**
 * As Kubernetes: with nominated pods of at least the pod's priority on the
 * node the pod must fit, and without them too (a nominated pod may never
 * come, and affinity to it must not be relied on).
 */
export function runFiltersWithNominatedPods(framework: Framework, state: CycleState, pod: Pod, node: NodeInfo, nominated: readonly Pod[]): Status | null {
  // The common case, checked before any per-node work: nothing nominated here.
  if (nominated.length === 0) return runFilters(framework, state, pod, node);
  const key = podKey(pod);
  const priority = podPriority(pod);
  const holding = nominated.filter((p) => podKey(p) !== key && podPriority(p) >= priority && !node.pods.has(podKey(p)));
  if (holding.length > 0) {
    const withNominated = node.clone();
    for (const p of holding) withNominated.addPod({ ...p, spec: { ...p.spec!, nodeName: node.name } });
    const status = runFilters(framework, state, pod, withNominated);
    if (status !== null) return status;
  }
  return runFilters(framework, state, pod, node);
}
