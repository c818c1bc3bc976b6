/**
 * Kubernetes-level faults: the targets `scheduler-leader` and
 * `controller-manager-leader` (so `kill`, `restart`, `pause` and
 * `clock-skew` can hit whichever replica leads when the fault fires), the
 * `kill-scheduler-leader` / `kill-controller-manager-leader` shorthands, and
 * `crash-node` (a worker node's kubelet, kube-proxy and runtimes stop for
 * good).
 */
import type { SchedulerComponentStatus } from '../../../scheduler/component.js';
import type { ControllerManagerStatus } from '../../../controllers/behaviour.js';
import type { ChaosEnv, Injection, NemesisPlugin, TargetPlugin } from '../../engine/types.js';
import { kubeSink, type KubeSink } from './sink.js';

async function leaderOf<S>(env: ChaosEnv, names: string[], type: string, leads: (s: S) => boolean): Promise<string | undefined> {
  for (const name of names) {
    const status = await env.system.ref(name).ask<S>({ type, body: null }, { timeoutMs: 1_000 }).catch(() => undefined);
    if (status !== undefined && leads(status)) return name;
  }
  return undefined;
}

interface Component {
  /** `scheduler`, `controller-manager` */
  what: string;
  names: (s: KubeSink) => string[];
  statusType: string;
  leads: (status: never) => boolean;
}

const SCHEDULER: Component = { what: 'scheduler', names: (s) => s.schedulers, statusType: 'scheduler.status', leads: (s: SchedulerComponentStatus) => s.leader };
const CONTROLLER_MANAGER: Component = { what: 'controller-manager', names: (s) => s.controllerManagers, statusType: 'cm.status', leads: (s: ControllerManagerStatus) => s.leading };

function leaderTarget(c: Component): TargetPlugin {
  return {
    name: `${c.what}-leader`,
    description: `the ${c.what} replica that reports itself leader when the fault fires`,
    resolve: (env) => leaderOf(env, c.names(kubeSink(env.state)), c.statusType, c.leads),
  };
}

export function kubeTargets(): TargetPlugin[] {
  return [leaderTarget(SCHEDULER), leaderTarget(CONTROLLER_MANAGER)];
}

function killLeader(c: Component): NemesisPlugin {
  return {
    name: `kill-${c.what}-leader`,
    description: `kill the ${c.what} replica that reports itself leader (its supervisor restarts it: a new incarnation; the lease must move or be re-acquired). The same as kill with target ${c.what}-leader.`,
    schema: { properties: {} },
    needsDuration: false,
    async inject(env, p) {
      const pinned = Array.isArray(p.nodes) && typeof p.nodes[0] === 'string' ? (p.nodes[0] as string) : undefined;
      const target = pinned ?? (await leaderOf(env, c.names(kubeSink(env.state)), c.statusType, c.leads));
      if (target === undefined) return { nodes: [], description: `no ${c.what} reported itself leader: nothing killed` };
      await env.system.faults.kill(target);
      return { nodes: [target], description: `killed ${c.what} leader ${target}` };
    },
  };
}

function crashNode(): NemesisPlugin {
  return {
    name: 'crash-node',
    description: "a node crashes for good: its kubelet, kube-proxy and runtime actors are killed and stopped; its pods must be recreated elsewhere",
    schema: { properties: { name: { type: 'string', minLength: 1, description: 'the node (default: a random live node)' } } },
    needsDuration: false,
    async inject(env, p): Promise<Injection> {
      const sink = kubeSink(env.state);
      const live = sink.nodes.filter((n) => !sink.crashedNodes.includes(n.nodeName));
      const pinned = Array.isArray(p.nodes) && typeof p.nodes[0] === 'string' ? (p.nodes[0] as string) : typeof p.name === 'string' ? p.name : undefined;
      const node = pinned !== undefined ? live.find((n) => n.nodeName === pinned) : live[Math.floor(env.random() * live.length)];
      if (node === undefined) return { nodes: [], description: `no live node${pinned !== undefined ? ` named ${pinned}` : ''}: nothing crashed` };
      const actors = [node.kubelet, node.kubeProxy, ...Object.values(node.runtimes)];
      for (const name of actors) {
        if (env.system.lookup(name) === undefined) continue;
        await env.system.faults.kill(name).catch(() => undefined);
        await env.system.stop(name).catch(() => undefined);
      }
      sink.crashedNodes.push(node.nodeName);
      return { nodes: [node.nodeName], description: `crashed ${node.nodeName}: stopped ${actors.join(', ')}` };
    },
  };
}

export function kubeNemeses(): NemesisPlugin[] {
  return [killLeader(SCHEDULER), killLeader(CONTROLLER_MANAGER), crashNode()];
}
