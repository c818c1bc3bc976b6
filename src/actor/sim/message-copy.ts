/**
 * The simulated runtime's copy of a message body: what a thread boundary
 * gives the threaded runtime (the receiver gets its own objects; nothing the
 * sender does afterwards reaches it, and nothing the receiver does reaches
 * back), without encoding to msgpack and decoding again. A structural copy of
 * plain data is several times cheaper than msgpackr's pack and unpack, which
 * were a third of a 100-node run's CPU.
 *
 * Only plain data is copied here: objects whose prototype is Object's (or
 * null), arrays, strings, numbers, booleans, null, undefined, Uint8Array and
 * Date. Anything else (a Map, a class instance, a bigint, a function) makes
 * `copyPlain` give up, and the runtime copies that message through msgpack
 * as before, so such a body turns into exactly what a thread would receive.
 *
 * The copy also folds the body into a digest for the replay trace: lengths,
 * keys, numbers, booleans, and each string's length with three of its
 * characters. A replay that diverges changes revisions, times, counts or
 * sizes almost at once, so the trace still tells two runs apart without
 * hashing every byte of every string.
 */

/** Thrown inside the walk when a value is not plain data; caught by `copyPlain`. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain('not plain data');

/** Nesting deeper than this is not a message but a cycle (msgpack would overflow too). */
const DEPTH_MAX = 256;

const OBJECT_PROTOTYPE = Object.prototype;
const MIX = 0x5bd1e995;

export interface PlainCopy {
  value: unknown;
  /** 32-bit digest of the body's content (see the module comment). */
  digest: number;
}

/** A deep copy of plain data and its digest, or undefined when the value holds something else. */
export function copyPlain(value: unknown): PlainCopy | undefined {
  const state = { h: 0x9747b28c | 0 };
  try {
    const copy = walk(value, state, 0);
    return { value: copy, digest: state.h };
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

function mixString(state: { h: number }, s: string): void {
  const n = s.length;
  let h = Math.imul(state.h ^ n, MIX);
  if (n > 0) {
    h = Math.imul(h ^ s.charCodeAt(0), MIX);
    h = Math.imul(h ^ s.charCodeAt(n >> 1), MIX);
    h = Math.imul(h ^ s.charCodeAt(n - 1), MIX);
  }
  state.h = h;
}

function mixNumber(state: { h: number }, x: number): void {
  // Integers (revisions, indexes, counts) exactly; other numbers by their scaled value.
  const bits = Number.isInteger(x) ? (x | 0) ^ (Math.floor(x / 4294967296) | 0) : Math.round(x * 1e6) | 0;
  state.h = Math.imul(state.h ^ bits ^ 0x2d, MIX);
}

function walk(value: unknown, state: { h: number }, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      mixString(state, value);
      return value;
    case 'number':
      mixNumber(state, value);
      return value;
    case 'boolean':
      state.h = Math.imul(state.h ^ (value ? 0x11 : 0x13), MIX);
      return value;
    case 'undefined':
      state.h = Math.imul(state.h ^ 0x17, MIX);
      return value;
    case 'object':
      break;
    default:
      throw NOT_PLAIN;
  }
  if (value === null) {
    state.h = Math.imul(state.h ^ 0x19, MIX);
    return null;
  }
  if (depth > DEPTH_MAX) throw NOT_PLAIN;
  if (Array.isArray(value)) {
    const n = value.length;
    state.h = Math.imul(state.h ^ n ^ 0x1d00, MIX);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = walk(value[i], state, depth + 1);
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === OBJECT_PROTOTYPE || proto === null) {
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key in source) {
      mixString(state, key);
      out[key] = walk(source[key], state, depth + 1);
    }
    return out;
  }
  if (value instanceof Uint8Array) {
    const n = value.length;
    let h = Math.imul(state.h ^ n ^ 0x1f00, MIX);
    for (let i = 0; i < n; i++) h = Math.imul(h ^ value[i]!, MIX);
    state.h = h;
    return Buffer.isBuffer(value) ? Buffer.from(value) : new Uint8Array(value);
  }
  if (value instanceof Date) {
    mixNumber(state, value.getTime());
    return new Date(value.getTime());
  }
  throw NOT_PLAIN;
}
