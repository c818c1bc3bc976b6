#!/usr/bin/env node
// A/B timing of two builds of kubethreads on a shared, noisy machine: the same
// benchmark from each build's dist/, back to back in ABBA order (A B B A A B B A ...),
// every run in a fresh process, one JSON line per run on stdout (and the load average
// beside it), medians and ranges on stderr at the end. Used for issue 17's cost bound
// (docs/metrics.md): is build B within 5 % of build A?
//
//   node scripts/bench-ab.mjs --a /path/to/old --b /path/to/new --bench kv --pairs 3 [--load-ms 5000]
//   node scripts/bench-ab.mjs --builds DIR1,DIR2,DIR3,... --bench kv-ops --pairs 2
//
// --builds rotates more than two builds (a bisection's points): each round runs them in order, the next in
// reverse (1 2 3 3 2 1 1 2 3 ...), so each build's runs sit as often early as late in the load's swings; the
// summary gives each build's medians and its median per-round ratio to the build before it in the list.
//
// --bench kv: `bench kv` on our store alone (no etcd, no failover rows: they measure
// elections, not code speed); --bench actor: `bench actor` with its default sizes;
// --bench kv-get: only the populate + linearizable/serializable get phases (the row in question);
// --bench kv-ops: the same warm-up, then linearizable gets, serializable gets and puts at 64 outstanding,
// each with the process's CPU (every thread) per operation (issue 17's read regression and its fix);
// --bench kv-seq: the same warm-up, then 2,000 sequential puts (one outstanding): p50, p99, max and the
// process's CPU per put (issue 22's sequential put behind etcd).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    a: { type: 'string' }, b: { type: 'string' }, builds: { type: 'string' }, bench: { type: 'string', default: 'kv' },
    pairs: { type: 'string', default: '2' }, 'load-ms': { type: 'string', default: '5000' },
    // Replica options for one side (kv-ops, kv-get, kv-seq): the same build with and without a knob, e.g. '{"inlineFsyncWhenIdle":true}'.
    'a-ours': { type: 'string', default: '{}' }, 'b-ours': { type: 'string', default: '{}' },
    // kv-seq: sequential puts before the measured 2,000 (default 200, as before; bench kv warms with 6,000 since issue 22's night).
    'seq-warmup': { type: 'string', default: '200' },
  },
});
if (values.builds !== undefined) {
  const dirs = values.builds.split(',').filter((d) => d !== '');
  if (dirs.length < 2 || values.a || values.b) {
    console.error('--builds takes two or more comma-separated build directories, and no --a or --b');
    process.exit(2);
  }
}
if (values.builds === undefined && (!values.a || !values.b)) {
  console.error('usage: bench-ab.mjs --a DIR --b DIR | --builds DIR,DIR,... [--bench kv|kv-get|kv-ops|kv-seq|actor] [--pairs N] [--load-ms MS] [--a-ours JSON] [--b-ours JSON]');
  process.exit(2);
}
const pairs = Number(values.pairs);
const loadMs = Number(values['load-ms']);
if (!Number.isInteger(pairs) || pairs < 1 || !Number.isInteger(loadMs) || loadMs < 100) {
  console.error('--pairs must be a positive integer and --load-ms at least 100');
  process.exit(2);
}

