// Preload (`node --import`) for scripts/kv-thread-gc.mjs and scripts/kv-seq-tail.mjs: every thread of the process
// (worker threads inherit the preload) counts its own isolate's garbage collections by kind with a
// PerformanceObserver, keeps the last GC_EVENTS_KEPT of them with their start (epoch ms, comparable across threads)
// and pause, and answers a 'kubethreads-gc-stats' BroadcastChannel with its name, counts and events whenever the
// main thread asks (`gatherGcStats`). Does nothing without $KUBETHREADS_GC_STATS.
import { BroadcastChannel, isMainThread, workerData } from 'node:worker_threads';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';

/** Timed collections kept per thread: a 2,000-put run has some tens; a long load phase some thousands. */
const GC_EVENTS_KEPT = 20_000;

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
  /** [start epoch ms, pause ms, kind] */
  const events = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[e.detail?.kind ?? e.kind] ?? 'scavenge';
      const s = stats[kind];
      s.count += 1;
      s.ms += e.duration;
      if (events.length >= GC_EVENTS_KEPT) events.shift();
      events.push([performance.timeOrigin + e.startTime, e.duration, kind]);
    }
  }).observe({ entryTypes: ['gc'] });
  const channel = new BroadcastChannel('kubethreads-gc-stats');
  channel.unref();
  if (!isMainThread) {
    channel.onmessage = (m) => {
      if (m.data === 'ask') channel.postMessage({ name, stats, events, heapUsed: process.memoryUsage().heapUsed });
    };
  }
  globalThis.__kubethreadsGcStats = { name, stats, events, channel };
}

/**
 * In the main thread of a process started with this preload: every worker thread's answer (and the main thread's
 * own), by thread name, copied. Threads get 200 ms to answer.
 */
export async function gatherGcStats() {
  const channel = new BroadcastChannel('kubethreads-gc-stats');
  const got = new Map();
  channel.onmessage = (m) => {
    if (m.data !== 'ask') got.set(m.data.name, structuredClone(m.data));
  };
  channel.postMessage('ask');
  await new Promise((r) => setTimeout(r, 200));
  channel.close();
  const own = globalThis.__kubethreadsGcStats;
  got.set('main', { name: 'main', stats: structuredClone(own.stats), events: [...own.events] });
  return got;
}
