/**
 * The `deployments` workload: brings up the control plane over the run's
 * store (API server, two schedulers, two controller-managers, sim nodes),
 * creates Deployments of the sim image `nginx` and churns them (scale, image
 * update, and a short-lived Deployment created and deleted, whose pods the
 * garbage collector must remove). It samples desired vs Running pods per Deployment and which
 * scheduler / controller-manager says it leads, records its API calls (for
 * the API latency SLO and the API unavailability figure), and starts the
 * observers (src/chaos/plugins/kubernetes/observers.ts) whose records the
 * checks judge.
 */
import type { ApiReply, ApiServerMsg } from '../../../api/protocol.js';
import { apiServer } from '../../../api/behaviour.js';
import type { Deployment, List, Pod } from '../../../api/types/index.js';
import type { LeaderActivity } from '../../../client/leader-activity.js';
import { NODES_MAX, timingFor, type TimeProfile } from '../../../cluster/spec.js';
import type { SchedulerComponentStatus } from '../../../scheduler/component.js';
import type { ControllerManagerStatus } from '../../../controllers/behaviour.js';
import { spawnSchedulers } from '../../../../actors/scheduler.js';
import { spawnControllerManagers } from '../../../../actors/controller-manager.js';
import { spawnNode } from '../../../../actors/node.js';
import type { ClusterSample, RequestRecord, WorkloadPlugin } from '../../engine/types.js';
import { cloudSleeper } from '../cloud.js';
import { Prng, deriveSeed } from '../../../actor/prng.js';
import { round3 } from '../../engine/figures.js';
import { leaderRecorder, podObserver, type PodObservation } from './observers.js';
import { APISERVER, NAMESPACE, countPods, kubeSink, sampleConverged, type DeploymentSample, type KubeSample } from './sink.js';
import { apiServerKv } from '../../engine/store-kv.js';

/** A sample as the report plots it: pods summed over the Deployments, one leader each (the first, if several said so). */
function clusterSample(s: KubeSample): ClusterSample {
  const d = s.deployments === undefined ? undefined : Object.values(s.deployments);
  const sum = (f: (x: DeploymentSample) => number): number => d!.reduce((n, x) => n + f(x), 0);
  return {
    tMs: s.tMs,
    ...(d !== undefined ? { desired: sum((x) => x.desired), running: sum((x) => x.running), runningCurrent: sum((x) => x.runningCurrent) } : {}),
    schedulerLeader: s.schedulerLeaders[0] ?? null,
    controllerManagerLeader: s.controllerManagerLeaders[0] ?? null,
  };
}

export interface DeploymentsSpec {
  /** Worker nodes (sim runtime). Default 3. */
  nodes?: number;
  /** Deployments created before the origin. Default 3. */
  deployments?: number;
  /** Initial replicas of each. Default 2. */
  replicas?: number;
  /** Scaling draws replicas in [1, maxReplicas]. Default 4. */
  maxReplicas?: number;
  /** One churn write every this many ms: scale, image update, scale, then the create (or delete) of a short-lived Deployment, in turn. Default 1000; 0: no churn. */
  churnEveryMs?: number;
  /** No churn after this many ms from the origin. Default: the run's end. */
  churnUntilMs?: number;
  /** Sampling period of desired vs Running pods (from the pod observer's watch) and of the leaders. Default 250. */
  sampleEveryMs?: number;
  /** A LIST of every pod, the API SLO's list class, at most this often (with a sample). Default 5000. */
  listEveryMs?: number;
  /** After the run, how long the Deployments may take to converge before they are observed. Default 60000. */
  convergeMs?: number;
  /** The node lifecycle's pod eviction timeout (the fast profile's is 30000; Kubernetes' 300 s). Default 5000. */
  podEvictionTimeoutMs?: number;
  /** How long a node's Lease may go unrenewed before the node lifecycle marks it NotReady (Kubernetes' node-monitor-grace-period, 50 s; the fast profile's 5000). Default 5000. */
  nodeMonitorGraceMs?: number;
  /**
   * The time profile of every component (src/cluster/spec.ts): `fast` (default) divides Kubernetes' own periods by 10,
   * `realistic` keeps them (node leases renewed every 10 s, PLEG relist every 1 s, leader leases 15 / 10 / 2 s): the
   * setting for large clusters, whose background load then is Kubernetes' own.
   */
  profile?: TimeProfile;
  /** Lease timings of the schedulers and controller-managers (default: the profile's, Kubernetes' 15 / 10 / 2 s, divided by 10 under fast). */
  leaderElection?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /**
   * The kubelets' EventedPLEG feature gate (KEP-3386): container events from the runtime, a relist every 300 s (30 s
   * under fast) as the fallback instead of every 1 s (100 ms). Default false, Kubernetes' default.
   */
  eventedPleg?: boolean;
  /** false: every scheduler and controller-manager replica acts at once, as `--leader-elect=false` (a broken configuration, for showing that the single-active checks catch it). Default true. */
  leaderElect?: boolean;
}

