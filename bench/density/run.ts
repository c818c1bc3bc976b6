/**
 * `kubethreads bench density`, in the style of ClusterLoader2's density
 * test: the whole cluster on threads as `kubethreads up` starts it (3 etcd
 * replicas, apiserver, schedulers, controller-managers, N sim nodes with
 * kubelets), then D Deployments × R replicas created at once. Reports the
 * time until every Node is Ready and every pod Running, pod startup and API
 * latency percentiles during the burst (beside Kubernetes' SLOs), and peak
 * RSS. An incomplete run (Nodes not Ready, pods not Running by the deadline)
 * reports what it reached and fails.
 */
import { summarizePhases, type PhaseSummary } from './startup-phases.js';
import { startCluster, waitForNodesReady, type Cluster } from '../../src/cluster/start.js';
import { resolveClusterSpec, type TimeProfile } from '../../src/cluster/spec.js';
import { renderTable, type Row } from '../lib/report.js';
import { exactPercentile, percentileInterval, round } from '../lib/stats.js';
import { cpuSecondsBetween, cpuSecondsOfNewThreads, sampleThreads } from './heap-probe.js';
import { readLoopDelayProbes, startLoopDelayProbes, type LoopDelay } from './loop-delay.js';
import { flowControlWaitsByLevel, fsyncsOfReplicas, serverSideOfProbe, type PhaseFigures } from './breakdown.js';
import { CONTROLLER_MANAGER_REPLICAS, type ControllerManagerMsg, type ControllerManagerStatus } from '../../actors/controller-manager.js';
import { apiserverName, type ApiMetricsReply, type ApiServerMsg } from '../../src/api/protocol.js';
import { densityDriver, densityProbe, type DensityDriverMsg, type DensityProbeMsg, type DensityRunResult, type ProbeResult } from './driver.js';

export interface DensityBenchOptions {
  nodes: number;
  deployments: number;
  replicas: number;
  profile: TimeProfile;
  /** How long the Nodes may take to be Ready, and the pods to be Running, before the run fails. */
  nodesDeadlineS: number;
  podsDeadlineS: number;
  /**
   * The probe LISTs every pod at one revision in pages of this many (limit/continue, as kubectl and
   * client-go's pager do; 500 is kubectl's chunk size); 0 (the default): one unpaged LIST. Paging did not
   * lower the mutating calls' latency (docs/performance.md, "The probe's LIST in pages").
   */
  listPageLimit: number;
  /**
   * An unpaged LIST of the probe asked for in slices of this many items (`ApiListSlicing`: the API server
   * sends it over several turns, every slice at the list's one revision); 0: one reply.
   */
  listSliceItems: number;
  /**
   * API servers (kube-apiserver HA, the cluster spec's `apiservers`): the cluster's components, then the
   * driver, then the probe are given one each in turn.
   */
  apiservers: number;
  /** API Priority and Fairness in the API servers (the cluster spec's `priorityAndFairness`; default false). */
  priorityAndFairness: boolean;
  /**
   * 2 (the default): the probe's mutating calls and its LISTs come from two clients in two threads, as
   * ClusterLoader2's are separate, so a mutating call's time holds no stall of the thread that decodes every
   * pod a LIST returns; 1: one client in one thread makes both (the bench before 2026-12-07).
   */
  probeThreads: 1 | 2;
  /** The controller-manager's client-side QPS (`--kube-api-qps`; burst the same); undefined: no limit (the cluster's default). */
  controllerManagerQps?: number;
  /**
   * A fault during the burst: this many seconds after the Deployments are created, kill the leading
   * controller-manager's thread (its supervisor restarts it at once, identity unchanged; whichever replica takes
   * the lease once it expires leads next: the restarted one in the 1,000- and 5,000-node runs so far, the standby
   * in the quick ones), to
   * measure a takeover at scale: how long until a replica leads again, and what the new leader's first turns
   * hold (its event-loop delay). Undefined: no fault.
   */
  killControllerManagerLeaderAtS?: number;
  /**
   * ClusterLoader2's latency phase, once every pod of the burst is Running: this many single-pod Deployments
   * (CL2's latency pods: 100m CPU, 350 MB each) created `latencyPodsQps` a second, each pod's startup timed as in
   * the burst, while the mutating probe runs again. Kubernetes judges its pod startup SLO on these pods (CL2 holds
   * the saturation pods only to a timeout of pods / 20 + 180 s); 0: no latency phase. Default 500 (CL2's
   * MIN_LATENCY_PODS; it creates max(500, nodes)).
   */
  latencyPods: number;
  /** Latency pods created per second (default 20; CL2's density test creates 5 a second: slower is gentler). */
  latencyPodsQps: number;
}

/** What `killControllerManagerLeaderAtS` did. */
export interface ControllerManagerKill {
  /** Seconds into the burst the kill was made (null: not made, see `error`). */
  at_s: number | null;
  /** The replica that led and was killed. */
  killed: string | null;
  /** The replica that led next, and how long after the kill its term began (null: none led again in the run). */
  next_leader: string | null;
  next_leader_after_s: number | null;
  error?: string;
}

export const defaultDensityBenchOptions: DensityBenchOptions = { nodes: 1_000, deployments: 20, replicas: 1_000, profile: 'realistic', nodesDeadlineS: 600, podsDeadlineS: 600, listPageLimit: 0, listSliceItems: 500, apiservers: 1, priorityAndFairness: false, probeThreads: 2, latencyPods: 500, latencyPodsQps: 20 };
export const quickDensityBenchOptions: DensityBenchOptions = { ...defaultDensityBenchOptions, nodes: 5, deployments: 2, replicas: 10, nodesDeadlineS: 120, podsDeadlineS: 120, latencyPods: 5 };

