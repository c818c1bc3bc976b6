/**
 * Studies: one scenario, several settings of one key, many seeds each, in the
 * simulated runtime; the distribution of one figure per setting, as a table,
 * JSON, and an HTML page with a cumulative distribution per setting (the
 * shape of the Raft paper's Figure 16). With `workers` > 1 the runs go to a
 * pool of worker threads; results are collected by (value, seed), so the
 * output is the same byte for byte whatever order runs finish in.
 */
import { parse as parseYamlScalar } from 'yaml';
import { escapeHtml } from './report-html.js';
import { setPath } from './scenario.js';
import { percentile } from './checks.js';
import { defaultRegistry, type PluginRegistry } from './registry.js';
import type { Scenario } from './types.js';
import { STUDY_FIGURES, figureOf, type StudyFigure } from './figures.js';
import type { StudyRunFigure, StudyRunTask } from './study-run.js';
import { inProcessRunner, poolRunner, type StudyRunner } from './study-pool.js';

export { STUDY_FIGURES, figureOf, type StudyFigure };

export interface StudyOptions {
  key: string;
  values: unknown[];
  labels?: string[];
  seeds: number;
  firstSeed?: number;
  figure: StudyFigure;
  /** Which fault's figure (by schedule index). */
  fault: number;
  /** Only with `workers: 1`: plugins are code, which cannot cross to a worker thread (the pool uses the default registry). */
  registry?: PluginRegistry;
  /** Runs at once: 1 runs them one after another in this thread; more, on a pool of that many worker threads (at most one per run). Default 1. */
  workers?: number;
  /** Called as each run completes, in completion order (which varies with `workers`); `wallMs` is that run's wall time. */
  onRun?: (done: number, total: number, label: string, seed: number, value: number | null, wallMs: number) => void;
}

export interface StudySetting {
  label: string;
  value: unknown;
  /** One per seed, sorted; runs where the figure never happened are counted in `censored`. */
  valuesMs: number[];
  censored: number;
  seeds: number;
  minMs: number | null;
  medianMs: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface StudyResult {
  format: 'kubethreads-chaos-study/1';
  scenario: string;
  key: string;
  figure: StudyFigure;
  fault: number;
  seeds: { first: number; count: number };
  settings: StudySetting[];
  /** Present when the runs were threaded (a setting ran on real etcd); absent: simulated. */
  runtime?: 'threaded';
}

/** Runs of one study at most. Why: each is a whole simulated cluster; beyond this, split the study. */
export const STUDY_RUNS_MAX = 100_000;

/** `KEY=V1,V2,...` → key and values (YAML scalars: numbers, booleans, strings). */
export function parseVary(text: string): { key: string; values: unknown[] } {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) throw new Error(`--vary needs KEY=V1,V2,...; got ${JSON.stringify(text)}`);
  const key = text.slice(0, at).trim();
  const values = text
    .slice(at + 1)
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
    .map((v) => parseYamlScalar(v) as unknown);
  if (values.length === 0) throw new Error(`--vary ${key}: give at least one value`);
  return { key, values };
}

