/**
 * Runs one scenario: starts the store, spawns the workloads, waits for a
 * leader, then drives time forward — sampling every replica's status, firing
 * faults and healing them on schedule — until the duration is over; heals
 * everything, lets the workloads finish, computes the figures and runs the
 * checks.
 *
 * The same code drives both runtimes. In the simulated one every step is a
 * function of the seed, so the result (and the history) is the same, byte for
 * byte; the wall-clock time a run took is kept apart, in `timing`.
 */
import { MetricSeriesSampler, type MetricSample } from './metric-series.js';
import { Prng, deriveSeed } from '../../actor/prng.js';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import type { ActorSystem } from '../../actor/system.js';
import { ThreadedSystem } from '../../actor/threaded/threaded-system.js';
import { groupStatus, spawnEtcdGroup } from '../../kv/replica/group.js';
import type { ReplicaStatus } from '../../kv/replica/protocol.js';
import { EtcdCluster, asReplicaStatuses } from '../../kv/etcd/cluster.js';
import { join } from 'node:path';
import type { Operation } from '../history.js';
import { computeFigures, expandSchedule, round3, type FiredFault } from './figures.js';
import { defaultRegistry, type PluginRegistry } from './registry.js';
import { pickTarget } from './nemeses.js';
import { threadCpuMs } from '../../metrics/thread-cpu.js';
import type {
  ChaosEnv,
  CheckResult,
  EtcdMembers,
  ClusterSample,
  RequestRecord,
  FaultFigures,
  Injection,
  RunData,
  RunState,
  Scenario,
  ScheduledFault,
  StatusSample,
  WatchEventRecord,
  WatchObservation,
  WorkloadRun,
} from './types.js';

export type Runtime = 'simulated' | 'threaded';
export type Verdict = 'pass' | 'fail' | 'unknown';

export interface RunOptions {
  seed: number;
  runtime: Runtime;
  registry?: PluginRegistry;
  /** Threaded runtime: where the replicas' disks live (default: a temporary directory). */
  dataDir?: string;
  /** Called at every status sample. */
  onProgress?: (progress: Progress) => void;
  /** Fault log lines as they happen. */
  log?: (line: string) => void;
  /** Replay: fire exactly these faults (times and pinned nodes) instead of expanding the scenario's schedule. */
  schedule?: ScheduledFault[];
  /** Skip the checks (studies only need figures). */
  skipChecks?: boolean;
}

export interface Progress {
  elapsedMs: number;
  durationMs: number;
  faultsFired: number;
  faultsTotal: number;
  leader: string | undefined;
  term: number | undefined;
}

/** Everything deterministic about a run: what result.json holds (plus the scenario and versions the writer adds). */
export interface RunOutcome {
  verdict: Verdict;
  seed: number;
  runtime: Runtime;
  scenario: Scenario;
  schedule: ScheduledFault[];
  figures: FaultFigures[];
  checks: CheckResult[];
  counts: {
    operations: number; ok: number; fail: number; unknown: number; acknowledgedWrites: number; watchEvents: number;
    /** Service traffic and API calls by kind (present when a workload made them). */
    requests?: Partial<Record<RequestRecord['kind'], { ok: number; fail: number }>>;
  };
  log: string[];
  samples: StatusSample[];
  /** Desired vs Running pods and the control plane's leaders over time (Kubernetes workloads). */
  cluster: ClusterSample[];
  /** The scenario's `metrics` series over time (absent when it chose none). */
  metrics?: MetricSample[];
}

