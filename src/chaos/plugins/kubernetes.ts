/**
 * Kubernetes-level chaos plugins for the chaos engine (src/chaos/engine):
 *
 * - a workload, `deployments`, that brings up the control plane over the
 *   run's store (API server, two schedulers, two controller-managers, sim
 *   nodes), creates Deployments of the sim image `nginx` and churns them
 *   (scale, image update); it samples desired vs Running pods per Deployment
 *   and which scheduler / controller-manager says it leads, and a watcher
 *   actor records every pod binding the pods watch shows;
 * - nemeses: kill the scheduler leader, kill the controller-manager leader
 *   (the supervisor restarts the killed actor: a new incarnation, the lease
 *   must move), crash a node (its kubelet, kube-proxy and runtime stop for
 *   good);
 * - checks over that record: `converges`, `no-double-bind`,
 *   `single-active-scheduler`.
 *
 * One run's plugins share a KubeSink in the run's RunState (`kubeSink`).
 * The checks' logic is pure (`judge*`), so tests feed them broken records.
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import type { Message } from '../../actor/protocol.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiReply, ApiServerMsg, ApiWatchMsg } from '../../api/protocol.js';
import type { Deployment, List, Pod } from '../../api/types/index.js';
import type { WatchEvent } from '../../api/types/meta.js';
import { timingFor } from '../../cluster/spec.js';
import type { SchedulerComponentStatus } from '../../scheduler/component.js';
import type { ControllerManagerStatus } from '../../controllers/behaviour.js';
import { spawnSchedulers } from '../../../actors/scheduler.js';
import { spawnControllerManagers } from '../../../actors/controller-manager.js';
import { spawnNode, type SpawnedNode } from '../../../actors/node.js';
import type { CheckPlugin, CheckResult, ChaosEnv, Injection, NemesisPlugin, RunData, RunState, WorkloadPlugin } from '../engine/types.js';
import { cloudSleeper } from './cloud.js';

// ------------------------------------------------------------ shared record

export interface PodBinding {
  /** ms from the origin when the watch first showed this pod on this node. */
  tMs: number;
  uid: string;
  pod: string;
  node: string;
}

export interface DeploymentSample {
  desired: number;
  /** Running, not terminating pods of the Deployment (label app=<name>). */
  running: number;
  /** Of those, how many run the current image. */
  runningCurrent: number;
}

export interface KubeSample {
  tMs: number;
  /** By Deployment name; absent when the API server did not answer. */
  deployments?: Record<string, DeploymentSample>;
  /** Schedulers that said they lead at this sample. */
  schedulerLeaders: string[];
  controllerManagerLeaders: string[];
}

/** What one run's Kubernetes plugins share. */
export interface KubeSink {
  schedulers: string[];
  controllerManagers: string[];
  nodes: SpawnedNode[];
  /** Node names the crash-node nemesis took down. */
  crashedNodes: string[];
  samples: KubeSample[];
  bindings: PodBinding[];
  /** Deployment → desired replicas and image, as last written. */
  desired: Record<string, { replicas: number; image: string }>;
  /** ms from the origin of the last churn write. */
  lastChangeMs: number;
  /** Set by the workload's finish. */
  final?: { converged: boolean; atMs: number; deployments: Record<string, DeploymentSample> };
}

export function kubeSink(state: RunState): KubeSink {
  return state.get<KubeSink>('kubernetes', () => ({ schedulers: [], controllerManagers: [], nodes: [], crashedNodes: [], samples: [], bindings: [], desired: {}, lastChangeMs: 0 }));
}

const sampleConverged = (d: Record<string, DeploymentSample>): boolean => Object.values(d).every((s) => s.running === s.desired && s.runningCurrent === s.desired);

// ------------------------------------------------------------ pod watcher

type PodWatcherMsg = ApiWatchMsg | Message<'podwatch.take', null> | Message<'podwatch.retry', null>;

/** Bindings (first sight of a pod on a node) older than this many are not kept: a run's pods are far fewer. */
const BINDINGS_MAX = 100_000;
const WATCH_RETRY_MS = 200;

