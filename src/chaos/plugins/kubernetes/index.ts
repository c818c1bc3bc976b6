/**
 * Kubernetes-level chaos plugins for the chaos engine (src/chaos/engine):
 * the `deployments`, `services`, `statefulsets`, `daemonsets` and `jobs` workloads, the leader
 * targets, the node crash, partition and drain, the checks, and the per-fault figures. One run's plugins share
 * a KubeSink in the run's RunState (sink.ts).
 */
import type { CheckPlugin, FigurePlugin, NemesisPlugin, TargetPlugin, WorkloadPlugin } from '../../engine/types.js';
import { kubeChecks } from './checks.js';
import { kubeFigures } from './figures.js';
import { kubeNemeses, kubeTargets } from './nemeses.js';
import { servicesWorkload } from './services.js';
import { deploymentsWorkload } from './workload.js';
import { statefulSetsWorkload } from './statefulsets.js';
import { daemonSetsWorkload } from './daemonsets.js';
import { jobsWorkload } from './jobs.js';
import { drainNode, partitionNode } from './drain.js';

export * from './sink.js';
export * from './checks.js';
export { newLeaderMs, restoredMs } from './figures.js';
export { countPods, deploymentsWorkload, type DeploymentsSpec } from './workload.js';
export { servicesWorkload, type ServicesSpec } from './services.js';
export { statefulSetsWorkload, type StatefulSetsSpec } from './statefulsets.js';
export { drainNode, partitionNode } from './drain.js';
export { daemonSetsWorkload, type DaemonSetsSpec } from './daemonsets.js';
export { jobsWorkload, type JobsSpec } from './jobs.js';
export * from './disruption-checks.js';
export * from './kind-checks.js';

/** Add the Kubernetes plugins to an engine registry. */
export function registerKubernetesPlugins(registry: {
  registerWorkload<S>(plugin: WorkloadPlugin<S>): void;
  registerNemesis(plugin: NemesisPlugin): void;
  registerCheck(plugin: CheckPlugin): void;
  registerFigures(plugin: FigurePlugin): void;
  registerTarget(plugin: TargetPlugin): void;
}): void {
  registry.registerWorkload(deploymentsWorkload());
  registry.registerWorkload(servicesWorkload());
  registry.registerWorkload(statefulSetsWorkload());
  registry.registerWorkload(daemonSetsWorkload());
  registry.registerWorkload(jobsWorkload());
  for (const n of [...kubeNemeses(), drainNode(), partitionNode()]) registry.registerNemesis(n as NemesisPlugin);
  for (const c of kubeChecks()) registry.registerCheck(c);
  registry.registerFigures(kubeFigures());
  for (const t of kubeTargets()) registry.registerTarget(t);
}
