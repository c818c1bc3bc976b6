// What a replica's snapshot costs, whole store against a chain's delta (issues #16, #22), on a store shaped
// like the 5,000-node run's (scaled by --pods): pods with a few versions of history, node objects, node Leases
// renewed every 10 s, Events; then windows of --entries writes (etcd's --snapshot-count) of the run's mix, a
// compaction per window (the API server's, one window behind), and after each window a snapshot taken both
// ways, as a replica takes it (SnapshotJob, every step, on an in-memory disk). Measured per snapshot: the
// job's CPU time on this thread (process.cpuUsage: load-independent up to cache effects) and the bytes of its
// file. The chain takes a whole snapshot again once its deltas outgrow its whole one, as replicas do.
// `node --expose-gc scripts/snapshot-delta-cost.mjs [--pods 20000] [--entries 100000] [--windows 4] [--json]`. Run after
// `npx tsc -p .`. Memory: about 3 KB x pods x 8.
import { MemoryDisk } from '../dist/src/actor/disk.js';
import { RaftStorage } from '../dist/src/storage/raft-storage.js';
import { MvccStore } from '../dist/src/kv/mvcc/store.js';
import { SnapshotJob } from '../dist/src/kv/replica/snapshotter.js';
import { storeFromBytes, storeToBytes } from '../dist/src/kv/mvcc/snapshot-codec.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(args[at + 1]);
};
const pods = opt('pods', 20_000);
const entries = opt('entries', 100_000);
const windows = opt('windows', 4);
const json = args.includes('--json');
const nodes = Math.max(1, Math.round(pods / 20));
const VOTERS = { voters: [1, 2, 3], learners: [] };

// A deterministic generator: the same store and writes on every run.
let seed = 0x5eed;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const filler = (n, tag) => `${tag}:${'p'.repeat(Math.max(0, n - tag.length - 1))}`;
const podKey = (i) => `/registry/pods/default/pod-${String(i).padStart(6, '0')}`;
const leaseKey = (i) => `/registry/leases/kube-node-lease/node-${String(i).padStart(5, '0')}`;
let events = 0;

const store = new MvccStore();
store.trackSnapshotChanges();
const t0 = process.cpuUsage();
for (let i = 0; i < nodes; i++) {
  store.put({ key: `/registry/minions/node-${String(i).padStart(5, '0')}`, value: filler(6000, `node${i}`) });
  store.put({ key: leaseKey(i), value: filler(350, `lease${i}`) });
}
// Created, scheduled, started, Ready: four versions each, as the density run writes them.
for (let v = 0; v < 4; v++) for (let i = 0; i < pods; i++) store.put({ key: podKey(i), value: filler(2500 + v * 200, `pod${i}v${v}`) });
const grownCpuMs = cpuMs(process.cpuUsage(t0));

/** One window of writes: the steady state of the 5k run (Lease renewals, pod status, Events). */
function writeWindow() {
  for (let n = 0; n < entries; n++) {
    const r = rnd();
    if (r < 0.5) store.put({ key: leaseKey(Math.floor(rnd() * nodes)), value: filler(350, `lease${store.revision}`) });
    else if (r < 0.85) store.put({ key: podKey(Math.floor(rnd() * pods)), value: filler(3100, `pod${store.revision}`) });
    else store.put({ key: `/registry/events/default/ev-${events++}`, value: filler(800, `ev${store.revision}`) });
  }
}

function cpuMs(usage) {
  return (usage.user + usage.system) / 1000;
}

/** A storage whose log has entries up to `upTo`, so snapshots at 1..upTo may be taken. */
function storageFor() {
  const disk = new MemoryDisk();
  const { storage } = RaftStorage.open(disk);
  const upTo = windows + 2;
  const log = Array.from({ length: upTo }, (_, i) => ({ term: 1, index: i + 1, type: 'normal', data: new Uint8Array(0) }));
  storage.persist({ hardState: { term: 1, vote: 1, commit: upTo }, entries: log, messages: [] });
  return { disk, storage };
}

/** Takes one snapshot as a replica does (every step) and returns what it cost. */
function take(storage, disk, index, options) {
  const filesBefore = new Set(disk.list('snap'));
  // With --expose-gc: the garbage of what ran before is collected before the job's CPU is counted.
  globalThis.gc?.();
  const start = process.cpuUsage();
  const job = new SnapshotJob(store, storage, index, VOTERS, options);
  let taken;
  while (taken === undefined) taken = job.step();
  const cpu = cpuMs(process.cpuUsage(start));
  const file = disk.list('snap').find((name) => !filesBefore.has(name) && name.endsWith('.snap'));
  return { taken, job, cpuMs: cpu, fileBytes: disk.size(`snap/${file}`), steps: taken.steps };
}

