#!/usr/bin/env node
// Garbage collections per operation of each thread of `bench kv`'s store (driver, each replica), by kind, for issue
// 17's read cost (docs/metrics.md): kv-thread-cpu.mjs says which thread's CPU grew, this says how much of it each
// isolate spent collecting, and how often. Every thread counts its own isolate's collections (a preload,
// scripts/lib/gc-stats.mjs, that worker threads inherit); the main thread asks them around each measured phase.
// Runs the kv-ops warm-up, then for each OP 1.5 s to warm it and MS of it measured; one JSON line per OP.
// YOUNG_MB=N spawns the replicas' threads with that young generation (builds whose startOurs takes `youngGenerationMb`).
//
//   node scripts/kv-thread-gc.mjs DIR [OPS, comma-separated: get,serializableGet,put] [MS]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { relaunchWithPreload } from './lib/thread-stats.mjs';
import { warmUpKvSide } from './lib/kv-warmup.mjs';
import { gatherGcStats as gather } from './lib/gc-stats.mjs';

const [dirArg = '.', opsArg = 'get,serializableGet', msArg = '3000'] = process.argv.slice(2);
const ops = opsArg.split(',');
if (!ops.every((op) => ['get', 'serializableGet', 'put'].includes(op)) || !(Number(msArg) >= 100)) {
  console.error('usage: kv-thread-gc.mjs DIR [get,serializableGet,put] [MS, at least 100]');
  process.exit(2);
}
relaunchWithPreload(import.meta.url, { preload: 'gc-stats.mjs', marker: 'KUBETHREADS_GC_STATS', env: { KUBETHREADS_GC_STATS: '1' } });

const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const side = await startOurs(undefined, process.env.YOUNG_MB === undefined ? {} : { youngGenerationMb: Number(process.env.YOUNG_MB) });
try {
  await side.waitHealthy(60_000);
  await warmUpKvSide(side);
  for (const op of ops) {
    const phase = (durationMs) => side.runPhase({ kind: 'load', op, prefix: '/g/', outstanding: 64, durationMs, valueBytes: 256, keyspace: 1000 });
    await phase(1500);
    const before = await gather();
    const r = await phase(Number(msArg));
    const after = await gather();
    const threads = {};
    for (const [name, a] of after) {
      const b = before.get(name);
      const row = {};
      for (const [kind, s] of Object.entries(a.stats)) {
        const c = s.count - (b?.stats[kind].count ?? 0);
        const ms = s.ms - (b?.stats[kind].ms ?? 0);
        if (c > 0) row[kind] = { per1kOps: Math.round(c / r.ops * 1000 * 100) / 100, usPerOp: Math.round(ms * 1000 / r.ops * 100) / 100 };
      }
      if (a.heapUsed !== undefined) row.heapMb = Math.round(a.heapUsed / 1e5) / 10;
      threads[name] = row;
    }
    console.log(JSON.stringify({ dir, op, ops: r.ops, errors: r.errors, opsPerS: Math.round(r.ops / (r.elapsedMs / 1000)), threads }));
  }
} finally {
  await side.close();
}
