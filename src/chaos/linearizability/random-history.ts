/**
 * Histories of a correct, linearizable register store with random concurrent
 * timing, from a seed: the checker's positive test data and benchmark input.
 *
 * Each client issues one operation at a time. Each operation takes effect at a
 * random instant between its invocation and its completion (its linearization
 * point); the store applies operations in the order of those instants, so the
 * outputs are those of a real linearizable register. Some operations fail
 * (and take no effect) and some end with unknown outcome (and take effect or
 * not, at random). Every written value is unique, so a read names its write.
 */
import type { Operation, RegisterValue } from '../history.js';

/** A small seeded generator (mulberry32): same seed, same numbers. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, bound). */
  int(bound: number): number;
}

export function createPrng(seed: number): Prng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (bound) => Math.floor(next() * bound) };
}

export interface RandomHistoryOptions {
  seed: number;
  operations: number;
  clients: number;
  keys: number;
  /** Longest time from invocation to the linearization point, and from there to completion. */
  latencyMsMax: number;
  readFraction: number;
  /** Of the rest, the fraction that are cas (the others are writes). */
  casFraction: number;
  failProbability: number;
  unknownProbability: number;
  /**
   * A broken store: reads are served from a replica this far behind (as a
   * follower serving reads without ReadIndex is), so they may be stale. 0 is correct.
   */
  readLagMs: number;
}

export const randomHistoryDefaults: Omit<RandomHistoryOptions, 'seed'> = Object.freeze({
  operations: 200,
  clients: 5,
  keys: 2,
  latencyMsMax: 20,
  readFraction: 0.5,
  casFraction: 0.3,
  failProbability: 0.05,
  unknownProbability: 0.05,
  readLagMs: 0,
});

interface Planned {
  op: Operation;
  effectMs: number;
  applies: boolean;
}

/** Generates a linearizable history of registers that start absent (`null`). */
export function generateRegisterHistory(options: Partial<RandomHistoryOptions> & { seed: number }): Operation[] {
  const o: RandomHistoryOptions = { ...randomHistoryDefaults, ...options };
  const random = createPrng(o.seed);
  const clientFreeMs = new Array<number>(o.clients).fill(0);
  const writtenByKey = new Map<string, RegisterValue[]>();
  let nextValue = 1;
  const planned: Planned[] = [];
  for (let i = 0; i < o.operations; i++) {
    let client = 0;
    for (let c = 1; c < o.clients; c++) if (clientFreeMs[c] < clientFreeMs[client]) client = c;
    const key = `k${random.int(o.keys)}`;
    const invokeMs = clientFreeMs[client] + random.int(3);
    const effectMs = invokeMs + random.int(o.latencyMsMax + 1);
    const completeMs = effectMs + random.int(o.latencyMsMax + 1);
    const roll = random.next();
    const status = roll < o.failProbability ? 'fail' : roll < o.failProbability + o.unknownProbability ? 'unknown' : 'ok';
    const common = { id: i, process: `c${client}`, key, status, invokeMs, completeMs: status === 'unknown' ? null : completeMs } as const;
    const written = writtenByKey.get(key) ?? [null];
    writtenByKey.set(key, written);
    let op: Operation;
    const kindRoll = random.next();
    if (kindRoll < o.readFraction) {
      op = { ...common, op: 'read' };
    } else if (random.next() < o.casFraction) {
      const expected = written[Math.max(0, written.length - 1 - random.int(3))];
      op = { ...common, op: 'cas', expected, value: nextValue++ };
      written.push(op.value);
    } else {
      op = { ...common, op: 'write', value: nextValue++ };
      written.push(op.value);
    }
    const applies = status === 'ok' || (status === 'unknown' && random.next() < 0.5);
    planned.push({ op, effectMs, applies });
    clientFreeMs[client] = completeMs;
  }
  applyInEffectOrder(planned, o.readLagMs);
  return planned.map((p) => p.op).sort((x, y) => x.invokeMs - y.invokeMs || x.id - y.id);
}

function applyInEffectOrder(planned: Planned[], readLagMs: number): void {
  // Per key, the values it took and when, oldest first.
  const timeline = new Map<string, { atMs: number; value: RegisterValue }[]>();
  const ordered = [...planned].sort((x, y) => x.effectMs - y.effectMs || x.op.id - y.op.id);
  for (const { op, applies, effectMs } of ordered) {
    if (!applies) continue;
    let changes = timeline.get(op.key);
    if (changes === undefined) {
      changes = [{ atMs: -Infinity, value: null }];
      timeline.set(op.key, changes);
    }
    const current = changes[changes.length - 1].value;
    switch (op.op) {
      case 'read': {
        let seen = changes.length - 1;
        while (changes[seen].atMs > effectMs - readLagMs) seen--;
        if (op.status === 'ok') op.value = changes[seen].value;
        break;
      }
      case 'write':
        changes.push({ atMs: effectMs, value: op.value });
        break;
      case 'cas': {
        const swapped = current === op.expected;
        if (swapped) changes.push({ atMs: effectMs, value: op.value });
        if (op.status === 'ok') op.swapped = swapped;
        break;
      }
    }
  }
  // Ok operations that did not apply do not exist; failed ones keep no output.
  for (const { op } of planned) {
    if (op.status === 'ok' && op.op === 'read' && op.value === undefined) throw new Error('generator: an ok read was not applied');
  }
}
