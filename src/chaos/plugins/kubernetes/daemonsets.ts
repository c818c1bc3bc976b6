/**
 * The `daemonsets` workload: DaemonSets of the sim image `nginx` on the
 * control plane the `deployments` workload started (list it first). Before
 * the origin it waits until each has a Ready pod on every node; after the
 * run it polls until each has exactly one Ready pod on every live node
 * (nodes the crash-node fault took down are not counted: their pods stay
 * bound there, as a DaemonSet's pods tolerate an unreachable node): what the
 * `daemonset-coverage` check judges.
 */
import type { ApiReply, ApiServerMsg } from '../../../api/protocol.js';
import type { DaemonSet, List, Pod } from '../../../api/types/index.js';
import type { WorkloadPlugin } from '../../engine/types.js';
import { round3 } from '../../engine/figures.js';
import { isHealthy } from './observers.js';
import { APISERVER, NAMESPACE, kubeSink, type DaemonSetObservation } from './sink.js';
import { pollUntilConverged } from './poll.js';

export interface DaemonSetsSpec {
  /** DaemonSets, named agent-0, agent-1, … Default 1. */
  daemonSets?: number;
  /** After the run, how long the DaemonSets may take to cover every live node before they are observed. Default 30000. */
  convergeMs?: number;
}

const SETS_MAX = 20;
const READY_BEFORE_ORIGIN_MS = 30_000;

function daemonSetObject(name: string): DaemonSet {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: NAMESPACE },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agent', image: 'nginx:1.0' }] } } },
  } as DaemonSet;
}

/** Pure: per DaemonSet, the live nodes without a Ready pod of it and those with more than one. */
export function observeCoverage(pods: readonly Pod[], sets: readonly string[], liveNodes: readonly string[]): DaemonSetObservation['sets'] {
  const out: DaemonSetObservation['sets'] = {};
  for (const name of sets) {
    const perNode = new Map<string, number>();
    for (const pod of pods) {
      if (pod.metadata?.labels?.app !== name || !isHealthy(pod)) continue;
      const node = pod.spec?.nodeName ?? '';
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
    }
    out[name] = {
      nodes: liveNodes.length,
      missing: liveNodes.filter((n) => (perNode.get(n) ?? 0) === 0),
      extra: liveNodes.filter((n) => (perNode.get(n) ?? 0) > 1),
    };
  }
  return out;
}

export function daemonSetsWorkload(): WorkloadPlugin<DaemonSetsSpec> {
  return {
    name: 'daemonsets',
    description: 'DaemonSets (image nginx) on the deployments workload\'s control plane (list it first); after the run, waits until each has one Ready pod on every live node',
    schema: {
      properties: {
        daemonSets: { type: 'integer', minimum: 1, maximum: SETS_MAX, description: 'DaemonSets agent-0, agent-1, … (default 1)' },
        convergeMs: { type: 'number', minimum: 0, description: 'after the run, how long they may take to cover every live node (default 30000)' },
      },
    },
    async prepare(env, spec) {
      const sink = kubeSink(env.state);
      if (sink.nodes.length === 0) throw new Error('workload.daemonsets needs the deployments workload, listed before it (workload: { deployments: {…}, daemonsets: {…} })');
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      for (let i = 0; i < (spec.daemonSets ?? 1); i++) {
        const name = `agent-${i}`;
        const reply = await env.settle(api.ask<ApiReply>({ type: 'api.create', body: { group: 'apps', version: 'v1', resource: 'daemonsets', namespace: NAMESPACE, object: daemonSetObject(name) } }, { timeoutMs: 30_000 }));
        if (!reply.ok) throw new Error(`workload.daemonsets: creating DaemonSet ${name}: ${reply.status.message ?? reply.status.reason}`);
        sink.daemonsets.push(name);
      }
      const sleep = (ms: number): Promise<unknown> => env.settle(env.system.ref(sink.sleeper).ask({ type: 'sleep', body: { ms } }, { timeoutMs: ms + 10_000 }));
      const observe = async (): Promise<DaemonSetObservation | undefined> => {
        const reply = await env.settle(api.ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: NAMESPACE } }, { timeoutMs: 5_000 }).catch(() => undefined));
        if (reply === undefined || !reply.ok) return undefined;
        const live = sink.nodes.map((n) => n.nodeName).filter((n) => !sink.crashedNodes.includes(n));
        const sets = observeCoverage(reply.body.items, sink.daemonsets, live);
        return { converged: Object.values(sets).every((s) => s.missing.length === 0 && s.extra.length === 0), atMs: round3(env.elapsedMs()), sets };
      };
      const readyBy = env.elapsedMs() + READY_BEFORE_ORIGIN_MS;
      const ready = await pollUntilConverged({ observe, sleep, elapsedMs: () => env.elapsedMs(), deadlineMs: readyBy });
      if (ready?.converged !== true) throw new Error(`workload.daemonsets: not every node had a Ready pod within 30 s: ${JSON.stringify(ready?.sets)}`);
      return {
        actors: [],
        start() {
          return {
            actors: [],
            async finish() {
              const deadlineMs = env.elapsedMs() + (spec.convergeMs ?? 30_000);
              await pollUntilConverged({ observe, sleep, elapsedMs: () => env.elapsedMs(), deadlineMs, onSeen: (seen) => (sink.daemonsetFinal = seen) });
              return {};
            },
          };
        },
      };
    },
  };
}
