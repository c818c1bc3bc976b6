// Preload (`node --import`) that tells why a thread's event loop stalled: in every thread whose name matches
// $STALLS_THREADS (a regular expression; default `etcd`), one JSON line per event to $STALLS_FILE.<thread>:
//   {t, stall, runMs, waitMs, heapMB}   the loop came back `stall` ms late (a 20 ms interval timer), and in that
//                                       time the thread ran runMs and waited waitMs for a CPU on the run queue
//                                       (/proc/thread-self/schedstat, Linux): waiting is the machine, running is
//                                       the thread's own work (JavaScript or a collection);
//   {t, gc, flags, ms, heapMB}          a collection paused the thread ms (kind; flags as Node's
//                                       NODE_PERFORMANCE_GC_FLAGS_*: 40 = one V8 started for external memory,
//                                       i.e. ArrayBuffers, 64 = a scheduled idle-time one);
//   {t, heapMB, ..., sched, gc}         every 10 s: heap, external and ArrayBuffer memory, run and run-queue
//                                       seconds so far, collections so far by kind and flags.
// Events at least $STALLS_MIN_MS (default 100) long. Worker threads inherit the preload. Used for issue #16
// (docs/performance.md, "What holds a store replica's thread"):
//
//   STALLS_FILE=/tmp/stalls STALLS_THREADS='etcd|apiserver' LOG_LEVEL=warn \
//     node --import ./scripts/lib/thread-stalls.mjs dist/src/cli/main.js bench density --nodes 5000 --pods 100000 --json
import { appendFileSync, readFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { isMainThread, workerData } from 'node:worker_threads';

const name = isMainThread ? 'main' : String(workerData?.threadName ?? 'worker');
if (process.env.STALLS_FILE !== undefined && new RegExp(process.env.STALLS_THREADS ?? 'etcd').test(name)) {
  const minMs = Number(process.env.STALLS_MIN_MS ?? 100);
  const file = `${process.env.STALLS_FILE}.${name}`;
  const startedMs = Date.now();
  const at = () => ((Date.now() - startedMs) / 1000).toFixed(1);
  const heapMB = () => Math.round(process.memoryUsage().heapUsed / 1048576);
  const write = (row) => appendFileSync(file, `${JSON.stringify(row)}\n`);
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks',
  };
  const totals = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = kinds[entry.detail?.kind] ?? 'other';
      const flags = entry.detail?.flags ?? 0;
      const total = (totals[flags === 0 ? kind : `${kind}:${flags}`] ??= { n: 0, ms: 0, max: 0 });
      total.n++;
      total.ms += entry.duration;
      total.max = Math.max(total.max, entry.duration);
      if (entry.duration >= minMs) write({ t: at(), gc: kind, flags, ms: Math.round(entry.duration), heapMB: heapMB() });
    }
  }).observe({ entryTypes: ['gc'] });
  const sched = () => {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return { run, wait };
  };
  let lastMs = Date.now();
  let last = sched();
  setInterval(() => {
    const nowMs = Date.now();
    const now = sched();
    const stall = nowMs - lastMs - 20;
    if (stall >= minMs) write({ t: at(), stall, runMs: Math.round((now.run - last.run) / 1e6), waitMs: Math.round((now.wait - last.wait) / 1e6), heapMB: heapMB() });
    lastMs = nowMs;
    last = now;
  }, 20).unref();
  setInterval(() => {
    const m = process.memoryUsage();
    const s = sched();
    const mb = (bytes) => Math.round(bytes / 1048576);
    write({ t: at(), heapMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external), arrayBuffersMB: mb(m.arrayBuffers), sched: { runS: Math.round(s.run / 1e9), waitS: Math.round(s.wait / 1e9) }, gc: totals });
  }, 10_000).unref();
}
