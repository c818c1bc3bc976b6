/**
 * One run of a study: a scenario variant and a seed in, the one figure the
 * study plots out. The same function runs in this thread (`--workers 1`) and
 * in a pool thread (study-worker.ts), so a serial and a parallel study run
 * exactly the same code on exactly the same input.
 */
import { runScenario } from './run.js';
import type { PluginRegistry } from './registry.js';
import { figureOf } from './figures.js';
import type { StudyFigure } from './figures.js';
import type { Scenario } from './types.js';

/** Plain data only: it crosses to a worker thread by structured clone. */
export interface StudyRunTask {
  /** The scenario with the study's key already set to this run's value. */
  scenario: Scenario;
  seed: number;
  figure: StudyFigure;
  fault: number;
  /** Default simulated; threaded when a setting runs real etcd processes (then every setting does, to compare like with like). */
  runtime?: 'simulated' | 'threaded';
}

/** What a run sends back: small, so a thousand of them cost nothing to collect. */
export interface StudyRunFigure {
  /** The figure in ms; null when it never happened within the run. */
  valueMs: number | null;
  /** Wall clock of this run: not deterministic, never in study.json. */
  wallMs: number;
  /** The simulated run's trace digest (same scenario and seed, same hash, in any thread). */
  traceHash: string | undefined;
}

export async function runStudyTask(task: StudyRunTask, registry?: PluginRegistry): Promise<StudyRunFigure> {
  const run = await runScenario(task.scenario, { seed: task.seed, runtime: task.runtime ?? 'simulated', registry, skipChecks: true });
  return { valueMs: figureOf(run.outcome.figures, task.fault, task.figure), wallMs: run.timing.wallMs, traceHash: run.timing.traceHash };
}