const OBSERVER = 'k8s-chaos-pod-observer';
const RECORDER = 'k8s-chaos-leader-recorder';
const DRIVER = 'k8s-chaos-driver';
const CONVERGE_POLL_MS = 250;
/** Deployments per run: each is polled at every sample; more belongs in a benchmark. */
const DEPLOYMENTS_MAX = 50;
/** A LIST of every pod (the API SLO's list class) at most this often by default: at 10,000 pods each is 20 MB. */
const LIST_EVERY_MS_DEFAULT = 5_000;
/** The sampler's calls wait this long: a sample is due again soon. */
const SAMPLE_TIMEOUT_MS = 2_000;

function deploymentObject(name: string, replicas: number, image: string): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NAMESPACE },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } } },
  } as Deployment;
}

export { countPods } from './sink.js';

export function deploymentsWorkload(): WorkloadPlugin<DeploymentsSpec> {
  return {
    name: 'deployments',
    description: 'the control plane and sim nodes over the run\'s store; N Deployments (image nginx) churned by scaling and image updates, and a short-lived Deployment created and deleted in turn; samples desired vs Running pods and leaders, records its API calls, watches pods and the leaders\' activity',
    schema: {
      properties: {
        nodes: { type: 'integer', minimum: 1, maximum: NODES_MAX, description: `sim worker nodes (default 3, at most ${NODES_MAX})` },
        deployments: { type: 'integer', minimum: 1, maximum: DEPLOYMENTS_MAX, description: 'Deployments (default 3)' },
        replicas: { type: 'integer', minimum: 0, description: 'initial replicas each (default 2)' },
        maxReplicas: { type: 'integer', minimum: 1, description: 'scaling draws in [1, maxReplicas] (default 4)' },
        churnEveryMs: { type: 'number', minimum: 0, description: 'one churn write every this many ms: scale, image update, scale, create or delete a short-lived Deployment, in turn (default 1000; 0: none)' },
        churnUntilMs: { type: 'number', minimum: 0, description: 'no churn after this (default: the end of the run)' },
        sampleEveryMs: { type: 'number', minimum: 10, description: 'sampling period (default 250)' },
        listEveryMs: { type: 'number', minimum: 10, description: 'a LIST of every pod (the API SLO\'s list class) at most this often, with a sample (default 5000)' },
        convergeMs: { type: 'number', minimum: 0, description: 'after the run, how long to wait for convergence (default 60000)' },
        profile: { enum: ['fast', 'realistic'], description: 'time profile of every component: fast (default) divides Kubernetes\' periods by 10, realistic keeps them (for large clusters)' },
        podEvictionTimeoutMs: { type: 'number', minimum: 0, description: 'node lifecycle eviction timeout (default 5000)' },
        nodeMonitorGraceMs: { type: 'number', minimum: 1, description: 'node-monitor-grace-period: a node whose Lease is not renewed this long is NotReady (default 5000, the fast profile\'s)' },
        leaderElection: {
          type: 'object',
          additionalProperties: false,
          description: 'Lease timings of the schedulers and controller-managers (default: the fast profile\'s); leaseDurationMs must exceed renewDeadlineMs',
          properties: { leaseDurationMs: { type: 'number', minimum: 1 }, renewDeadlineMs: { type: 'number', minimum: 1 }, retryPeriodMs: { type: 'number', minimum: 1 } },
        },
        eventedPleg: { type: 'boolean', description: 'the kubelets\' EventedPLEG feature gate: container events from the runtime, the relist every 300 s (30 s under fast) only as a fallback (default false, as Kubernetes)' },
        leaderElect: { type: 'boolean', description: 'false: every replica acts at once, as --leader-elect=false (a broken configuration the single-active checks must catch); default true' },
      },
    },
    async prepare(env, spec) {
      const sink = kubeSink(env.state);
      const profile = timingFor(spec.profile ?? 'fast');
      const election = {
        leaseDurationMs: spec.leaderElection?.leaseDurationMs ?? profile.leaseDurationMs,
        renewDeadlineMs: spec.leaderElection?.renewDeadlineMs ?? profile.renewDeadlineMs,
        retryPeriodMs: spec.leaderElection?.retryPeriodMs ?? profile.retryPeriodMs,
      };
      const timing = { ...profile, ...election, podEvictionTimeoutMs: spec.podEvictionTimeoutMs ?? 5_000, nodeMonitorGraceMs: spec.nodeMonitorGraceMs ?? profile.nodeMonitorGraceMs };
      const leaderElect = spec.leaderElect !== false;
      await env.system.spawn(apiServer, { name: APISERVER, args: { kv: apiServerKv(env), http: false } });
      await env.system.spawn(cloudSleeper, { name: sink.sleeper });
      await env.system.spawn(leaderRecorder, { name: RECORDER, args: null });
      // Records batched per turn only where a kill cannot fall between a write and its record (leaderActivitySender).
      const recordBatched = env.sim !== undefined;
      sink.schedulers = await env.settle(spawnSchedulers(env.system, { ...election, leaderElect, recordTo: RECORDER, recordBatched }));
      sink.controllerManagers = (await env.settle(spawnControllerManagers(env.system, { timing, leaderElect, recordTo: RECORDER, recordBatched }))).map((r) => r.name);
      for (let index = 0; index < (spec.nodes ?? 3); index++) {
        sink.nodes.push(await env.settle(spawnNode(env.system, { index, runtime: 'sim', allowProcesses: false, timing, dataDir: undefined, ...(spec.eventedPleg === true ? { kubeletFeatureGates: { EventedPLEG: true } } : {}) })));
      }
      await env.system.spawn(podObserver, { name: OBSERVER, args: { apiserver: APISERVER } });
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      const requests: RequestRecord[] = [];
      let recording = false;
      /** One API call, recorded once the run has started (the SLO is about the run, not the set-up). */
      const call = async <T>(msg: ApiServerMsg, cls: 'mutating' | 'read' | 'list', timeoutMs: number): Promise<ApiReply<T>> => {
        const invokeMs = env.system.now();
        const reply = await api.ask<ApiReply<T>>(msg, { timeoutMs }).catch((error: Error) => ({ ok: false as const, status: { code: 503, reason: 'Unavailable', message: error.message } as never }));
        if (recording) {
          const resource = (msg.body as { resource?: string }).resource ?? '';
          const verb = msg.type.replace(/^api\./, '');
          requests.push({ kind: 'api', process: DRIVER, target: `${verb} ${resource}`, class: cls, invokeMs, completeMs: env.system.now(), ok: reply.ok, ...(reply.ok ? {} : { error: `${(reply.status as { code?: number }).code ?? ''} ${(reply.status as { message?: string }).message ?? ''}`.trim() }) });
        }
        return reply;
      };
      const must = async <T>(msg: ApiServerMsg, driving: boolean): Promise<T> => {
        const settle = <R>(p: Promise<R>): Promise<R> => (driving ? env.settle(p) : p);
        for (let attempt = 0; ; attempt++) {
          const reply = await settle(call<T>(msg, 'mutating', 10_000));
          if (reply.ok) return reply.body;
          // A retry of a create or delete whose first attempt did apply (its answer was lost) finds it done.
          const code = (reply.status as { code?: number }).code;
          if (attempt > 0 && ((msg.type === 'api.create' && code === 409) || (msg.type === 'api.delete' && code === 404))) return undefined as T;
          // The store may be electing a leader: retry a few times.
          if (attempt >= 20) throw new Error(`${msg.type}: ${(reply.status as { message?: string }).message}`);
          await settle(env.system.ref(sink.sleeper).ask({ type: 'sleep', body: { ms: 200 } }, { timeoutMs: 10_000 }));
        }
      };
      const names = Array.from({ length: spec.deployments ?? 3 }, (_, i) => `web-${i}`);
      for (const name of names) {
        const d = { replicas: spec.replicas ?? 2, image: 'nginx:1.0' };
        await must({ type: 'api.create', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, object: deploymentObject(name, d.replicas, d.image) } }, true);
        sink.desired[name] = d;
      }
      const listPods = async (): Promise<Pod[] | undefined> => {
        const reply = await call<List<Pod>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: NAMESPACE } }, 'list', SAMPLE_TIMEOUT_MS);
        return reply.ok ? reply.body.items : undefined;
      };
      let readIndex = 0;
      /** A single-object read per sample, round robin over the Deployments: the read class of the API SLO. */
      const getDeployment = (): Promise<unknown> =>
        call<Deployment>({ type: 'api.get', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, name: names[readIndex++ % names.length]! } }, 'read', SAMPLE_TIMEOUT_MS);
      let nextListMs = Number.NEGATIVE_INFINITY;
      /** Pods counted by the observer from its watch: a sample costs no LIST of every pod, and no copy of them. */
      const observedCounts = async (): Promise<Record<string, DeploymentSample> | undefined> =>
        env.system.ref(OBSERVER).ask<Record<string, DeploymentSample>>({ type: 'podwatch.count', body: { desired: sink.desired, crashedNodes: sink.crashedNodes } }, { timeoutMs: SAMPLE_TIMEOUT_MS }).catch(() => undefined);
      const sample = async (): Promise<void> => {
        const tMs = env.elapsedMs();
        // A LIST of every pod is the list class of the API SLO: one every listEveryMs, not one a sample.
        const listDue = tMs >= nextListMs;
        if (listDue) nextListMs = tMs + (spec.listEveryMs ?? LIST_EVERY_MS_DEFAULT);
        const [counts, sched, cms] = await Promise.all([
          observedCounts(),
          Promise.all(sink.schedulers.map((n) => env.system.ref(n).ask<SchedulerComponentStatus>({ type: 'scheduler.status', body: null }, { timeoutMs: 1_000 }).catch(() => undefined))),
          Promise.all(sink.controllerManagers.map((n) => env.system.ref(n).ask<ControllerManagerStatus>({ type: 'cm.status', body: { writes: false } }, { timeoutMs: 1_000 }).catch(() => undefined))),
          getDeployment(),
          listDue ? listPods() : undefined,
        ]);
        sink.samples.push({
          tMs,
          ...(counts !== undefined ? { deployments: counts } : {}),
          schedulerLeaders: sched.flatMap((s, i) => (s?.leader === true ? [sink.schedulers[i]!] : [])),
          controllerManagerLeaders: cms.flatMap((s, i) => (s?.leading === true ? [sink.controllerManagers[i]!] : [])),
        });
      };
      /** The watch may be behind (or ended and resuming): convergence is confirmed by a LIST, the store's word. */
      const listConfirms = async (): Promise<boolean> => {
        const pods = await listPods();
        return pods !== undefined && sampleConverged(countPods(pods, sink.desired, sink.crashedNodes));
      };
      const prng = new Prng(deriveSeed(env.seed, 'k8s-churn'));
      const random = (): number => prng.next();
      let churns = 0;
      let temporary: string | undefined;
      /** Every fourth churn write creates a short-lived Deployment, or deletes the one that lives: its pods must go (garbage collection). */
      const lifecycle = async (): Promise<void> => {
        if (temporary === undefined) {
          const name = `temp-${churns}`;
          const d = { replicas: 1 + Math.floor(random() * (spec.maxReplicas ?? 4)), image: 'nginx:1.0' };
          await must({ type: 'api.create', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, object: deploymentObject(name, d.replicas, d.image) } }, false);
          sink.desired[name] = d;
          temporary = name;
          env.log(`  churn: created ${name} with ${d.replicas} replicas`);
        } else {
          const name = temporary;
          // Background, kubectl's default: the garbage collector deletes its ReplicaSets, then their pods.
          await must({ type: 'api.delete', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, name, options: { propagationPolicy: 'Background' } } }, false);
          sink.desired[name] = { ...sink.desired[name]!, replicas: 0 };
          temporary = undefined;
          env.log(`  churn: deleted ${name}; its pods must go`);
        }
        sink.lastChangeMs = env.elapsedMs();
      };
      let churnFailed = false;
      /** What the Deployments ask for, from the API (only after a churn write of unknown outcome: otherwise the record is the truth, and a lost write must show). */
      const rereadDesired = async (): Promise<void> => {
        for (const name of Object.keys(sink.desired)) {
          for (let attempt = 0; attempt < 20; attempt++) {
            const reply = await call<Deployment>({ type: 'api.get', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, name } }, 'read', 10_000);
            if (reply.ok) {
              sink.desired[name] = { replicas: reply.body.spec?.replicas ?? 1, image: reply.body.spec?.template.spec?.containers[0]?.image ?? '' };
              break;
            }
            if ((reply.status as { code?: number }).code === 404) {
              sink.desired[name] = { ...sink.desired[name]!, replicas: 0 };
              break;
            }
            await env.system.ref(sink.sleeper).ask({ type: 'sleep', body: { ms: 200 } }, { timeoutMs: 10_000 });
          }
        }
      };
      const churn = async (): Promise<void> => {
        try {
          await churnOnce();
        } catch (error) {
          // The write may or may not have applied: finish() re-reads what the Deployments ask for before judging convergence.
          churnFailed = true;
          env.log(`  churn write failed after retries (${error instanceof Error ? error.message : String(error)}); the desired state will be re-read`);
        }
      };
      const churnOnce = async (): Promise<void> => {
        if (churns++ % 4 === 3) return lifecycle();
        const name = names[Math.floor(random() * names.length)]!;
        const current = sink.desired[name]!;
        const next = churns % 2 === 1
          ? { ...current, replicas: 1 + Math.floor(random() * (spec.maxReplicas ?? 4)) }
          : { ...current, image: `nginx:1.${churns}` };
        const patch = { spec: { replicas: next.replicas, template: { spec: { containers: [{ name: 'web', image: next.image }] } } } };
        await must({ type: 'api.patch', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: NAMESPACE, name, patchType: 'strategic', patch } }, false);
        sink.desired[name] = next;
        sink.lastChangeMs = env.elapsedMs();
        env.log(`  churn ${name}: replicas ${next.replicas}, image ${next.image}`);
      };
      return {
        actors: [APISERVER, ...sink.schedulers, ...sink.controllerManagers, ...sink.nodes.flatMap((n) => [n.kubelet, n.kubeProxy, ...Object.values(n.runtimes)]), OBSERVER, RECORDER, sink.sleeper],
        start(ctx) {
          recording = true;
          const sampleEveryMs = spec.sampleEveryMs ?? 250;
          // A sample waits up to a second for a paused component's status: it must not hold up the engine's
          // loop (and with it the faults' heals), so each runs on its own and finish() collects them.
          const sampling: Array<Promise<void>> = [];
          for (let t = 0; t < ctx.untilMs; t += sampleEveryMs) {
            ctx.env.schedule(t, 'sample deployments', async () => {
              sampling.push(sample());
            });
          }
          const everyMs = spec.churnEveryMs ?? 1_000;
          const churnUntilMs = Math.min(spec.churnUntilMs ?? ctx.untilMs, ctx.untilMs);
          if (everyMs > 0) for (let t = everyMs; t < churnUntilMs; t += everyMs) ctx.env.schedule(t, 'churn deployments', churn);
          return {
            actors: [],
            async finish() {
              // The SLOs are about the run: the calls made while waiting for convergence are not recorded.
              recording = false;
              await env.settle(Promise.all(sampling));
              sink.samples.sort((a, b) => a.tMs - b.tMs);
              if (churnFailed) await env.settle(rereadDesired());
              const deadlineMs = env.elapsedMs() + (spec.convergeMs ?? 60_000);
              for (;;) {
                // Sampled as during the run, so the report's timeline goes on until the cluster converged.
                await env.settle(sample());
                const last = sink.samples[sink.samples.length - 1]!;
                if (last.deployments !== undefined) {
                  const converged = sampleConverged(last.deployments) && (await env.settle(listConfirms()));
                  sink.final = { converged, atMs: last.tMs, deployments: last.deployments };
                  if (converged) break;
                }
                if (env.elapsedMs() >= deadlineMs) break;
                await env.settle(env.system.ref(sink.sleeper).ask({ type: 'sleep', body: { ms: CONVERGE_POLL_MS } }, { timeoutMs: CONVERGE_POLL_MS + 10_000 }));
              }
              const seen = await env.settle(env.system.ref(OBSERVER).ask<PodObservation>({ type: 'podwatch.take', body: null }, { timeoutMs: 10_000 }));
              const activity = await env.settle(env.system.ref(RECORDER).ask<LeaderActivity[]>({ type: 'activity.take', body: null }, { timeoutMs: 10_000 }));
              const rel = (ms: number): number => round3(ms - env.originMs);
              sink.bindings = seen.bindings.map(({ atMs, ...b }) => ({ tMs: rel(atMs), ...b }));
              sink.startups = seen.startups.map((s) => ({ uid: s.uid, pod: s.pod, createdMs: rel(s.createdAtMs), ...(s.runningAtMs !== undefined ? { runningMs: rel(s.runningAtMs) } : {}) }));
              sink.health = seen.health.map(({ atMs, ...h }) => ({ tMs: rel(atMs), ...h }));
              sink.activity = activity.map((a) => ({ ...a, atMs: rel(a.atMs) }));
              return { requests, cluster: sink.samples.map(clusterSample) };
            },
          };
        },
      };
    },
  };
}