/** Kubernetes' SLOs (https://github.com/kubernetes/community/blob/master/sig-scalability/slos/slos.md). */
export const SLO = { podStartupP99Ms: 5_000, mutatingP99Ms: 1_000, listNamespacedP99Ms: 5_000 } as const;
/** The issue's targets at 1,000 nodes × 20,000 pods. */
export const TARGETS = { nodesReadyS: 30, podsRunningS: 60 } as const;

/** A p99's 95 % confidence interval, distribution-free (bench/lib/stats.ts `percentileInterval`). */
export interface P99Interval {
  low_ms: number | null;
  /** null: beyond the slowest sample (too few samples to bound the p99 above). */
  high_ms: number | null;
  /** Its exact coverage (at least 0.95 when the samples allow). */
  coverage: number;
}

export interface DensityBenchResult {
  nodes: number;
  deployments: number;
  replicas: number;
  pods: number;
  profile: TimeProfile;
  /** API servers in the cluster; the probe's (its mutating calls and LISTs, and `mutating_breakdown`'s server side) and the driver's. */
  apiservers: number;
  /** Whether the API servers ran API Priority and Fairness (`--priority-and-fairness`). */
  priority_and_fairness: boolean;
  probe_apiserver: string;
  driver_apiserver: string;
  /** 2: the probe's mutating calls and its LISTs from two threads (`density-probe` and `density-probe-list`); 1: both from `density-probe`. */
  probe_threads: 1 | 2;
  /** The controller-manager's client-side QPS for the run (`--controller-manager-qps`), null: no limit. */
  controller_manager_qps: number | null;
  /** The controller-manager takeover asked for by `--kill-controller-manager-leader-at` (null: none asked). */
  controller_manager_kill: ControllerManagerKill | null;
  /** Start of `startCluster` → every Node Ready (what `up` prints `ready` for). */
  nodes_ready_s: number;
  /** Deployment creates sent → every pod Running (null: not reached). */
  pods_running_s: number | null;
  pods_per_s: number | null;
  pod_startup_p50_ms: number | null;
  pod_startup_p99_ms: number | null;
  pod_startup_samples: number;
  /** How far pod_startup_p99_ms can be trusted: its 95 % confidence interval from the samples (`P99Interval`). */
  pod_startup_p99_ci_ms: P99Interval | null;
  /** Startup samples that were not measurable or negative (counted, never clamped). */
  pod_startup_odd: number;
  /**
   * Where startup went, per step as the driver's watch saw it (created → seen → bound → reported by the
   * kubelet → Running; startup-phases.ts), mean ms over every pod and over the slowest 1 % (startup ≥ p99).
   */
  pod_startup_phases: { all: PhaseSummary; slowest: PhaseSummary } | null;
  mutating_p50_ms: number | null;
  mutating_p99_ms: number | null;
  mutating_samples: number;
  /**
   * How far mutating_p99_ms can be trusted: with ~300 calls the p99 is the fourth slowest, and its 95 % interval
   * runs from about the eighth slowest to beyond the slowest (`high_ms` null). Two runs whose intervals overlap
   * have not shown a difference. The interval takes the calls as independent; a run's slow calls come in bursts,
   * so if anything it is too narrow (scripts/density-pool.mjs also resamples whole runs).
   */
  mutating_p99_ci_ms: P99Interval | null;
  /** Every mutating call's time in ms, in the order sent: for pooling runs of one build before comparing builds. */
  mutating_ms: number[];
  mutating_errors: number;
  mutating_errors_by_status: Record<string, number>;
  mutating_error_examples: string[];
  /** Mutating calls still unanswered 30 s after the burst ended (not in the percentiles: they never answered). */
  mutating_in_flight_at_stop: number;
  list_p50_ms: number | null;
  list_p99_ms: number | null;
  list_samples: number;
  /** How far list_p99_ms can be trusted: with a few dozen LISTs its interval is the slowest few and beyond. */
  list_p99_ci_ms: P99Interval | null;
  /** The probe's LIST page size (0: unpaged); list_p99_ms times a whole LIST, every page of it. */
  list_page_limit: number;
  /** The probe's LISTs start this far apart (the next 1 s after the answer when one takes longer). */
  list_every_ms: number;
  /** The probe's unpaged LISTs came in slices of this many items (0: whole). */
  list_slice_items: number;
  /** Pages per LIST, mean. */
  list_pages_mean: number | null;
  list_errors: number;
  /** 1 when a LIST was still in flight as the burst ended (not waited for once there is one LIST sample). */
  list_in_flight_at_stop: number;
  /** Peak resident set of the whole process (every thread), sampled every 250 ms. */
  rss_mb: number;
  /** RSS once every Node was Ready, before any pod: the nodes' share. */
  rss_nodes_ready_mb: number;
  /** V8 heap in use per thread (MB, uncollected garbage included): with the Nodes Ready, and after the burst. */
  heap_mb_by_thread: { nodes_ready: Record<string, number>; after_burst: Record<string, number> };
  /**
   * CPU seconds each thread used from every Node Ready to the end of the
   * burst, largest first (Linux; empty elsewhere). Unlike wall time it does
   * not stretch when other work shares the machine.
   */
  burst_cpu_s_by_thread: Record<string, number>;
  /** Their sum: the whole process's CPU for the burst. */
  burst_cpu_s: number | null;
  /** CPU seconds of the bench's own client threads (driver, probes), started for the burst: not in `burst_cpu_s`. */
  bench_client_cpu_s_by_thread: Record<string, number>;
  /**
   * Where the probe's mutating calls spent their time: the client's view
   * (sent → answered, ms) beside the API server's own histograms over the
   * burst (`apiserver_request_duration_seconds` for PUT configmaps: handler
   * start → answer; `etcd_request_duration_seconds` for their store txns).
   * client − handler is the time spent queued in the two threads' event
   * loops and frames. Server figures are bucket-interpolated.
   */
  mutating_breakdown: { client: PhaseFigures; handler: PhaseFigures; store: PhaseFigures; fsync_by_replica: Record<string, PhaseFigures>; flow_control_wait_by_level: Record<string, PhaseFigures> } | null;
  /** Each thread's event-loop delay over the burst (ms: p50, p99, max, mean), worst p99 first. */
  event_loop_delay_ms_by_thread: Record<string, LoopDelay>;
  /** Seconds each thread spent in garbage collection over the burst (V8's gc entries), most first. */
  burst_gc_s_by_thread: Record<string, number>;
  /**
   * Terms each controller-manager replica led from the cluster's start to the end of the burst (its
   * elector's count; null when it did not answer). One in all is the start-up's election; more means the
   * lease changed hands during the run, and every new term restarts the controllers from full LISTs.
   */
  controller_manager_terms: Record<string, number | null>;
  /** The latency phase's pods asked for (`--latency-pods`; 0: no phase) and their creation rate. */
  latency_pods: number;
  latency_pods_qps: number;
  /** First latency Deployment create sent → every latency pod Running (null: not reached or no phase). */
  latency_phase_s: number | null;
  /**
   * The latency pods' startup, as the burst's (creationTimestamp → Running seen by watch): what ClusterLoader2
   * holds to the pod startup SLO (p99 ≤ 5 s). The burst's `pod_startup_*` stay beside it.
   */
  latency_pod_startup_p50_ms: number | null;
  latency_pod_startup_p99_ms: number | null;
  latency_pod_startup_samples: number;
  latency_pod_startup_p99_ci_ms: P99Interval | null;
  latency_pod_startup_odd: number;
  latency_pod_startup_phases: { all: PhaseSummary; slowest: PhaseSummary } | null;
  /** The mutating probe again, during the latency phase: the cluster full, past its burst. */
  latency_mutating_p50_ms: number | null;
  latency_mutating_p99_ms: number | null;
  latency_mutating_samples: number;
  latency_mutating_p99_ci_ms: P99Interval | null;
  latency_mutating_errors: number;
  /** Nodes Ready and pods Running when the run ended (equal to nodes and pods on success). */
  reached: { nodes_ready: number; pods_seen: number; pods_running: number };
  /** Empty on success; what failed otherwise. */
  failures: string[];
}

