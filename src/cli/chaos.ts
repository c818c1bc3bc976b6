/**
 * `kubethreads chaos run SCENARIO` and `kubethreads chaos study SCENARIO`:
 * thin wrappers over src/chaos/engine that print for people (a progress bar
 * and the replay command on stderr, a summary on stdout) or for programs
 * (`--json`: result.json on stdout).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { freshSeed } from '../actor/prng.js';
import {
  CLUSTER_FIGURES,
  defaultRegistry,
  describeFigures,
  STUDY_FIGURES,
  STUDY_WORKERS_MAX,
  StudyRunError,
  defaultStudyWorkers,
  formatStudyTable,
  parseScenario,
  parseVary,
  renderStudyHtml,
  replayFromResult,
  runScenario,
  runStudy,
  studyRuntime,
  scenarioSchema,
  toResultFile,
  writeRunFiles,
  ScenarioError,
  type Progress,
  type Scenario,
  type ScheduledFault,
  type StudyFigure,
} from '../chaos/engine/index.js';

/** Exit statuses: a failed check, an undecided one, a scenario that cannot run. */
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_CHECK_UNKNOWN = 3;

export function registerChaosCommand(program: Command): void {
  const chaos = program.command('chaos').description('chaos scenarios: run one and get a verdict, figures and a report; or study a figure across settings and seeds');

  chaos
    .command('run')
    .description('run a scenario (a YAML file, or a result.json to replay its schedule with the targets it hit)')
    .argument('<scenario>', 'scenario YAML file (see scenarios/), or a previous run\'s result.json')
    .option('--seed <n>', 'the seed of every random choice (default: a fresh one, printed)', (v) => seedArg(v))
    .option('--sim', 'the simulated runtime: virtual time, replayable byte for byte from the seed')
    .option('--out <dir>', 'where to write result.json, history.jsonl, report.html, timing.json (default chaos-out/<name>-<seed>)')
    .option('--json', 'print result.json on stdout instead of a summary')
    .option('--data-dir <dir>', 'threaded runtime: keep the replicas\' disks here (default a temporary directory)')
    .action(async (file: string, o: { seed?: number; sim?: boolean; out?: string; json?: boolean; dataDir?: string }) => {
      process.exitCode = await chaosRun(file, o);
    });

  chaos
    .command('study')
    .description('run a scenario over N seeds per setting in the simulated runtime (threaded, one run at a time, when a setting runs on real etcd); a CDF of one figure per setting (HTML), a table and JSON')
    .argument('<scenario>', 'scenario YAML file (its `study:` section gives defaults)')
    .option('--vary <KEY=V1,V2,...>', 'the setting to vary: a dotted path in the scenario and its values')
    .option('--labels <a,b,...>', 'a label per value')
    .option('--seeds <n>', 'seeds per setting', (v) => positiveInt('--seeds', v))
    .option('--from <seed>', 'first seed', (v) => positiveInt('--from', v), 1)
    .option('--figure <name>', STUDY_FIGURES.join(', '))
    .option('--fault <i>', 'which fault of the schedule (default 0)', (v) => nonNegativeInt('--fault', v))
    .option('--out <dir>', 'where to write study.json and study.html (default chaos-out/study-<name>)')
    .option('--json', 'print study.json on stdout instead of a table')
    .option('--workers <n>', 'runs at once, each on its own worker thread; 1 runs them one after another in this thread (the output is the same either way)', (v) => workersArg(v), defaultStudyWorkers())
    .action(async (file: string, o: StudyCliOptions) => {
      process.exitCode = await chaosStudy(file, o);
    });

  chaos
    .command('schema')
    .description('print the scenario JSON Schema (workloads, nemeses and checks as registered)')
    .action(() => {
      process.stdout.write(JSON.stringify(scenarioSchema(defaultRegistry), null, 2) + '\n');
    });

  chaos
    .command('list')
    .description('list the registered workloads, nemeses and checks')
    .action(() => {
      const r = defaultRegistry;
      const section = (title: string, items: Array<{ name: string; description: string }>): string => `${title}:\n${items.map((i) => `  ${i.name.padEnd(16)} ${i.description}`).join('\n')}`;
      process.stdout.write([section('workloads', [...r.workloads.values()]), section('nemeses', [...r.nemeses.values()]), section('checks', [...r.checks.values()])].join('\n\n') + '\n');
    });
}

