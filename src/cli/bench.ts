import { defaultActorBenchOptions, quickActorBenchOptions, runActorBench } from '../../bench/actor-messaging/run.js';
import { defaultRaftBenchOptions, quickRaftBenchOptions, runRaftBench } from '../../bench/raft/run.js';
import { defaultKvBenchOptions, quickKvBenchOptions, runKvBench } from '../../bench/kv/run.js';
import { defaultSchedulerBenchOptions, quickSchedulerBenchOptions, runSchedulerBench } from '../../bench/scheduler/run.js';
import { defaultE2eBenchOptions, quickE2eBenchOptions, runE2eBench } from '../../bench/e2e/run.js';
import { defaultSimBenchOptions, quickSimBenchOptions, runSimBench } from '../../bench/sim/run.js';
import { defaultApiServerBenchOptions, quickApiServerBenchOptions, runApiServerBench } from '../../bench/apiserver/run.js';

interface BenchRun {
  json: unknown;
  table: string;
}

type BenchFn = (quick: boolean) => Promise<BenchRun>;

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
  kv: async (quick) => {
    const { result, table } = await runKvBench(quick ? quickKvBenchOptions : defaultKvBenchOptions);
    return { json: result, table };
  },
  scheduler: async (quick) => {
    const { result, table } = await runSchedulerBench(quick ? quickSchedulerBenchOptions : defaultSchedulerBenchOptions);
    return { json: result, table };
  },
  e2e: async (quick) => {
    const { result, table } = await runE2eBench(quick ? quickE2eBenchOptions : defaultE2eBenchOptions);
    return { json: result, table };
  },
  sim: async (quick) => {
    const { result, table } = await runSimBench(quick ? quickSimBenchOptions : defaultSimBenchOptions);
    return { json: result, table };
  },
  apiserver: async (quick) => {
    const { result, table } = await runApiServerBench(quick ? quickApiServerBenchOptions : defaultApiServerBenchOptions);
    return { json: result, table };
  },
};

export const BENCH_NAMES = Object.keys(benches);

/** Run one benchmark or all; returns the process exit code. */
export async function runBench(name: string, options: { json: boolean; quick: boolean }): Promise<number> {
  const names = name === 'all' ? BENCH_NAMES : [name];
  const unknown = names.filter((n) => benches[n] === undefined);
  if (unknown.length > 0) {
    process.stderr.write(`kubethreads bench: unknown benchmark ${unknown.join(', ')}; choose one of ${BENCH_NAMES.join(', ')} or all\n`);
    return 2;
  }
  const results: Record<string, unknown> = {};
  for (const n of names) {
    const run = await benches[n]!(options.quick);
    results[n] = run.json;
    if (!options.json) process.stdout.write(`${run.table}\n\n`);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(names.length === 1 ? results[names[0]!] : results, null, 2)}\n`);
  return 0;
}
