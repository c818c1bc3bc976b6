// Preload (`node --import`) for scripts/kv-thread-gc.mjs: every thread of the process (worker threads inherit the
// preload) counts its own isolate's garbage collections by kind with a PerformanceObserver, and answers a
// 'kubethreads-gc-stats' BroadcastChannel with its name and counts whenever the main thread asks. Does nothing
// without $KUBETHREADS_GC_STATS.
import { BroadcastChannel, isMainThread, workerData } from 'node:worker_threads';
import { PerformanceObserver, constants } from 'node:perf_hooks';

if (process.env.KUBETHREADS_GC_STATS !== undefined) {
  const name = isMainThread ? 'main' : String(workerData?.threadName ?? 'worker');
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incrementalMarking',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks',
  };
  const stats = {};
  for (const k of Object.values(kinds)) stats[k] = { count: 0, ms: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const s = stats[kinds[e.detail?.kind ?? e.kind] ?? 'scavenge'];
      s.count += 1;
      s.ms += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const channel = new BroadcastChannel('kubethreads-gc-stats');
  channel.unref();
  if (!isMainThread) {
    channel.onmessage = (m) => {
      if (m.data === 'ask') channel.postMessage({ name, stats, heapUsed: process.memoryUsage().heapUsed });
    };
  }
  globalThis.__kubethreadsGcStats = { name, stats, channel };
}
