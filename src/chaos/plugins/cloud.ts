/**
 * The cloud's chaos plugins for the chaos engine (src/chaos/engine):
 *
 * - nemeses that act on the cloud actor through `cloud.fault` / `cloud.heal`:
 *   an API outage, throttling, an error rate, a terminated instance (which
 *   also stops the node's actors listed on the instance: the machine is
 *   gone), a lost zone;
 * - a workload, `cloud`, that brings up the API server over the run's store,
 *   the cloud, the cloud-controller-manager and nodes with instances, then
 *   creates LoadBalancer Services during the run, and after it waits for the
 *   cluster to converge and observes it;
 * - checks over that observation: one load balancer per Service, never a
 *   duplicate creation, terminated instances' Nodes deleted in time.
 *
 * The nemeses, the workload and the checks of one run share a CloudSink kept
 * in the run's RunState (`cloudSink(state)`): the engine makes a fresh one
 * per run, so runs never share observations. `registerCloudPlugins(registry)`
 * adds them all (the default registry does). The chaos engine imports the
 * cloud, never the reverse; only types come from the engine here (the
 * registry imports this module).
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import type { Message } from '../../actor/protocol.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiReply, ApiServerMsg } from '../../api/protocol.js';
import type { List, Node, Service } from '../../api/types/index.js';
import type { CheckPlugin, CheckResult, ChaosEnv, FaultSpec, Injection, NemesisPlugin, RunData, RunState, WorkloadPlugin } from '../engine/types.js';
import { LB_CLEANUP_FINALIZER, UNINITIALIZED_TAINT_KEY, loadBalancerName, targetInstanceIds } from '../../cloud/ccm/desired.js';
import { CLOUD_NAME, type CloudMsg } from '../../cloud/provider/protocol.js';
import type { CloudFault, CloudHeal, CloudSnapshot, FaultOutcome, Instance } from '../../cloud/provider/types.js';
import { ACTORS_TAG, spawnCloudComponents } from '../../cloud/setup.js';
import { apiServerKv } from '../engine/store-kv.js';

// ------------------------------------------------------------ nemeses

// Nemeses run inside the engine's loop, which already drives the simulation: they await plain promises, never env.settle.
async function fault(env: ChaosEnv, f: CloudFault): Promise<FaultOutcome> {
  return env.system.ref<CloudMsg>(CLOUD_NAME).ask<FaultOutcome>({ type: 'cloud.fault', body: f }, { timeoutMs: 10_000 });
}

async function heal(env: ChaosEnv, h: CloudHeal): Promise<void> {
  await env.system.ref<CloudMsg>(CLOUD_NAME).ask<FaultOutcome>({ type: 'cloud.heal', body: h }, { timeoutMs: 10_000 });
}

const lasting = (kind: 'api-outage' | 'throttle' | 'error-rate' | 'zone-outage', make: (p: FaultSpec) => CloudFault, zone?: (o: FaultOutcome) => string | undefined) =>
  async (env: ChaosEnv, p: FaultSpec): Promise<Injection> => {
    const outcome = await fault(env, make(p));
    const healZone = zone?.(outcome);
    return { nodes: [CLOUD_NAME, ...outcome.instances.map((i) => i.name)], description: outcome.description, heal: () => heal(env, { kind, ...(healZone !== undefined ? { zone: healZone } : {}) }) };
  };

/** The machine is gone: its node's actors (kubelet, kube-proxy, runtime) stop for good with it. */
async function stopNodeActors(env: ChaosEnv, instances: Instance[]): Promise<string[]> {
  const stopped: string[] = [];
  for (const instance of instances) {
    for (const name of (instance.tags[ACTORS_TAG] ?? '').split(',').filter((n) => n !== '')) {
      if (env.system.lookup(name) === undefined) continue;
      await env.system.stop(name);
      stopped.push(name);
    }
  }
  return stopped;
}

