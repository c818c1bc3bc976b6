/**
 * Node maintenance faults:
 *
 * - `drain-node` does what `kubectl drain --ignore-daemonsets --force` does:
 *   cordon the node, then evict each of its pods (DaemonSet pods stay; pods
 *   no controller owns go too, as with --force) through
 *   POST pods/NAME/eviction, all at once, each retried while a
 *   PodDisruptionBudget refuses it with 429 (kubectl retries every 5 s; here
 *   every `retryMs`), until `timeoutMs` (default: the fault's `durationMs`).
 *   The node stays cordoned for `durationMs`, then is uncordoned (`kubectl
 *   uncordon`). `evict: false` deletes the pods directly
 *   instead, ignoring every budget: the broken drain the no-pdb-violation
 *   check must catch. Every pod taken away is recorded for that check.
 * - `partition-node` cuts a node's kubelet, kube-proxy and runtimes off the
 *   API server for `durationMs`: its Lease goes unrenewed, the node
 *   lifecycle marks it NotReady and evicts its pods after the timeout.
 *
 * Without `name`, both pick the node running the most pods of the run's
 * namespace (those labelled app=`app`, if given; DaemonSet pods aside), the
 * first such in node order: the drain then has budgeted pods to wait for.
 */
import type { ApiReply, ApiServerMsg } from '../../../api/protocol.js';
import type { List, Pod } from '../../../api/types/index.js';
import type { SpawnedNode } from '../../../../actors/node.js';
import type { ChaosEnv, FaultSpec, Injection, NemesisPlugin } from '../../engine/types.js';
import { round3 } from '../../engine/figures.js';
import { APISERVER, NAMESPACE, kubeSink, type DrainRecord } from './sink.js';

interface DrainParams extends FaultSpec {
  name?: string;
  app?: string;
  evict?: boolean;
  timeoutMs?: number;
  retryMs?: number;
}

interface PartitionNodeParams extends FaultSpec {
  name?: string;
  app?: string;
}

const CALL_TIMEOUT_MS = 5_000;

const ownedByDaemonSet = (pod: Pod): boolean => (pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true);

async function podsOf(env: ChaosEnv): Promise<Pod[] | undefined> {
  const reply = await env.system.ref<ApiServerMsg>(APISERVER)
    .ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: NAMESPACE } }, { timeoutMs: CALL_TIMEOUT_MS })
    .catch(() => undefined);
  return reply?.ok === true ? reply.body.items : undefined;
}

/**
 * Pure: the node to hit: `name` if given, else the one running the most pods (labelled app=`app`, if given; DaemonSet
 * pods aside), first in node order on a tie.
 */
export function pickNode(nodes: readonly string[], pods: readonly Pod[], name: string | undefined, app?: string): string | undefined {
  if (name !== undefined) return nodes.includes(name) ? name : undefined;
  const count = (node: string): number => pods.filter((p) => p.spec?.nodeName === node && !ownedByDaemonSet(p) && p.metadata.deletionTimestamp === undefined
    && (app === undefined || p.metadata.labels?.app === app)).length;
  let best: string | undefined;
  for (const node of nodes) if (best === undefined || count(node) > count(best)) best = node;
  return best;
}

async function resolveNode(env: ChaosEnv, pinned: unknown, name: string | undefined, app: string | undefined): Promise<SpawnedNode | undefined> {
  const sink = kubeSink(env.state);
  const live = sink.nodes.filter((n) => !sink.crashedNodes.includes(n.nodeName));
  const wanted = Array.isArray(pinned) && typeof pinned[0] === 'string' ? pinned[0] : name;
  const chosen = pickNode(live.map((n) => n.nodeName), wanted !== undefined ? [] : (await podsOf(env)) ?? [], wanted, app);
  return live.find((n) => n.nodeName === chosen);
}

async function setUnschedulable(env: ChaosEnv, node: string, unschedulable: boolean): Promise<boolean> {
  const reply = await env.system.ref<ApiServerMsg>(APISERVER)
    .ask<ApiReply>({ type: 'api.patch', body: { group: '', version: 'v1', resource: 'nodes', name: node, patchType: 'merge', patch: { spec: { unschedulable: unschedulable ? true : null } } } }, { timeoutMs: CALL_TIMEOUT_MS })
    .catch(() => undefined);
  return reply?.ok === true;
}

