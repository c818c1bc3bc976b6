import { defaultActorBenchOptions, quickActorBenchOptions, runActorBench } from '../../bench/actor-messaging/run.js';
import { defaultRaftBenchOptions, quickRaftBenchOptions, runRaftBench } from '../../bench/raft/run.js';
import { defaultKvBenchOptions, quickKvBenchOptions, runKvBench } from '../../bench/kv/run.js';
import { defaultSchedulerBenchOptions, quickSchedulerBenchOptions, runSchedulerBench } from '../../bench/scheduler/run.js';
import { defaultE2eBenchOptions, quickE2eBenchOptions, runE2eBench } from '../../bench/e2e/run.js';
import { defaultSimBenchOptions, quickSimBenchOptions, runSimBench } from '../../bench/sim/run.js';
import { defaultApiServerBenchOptions, quickApiServerBenchOptions, runApiServerBench } from '../../bench/apiserver/run.js';
import { defaultDensityBenchOptions, quickDensityBenchOptions, runDensityBench } from '../../bench/density/run.js';
import { defaultSnapshotStallOptions, quickSnapshotStallOptions, runSnapshotStallBench } from '../../bench/kv/snapshot-stall.js';

interface BenchRun {
  json: unknown;
  table: string;
  /** False when the run could not complete what it measures (the table says what it reached); the command exits 1. */
  ok?: boolean;
}

/** Sizes from the command line; only `density` takes them. */
export interface BenchSizes {
  nodes?: number;
  /** Total pods: replicas = pods / deployments. */
  pods?: number;
  deployments?: number;
  replicas?: number;
  /** The probe's LIST page size (0: one unpaged LIST). */
  listPageLimit?: number;
  /** The probe's unpaged LISTs in slices of this many items (0: whole). */
  listSliceItems?: number;
  controllerManagerQps?: number;
  /** API servers in the cluster (default 1). */
  apiservers?: number;
  /** API Priority and Fairness in the API servers (default false). */
  priorityAndFairness?: boolean;
  /** The probe's mutating calls and LISTs from one thread or two (default 2). */
  probeThreads?: number;
  /** Kill the leading controller-manager this many seconds into the burst. */
  killControllerManagerLeaderAtS?: number;
  /** Pods of the latency phase after the burst (0: none). */
  latencyPods?: number;
  /** Latency pods created per second. */
  latencyPodsQps?: number;
}

/** `--only`: a subset of a benchmark's rows; only `kv` takes it (`failover`, `processes`, `sequential`). */
export type BenchOnly = 'failover' | 'processes' | 'sequential';
const BENCH_ONLY: readonly string[] = ['failover', 'processes', 'sequential'] satisfies BenchOnly[];

/** Options of `kv` alone. */
export interface KvBenchFlags {
  only?: BenchOnly;
  /** false: our replicas fail over by the election timeout alone, as etcd (`--no-leader-down-failover`). */
  leaderDownFailover?: boolean;
  /** `--rounds N` with `--only sequential`: rounds per side (default 10). */
  rounds?: number;
}

/** Options of `sim` alone. */
export interface SimBenchFlags {
  /** `--repeat N`: every size N times, in rounds; `speedup_<nodes>` the median. */
  repeat?: number;
}

type BenchFn = (quick: boolean, sizes: BenchSizes, flags: KvBenchFlags & SimBenchFlags) => Promise<BenchRun>;

/** Benchmarks by name; each issue adds its own. */
const benches: Record<string, BenchFn> = {
  actor: async (quick) => {
    const { result, table } = await runActorBench(quick ? quickActorBenchOptions : defaultActorBenchOptions);
    return { json: result, table };
  },
  raft: async (quick) => {
    const { result, table } = await runRaftBench(quick ? quickRaftBenchOptions : defaultRaftBenchOptions);
    return { json: result, table };
  },
  kv: async (quick, _sizes, flags) => {
    const base = quick ? quickKvBenchOptions : defaultKvBenchOptions;
    const { result, table } = await runKvBench({
      ...base, ...(flags.only === undefined ? {} : { only: flags.only }), ...(flags.leaderDownFailover === false ? { leaderDownFailover: false } : {}), ...(flags.rounds === undefined ? {} : { rounds: flags.rounds }),
    });
    return { json: result, table };
  },
  snapshot: async (quick) => {
    const options = quick ? quickSnapshotStallOptions : defaultSnapshotStallOptions;
    const { result, table } = await runSnapshotStallBench({ ...options, onProgress: (line) => process.stderr.write(`${line}\n`) });
    return { json: result, table, ok: result.modes.every((m) => m.completed) };
  },
  scheduler: async (quick) => {
    const { result, table } = await runSchedulerBench(quick ? quickSchedulerBenchOptions : defaultSchedulerBenchOptions);
    return { json: result, table };
  },
  e2e: async (quick) => {
    const { result, table } = await runE2eBench(quick ? quickE2eBenchOptions : defaultE2eBenchOptions);
    return { json: result, table };
  },
  sim: async (quick, _sizes, flags) => {
    const { result, table } = await runSimBench({ ...(quick ? quickSimBenchOptions : defaultSimBenchOptions), ...(flags.repeat === undefined ? {} : { repeat: flags.repeat }) });
    return { json: result, table };
  },
  apiserver: async (quick) => {
    const { result, table } = await runApiServerBench(quick ? quickApiServerBenchOptions : defaultApiServerBenchOptions);
    return { json: result, table };
  },
  density: async (quick, sizes) => {
    const { result, table, ok } = await runDensityBench(densityOptions(quick, sizes));
    return { json: result, table, ok };
  },
};