/** The API server each of the bench's own clients talks to. */
interface BenchClients {
  driver: string;
  probe: string;
}

/** RSS sampling period: often enough to catch the peak of a burst that lasts tens of seconds. */
const RSS_SAMPLE_MS = 250;
const NAMESPACE = 'density';

class RssPeak {
  peakBytes = process.memoryUsage.rss();
  private readonly timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakBytes) this.peakBytes = rss;
    return rss;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

function say(line: string): void {
  process.stderr.write(`bench density: ${line}\n`);
}

export async function runDensityBench(options: DensityBenchOptions = defaultDensityBenchOptions): Promise<{ result: DensityBenchResult; table: string; ok: boolean }> {
  const pods = options.deployments * options.replicas;
  const rss = new RssPeak();
  const failures: string[] = [];
  say(`${options.nodes} nodes, ${options.deployments} Deployments × ${options.replicas} replicas (${pods} pods), ${options.profile} profile`);
  const started = performance.now();
  const spec = resolveClusterSpec({ nodes: options.nodes, profile: options.profile, port: 0, apiservers: options.apiservers, priorityAndFairness: options.priorityAndFairness, controllerManagerQps: options.controllerManagerQps });
  const cluster = await startCluster(spec, { logLevel: process.env.LOG_LEVEL ?? 'fatal', writeKubeconfig: false });
  // After the cluster's own components: the driver, then the probe, each the next API server in turn.
  const clients: BenchClients = { driver: cluster.apiserverForNextClient(), probe: cluster.apiserverForNextClient() };
  let nodesReady = 0;
  let nodesReadyS = Number.NaN;
  let rssNodesReadyMb = Number.NaN;
  let run: DensityRunResult | undefined;
  let probe: ProbeResult | undefined;
  const heap: DensityBenchResult['heap_mb_by_thread'] = { nodes_ready: {}, after_burst: {} };
  let burstCpu: Record<string, number> = {};
  let clientCpu: Record<string, number> = {};
  let breakdown: DensityBenchResult['mutating_breakdown'] = null;
  let loopDelay: Record<string, LoopDelay> = {};
  let gcS: Record<string, number> = {};
  let cmTerms: Record<string, number | null> = {};
  let latency: { run: DensityRunResult; probe: ProbeResult } | undefined;
  const cmKill: ControllerManagerKill | undefined = options.killControllerManagerLeaderAtS === undefined ? undefined : { at_s: null, killed: null, next_leader: null, next_leader_after_s: null };
  try {
    say(`cluster started in ${round((performance.now() - started) / 1000, 1)} s; waiting for Nodes`);
    const nodesDeadline = started + options.nodesDeadlineS * 1000;
    let lastSaid = 0;
    const allReady = await waitForNodesReady(cluster, {
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      stopped: () => performance.now() > nodesDeadline,
      progress: (state) => {
        nodesReady = state?.ready ?? nodesReady;
        if (performance.now() - lastSaid < 5_000) return;
        lastSaid = performance.now();
        say(`Nodes Ready: ${state === undefined ? '(the API server did not answer)' : `${state.ready}/${options.nodes}`}`);
      },
    });
    nodesReadyS = (performance.now() - started) / 1000;
    rssNodesReadyMb = rss.sample() / 2 ** 20;
    if (!allReady) {
      failures.push(`only ${nodesReady} of ${options.nodes} Nodes Ready after ${options.nodesDeadlineS} s`);
    } else {
      nodesReady = options.nodes;
      say(`all ${options.nodes} Nodes Ready after ${round(nodesReadyS, 1)} s (RSS ${Math.round(rssNodesReadyMb)} MB); creating ${options.deployments} Deployments`);
      const before = await sampleThreads(cluster.system, 'nodes');
      heap.nodes_ready = before.heapMb;
      let loopProbes: string[] = [];
      let metricsBefore: string | undefined;
      ({ run, probe } = await burst(cluster, clients, options, pods, async () => {
        // Once the bench's own clients have their threads, so theirs are watched too.
        loopProbes = await startLoopDelayProbes(cluster.system);
        metricsBefore = await scrapeApiServer(cluster, clients.probe);
      }, cmKill));
      cmTerms = await controllerManagerTerms(cluster);
      const metricsAfter = await scrapeApiServer(cluster, clients.probe);
      ({ delay: loopDelay, gcS } = await readLoopDelayProbes(cluster.system, loopProbes));
      const after = await sampleThreads(cluster.system, 'pods');
      heap.after_burst = after.heapMb;
      burstCpu = cpuSecondsBetween(before.cpuMs, after.cpuMs);
      clientCpu = cpuSecondsOfNewThreads(before.cpuMs, after.cpuMs);
      if (metricsBefore !== undefined && metricsAfter !== undefined) breakdown = { client: clientFigures(probe.mutatingMs), ...serverSideOfProbe(metricsBefore, metricsAfter), fsync_by_replica: fsyncsOfReplicas(metricsBefore, metricsAfter), flow_control_wait_by_level: flowControlWaitsByLevel(metricsBefore, metricsAfter) };
      if (run.allRunningMs === undefined) failures.push(`only ${run.podsRunning} of ${pods} pods Running (${run.podsSeen} created) after ${options.podsDeadlineS} s`);
      if (run.createErrors.length > 0) failures.push(`${run.createErrors.length} Deployment creates failed: ${run.createErrors[0]}`);
      if (run.watchErrors.length > 0) failures.push(`the pod watch failed: ${run.watchErrors[0]}`);
      // After the burst's figures are read (CPU, loop delay, GC, heap cover the burst alone).
      if (run.allRunningMs !== undefined && options.latencyPods > 0) {
        latency = await latencyPhase(cluster, options);
        const l = latency.run;
        if (l.allRunningMs === undefined) failures.push(`only ${l.podsRunning} of ${options.latencyPods} latency pods Running (${l.podsSeen} created)`);
        if (l.createErrors.length > 0) failures.push(`${l.createErrors.length} latency Deployment creates failed: ${l.createErrors[0]}`);
        if (l.watchErrors.length > 0) failures.push(`the latency pods' watch failed: ${l.watchErrors[0]}`);
      }
    }
  } finally {
    say('stopping the cluster');
    await cluster.stop();
    rss.stop();
  }
  const result = summarize(options, clients, pods, nodesReadyS, nodesReady, rssNodesReadyMb, rss.peakBytes, run, probe, heap, burstCpu, clientCpu, failures, breakdown, loopDelay, gcS, cmTerms, cmKill, latency);
  return { result, table: table(result), ok: failures.length === 0 };
}

