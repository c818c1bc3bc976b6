#!/usr/bin/env node
// The store client's own CPU per call, without threads or replicas: a host whose ask answers at once and
// encodes each ask into frames of 64 as the threaded router does. No other thread takes part, so the figure
// moves far less with the machine's load than a bench run. Used for issue 17's read regression
// (docs/metrics.md, "The read drop, found"):
//
//   node scripts/kv-client-cost.mjs /path/to/a/built/checkout [calls]
import { resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? '.');
const calls = Number(process.argv[3] ?? 400_000);
if (!Number.isInteger(calls) || calls < 64) {
  console.error('usage: kv-client-cost.mjs DIR [calls, at least 64]');
  process.exit(2);
}
const { ReplicatedKvClient } = await import(`file://${dir}/dist/src/kv/client/index.js`);
const { FrameEncoder } = await import(`file://${dir}/dist/src/actor/codec.js`);
const encoder = new FrameEncoder();
const reply = { type: 'range', header: { revision: 5 }, kvs: [{ key: '/g/1', value: 'v', createRevision: 1, modRevision: 2, version: 1, lease: 0 }], count: 1, more: false };
let frame = [];
let clockMs = 1_000_000;
const host = {
  name: 'probe',
  ask(to, msg) {
    frame.push({ to, from: 'probe', type: msg.type, corr: 1, body: msg.body });
    if (frame.length === 64) {
      encoder.encode(frame);
      frame = [];
    }
    return Promise.resolve(reply);
  },
  send() {},
  now: () => clockMs++,
  sleep: () => Promise.resolve(),
  random: () => 0.5,
};
const client = new ReplicatedKvClient(host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
// The first round warms the JIT; the next two are reported.
for (let round = 0; round < 3; round++) {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < calls; i += 64) {
    await Promise.all(Array.from({ length: 64 }, (_, j) => client.range(`/g/${(i + j) % 1000}`, { serializable: true })));
  }
  const cpu = process.cpuUsage(cpu0);
  if (round > 0) console.log(JSON.stringify({ dir, round, cpuUsPerCall: Math.round(((cpu.user + cpu.system) / calls) * 1000) / 1000 }));
}
