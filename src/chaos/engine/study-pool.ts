/**
 * I/O EDGE of studies: where a study's runs execute. In this thread, one
 * after another (`workers: 1`, as before pools), or on a Piscina pool of
 * worker threads, one simulated run per thread at a time.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { PluginRegistry } from './registry.js';
import { runStudyTask, type StudyRunFigure, type StudyRunTask } from './study-run.js';

export interface StudyRunner {
  /** How many runs it executes at once. */
  readonly concurrency: number;
  run(task: StudyRunTask): Promise<StudyRunFigure>;
  destroy(): Promise<void>;
}

/** Worker threads at most. Why: each holds a whole simulated cluster; more than this is more memory, not more speed, on any machine we know. */
export const STUDY_WORKERS_MAX = 256;

/** Young generation of a thread that runs simulations (see poolRunner). */
export const SIM_YOUNG_GENERATION_MB = 192;

/** The default: one thread per core the process may use. */
export function defaultStudyWorkers(): number {
  return availableParallelism();
}

export function inProcessRunner(registry?: PluginRegistry): StudyRunner {
  return { concurrency: 1, run: (task) => runStudyTask(task, registry), destroy: () => Promise.resolve() };
}

export function poolRunner(threads: number): StudyRunner {
  if (!Number.isInteger(threads) || threads < 1 || threads > STUDY_WORKERS_MAX) throw new Error(`a study pool needs 1 to ${STUDY_WORKERS_MAX} threads, not ${threads}`);
  const pool = new Piscina<StudyRunTask, StudyRunFigure>({
    filename: new URL('./study-worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // One simulated run per thread: two would only interleave on the same core and double the memory.
    concurrentTasksPerWorker: 1,
    // A simulated cluster allocates fast and keeps much of it a while (watch caches, Raft entries in
    // flight): a young generation of 192 MB (semi-spaces of 64 MB) promotes less to the old generation.
    // Measured on bench sim at 1,000 nodes: 17 % less CPU than V8's default (docs/performance.md).
    resourceLimits: { maxYoungGenerationSizeMb: SIM_YOUNG_GENERATION_MB },
  });
  return { concurrency: threads, run: (task) => pool.run(task), destroy: () => pool.destroy() };
}