/** Watches every pod and remembers each (pod uid, node) the first time it appears; `podwatch.take` hands them over. */
export const podBindingWatcher = defineBehaviour<PodWatcherMsg, { apiserver: string }>(import.meta.url, 'k8s-chaos-pod-watcher', (ctx, args) => {
  const seen = new Set<string>();
  const bindings: Array<Omit<PodBinding, 'tMs'> & { atMs: number }> = [];
  let generation = 0;
  let resourceVersion: string | undefined;
  const watch = (): void => {
    generation++;
    const watchId = `pods-${generation}`;
    ctx.ask<ApiReply>(args.apiserver, { type: 'api.watch', body: { group: '', version: 'v1', resource: 'pods', watchId, query: resourceVersion !== undefined ? { resourceVersion } : {} } }, { timeoutMs: 5_000 })
      .then((reply) => { if (!reply.ok) ctx.timer('retry', WATCH_RETRY_MS, { type: 'podwatch.retry', body: null }); })
      .catch(() => ctx.timer('retry', WATCH_RETRY_MS, { type: 'podwatch.retry', body: null }));
  };
  watch();
  return {
    receive(msg) {
      switch (msg.type) {
        case 'api.watchEvents':
          if (msg.body.watchId !== `pods-${generation}`) return undefined;
          for (const event of msg.body.events as WatchEvent<Pod>[]) {
            const pod = event.object as Pod;
            if (pod.metadata?.resourceVersion !== undefined) resourceVersion = pod.metadata.resourceVersion;
            const node = pod.spec?.nodeName;
            const uid = pod.metadata?.uid;
            if (node === undefined || node === '' || uid === undefined) continue;
            const key = `${uid}/${node}`;
            if (seen.has(key)) continue;
            seen.add(key);
            if (bindings.length < BINDINGS_MAX) bindings.push({ atMs: ctx.now(), uid, pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node });
          }
          return undefined;
        case 'api.watchEnd':
          if (msg.body.watchId !== `pods-${generation}`) return undefined;
          // 410 Gone: resume from now (bindings in the gap are not seen; the record says so by omission only).
          if (msg.body.status?.code === 410) resourceVersion = undefined;
          ctx.timer('retry', WATCH_RETRY_MS, { type: 'podwatch.retry', body: null });
          return undefined;
        case 'podwatch.retry':
          watch();
          return undefined;
        case 'podwatch.take':
          return bindings;
        default:
          return unhandled;
      }
    },
  };
});

// ------------------------------------------------------------ nemeses

async function leaderOf<S>(env: ChaosEnv, names: string[], type: string, leads: (s: S) => boolean): Promise<string | undefined> {
  for (const name of names) {
    const status = await env.system.ref(name).ask<S>({ type, body: null }, { timeoutMs: 1_000 }).catch(() => undefined);
    if (status !== undefined && leads(status)) return name;
  }
  return undefined;
}