/** Each controller-manager replica's count of terms led (`cm.status`); null for one that does not answer in 10 s. */
async function controllerManagerTerms(cluster: Cluster): Promise<Record<string, number | null>> {
  const names = controllerManagerNames();
  const terms = await Promise.all(names.map((name) => cluster.system.ref<ControllerManagerMsg>(name).ask<ControllerManagerStatus>({ type: 'cm.status', body: { writes: false } }, { timeoutMs: 10_000 }).then((s) => s.terms, () => null)));
  return Object.fromEntries(names.map((name, i) => [name, terms[i] ?? null]));
}

/** The API server's /metrics text (its series and the replicas'); undefined when it does not answer (figures left out, not a failed run). */
async function scrapeApiServer(cluster: Cluster, apiserver: string): Promise<string | undefined> {
  try {
    return (await cluster.system.ref<ApiServerMsg>(apiserver).ask<ApiMetricsReply>({ type: 'api.metrics', body: null }, { timeoutMs: 60_000 })).text;
  } catch {
    return undefined;
  }
}

function clientFigures(samplesMs: number[]): PhaseFigures {
  const p = (q: number) => (samplesMs.length === 0 ? null : Math.round(exactPercentile(samplesMs, q)));
  const mean = samplesMs.length === 0 ? null : Math.round(samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length);
  return { count: samplesMs.length, mean_ms: mean, p50_ms: p(50), p99_ms: p(99) };
}