const whole = storageFor();
const chained = storageFor();
let chain;
const rows = [];
// The start: both take a whole snapshot (the chain's first link).
let lastCompactTo = store.revision;
for (let w = 0; w <= windows; w++) {
  if (w > 0) {
    // The API server compacts to the revision of one window ago.
    store.compact(lastCompactTo);
    lastCompactTo = store.revision;
    writeWindow();
  }
  const index = w + 1;
  const delta = chain !== undefined && chain.deltaBytes < chain.wholeBytes;
  // A B, then B A: neither always pays for the garbage the other left.
  const takeWhole = () => take(whole.storage, whole.disk, index, { keepBytesMax: 0 });
  const takeChain = () => take(chained.storage, chained.disk, index, { keepBytesMax: 0, chain: delta ? { base: chain.last } : {} });
  let a;
  let b;
  if (w % 2 === 0) {
    a = takeWhole();
    b = takeChain();
  } else {
    b = takeChain();
    a = takeWhole();
  }
  const own = b.taken.file.dataBytes;
  const last = { id: { index, term: 1 }, revision: b.job.revision, dataBytes: (delta ? chain.last.dataBytes : 0) + own };
  chain = delta ? { last, wholeBytes: chain.wholeBytes, deltaBytes: chain.deltaBytes + own } : { last, wholeBytes: own, deltaBytes: 0 };
  rows.push({ window: w, revision: store.revision, whole: { cpuMs: a.cpuMs, bytes: a.fileBytes, steps: a.steps }, chain: { kind: delta ? 'delta' : 'whole', cpuMs: b.cpuMs, bytes: b.fileBytes, steps: b.steps } });
}

// The chain, loaded as a restart loads it, restores what the whole snapshot restores.
const loadedChain = RaftStorage.open(chained.disk).storage.snapshot();
const loadedWhole = RaftStorage.open(whole.disk).storage.snapshot();
const same = Buffer.from(storeToBytes(storeFromBytes(loadedChain.data))).equals(Buffer.from(storeToBytes(storeFromBytes(loadedWhole.data))));

const after = rows.slice(1);
const sum = (xs) => xs.reduce((s, x) => s + x, 0);
const summary = {
  pods, nodes, entriesPerWindow: entries, windows, grownCpuMs: Math.round(grownCpuMs),
  storeSnapshotBytes: rows[rows.length - 1].whole.bytes,
  wholeEveryTime: { bytes: sum(after.map((r) => r.whole.bytes)), cpuMs: Math.round(sum(after.map((r) => r.whole.cpuMs))) },
  chain: { bytes: sum(after.map((r) => r.chain.bytes)), cpuMs: Math.round(sum(after.map((r) => r.chain.cpuMs))) },
  chainRestoresTheSameStore: same,
};
if (json) {
  console.log(JSON.stringify({ rows, summary }, null, 2));
} else {
  console.log(`store: ${pods} pods, ${nodes} nodes, ${entries} writes per window; grown in ${summary.grownCpuMs} ms CPU; order per window: ${rows.map((_, w) => (w % 2 === 0 ? 'AB' : 'BA')).join(' ')}${globalThis.gc === undefined ? ' (no --expose-gc)' : ''}`);
  console.log('window  revision   whole: MB  CPU ms  steps | chain: kind   MB  CPU ms  steps | bytes ratio  CPU ratio');
  for (const r of rows) {
    const mb = (b) => (b / 1048576).toFixed(1).padStart(7);
    console.log(`${String(r.window).padStart(6)} ${String(r.revision).padStart(9)}   ${mb(r.whole.bytes)} ${r.whole.cpuMs.toFixed(0).padStart(7)} ${String(r.whole.steps).padStart(6)} | ${r.chain.kind.padStart(11)} ${mb(r.chain.bytes)} ${r.chain.cpuMs.toFixed(0).padStart(7)} ${String(r.chain.steps).padStart(6)} | ${(r.chain.bytes / r.whole.bytes).toFixed(3).padStart(11)} ${(r.chain.cpuMs / r.whole.cpuMs).toFixed(3).padStart(10)}`);
  }
  console.log(`after the first: whole every time ${(summary.wholeEveryTime.bytes / 1048576).toFixed(1)} MB, ${summary.wholeEveryTime.cpuMs} ms CPU; chain ${(summary.chain.bytes / 1048576).toFixed(1)} MB, ${summary.chain.cpuMs} ms CPU; chain restores the same store: ${same}`);
}