function killLeader<S>(what: string, names: (s: KubeSink) => string[], type: string, leads: (s: S) => boolean): NemesisPlugin {
  return {
    name: `kill-${what}-leader`,
    description: `kill the ${what} replica that reports itself leader (its supervisor restarts it: a new incarnation; the lease must move or be re-acquired)`,
    schema: { properties: {} },
    needsDuration: false,
    async inject(env, p) {
      const pinned = Array.isArray(p.nodes) && typeof p.nodes[0] === 'string' ? (p.nodes[0] as string) : undefined;
      const target = pinned ?? (await leaderOf<S>(env, names(kubeSink(env.state)), type, leads));
      if (target === undefined) return { nodes: [], description: `no ${what} reported itself leader: nothing killed` };
      await env.system.faults.kill(target);
      return { nodes: [target], description: `killed ${what} leader ${target}` };
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
  return [
    killLeader<SchedulerComponentStatus>('scheduler', (s) => s.schedulers, 'scheduler.status', (s) => s.leader),
    killLeader<ControllerManagerStatus>('controller-manager', (s) => s.controllerManagers, 'cm.status', (s) => s.leading),
    crashNode(),
  ];
}

// ------------------------------------------------------------ workload

export interface DeploymentsSpec {
  /** Worker nodes (sim runtime). Default 3. */
  nodes?: number;
  /** Deployments created before the origin. Default 3. */
  deployments?: number;
  /** Initial replicas of each. Default 2. */
  replicas?: number;
  /** Scaling draws replicas in [1, maxReplicas]. Default 4. */
  maxReplicas?: number;
  /** One churn write (scale or image update, alternately) every this many ms. Default 1000; 0: no churn. */
  churnEveryMs?: number;
  /** No churn after this many ms from the origin. Default: the run's end. */
  churnUntilMs?: number;
  /** Sampling period of desired vs Running pods and of the leaders. Default 250. */
  sampleEveryMs?: number;
  /** After the run, how long the Deployments may take to converge before they are observed. Default 60000. */
  convergeMs?: number;
  /** The node lifecycle's pod eviction timeout (the fast profile's is 30000; Kubernetes' 300 s). Default 5000. */
  podEvictionTimeoutMs?: number;
}

const SLEEPER = 'k8s-chaos-sleeper';
const WATCHER = 'k8s-chaos-pod-watcher';
const APISERVER = 'apiserver';
const CONVERGE_POLL_MS = 250;
/** Deployments per run: each is polled at every sample; more belongs in a benchmark. */
const DEPLOYMENTS_MAX = 50;
const NAMESPACE = 'default';

/** A small seeded generator (mulberry32) for the churn's choices: the same seed, the same churn. */
function seeded(seed: number): () => number {
  let a = (seed * 0x9e3779b1) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deploymentObject(name: string, replicas: number, image: string): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NAMESPACE },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } } },
  } as Deployment;
}

/**
 * Pure: desired vs Running per Deployment from a pod list. Pods on a crashed
 * node do not count: the API still says Running (nobody is left to say
 * otherwise) until the node lifecycle evicts them; the harness knows better.
 */
export function countPods(pods: Pod[], desired: Record<string, { replicas: number; image: string }>, crashedNodes: readonly string[] = []): Record<string, DeploymentSample> {
  const out: Record<string, DeploymentSample> = {};
  for (const [name, d] of Object.entries(desired)) out[name] = { desired: d.replicas, running: 0, runningCurrent: 0 };
  for (const pod of pods) {
    const app = pod.metadata?.labels?.app;
    const s = app !== undefined ? out[app] : undefined;
    if (s === undefined || pod.metadata.deletionTimestamp !== undefined || pod.status?.phase !== 'Running' || crashedNodes.includes(pod.spec?.nodeName ?? '')) continue;
    s.running++;
    if (pod.spec?.containers?.[0]?.image === desired[app!]!.image) s.runningCurrent++;
  }
  return out;
}

