/**
 * How many client processes it takes to saturate a store, and which figures
 * were bounded by their client rather than the store. Pure: the run of one
 * step is injected.
 */
import type { CrossProcessResult } from './processes.js';

/** A doubling of client processes that raises throughput by less than this has found the store's limit, not the client's. */
export const SATURATION_GAIN_MIN = 1.1;

export interface ProcessScaling {
  /** Every step run, in order: 1, 2, 4, ... processes. */
  steps: CrossProcessResult[];
  /** The step with the highest throughput. */
  best: CrossProcessResult;
  /**
   * The last doubling gained under SATURATION_GAIN_MIN: the store (or the
   * machine) is the limit. False when the steps stopped at the process cap
   * while still rising: even the best figure may be client-bound.
   */
  saturated: boolean;
}

/** 1, 2, 4, ... up to `processesMax` (and `processesMax` itself when it is no power of two). */
export function processCounts(processesMax: number): number[] {
  if (!Number.isInteger(processesMax) || processesMax < 1) throw new Error(`processesMax must be a positive integer, not ${processesMax}`);
  const counts: number[] = [];
  for (let p = 1; p < processesMax; p *= 2) counts.push(p);
  counts.push(processesMax);
  return counts;
}

/** Double the client processes until a doubling stops paying (saturated) or the cap is reached. */
export async function scaleUntilSaturated(run: (processes: number) => Promise<CrossProcessResult>, processesMax: number, gainMin = SATURATION_GAIN_MIN): Promise<ProcessScaling> {
  const steps: CrossProcessResult[] = [];
  let saturated = false;
  for (const processes of processCounts(processesMax)) {
    const step = await run(processes);
    const previousBest = steps.length === 0 ? undefined : Math.max(...steps.map((s) => s.opsPerS));
    steps.push(step);
    if (previousBest !== undefined && step.opsPerS < gainMin * previousBest) {
      saturated = true;
      break;
    }
  }
  const best = steps.reduce((a, b) => (b.opsPerS > a.opsPerS ? b : a));
  return { steps, best, saturated };
}

/**
 * Whether a throughput figure measured through one client was the client's
 * ceiling: more client processes reached at least `gainMin` times it.
 */
export function isClientBound(figureOpsPerS: number, scaling: ProcessScaling, gainMin = SATURATION_GAIN_MIN): boolean {
  return scaling.best.opsPerS >= gainMin * figureOpsPerS;
}

/** `1p 2,104 · 2p 3,911 · 4p 4,020 ops/s (saturated)`: the steps as one line for the table's notes. */
export function describeScaling(scaling: ProcessScaling): string {
  const steps = scaling.steps.map((s) => `${s.processes}p ${Math.round(s.opsPerS).toLocaleString('en-US')}`).join(' · ');
  return `${steps} ops/s (${scaling.saturated ? 'saturated' : `still rising at ${scaling.steps.at(-1)!.processes} processes`})`;
}
