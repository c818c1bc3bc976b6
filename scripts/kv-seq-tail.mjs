#!/usr/bin/env node
// What the slowest 1 % of sequential puts (one outstanding) of `bench kv`'s store shared in time with garbage
// collections, for issue 22's sequential put p99 (docs/kv-bench.md). Every thread records its collections with their
// start and pause (the gc-stats.mjs preload, which worker threads inherit); the driver records when each put was sent
// (`PhaseResult.startsMs`). For the puts at or above the p99, and for as many puts near the p50 as a control, it
// counts those that overlapped a collection on each thread, by kind. It also gives the collections of each thread
// over the measured puts, the process's CPU per put (every thread), and the p50 / p90 of each quarter of the run
// (whether the tail sits at the start: work left by the phases before).
//
// MODE says what runs before the measured puts, on a fresh store:
//   bench   `bench kv`'s own phases before its sequential row: 6,000 sequential puts, 2 s of puts at 64 outstanding
//           over 10,000 keys, then the warm-up's cleanup (its keys deleted, the store compacted to that revision);
//   fresh   `bench-ab.mjs --bench kv-seq --seq-warmup 6000`'s: the shared kv warm-up (lib/kv-warmup.mjs), then 5,800
//           sequential puts.
// OURS_JSON: startOurs options (e.g. '{"youngGenerationMb":48}' for V8's default young generation on the replicas).
//
//   node scripts/kv-seq-tail.mjs DIR [bench|fresh] [COUNT] [OURS_JSON]
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { relaunchWithPreload } from './lib/thread-stats.mjs';
import { warmUpKvSide } from './lib/kv-warmup.mjs';
import { gatherGcStats } from './lib/gc-stats.mjs';

const [dirArg = '.', mode = 'bench', countArg = '2000', oursArg = '{}'] = process.argv.slice(2);
const count = Number(countArg);
if (!['bench', 'fresh'].includes(mode) || !Number.isInteger(count) || count < 100) {
  console.error('usage: kv-seq-tail.mjs DIR [bench|fresh] [COUNT, at least 100] [OURS_JSON]');
  process.exit(2);
}
relaunchWithPreload(import.meta.url, { preload: 'gc-stats.mjs', marker: 'KUBETHREADS_GC_STATS', env: { KUBETHREADS_GC_STATS: '1' } });

const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

const side = await startOurs(undefined, JSON.parse(oursArg));
const loadBefore = loadavg()[0];
try {
  await side.waitHealthy(60_000);
  if (mode === 'bench') {
    await side.runPhase({ kind: 'sequentialPuts', prefix: '/bench/warmup/', count: 6000, valueBytes: 256 });
    await side.runPhase({ kind: 'load', op: 'put', prefix: '/bench/warmup/', outstanding: 64, durationMs: 2000, valueBytes: 256, keyspace: 10000 });
    await side.runPhase({ kind: 'cleanup', prefix: '/bench/warmup/' });
  } else {
    await warmUpKvSide(side);
    await side.runPhase({ kind: 'sequentialPuts', prefix: '/ws/', count: 5800, valueBytes: 256 });
  }
  const cpu0 = cpuUs();
  const r = await side.runPhase({ kind: 'sequentialPuts', prefix: '/bench/seq/', count, valueBytes: 256 });
  const cpuPerPutUs = (cpuUs() - cpu0) / r.ops;
  const threads = await gatherGcStats();
  if (r.startsMs === undefined) throw new Error(`${dir}: this build's sequential phase does not report when each put was sent (startsMs)`);
  const latMs = r.latenciesUs.map((us) => us / 1000);
  const starts = r.startsMs;
  const sorted = [...latMs].sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5);
  const p99 = percentile(sorted, 0.99);
  const firstMs = starts[0];
  const lastMs = starts[starts.length - 1] + latMs[latMs.length - 1];

  const collections = {};
  for (const [name, t] of threads) {
    for (const [atMs, pauseMs, kind] of t.events) {
      if (atMs + pauseMs < firstMs || atMs > lastMs) continue;
      const c = (collections[name] ??= {});
      const k = (c[kind] ??= { count: 0, pauseMs: 0, maxPauseMs: 0 });
      k.count++;
      k.pauseMs = round(k.pauseMs + pauseMs);
      k.maxPauseMs = round(Math.max(k.maxPauseMs, pauseMs));
    }
  }
  /** Of the puts `which`, how many overlapped a collection, per thread and kind (a put counts once per thread and kind). */
  const overlapping = (which) => {
    const counts = {};
    for (const i of which) {
      const from = starts[i];
      const to = from + latMs[i];
      for (const [name, t] of threads) {
        const kinds = new Set(t.events.filter(([atMs, pauseMs]) => atMs < to && atMs + pauseMs > from).map(([, , kind]) => kind));
        for (const kind of kinds) counts[`${name} ${kind}`] = (counts[`${name} ${kind}`] ?? 0) + 1;
      }
    }
    return counts;
  };
  const indices = latMs.map((_, i) => i);
  const slow = indices.filter((i) => latMs[i] >= p99);
  // The control: the puts nearest the median, as many as the slow ones.
  const median = [...indices].sort((a, b) => Math.abs(latMs[a] - p50) - Math.abs(latMs[b] - p50)).slice(0, slow.length);
  const quarter = (k) => [...latMs.slice((k * latMs.length) / 4, ((k + 1) * latMs.length) / 4)].sort((a, b) => a - b);
  console.log(JSON.stringify({
    dir, mode, ours: JSON.parse(oursArg), loadAvg1mBefore: round(loadBefore, 2), loadAvg1mAfter: round(loadavg()[0], 2),
    puts: r.ops, errors: r.errors, p50Ms: round(p50), p90Ms: round(percentile(sorted, 0.9)), p99Ms: round(p99), maxMs: round(sorted[sorted.length - 1]),
    cpuPerPutUs: Math.round(cpuPerPutUs),
    quartersP50Ms: [0, 1, 2, 3].map((k) => round(percentile(quarter(k), 0.5))),
    quartersP90Ms: [0, 1, 2, 3].map((k) => round(percentile(quarter(k), 0.9))),
    slowest: { count: slow.length, puts: slow.map((i) => `#${i} ${round(latMs[i], 2)} ms`), overlappingCollections: overlapping(slow) },
    nearMedian: { count: median.length, overlappingCollections: overlapping(median) },
    collections,
  }));
} finally {
  await side.close();
}