interface Loaded {
  scenario: Scenario;
  seed: number | undefined;
  schedule: ScheduledFault[] | undefined;
  study: ReturnType<typeof parseScenario>['study'];
}

function load(file: string): Loaded {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    const replay = replayFromResult(text, file);
    return { scenario: replay.scenario, seed: replay.seed, schedule: replay.schedule, study: {} };
  }
  const parsed = parseScenario(text, file, defaultRegistry);
  return { scenario: parsed.scenario, seed: undefined, schedule: undefined, study: parsed.study };
}

function loadOrReport(file: string): Loaded | undefined {
  try {
    return load(file);
  } catch (error) {
    if (error instanceof ScenarioError) process.stderr.write(`kubethreads chaos: ${file} is not a valid scenario:\n${error.message}\n`);
    else process.stderr.write(`kubethreads chaos: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

export function replayCommand(file: string, seed: number, sim: boolean): string {
  return `npx kubethreads chaos run ${shellQuote(file)} --seed ${seed}${sim ? ' --sim' : ''}`;
}

function shellQuote(s: string): string {
  return /^[\w./@:+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; done(): void } {
  let lastDecile = -1;
  let drawn = false;
  return {
    update(p) {
      const fraction = Math.min(1, p.elapsedMs / p.durationMs);
      const width = 30;
      const filled = Math.round(fraction * width);
      const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  t=${(p.elapsedMs / 1000).toFixed(1)}s/${(p.durationMs / 1000).toFixed(0)}s  faults ${p.faultsFired}/${p.faultsTotal}  leader ${p.leader ?? 'none'}${p.term === undefined ? '' : ` (term ${p.term})`}`;
      if (stream.isTTY) {
        stream.write(`\r${text}\x1b[K`);
        drawn = true;
        return;
      }
      const decile = Math.floor(fraction * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${text}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\n');
    },
  };
}

/** The components' own logs would bury the progress bar and the verdict: warnings and errors only, unless LOG_LEVEL says otherwise. */
function quietComponentLogs(): void {
  process.env.LOG_LEVEL ??= 'warn';
}

async function chaosRun(file: string, o: { seed?: number; sim?: boolean; out?: string; json?: boolean; dataDir?: string }): Promise<number> {
  quietComponentLogs();
  const loaded = loadOrReport(file);
  if (loaded === undefined) return EXIT_BAD_INPUT;
  const sim = o.sim === true;
  if (sim && loaded.scenario.cluster.store === 'etcd') {
    process.stderr.write(`kubethreads chaos: ${file}: cluster.store etcd runs real etcd processes, which the simulated runtime cannot replay: run it without --sim (threaded runtime)\n`);
    return EXIT_BAD_INPUT;
  }
  const seed = o.seed ?? loaded.seed ?? freshSeed();
  const replay = replayCommand(file, seed, sim);
  const out = o.out ?? join('chaos-out', `${loaded.scenario.name}-${seed}${sim ? '-sim' : ''}`);
  const err = process.stderr;
  err.write(`chaos run ${loaded.scenario.name}: seed ${seed}, ${sim ? 'simulated' : 'threaded'} runtime, ${(loaded.scenario.durationMs / 1000).toFixed(1)} s${loaded.schedule !== undefined ? `, the schedule and targets of ${file}` : ''}\nreplay: ${replay}\n`);
  const progress = progressPrinter(err);
  let run;
  try {
    run = await runScenario(loaded.scenario, {
      seed,
      runtime: sim ? 'simulated' : 'threaded',
      dataDir: o.dataDir,
      schedule: loaded.schedule,
      onProgress: (p) => progress.update(p),
    });
  } catch (error) {
    progress.done();
    err.write(`kubethreads chaos: the run failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\nreplay: ${replay}\n`);
    return EXIT_CHECK_FAILED;
  }
  progress.done();
  const files = writeRunFiles(out, run, replay);
  if (o.json === true) process.stdout.write(JSON.stringify(toResultFile(run, replay), null, 2) + '\n');
  else process.stdout.write(summary(run.outcome, run.timing, files.report));
  err.write(`verdict: ${run.outcome.verdict}   seed ${seed}\nreplay: ${replay}\n`);
  if (!sim && run.outcome.verdict !== 'pass' && loaded.scenario.cluster.store !== 'etcd') err.write(`replay in the simulated runtime, with the same schedule and targets: npx kubethreads chaos run ${shellQuote(files.result)} --sim\n`);
  return run.outcome.verdict === 'pass' ? 0 : run.outcome.verdict === 'fail' ? EXIT_CHECK_FAILED : EXIT_CHECK_UNKNOWN;
}

function summary(outcome: Awaited<ReturnType<typeof runScenario>>['outcome'], timing: { wallMs: number; runMs: number; speedup: number }, report: string): string {
  const lines: string[] = [];
  lines.push(`${outcome.scenario.name}: ${outcome.verdict.toUpperCase()}  (${outcome.counts.operations} operations, ${outcome.counts.acknowledgedWrites} acknowledged writes, ${outcome.counts.unknown} unknown; ${(timing.runMs / 1000).toFixed(1)} s run in ${(timing.wallMs / 1000).toFixed(1)} s${outcome.runtime === 'simulated' ? `, ${timing.speedup}× real time` : ''})`);
  lines.push('checks:');
  for (const c of outcome.checks) lines.push(`  ${c.verdict.padEnd(7)} ${c.name}: ${c.summary.split('\n')[0]}`);
  lines.push('faults:                                                    new leader   unavailable   writes again');
  for (const f of outcome.figures) {
    const ms = (x: number | null, none: string): string => (x === null ? none : `${x.toFixed(0)} ms`);
    lines.push(`  ${String(f.index).padStart(2)} ${(f.atMs / 1000).toFixed(1).padStart(6)}s  ${f.description.slice(0, 44).padEnd(44)} ${ms(f.newLeaderMs, 'no election').padStart(11)}  ${ms(f.unavailabilityMs, '—').padStart(12)}  ${ms(f.writesRecoveredMs, 'none').padStart(12)}`);
    const cluster = describeFigures(f, f.electionTerms !== null && f.electionTerms > 1 ? ['electionTerms', ...CLUSTER_FIGURES] : CLUSTER_FIGURES);
    if (cluster !== '') lines.push(`              ${cluster}`);
  }
  lines.push(`report: ${report}`);
  return lines.join('\n') + '\n';
}

interface StudyCliOptions {
  vary?: string;
  labels?: string;
  seeds?: number;
  from: number;
  figure?: string;
  fault?: number;
  out?: string;
  json?: boolean;
  workers: number;
}

async function chaosStudy(file: string, o: StudyCliOptions): Promise<number> {
  quietComponentLogs();
  const loaded = loadOrReport(file);
  if (loaded === undefined) return EXIT_BAD_INPUT;
  const varyText = o.vary ?? loaded.study.vary;
  if (varyText === undefined) {
    process.stderr.write('kubethreads chaos study: give --vary KEY=V1,V2,... (or a study.vary in the scenario)\n');
    return EXIT_BAD_INPUT;
  }
  let vary;
  try {
    vary = parseVary(varyText);
  } catch (error) {
    process.stderr.write(`kubethreads chaos study: ${(error as Error).message}\n`);
    return EXIT_BAD_INPUT;
  }
  const figure = (o.figure ?? loaded.study.figure ?? 'unavailabilityMs') as StudyFigure;
  if (!(STUDY_FIGURES as readonly string[]).includes(figure)) {
    process.stderr.write(`kubethreads chaos study: --figure must be one of ${STUDY_FIGURES.join(', ')}, not ${figure}\n`);
    return EXIT_BAD_INPUT;
  }
  const labels = o.labels !== undefined ? o.labels.split(',') : o.vary === undefined ? loaded.study.labels : undefined;
  const seeds = o.seeds ?? loaded.study.seeds ?? 20;
  const fault = o.fault ?? loaded.study.fault ?? 0;
  const out = o.out ?? join('chaos-out', `study-${loaded.scenario.name}`);
  const command = `npx kubethreads chaos study ${shellQuote(file)} --vary ${shellQuote(`${vary.key}=${vary.values.map(String).join(',')}`)} --seeds ${seeds} --from ${o.from} --figure ${figure} --fault ${fault}`;
  const runs = vary.values.length * seeds;
  // Threaded studies (a setting on real etcd) run one at a time whatever --workers says: runs side by side would measure each other.
  const threaded = studyRuntime(loaded.scenario, vary) === 'threaded';
  const workers = threaded ? 1 : Math.min(o.workers, runs);
  // --workers stays out of `command`: it changes how long the study takes, never what it finds, and the HTML shows `command`.
  process.stderr.write(`chaos study ${loaded.scenario.name}: ${vary.values.length} settings of ${vary.key} × ${seeds} seeds, figure ${figure} of fault ${fault}, ${workers === 1 ? 'one run at a time in this thread' : `${workers} worker threads`}${threaded ? ', threaded runtime (a setting runs on real etcd)' : ''}\n${command}\n`);
  const err = process.stderr;
  const wallStart = performance.now();
  let runWallMs = 0;
  let study;
  try {
    study = await runStudy(loaded.scenario, {
      key: vary.key,
      values: vary.values,
      labels,
      seeds,
      firstSeed: o.from,
      figure,
      fault,
      workers,
      onRun(done, total, label, seed, _value, wallMs) {
        runWallMs += wallMs;
        const line = `[${done}/${total}] ${label} seed ${seed}`;
        if (err.isTTY) err.write(`\r${line}\x1b[K`);
        else if (done % Math.max(1, Math.round(total / 10)) === 0 || done === total) err.write(`${line}\n`);
      },
    });
  } catch (error) {
    if (err.isTTY) err.write('\n');
    if (!(error instanceof StudyRunError)) throw error;
    const cause = error.reason instanceof Error ? error.reason.stack ?? error.reason.message : String(error.reason);
    const setting = `${vary.key}=${JSON.stringify(error.value)}`;
    err.write(`kubethreads chaos study: the run of ${error.label}${error.label === setting ? '' : ` (${setting})`} with seed ${error.seed} failed; the study stopped:\n${cause}\n`);
    err.write(`run it alone: set ${vary.key} to ${JSON.stringify(error.value)} in ${file}, then ${replayCommand(file, error.seed, true)}\n`);
    return EXIT_CHECK_FAILED;
  }
  if (err.isTTY) err.write('\n');
  const wallS = (performance.now() - wallStart) / 1000;
  err.write(`${runs} runs in ${wallS.toFixed(1)} s wall on ${workers === 1 ? '1 thread' : `${workers} worker threads`} (the runs themselves: ${(runWallMs / 1000).toFixed(1)} s)\n`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'study.json'), JSON.stringify(study, null, 2) + '\n');
  writeFileSync(join(out, 'study.html'), renderStudyHtml(study, command));
  if (o.json === true) process.stdout.write(JSON.stringify(study, null, 2) + '\n');
  else process.stdout.write(`${formatStudyTable(study)}\nreport: ${join(out, 'study.html')} (CDF per setting), ${join(out, 'study.json')}\n`);
  return 0;
}

function seedArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`--seed needs an integer in [0, 2^32), not ${JSON.stringify(v)}`);
  return n;
}

function workersArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > STUDY_WORKERS_MAX) throw new InvalidArgumentError(`--workers needs an integer from 1 to ${STUDY_WORKERS_MAX}, not ${JSON.stringify(v)}`);
  return n;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} needs a positive integer, not ${JSON.stringify(v)}`);
  return n;
}

function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} needs a non-negative integer, not ${JSON.stringify(v)}`);
  return n;
}

