/**
 * The simulated runtime's copy of a message body: what a thread boundary
 * gives the threaded runtime (the receiver gets its own objects; nothing the
 * sender does afterwards reaches it, and nothing the receiver does reaches
 * back), without encoding to msgpack and decoding again. A structural copy of
 * plain data is several times cheaper than msgpackr's pack and unpack, which
 * were a third of a 100-node run's CPU.
 *
 * Only plain data is copied here: objects whose prototype is Object's (or
 * null) or a StoredJsonEvent's or StoredJsonReply's (their fields, as the
 * plain event or reply they stand for: json-event.ts), arrays, strings, numbers, booleans, null, undefined, Uint8Array and
 * Date. Anything else (a Map, a class instance, a bigint, a function) makes
 * `copyPlain` give up, and the runtime copies that message through msgpack
 * as before, so such a body turns into exactly what a thread would receive.
 *
 * The copy also folds the body into a digest for the replay trace: lengths,
 * keys, numbers, booleans, each string's length with three of its
 * characters, and each byte array's length with 16 of its bytes. A replay that diverges changes revisions, times, counts or
 * sizes almost at once, so the trace still tells two runs apart without
 * hashing every byte of every string.
 */

import { StoredJsonEvent, StoredJsonReply } from '../json-event.js';
import { isShared } from '../shared.js';

/** Thrown inside the walk when a value is not plain data; caught by `copyPlain`. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain('not plain data');

/** Nesting deeper than this is not a message but a cycle (msgpack would overflow too). */
const DEPTH_MAX = 256;

const OBJECT_PROTOTYPE = Object.prototype;
/** A watch event carrying its object's stored JSON (json-event.ts) is, within a runtime, the plain `{type, object}` it stands for: copied as that. */
const STORED_JSON_EVENT_PROTOTYPE = StoredJsonEvent.prototype;
/** As is a write's answer carrying the stored JSON: the plain `{ok, code, body}`. */
const STORED_JSON_REPLY_PROTOTYPE = StoredJsonReply.prototype;
/** Bytes of a Uint8Array folded into the digest, spread evenly (plus the last). */
const BYTES_SAMPLED = 16;
const MIX = 0x5bd1e995;

export interface PlainCopy {
  value: unknown;
  /** 32-bit digest of the body's content (see the module comment). */
  digest: number;
}

/**
 * Frozen copies of objects marked shared (src/actor/shared.ts), by source
 * object, with their digests; undefined: the object holds bytes or a Date,
 * which cannot be frozen, and is copied each time.
 */
export type SharedCopies = WeakMap<object, { copy: unknown; digest: number } | undefined>;

interface WalkState {
  h: number;
  shared: SharedCopies | undefined;
  freezing: boolean;
}

/** A deep copy of plain data and its digest, or undefined when the value holds something else. */
export function copyPlain(value: unknown, shared?: SharedCopies): PlainCopy | undefined {
  const state: WalkState = { h: 0x9747b28c | 0, shared, freezing: false };
  try {
    const copy = walk(value, state, 0);
    return { value: copy, digest: state.h };
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

/** The frozen copy every receiver of a shared object gets (made on first use), or undefined when it cannot be frozen. */
function sharedCopy(value: object, state: WalkState, depth: number): { copy: unknown; digest: number } | undefined {
  const cache = state.shared!;
  if (cache.has(value)) return cache.get(value);
  const inner: WalkState = { h: 0x1b873593, shared: cache, freezing: true };
  let entry: { copy: unknown; digest: number } | undefined;
  try {
    entry = { copy: walk(value, inner, depth), digest: inner.h };
  } catch (error) {
    if (error !== CANNOT_FREEZE) throw error;
    entry = undefined;
  }
  cache.set(value, entry);
  return entry;
}

/** Thrown while making a frozen copy that meets bytes or a Date (which Object.freeze cannot make read-only). */
const CANNOT_FREEZE = new NotPlain('cannot freeze');

function mixString(state: WalkState | { h: number }, s: string): void {
  const n = s.length;
  let h = Math.imul(state.h ^ n, MIX);
  if (n > 0) {
    h = Math.imul(h ^ s.charCodeAt(0), MIX);
    h = Math.imul(h ^ s.charCodeAt(n >> 1), MIX);
    h = Math.imul(h ^ s.charCodeAt(n - 1), MIX);
  }
  state.h = h;
}

function mixNumber(state: WalkState | { h: number }, x: number): void {
  // Integers (revisions, indexes, counts) exactly; other numbers by their scaled value.
  const bits = Number.isInteger(x) ? (x | 0) ^ (Math.floor(x / 4294967296) | 0) : Math.round(x * 1e6) | 0;
  state.h = Math.imul(state.h ^ bits ^ 0x2d, MIX);
}

function walk(value: unknown, state: WalkState, depth: number): unknown {
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
  if (!state.freezing && state.shared !== undefined && isShared(value)) {
    const entry = sharedCopy(value, state, depth);
    if (entry !== undefined) {
      state.h = Math.imul(state.h ^ entry.digest, MIX);
      return entry.copy;
    }
  }
  if (Array.isArray(value)) {
    const n = value.length;
    state.h = Math.imul(state.h ^ n ^ 0x1d00, MIX);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = walk(value[i], state, depth + 1);
    return state.freezing ? Object.freeze(out) : out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === OBJECT_PROTOTYPE || proto === null || proto === STORED_JSON_EVENT_PROTOTYPE || proto === STORED_JSON_REPLY_PROTOTYPE) {
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key in source) {
      mixString(state, key);
      out[key] = walk(source[key], state, depth + 1);
    }
    return state.freezing ? Object.freeze(out) : out;
  }
  if (value instanceof Uint8Array) {
    if (state.freezing) throw CANNOT_FREEZE;
    // Bytes are sampled as strings are: their length and at most BYTES_SAMPLED
    // bytes spread over them. Hashing every byte of every Raft entry, WAL
    // record and stored value cost more than copying them.
    const n = value.length;
    let h = Math.imul(state.h ^ n ^ 0x1f00, MIX);
    const stride = n <= BYTES_SAMPLED ? 1 : Math.floor(n / BYTES_SAMPLED);
    for (let i = 0; i < n; i += stride) h = Math.imul(h ^ value[i]!, MIX);
    if (n > 0) h = Math.imul(h ^ value[n - 1]!, MIX);
    state.h = h;
    return Buffer.isBuffer(value) ? Buffer.from(value) : new Uint8Array(value);
  }
  if (value instanceof Date) {
    if (state.freezing) throw CANNOT_FREEZE;
    mixNumber(state, value.getTime());
    return new Date(value.getTime());
  }
  throw NOT_PLAIN;
}
