/**
 * Workloads, nemeses and checks by name. A scenario names them; the engine
 * looks them up here. The store's and the simulated cloud's are registered by default; Kubernetes-level
 * plugins (Deployment churn, scheduler failover, node crash) call
 * `registerWorkload` / `registerNemesis` / `registerCheck` from their own
 * module and appear in the scenario schema (`scenarioSchema()`) at once.
 */
import { registerCloudPlugins } from '../plugins/cloud.js';
import { registerKubernetesPlugins } from '../plugins/kubernetes/index.js';
import { registerWebhookPlugins } from '../plugins/webhook.js';
import { storeChecks } from './checks.js';
import { storeNemeses } from './nemeses.js';
import type { CheckPlugin, FigurePlugin, NemesisPlugin, TargetPlugin, WorkloadPlugin } from './types.js';
import { registerWorkloadPlugin, watchWorkloadPlugin } from './workloads.js';

export class PluginRegistry {
  readonly workloads = new Map<string, WorkloadPlugin<never>>();
  readonly nemeses = new Map<string, NemesisPlugin<never>>();
  readonly checks = new Map<string, CheckPlugin<never>>();
  readonly figures = new Map<string, FigurePlugin>();
  readonly targets = new Map<string, TargetPlugin>();

  registerWorkload<S>(plugin: WorkloadPlugin<S>): void {
    add(this.workloads, 'workload', plugin as unknown as WorkloadPlugin<never>);
  }

  registerNemesis<P extends Parameters<NemesisPlugin['inject']>[1]>(plugin: NemesisPlugin<P>): void {
    add(this.nemeses, 'nemesis', plugin as unknown as NemesisPlugin<never>);
  }

  registerCheck<P extends Parameters<CheckPlugin['run']>[1]>(plugin: CheckPlugin<P>): void {
    add(this.checks, 'check', plugin as unknown as CheckPlugin<never>);
  }

  registerFigures(plugin: FigurePlugin): void {
    add(this.figures, 'figure plugin', plugin);
  }

  /** A name a fault's `target` may use (`scheduler-leader`). */
  registerTarget(plugin: TargetPlugin): void {
    add(this.targets, 'target', plugin);
  }

  workload(name: string): WorkloadPlugin<Record<string, unknown>> {
    return get(this.workloads, 'workload', name) as unknown as WorkloadPlugin<Record<string, unknown>>;
  }

  nemesis(name: string): NemesisPlugin {
    return get(this.nemeses, 'nemesis', name) as unknown as NemesisPlugin;
  }

  check(name: string): CheckPlugin {
    return get(this.checks, 'check', name) as unknown as CheckPlugin;
  }
}

function add<T extends { name: string }>(map: Map<string, T>, what: string, plugin: T): void {
  if (map.has(plugin.name)) throw new Error(`a ${what} named ${JSON.stringify(plugin.name)} is already registered`);
  map.set(plugin.name, plugin);
}

function get<T>(map: Map<string, T>, what: string, name: string): T {
  const plugin = map.get(name);
  if (plugin === undefined) throw new Error(`no ${what} named ${JSON.stringify(name)}; known: ${[...map.keys()].join(', ')}`);
  return plugin;
}

/** A registry holding the store's workloads, nemeses and checks. */
export function storeRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  registry.registerWorkload(registerWorkloadPlugin);
  registry.registerWorkload(watchWorkloadPlugin);
  for (const nemesis of storeNemeses) registry.nemeses.set(nemesis.name, nemesis);
  for (const check of storeChecks) registry.checks.set(check.name, check);
  return registry;
}

/** The store's plugins and those of the other layers (the simulated cloud's: src/chaos/plugins/cloud.ts; Kubernetes': src/chaos/plugins/kubernetes/). */
export function fullRegistry(): PluginRegistry {
  const registry = storeRegistry();
  registerCloudPlugins(registry);
  registerKubernetesPlugins(registry);
  registerWebhookPlugins(registry);
  return registry;
}

/** The registry the CLI uses: every layer's plugins. Plugins keep per-run state in RunState, so one registry serves every run. */
export const defaultRegistry: PluginRegistry = fullRegistry();
