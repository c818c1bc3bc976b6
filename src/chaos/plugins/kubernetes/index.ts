/**
 * Kubernetes-level chaos plugins for the chaos engine (src/chaos/engine):
 * the `deployments` and `services` workloads, the leader targets and the
 * node crash, the checks, and the per-fault figures. One run's plugins share
 * a KubeSink in the run's RunState (sink.ts).
 */
import type { CheckPlugin, FigurePlugin, NemesisPlugin, TargetPlugin, WorkloadPlugin } from '../../engine/types.js';
import { kubeChecks } from './checks.js';
import { kubeFigures } from './figures.js';
import { kubeNemeses, kubeTargets } from './nemeses.js';
import { servicesWorkload } from './services.js';
import { deploymentsWorkload } from './workload.js';

export * from './sink.js';
export * from './checks.js';
export { newLeaderMs, restoredMs } from './figures.js';
export { countPods, deploymentsWorkload, type DeploymentsSpec } from './workload.js';
export { servicesWorkload, type ServicesSpec } from './services.js';

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
  for (const n of kubeNemeses()) registry.registerNemesis(n);
  for (const c of kubeChecks()) registry.registerCheck(c);
  registry.registerFigures(kubeFigures());
  for (const t of kubeTargets()) registry.registerTarget(t);
}
