#!/usr/bin/env node
// What a sequential put (one outstanding) costs etcd in CPU, beside kv-seq-thread-cpu.mjs's figure for our store
// (issue 22, docs/kv-bench.md "A lone put's CPU"): a 3-member etcd as `bench kv` starts it, warmed with the same
// phases as bench-ab's kv-seq, then COUNT sequential 256-byte puts on the leader's endpoint through the bench's etcd3
// client. Each member's CPU is read from /proc/<pid>/stat (utime + stime, clock ticks: 10 ms at 100 Hz, so COUNT of
// 2,000 or more) before and after; the client's (this process: the etcd3 gRPC client) from process.cpuUsage.
// Also each side's idle rate (CPU per second over IDLE_MS with no request: ticks, heartbeats, background work) and
// the put's marginal CPU: the phase's CPU less the idle rate times its elapsed time, per put. Linux only.
//
//   node scripts/kv-seq-etcd-cpu.mjs [DIR] [COUNT]
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { warmUpKvSide } from './lib/kv-warmup.mjs';

const [dirArg = '.', countArg = '2000'] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 100) {
  console.error('usage: kv-seq-etcd-cpu.mjs [DIR] [COUNT, at least 100]');
  process.exit(2);
}
const dir = resolve(dirArg);
const { startEtcd } = await import(pathToFileURL(join(dir, 'dist/bench/kv/etcd-side.js')).href);
const TICKS_PER_S = 100;
/** The idle interval measured before the puts: many ticks and heartbeats (100 ms each), and 10 ms clock ticks. */
const IDLE_MS = 3000;

/** The etcd processes started by this one: pid to CPU microseconds so far. */
function etcdCpuUs() {
  const out = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[1] is ppid; [11], [12] are utime, stime (stat fields 14 and 15).
      if (comm === 'etcd' && Number(fields[1]) === process.pid) out.set(pid, ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_S) * 1e6);
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}
const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };

const side = await startEtcd();
try {
  await side.waitHealthy(60_000);
  await warmUpKvSide(side);
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  const idle0 = etcdCpuUs();
  const idleClient0 = cpuUs();
  const idleStarted = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idleS = (performance.now() - idleStarted) / 1000;
  const idleEtcdUsPerS = (sum(etcdCpuUs()) - sum(idle0)) / idleS;
  const idleClientUsPerS = (cpuUs() - idleClient0) / idleS;
  const before = etcdCpuUs();
  const client0 = cpuUs();
  const r = await side.runPhase({ kind: 'sequentialPuts', prefix: '/s/', count, valueBytes: 256 });
  const clientUs = cpuUs() - client0;
  const after = etcdCpuUs();
  const members = [...after].map(([pid, us]) => Math.round((us - (before.get(pid) ?? us)) / r.ops));
  const s = [...r.latenciesUs].sort((x, y) => x - y);
  const at = (q) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  console.log(JSON.stringify({ side: side.label, version: side.version, puts: r.ops, errors: r.errors, p50Us: at(0.5), p99Us: at(0.99), elapsedMs: Math.round(r.elapsedMs), etcdCpuUsPerPut: members.reduce((a, b) => a + b, 0), membersCpuUsPerPut: members, clientCpuUsPerPut: Math.round(clientUs / r.ops), idleEtcdCpuUsPerS: Math.round(idleEtcdUsPerS), idleClientCpuUsPerS: Math.round(idleClientUsPerS), marginalEtcdCpuUsPerPut: Math.round(members.reduce((a, b) => a + b, 0) - (idleEtcdUsPerS * r.elapsedMs) / 1000 / r.ops), marginalClientCpuUsPerPut: Math.round((clientUs - (idleClientUsPerS * r.elapsedMs) / 1000) / r.ops) }));
} finally {
  await side.close();
}
