#!/usr/bin/env node
/**
 * Pool the mutating calls of several `bench density --json` runs per build, and give each build's p99 with its
 * 95 % confidence interval. Why: one run's ~300 calls put the p99's interval from about the eighth slowest call
 * to beyond the slowest, so one run per build cannot rank builds on it; seven runs' ~2,000 calls can bound it.
 * Pooling treats the runs' calls as draws from one distribution, which they are not quite: within a run the slow
 * calls come in bursts (a snapshot, a collection, a stretch of the API server's thread), so the interval with every
 * call independent is too narrow. Beside it this prints a second interval, from resampling whole runs (a cluster
 * bootstrap: draw as many runs as there are, with replacement, pool their calls, take the p99; 4,000 draws, a fixed
 * seed): trust the wider of the two, and with a handful of runs expect it to be coarse.
 *
 *   node scripts/density-pool.mjs A=/tmp/a1.json,/tmp/a2.json B=/tmp/b1.json,/tmp/b2.json [--json]
 */
import { readFileSync } from 'node:fs';
import { bootstrapInterval, clusterDraws, exactPercentile, percentileInterval, pooledPercentile } from '../dist/bench/lib/stats.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const groups = args.filter((a) => a !== '--json');
if (groups.length === 0 || groups.some((g) => !g.includes('='))) {
  console.error('usage: node scripts/density-pool.mjs LABEL=run1.json,run2.json [LABEL=...] [--json]');
  process.exit(2);
}

/** The p99's 95 % interval over draws of whole runs with replacement (null with fewer than two runs); bench/lib/stats.ts's bootstrap, shared with `bench kv --only sequential`. */
function runBootstrap(runsCalls) {
  if (runsCalls.length < 2) return null;
  const sorted = runsCalls.map((calls) => [...calls].sort((a, b) => a - b));
  const { low, high } = bootstrapInterval(clusterDraws(runsCalls.length).map((indices) => pooledPercentile(sorted, indices, 99)));
  return { low_ms: low, high_ms: high };
}

const results = [];
for (const group of groups) {
  const [label, list] = group.split('=', 2);
  const pooled = [];
  const runs = [];
  const runsCalls = [];
  for (const file of list.split(',').filter((f) => f !== '')) {
    let run;
    try {
      run = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      console.error(`${file}: not a bench density JSON (${error.message}); run it with --json and give its stdout`);
      process.exit(1);
    }
    if (!Array.isArray(run.mutating_ms)) {
      console.error(`${file}: has no mutating_ms (written by a build before the samples were kept): rerun it`);
      process.exit(1);
    }
    pooled.push(...run.mutating_ms);
    runsCalls.push(run.mutating_ms);
    runs.push({ file, calls: run.mutating_ms.length, p99_ms: run.mutating_p99_ms, errors: run.mutating_errors });
  }
  const interval = percentileInterval(pooled, 99);
  results.push({
    label,
    runs,
    calls: pooled.length,
    p50_ms: pooled.length === 0 ? null : exactPercentile(pooled, 50),
    p99_ms: pooled.length === 0 ? null : exactPercentile(pooled, 99),
    p99_ci_ms: interval === undefined ? null : { low_ms: interval.low, high_ms: interval.high, coverage: Math.round(interval.coverage * 1000) / 1000 },
    p99_runs_resampled_ms: runBootstrap(runsCalls),
  });
}

if (json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const fmt = (v) => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
  console.log('| build | runs | calls pooled | p50 ms | p99 ms | p99 95 % CI, calls independent, ms | p99 95 % interval, runs resampled, ms | each run\'s p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const ci = r.p99_ci_ms === null ? '-' : `${fmt(r.p99_ci_ms.low_ms)}–${r.p99_ci_ms.high_ms === null ? 'beyond the slowest' : fmt(r.p99_ci_ms.high_ms)}`;
    const boot = r.p99_runs_resampled_ms === null ? '-' : `${fmt(r.p99_runs_resampled_ms.low_ms)}–${fmt(r.p99_runs_resampled_ms.high_ms)}`;
    console.log(`| ${r.label} | ${r.runs.length} | ${r.calls} | ${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${ci} | ${boot} | ${r.runs.map((x) => fmt(x.p99_ms)).join(' / ')} |`);
  }
}
