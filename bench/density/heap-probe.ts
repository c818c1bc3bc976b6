/**
 * Where the memory goes: one tiny actor placed in each thread answers that
 * thread's V8 heap in use (garbage not yet collected included), so the
 * density bench can name the largest consumers per node and per pod
 * (kubelet pools, the API server's watch cache, each store replica).
 */
import { getHeapStatistics } from 'node:v8';
import { defineBehaviour, unhandled } from '../../src/actor/behaviour.js';
import type { Message } from '../../src/actor/protocol.js';
import type { ActorSystem } from '../../src/actor/system.js';

export type HeapProbeMsg = Message<'heap', null>;

export const heapProbe = defineBehaviour<HeapProbeMsg, null>(import.meta.url, 'density-heap-probe', () => ({
  receive(msg) {
    // A bench probe, not a component: it reads its own thread's heap directly.
    if (msg.type === 'heap') return getHeapStatistics().used_heap_size;
    return unhandled;
  },
}));

/** Heap in use per thread, in MB, by thread name (the main thread as '$host'). */
export async function heapByThread(system: ActorSystem, round: string): Promise<Record<string, number>> {
  const { threads } = await system.inspect();
  const out: Record<string, number> = { $host: mb(getHeapStatistics().used_heap_size) };
  await Promise.all(threads.filter((t) => t.thread !== '$host').map(async (t) => {
    const name = `heap-probe-${round}-${t.thread}`;
    try {
      await system.spawn(heapProbe, { name, args: null, placement: t.thread });
      out[t.thread] = mb(await system.ref<HeapProbeMsg>(name).ask<number>({ type: 'heap', body: null }, { timeoutMs: 30_000 }));
      await system.stop(name);
    } catch {
      out[t.thread] = Number.NaN;
    }
  }));
  return out;
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