const instanceSchema = {
  properties: {
    name: { type: 'string', minLength: 1, description: 'the instance (node) name; default: a random running instance' },
  },
};

export function cloudNemeses(): NemesisPlugin[] {
  return [
  {
    name: 'cloud-api-outage',
    description: 'the cloud API answers every call with 503 Unavailable for durationMs',
    schema: { properties: {} },
    needsDuration: true,
    inject: lasting('api-outage', () => ({ kind: 'api-outage' })),
  },
  {
    name: 'cloud-throttle',
    description: 'the cloud API allows qps requests a second (burst saved up); beyond it 429 Throttled, for durationMs',
    schema: { properties: { qps: { type: 'number', exclusiveMinimum: 0, description: 'requests a second (default 2)' }, burst: { type: 'integer', minimum: 1, description: 'tokens saved up (default 2)' } } },
    needsDuration: true,
    inject: lasting('throttle', (p) => ({ kind: 'throttle', qps: (p.qps as number | undefined) ?? 2, burst: (p.burst as number | undefined) ?? 2 })),
  },
  {
    name: 'cloud-error-rate',
    description: 'a share of cloud calls fail (500, nothing applied) and a share are applied then answered 504 Timeout, for durationMs',
    schema: {
      properties: {
        errorRate: { type: 'number', minimum: 0, maximum: 1, description: 'share of calls failing without effect (default 0.2)' },
        ambiguousRate: { type: 'number', minimum: 0, maximum: 1, description: 'share applied and answered 504 (default 0.2)' },
      },
    },
    needsDuration: true,
    inject: lasting('error-rate', (p) => ({ kind: 'error-rate', errorRate: (p.errorRate as number | undefined) ?? 0.2, ambiguousRate: (p.ambiguousRate as number | undefined) ?? 0.2 })),
  },
  {
    name: 'cloud-zone-outage',
    description: 'a zone is lost for durationMs: its instances stop and requests about it fail',
    schema: { properties: { zone: { type: 'string', minLength: 1, description: 'default: a random zone' } } },
    needsDuration: true,
    inject: lasting('zone-outage', (p) => ({ kind: 'zone-outage', ...(typeof p.zone === 'string' ? { zone: p.zone } : {}) }), (o) => o.instances[0]?.zone ?? /zone (\S+) lost/.exec(o.description)?.[1]),
  },
  {
    name: 'cloud-terminate-instance',
    description: 'an instance is terminated for good, and the actors of its node stop with it',
    schema: instanceSchema,
    needsDuration: false,
    async inject(env, p) {
      const pinned = Array.isArray(p.nodes) && typeof p.nodes[0] === 'string' ? (p.nodes[0] as string) : undefined;
      const name = pinned ?? (typeof p.name === 'string' ? p.name : undefined);
      const outcome = await fault(env, { kind: 'terminate-instance', ...(name !== undefined ? { name } : {}) });
      const sink = cloudSink(env.state);
      for (const i of outcome.instances) sink.terminatedAtMs[i.name] ??= env.elapsedMs();
      const stopped = await stopNodeActors(env, outcome.instances);
      const names = outcome.instances.map((i) => i.name);
      return { nodes: names, description: `${outcome.description}${stopped.length > 0 ? `; stopped ${stopped.join(', ')}` : ''}` };
    },
  },
  ];
}

// ------------------------------------------------------------ workload

export interface CloudWorkloadSpec {
  /** Nodes created (each with an instance). Default 3. */
  nodes?: number;
  /** LoadBalancer Services created during the run, one every `everyMs` from the start. Default 6 every 1,000 ms. */
  services?: number;
  everyMs?: number;
  /** After the schedule, how long the cluster may take to converge before it is observed. Default 60,000 ms. */
  convergeMs?: number;
  /** Test only: the service controller without idempotent creation (to show the duplicate check bites). */
  unsafeNonIdempotentCreate?: boolean;
}

