/**
 * `kubethreads bench sim`: how much faster than real time the simulated
 * runtime runs a whole cluster through a node crash, at 20, 100 and 1,000
 * nodes (10 pods per node). Each size runs in its own process, so each peak
 * RSS is that size's own. The baseline is real time: a speed-up of 1 means
 * the simulation keeps pace with a real cluster.
 *
 * Speed-up is given two ways, both honest and labelled: the scenario's
 * duration over the wall time (conservative: set-up and the wait for
 * convergence are not counted as simulated time), and all virtual time
 * simulated over the wall time. The start-up (the cluster and its pods
 * created and started, before the scenario's clock starts) is also shown
 * apart, with the scenario's speed-up without it: at 20 nodes it is most of
 * the wall time. CPU time is reported beside wall time: on a shared machine it
 * moves less with the load.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { median } from '../lib/stats.js';
import type { SetupStep } from '../../src/chaos/engine/index.js';
import type { SimRunFigures } from './one.js';

export interface SimBenchOptions {
  sizes: Array<{ nodes: number; durationMs: number }>;
  seed: number;
  /** Sizes up to this many nodes also run a second time in their process (the warm figure); 0: none. */
  warmNodesMax?: number;
  /**
   * Run every size this many times (default 1), in rounds (20, 100, 1,000, 20, 100, 1,000...) so a change in the
   * machine's load falls on every size alike; `speedup_<nodes>` is then the median. Why: one run's speed-up moves by
   * a quarter between two runs of one build on this machine.
   */
  repeat?: number;
}

/** Warm runs for the sizes a study runs many seeds of; at 1,000 nodes a second run would double a long bench. */
const WARM_NODES_MAX_DEFAULT = 100;

export const defaultSimBenchOptions: SimBenchOptions = {
  sizes: [
    { nodes: 20, durationMs: 8_000 },
    { nodes: 100, durationMs: 120_000 },
    { nodes: 1_000, durationMs: 120_000 },
  ],
  seed: 1,
};
export const quickSimBenchOptions: SimBenchOptions = { sizes: [{ nodes: 5, durationMs: 4_000 }, { nodes: 20, durationMs: 8_000 }], seed: 1 };

/** JSON fields as issue 15 names them (`speedup_<nodes>` for each size run), plus every run's figures. */
export interface SimBenchResult {
  [field: `speedup_${number}`]: number;
  rss_mb_1000?: number;
  /** Simulated events (messages delivered) per wall-clock second, over every size. */
  events_per_s: number;
  /**
   * Per size: `speedup` (scenario over wall), `virtual_speedup` (all virtual time over wall), `scenario_speedup`
   * (the scenario over the wall time after the start-up), `cpu_speedup` (the scenario over the run's CPU time),
   * `process_speedup` (the scenario over the process's wall time until the run's end: module loading included).
   */
  runs: Array<SimRunFigures & { speedup: number; virtual_speedup: number; scenario_speedup: number; cpu_speedup: number; process_speedup: number; events_per_s: number; warm_speedup?: number }>;
  seed: number;
  /** Runs per size (`--repeat`). */
  repeat: number;
  /** Every run's speed-up per size (key: nodes), in the order run; `speedup_<nodes>` is their median. */
  speedups_by_size: Record<string, number[]>;
}

/**
 * V8 flags of a size's process. A large old generation: 1,000 nodes hold
 * tens of thousands of objects in each of several caches. From 500 nodes,
 * semi-spaces of 64 MB (V8's default is 16): a large simulated cluster
 * allocates fast and keeps much of it for a while, and a small young
 * generation promotes it; at 1,000 nodes this took 17 % less CPU. Below, the
 * larger young generation costs more than it saves (fresh memory is dear on
 * this machine: 20 nodes went from 4.5x to 3.9x; 100 nodes did not move). See
 * docs/performance.md. `chaos study` threads get the larger young generation;
 * for `chaos run --sim` on a large cluster, set NODE_OPTIONS=--max-semi-space-size=64.
 */
export function simNodeFlags(nodes: number): string[] {
  return nodes >= 500 ? ['--max-old-space-size=12288', '--max-semi-space-size=64'] : ['--max-old-space-size=12288'];
}

