#!/usr/bin/env node
// The CPU instructions a store-client read costs, counted by valgrind rather than timed, so that two builds can be
// compared on a loaded machine (issue 17's read cost, docs/metrics.md "Reads after the routing fix"): on the shared
// 2-core machine CPU time per op moved by ±10 % between runs of the same build, an instruction count by about 2 %.
//
// One build's own pieces in one thread: an actor cell hosting a ReplicatedKvClient (actorKvClientHost), the threaded
// runtime's Router and codec, and a scripted replica behind a stand-in MessagePort that decodes each frame, answers
// every range and hands the reply frame back on the next macrotask, as a frame from another thread arrives. COUNT
// ranges at 64 outstanding. Count the whole process twice under cachegrind and divide the difference (start-up and
// JIT warm-up cancel out):
//
//   for n in 5000 25000; do valgrind --tool=cachegrind --cache-sim=no --smc-check=all-non-file \
//     --cachegrind-out-file=/dev/null node scripts/kv-read-instructions.mjs DIR $n 2>&1 | grep 'I *refs'; done
//   instructions per read = (I refs at 25000 - I refs at 5000) / 20000
//
// Without valgrind it prints CPU µs per read (load-dependent). DIR is a built checkout; SERIALIZABLE 0 sends
// linearizable reads (the scripted replica answers both at once).
//
//   node scripts/kv-read-instructions.mjs DIR [COUNT] [SERIALIZABLE]
import { resolve } from 'node:path';
const [dirArg = '.', nArg = '20000', serArg = '1'] = process.argv.slice(2);
if (!(Number.isInteger(Number(nArg)) && Number(nArg) >= 64) || !['0', '1'].includes(serArg)) {
  console.error('usage: kv-read-instructions.mjs DIR [COUNT, at least 64] [SERIALIZABLE 0|1]');
  process.exit(2);
}
const dir = resolve(dirArg);
const imp = (p) => import(`file://${dir}/dist/${p}`);
const noop = () => {};
const log = { warn: noop, info: noop, error: noop, debug: noop, trace: noop, fatal: noop, child() { return log; } };
const { ActorCell } = await imp('src/actor/cell.js');
const { Router } = await imp('src/actor/threaded/router.js');
const { Prng } = await imp('src/actor/prng.js');
const { FrameEncoder, FrameDecoder } = await imp('src/actor/codec.js');
const { REPLY_TYPE } = await imp('src/actor/protocol.js');
const { ReplicatedKvClient, actorKvClientHost } = await imp('src/kv/client/index.js');
const repEnc = new FrameEncoder(), repDec = new FrameDecoder();
const value = 'x'.repeat(250);
const router = new Router(1, log, new Prng(7), 0);
const handlers = [];
router.connect(2, {
  on(ev, fn) { if (ev === 'message') handlers.push(fn); }, close() {},
  postMessage(frame) {
    const { envelopes } = repDec.decode(frame);
    const out = repEnc.encode(envelopes.map((e) => { const i = Number(e.body.key.slice(3)); return { to: e.from, from: e.to, type: REPLY_TYPE, corr: e.corr, body: { ok: true, value: { type: 'range', header: { revision: 1300 }, kvs: [{ key: e.body.key, value: value + i, createRevision: 300 + i, modRevision: 300 + i, version: 1, lease: 0 }], count: 1, more: false } } }; }));
    setImmediate(() => { for (const h of handlers) h(out); });
  },
});
router.setDirectory([['etcd-0', 2], ['etcd-1', 2], ['etcd-2', 2], ['drv', 1], ['$host', 1]]);
const host = {
  seed: 1, asks: router.asks, now: () => Date.now(), monotonicNow: () => performance.now(),
  route: (e) => router.route(e), schedule: (ms, fn) => router.schedule(ms, fn),
  flushSends: () => router.flushOutboxes?.(), afterArrivals: (fn) => void setImmediate(fn),
  spawnChild: noop, watch: noop, unwatch: noop, monitor: noop, demonitor: noop, exited: noop,
};
const behaviour = {
  module: 'cg', id: 'cg',
  factory: (ctx) => {
    const { host: kvHost, handle } = actorKvClientHost(ctx);
    // Under valgrind everything runs ~50x slower: the default 1 s attempt timeout would expire and retry, counting a path reads never take.
    const client = new ReplicatedKvClient(kvHost, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'], attemptTimeoutMs: 600000, requestTimeoutMs: 3000000 });
    return {
      receive(msg) {
        if (handle(msg) || client.handle(msg)) return undefined;
        const n = msg.body.n;
        let next = 0;
        const worker = async () => { while (next < n) { const i = next++; await client.range(`/g/${i % 1000}`, { serializable: serArg === '1' }); } };
        return Promise.all(Array.from({ length: 64 }, worker)).then(() => n);
      },
    };
  },
};
const cell = new ActorCell('drv', host, {}, log, new Prng(3));
router.local.set('drv', { cell, paused: false, held: [] });
cell.start(behaviour, {});
const n = Number(nArg);
const c0 = process.cpuUsage();
await router.makeRef('drv', '$host').ask({ type: 'run', body: { n } }, { timeoutMs: 3_600_000 });
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ dir, n, cpuUsPerOp: +((c.user + c.system) / n).toFixed(3) }));
process.exit(0);
