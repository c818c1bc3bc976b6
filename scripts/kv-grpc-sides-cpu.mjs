#!/usr/bin/env node
// One cross-process row of `bench kv` on both sides, by what each call costs rather than by rate (issue 22): our
// store behind its gRPC face and a 3-member etcd, each driven by the same etcd3 client processes (as bench kv forks
// them) with OUTSTANDING calls split over PROCESSES. Per call, each round prints: the client processes' CPU and
// their read / write system calls (the client-process outcome's own figures), and the server's CPU (ours: every
// thread of this process, from /proc/self/task; etcd: its members, from /proc/<pid>/stat in 10 ms ticks) and its
// read / write system calls (/proc/<pid>/io; for puts these include the WAL's and the peers' messages). On two
// cores the clients and the store share the CPU, so a row's ceiling is set by client plus server CPU per call, and a
// server that answers each call in a socket write of its own costs its client a read (and a JS callback) per call.
// ROUNDS rounds per side, after a 2 s warm-up of the same load; the sides run one after the other, in the order SIDES names.
//
//   node scripts/kv-grpc-sides-cpu.mjs DIR [OP: get|serializableGet|put|cas] [MS] [PROCESSES] [OUTSTANDING] [ROUNDS] [SIDES: ours,etcd]
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dirArg = '.', op = 'serializableGet', msArg = '4000', procArg = '1', outArg = '64', roundsArg = '2', sidesArg = 'ours,etcd'] = process.argv.slice(2);
if (!['get', 'serializableGet', 'put', 'cas'].includes(op) || !(Number(msArg) >= 100) || !(Number(procArg) >= 1) || !(Number(outArg) >= Number(procArg))) {
  console.error('usage: kv-grpc-sides-cpu.mjs DIR [get|serializableGet|put|cas] [MS] [PROCESSES] [OUTSTANDING] [ROUNDS] [ours,etcd]');
  process.exit(2);
}
const dir = resolve(dirArg);
const { startOurs } = await import(pathToFileURL(join(dir, 'dist/bench/kv/ours.js')).href);
const { startEtcd } = await import(pathToFileURL(join(dir, 'dist/bench/kv/etcd-side.js')).href);
const { runAcrossProcesses } = await import(pathToFileURL(join(dir, 'dist/bench/kv/processes.js')).href);
const TICKS_PER_S = 100;

const io = (pid) => {
  const text = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { reads: Number(/syscr:\s+(\d+)/.exec(text)[1]), writes: Number(/syscw:\s+(\d+)/.exec(text)[1]) };
};
/** Our side: every thread of this process (the replicas, the face, V8's helpers; the main thread only orchestrates). */
function oursCounters() {
  let cpuUs = 0;
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      cpuUs += Number(readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { cpuUs, ...io(process.pid) };
}
/** etcd's side: the etcd processes this one started. */
function etcdCounters() {
  const total = { cpuUs: 0, reads: 0, writes: 0 };
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'etcd' || Number(fields[1]) !== process.pid) continue;
      total.cpuUs += ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_S) * 1e6;
      const c = io(pid);
      total.reads += c.reads;
      total.writes += c.writes;
    } catch {
      // Gone between the listing and the read.
    }
  }
  return total;
}

const spec = (durationMs) => ({ kind: 'load', op, prefix: '/g/', outstanding: Number(outArg), durationMs, valueBytes: 256, keyspace: op === 'cas' ? Number(outArg) : 1000 });
const round2 = (x) => Math.round(x * 100) / 100;
for (const name of sidesArg.split(',')) {
  const side = name === 'etcd' ? await startEtcd() : await startOurs();
  const counters = name === 'etcd' ? etcdCounters : oursCounters;
  try {
    await side.waitHealthy(60_000);
    const endpoint = await side.grpcEndpoint();
    await side.runPhase({ kind: 'populate', prefix: '/g/', count: 1000, valueBytes: 256, outstanding: 64 });
    await runAcrossProcesses(endpoint, spec(2000), Number(procArg));
    for (let i = 0; i < Number(roundsArg); i++) {
      const before = counters();
      const r = await runAcrossProcesses(endpoint, spec(Number(msArg)), Number(procArg));
      const after = counters();
      const per = (x) => round2(x / r.ops);
      console.log(JSON.stringify({
        side: name, op, processes: Number(procArg), outstanding: Number(outArg), round: i, ops: r.ops, errors: r.errors, opsPerS: Math.round(r.opsPerS),
        loadAvg: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
        clientCpuUsPerOp: per(r.clientCpuUs), clientReadsPerOp: per(r.clientSyscalls?.reads ?? NaN), clientWritesPerOp: per(r.clientSyscalls?.writes ?? NaN),
        serverCpuUsPerOp: per(after.cpuUs - before.cpuUs), serverReadsPerOp: per(after.reads - before.reads), serverWritesPerOp: per(after.writes - before.writes),
      }));
    }
  } finally {
    await side.close();
  }
}