/** The child's program: import the build's own bench module and print its figures as one JSON line. */
function program(dir, bench, ours) {
  const url = (rel) => JSON.stringify(`file://${resolve(dir, 'dist', rel)}`);
  // kv-ops and kv-get: our store, warmed by the same phases on both builds (opens a try its program closes).
  const kvWarmUp = `const { startOurs } = await import(${url('bench/kv/ours.js')});
const side = await startOurs(undefined, ${ours});
try {
  await side.waitHealthy(60000);
  await side.runPhase({ kind: 'sequentialPuts', prefix: '/w/', count: 200, valueBytes: 256 });
  await side.runPhase({ kind: 'load', op: 'put', prefix: '/w/', outstanding: 64, durationMs: 2000, valueBytes: 256, keyspace: 10000 });
  await side.runPhase({ kind: 'populate', prefix: '/g/', count: 1000, valueBytes: 256, outstanding: 64 });`;
  if (bench === 'actor') {
    return `const { runActorBench, defaultActorBenchOptions } = await import(${url('bench/actor-messaging/run.js')});
const { result: r } = await runActorBench(defaultActorBenchOptions);
// The ratios divide by bare workers measured in the same run: the machine's load cancels out of them.
console.log(JSON.stringify({ oneWayMsgsPerS: r.throughput_msgs_per_s, oneWayVsBareWorkers: r.throughput_ratio, rttP50Us: r.rtt_p50_us, rttP50VsBareWorkers: r.rtt_p50_ratio, rttP99Us: r.rtt_p99_us, simMsgsPerS: r.sim_msgs_per_s }));`;
  }
  if (bench === 'kv-ops') {
    return `${kvWarmUp}
  const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
  const figures = { errors: 0 };
  for (const op of ['get', 'serializableGet', 'put']) {
    const cpu0 = cpuUs();
    const r = await side.runPhase({ kind: 'load', op, prefix: '/g/', outstanding: 64, durationMs: ${loadMs}, valueBytes: 256, keyspace: 1000 });
    figures[op + 'OpsPerS'] = Math.round(r.ops / (r.elapsedMs / 1000));
    figures[op + 'CpuUsPerOp'] = Math.round((cpuUs() - cpu0) / r.ops * 10) / 10;
    figures.errors += r.errors;
  }
  console.log(JSON.stringify(figures));
} finally { await side.close(); }`;
  }
  if (bench === 'kv-seq') {
    return `${kvWarmUp}
  if (${Number(values['seq-warmup'])} > 200) await side.runPhase({ kind: 'sequentialPuts', prefix: '/ws/', count: ${Number(values['seq-warmup'])} - 200, valueBytes: 256 });
  const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
  const cpu0 = cpuUs();
  const r = await side.runPhase({ kind: 'sequentialPuts', prefix: '/s/', count: 2000, valueBytes: 256 });
  const cpu = cpuUs() - cpu0;
  const s = [...r.latenciesUs].sort((x, y) => x - y);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] / 1000;
  console.log(JSON.stringify({ seqPutP50Ms: at(0.5), seqPutP90Ms: at(0.9), seqPutP99Ms: at(0.99), seqPutMaxMs: s[s.length - 1] / 1000, seqPutCpuUsPerOp: Math.round(cpu / r.ops), errors: r.errors }));
} finally { await side.close(); }`;
  }
  if (bench === 'kv-get') {
    return `${kvWarmUp}
  const rate = (r) => Math.round(r.ops / (r.elapsedMs / 1000));
  // CPU of the whole process (every thread) per operation: what the code costs, far less swayed by other load than a rate.
  const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
  let cpu0 = cpuUs();
  const get = await side.runPhase({ kind: 'load', op: 'get', prefix: '/g/', outstanding: 64, durationMs: ${loadMs}, valueBytes: 256, keyspace: 1000 });
  const getCpuUs = cpuUs() - cpu0;
  cpu0 = cpuUs();
  const sget = await side.runPhase({ kind: 'load', op: 'serializableGet', prefix: '/g/', outstanding: 64, durationMs: ${loadMs}, valueBytes: 256, keyspace: 1000 });
  const sgetCpuUs = cpuUs() - cpu0;
  console.log(JSON.stringify({ getOpsPerS: rate(get), serializableGetOpsPerS: rate(sget), getCpuUsPerOp: Math.round(getCpuUs / get.ops * 10) / 10, serializableGetCpuUsPerOp: Math.round(sgetCpuUs / sget.ops * 10) / 10, errors: get.errors + sget.errors }));
} finally { await side.close(); }`;
  }
  return `const { runKvBench, defaultKvBenchOptions } = await import(${url('bench/kv/run.js')});
const { result } = await runKvBench({ ...defaultKvBenchOptions, etcd: 'never', failoverKills: 0, fastFailoverKills: 0, clientProcessesMax: 0, loadMs: ${loadMs} });
const d = result.ours;
console.log(JSON.stringify({ putP50Ms: d.putLatencyUs.p50 / 1000, putP99Ms: d.putLatencyUs.p99 / 1000, ...Object.fromEntries(Object.entries(d.throughputOpsPerS).map(([k, v]) => [k + 'OpsPerS', v])), watchP50Ms: d.watchFromSendUs.p50 / 1000 }));`;
}