export function deploymentsWorkload(): WorkloadPlugin<DeploymentsSpec> {
  return {
    name: 'deployments',
    description: 'the control plane and sim nodes over the run\'s store; N Deployments (image nginx) churned by scaling and image updates; samples desired vs Running pods and leaders, watches pod bindings',
    schema: {
      properties: {
        nodes: { type: 'integer', minimum: 1, maximum: 20, description: 'sim worker nodes (default 3)' },
        deployments: { type: 'integer', minimum: 1, maximum: DEPLOYMENTS_MAX, description: 'Deployments (default 3)' },
        replicas: { type: 'integer', minimum: 0, description: 'initial replicas each (default 2)' },
        maxReplicas: { type: 'integer', minimum: 1, description: 'scaling draws in [1, maxReplicas] (default 4)' },
        churnEveryMs: { type: 'number', minimum: 0, description: 'one scale or image update every this many ms (default 1000; 0: none)' },
        churnUntilMs: { type: 'number', minimum: 0, description: 'no churn after this (default: the end of the run)' },
        sampleEveryMs: { type: 'number', minimum: 10, description: 'sampling period (default 250)' },
        convergeMs: { type: 'number', minimum: 0, description: 'after the run, how long to wait for convergence (default 60000)' },
        podEvictionTimeoutMs: { type: 'number', minimum: 0, description: 'node lifecycle eviction timeout (default 5000)' },
      },
    },
    async prepare(env, spec) {
      const sink = kubeSink(env.state);
      const fast = timingFor('fast');
      const timing = { ...fast, podEvictionTimeoutMs: spec.podEvictionTimeoutMs ?? 5_000 };
      const election = { leaseDurationMs: timing.leaseDurationMs, renewDeadlineMs: timing.renewDeadlineMs, retryPeriodMs: timing.retryPeriodMs };
      await env.system.spawn(apiServer, { name: APISERVER, args: { kv: { kind: 'replicated', options: { replicas: [...env.replicas] } }, http: false } });
      await env.system.spawn(cloudSleeper, { name: SLEEPER });
      sink.schedulers = await env.settle(spawnSchedulers(env.system, election));
      sink.controllerManagers = (await env.settle(spawnControllerManagers(env.system, { timing }))).map((r) => r.name);
      for (let index = 0; index < (spec.nodes ?? 3); index++) {
        sink.nodes.push(await env.settle(spawnNode(env.system, { index, runtime: 'sim', allowProcesses: false, timing, dataDir: undefined })));
      }
      await env.system.spawn(podBindingWatcher, { name: WATCHER, args: { apiserver: APISERVER } });
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      const must = async <T>(msg: ApiServerMsg, driving: boolean): Promise<T> => {
        const settle = <R>(p: Promise<R>): Promise<R> => (driving ? env.settle(p) : p);
        for (let attempt = 0; ; attempt++) {
          const reply = await settle(api.ask<ApiReply<T>>(msg, { timeoutMs: 10_000 }).catch((error: Error) => ({ ok: false as const, status: { code: 503, message: error.message } as never })));
          if (reply.ok) return reply.body;
          // The store may be electing a leader: retry a few times.
          if (attempt >= 20) throw new Error(`${msg.type}: ${(reply.status as { message?: string }).message}`);
          await settle(env.system.ref(SLEEPER).ask({ type: 'sleep', body: { ms: 200 } }, { timeoutMs: 10_000 }));
        }
      };
      const names = Array.from({ length: spec.deployments ?? 3 }, (_, i) => `web-${i}`);
      for (const name of names) {
        const d = { replicas: spec.replicas ?? 2, image: 'nginx:1.0' };
        await must({ type: 'api.create', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, object: deploymentObject(name, d.replicas, d.image) } }, true);
        sink.desired[name] = d;
      }
      const listPods = async (): Promise<Pod[] | undefined> => {
        const reply = await api.ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: NAMESPACE } }, { timeoutMs: 2_000 }).catch(() => undefined);
        return reply?.ok ? reply.body.items : undefined;
      };
      const sample = async (): Promise<void> => {
        const tMs = env.elapsedMs();
        const [pods, sched, cms] = await Promise.all([
          listPods(),
          Promise.all(sink.schedulers.map((n) => env.system.ref(n).ask<SchedulerComponentStatus>({ type: 'scheduler.status', body: null }, { timeoutMs: 1_000 }).catch(() => undefined))),
          Promise.all(sink.controllerManagers.map((n) => env.system.ref(n).ask<ControllerManagerStatus>({ type: 'cm.status', body: null }, { timeoutMs: 1_000 }).catch(() => undefined))),
        ]);
        sink.samples.push({
          tMs,
          ...(pods !== undefined ? { deployments: countPods(pods, sink.desired, sink.crashedNodes) } : {}),
          schedulerLeaders: sched.flatMap((s, i) => (s?.leader === true ? [sink.schedulers[i]!] : [])),
          controllerManagerLeaders: cms.flatMap((s, i) => (s?.leading === true ? [sink.controllerManagers[i]!] : [])),
        });
      };
      const random = seeded(env.seed);
      let churns = 0;
      const churn = async (): Promise<void> => {
        const name = names[Math.floor(random() * names.length)]!;
        const current = sink.desired[name]!;
        const next = churns++ % 2 === 0
          ? { ...current, replicas: 1 + Math.floor(random() * (spec.maxReplicas ?? 4)) }
          : { ...current, image: `nginx:1.${churns}` };
        const patch = { spec: { replicas: next.replicas, template: { spec: { containers: [{ name: 'web', image: next.image }] } } } };
        await must({ type: 'api.patch', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, name, patchType: 'strategic', patch } }, false);
        sink.desired[name] = next;
        sink.lastChangeMs = env.elapsedMs();
        env.log(`  churn ${name}: replicas ${next.replicas}, image ${next.image}`);
      };
      return {
        actors: [APISERVER, ...sink.schedulers, ...sink.controllerManagers, ...sink.nodes.flatMap((n) => [n.kubelet, n.kubeProxy, ...Object.values(n.runtimes)]), WATCHER, SLEEPER],
        start(ctx) {
          const sampleEveryMs = spec.sampleEveryMs ?? 250;
          for (let t = 0; t < ctx.untilMs; t += sampleEveryMs) ctx.env.schedule(t, 'sample deployments', sample);
          const everyMs = spec.churnEveryMs ?? 1_000;
          const churnUntilMs = Math.min(spec.churnUntilMs ?? ctx.untilMs, ctx.untilMs);
          if (everyMs > 0) for (let t = everyMs; t < churnUntilMs; t += everyMs) ctx.env.schedule(t, 'churn deployments', churn);
          return {
            actors: [],
            async finish() {
              const deadlineMs = env.elapsedMs() + (spec.convergeMs ?? 60_000);
              for (;;) {
                const pods = await env.settle(listPods());
                if (pods !== undefined) {
                  const deployments = countPods(pods, sink.desired, sink.crashedNodes);
                  const converged = sampleConverged(deployments);
                  sink.final = { converged, atMs: env.elapsedMs(), deployments };
                  if (converged) break;
                }
                if (env.elapsedMs() >= deadlineMs) break;
                await env.settle(env.system.ref(SLEEPER).ask({ type: 'sleep', body: { ms: CONVERGE_POLL_MS } }, { timeoutMs: CONVERGE_POLL_MS + 10_000 }));
              }
              const raw = await env.settle(env.system.ref(WATCHER).ask<Array<Omit<PodBinding, 'tMs'> & { atMs: number }>>({ type: 'podwatch.take', body: null }, { timeoutMs: 10_000 }));
              sink.bindings = raw.map(({ atMs, ...b }) => ({ tMs: atMs - env.originMs, ...b }));
              return {};
            },
          };
        },
      };
    },
  };
}