/** What the workload saw at the end, for the cloud checks. */
export interface CloudObservation {
  snapshot: CloudSnapshot;
  services: Service[];
  nodes: Node[];
  /** Names of the Services the workload created. */
  created: string[];
  /** When (ms from the origin) each terminated instance's Node was last seen, by node name; absent: never deleted. */
  nodeDeletedAtMs: Record<string, number>;
  terminatedAtMs: Record<string, number>;
  converged: boolean;
  convergedAtMs: number;
}

/** Shared by one run's cloud plugins: the nemeses record terminations, the workload what it saw. */
export interface CloudSink {
  last?: CloudObservation;
  /** Node name → ms from the origin when its instance was terminated. */
  terminatedAtMs: Record<string, number>;
}

/** The run's CloudSink (made empty the first time the run asks). */
export function cloudSink(state: RunState): CloudSink {
  return state.get<CloudSink>('cloud', () => ({ terminatedAtMs: {} }));
}

type SleeperMsg = Message<'sleep', { ms: number }> | Message<'wake', { seq: number }>;

/** Lets host code wait on the system's clock (virtual or real) in both runtimes. */
export const cloudSleeper = defineBehaviour<SleeperMsg>(import.meta.url, 'cloud-chaos-sleeper', (ctx) => {
  const waiting = new Map<number, () => void>();
  let seq = 0;
  return {
    receive(msg) {
      switch (msg.type) {
        case 'sleep': {
          const n = ++seq;
          return new Promise<void>((resolve) => {
            waiting.set(n, resolve);
            ctx.timer(`sleep/${n}`, msg.body.ms, { type: 'wake', body: { seq: n } });
          });
        }
        case 'wake':
          waiting.get(msg.body.seq)?.();
          waiting.delete(msg.body.seq);
          return undefined;
        default:
          return unhandled;
      }
    },
  };
});

const SLEEPER = 'cloud-chaos-sleeper';
const CONVERGE_POLL_MS = 250;
/** How often the workload looks for the Nodes of terminated instances during the run (the resolution of the deletion latency). */
const NODE_POLL_MS = 250;
/** Virtual-time timings of the cloud-controller-manager in chaos runs: Kubernetes' ratios, scaled to keep runs short. */
const CHAOS_CCM_TIMINGS = {
  leaderElection: { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 },
  nodeMonitorPeriodMs: 500,
  routeReconcilePeriodMs: 1_000,
  resyncPeriodMs: 5_000,
  retry: { baseMs: 200, maxMs: 3_200 },
  cloudCallTimeoutMs: 2_000,
};

