#!/usr/bin/env node
// What a cross-process call costs the gRPC face and its etcd3 client together, with the store taken out (issue 22):
// for each DIR, the face (`KvGrpcServer`) of that build over an in-process store (`LocalKvClient`) and an etcd3
// client (bench kv's options) on loopback, all in this one thread, so a change to what the face sends shows in both
// the server's and the client's work. Rounds alternate the builds (A B B A ...); each is CALLS serializable gets of
// 1,000 keys (256-byte values) at 64 outstanding. Prints CPU µs per call (this process; one thread does all of it)
// and bytes allocated per call (V8's sampling heap profiler over one extra round per build, collected objects kept:
// a sampled estimate that does not move with the machine's load).
//
//   node scripts/kv-grpc-face-cost.mjs DIR_A DIR_B [CALLS per round, default 20000] [ROUNDS per build, default 4]
import { Session } from 'node:inspector';
import { resolve } from 'node:path';

const [dirA, dirB, callsArg = '20000', roundsArg = '4'] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined) {
  console.error('usage: kv-grpc-face-cost.mjs DIR_A DIR_B [CALLS] [ROUNDS]');
  process.exit(2);
}
const calls = Number(callsArg);
const rounds = Number(roundsArg);
const { Etcd3 } = await import('etcd3');

async function build(dirArg) {
  const dir = resolve(dirArg);
  const imp = (p) => import(`file://${dir}/dist/${p}`);
  const { KvGrpcServer } = await imp('src/kv/grpc/server.js');
  const { LocalKvClient } = await imp('src/kv/client/local-client.js');
  const { benchClientOptions } = await imp('bench/kv/etcd-side.js');
  const kv = new LocalKvClient({ now: () => Date.now() });
  const server = new KvGrpcServer({ kv });
  const { endpoint } = await server.start();
  const client = new Etcd3(benchClientOptions(endpoint));
  const value = 'v'.repeat(256);
  for (let i = 0; i < 1000; i++) await kv.put(`/f/${i}`, value);
  let next = 0;
  const run = async (n) => {
    let left = n;
    const worker = async () => {
      while (left > 0) {
        left--;
        await client.get(`/f/${next++ % 1000}`).serializable(true).string();
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
  };
  return { dir, run, close: () => (client.close(), server.close()) };
}

const builds = [await build(dirA), await build(dirB)];
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
for (const b of builds) await b.run(calls); // warm both: JIT, channels
const cpuPerCall = [[], []];
for (let r = 0; r < rounds * 2; r++) {
  const which = [0, 1, 1, 0][r % 4];
  const c0 = cpu();
  await builds[which].run(calls);
  cpuPerCall[which].push(Math.round(((cpu() - c0) / calls) * 10) / 10);
}

const session = new Session();
session.connect();
const post = (method, params) => new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
const sum = (node) => node.selfSize + node.children.reduce((a, c) => a + sum(c), 0);
const bytesPerCall = [];
for (const b of builds) {
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await b.run(calls);
  const { profile } = await post('HeapProfiler.stopSampling');
  bytesPerCall.push(Math.round(sum(profile.head) / calls));
}
console.log(JSON.stringify({
  loadAvg: Number((await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  calls, a: { dir: builds[0].dir, cpuUsPerCall: cpuPerCall[0], bytesPerCall: bytesPerCall[0] }, b: { dir: builds[1].dir, cpuUsPerCall: cpuPerCall[1], bytesPerCall: bytesPerCall[1] },
}));
for (const b of builds) b.close();
process.exit(0);