/** Benchmarks that take --nodes / --pods / --deployments / --replicas. */
const SIZED_BENCHES = new Set(['density']);

/** Density sizes: --pods splits over the Deployments (default 20); --replicas and --deployments set them directly. */
export function densityOptions(quick: boolean, sizes: BenchSizes): typeof defaultDensityBenchOptions {
  const base = quick ? quickDensityBenchOptions : defaultDensityBenchOptions;
  const nodes = sizes.nodes ?? base.nodes;
  let deployments = sizes.deployments ?? base.deployments;
  let replicas = sizes.replicas ?? base.replicas;
  if (sizes.pods !== undefined) {
    if (sizes.replicas !== undefined && sizes.deployments !== undefined) throw new BenchUsageError('give --pods, or --deployments with --replicas, not all three');
    if (sizes.replicas !== undefined) deployments = sizes.pods / replicas;
    else replicas = sizes.pods / deployments;
    if (!Number.isInteger(deployments) || !Number.isInteger(replicas)) throw new BenchUsageError(`--pods ${sizes.pods} does not split evenly into ${sizes.replicas !== undefined ? `Deployments of ${replicas}` : `${deployments} Deployments`}; pick a multiple`);
  }
  const probeThreads = sizes.probeThreads ?? base.probeThreads;
  if (probeThreads !== 1 && probeThreads !== 2) throw new BenchUsageError(`--probe-threads takes 1 or 2, not ${probeThreads}`);
  return { ...base, nodes, deployments, replicas, listPageLimit: sizes.listPageLimit ?? base.listPageLimit, listSliceItems: sizes.listSliceItems ?? base.listSliceItems, apiservers: sizes.apiservers ?? base.apiservers, priorityAndFairness: sizes.priorityAndFairness ?? base.priorityAndFairness, probeThreads, controllerManagerQps: sizes.controllerManagerQps ?? base.controllerManagerQps, killControllerManagerLeaderAtS: sizes.killControllerManagerLeaderAtS ?? base.killControllerManagerLeaderAtS, latencyPods: sizes.latencyPods ?? base.latencyPods, latencyPodsQps: sizes.latencyPodsQps ?? base.latencyPodsQps };
}

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

export const BENCH_NAMES = Object.keys(benches);

/** Run one benchmark or all; returns the process exit code. */
export async function runBench(name: string, options: { json: boolean; quick: boolean; sizes?: BenchSizes; only?: string; leaderDownFailover?: boolean; repeat?: number; rounds?: number }): Promise<number> {
  const names = name === 'all' ? BENCH_NAMES : [name];
  const unknown = names.filter((n) => benches[n] === undefined);
  if (unknown.length > 0) {
    process.stderr.write(`kubethreads bench: unknown benchmark ${unknown.join(', ')}; choose one of ${BENCH_NAMES.join(', ')} or all\n`);
    return 2;
  }
  const sizes = options.sizes ?? {};
  if (Object.values(sizes).some((v) => v !== undefined) && !names.every((n) => SIZED_BENCHES.has(n))) {
    process.stderr.write(`kubethreads bench: --nodes, --pods, --deployments, --replicas, --list-page-limit, --list-slice-items, --probe-threads, --kill-controller-manager-leader-at, --latency-pods and --latency-pods-qps apply to ${[...SIZED_BENCHES].join(', ')} only\n`);
    return 2;
  }
  if (options.only !== undefined && (!BENCH_ONLY.includes(options.only) || !names.every((n) => n === 'kv'))) {
    process.stderr.write(`kubethreads bench: --only takes ${BENCH_ONLY.join(' or ')}, for kv only (got --only ${options.only} for ${names.join(', ')})\n`);
    return 2;
  }
  if (options.leaderDownFailover === false && !names.every((n) => n === 'kv')) {
    process.stderr.write('kubethreads bench: --no-leader-down-failover applies to kv only\n');
    return 2;
  }
  if (options.rounds !== undefined && (options.only !== 'sequential' || !names.every((n) => n === 'kv'))) {
    process.stderr.write('kubethreads bench: --rounds applies to kv --only sequential only\n');
    return 2;
  }
  if (options.repeat !== undefined && !names.every((n) => n === 'sim')) {
    process.stderr.write('kubethreads bench: --repeat applies to sim only\n');
    return 2;
  }
  const kvFlags: KvBenchFlags & SimBenchFlags = { only: options.only as BenchOnly | undefined, leaderDownFailover: options.leaderDownFailover, repeat: options.repeat, rounds: options.rounds };
  const results: Record<string, unknown> = {};
  let ok = true;
  for (const n of names) {
    let run: BenchRun;
    try {
      run = await benches[n]!(options.quick, sizes, kvFlags);
    } catch (error) {
      if (!(error instanceof BenchUsageError)) throw error;
      process.stderr.write(`kubethreads bench ${n}: ${error.message}\n`);
      return 2;
    }
    results[n] = run.json;
    if (run.ok === false) ok = false;
    if (!options.json) process.stdout.write(`${run.table}\n\n`);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(names.length === 1 ? results[names[0]!] : results, null, 2)}\n`);
  return ok ? 0 : 1;
}
