/** Helpers for the API server's tests: a seeded clock and random source, and handlers over a LocalKvClient. */
import { LocalKvClient } from '../kv/client/local-client.js';
import { ApiHandlers } from './handlers.js';
import type { Status, WatchEvent } from './types/index.js';

export function fakeClock(startMs = Date.UTC(2026, 0, 1)) {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

/** A small deterministic PRNG (mulberry32) standing in for the actor context's random(). */
export function seededRandom(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A watch sink that keeps what it is sent: the events, and the end ('open' until the watch ends; its Status, if any). */
export function watchCollector() {
  const events: WatchEvent[] = [];
  let ended: Status | undefined | 'open' = 'open';
  return {
    events,
    get ended() { return ended; },
    sink: { event: (e: WatchEvent) => events.push(e), end: (s?: Status) => { ended = s; } },
  };
}

export async function startHandlers(seed = 1) {
  const clock = fakeClock();
  const kv = new LocalKvClient({ now: clock.now });
  const handlers = new ApiHandlers({ kv, now: clock.now, random: seededRandom(seed) });
  await handlers.start();
  return { kv, clock, handlers, registry: handlers.registry };
}

export const ADMIN = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