export interface ChaosRun {
  outcome: RunOutcome;
  history: Operation[];
  /** Service traffic and API calls, times in ms from the origin (requests.jsonl). */
  requests: RequestRecord[];
  watches: WatchObservation[];
  /** The run's shared plugin state (a workload's observation), for tests and reports; not in result.json. */
  state: RunState;
  /**
   * Wall-clock figures: not deterministic, kept out of result.json. `speedup` is the scenario's duration over
   * the wall time; in the simulated runtime `virtualMs` is all the virtual time simulated (set-up and the wait
   * for convergence too), `events` the messages delivered, and `traceHash` the run's trace digest (same seed, same hash).
   * The set-up (the cluster started, the workloads' objects created, up to the run's origin) is given apart:
   * `setupWallMs` of the wall time, and in the simulated runtime `setupVirtualMs` and `setupEvents` of the rest;
   * `cpuMs` is the process's CPU time (user and system, every thread) over the whole run, steadier than wall time
   * on a shared machine; `threadCpuMs` that of the thread the run ran on alone (Linux; absent elsewhere), without
   * V8's compiler and collector threads: in the simulated runtime, the simulation's own, which bounds its wall time.
   */
  timing: {
    wallMs: number; runMs: number; speedup: number; setupWallMs: number; cpuMs: number; threadCpuMs?: number;
    virtualMs?: number; events?: number; traceHash?: string; setupVirtualMs?: number; setupEvents?: number;
    /**
     * The set-up in its steps, in order: `store` (the store's replicas spawned), each workload's `prepare` by its
     * name (the deployments workload creates the control plane, the nodes and the Deployments; the services workload
     * waits until every kube-proxy routes to a pod of each Service, which is where the pods start), then `leader`
     * (the wait for a store leader). Each step's wall and CPU time, and in the simulated runtime its virtual time
     * and messages; the steps add up to the `setup` figures.
     */
    setupSteps: SetupStep[];
  };
}

/** One step of a run's set-up (see `ChaosRun.timing.setupSteps`). */
export interface SetupStep {
  step: string;
  wallMs: number;
  cpuMs: number;
  /** The run's own thread's CPU time (see `ChaosRun.timing.threadCpuMs`): 10 ms ticks, so a short step may show 0. */
  threadCpuMs?: number;
  virtualMs?: number;
  events?: number;
}

/** Status polls wait at most this long for a replica (a paused one never answers). */
const STATUS_TIMEOUT_MS_MAX = 500;
/** Waiting for the first (or a post-heal) leader gives up after this long. */
const LEADER_WAIT_MS_MAX = 60_000;
const LEADER_POLL_MS = 20;

interface TimelineAction {
  atMs: number;
  seq: number;
  label: string;
  run: () => Promise<void>;
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ChaosRun> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const threadCpuStartMs = threadCpuMs();
  const registry = options.registry ?? defaultRegistry;
  const { cluster } = scenario;
  const system: ActorSystem =
    options.runtime === 'simulated'
      ? new SimulatedSystem({ seed: options.seed, latencyMinMs: cluster.network.latencyMinMs, latencyMaxMs: cluster.network.latencyMaxMs, fsyncLatencyMs: cluster.disk.fsyncLatencyMs })
      : new ThreadedSystem({ seed: options.seed, dataDir: options.dataDir });
  const sim = system instanceof SimulatedSystem ? system : undefined;
  const virtualStartMs = system.now();
  const wait = (ms: number): Promise<void> => (ms <= 0 ? Promise.resolve() : sim ? sim.runFor(ms) : new Promise((resolve) => setTimeout(resolve, ms)));
  const settle = <T>(p: Promise<T>): Promise<T> => (sim ? sim.settle(p, { maxMs: 24 * 3_600_000 }) : p);
  const nemesisPrng = new Prng(deriveSeed(options.seed, 'chaos-nemesis'));
  const log: string[] = [];
  const state = newRunState();
  let originMs = 0;
  const fmt = (ms: number): string => `t=${(ms / 1000).toFixed(3)}s`;
  const say = (line: string): void => {
    log.push(line);
    options.log?.(line);
  };

