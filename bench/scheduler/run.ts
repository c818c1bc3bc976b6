/**
 * `kubethreads bench scheduler`: pods scheduled per second and created →
 * bound latency through the real API server and the replicated store, with
 * many nodes (Node objects only: no kubelets, as in scheduler_perf), and the
 * time from creating a large Deployment until all its pods are bound
 * (through the controller-manager too). The anchor is Kubernetes'
 * scheduler_perf SchedulingBasic threshold: 680 pods/s at 5,000 nodes on a
 * large machine.
 */
import { ThreadedSystem } from '../../src/actor/index.js';
import { apiServer } from '../../src/api/behaviour.js';
import { timingFor } from '../../src/cluster/spec.js';
import { spawnEtcdGroup } from '../../src/kv/replica/group.js';
import { spawnControllerManagers } from '../../actors/controller-manager.js';
import { spawnSchedulers } from '../../actors/scheduler.js';
import type { SchedulerComponentStatus } from '../../src/scheduler/component.js';
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { Latencies, round } from '../lib/stats.js';
import { schedulerBenchDriver, type SchedulerDriverMsg, type SchedulerRunRequest, type SchedulerRunResult } from './driver.js';

export interface SchedulerBenchOptions {
  nodes: number;
  pods: number;
  concurrency: number;
  deploymentReplicas: number;
}

export const defaultSchedulerBenchOptions: SchedulerBenchOptions = { nodes: 1_000, pods: 5_000, concurrency: 64, deploymentReplicas: 1_000 };
export const quickSchedulerBenchOptions: SchedulerBenchOptions = { nodes: 50, pods: 300, concurrency: 32, deploymentReplicas: 100 };

/** scheduler_perf's SchedulingBasic threshold (5,000 nodes, large machine). */
export const SCHEDULER_PERF_PODS_PER_S = 680;

/** JSON fields as the issue names them, plus the run's shape. */
export interface SchedulerBenchResult {
  pods_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  deployment_1000_bound_s: number | null;
  nodes: number;
  pods: number;
  deployment_replicas: number;
  /** Latency samples that cannot be right (bound before sent, never bound): counted, never clamped. */
  odd_samples: number;
  /** First create sent → last create acknowledged; near the whole run's time, the creates set the pace, not the binds. */
  pods_created_s: number;
  /** First create sent → last pod bound (what pods_per_s divides by). */
  pods_bound_s: number;
  /** Bindings the API refused or did not answer in time, each retried after a backoff (both scheduler replicas). */
  bind_failures: number;
}

export async function runSchedulerBench(options: SchedulerBenchOptions = defaultSchedulerBenchOptions): Promise<{ result: SchedulerBenchResult; table: string }> {
  const progress = new Progress(3, 'bench scheduler');
  // The fast profile: leader election settles in a second instead of fifteen.
  const timing = timingFor('fast');
  const system = new ThreadedSystem({ seed: 1, logLevel: 'warn' });
  let run: SchedulerRunResult;
  let schedulers: string[] = [];
  let bindFailures = 0;
  try {
    const group = await spawnEtcdGroup(system, { replicas: 3, replica: { tickMs: timingFor('realistic').raftTickMs } });
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'replicated', options: { replicas: group.names } }, http: false } });
    schedulers = await spawnSchedulers(system, { leaseDurationMs: timing.leaseDurationMs, renewDeadlineMs: timing.renewDeadlineMs, retryPeriodMs: timing.retryPeriodMs });
    if (options.deploymentReplicas > 0) await spawnControllerManagers(system, { timing });
    await system.spawn(schedulerBenchDriver, { name: 'bench-driver', args: null });
    progress.step('cluster started');
    const request: SchedulerRunRequest = { nodes: options.nodes, pods: options.pods, concurrency: options.concurrency, deploymentReplicas: options.deploymentReplicas };
    run = await system.ref<SchedulerDriverMsg>('bench-driver').ask<SchedulerRunResult>({ type: 'run', body: request }, { timeoutMs: 1_800_000 });
    // Refused or lost bindings are retried with backoff: how many there were tells a slow run's cause.
    for (const name of schedulers) {
      const status = await system.ref(name).ask<SchedulerComponentStatus>({ type: 'scheduler.status', body: null }, { timeoutMs: 10_000 });
      bindFailures += status.bindFailures;
    }
    progress.step('pods scheduled');
  } finally {
    await system.shutdown();
  }
  const latencies = new Latencies();
  for (const ms of run.latenciesMs) latencies.record(ms * 1000);
  const result: SchedulerBenchResult = {
    pods_per_s: Math.round(run.podsScheduled / (run.wallMs / 1000)),
    latency_p50_ms: round(latencies.percentile(50) / 1000),
    latency_p99_ms: round(latencies.percentile(99) / 1000),
    deployment_1000_bound_s: run.deploymentBoundMs === undefined ? null : round(run.deploymentBoundMs / 1000),
    nodes: options.nodes,
    pods: options.pods,
    deployment_replicas: options.deploymentReplicas,
    odd_samples: run.oddSamples,
    pods_created_s: round(run.createdMs / 1000),
    pods_bound_s: round(run.wallMs / 1000),
    bind_failures: bindFailures,
  };
  progress.step('done');
  const rows: Row[] = [
    { name: 'pods scheduled per second', ours: result.pods_per_s, baseline: SCHEDULER_PERF_PODS_PER_S, ratio: round(result.pods_per_s / SCHEDULER_PERF_PODS_PER_S), unit: 'pods/s', note: `anchor: scheduler_perf SchedulingBasic threshold, 5,000 nodes on a large machine; this run: ${options.nodes.toLocaleString('en-US')} nodes` },
    { name: 'all pods created / all bound', ours: `${result.pods_created_s} / ${result.pods_bound_s}`, unit: 's', note: 'from the first create sent' },
    { name: 'create sent → bound p50', ours: result.latency_p50_ms, unit: 'ms' },
    { name: 'create sent → bound p99', ours: result.latency_p99_ms, unit: 'ms', note: `${result.odd_samples} odd sample(s) (bound before sent or never bound); ${result.bind_failures} binding(s) refused or unanswered, retried` },
    { name: `Deployment of ${options.deploymentReplicas}: all pods bound`, ours: result.deployment_1000_bound_s ?? 'skipped', unit: 's', note: 'through the controller-manager' },
  ];
  const table = renderTable(
    `scheduler: ${options.pods.toLocaleString('en-US')} pods on ${options.nodes.toLocaleString('en-US')} nodes through the apiserver and 3 etcd replicas (threads, real WAL), ${options.concurrency} creates in flight`,
    rows,
    'anchor',
  );
  return { result, table };
}