async function burst(cluster: Cluster, clients: BenchClients, options: DensityBenchOptions, pods: number, beforeStart: () => Promise<void>, kill?: ControllerManagerKill): Promise<{ run: DensityRunResult; probe: ProbeResult }> {
  // Each client in its own thread: the probe's latencies must not wait behind the driver's 20,000-pod watch.
  await cluster.system.spawn(densityDriver, { name: 'density-driver', args: { apiserver: clients.driver } });
  await cluster.system.spawn(densityProbe, { name: 'density-probe', args: { apiserver: clients.probe } });
  const split = options.probeThreads === 2;
  if (split) await cluster.system.spawn(densityProbe, { name: PROBE_LIST, args: { apiserver: clients.probe } });
  await beforeStart();
  const driver = cluster.system.ref<DensityDriverMsg>('density-driver');
  const probe = cluster.system.ref<DensityProbeMsg>('density-probe');
  const lister = split ? cluster.system.ref<DensityProbeMsg>(PROBE_LIST) : undefined;
  const start = { namespace: NAMESPACE, mutatingEveryMs: 100, listPauseMs: 1_000, listEveryMs: probeListEveryMs(pods), listPageLimit: options.listPageLimit, listSliceItems: options.listSliceItems };
  // One after the other: each creates the namespace if it is missing, and two at once would race to.
  await probe.ask({ type: 'probe.start', body: { ...start, calls: split ? 'mutating' : 'both' } }, { timeoutMs: 120_000 });
  await lister?.ask({ type: 'probe.start', body: { ...start, calls: 'list' } }, { timeoutMs: 120_000 });
  const burstStarted = performance.now();
  let killedAtMs: number | undefined;
  const killTimer = kill === undefined || options.killControllerManagerLeaderAtS === undefined ? undefined : setTimeout(() => {
    void killLeadingControllerManager(cluster).then(
      (name) => {
        killedAtMs = Date.now();
        kill.at_s = round((performance.now() - burstStarted) / 1000);
        kill.killed = name;
        say(`killed ${name}, the leading controller-manager, ${kill.at_s} s into the burst`);
      },
      (error: unknown) => {
        kill.error = error instanceof Error ? error.message : String(error);
        say(`could not kill the leading controller-manager: ${kill.error}`);
      },
    );
  }, options.killControllerManagerLeaderAtS * 1000);
  const progress = setInterval(() => {
    void driver.ask<{ seen: number; running: number }>({ type: 'density.progress', body: null }, { timeoutMs: 5_000 }).then(
      (p) => say(`burst: ${Math.round((performance.now() - burstStarted) / 1000)} s, ${p.seen} pods created, ${p.running} Running, RSS ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB`),
      () => say(`burst: ${Math.round((performance.now() - burstStarted) / 1000)} s, (the driver is busy), RSS ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB`),
    );
  }, 10_000);
  try {
    const run = await driver.ask<DensityRunResult>(
      { type: 'density.run', body: { namespace: NAMESPACE, deployments: options.deployments, replicas: options.replicas, image: 'nginx', deadlineMs: options.podsDeadlineS * 1000 } },
      { timeoutMs: options.podsDeadlineS * 1000 + 180_000 },
    );
    const stop = (ref: typeof probe) => ref.ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 });
    const [mutating, listed] = await Promise.all([stop(probe), lister === undefined ? undefined : stop(lister)]);
    const result = listed === undefined ? mutating : withListsOf(mutating, listed);
    say(`${run.podsRunning}/${pods} pods Running${run.allRunningMs !== undefined ? ` after ${round(run.allRunningMs / 1000, 1)} s` : ''}`);
    if (kill !== undefined && killedAtMs !== undefined) Object.assign(kill, await nextControllerManagerLeader(cluster, killedAtMs));
    return { run, probe: result };
  } finally {
    clearInterval(progress);
    clearTimeout(killTimer);
  }
}

/**
 * ClusterLoader2's latency phase: the driver creates the latency pods at their rate while the mutating probe runs
 * again (a new session of it: its figures are the phase's alone).
 */
async function latencyPhase(cluster: Cluster, options: DensityBenchOptions): Promise<{ run: DensityRunResult; probe: ProbeResult }> {
  say(`latency phase: ${options.latencyPods} single-pod Deployments, ${options.latencyPodsQps} a second`);
  const driver = cluster.system.ref<DensityDriverMsg>('density-driver');
  const probe = cluster.system.ref<DensityProbeMsg>('density-probe');
  await probe.ask({ type: 'probe.start', body: { namespace: NAMESPACE, mutatingEveryMs: 100, listPauseMs: 1_000, listPageLimit: 0, calls: 'mutating' } }, { timeoutMs: 120_000 });
  const creatingMs = (options.latencyPods / options.latencyPodsQps) * 1000;
  const deadlineMs = creatingMs + options.podsDeadlineS * 1000;
  const run = await driver.ask<DensityRunResult>(
    { type: 'density.latency', body: { namespace: NAMESPACE, pods: options.latencyPods, qps: options.latencyPodsQps, image: 'nginx', deadlineMs } },
    { timeoutMs: deadlineMs + 180_000 },
  );
  const probed = await probe.ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 });
  say(`latency phase: ${run.podsRunning}/${options.latencyPods} pods Running${run.allRunningMs !== undefined ? ` after ${round(run.allRunningMs / 1000, 1)} s` : ''}, startup p99 ${run.startupMs.length === 0 ? 'n/a' : Math.round(exactPercentile(run.startupMs, 99))} ms`);
  return { run, probe: probed };
}

function controllerManagerNames(): string[] {
  return Array.from({ length: CONTROLLER_MANAGER_REPLICAS }, (_, i) => `controller-manager-${i}`);
}

/** Kills the thread of the controller-manager replica that says it leads; its name. */
export async function killLeadingControllerManager(cluster: Pick<Cluster, 'system'>): Promise<string> {
  const statuses = await Promise.all(controllerManagerNames().map((name) => cluster.system.ref<ControllerManagerMsg>(name).ask<ControllerManagerStatus>({ type: 'cm.status', body: { writes: false } }, { timeoutMs: 10_000 }).then((s) => [name, s] as const, () => [name, undefined] as const)));
  const leading = statuses.find(([, s]) => s?.leading === true);
  if (leading === undefined) throw new Error('no controller-manager replica said it led');
  await cluster.system.faults.kill(leading[0]);
  return leading[0];
}