  const setupSteps: SetupStep[] = [];
  let stepStart = { wallMs: wallStart, cpu: cpuStart, threadCpuMs: threadCpuStartMs, virtualMs: virtualStartMs, events: 0 };
  const stepDone = (step: string): void => {
    const now = { wallMs: performance.now(), cpu: process.cpuUsage(), threadCpuMs: threadCpuMs(), virtualMs: system.now(), events: sim?.delivered ?? 0 };
    const cpu = process.cpuUsage(stepStart.cpu);
    const threadMs = now.threadCpuMs - stepStart.threadCpuMs;
    setupSteps.push({
      step, wallMs: Math.round(now.wallMs - stepStart.wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      ...(Number.isFinite(threadMs) ? { threadCpuMs: threadMs } : {}),
      ...(sim !== undefined ? { virtualMs: Math.round(now.virtualMs - stepStart.virtualMs), events: now.events - stepStart.events } : {}),
    });
    stepStart = now;
  };

  let etcdCluster: EtcdCluster | undefined;
  try {
    const store = await startStore(system, cluster, options.dataDir);
    stepDone('store');
    etcdCluster = store.etcd;
    const replicas = store.names;
    const storeStatus = store.status;
    // Polls overlap when sampleMs is short; an older poll never overwrites a newer one (see below).
    const statusTimeoutMs = STATUS_TIMEOUT_MS_MAX;
    let latest: Array<ReplicaStatus | undefined> = replicas.map(() => undefined);
    const leaderOf = (statuses: ReadonlyArray<ReplicaStatus | undefined>): { name: string; term: number } | undefined => {
      let best: { name: string; term: number } | undefined;
      for (const s of statuses) if (s?.role === 'leader' && (best === undefined || s.term > best.term)) best = { name: s.name, term: s.term };
      return best;
    };
    const waitForLeader = async (): Promise<void> => {
      for (let waited = 0; waited <= LEADER_WAIT_MS_MAX; waited += LEADER_POLL_MS) {
        const statuses = await settle(storeStatus(statusTimeoutMs));
        if (leaderOf(statuses) !== undefined) {
          latest = statuses;
          return;
        }
        await wait(LEADER_POLL_MS);
      }
      throw new Error(`the store elected no leader within ${LEADER_WAIT_MS_MAX} ms`);
    };

    const timeline: TimelineAction[] = [];
    let seq = 0;
    const clients: string[] = [];
    const env: ChaosEnv = {
      system,
      sim,
      scenario,
      seed: options.seed,
      state,
      replicas,
      etcd: store.members,
      clients,
      get originMs() {
        return originMs;
      },
      elapsedMs: () => system.now() - originMs,
      async resolveTarget(target, pinned) {
        if (Array.isArray(pinned) && typeof pinned[0] === 'string') return pinned[0];
        const plugin = registry.targets.get(target);
        if (plugin !== undefined) {
          const name = await plugin.resolve(env); // inside a fault's action, which the loop already settles
          if (name === undefined) throw new Error(`no ${target} now (nobody reports leading): nothing to hit`);
          return name;
        }
        if (['leader', 'follower', 'random'].includes(target) || replicas.includes(target)) return pickTarget(env, target, undefined);
        if (system.lookup(target) !== undefined) return target;
        throw new Error(`no target named ${JSON.stringify(target)}: use leader, follower, random, ${[...registry.targets.keys()].join(', ')}${registry.targets.size > 0 ? ', ' : ''}a replica (${replicas.join(', ')}) or an actor's name`);
      },
      waitForLeader,
      settle,
      random: () => nemesisPrng.next(),
      latestStatus: () => latest,
      leader: () => leaderOf(latest),
      schedule(afterMs, label, action) {
        timeline.push({ atMs: env.elapsedMs() + afterMs, seq: seq++, label, run: action });
      },
      log: (line) => say(line),
    };

    // Workloads spawn their actors first: partitions need to know every client.
    const prepared: Array<{ name: string; start: (ctx: { env: ChaosEnv; untilMs: number }) => WorkloadRun }> = [];
    for (const [name, spec] of Object.entries(scenario.workload)) {
      const p = await registry.workload(name).prepare(env, spec);
      clients.push(...p.actors);
      prepared.push({ name, start: p.start });
      stepDone(name);
    }
    await waitForLeader();
    stepDone('leader');
    sim?.reportCensus('of the set-up');
    originMs = system.now();
    const setup = { wallMs: performance.now() - wallStart, virtualMs: originMs - virtualStartMs, events: sim?.delivered ?? 0 };
    const runs = prepared.map((p) => p.start({ env, untilMs: scenario.durationMs }));

    // The schedule: faults, and their heals.
    const schedule = options.schedule ?? expandSchedule(scenario.nemesis, scenario.durationMs, options.seed);
    const fired: FiredFault[] = [];
    const active = new Map<number, Injection>();
    schedule.forEach((fault, index) => {
      timeline.push({
        atMs: fault.atMs,
        seq: seq++,
        label: fault.fault,
        run: async () => {
          const plugin = registry.nemesis(fault.fault);
          const before = leaderOf(latest);
          const atMs = env.elapsedMs();
          const record: FiredFault = { index, fault: fault.fault, atMs: round3(atMs), nodes: [], description: '', leaderBefore: before?.name ?? null, termBefore: before?.term ?? null };
          fired.push(record);
          try {
            const injection = await plugin.inject(env, fault);
            record.nodes = injection.nodes;
            record.description = injection.description;
            say(`${fmt(atMs)} fault ${index}: ${injection.description}`);
            const durationMs = fault.durationMs ?? 0;
            if (injection.heal !== undefined) {
              active.set(index, injection);
              timeline.push({
                atMs: fault.atMs + durationMs,
                seq: seq++,
                label: `heal ${fault.fault}`,
                run: async () => {
                  if (!active.delete(index)) return;
                  await injection.heal!();
                  record.healedAtMs = round3(env.elapsedMs());
                  say(`${fmt(env.elapsedMs())} heal fault ${index} (${fault.fault})`);
                },
              });
            }
          } catch (error) {
            record.description = `failed: ${error instanceof Error ? error.message : String(error)}`;
            say(`${fmt(atMs)} fault ${index} (${fault.fault}) could not be injected: ${record.description}`);
          }
        },
      });
    });

    // The loop: sample, fire what is due, advance to the next instant that matters.
    const samplePromises: Array<Promise<StatusSample>> = [];
    let nextSampleMs = 0;
    let latestSampleMs = Number.NEGATIVE_INFINITY;
    const faultsTotal = schedule.length;
    const metricsSampler = scenario.metrics === undefined ? undefined : new MetricSeriesSampler(scenario.metrics.series);
    const metricSamples: MetricSample[] = [];
    let nextMetricsMs = metricsSampler === undefined ? Number.POSITIVE_INFINITY : 0;
    for (;;) {
      timeline.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      const nowMs = env.elapsedMs();
      if (metricsSampler !== undefined && nowMs >= nextMetricsMs) {
        // Read between events: in the simulated runtime no virtual time passes while the registries are read.
        metricSamples.push(metricsSampler.sample(round3(nowMs), await system.metrics()));
        nextMetricsMs += scenario.metrics!.everyMs;
      }
      if (nowMs >= nextSampleMs) {
        const tMs = round3(nowMs);
        samplePromises.push(
          storeStatus(statusTimeoutMs).then((statuses) => {
            // Polls of a paused replica resolve late: never let an older poll overwrite a newer one.
            if (tMs >= latestSampleMs) {
              latestSampleMs = tMs;
              latest = statuses;
            }
            return {
              tMs,
              replicas: statuses.map((s) => (s === undefined ? null : { name: s.name, role: s.role, term: s.term, leader: s.leader, commitIndex: s.commitIndex })),
            };
          }),
        );
        nextSampleMs += scenario.sampleMs;
        const current = leaderOf(latest);
        options.onProgress?.({ elapsedMs: nowMs, durationMs: scenario.durationMs, faultsFired: fired.length, faultsTotal, leader: current?.name, term: current?.term });
      }
      while (timeline.length > 0 && timeline[0]!.atMs <= env.elapsedMs() && timeline[0]!.atMs < scenario.durationMs) {
        const action = timeline.shift()!;
        await settle(action.run());
      }
      if (env.elapsedMs() >= scenario.durationMs) break;
      const nextActionMs = timeline.length > 0 ? timeline[0]!.atMs : Number.POSITIVE_INFINITY;
      const targetMs = Math.min(nextSampleMs, nextMetricsMs, nextActionMs, scenario.durationMs);
      await wait(targetMs - env.elapsedMs());
    }

    // Heal whatever is still in force, then let the workloads finish.
    for (const [index, injection] of [...active.entries()].sort((a, b) => a[0] - b[0])) {
      active.delete(index);
      await settle(injection.heal!());
      const record = fired.find((f) => f.index === index);
      if (record !== undefined) record.healedAtMs = round3(env.elapsedMs());
    }
    await system.faults.heal();
    say(`${fmt(env.elapsedMs())} end of the schedule: every fault healed; the workloads finish and read back`);
    const endMs = env.elapsedMs();
    const outputs = [];
    for (const run of runs) outputs.push(await run.finish());
    const samples = await settle(Promise.all(samplePromises));

    const history = renumber(outputs.flatMap((o) => o.operations ?? []), originMs);
    const requests = shiftRequests(outputs.flatMap((o) => o.requests ?? []), originMs);
    const clusterSamples = outputs.flatMap((o) => o.cluster ?? []).sort((a, b) => a.tMs - b.tMs);
    const watches = outputs.flatMap((o) => o.watches ?? []);
    const reference = outputs.find((o) => o.reference !== undefined)?.reference as { events: WatchEventRecord[]; revision: number } | undefined;
    const figures = computeFigures(fired, samples, history, Math.min(endMs, scenario.durationMs), requests);
    const data: RunData = { scenario, history, requests, cluster: clusterSamples, watches, reference, figures, samples, state };
    for (const plugin of registry.figures.values()) {
      const extra = plugin.compute(data);
      extra.forEach((more, i) => {
        if (figures[i] !== undefined) Object.assign(figures[i], more);
      });
    }
    const checks: CheckResult[] = [];
    if (options.skipChecks !== true) {
      for (const spec of scenario.checks) checks.push(await registry.check(spec.check).run(data, spec));
    }
    const verdict: Verdict = checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'unknown') ? 'unknown' : 'pass';
    const count = (status: string): number => history.filter((o) => o.status === status).length;
    const wallMs = performance.now() - wallStart;
    const cpu = process.cpuUsage(cpuStart);
    const threadMs = threadCpuMs() - threadCpuStartMs;
    const runMs = endMs;
    return {
      outcome: {
        verdict,
        seed: options.seed,
        runtime: options.runtime,
        scenario,
        schedule,
        figures,
        checks,
        counts: {
          operations: history.length,
          ok: count('ok'),
          fail: count('fail'),
          unknown: count('unknown'),
          acknowledgedWrites: history.filter((o) => o.status === 'ok' && (o.op === 'write' || (o.op === 'cas' && o.swapped === true))).length,
          watchEvents: watches.reduce((n, w) => n + w.events.length, 0),
          ...(requests.length > 0 ? { requests: countRequests(requests) } : {}),
        },
        log,
        samples,
        cluster: clusterSamples,
        ...(metricsSampler !== undefined ? { metrics: metricSamples } : {}),
      },
      history,
      requests,
      watches,
      state,
      timing: {
        wallMs: Math.round(wallMs), runMs: Math.round(runMs), speedup: Math.round((runMs / wallMs) * 100) / 100,
        setupWallMs: Math.round(setup.wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000), setupSteps,
        ...(Number.isFinite(threadMs) ? { threadCpuMs: threadMs } : {}),
        ...(sim !== undefined
          ? { virtualMs: Math.round(sim.now() - virtualStartMs), events: sim.delivered, traceHash: sim.traceHash(), setupVirtualMs: Math.round(setup.virtualMs), setupEvents: setup.events }
          : {}),
      },
    };
  } finally {
    try {
      await system.shutdown();
    } finally {
      await etcdCluster?.stop();
    }
  }
}

