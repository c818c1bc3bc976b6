#!/usr/bin/env node
// Splits a V8 .cpuprofile's self time by area of the code (the simulated runtime against the handlers it runs), so a
// simulated run's per-message cost can be divided between the runtime (delivery, message copies, the event queue,
// timers, the trace digest) and the components (API server, store, Raft, WAL, informers, kubelet, ...).
// Usage: node scripts/profile-split.mjs FILE.cpuprofile [--from S] [--to S] [--detail AREA]
//   --from / --to keep the samples of that window (seconds from the profile's start), as profile-top.mjs does.
//   --detail AREA lists the functions inside one area, most self time first.
import { frameLabel, loadCpuProfile } from './lib/cpu-profile.mjs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const file = args.find((a, i) => !a.startsWith('--') && !['--from', '--to', '--detail'].includes(args[i - 1]));
if (file === undefined) {
  console.error('usage: node scripts/profile-split.mjs FILE.cpuprofile [--from S] [--to S] [--detail AREA]');
  process.exit(2);
}
const from = opt('--from') === undefined ? -Infinity : Number(opt('--from')) * 1e6;
const to = opt('--to') === undefined ? Infinity : Number(opt('--to')) * 1e6;
const detail = opt('--detail');

/** The area a frame's self time is charged to, by its function and file (first rule that matches). */
const RULES = [
  ['garbage collector', (fn, url) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
  ['V8/Node other ((program), module loading)', (fn, url) => fn === '(program)' || /node:internal\/(modules|main|bootstrap|process\/pre_execution)|compileSourceTextModule|^fstat$|openFileHandle|^read$|^close$/.test(url + ' ' + fn) && !url.includes('dist/')],
  ['runtime: message copy + trace digest of it', (fn, url) => url.includes('actor/sim/message-copy')],
  ['runtime: event queue', (fn, url) => url.includes('actor/sim/event-queue')],
  ['runtime: sim loop, routing, timers (sim-system)', (fn, url) => url.includes('actor/sim/sim-system')],
  ['runtime: actor cell (deliver, ask, send, settle)', (fn, url) => /dist\/src\/actor\/(cell|supervision|monitors|behaviour|faults|shared|system|prng|protocol|errors|log)\.js/.test(url)],
  ['runtime: microtasks / ticks / promises', (fn, url) => fn === 'runMicrotasks' || url.includes('node:internal/process/task_queues') || url.includes('node:internal/async_hooks') || fn === 'nextTick'],
  ['runtime: actor metrics', (fn, url) => url.includes('actor/metrics')],
  ['msgpack (msgpackr)', (fn, url) => url.includes('node_modules/msgpackr')],
  ['metrics (prom-client, src/metrics)', (fn, url) => url.includes('node_modules/prom-client') || url.includes('dist/src/metrics/')],
  ['disk: MemoryDisk', (fn, url) => /dist\/src\/actor\/(disk|node-disk)\.js/.test(url)],
  ['store: WAL, Raft storage, CRC (src/storage)', (fn, url) => url.includes('dist/src/storage/')],
  ['store: Raft (src/raft)', (fn, url) => url.includes('dist/src/raft/')],
  ['store: MVCC, replica, store client (src/kv)', (fn, url) => url.includes('dist/src/kv/')],
  ['API server: admission', (fn, url) => url.includes('dist/src/api/admission/')],
  ['API server: watch cache', (fn, url) => url.includes('dist/src/api/watch-cache')],
  ['API server: handlers, registry, strategy, copies', (fn, url) => url.includes('dist/src/api/')],
  ['client: informers, REST client', (fn, url) => url.includes('dist/src/client/')],
  ['controllers', (fn, url) => url.includes('dist/src/controllers/')],
  ['scheduler', (fn, url) => url.includes('dist/src/scheduler/')],
  ['kubelet', (fn, url) => url.includes('dist/src/node/kubelet/')],
  ['node: CRI runtime, kube-proxy, other', (fn, url) => url.includes('dist/src/node/')],
  ['cloud, cluster wiring', (fn, url) => url.includes('dist/src/cloud/') || url.includes('dist/src/cluster/')],
  ['chaos harness (observers, checks)', (fn, url) => url.includes('dist/src/chaos/')],
  ['JSON, builtins, other native', (fn, url) => url === '' || url.startsWith('node:')],
  ['other', () => true],
];

function areaOf(node) {
  const fn = node.callFrame.functionName || '(anonymous)';
  const url = node.callFrame.url ?? '';
  for (const [area, test] of RULES) if (test(fn, url)) return area;
  return 'other';
}

const { profile, byId } = loadCpuProfile(file);
const self = new Map();
const fnSelf = new Map();
let total = 0;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  const at = t - profile.startTime;
  if (at < from || at > to) continue;
  const node = byId.get(profile.samples[i]);
  const area = areaOf(node);
  total++;
  self.set(area, (self.get(area) ?? 0) + 1);
  if (detail !== undefined && area.startsWith(detail)) {
    const label = frameLabel(node);
    fnSelf.set(label, (fnSelf.get(label) ?? 0) + 1);
  }
}
const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
console.log(`self time by area (of ${total} samples)`);
let runtime = 0;
for (const [area, n] of [...self].sort((a, b) => b[1] - a[1])) {
  if (area.startsWith('runtime')) runtime += n;
  console.log(`${pct(n)}  ${area}`);
}
console.log(`${pct(runtime)}  = the simulated runtime's areas together`);
if (detail !== undefined) {
  console.log(`\n${detail}: by function`);
  for (const [label, n] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(n)}  ${label}`);
}