/** The first term any replica began after the kill (the killed one's new incarnation included). */
export async function nextControllerManagerLeader(cluster: Pick<Cluster, 'system'>, killedAtMs: number): Promise<Pick<ControllerManagerKill, 'next_leader' | 'next_leader_after_s'>> {
  let next: { name: string; startMs: number } | undefined;
  for (const name of controllerManagerNames()) {
    const status = await cluster.system.ref<ControllerManagerMsg>(name).ask<ControllerManagerStatus>({ type: 'cm.status', body: { writes: false } }, { timeoutMs: 10_000 }).catch(() => undefined);
    for (const [startMs] of status?.termsMs ?? []) if (startMs >= killedAtMs && (next === undefined || startMs < next.startMs)) next = { name, startMs };
  }
  return next === undefined ? { next_leader: null, next_leader_after_s: null } : { next_leader: next.name, next_leader_after_s: round((next.startMs - killedAtMs) / 1000) };
}

/** The name of the probe's LIST client when it has its own thread. */
const PROBE_LIST = 'density-probe-list';
/**
 * The probe's LISTs start this far apart (the next 1 s after the answer when one takes longer): 5 s, or one
 * millisecond per 10 pods when that is longer (10 s at 100,000 pods), so the LISTs' load per pod stays put as a
 * LIST grows. Until 2026-12-07 the next LIST came 1 s after each answer, so a server that answered LISTs faster
 * was sent more of them: 31-36 LISTs of 20,000 pods against 9-11 in one 1,000-node burst when flow control made
 * the API server's turns short, and 95 LISTs of 100,000 against 35 at 5,000 nodes with 5 s apart
 * (docs/performance.md, "API Priority and Fairness").
 */
function probeListEveryMs(pods: number): number {
  return Math.max(5_000, Math.round(pods / 10));
}

/** The mutating probe's result with the LIST probe's LIST figures (each probe made only its own kind of call). */
function withListsOf(mutating: ProbeResult, listed: ProbeResult): ProbeResult {
  return { ...mutating, listMs: listed.listMs, listPages: listed.listPages, listErrors: listed.listErrors, lastListItems: listed.lastListItems, listInFlightAtStop: listed.listInFlightAtStop };
}

function summarize(
  options: DensityBenchOptions, clients: BenchClients, pods: number, nodesReadyS: number, nodesReady: number, rssNodesReadyMb: number, rssPeakBytes: number,
  run: DensityRunResult | undefined, probe: ProbeResult | undefined, heap: DensityBenchResult['heap_mb_by_thread'], burstCpu: Record<string, number>, clientCpu: Record<string, number>, failures: string[],
  breakdown: DensityBenchResult['mutating_breakdown'], loopDelay: Record<string, LoopDelay>, gcS: Record<string, number>, cmTerms: Record<string, number | null>, cmKill: ControllerManagerKill | undefined,
  latency: { run: DensityRunResult; probe: ProbeResult } | undefined,
): DensityBenchResult {
  const cpuValues = Object.values(burstCpu);
  const p = (samples: number[] | undefined, q: number): number | null => (samples === undefined || samples.length === 0 ? null : round(exactPercentile(samples, q)));
  const runningS = run?.allRunningMs === undefined ? null : round(run.allRunningMs / 1000);
  return {
    nodes: options.nodes, deployments: options.deployments, replicas: options.replicas, pods, profile: options.profile,
    apiservers: options.apiservers, priority_and_fairness: options.priorityAndFairness, probe_apiserver: clients.probe, driver_apiserver: clients.driver, probe_threads: options.probeThreads,
    controller_manager_qps: options.controllerManagerQps ?? null,
    controller_manager_kill: cmKill ?? null,
    nodes_ready_s: round(nodesReadyS),
    pods_running_s: runningS,
    pods_per_s: runningS === null ? null : round(pods / runningS),
    pod_startup_p50_ms: p(run?.startupMs, 50),
    pod_startup_p99_ms: p(run?.startupMs, 99),
    pod_startup_samples: run?.startupMs.length ?? 0,
    pod_startup_p99_ci_ms: p99Interval(run?.startupMs),
    pod_startup_odd: run?.odd ?? 0,
    pod_startup_phases: run === undefined ? null : summarizePhases(run.startupMs, run.startupPhases),
    mutating_p50_ms: p(probe?.mutatingMs, 50),
    mutating_p99_ms: p(probe?.mutatingMs, 99),
    mutating_samples: probe?.mutatingMs.length ?? 0,
    mutating_p99_ci_ms: p99Interval(probe?.mutatingMs),
    mutating_ms: probe?.mutatingMs.map((v) => round(v)) ?? [],
    mutating_errors: probe?.mutatingErrors ?? 0,
    mutating_errors_by_status: probe?.mutatingErrorsByStatus ?? {},
    mutating_error_examples: probe?.mutatingErrorExamples ?? [],
    mutating_in_flight_at_stop: probe?.mutatingInFlight ?? 0,
    list_p50_ms: p(probe?.listMs, 50),
    list_p99_ms: p(probe?.listMs, 99),
    list_samples: probe?.listMs.length ?? 0,
    list_p99_ci_ms: p99Interval(probe?.listMs),
    list_page_limit: options.listPageLimit,
    list_every_ms: probeListEveryMs(pods),
    list_slice_items: options.listPageLimit > 0 ? 0 : options.listSliceItems,
    list_pages_mean: probe === undefined || probe.listMs.length === 0 ? null : Math.round((10 * probe.listPages) / probe.listMs.length) / 10,
    list_errors: probe?.listErrors ?? 0,
    list_in_flight_at_stop: probe?.listInFlightAtStop ?? 0,
    rss_mb: Math.round(rssPeakBytes / 2 ** 20),
    rss_nodes_ready_mb: Math.round(rssNodesReadyMb),
    heap_mb_by_thread: heap,
    burst_cpu_s_by_thread: burstCpu,
    burst_cpu_s: cpuValues.length === 0 ? null : round(cpuValues.reduce((a, b) => a + b, 0)),
    bench_client_cpu_s_by_thread: clientCpu,
    mutating_breakdown: breakdown,
    event_loop_delay_ms_by_thread: loopDelay,
    burst_gc_s_by_thread: gcS,
    controller_manager_terms: cmTerms,
    latency_pods: options.latencyPods,
    latency_pods_qps: options.latencyPodsQps,
    latency_phase_s: latency?.run.allRunningMs === undefined ? null : round(latency.run.allRunningMs / 1000),
    latency_pod_startup_p50_ms: p(latency?.run.startupMs, 50),
    latency_pod_startup_p99_ms: p(latency?.run.startupMs, 99),
    latency_pod_startup_samples: latency?.run.startupMs.length ?? 0,
    latency_pod_startup_p99_ci_ms: p99Interval(latency?.run.startupMs),
    latency_pod_startup_odd: latency?.run.odd ?? 0,
    latency_pod_startup_phases: latency === undefined ? null : summarizePhases(latency.run.startupMs, latency.run.startupPhases),
    latency_mutating_p50_ms: p(latency?.probe.mutatingMs, 50),
    latency_mutating_p99_ms: p(latency?.probe.mutatingMs, 99),
    latency_mutating_samples: latency?.probe.mutatingMs.length ?? 0,
    latency_mutating_p99_ci_ms: p99Interval(latency?.probe.mutatingMs),
    latency_mutating_errors: latency?.probe.mutatingErrors ?? 0,
    reached: { nodes_ready: nodesReady, pods_seen: run?.podsSeen ?? 0, pods_running: run?.podsRunning ?? 0 },
    failures,
  };
}