function runOne(nodes: number, durationMs: number, seed: number, warm: boolean): Promise<SimRunFigures> {
  const script = fileURLToPath(new URL('./one.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...simNodeFlags(nodes), script, String(nodes), String(durationMs), String(seed), warm ? '1' : '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      const text = c.toString();
      err += text;
      // The child's progress lines go on to ours, so a long size shows it is alive.
      for (const line of text.split('\n')) if (line.startsWith('progress ')) process.stderr.write(`bench sim: ${line.slice('progress '.length)}\n`);
    });
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`bench sim at ${nodes} nodes failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`));
        return;
      }
      resolve(JSON.parse(line) as SimRunFigures);
    });
  });
}

/** Every run's speed-up per size (key: nodes), in the order run. */
export function speedupsOf(runs: ReadonlyArray<{ nodes: number; speedup: number }>): Record<string, number[]> {
  const bySize: Record<string, number[]> = {};
  for (const r of runs) (bySize[String(r.nodes)] ??= []).push(r.speedup);
  return bySize;
}

export async function runSimBench(options: SimBenchOptions = defaultSimBenchOptions): Promise<{ result: SimBenchResult; table: string }> {
  const repeat = options.repeat ?? 1;
  if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`bench sim: repeat must be a whole number of runs, at least 1 (got ${repeat})`);
  const progress = new Progress(options.sizes.length * repeat, 'bench sim');
  const runs: SimBenchResult['runs'] = [];
  for (let round = 0; round < repeat; round++) {
    for (const size of options.sizes) {
      const figures = await runOne(size.nodes, size.durationMs, options.seed, size.nodes <= (options.warmNodesMax ?? WARM_NODES_MAX_DEFAULT));
      if (figures.warm !== undefined && figures.warm.traceHash !== figures.traceHash) {
        throw new Error(`bench sim at ${size.nodes} nodes: the second run in one process did not replay the first (trace ${figures.warm.traceHash}, first ${figures.traceHash})`);
      }
      const earlier = runs.find((r) => r.nodes === size.nodes);
      if (earlier !== undefined && earlier.traceHash !== figures.traceHash) {
        throw new Error(`bench sim at ${size.nodes} nodes: run ${round + 1} did not replay run 1 of the same seed (trace ${figures.traceHash}, first ${earlier.traceHash})`);
      }
      const seconds = figures.wallMs / 1000;
      runs.push({
        ...figures,
        speedup: round2(figures.runMs / figures.wallMs),
        virtual_speedup: round2(figures.virtualMs / figures.wallMs),
        scenario_speedup: round2(figures.runMs / Math.max(1, figures.wallMs - figures.setupWallMs)),
        cpu_speedup: round2(figures.runMs / Math.max(1, figures.cpuMs)),
        process_speedup: round2(figures.runMs / (figures.loadWallMs + figures.wallMs)),
        events_per_s: Math.round(figures.events / seconds),
        ...(figures.warm !== undefined ? { warm_speedup: round2(figures.runMs / figures.warm.wallMs) } : {}),
      });
      progress.step(`${size.nodes} nodes${repeat > 1 ? ` (run ${round + 1} of ${repeat})` : ''}: ${(figures.runMs / 1000).toFixed(0)} s in ${seconds.toFixed(1)} s, ${figures.verdict}`);
    }
  }
  const speedupsBySize = speedupsOf(runs);
  const result = { seed: options.seed, repeat, speedups_by_size: speedupsBySize, events_per_s: Math.round(runs.reduce((n, r) => n + r.events, 0) / (runs.reduce((n, r) => n + r.wallMs, 0) / 1000)), runs } as SimBenchResult;
  for (const [nodes, speedups] of Object.entries(speedupsBySize)) result[`speedup_${Number(nodes)}`] = median(speedups);
  const thousand = runs.filter((r) => r.nodes === 1_000);
  if (thousand.length > 0) result.rss_mb_1000 = Math.max(...thousand.map((r) => r.rssMb));
  const spread: Row[] = repeat === 1 ? [] : Object.entries(speedupsBySize).map(([nodes, speedups]) => ({
    name: `${nodes} nodes: speed-up, median of ${speedups.length} runs`,
    ours: median(speedups),
    baseline: 1,
    ratio: median(speedups),
    unit: '× real time',
    note: `range ${Math.min(...speedups)}-${Math.max(...speedups)}×; each: ${speedups.join(', ')}`,
  }));
  const rows: Row[] = runs.flatMap((r) => [
    { name: `${r.nodes} nodes / ${r.pods} pods: run speed-up`, ours: r.speedup, baseline: 1, ratio: r.speedup, unit: '× real time', note: `${(r.runMs / 1000).toFixed(0)} s of scenario in ${(r.wallMs / 1000).toFixed(1)} s wall; verdict ${r.verdict}${r.failedChecks.length > 0 ? ` (${r.failedChecks.join('; ')})` : ''}` },
    { name: `${r.nodes} nodes: all virtual time`, ours: r.virtual_speedup, baseline: 1, ratio: r.virtual_speedup, unit: '× real time', note: `${(r.virtualMs / 1000).toFixed(0)} s simulated, set-up and convergence included` },
    { name: `${r.nodes} nodes: start-up`, ours: round2(r.setupWallMs / 1000), unit: 's wall', note: `${(r.setupVirtualMs / 1000).toFixed(1)} s virtual, ${r.setupEvents.toLocaleString('en-US')} of the ${r.events.toLocaleString('en-US')} messages` },
    { name: `${r.nodes} nodes: start-up steps`, ours: round2(r.setupWallMs / 1000), unit: 's wall', note: r.setupSteps.map(stepNote).join('; ') },
    { name: `${r.nodes} nodes: module loading`, ours: round2(r.loadWallMs / 1000), unit: 's wall', note: `before the run, not in its wall time; the whole process until the run's end: ${r.process_speedup}× real time` },
    { name: `${r.nodes} nodes: scenario after the start-up`, ours: r.scenario_speedup, baseline: 1, ratio: r.scenario_speedup, unit: '× real time', note: `${(r.runMs / 1000).toFixed(0)} s of scenario and the wait for convergence in ${((r.wallMs - r.setupWallMs) / 1000).toFixed(1)} s wall` },
    { name: `${r.nodes} nodes: CPU time`, ours: round2(r.cpuMs / 1000), unit: 's CPU', note: `the scenario over CPU time: ${r.cpu_speedup}×; the simulation's own thread ${(r.threadCpuMs / 1000).toFixed(2)} s, V8's compiler and collector threads the rest` },
    ...(r.warm !== undefined && r.warm_speedup !== undefined
      ? [{ name: `${r.nodes} nodes: warm run speed-up`, ours: r.warm_speedup, baseline: 1, ratio: r.warm_speedup, unit: '× real time', note: `the same run again in the same process (as a study's worker thread): ${(r.warm.wallMs / 1000).toFixed(1)} s wall, ${(r.warm.cpuMs / 1000).toFixed(1)} s CPU (${(r.warm.threadCpuMs / 1000).toFixed(1)} s the simulation's thread), start-up ${(r.warm.setupWallMs / 1000).toFixed(1)} s; same trace` }]
      : []),
    { name: `${r.nodes} nodes: events per second`, ours: r.events_per_s, unit: 'msgs/s', note: `${r.events.toLocaleString('en-US')} messages delivered; trace ${r.traceHash}` },
    { name: `${r.nodes} nodes: peak RSS`, ours: r.rssMb, unit: 'MB', note: `${((r.rssMb * 1024) / r.nodes).toFixed(0)} kB per node, pods included` },
  ]);
  const table = renderTable(`bench sim: the simulated runtime through a node crash, seed ${options.seed}${repeat > 1 ? `, every size ${repeat} times` : ''} (baseline: real time)`, [...spread, ...rows], 'real time');
  return { result, table };
}

function stepNote(step: SetupStep): string {
  const virtual = step.virtualMs === undefined ? '' : `, ${(step.virtualMs / 1000).toFixed(2)} s virtual, ${(step.events ?? 0).toLocaleString('en-US')} msgs`;
  const thread = step.threadCpuMs === undefined ? '' : `, ${(step.threadCpuMs / 1000).toFixed(2)} s its thread`;
  return `${step.step} ${(step.wallMs / 1000).toFixed(2)} s (${(step.cpuMs / 1000).toFixed(2)} s CPU${thread}${virtual})`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