export function drainNode(): NemesisPlugin<DrainParams> {
  return {
    name: 'drain-node',
    description: 'kubectl drain --ignore-daemonsets: cordon a node (name, or the one running the most pods), evict each of its pods through the eviction API, retrying on 429 every retryMs until timeoutMs (default durationMs); uncordoned after durationMs. evict: false deletes the pods directly, ignoring budgets (a broken drain)',
    schema: {
      properties: {
        name: { type: 'string', description: 'the node (default: the one running the most pods)' },
        app: { type: 'string', description: 'without name: the node running the most pods labelled app=<app>' },
        evict: { type: 'boolean', description: 'false: delete the pods directly, ignoring PodDisruptionBudgets (default true)' },
        timeoutMs: { type: 'number', minimum: 1, description: 'give up on pods still refused after this (default durationMs; kubectl waits forever)' },
        retryMs: { type: 'number', minimum: 1, description: 'retry a refused eviction after this (default 500; kubectl 5000)' },
      },
    },
    needsDuration: true,
    async inject(env, p) {
      const sink = kubeSink(env.state);
      const node = await resolveNode(env, p.nodes, p.name, p.app);
      if (node === undefined) return { nodes: [], description: `no live node${p.name !== undefined ? ` named ${p.name}` : ''}: nothing drained` };
      const name = node.nodeName;
      const uncordon = async (): Promise<void> => {
        if (!(await setUnschedulable(env, name, false))) env.log(`  drain: uncordoning ${name} failed`);
      };
      if (!(await setUnschedulable(env, name, true))) return { nodes: [name], description: `drain ${name}: the cordon failed (API server unavailable); nothing evicted`, heal: uncordon };
      const pods = ((await podsOf(env)) ?? []).filter((pod) => pod.spec?.nodeName === name && !ownedByDaemonSet(pod) && pod.metadata.deletionTimestamp === undefined);
      const evict = p.evict !== false;
      const retryMs = p.retryMs ?? 500;
      const deadlineMs = env.elapsedMs() + (p.timeoutMs ?? p.durationMs ?? 30_000);
      const record: DrainRecord = { node: name, startedMs: round3(env.elapsedMs()), evicted: 0, refused: 0, timedOut: false };
      sink.drains.push(record);
      let pending = pods.length;
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      const done = (): void => {
        if (--pending === 0 && !record.timedOut) {
          record.doneMs = round3(env.elapsedMs());
          env.log(`  drain: ${name} drained (${record.evicted} pods taken away, ${record.refused} evictions refused by a budget)`);
        }
      };
      const attempt = async (pod: Pod): Promise<void> => {
        const podName = pod.metadata.name!;
        const target = { group: '', version: 'v1', resource: 'pods', namespace: NAMESPACE, name: podName };
        const msg: ApiServerMsg = evict
          ? { type: 'api.create', body: { ...target, subresource: 'eviction', object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace: NAMESPACE } } } }
          : { type: 'api.delete', body: { ...target, options: { preconditions: { uid: pod.metadata.uid } } } };
        const sentMs = round3(env.elapsedMs());
        const reply = await api.ask<ApiReply>(msg, { timeoutMs: CALL_TIMEOUT_MS }).catch((error: Error) => ({ ok: false as const, status: { code: 503, message: error.message } }));
        const code = reply.ok ? 200 : ((reply.status as { code?: number }).code ?? 0);
        if (reply.ok) {
          sink.disruptions.push({ tMs: round3(env.elapsedMs()), sentMs, uid: pod.metadata.uid!, pod: `${NAMESPACE}/${podName}`, node: name, via: evict ? 'eviction' : 'delete' });
          record.evicted++;
          env.log(`  drain: ${evict ? 'evicted' : 'deleted'} ${podName}`);
          return done();
        }
        // Gone already (or replaced: the precondition's uid no longer matches): nothing left to take away.
        if (code === 404 || code === 409) return done();
        if (code === 429) record.refused++;
        if (env.elapsedMs() + retryMs > deadlineMs) {
          if (!record.timedOut) env.log(`  drain: ${name} timed out with ${podName} still there (last answer ${code} ${(reply.status as { message?: string }).message ?? ''})`);
          record.timedOut = true;
          return;
        }
        env.schedule(retryMs, `drain ${name}: retry ${podName}`, () => attempt(pod));
      };
      if (pods.length === 0) record.doneMs = record.startedMs;
      for (const pod of pods) env.schedule(0, `drain ${name}: ${pod.metadata.name}`, () => attempt(pod));
      return {
        nodes: [name],
        description: `drain ${name}: cordoned, ${evict ? 'evicting' : 'deleting (ignoring budgets)'} its ${pods.length} pods (${pods.map((x) => x.metadata.name).join(', ')})`,
        heal: uncordon,
      };
    },
  };
}

export function partitionNode(): NemesisPlugin<PartitionNodeParams> {
  return {
    name: 'partition-node',
    description: 'cut a node\'s kubelet, kube-proxy and runtimes off the API server for durationMs (name, or the node running the most pods): its Lease goes unrenewed, the node lifecycle marks it NotReady and evicts its pods after the timeout',
    schema: {
      properties: {
        name: { type: 'string', description: 'the node (default: the one running the most pods)' },
        app: { type: 'string', description: 'without name: the node running the most pods labelled app=<app>' },
      },
    },
    needsDuration: true,
    async inject(env, p): Promise<Injection> {
      const node = await resolveNode(env, p.nodes, p.name, p.app);
      if (node === undefined) return { nodes: [], description: `no live node${p.name !== undefined ? ` named ${p.name}` : ''}: nothing cut` };
      const actors = [node.kubelet, node.kubeProxy, ...Object.values(node.runtimes)];
      const ids = await env.system.faults.partition(actors, [APISERVER]);
      return {
        nodes: [node.nodeName],
        description: `partition ${node.nodeName} (${actors.join(', ')}) from the API server for ${p.durationMs} ms`,
        heal: () => env.system.faults.heal(ids),
      };
    },
  };
}