function p99Interval(samples: readonly number[] | undefined): P99Interval | null {
  const interval = samples === undefined ? undefined : percentileInterval(samples, 99);
  if (interval === undefined) return null;
  return { low_ms: interval.low === null ? null : round(interval.low), high_ms: interval.high === null ? null : round(interval.high), coverage: round(interval.coverage, 3) };
}

/** '95 % CI 1,290-2,610 ms' ('... -beyond the slowest' when unbounded above): a p99 beside how far it can be trusted. */
function ci(interval: P99Interval | null): string {
  if (interval === null) return '';
  const end = (v: number | null, open: string) => (v === null ? open : `${Math.round(v).toLocaleString('en-US')}`);
  return `p99's 95 % CI ${end(interval.low_ms, 'below the fastest')}-${end(interval.high_ms, 'beyond the slowest')} ms; `;
}

/** A figure, or 'n/a' when there is none. */
const ms = (v: number | null): number | string => v ?? 'n/a';
/** A figure against its SLO or target, for the table's ratio column. */
const vs = (ours: number | null, target: number): { baseline?: number; ratio?: number } => (ours === null ? {} : { baseline: target, ratio: round(ours / target) });

function table(r: DensityBenchResult): string {
  const rows: Row[] = [
    { name: 'nodes_ready_s (every Node Ready)', ours: r.nodes_ready_s, ...vs(r.nodes_ready_s, TARGETS.nodesReadyS), unit: 's', note: r.nodes === 1_000 ? 'target: 1,000 nodes <= 30 s' : '' },
    { name: 'pods_running_s (every pod Running)', ours: ms(r.pods_running_s), ...vs(r.pods_running_s, TARGETS.podsRunningS), unit: 's', note: 'target: 20,000 pods <= 60 s' },
    { name: 'pods_per_s (end to end)', ours: ms(r.pods_per_s), unit: 'pods/s', note: 'target: >= 333' },
    { name: 'pod_startup_p50_ms', ours: ms(r.pod_startup_p50_ms), unit: 'ms', note: 'creationTimestamp (1 s resolution) -> Running seen by watch' },
    { name: 'pod_startup_p99_ms', ours: ms(r.pod_startup_p99_ms), ...vs(r.pod_startup_p99_ms, SLO.podStartupP99Ms), unit: 'ms', note: `${ci(r.pod_startup_p99_ci_ms)}SLO p99 <= 5 s; ${r.pod_startup_odd} odd of ${r.pod_startup_samples}` },
    { name: 'mutating_p50_ms (ConfigMap updates)', ours: ms(r.mutating_p50_ms), unit: 'ms' },
    { name: 'mutating_p99_ms', ours: ms(r.mutating_p99_ms), ...vs(r.mutating_p99_ms, SLO.mutatingP99Ms), unit: 'ms', note: `${ci(r.mutating_p99_ci_ms)}SLO p99 <= 1 s; ${r.mutating_samples} calls, ${r.mutating_errors} errors${errorsByStatus(r.mutating_errors_by_status)}${r.mutating_in_flight_at_stop > 0 ? `, ${r.mutating_in_flight_at_stop} never answered` : ''}` },
    ...breakdownRows(r),
    ...latencyRows(r),
    { name: 'list_p50_ms (LIST pods, namespace)', ours: ms(r.list_p50_ms), unit: 'ms' },
    { name: 'list_p99_ms', ours: ms(r.list_p99_ms), ...vs(r.list_p99_ms, SLO.listNamespacedP99Ms), unit: 'ms', note: `${ci(r.list_p99_ci_ms)}SLO p99 <= 5 s (namespaced); ${r.list_samples} LISTs ${r.list_every_ms / 1000} s apart, ${r.list_errors} errors; ${r.list_page_limit > 0 ? `pages of ${r.list_page_limit}, ${r.list_pages_mean ?? 0} per LIST` : 'unpaged'}${r.list_in_flight_at_stop > 0 ? '; one more in flight at the end' : ''}` },
    { name: 'rss_mb (peak, whole process)', ours: r.rss_mb, unit: 'MB', note: `${r.rss_nodes_ready_mb} MB with the Nodes Ready, before pods` },
    { name: 'burst_cpu_s (every thread)', ours: ms(r.burst_cpu_s), unit: 's', note: busiestThreads(r.burst_cpu_s_by_thread) },
    ...(r.controller_manager_kill === null ? [] : [{ name: 'controller-manager leader killed', ours: r.controller_manager_kill.next_leader_after_s ?? 'n/a', unit: 's to a new term', note: r.controller_manager_kill.error !== undefined ? `not killed: ${r.controller_manager_kill.error}` : `${r.controller_manager_kill.killed} killed ${r.controller_manager_kill.at_s} s into the burst; ${r.controller_manager_kill.next_leader ?? 'no replica'} led next; its longest event-loop delay ${r.event_loop_delay_ms_by_thread[r.controller_manager_kill.next_leader ?? '']?.max_ms ?? '?'} ms` }]),
    { name: 'controller_manager_terms (all replicas)', ours: Object.values(r.controller_manager_terms).reduce<number>((a, n) => a + (n ?? 0), 0), unit: 'terms', note: `1 = no handover; ${Object.entries(r.controller_manager_terms).map(([k, n]) => `${k} ${n ?? '?'}`).join(', ')}` },
  ];
  const title = `density: ${r.nodes.toLocaleString('en-US')} nodes, ${r.deployments} Deployments x ${r.replicas.toLocaleString('en-US')} replicas (${r.pods.toLocaleString('en-US')} pods), the whole cluster on threads (${r.profile} profile)`;
  const failed = r.failures.length === 0 ? [] : ['', `INCOMPLETE: ${r.failures.join('; ')}`];
  return [renderTable(title, rows, 'SLO/target'), ...failed].join('\n');
}

