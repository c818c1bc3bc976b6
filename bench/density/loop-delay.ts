/**
 * How long work waited for its thread during the burst: one tiny actor
 * placed in each thread watches that thread's event-loop delay (Node's
 * `monitorEventLoopDelay`: how late a timer of `resolution` ms fires) from
 * the burst's start to its end. A message that reaches a thread whose loop
 * runs 300 ms late waits about that long before its handler runs: the
 * queueing part of a request's latency, which neither the API server's
 * request histogram (it starts at the handler) nor the client sees apart.
 * The same probe sums the thread's garbage-collection pauses (`gc`
 * performance entries): GC time is CPU the thread's own work did not get.
 */
import { PerformanceObserver, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { defineBehaviour, unhandled } from '../../src/actor/behaviour.js';
import type { Message } from '../../src/actor/protocol.js';
import type { ActorSystem } from '../../src/actor/system.js';

export type LoopDelayMsg = Message<'loop.read', null>;

/** What one thread answers: its event-loop delay and the time its garbage collections took, over the watched window. */
export interface ThreadWaits {
  delay: LoopDelay;
  gcMs: number;
}

/** One thread's event-loop delay over the watched window, in ms. */
export interface LoopDelay {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

/** The sampling timer's period: fine enough to see 10 ms stalls, cheap enough to leave on for minutes. */
const RESOLUTION_MS = 10;

export const loopDelayProbe = defineBehaviour<LoopDelayMsg, null>(import.meta.url, 'density-loop-delay', () => {
  // A bench probe, not a component: it reads its own thread's event loop directly.
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  return {
    receive(msg) {
      if (msg.type !== 'loop.read') return unhandled;
      return { delay: loopDelayOf(histogram), gcMs } satisfies ThreadWaits;
    },
    onStop() {
      histogram.disable();
      gc.disconnect();
    },
  };
});

/** The histogram (nanoseconds) in ms, less the sampling period itself: what a timer waited past its due time. */
export function loopDelayOf(h: Pick<IntervalHistogram, 'percentile' | 'max' | 'mean'>): LoopDelay {
  const ms = (ns: number) => Math.max(0, Math.round(ns / 1e6 - RESOLUTION_MS));
  return { p50_ms: ms(h.percentile(50)), p99_ms: ms(h.percentile(99)), max_ms: ms(h.max), mean_ms: ms(h.mean) };
}

/** Start watching every actor thread's event loop (the host's excluded: it is not on the data path). */
export async function startLoopDelayProbes(system: ActorSystem): Promise<string[]> {
  const { threads } = await system.inspect();
  const names: string[] = [];
  await Promise.all(threads.filter((t) => t.thread !== '$host').map(async (t) => {
    const name = `loop-delay-${t.thread}`;
    try {
      await system.spawn(loopDelayProbe, { name, args: null, placement: t.thread });
      names.push(name);
    } catch {
      // A thread that refuses a probe is left out of the figures, not a failed run.
    }
  }));
  return names;
}

/**
 * Each watched thread's delay since its probe started (worst p99 first) and its GC seconds (most first),
 * by thread name; the probes are stopped.
 */
export async function readLoopDelayProbes(system: ActorSystem, names: readonly string[]): Promise<{ delay: Record<string, LoopDelay>; gcS: Record<string, number> }> {
  const out: [string, ThreadWaits][] = [];
  await Promise.all(names.map(async (name) => {
    try {
      const waits = await system.ref<LoopDelayMsg>(name).ask<ThreadWaits>({ type: 'loop.read', body: null }, { timeoutMs: 30_000 });
      out.push([name.slice('loop-delay-'.length), waits]);
      await system.stop(name);
    } catch {
      // As above: a thread that does not answer is left out.
    }
  }));
  const delay = Object.fromEntries([...out].sort((a, b) => b[1].delay.p99_ms - a[1].delay.p99_ms).map(([t, w]) => [t, w.delay]));
  const gcS = Object.fromEntries([...out].sort((a, b) => b[1].gcMs - a[1].gcMs).map(([t, w]) => [t, Math.round(w.gcMs / 10) / 100]));
  return { delay, gcS };
}
