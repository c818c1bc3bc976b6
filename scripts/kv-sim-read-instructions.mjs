#!/usr/bin/env node
// The CPU instructions a store read costs with a REAL replica group behind it, leader and followers included (issue
// 17's read cost, docs/metrics.md "The leader's read, counted"). scripts/kv-read-instructions.mjs counts the client's
// side against a scripted replica; this one counts the whole path: three etcd replicas and a driver actor hosting a
// ReplicatedKvClient in one SimulatedSystem (one thread, virtual time, seed fixed), so the ReadIndex round, the
// heartbeats and their answers, the followers and the apply all run here, in an order the seed fixes.
//
// Count the whole process twice under cachegrind and divide the difference (start-up, election, the writes and JIT
// warm-up cancel out). V8's own threads (concurrent compilers, parallel and concurrent GC) made whole-process counts
// of the simulated cluster swing 76k-147k per read between neighbouring builds; --single-threaded keeps all of V8's
// work on the main thread, and --predictable with a fixed --random-seed takes the rest of its choices off the clock:
//
//   for n in 4000 16000; do valgrind --tool=cachegrind --cache-sim=no --smc-check=all-non-file \
//     --cachegrind-out-file=/dev/null node --single-threaded --predictable --random-seed=1 \
//     scripts/kv-sim-read-instructions.mjs DIR $n 2>&1 | grep 'I *refs'; done
//   instructions per read = (I refs at 16000 - I refs at 4000) / 12000
//
// That total still moves by up to 10 % between runs of one build (V8's collector is paced by the clock); the
// program's own part (compiled JavaScript and builtins) repeats within about 1.5 %: write the two runs' output
// files (--cachegrind-out-file=OUT.4000, OUT.16000) and split them with scripts/cachegrind-split.mjs.
//
// Without valgrind it prints CPU µs per read and the trace hash (same build, same seed, same hash). DIR is a built
// checkout, any commit since f34ae15 (the script uses only what every one of them exports). SERIALIZABLE 1 sends
// serializable reads instead (the leader answers those from its store, no ReadIndex round); MODE 2 sends puts (16
// outstanding, as the warm-up's), so a put's path — proposal, WAL append and fsync on the simulated disk, commit,
// apply — is counted the same way.
//
//   node scripts/kv-sim-read-instructions.mjs DIR [COUNT] [MODE: 0 linearizable reads, 1 serializable, 2 puts]
import { resolve } from 'node:path';
const [dirArg = '.', nArg = '8000', serArg = '0'] = process.argv.slice(2);
if (!(Number.isInteger(Number(nArg)) && Number(nArg) >= 64) || !['0', '1', '2'].includes(serArg)) {
  console.error('usage: kv-sim-read-instructions.mjs DIR [COUNT, at least 64] [MODE 0|1|2: linearizable reads, serializable reads, puts]');
  process.exit(2);
}
const dir = resolve(dirArg);
// The simulated runtime yields a macrotask when 20 ms of wall-clock time have passed (so a host's timers get a turn);
// with --single-threaded, V8's GC tasks run in those turns, so how many there are — and how far the collector gets —
// followed the machine's load. No clock, no yields: the runtime's events and V8's work happen at the same points in
// every run. (Nothing else here reads performance.now: the actors' clocks are the simulation's.)
const wallNow = performance.now.bind(performance);
performance.now = () => 0;
const imp = (p) => import(`file://${dir}/dist/${p}`);
const noop = () => {};
const log = { warn: noop, info: noop, error: noop, debug: noop, trace: noop, fatal: noop, child() { return log; } };
// KV_SIM_PRELOAD=a.js,b.js: import these modules first and keep them (an experiment: what a larger program's heap
// alone does to the count; docs/metrics.md "The leader's read, counted").
const preloaded = [];
for (const m of (process.env.KV_SIM_PRELOAD ?? '').split(',').filter(Boolean)) preloaded.push(await import(resolve(m)));
const { SimulatedSystem } = await imp('src/actor/sim/sim-system.js');
const { spawnEtcdGroup, groupStatus } = await imp('src/kv/replica/group.js');
const { ReplicatedKvClient, actorKvClientHost } = await imp('src/kv/client/index.js');

const KEYS = 1000;
const value = 'x'.repeat(250);
const sim = new SimulatedSystem({ seed: 1, logger: log });
const group = await spawnEtcdGroup(sim, { replicas: 3 });
const behaviour = {
  module: 'kv-sim-read-instructions', id: 'drv',
  factory: (ctx) => {
    const { host, handle } = actorKvClientHost(ctx);
    const client = new ReplicatedKvClient(host, { replicas: group.names });
    return {
      receive(msg) {
        if (handle(msg) || client.handle(msg)) return undefined;
        const { op, n } = msg.body;
        let next = 0;
        const worker = async () => {
          while (next < n) {
            const i = next++;
            if (op === 'put') await client.put(`/g/${i % KEYS}`, value + i);
            else await client.range(`/g/${i % KEYS}`, { serializable: serArg === '1' });
          }
        };
        return Promise.all(Array.from({ length: op === 'put' ? 16 : 64 }, worker)).then(() => n);
      },
    };
  },
};
await sim.spawn(behaviour, { name: 'drv', args: {} });
const drv = sim.ref('drv');
const settle = (p) => sim.settle(p, { maxMs: 3_600_000 });
for (let i = 0; i < 200; i++) {
  const s = await settle(groupStatus(sim, group.names));
  if (s.some((r) => r?.role === 'leader')) break;
  await sim.runFor(100);
}
await settle(drv.ask({ type: 'run', body: { op: 'put', n: KEYS } }, { timeoutMs: 3_600_000 }));
const n = Number(nArg);
const c0 = process.cpuUsage(), w0 = wallNow();
const t0 = sim.now();
await settle(drv.ask({ type: 'run', body: { op: serArg === '2' ? 'put' : 'get', n } }, { timeoutMs: 3_600_000 }));
const c = process.cpuUsage(c0);
const virtualMs = sim.now() - t0;
const leader = (await settle(groupStatus(sim, group.names))).find((r) => r?.role === 'leader')?.name;
console.log(JSON.stringify({ dir, n, serializable: serArg === '1', puts: serArg === '2', cpuUsPerOp: +((c.user + c.system) / n).toFixed(3), wallMs: Math.round(wallNow() - w0), virtualMs, leader, delivered: sim.delivered, trace: sim.traceHash() }));
await sim.shutdown();
process.exit(0);
