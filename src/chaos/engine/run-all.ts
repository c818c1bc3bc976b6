/**
 * `npm run chaos:all -- [--seed S] [--threaded] [--out DIR] [--only NAME]`:
 * every scenario of scenarios/ in full, one after another (simulated runtime
 * unless --threaded), each writing its files under DIR/<name>; then a table of
 * verdicts and figures. Exits 1 when any scenario's checks fail.
 */
import { join } from 'node:path';
import { CLUSTER_FIGURES, describeFigures } from './figures.js';
import { writeRunFiles } from './output.js';
import { runScenario } from './run.js';
import { loadScenario, scenarioFiles } from './testing.js';

// The components' own logs would bury the table: warnings and errors only, unless LOG_LEVEL says otherwise (as `kubethreads chaos`).
process.env.LOG_LEVEL ??= 'warn';
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
};
const seed = Number(flag('--seed') ?? 1);
if (!Number.isInteger(seed) || seed < 0) {
  console.error('--seed needs a non-negative integer');
  process.exit(2);
}
const threaded = argv.includes('--threaded');
const outDir = flag('--out') ?? 'chaos-out/all';
const only = flag('--only');
let failed = 0;
const rows: string[] = [];
for (const file of scenarioFiles()) {
  const scenario = loadScenario(file);
  if (only !== undefined && scenario.name !== only) continue;
  const sim = !threaded;
  const replay = `npx kubethreads chaos run scenarios/${scenario.name}.yaml --seed ${seed}${sim ? ' --sim' : ''}`;
  process.stderr.write(`${scenario.name} (seed ${seed}, ${sim ? 'simulated' : 'threaded'})...\n`);
  const run = await runScenario(scenario, { seed, runtime: sim ? 'simulated' : 'threaded' });
  const files = writeRunFiles(join(outDir, scenario.name), run, replay);
  if (run.outcome.verdict !== 'pass') failed++;
  const o = run.outcome;
  rows.push(`${o.verdict.toUpperCase().padEnd(7)} ${scenario.name}  (${o.counts.operations} ops, ${o.counts.acknowledgedWrites} acked writes, ${o.counts.unknown} unknown; ${(run.timing.wallMs / 1000).toFixed(1)} s wall, ${run.timing.speedup}×)  ${files.report}`);
  for (const c of o.checks.filter((x) => x.verdict !== 'pass')) rows.push(`        ${c.verdict} ${c.name}: ${c.summary.split('\n')[0]}`);
  for (const f of o.figures) {
    // Without register operations the store's figures measure nothing: show the cluster's only.
    const figures = describeFigures(f, o.counts.operations === 0 ? CLUSTER_FIGURES : undefined);
    rows.push(`        fault ${f.index} at ${(f.atMs / 1000).toFixed(1)} s: ${f.description}${figures === '' ? '' : ` — ${figures}`}`);
  }
  if (o.verdict !== 'pass') rows.push(`        replay: ${replay}`);
}
console.log(rows.join('\n'));
console.log(`${failed === 0 ? 'every scenario passed' : `${failed} scenario(s) failed`} (seed ${seed})`);
process.exit(failed === 0 ? 0 : 1);