function cloudWorkload(): WorkloadPlugin<CloudWorkloadSpec> {
  return {
    name: 'cloud',
    description: 'API server over the store, the simulated cloud, the cloud-controller-manager and nodes with instances; LoadBalancer Services created during the run; the cluster observed once it converges',
    schema: {
      type: 'object',
      additionalProperties: false,
      description: 'a cluster with the simulated cloud and LoadBalancer Services (see docs/cloud.md)',
      properties: {
        nodes: { type: 'integer', minimum: 1, maximum: 100, description: 'nodes with instances (default 3)' },
        services: { type: 'integer', minimum: 0, maximum: 200, description: 'LoadBalancer Services created during the run (default 6)' },
        everyMs: { type: 'number', minimum: 0, description: 'one Service every this many ms from the start (default 1000)' },
        convergeMs: { type: 'number', minimum: 0, description: 'after the schedule, how long the cluster may take to converge (default 60000)' },
        unsafeNonIdempotentCreate: { type: 'boolean', description: 'test only: a naive service controller that creates duplicates' },
      },
    },
    async prepare(env, spec) {
      const sink = cloudSink(env.state);
      const nodeNames = Array.from({ length: spec.nodes ?? 3 }, (_, i) => `node-${i}`);
      await env.system.spawn(apiServer, { name: 'apiserver', args: { kv: apiServerKv(env), http: false } });
      await env.system.spawn(cloudSleeper, { name: SLEEPER });
      await env.settle(spawnCloudComponents(env.system, {
        cloud: { config: { latency: { minMs: 20, maxMs: 120 } } },
        ccm: { ...CHAOS_CCM_TIMINGS, ...(spec.unsafeNonIdempotentCreate === true ? { unsafeNonIdempotentCreate: true } : {}) },
        nodes: nodeNames.map((name) => ({ name })),
      }));
      const api = env.system.ref<ApiServerMsg>('apiserver');
      /** `driving`: the caller is outside the engine's loop (prepare, finish) and must run the simulation itself. */
      const must = async <T>(msg: ApiServerMsg, driving = true): Promise<T> => {
        const settle = <R>(p: Promise<R>): Promise<R> => (driving ? env.settle(p) : p);
        for (let attempt = 0; ; attempt++) {
          const reply = await settle(api.ask<ApiReply<T>>(msg, { timeoutMs: 10_000 }).catch((error: Error) => ({ ok: false as const, status: { code: 503, message: error.message } as never })));
          if (reply.ok) return reply.body;
          // The store may be electing a leader (a scenario may also kill etcd): retry a few times.
          if (attempt >= 20) throw new Error(`${msg.type}: ${(reply.status as { message?: string }).message}`);
          await settle(env.system.ref<SleeperMsg>(SLEEPER).ask({ type: 'sleep', body: { ms: 200 } }, { timeoutMs: 10_000 }));
        }
      };
      for (const name of nodeNames) {
        await must({ type: 'api.create', body: { group: '', version: 'v1', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { taints: [{ key: UNINITIALIZED_TAINT_KEY, value: 'true', effect: 'NoSchedule' }] } } } });
      }
      const created: string[] = [];
      const nodeDeletedAtMs: Record<string, number> = {};
      /** The first time a terminated instance's Node is seen gone (polled every NODE_POLL_MS during the run). */
      const noteDeletions = (nodes: Node[]): void => {
        for (const name of Object.keys(sink.terminatedAtMs)) {
          if (nodeDeletedAtMs[name] === undefined && !nodes.some((n) => n.metadata.name === name)) nodeDeletedAtMs[name] = env.elapsedMs();
        }
      };
      const pollNodes = async (): Promise<void> => {
        if (Object.keys(sink.terminatedAtMs).length === 0) return;
        const reply = await api.ask<ApiReply<List<Node>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'nodes' } }, { timeoutMs: 2_000 }).catch(() => undefined);
        if (reply?.ok) noteDeletions(reply.body.items);
      };
      return {
        actors: ['apiserver', CLOUD_NAME, 'cloud-controller-manager', SLEEPER],
        start(ctx) {
          for (let t = NODE_POLL_MS; t < ctx.untilMs; t += NODE_POLL_MS) ctx.env.schedule(t, 'observe nodes', pollNodes);
          const count = spec.services ?? 6;
          const everyMs = spec.everyMs ?? 1_000;
          for (let i = 0; i < count; i++) {
            const name = `lb-${i}`;
            ctx.env.schedule(i * everyMs, `create service ${name}`, async () => {
              await must({ type: 'api.create', body: { group: '', version: 'v1', resource: 'services', namespace: 'default', object: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } } } }, false);
              created.push(name);
            });
          }
          return {
            actors: [],
            async finish() {
              const deadlineMs = env.elapsedMs() + (spec.convergeMs ?? 60_000);
              let observation: CloudObservation | undefined;
              for (;;) {
                const snapshot = await env.settle(env.system.ref<CloudMsg>(CLOUD_NAME).ask<CloudSnapshot>({ type: 'cloud.snapshot', body: null }, { timeoutMs: 10_000 }));
                const services = (await must<List<Service>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'services', namespace: 'default' } })).items;
                const nodes = (await must<List<Node>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'nodes' } })).items;
                noteDeletions(nodes);
                const converged = isConverged(snapshot, services, nodes, created);
                observation = { snapshot, services, nodes, created: [...created], nodeDeletedAtMs: { ...nodeDeletedAtMs }, terminatedAtMs: { ...sink.terminatedAtMs }, converged, convergedAtMs: env.elapsedMs() };
                if (converged || env.elapsedMs() >= deadlineMs) break;
                await sleep(env, CONVERGE_POLL_MS);
              }
              sink.last = observation;
              return {};
            },
          };
        },
      };
    },
  };
}