/** The run's store: kubethreads' replica actors, or real etcd member processes (threaded runtime only). */
async function startStore(
  system: ActorSystem,
  cluster: Scenario['cluster'],
  dataDir: string | undefined,
): Promise<{ names: string[]; status: (timeoutMs: number) => Promise<Array<ReplicaStatus | undefined>>; members: EtcdMembers | undefined; etcd: EtcdCluster | undefined }> {
  if (cluster.store !== 'etcd') {
    const group = await spawnEtcdGroup(system, {
      replicas: cluster.replicas,
      replica: {
        tickMs: cluster.tickMs,
        heartbeatTicks: cluster.heartbeatTicks,
        electionTicks: cluster.electionTicks,
        electionTimeoutJitterTicks: cluster.electionJitterTicks,
        preVote: cluster.preVote,
        checkQuorum: cluster.checkQuorum,
      },
      supervision: { maxRestarts: 1_000 },
    });
    return { names: group.names, status: (timeoutMs) => groupStatus(system, group.names, timeoutMs), members: undefined, etcd: undefined };
  }
  if (system.runtime === 'simulated') {
    throw new Error('cluster.store etcd runs real etcd processes, which the simulated runtime cannot replay: run it on the threaded runtime (without --sim)');
  }
  if (cluster.electionJitterTicks !== undefined || cluster.preVote === false || cluster.checkQuorum === false) {
    throw new Error('cluster.store etcd: electionJitterTicks, preVote: false and checkQuorum: false are settings of kubethreads\' Raft; etcd always randomizes its election timeout over [1, 2) × the timeout, with pre-vote and check-quorum');
  }
  const etcd = await EtcdCluster.start({
    members: cluster.replicas, heartbeatMs: cluster.tickMs * cluster.heartbeatTicks, electionMs: cluster.tickMs * cluster.electionTicks,
    dataDir: dataDir === undefined ? undefined : join(dataDir, 'etcd'),
  });
  const index = (name: string): number => {
    const i = etcd.indexOf(name);
    if (i < 0) throw new Error(`no etcd member named ${name}`);
    return i;
  };
  const members: EtcdMembers = {
    endpoints: etcd.clientUrls(),
    has: (name) => etcd.indexOf(name) >= 0,
    kill: (name) => etcd.kill(index(name)),
    restart: (name) => etcd.restart(index(name)),
    pause: (name) => etcd.pause(index(name)),
    resume: (name) => etcd.resume(index(name)),
  };
  return { names: etcd.names, status: async () => asReplicaStatuses(await etcd.statuses(), etcd.namesById), members, etcd };
}