/** ClusterLoader2's latency phase, when it ran: the pod startup SLO as Kubernetes judges it, and the probe beside it. */
function latencyRows(r: DensityBenchResult): Row[] {
  if (r.latency_pods === 0) return [];
  return [
    { name: 'latency pods: pod_startup_p50_ms', ours: ms(r.latency_pod_startup_p50_ms), unit: 'ms', note: `ClusterLoader2's latency phase: ${r.latency_pods} single-pod Deployments, ${r.latency_pods_qps}/s, after the burst; all Running ${r.latency_phase_s ?? 'n/a'} s after the first create` },
    { name: 'latency pods: pod_startup_p99_ms', ours: ms(r.latency_pod_startup_p99_ms), ...vs(r.latency_pod_startup_p99_ms, SLO.podStartupP99Ms), unit: 'ms', note: `${ci(r.latency_pod_startup_p99_ci_ms)}SLO p99 <= 5 s (as CL2 measures it); ${r.latency_pod_startup_odd} odd of ${r.latency_pod_startup_samples}` },
    { name: 'latency phase: mutating p50 / p99', ours: `${ms(r.latency_mutating_p50_ms)} / ${ms(r.latency_mutating_p99_ms)}`, unit: 'ms', note: `${ci(r.latency_mutating_p99_ci_ms)}${r.latency_mutating_samples} calls, ${r.latency_mutating_errors} errors` },
  ];
}

/** The probe's mutating calls as the API server saw them, and the event loop of the thread that handled them. */
function breakdownRows(r: DensityBenchResult): Row[] {
  const b = r.mutating_breakdown;
  const rows: Row[] = [];
  const pair = (f: PhaseFigures) => `${f.p50_ms ?? 'n/a'} / ${f.p99_ms ?? 'n/a'}`;
  if (b !== null) {
    rows.push({ name: 'mutating in the API server p50 / p99', ours: pair(b.handler), unit: 'ms', note: `handler start -> answer; mean ${b.handler.mean_ms ?? 'n/a'} ms against ${b.client.mean_ms ?? 'n/a'} ms at the client` });
    rows.push({ name: 'mutating store txn p50 / p99', ours: pair(b.store), unit: 'ms', note: `etcd_request_duration_seconds; mean ${b.store.mean_ms ?? 'n/a'} ms` });
    for (const [level, f] of Object.entries(b.flow_control_wait_by_level)) {
      rows.push({ name: `flow control wait, ${level}, p50 / p99`, ours: pair(f), unit: 'ms', note: `${f.count} requests; mean ${f.mean_ms ?? 'n/a'} ms (apiserver_flowcontrol_request_wait_duration_seconds)` });
    }
  }
  for (let i = 0; i < r.apiservers; i++) {
    const name = apiserverName(i);
    const api = r.event_loop_delay_ms_by_thread[name];
    const gc = r.burst_gc_s_by_thread[name];
    const cpu = r.burst_cpu_s_by_thread[name];
    const role = name === r.probe_apiserver ? ' (the probe\'s)' : '';
    if (api !== undefined) rows.push({ name: `${name} event-loop delay p50 / p99${role}`, ours: `${api.p50_ms} / ${api.p99_ms}`, unit: 'ms', note: `max ${api.max_ms} ms, mean ${api.mean_ms} ms over the burst${gc === undefined ? '' : `; ${gc} s in GC`}${cpu === undefined ? '' : `; ${cpu} s CPU`}` });
  }
  return rows;
}

/** The three threads that used the most CPU in the burst, for the table (all of them are in the JSON). */
function busiestThreads(byThread: Record<string, number>): string {
  return Object.entries(byThread).slice(0, 3).map(([thread, s]) => `${thread} ${s} s`).join(', ');
}

function errorsByStatus(byStatus: Record<string, number>): string {
  const parts = Object.entries(byStatus).sort((a, b) => b[1] - a[1]).map(([status, n]) => `${n} ${status}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