// ------------------------------------------------------------ checks (pure judges, then plugins)

/** When the last fault ended (ms from the origin); 0 without faults. */
export function lastFaultEndMs(figures: RunData['figures']): number {
  return figures.reduce((m, f) => Math.max(m, f.healedAtMs ?? f.atMs), 0);
}

/**
 * The first moment from which every Deployment stayed converged (desired
 * replicas Running, all on the current image) through the final
 * observation, or undefined when the final observation is not converged.
 */
export function convergedSinceMs(sink: Pick<KubeSink, 'samples' | 'final'>): number | undefined {
  if (sink.final === undefined || !sink.final.converged) return undefined;
  let since = sink.final.atMs;
  for (let i = sink.samples.length - 1; i >= 0; i--) {
    const d = sink.samples[i]!.deployments;
    if (d === undefined) continue;
    if (!sampleConverged(d)) break;
    since = sink.samples[i]!.tMs;
  }
  return since;
}

export function judgeConverges(sink: Pick<KubeSink, 'samples' | 'final' | 'lastChangeMs'>, lastFaultMs: number, maxMs: number): CheckResult {
  const since = convergedSinceMs(sink);
  const from = lastFaultMs;
  if (sink.final === undefined) return { name: 'converges', verdict: 'unknown', summary: 'no final observation of the Deployments' };
  if (since === undefined) {
    const off = Object.entries(sink.final.deployments).filter(([, s]) => s.running !== s.desired || s.runningCurrent !== s.desired);
    return { name: 'converges', verdict: 'fail', summary: `not converged at ${Math.round(sink.final.atMs)} ms: ${off.slice(0, 5).map(([n, s]) => `${n} ${s.runningCurrent}/${s.running} running (current/all) of ${s.desired}`).join(', ')}`, details: sink.final };
  }
  const afterMs = Math.max(0, since - from);
  const ok = afterMs <= maxMs;
  return {
    name: 'converges',
    verdict: ok ? 'pass' : 'fail',
    summary: `${Object.keys(sink.final.deployments).length} Deployments converged ${Math.round(afterMs)} ms after the last fault${sink.lastChangeMs > 0 ? ` (${Math.round(Math.max(0, since - sink.lastChangeMs))} ms after the last churn write)` : ''}${ok ? '' : `, more than ${maxMs} ms`}`,
    details: { convergedSinceMs: since, lastFaultMs, lastChangeMs: sink.lastChangeMs },
  };
}