async function sleep(env: ChaosEnv, ms: number): Promise<void> {
  await env.settle(env.system.ref<SleeperMsg>(SLEEPER).ask({ type: 'sleep', body: { ms } }, { timeoutMs: ms + 10_000 }));
}

const ingressIp = (s: Service) => s.status?.loadBalancer?.ingress?.[0]?.ip;

function isConverged(snapshot: CloudSnapshot, services: Service[], nodes: Node[], created: string[]): boolean {
  const lbServices = services.filter((s) => s.spec?.type === 'LoadBalancer');
  if (lbServices.length < created.length) return false;
  if (!lbServices.every((s) => ingressIp(s) !== undefined)) return false;
  if (snapshot.loadBalancers.length !== lbServices.length) return false;
  const liveInstanceNames = new Set(snapshot.instances.filter((i) => i.state !== 'terminated').map((i) => i.name));
  if (!nodes.every((n) => liveInstanceNames.has(n.metadata.name!))) return false;
  const targets = targetInstanceIds(nodes).join();
  return snapshot.loadBalancers.every((lb) => lb.targets.join() === targets);
}

// ------------------------------------------------------------ checks

function checkOneLoadBalancerPerService(o: CloudObservation): CheckResult {
  const problems: string[] = [];
  const lbServices = o.services.filter((s) => s.spec?.type === 'LoadBalancer' && s.metadata.deletionTimestamp === undefined);
  for (const name of o.created) if (!lbServices.some((s) => s.metadata.name === name)) problems.push(`${name}: the Service is missing`);
  const names = new Set<string>();
  for (const s of lbServices) {
    const lbName = loadBalancerName(s);
    names.add(lbName);
    const live = o.snapshot.loadBalancers.filter((lb) => lb.name === lbName);
    if (live.length !== 1) problems.push(`${s.metadata.name}: ${live.length} load balancers`);
    else if (ingressIp(s) !== live[0]!.address) problems.push(`${s.metadata.name}: ingress ${ingressIp(s) ?? 'unset'} is not its load balancer's address ${live[0]!.address}`);
    if (!(s.metadata.finalizers ?? []).includes(LB_CLEANUP_FINALIZER)) problems.push(`${s.metadata.name}: no cleanup finalizer`);
  }
  const targets = targetInstanceIds(o.nodes).join();
  for (const lb of o.snapshot.loadBalancers) {
    if (!names.has(lb.name)) problems.push(`load balancer ${lb.id} (${lb.name}) belongs to no Service: leaked`);
    if (lb.targets.join() !== targets) problems.push(`load balancer ${lb.id} targets [${lb.targets.join(', ')}], the nodes are [${targets}]`);
  }
  return {
    name: 'cloud-one-lb-per-service',
    verdict: problems.length === 0 ? 'pass' : 'fail',
    summary: problems.length === 0 ? `${lbServices.length} LoadBalancer Services, each with exactly one load balancer and its ingress${o.converged ? '' : ' (not converged)'}` : problems.slice(0, 5).join('; '),
    details: { problems, converged: o.converged },
  };
}

