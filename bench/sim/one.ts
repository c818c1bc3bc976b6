/**
 * One `bench sim` size in its own process (so its peak RSS is its own):
 * runs the scenario in the simulated runtime and prints one JSON line.
 * With WARM=1 it then runs the same scenario again in the same process, as a
 * study's worker thread runs its next seed with its code already compiled,
 * and reports that run's wall and CPU time beside the first's (peak RSS stays
 * the first run's).
 * Usage: node dist/bench/sim/one.js NODES DURATION_MS SEED [WARM]
 * BENCH_SIM_PLEG=generic runs the kubelets without the EventedPLEG gate (the A/B in docs/performance.md).
 */
import { fullRegistry, parseScenario, runScenario, type SetupStep } from '../../src/chaos/engine/index.js';
import { PODS_PER_NODE, simBenchScenario } from './scenario.js';

export interface SimRunFigures {
  nodes: number;
  pods: number;
  verdict: string;
  failedChecks: string[];
  runMs: number;
  virtualMs: number;
  wallMs: number;
  /** The set-up before the scenario's origin (cluster started, 10 pods per node created and started): wall, virtual, messages. */
  setupWallMs: number;
  setupVirtualMs: number;
  setupEvents: number;
  /** The start-up in its steps (store, each workload's preparation, the wait for a store leader): see `ChaosRun.timing.setupSteps`. */
  setupSteps: SetupStep[];
  /**
   * Wall time from the process's start to the run's (Node's start, this module and the chaos engine's imported):
   * not part of `wallMs` or the speed-up, which time the run itself.
   */
  loadWallMs: number;
  /** CPU time of the whole run, every thread (steadier than wall time on a shared machine). */
  cpuMs: number;
  /**
   * CPU time of the simulation's own thread over the run (Linux, 10 ms ticks; NaN elsewhere): `cpuMs` without V8's
   * compiler and collector threads, which run beside it on the other core. On an idle machine the run's wall time
   * is about this.
   */
  threadCpuMs: number;
  events: number;
  traceHash: string;
  rssMb: number;
  /** The same scenario run a second time in this process (WARM=1): JIT-compiled code, as a study's worker thread. */
  warm?: WarmRunFigures;
}

export interface WarmRunFigures {
  wallMs: number;
  setupWallMs: number;
  cpuMs: number;
  threadCpuMs: number;
  /** Equal to the first run's: the second run replayed it exactly. */
  traceHash: string;
}

async function main(): Promise<void> {
  // performance.now() counts from the process's start (its time origin); the static imports above have been evaluated.
  const loadWallMs = Math.round(performance.now());
  const [nodes, durationMs, seed, warm = 0] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(nodes) || !Number.isInteger(durationMs) || !Number.isInteger(seed) || (warm !== 0 && warm !== 1)) {
    throw new Error('usage: one.js NODES DURATION_MS SEED [WARM: 0 or 1]');
  }
  const { scenario } = parseScenario(simBenchScenario({ nodes: nodes!, durationMs: durationMs!, eventedPleg: process.env.BENCH_SIM_PLEG !== 'generic' }), `bench-sim-${nodes}.yaml`, fullRegistry());
  // Progress on stderr, one line per 10 % of the run (the parent shows the last): a 1,000-node run takes minutes.
  const started = performance.now();
  let reported = -1;
  const run = await runScenario(scenario, {
    seed: seed!, runtime: 'simulated',
    onProgress: (p) => {
      const tenth = Math.floor((p.elapsedMs / p.durationMs) * 10);
      if (tenth === reported) return;
      reported = tenth;
      process.stderr.write(`progress ${nodes} nodes: ${(p.elapsedMs / 1000).toFixed(0)}/${(p.durationMs / 1000).toFixed(0)} s virtual after ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    },
  });
  const figures: SimRunFigures = {
    nodes: nodes!,
    pods: nodes! * PODS_PER_NODE,
    verdict: run.outcome.verdict,
    failedChecks: run.outcome.checks.filter((c) => c.verdict !== 'pass').map((c) => `${c.name}: ${c.summary}`),
    runMs: run.timing.runMs,
    virtualMs: run.timing.virtualMs ?? 0,
    wallMs: run.timing.wallMs,
    setupWallMs: run.timing.setupWallMs,
    setupVirtualMs: run.timing.setupVirtualMs ?? 0,
    setupEvents: run.timing.setupEvents ?? 0,
    setupSteps: run.timing.setupSteps,
    loadWallMs,
    cpuMs: run.timing.cpuMs,
    threadCpuMs: run.timing.threadCpuMs ?? Number.NaN,
    events: run.timing.events ?? 0,
    traceHash: run.timing.traceHash ?? '',
    // maxRSS is in kilobytes.
    rssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  if (warm === 1) {
    const again = await runScenario(scenario, { seed: seed!, runtime: 'simulated' });
    figures.warm = { wallMs: again.timing.wallMs, setupWallMs: again.timing.setupWallMs, cpuMs: again.timing.cpuMs, threadCpuMs: again.timing.threadCpuMs ?? Number.NaN, traceHash: again.timing.traceHash ?? '' };
  }
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench sim: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