export function judgeNoDoubleBind(bindings: PodBinding[]): CheckResult {
  const nodesByUid = new Map<string, Set<string>>();
  const podByUid = new Map<string, string>();
  for (const b of bindings) {
    nodesByUid.set(b.uid, (nodesByUid.get(b.uid) ?? new Set()).add(b.node));
    podByUid.set(b.uid, b.pod);
  }
  const doubles = [...nodesByUid].filter(([, nodes]) => nodes.size > 1);
  if (bindings.length === 0) return { name: 'no-double-bind', verdict: 'unknown', summary: 'no pod binding was watched' };
  return {
    name: 'no-double-bind',
    verdict: doubles.length === 0 ? 'pass' : 'fail',
    summary: doubles.length === 0
      ? `${nodesByUid.size} pods bound, each to one node`
      : `${doubles.length} pods bound to more than one node: ${doubles.slice(0, 5).map(([uid, n]) => `${podByUid.get(uid)} (${uid}) on ${[...n].join(', ')}`).join('; ')}`,
  };
}

export function judgeSingleActiveScheduler(samples: KubeSample[]): CheckResult {
  const answered = samples.filter((s) => s.schedulerLeaders.length > 0);
  const many = samples.filter((s) => s.schedulerLeaders.length > 1);
  if (samples.length === 0) return { name: 'single-active-scheduler', verdict: 'unknown', summary: 'no samples' };
  return {
    name: 'single-active-scheduler',
    verdict: many.length === 0 ? 'pass' : 'fail',
    summary: many.length === 0
      ? `${samples.length} samples, never two schedulers leading (${samples.length - answered.length} with none)`
      : `${many.length} samples with several leaders, first at ${Math.round(many[0]!.tMs)} ms: ${many[0]!.schedulerLeaders.join(', ')}`,
  };
}

const notRun = (name: string): CheckResult => ({ name, verdict: 'unknown', summary: 'the deployments workload did not run: add `workload: { deployments: {} }` to the scenario' });

export function kubeChecks(): CheckPlugin[] {
  const sinkOf = (data: RunData): KubeSink | undefined => {
    const sink = kubeSink(data.state);
    return sink.schedulers.length === 0 ? undefined : sink;
  };
  return [
    {
      name: 'converges',
      description: 'every Deployment has its desired replicas Running (on its current image) within maxMs after the last fault ended, and stays so',
      schema: { properties: { maxMs: { type: 'number', minimum: 0, description: 'default 30000' } } },
      run: async (data, params) => {
        const sink = sinkOf(data);
        return sink === undefined ? notRun('converges') : judgeConverges(sink, lastFaultEndMs(data.figures), (params.maxMs as number | undefined) ?? 30_000);
      },
    },
    {
      name: 'no-double-bind',
      description: 'no pod (by uid) was ever seen bound to two nodes, from the pods watch',
      schema: { properties: {} },
      run: async (data) => {
        const sink = sinkOf(data);
        return sink === undefined ? notRun('no-double-bind') : judgeNoDoubleBind(sink.bindings);
      },
    },
    {
      name: 'single-active-scheduler',
      description: 'at no sample did more than one scheduler report itself leader',
      schema: { properties: {} },
      run: async (data) => {
        const sink = sinkOf(data);
        return sink === undefined ? notRun('single-active-scheduler') : judgeSingleActiveScheduler(sink.samples);
      },
    },
  ];
}

/** Add the Kubernetes plugins to an engine registry. */
export function registerKubernetesPlugins(registry: {
  registerWorkload<S>(plugin: WorkloadPlugin<S>): void;
  registerNemesis(plugin: NemesisPlugin): void;
  registerCheck(plugin: CheckPlugin): void;
}): void {
  registry.registerWorkload(deploymentsWorkload());
  for (const n of kubeNemeses()) registry.registerNemesis(n);
  for (const c of kubeChecks()) registry.registerCheck(c);
}
