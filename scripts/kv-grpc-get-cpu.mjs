#!/usr/bin/env node
// CPU per cross-process linearizable get on our side of `bench kv`'s cross-process rows (issue 22), by thread:
// our store (three replica threads) and its gRPC face (the gateway thread), driven by one `etcd3` client process
// (bench/kv/client-process.ts, as bench kv forks it) at 64 outstanding. Each thread's CPU comes from
// /proc/<pid>/task/<tid>/schedstat around the measured phase, named as in kv-thread-cpu.mjs; the client
// process's own CPU is not in the figure (it is the same etcd3 client on both sides of the etcd comparison).
// Prints one JSON line: ops, errors, ops/s, CPU µs per get of every thread of this process and by thread, and each
// thread's sleeps (voluntary context switches: each a wake-up) per 1,000 gets. `idleUsPerS`: what the threads spent
// per second in 2 s with no calls (ticks, timers, V8's idle work), measured just before; `netCpuUsPerOp` takes that
// rate out of the phase, which matters when a loaded machine holds the rate to a few hundred calls a second;
// `netThreads` takes each thread's own idle rate out of its figure.
//
// `busyCores`: each thread's CPU over the phase's wall time (1 = a core the whole phase): the thread near 1 is the one
// that saturates. OUTSTANDING (default 64) is split over the processes, as bench kv splits its 1,000-outstanding put.
//
//   node scripts/kv-grpc-get-cpu.mjs DIR [OP: get|serializableGet|put|cas] [MS] [PROCESSES] [OUTSTANDING]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { perOpByThread, relaunchNamingThreads, threadCpuNs, threadNames as readThreadNames, threadSleeps } from './lib/thread-stats.mjs';

const [dirArg = '.', op = 'get', msArg = '4000', procArg = '1', outstandingArg = '64'] = process.argv.slice(2);
if (!['get', 'serializableGet', 'put', 'cas'].includes(op) || !(Number(msArg) >= 100) || !(Number(procArg) >= 1)) {
  console.error('usage: kv-grpc-get-cpu.mjs DIR [get|serializableGet|put|cas] [MS, at least 100] [PROCESSES]');
  process.exit(2);
}
// Run again with every thread naming itself (the parent only waits for that child).
const namesDir = relaunchNamingThreads(import.meta.url);

const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const { runAcrossProcesses } = await import(pathToFileURL(join(dir, 'dist/bench/kv/processes.js')).href);
const threadNames = () => readThreadNames(namesDir);
const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);

const side = await startOurs();
try {
  await side.waitHealthy(60_000);
  const endpoint = await side.grpcEndpoint();
  await side.runPhase({ kind: 'populate', prefix: '/g/', count: 1000, valueBytes: 256, outstanding: 64 });
  // CAS: a key per worker, as bench kv runs it (workers own their keys).
  const spec = (durationMs) => ({ kind: 'load', op, prefix: '/g/', outstanding: Number(outstandingArg), durationMs, valueBytes: 256, keyspace: op === 'cas' ? 64 : 1000 });
  // Warm the face, the client's channel and the JIT on both sides.
  await runAcrossProcesses(endpoint, spec(2000), Number(procArg));
  const idle0 = threadCpuNs();
  const idleStart = performance.now();
  await new Promise((r) => setTimeout(r, 2000));
  const idle1 = threadCpuNs();
  const idleS = (performance.now() - idleStart) / 1000;
  const idleUsPerS = (sum(idle1) - sum(idle0)) / 1000 / idleS;
  const sleepsBefore = threadSleeps();
  const before = threadCpuNs();
  const phaseStart = performance.now();
  const r = await runAcrossProcesses(endpoint, spec(Number(msArg)), Number(procArg));
  const phaseS = (performance.now() - phaseStart) / 1000;
  const after = threadCpuNs();
  const sleepsAfter = threadSleeps();
  const names = threadNames();
  const cpuUsPerOp = perOpByThread(before, after, names, r.ops, 1 / 1000);
  const sleepsPer1kOps = perOpByThread(sleepsBefore, sleepsAfter, names, r.ops, 1000);
  for (const k of Object.keys(sleepsPer1kOps)) sleepsPer1kOps[k] = Math.round(sleepsPer1kOps[k] * 10) / 10;
  const total = Object.values(cpuUsPerOp).reduce((a, b) => a + b, 0);
  const netCpuUsPerOp = (total * r.ops - idleUsPerS * phaseS) / r.ops;
  // Each thread less its own idle rate: on a loaded machine, where the rate is a few hundred calls a second, the
  // ticks and timers of the threads that do not serve a call would otherwise be most of their figure.
  const netThreads = {};
  for (const [tid, ns] of after) {
    const name = names.get(tid) ?? 'v8 and libuv helpers';
    const idleNs = (idle1.get(tid) ?? 0) - (idle0.get(tid) ?? 0);
    const us = (ns - (before.get(tid) ?? 0) - (idleNs / idleS) * phaseS) / 1000;
    netThreads[name] = (netThreads[name] ?? 0) + us / r.ops;
  }
  for (const k of Object.keys(netThreads)) netThreads[k] = Math.round(netThreads[k] * 100) / 100;
  // The etcd3 client processes' own CPU (each measured around its phase): on two cores they share the CPU with us.
  const clientCpuUsPerOp = Math.round((r.clientCpuUs / r.ops) * 100) / 100;
  const busyCores = { 'client processes': Math.round((r.clientCpuUs / 1e6 / phaseS) * 100) / 100 };
  for (const [k, us] of Object.entries(cpuUsPerOp)) busyCores[k] = Math.round(((us * r.ops) / 1e6 / phaseS) * 100) / 100;
  for (const k of Object.keys(cpuUsPerOp)) cpuUsPerOp[k] = Math.round(cpuUsPerOp[k] * 100) / 100;
  console.log(JSON.stringify({
    dir, op, processes: Number(procArg), outstanding: Number(outstandingArg), ops: r.ops, errors: r.errors, opsPerS: r.opsPerS, cpuUsPerOp: Math.round(total * 100) / 100,
    idleUsPerS: Math.round(idleUsPerS), netCpuUsPerOp: Math.round(netCpuUsPerOp * 100) / 100, clientCpuUsPerOp, threads: cpuUsPerOp, netThreads, busyCores, sleepsPer1kOps,
  }));
} finally {
  await side.close();
}