/** A fresh, empty RunState: one per run, never shared. */
function newRunState(): RunState {
  const values = new Map<string, unknown>();
  return {
    get<T>(key: string, init: () => T): T {
      if (!values.has(key)) values.set(key, init());
      return values.get(key) as T;
    },
  };
}

/** Times in ms from the origin (to the µs), ordered by invocation then sender, so two runs of one seed write the same file. */
function shiftRequests(requests: RequestRecord[], originMs: number): RequestRecord[] {
  return requests
    .map((r) => ({ ...r, invokeMs: round3(r.invokeMs - originMs), completeMs: round3(r.completeMs - originMs) }))
    .sort((a, b) => a.invokeMs - b.invokeMs || (a.process < b.process ? -1 : a.process > b.process ? 1 : 0));
}

function countRequests(requests: readonly RequestRecord[]): Partial<Record<RequestRecord['kind'], { ok: number; fail: number }>> {
  const out: Partial<Record<RequestRecord['kind'], { ok: number; fail: number }>> = {};
  for (const r of requests) {
    const c = (out[r.kind] ??= { ok: 0, fail: 0 });
    if (r.ok) c.ok++;
    else c.fail++;
  }
  return out;
}

/** Ids in a stable order, times in ms from the origin (rounded to µs so the files read well and compare exactly). */
function renumber(ops: Operation[], originMs: number): Operation[] {
  const sorted = [...ops].sort((a, b) => a.invokeMs - b.invokeMs || (a.process < b.process ? -1 : a.process > b.process ? 1 : 0));
  return sorted.map((op, id) => ({
    ...op,
    id,
    invokeMs: round3(op.invokeMs - originMs),
    completeMs: op.completeMs === null ? null : round3(op.completeMs - originMs),
  }));
}
