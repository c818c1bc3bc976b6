/**
 * The files of a run: result.json (deterministic: no wall-clock figure in it),
 * history.jsonl, report.html, and timing.json (the wall-clock time the run
 * took and the speed-up over real time: the only part that changes between
 * two simulated runs of the same seed).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJsonl } from '../history.js';
import { renderReport } from './report-html.js';
import { seriesTitle } from './metric-series.js';
import type { ChaosRun, RunOutcome } from './run.js';
import type { ScheduledFault } from './types.js';

export const RESULT_FORMAT = 'kubethreads-chaos-result/1';

export interface ResultFile extends Omit<RunOutcome, 'figures' | 'samples' | 'cluster' | 'metrics'> {
  format: typeof RESULT_FORMAT;
  replay: string;
  versions: Record<string, string>;
  /** Figures per fault. */
  faults: RunOutcome['figures'];
  /** Each replica's role, term, leader and commit index, sampled every scenario.sampleMs. */
  timeline: RunOutcome['samples'];
  /** Kubernetes workloads: desired vs Running pods and the scheduler and controller-manager leaders over time. */
  pods?: RunOutcome['cluster'];
  /** The scenario's `metrics` series (titles in the order of its values) over time. */
  metrics?: { series: string[]; samples: NonNullable<RunOutcome['metrics']> };
}

let cachedVersion: string | undefined;

/** kubethreads' version, from package.json. */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const text = readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8');
    cachedVersion = String((JSON.parse(text) as { version?: string }).version ?? 'unknown');
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}

export function versions(): Record<string, string> {
  return { kubethreads: packageVersion(), node: process.version };
}

export function toResultFile(run: ChaosRun, replay: string): ResultFile {
  const o = run.outcome;
  // Field order is the reading order: verdict and how to replay first.
  return {
    format: RESULT_FORMAT,
    verdict: o.verdict,
    seed: o.seed,
    runtime: o.runtime,
    replay,
    versions: versions(),
    checks: o.checks,
    faults: o.figures,
    counts: o.counts,
    scenario: o.scenario,
    schedule: o.schedule,
    log: o.log,
    timeline: o.samples,
    ...(o.cluster.length > 0 ? { pods: o.cluster } : {}),
    ...(o.metrics !== undefined && o.scenario.metrics !== undefined ? { metrics: { series: o.scenario.metrics.series.map(seriesTitle), samples: o.metrics } } : {}),
  };
}

export interface WrittenFiles {
  dir: string;
  result: string;
  history: string;
  /** Service traffic and API calls, one JSON object per line (absent without such requests). */
  requests?: string;
  report: string;
  timing: string;
}

export function writeRunFiles(dir: string, run: ChaosRun, replay: string): WrittenFiles {
  mkdirSync(dir, { recursive: true });
  const files: WrittenFiles = { dir, result: join(dir, 'result.json'), history: join(dir, 'history.jsonl'), report: join(dir, 'report.html'), timing: join(dir, 'timing.json') };
  writeFileSync(files.result, JSON.stringify(toResultFile(run, replay), null, 2) + '\n');
  writeFileSync(files.history, historyToJsonl(run.history));
  if (run.requests.length > 0) {
    files.requests = join(dir, 'requests.jsonl');
    writeFileSync(files.requests, run.requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  writeFileSync(files.report, renderReport({ outcome: run.outcome, history: run.history, requests: run.requests, replay, versions: versions(), timing: run.timing }));
  writeFileSync(files.timing, JSON.stringify({ ...run.timing, note: 'wall-clock figures: not deterministic, so kept out of result.json' }, null, 2) + '\n');
  return files;
}

/** Reads a result.json back for a replay: its scenario, seed, and the schedule with every fault's targets pinned to those it hit. */
export function replayFromResult(text: string, file: string): { scenario: RunOutcome['scenario']; seed: number; schedule: ScheduledFault[] } {
  let parsed: ResultFile;
  try {
    parsed = JSON.parse(text) as ResultFile;
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message})`);
  }
  if (parsed.format !== RESULT_FORMAT) throw new Error(`${file}: not a chaos result (format ${JSON.stringify(parsed.format)}, expected ${RESULT_FORMAT})`);
  const schedule = parsed.schedule.map((fault, i) => {
    const hit = parsed.faults.find((f) => f.index === i);
    return hit !== undefined && hit.nodes.length > 0 && !hit.nodes.includes('*') ? { ...fault, nodes: hit.nodes } : { ...fault };
  });
  return { scenario: parsed.scenario, seed: parsed.seed, schedule };
}
