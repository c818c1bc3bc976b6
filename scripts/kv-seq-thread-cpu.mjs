#!/usr/bin/env node
// CPU and sleeps per sequential put (one outstanding) of each thread of `bench kv`'s store, for issue 22's lone-put
// cost (docs/kv-bench.md, "A lone put's CPU"): `bench-ab.mjs --bench kv-seq` gives the process total, this says
// which thread. The same warm-up as kv-seq, then COUNT sequential 256-byte puts measured. Threads that did not name
// themselves are split by when they appeared: those already there when the script began (V8's platform workers:
// the collector's and compilers' helpers) and those that came later (libuv's pool, started on first use).
// Linux only (reads /proc/<pid>/task/*/schedstat and status). `sleepsPerPut`: voluntary context switches per put,
// each a wake-up that something had to cause. Also prints the put latency's p50 / p99, the process total, the
// process's idle rate (CPU per second over 3 s with no request: ticks, heartbeats) and the put's marginal CPU (the
// phase's CPU less the idle rate times its elapsed time, per put; as kv-seq-etcd-cpu.mjs gives etcd's).
//
//   node scripts/kv-seq-thread-cpu.mjs DIR [COUNT] [OURS_JSON]
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { perOpByThread, relaunchNamingThreads, threadCpuNs, threadNames as readThreadNames, threadSleeps } from './lib/thread-stats.mjs';
import { warmUpKvSide } from './lib/kv-warmup.mjs';

const [dirArg = '.', countArg = '2000', oursArg = '{}'] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 100) {
  console.error('usage: kv-seq-thread-cpu.mjs DIR [COUNT, at least 100] [OURS_JSON]');
  process.exit(2);
}
const namesDir = relaunchNamingThreads(import.meta.url);
/** Unnamed threads Node starts before libuv's pool: 4 platform workers, the delayed-task runner, one more (Node 20). */
const PLATFORM_THREADS = 6;

const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const names = () => {
  const named = readThreadNames(namesDir);
  const unnamed = readdirSync(`/proc/${process.pid}/task`).filter((tid) => !named.has(tid)).sort((a, b) => Number(a) - Number(b));
  unnamed.forEach((tid, i) => named.set(tid, i < PLATFORM_THREADS ? 'v8 platform' : 'libuv pool'));
  return named;
};
const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };

const side = await startOurs(undefined, JSON.parse(oursArg));
try {
  await side.waitHealthy(60_000);
  await warmUpKvSide(side);
  // ROUNDS (default 1): the measured puts again in the same process, each round its own line (the JIT warming up).
  for (let round = 1; round <= Number(process.env.ROUNDS ?? 1); round++) {
  const idle0 = cpuUs();
  const idleStarted = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const idleUsPerS = (cpuUs() - idle0) / ((performance.now() - idleStarted) / 1000);
  const sleepsBefore = threadSleeps();
  const before = threadCpuNs();
  const process0 = cpuUs();
  const r = await side.runPhase({ kind: 'sequentialPuts', prefix: `/s${round}/`, count, valueBytes: 256 });
  const processUs = cpuUs() - process0;
  const after = threadCpuNs();
  const sleepsAfter = threadSleeps();
  const n = names();
  const cpuUsPerPut = perOpByThread(before, after, n, r.ops, 1 / 1000);
  const sleepsPerPut = perOpByThread(sleepsBefore, sleepsAfter, n, r.ops);
  const total = Object.values(cpuUsPerPut).reduce((a, b) => a + b, 0);
  for (const k of Object.keys(cpuUsPerPut)) cpuUsPerPut[k] = Math.round(cpuUsPerPut[k]);
  for (const k of Object.keys(sleepsPerPut)) sleepsPerPut[k] = Math.round(sleepsPerPut[k] * 100) / 100;
  const s = [...r.latenciesUs].sort((x, y) => x - y);
  const at = (q) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  console.log(JSON.stringify({ dir, round, puts: r.ops, errors: r.errors, p50Us: at(0.5), p99Us: at(0.99), elapsedMs: Math.round(r.elapsedMs), processCpuUsPerPut: Math.round(processUs / r.ops), idleCpuUsPerS: Math.round(idleUsPerS), marginalCpuUsPerPut: Math.round((processUs - (idleUsPerS * r.elapsedMs) / 1000) / r.ops), threadsCpuUsPerPut: Math.round(total), cpuUsPerPut, sleepsPerPut }));
  }
} finally {
  await side.close();
}