/** A run of the study threw: which setting and seed, so it can be run alone. The study stops handing out runs. */
export class StudyRunError extends Error {
  constructor(
    readonly label: string,
    readonly value: unknown,
    readonly seed: number,
    readonly reason: unknown,
  ) {
    super(`the run of ${label} with seed ${seed} failed: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'StudyRunError';
  }
}

interface PlannedRun {
  /** Index into the study's values. */
  setting: number;
  label: string;
  task: StudyRunTask;
}

/** Every run of the study in (value, seed) order: the order results are collected in, whatever order they finish in. */
function planStudy(scenario: Scenario, options: StudyOptions, firstSeed: number): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const runtime = studyRuntime(scenario, options);
  for (const [setting, value] of options.values.entries()) {
    const label = labelOf(options, setting);
    const variant = setPath(scenario, options.key, value);
    for (let s = 0; s < options.seeds; s++) {
      runs.push({ setting, label, task: { scenario: variant, seed: firstSeed + s, figure: options.figure, fault: options.fault, ...(runtime === 'threaded' ? { runtime } : {}) } });
    }
  }
  return runs;
}

/**
 * Simulated, unless a setting runs on real etcd: real processes cannot be simulated, and a figure of the
 * simulator beside one of real threads would compare two clocks, so then every setting runs threaded.
 */
export function studyRuntime(scenario: Scenario, options: Pick<StudyOptions, 'key' | 'values'>): 'simulated' | 'threaded' {
  const etcd = options.values.some((value) => setPath(scenario, options.key, value).cluster.store === 'etcd');
  return etcd ? 'threaded' : 'simulated';
}

function labelOf(options: StudyOptions, setting: number): string {
  return options.labels?.[setting] ?? `${options.key}=${String(options.values[setting])}`;
}

export async function runStudy(scenario: Scenario, options: StudyOptions): Promise<StudyResult> {
  const total = options.values.length * options.seeds;
  if (total > STUDY_RUNS_MAX) throw new Error(`the study would run ${total} scenarios, more than ${STUDY_RUNS_MAX}`);
  const asked = options.workers ?? 1;
  if (!Number.isInteger(asked) || asked < 1) throw new Error(`a study needs at least one worker, not ${String(options.workers)}`);
  // More threads than runs would only start idle clusters' worth of isolates; threaded runs go one at a time, or they would measure each other.
  const workers = studyRuntime(scenario, options) === 'threaded' ? 1 : Math.min(asked, Math.max(total, 1));
  if (workers > 1 && options.registry !== undefined && options.registry !== defaultRegistry) {
    throw new Error('a study with its own plugin registry runs with workers: 1 (plugins are code, which cannot cross to a worker thread)');
  }
  const runner = workers === 1 ? inProcessRunner(options.registry) : poolRunner(workers);
  try {
    return await runStudyWith(scenario, options, runner);
  } finally {
    await runner.destroy();
  }
}

/** The study on a given runner (tests pass one that finishes runs out of order). */
export async function runStudyWith(scenario: Scenario, options: StudyOptions, runner: StudyRunner): Promise<StudyResult> {
  const firstSeed = options.firstSeed ?? 1;
  const runs = planStudy(scenario, options, firstSeed);
  const figures = await executeRuns(runs, runner, options);
  // Runs are planned in (value, seed) order, so a setting's runs are one slice.
  const settings = options.values.map((value, setting) => summarize(labelOf(options, setting), value, options.seeds, figures.slice(setting * options.seeds, (setting + 1) * options.seeds).map((f) => f.valueMs)));
  const runtime = studyRuntime(scenario, options);
  return {
    format: 'kubethreads-chaos-study/1', scenario: scenario.name, key: options.key, figure: options.figure, fault: options.fault, seeds: { first: firstSeed, count: options.seeds }, settings,
    ...(runtime === 'threaded' ? { runtime } : {}),
  };
}

/**
 * Keeps `runner.concurrency` runs in flight, each result in its run's slot. On
 * a failure no new run starts; those in flight finish, then the failure of
 * the earliest run in (value, seed) order is thrown.
 */
async function executeRuns(runs: readonly PlannedRun[], runner: StudyRunner, options: StudyOptions): Promise<StudyRunFigure[]> {
  const results: StudyRunFigure[] = new Array<StudyRunFigure>(runs.length);
  const failures: Array<{ index: number; error: StudyRunError }> = [];
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (failures.length === 0 && next < runs.length) {
      const index = next++;
      const run = runs[index]!;
      let figure: StudyRunFigure;
      try {
        figure = await runner.run(run.task);
      } catch (error) {
        failures.push({ index, error: new StudyRunError(run.label, options.values[run.setting], run.task.seed, error) });
        return;
      }
      results[index] = figure;
      options.onRun?.(++done, runs.length, run.label, run.task.seed, figure.valueMs, figure.wallMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(runner.concurrency, runs.length) }, lane));
  if (failures.length > 0) throw failures.sort((a, b) => a.index - b.index)[0]!.error;
  return results;
}

function summarize(label: string, value: unknown, seeds: number, figures: ReadonlyArray<number | null>): StudySetting {
  const valuesMs = figures.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return {
    label,
    value,
    valuesMs,
    censored: figures.length - valuesMs.length,
    seeds,
    minMs: valuesMs[0] ?? null,
    medianMs: percentile(valuesMs, 50) ?? null,
    p90Ms: percentile(valuesMs, 90) ?? null,
    p99Ms: percentile(valuesMs, 99) ?? null,
    maxMs: valuesMs[valuesMs.length - 1] ?? null,
  };
}

export function formatStudyTable(study: StudyResult): string {
  const rows = [['setting', 'runs', 'no value', 'min', 'median', 'p90', 'p99', 'max']];
  const ms = (x: number | null): string => (x === null ? '—' : `${x.toFixed(0)} ms`);
  for (const s of study.settings) rows.push([s.label, String(s.seeds), String(s.censored), ms(s.minMs), ms(s.medianMs), ms(s.p90Ms), ms(s.p99Ms), ms(s.maxMs)]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#4e342e', '#827717'];

/** An HTML page with one cumulative distribution per setting (x log-scaled when the values span more than 20×). */
export function renderStudyHtml(study: StudyResult, command: string): string {
  const W = 900;
  const H = 420;
  const pad = { left: 60, right: 20, top: 16, bottom: 40 };
  const all = study.settings.flatMap((s) => s.valuesMs).filter((v) => v > 0);
  const lo = all.length > 0 ? Math.min(...all) : 1;
  const hi = all.length > 0 ? Math.max(...all) : 10;
  const log = hi / lo > 20;
  const xMin = log ? 10 ** Math.floor(Math.log10(lo)) : 0;
  const xMax = log ? 10 ** Math.ceil(Math.log10(hi)) : niceCeil(hi);
  const x = (v: number): number => {
    const f = log ? (Math.log10(Math.max(v, xMin)) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin)) : (v - xMin) / (xMax - xMin);
    return pad.left + f * (W - pad.left - pad.right);
  };
  const y = (p: number): number => H - pad.bottom - p * (H - pad.top - pad.bottom);
  const parts: string[] = [];
  for (let p = 0; p <= 1.0001; p += 0.2) parts.push(`<line x1="${pad.left}" x2="${W - pad.right}" y1="${y(p).toFixed(1)}" y2="${y(p).toFixed(1)}" stroke="#e5e5e5"/><text x="${pad.left - 6}" y="${y(p).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${(p * 100).toFixed(0)}%</text>`);
  const ticks: number[] = [];
  if (log) {
    for (let e = Math.log10(xMin); e <= Math.log10(xMax) + 1e-9; e++) for (const m of [1, 2, 5]) if (m * 10 ** e <= xMax * 1.0001) ticks.push(m * 10 ** e);
  } else {
    for (let i = 0; i <= 10; i++) ticks.push((xMax / 10) * i);
  }
  for (const t of ticks) parts.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${pad.top}" y2="${H - pad.bottom}" stroke="#f0f0f0"/><text x="${x(t).toFixed(1)}" y="${H - pad.bottom + 16}" text-anchor="middle">${t >= 1000 ? `${t / 1000}s` : `${+t.toFixed(1)}`}</text>`);
  parts.push(`<text x="${(W / 2).toFixed(0)}" y="${H - 6}" text-anchor="middle">${escapeHtml(study.figure)} (ms${log ? ', log scale' : ''})</text>`);
  study.settings.forEach((s, i) => {
    const n = s.seeds;
    const pts: string[] = [`${x(s.valuesMs[0] ?? xMin).toFixed(1)},${y(0).toFixed(1)}`];
    s.valuesMs.forEach((v, k) => {
      pts.push(`${x(v).toFixed(1)},${y(k / n).toFixed(1)}`, `${x(v).toFixed(1)},${y((k + 1) / n).toFixed(1)}`);
    });
    if (s.valuesMs.length > 0) pts.push(`${x(xMax).toFixed(1)},${y(s.valuesMs.length / n).toFixed(1)}`);
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2"><title>${escapeHtml(s.label)}</title></polyline>`);
  });
  const legend = study.settings.map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${escapeHtml(s.label)}</span>`).join('');
  const ms = (v: number | null): string => (v === null ? '—' : v.toFixed(0));
  const rows = study.settings.map((s) => `<tr><td>${escapeHtml(s.label)}</td><td>${escapeHtml(JSON.stringify(s.value))}</td><td>${s.seeds}</td><td>${s.censored}</td><td>${ms(s.minMs)}</td><td>${ms(s.medianMs)}</td><td>${ms(s.p90Ms)}</td><td>${ms(s.p99Ms)}</td><td>${ms(s.maxMs)}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>study: ${escapeHtml(study.scenario)} — ${escapeHtml(study.figure)} by ${escapeHtml(study.key)}</title>
<style>body{font:14px/1.45 system-ui,"DejaVu Sans",sans-serif;max-width:960px;margin:0 auto;padding:18px;color:#222}h1{font-size:20px}
code{display:block;background:#f4f4f4;border:1px solid #ddd;padding:6px 8px;white-space:pre-wrap}table{border-collapse:collapse;width:100%;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
svg text{font-size:11px;fill:#333}.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}</style></head><body>
<h1>${escapeHtml(study.scenario)}: cumulative distribution of ${escapeHtml(study.figure)} (fault ${study.fault}) by ${escapeHtml(study.key)}</h1>
<p>${study.settings.length} settings × ${study.seeds.count} seeds (${study.seeds.first}–${study.seeds.first + study.seeds.count - 1}), ${study.runtime === 'threaded' ? 'threaded runtime (real threads, real etcd processes: wall-clock figures, not replayable)' : 'simulated runtime'}. A curve that stops below 100% had runs where the figure never happened within the scenario's duration.</p>
<code>${escapeHtml(command)}</code>
<div class="legend">${legend}</div>
<svg viewBox="0 0 ${W} ${H}" width="100%" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="cumulative distributions">${parts.join('')}</svg>
<table><tr><th>setting</th><th>value</th><th>runs</th><th>no value</th><th>min ms</th><th>median ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>${rows}</table>
</body></html>
`;
}

function niceCeil(v: number): number {
  const pow = 10 ** Math.floor(Math.log10(Math.max(v, 1e-9)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= v) return m * pow;
  return 10 * pow;
}
