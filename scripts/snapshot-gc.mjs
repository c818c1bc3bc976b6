// One replica's snapshot of a large store, taken alone on this thread as a replica takes it
// (SnapshotJob in steps, file WAL storage on a NodeDisk, writes in the background or not), with
// each step timed and every garbage collection recorded: what a step is made of, apart from the
// other replicas and the machine's load. `node scripts/snapshot-gc.mjs [MB] [background|foreground]`.
// Run after `npm run build`. Memory: about 2.5x the store.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { NodeDisk } from '../dist/src/actor/node-disk.js';
import { RaftStorage } from '../dist/src/storage/raft-storage.js';
import { MvccStore } from '../dist/src/kv/mvcc/store.js';
import { SnapshotJob } from '../dist/src/kv/replica/snapshotter.js';

const mb = Number(process.argv[2] ?? 1024);
const background = (process.argv[3] ?? 'background') === 'background';
const valueBytes = 64 * 1024;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-snapshot-gc-'));
const gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ kind: e.detail?.kind, startMs: e.startTime, ms: e.duration });
}).observe({ entryTypes: ['gc'] });
const KIND = { 1: 'scavenge', 2: 'minor-mc', 4: 'mark-compact', 8: 'incremental', 16: 'weak-callbacks' };

try {
  const disk = new NodeDisk(root);
  const { storage } = RaftStorage.open(disk);
  const store = new MvccStore();
  const count = Math.ceil((mb * 1024 * 1024) / valueBytes);
  for (let i = 0; i < count; i++) store.put({ key: `history/${String(i).padStart(8, '0')}`, value: `${i}`.padEnd(valueBytes, 'x') });
  storage.persist({ hardState: { term: 1, vote: 1, commit: 1 }, entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array(0) }], messages: [] });
  globalThis.gc?.();
  const gcsBefore = gcs.length;
  const steps = [];
  let taken;
  let ready = () => {};
  const job = new SnapshotJob(store, storage, 1, { voters: [1], learners: [] }, { background }, {
    onReady: () => ready(),
    onFileDurable: (take) => {
      const s = performance.now();
      taken = take();
      steps.push({ kind: 'finish', startMs: s, ms: performance.now() - s });
      ready();
    },
  });
  const startedMs = performance.now();
  const cpuBefore = process.cpuUsage();
  while (taken === undefined) {
    if (!job.canStep) {
      await new Promise((resolve) => (ready = resolve));
      continue;
    }
    const s = performance.now();
    const result = job.step();
    steps.push({ kind: 'step', startMs: s, ms: performance.now() - s });
    if (result !== undefined) taken = result;
    // The turns between steps: let I/O completions in, as the replica's event loop does.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const tookMs = performance.now() - startedMs;
  const cpu = process.cpuUsage(cpuBefore);
  const during = gcs.slice(gcsBefore);
  const byKind = {};
  for (const g of during) {
    const k = KIND[g.kind] ?? String(g.kind);
    byKind[k] ??= { count: 0, totalMs: 0, maxMs: 0 };
    byKind[k].count++;
    byKind[k].totalMs += g.ms;
    byKind[k].maxMs = Math.max(byKind[k].maxMs, g.ms);
  }
  const sorted = [...steps].sort((a, b) => b.ms - a.ms);
  const gcIn = (step) => during.filter((g) => g.startMs >= step.startMs && g.startMs < step.startMs + step.ms).map((g) => `${KIND[g.kind] ?? g.kind} ${g.ms.toFixed(1)}`);
  console.log(JSON.stringify({
    mb, background, steps: steps.length, tookMs: Math.round(tookMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000), load: os.loadavg()[0], bytes: taken.file?.dataBytes ?? taken.data?.length,
    longest: sorted.slice(0, 8).map((s) => ({ kind: s.kind, ms: Number(s.ms.toFixed(1)), gc: gcIn(s) })),
    p50StepMs: Number(sorted[Math.floor(sorted.length / 2)].ms.toFixed(1)),
    gc: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, { count: v.count, totalMs: Math.round(v.totalMs), maxMs: Number(v.maxMs.toFixed(1)) }])),
    externalMB: Math.round(process.memoryUsage().external / 1e6), heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
  }, null, 1));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
