#!/usr/bin/env node
// CPU per cross-process linearizable get on our side of `bench kv`'s cross-process rows (issue 22), by thread:
// our store (three replica threads) and its gRPC face (the gateway thread), driven by one `etcd3` client process
// (bench/kv/client-process.ts, as bench kv forks it) at 64 outstanding. Each thread's CPU comes from
// /proc/<pid>/task/<tid>/schedstat around the measured phase, named as in kv-thread-cpu.mjs; the client
// process's own CPU is not in the figure (it is the same etcd3 client on both sides of the etcd comparison).
// Prints one JSON line: ops, errors, ops/s, CPU µs per get of every thread of this process and by thread.
//
//   node scripts/kv-grpc-get-cpu.mjs DIR [OP: get|serializableGet|put] [MS] [PROCESSES]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [dirArg = '.', op = 'get', msArg = '4000', procArg = '1'] = process.argv.slice(2);
if (!['get', 'serializableGet', 'put'].includes(op) || !(Number(msArg) >= 100) || !(Number(procArg) >= 1)) {
  console.error('usage: kv-grpc-get-cpu.mjs DIR [get|serializableGet|put] [MS, at least 100] [PROCESSES]');
  process.exit(2);
}
if (process.env.THREAD_NAMES_DIR === undefined) {
  const names = mkdtempSync(join(tmpdir(), 'kubethreads-thread-names-'));
  const preload = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'lib', 'thread-name.mjs')).href;
  const child = spawnSync(process.execPath, ['--import', preload, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, THREAD_NAMES_DIR: names, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
  });
  rmSync(names, { recursive: true, force: true });
  process.exit(child.status ?? 1);
}

const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const { runAcrossProcesses } = await import(pathToFileURL(join(dir, 'dist/bench/kv/processes.js')).href);
const namesDir = process.env.THREAD_NAMES_DIR;
const threadNames = () => {
  const names = new Map();
  for (const file of readdirSync(namesDir)) {
    const [pid, tid] = file.split('-');
    if (Number(pid) === process.pid) names.set(tid, readFileSync(join(namesDir, file), 'utf8'));
  }
  return names;
};
const threadCpuNs = () => {
  const cpu = new Map();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      cpu.set(tid, Number(readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return cpu;
};

const side = await startOurs();
try {
  await side.waitHealthy(60_000);
  const endpoint = await side.grpcEndpoint();
  await side.runPhase({ kind: 'populate', prefix: '/g/', count: 1000, valueBytes: 256, outstanding: 64 });
  const spec = (durationMs) => ({ kind: 'load', op, prefix: '/g/', outstanding: 64, durationMs, valueBytes: 256, keyspace: 1000 });
  // Warm the face, the client's channel and the JIT on both sides.
  await runAcrossProcesses(endpoint, spec(2000), Number(procArg));
  const before = threadCpuNs();
  const r = await runAcrossProcesses(endpoint, spec(Number(msArg)), Number(procArg));
  const after = threadCpuNs();
  const names = threadNames();
  const cpuUsPerOp = {};
  for (const [tid, ns] of after) {
    const name = names.get(tid) ?? 'v8 and libuv helpers';
    cpuUsPerOp[name] = (cpuUsPerOp[name] ?? 0) + (ns - (before.get(tid) ?? 0)) / 1000 / r.ops;
  }
  const total = Object.values(cpuUsPerOp).reduce((a, b) => a + b, 0);
  for (const k of Object.keys(cpuUsPerOp)) cpuUsPerOp[k] = Math.round(cpuUsPerOp[k] * 100) / 100;
  console.log(JSON.stringify({ dir, op, processes: Number(procArg), ops: r.ops, errors: r.errors, opsPerS: Math.round(r.opsPerS ?? r.ops / (r.elapsedMs / 1000)), cpuUsPerOp: Math.round(total * 100) / 100, threads: cpuUsPerOp }));
} finally {
  await side.close();
}
