/**
 * Where the memory and the CPU go: one tiny actor placed in each thread
 * answers that thread's V8 heap in use (garbage not yet collected included)
 * and the CPU time the thread has used, so the density bench can name the
 * largest consumers per node and per pod (kubelet pools, the API server's
 * watch cache, each store replica) and what each thread spent on the burst.
 * CPU time, unlike wall time, does not stretch when other work shares the
 * machine: it is what A/B runs on a loaded machine can compare.
 */
import { getHeapStatistics } from 'node:v8';
import { defineBehaviour, unhandled } from '../../src/actor/behaviour.js';
import type { Message } from '../../src/actor/protocol.js';
import type { ActorSystem } from '../../src/actor/system.js';
import { threadCpuMs } from '../../src/metrics/thread-cpu.js';

export type HeapProbeMsg = Message<'heap', null>;

/** What a thread answers: its heap in use, and its CPU time so far (NaN where the OS does not say). */
export interface ThreadSample {
  heapBytes: number;
  cpuMs: number;
}

/** CPU time of the calling thread (shared with the chaos engine's run timing). */
export { threadCpuMs };

function sample(): ThreadSample {
  return { heapBytes: getHeapStatistics().used_heap_size, cpuMs: threadCpuMs() };
}

export const heapProbe = defineBehaviour<HeapProbeMsg, null>(import.meta.url, 'density-heap-probe', () => ({
  receive(msg) {
    // A bench probe, not a component: it reads its own thread's heap and CPU time directly.
    if (msg.type === 'heap') return sample();
    return unhandled;
  },
}));

/** Heap in use (MB) and CPU time so far (ms) per thread, by thread name (the main thread as '$host'). */
export async function sampleThreads(system: ActorSystem, round: string): Promise<{ heapMb: Record<string, number>; cpuMs: Record<string, number> }> {
  const { threads } = await system.inspect();
  const host = sample();
  const heapMb: Record<string, number> = { $host: mb(host.heapBytes) };
  const cpuMs: Record<string, number> = { $host: host.cpuMs };
  await Promise.all(threads.filter((t) => t.thread !== '$host').map(async (t) => {
    const name = `heap-probe-${round}-${t.thread}`;
    try {
      await system.spawn(heapProbe, { name, args: null, placement: t.thread });
      const answer = await system.ref<HeapProbeMsg>(name).ask<ThreadSample>({ type: 'heap', body: null }, { timeoutMs: 30_000 });
      heapMb[t.thread] = mb(answer.heapBytes);
      cpuMs[t.thread] = answer.cpuMs;
      await system.stop(name);
    } catch {
      heapMb[t.thread] = Number.NaN;
      cpuMs[t.thread] = Number.NaN;
    }
  }));
  return { heapMb, cpuMs };
}

/** CPU seconds each thread used between two samples, largest first; threads missing from either are left out. */
export function cpuSecondsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const spent = Object.entries(after)
    .filter(([thread, ms]) => Number.isFinite(ms) && Number.isFinite(before[thread]))
    .map(([thread, ms]): [string, number] => [thread, Math.round((ms - before[thread]!) / 10) / 100])
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(spent);
}

/**
 * CPU seconds of the threads that started between the two samples (the bench's own clients, spawned for the
 * burst): all they used, largest first. Kept apart from `cpuSecondsBetween`, whose sum is the cluster's.
 */
export function cpuSecondsOfNewThreads(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const spent = Object.entries(after)
    .filter(([thread, ms]) => Number.isFinite(ms) && !(thread in before))
    .map(([thread, ms]): [string, number] => [thread, Math.round(ms / 10) / 100])
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(spent);
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