function checkNoDuplicateCreations(o: CloudObservation): CheckResult {
  const counts = new Map<string, number>();
  for (const c of o.snapshot.creations) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1);
  return {
    name: 'cloud-no-duplicate-lb',
    verdict: duplicated.length === 0 ? 'pass' : 'fail',
    summary: duplicated.length === 0
      ? `${counts.size} load balancers, each created once (${o.snapshot.stats.appliedButTimedOut} cloud calls were applied but answered 504)`
      : `${duplicated.length} load balancers created more than once: ${duplicated.slice(0, 5).map(([n, k]) => `${n} x${k}`).join(', ')}`,
    details: { creations: Object.fromEntries(counts) },
  };
}

function checkTerminatedNodesDeleted(o: CloudObservation, maxMs: number): CheckResult {
  const late: string[] = [];
  for (const [name, atMs] of Object.entries(o.terminatedAtMs)) {
    const deletedAtMs = o.nodeDeletedAtMs[name];
    if (deletedAtMs === undefined) late.push(`${name}: its Node was never deleted`);
    else if (deletedAtMs - atMs > maxMs) late.push(`${name}: deleted ${Math.round(deletedAtMs - atMs)} ms after its instance`);
  }
  const terminated = Object.keys(o.terminatedAtMs).length;
  return {
    name: 'cloud-terminated-nodes-deleted',
    verdict: late.length > 0 ? 'fail' : terminated === 0 ? 'unknown' : 'pass',
    summary: late.length > 0 ? late.join('; ') : terminated === 0 ? 'no instance was terminated: nothing to check' : `${terminated} terminated instances, each Node deleted`,
  };
}

function cloudChecks(): CheckPlugin[] {
  const observed = (state: RunState, name: string): CloudObservation | CheckResult => cloudSink(state).last ?? { name, verdict: 'unknown', summary: 'the cloud workload did not run: add `workload: { cloud: {} }` to the scenario' };
  const run = (name: string, f: (o: CloudObservation) => CheckResult) => async (data: RunData): Promise<CheckResult> => {
    const o = observed(data.state, name);
    return 'snapshot' in o ? f(o) : o;
  };
  return [
    { name: 'cloud-one-lb-per-service', description: 'every LoadBalancer Service has exactly one load balancer, its ingress and the cleanup finalizer; no load balancer without a Service', schema: { properties: {} }, run: run('cloud-one-lb-per-service', checkOneLoadBalancerPerService) },
    { name: 'cloud-no-duplicate-lb', description: 'no load balancer name was ever created twice (idempotent creation across retries)', schema: { properties: {} }, run: run('cloud-no-duplicate-lb', checkNoDuplicateCreations) },
    {
      name: 'cloud-terminated-nodes-deleted',
      description: 'the Node of every terminated instance is deleted within maxMs',
      schema: { properties: { maxMs: { type: 'number', minimum: 0, description: 'default 30000' } } },
      run: async (data, params) => {
        const o = observed(data.state, 'cloud-terminated-nodes-deleted');
        return 'snapshot' in o ? checkTerminatedNodesDeleted(o, (params.maxMs as number | undefined) ?? 30_000) : o;
      },
    },
  ];
}

/** The cloud's nemeses, its workload and its checks; they share state only through the run's RunState. */
export function cloudPlugins(): { nemeses: NemesisPlugin[]; workload: WorkloadPlugin<CloudWorkloadSpec>; checks: CheckPlugin[] } {
  return { nemeses: cloudNemeses(), workload: cloudWorkload(), checks: cloudChecks() };
}

/** Add the cloud's plugins to an engine registry (structurally typed, so this module needs only the engine's types). */
export function registerCloudPlugins(registry: {
  registerWorkload<S>(plugin: WorkloadPlugin<S>): void;
  registerNemesis(plugin: NemesisPlugin): void;
  registerCheck(plugin: CheckPlugin): void;
}): void {
  const plugins = cloudPlugins();
  registry.registerWorkload(plugins.workload);
  for (const n of plugins.nemeses) registry.registerNemesis(n);
  for (const c of plugins.checks) registry.registerCheck(c);
}