/** Replica options of a build: --a-ours and --b-ours for the two-build A/B; none for --builds. */
function oursOf(label) {
  return label === 'A' ? values['a-ours'] : label === 'B' ? values['b-ours'] : '{}';
}

function runOnce(label, dir) {
  const load = loadavg()[0];
  const started = new Date().toISOString();
  // A file, not --eval: worker threads inherit the parent's exec arguments, and --input-type breaks their loading.
  const scratch = mkdtempSync(join(tmpdir(), 'kubethreads-bench-ab-'));
  const file = join(scratch, 'run.mjs');
  writeFileSync(file, program(dir, values.bench, oursOf(label)));
  const child = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'error' }, maxBuffer: 64 * 1024 * 1024 });
  rmSync(scratch, { recursive: true, force: true });
  const line = child.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (child.status !== 0 || line === undefined) {
    console.error(`${label}: run failed (exit ${child.status}): ${child.stderr.slice(-2000)}`);
    return undefined;
  }
  const figures = JSON.parse(line);
  const record = { build: label, dir, bench: values.bench, ours: oursOf(label), started, loadAvg1mBefore: Math.round(load * 100) / 100, loadAvg1mAfter: Math.round(loadavg()[0] * 100) / 100, ...figures };
  console.log(JSON.stringify(record));
  return record;
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

if (values.builds !== undefined) {
  rotate(values.builds.split(',').filter((d) => d !== ''));
  process.exit(0);
}

const order = [];
for (let p = 0; p < pairs; p++) order.push(...(p % 2 === 0 ? ['A', 'B'] : ['B', 'A']));
const runs = { A: [], B: [] };
for (const label of order) {
  const r = runOnce(label, label === 'A' ? values.a : values.b);
  if (r !== undefined) runs[label].push(r);
}

const keys = Object.keys(runs.A[0] ?? runs.B[0] ?? {}).filter((k) => typeof (runs.A[0] ?? runs.B[0])[k] === 'number' && !k.startsWith('loadAvg'));
for (const k of keys) {
  const a = runs.A.map((r) => r[k]);
  const b = runs.B.map((r) => r[k]);
  if (a.length === 0 || b.length === 0) continue;
  const change = ((median(b) - median(a)) / median(a)) * 100;
  console.error(`${k.padEnd(24)} A median ${median(a).toFixed(2)} [${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)}]  B median ${median(b).toFixed(2)} [${Math.min(...b).toFixed(2)}-${Math.max(...b).toFixed(2)}]  B vs A ${change >= 0 ? '+' : ''}${change.toFixed(1)} %`);
}

/** --builds: `pairs` rounds over every build, alternately forward and backward; medians and per-round ratios. */
function rotate(dirs) {
  const labels = dirs.map((_, i) => String(i + 1));
  /** runs[i][round]: build i's figures in that round, or undefined when its run failed. */
  const runs = dirs.map(() => []);
  for (let round = 0; round < pairs; round++) {
    const idx = labels.map((_, i) => i);
    if (round % 2 === 1) idx.reverse();
    for (const i of idx) runs[i][round] = runOnce(labels[i], dirs[i]);
  }
  const first = runs.flat().find((r) => r !== undefined);
  if (first === undefined) return;
  const keys = Object.keys(first).filter((k) => typeof first[k] === 'number' && !k.startsWith('loadAvg'));
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  for (const k of keys) {
    console.error(k);
    dirs.forEach((dir, i) => {
      const xs = runs[i].filter((r) => r !== undefined).map((r) => r[k]);
      if (xs.length === 0) return console.error(`  ${labels[i]} ${dir}: no runs`);
      let line = `  ${labels[i]} ${dir}: median ${fmt(median(xs))} [${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}] n=${xs.length}`;
      if (i > 0) {
        // The ratio to the build before it, within each round (both ran in it, close in time), then their median.
        const ratios = [];
        for (let round = 0; round < pairs; round++) {
          const a = runs[i - 1][round];
          const b = runs[i][round];
          if (a !== undefined && b !== undefined && a[k] > 0) ratios.push(b[k] / a[k]);
        }
        if (ratios.length > 0) line += `  vs ${labels[i - 1]}: ${median(ratios).toFixed(3)} [${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}]`;
      }
      console.error(line);
    });
  }
}
