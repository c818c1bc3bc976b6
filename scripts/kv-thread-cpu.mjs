#!/usr/bin/env node
// CPU per operation of each thread of `bench kv`'s store (the driver holding the client, each replica, V8's and
// libuv's helper threads), for issue 17's read cost (docs/metrics.md, "Reads after the routing fix"): the process
// total of `bench-ab.mjs --bench kv-ops` says how much, this says where. Linux only: it reads each thread's
// /proc/<pid>/task/<tid>/schedstat around each phase, and names the actor threads through a preload
// (scripts/lib/thread-name.mjs) that worker threads inherit. Runs the kv-ops warm-up, then for each OP 1.5 s to warm
// it and MS of it measured; prints one JSON line per OP. `sleepsPer1kOps`: each thread's voluntary context switches
// (it waited for work, and something had to wake it) per 1,000 operations, which the machine's load moves less than CPU.
//
//   node scripts/kv-thread-cpu.mjs DIR [OPS, comma-separated: get,serializableGet,put] [MS]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { perOpByThread, relaunchNamingThreads, threadCpuNs, threadNames as readThreadNames, threadSleeps } from './lib/thread-stats.mjs';
import { warmUpKvSide } from './lib/kv-warmup.mjs';

const [dirArg = '.', opsArg = 'get,serializableGet', msArg = '3000'] = process.argv.slice(2);
const ops = opsArg.split(',');
if (!ops.every((op) => ['get', 'serializableGet', 'put'].includes(op)) || !(Number(msArg) >= 100)) {
  console.error('usage: kv-thread-cpu.mjs DIR [get,serializableGet,put] [MS, at least 100]');
  process.exit(2);
}

// Run again with every thread naming itself (the parent only waits for that child).
const namesDir = relaunchNamingThreads(import.meta.url);

const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const threadNames = () => readThreadNames(namesDir);

const side = await startOurs();
try {
  await side.waitHealthy(60_000);
  await warmUpKvSide(side);
  for (const op of ops) {
    const phase = (durationMs) => side.runPhase({ kind: 'load', op, prefix: '/g/', outstanding: 64, durationMs, valueBytes: 256, keyspace: 1000 });
    await phase(1500);
    const sleepsBefore = threadSleeps();
    const before = threadCpuNs();
    const r = await phase(Number(msArg));
    const after = threadCpuNs();
    const sleepsAfter = threadSleeps();
    const names = threadNames();
    const cpuUsPerOp = perOpByThread(before, after, names, r.ops, 1 / 1000);
    const sleepsPer1kOps = perOpByThread(sleepsBefore, sleepsAfter, names, r.ops, 1000);
    const total = Object.values(cpuUsPerOp).reduce((a, b) => a + b, 0);
    for (const k of Object.keys(cpuUsPerOp)) cpuUsPerOp[k] = Math.round(cpuUsPerOp[k] * 100) / 100;
    for (const k of Object.keys(sleepsPer1kOps)) sleepsPer1kOps[k] = Math.round(sleepsPer1kOps[k] * 10) / 10;
    console.log(JSON.stringify({ dir, op, ops: r.ops, errors: r.errors, opsPerS: Math.round(r.ops / (r.elapsedMs / 1000)), cpuUsPerOp: Math.round(total * 100) / 100, threads: cpuUsPerOp, sleepsPer1kOps }));
  }
} finally {
  await side.close();
}
