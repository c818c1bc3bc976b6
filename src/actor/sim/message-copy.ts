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

/**
 * What every receiver of a shared object gets (decided on first use): the object itself, frozen in place, when it
 * holds nothing but objects of Object's prototype, arrays and primitives (a copy of it would be the same frozen
 * data, and the sender promised never to change it); a frozen copy when it holds something a copy turns into
 * plain data (a null-prototype object); undefined when it holds bytes or a Date, which cannot be frozen.
 * Freezing in place, not copying: one deep copy per pod version was a fifth of the nodes a 100-node run's
 * message copy walked (issue #15, docs/performance.md).
 */
function sharedCopy(value: object, state: WalkState, depth: number): { copy: unknown; digest: number } | undefined {
  const cache = state.shared!;
  if (cache.has(value)) return cache.get(value);
  const inner: WalkState = { h: 0x1b873593, shared: cache, freezing: true };
  let entry: { copy: unknown; digest: number } | undefined;
  try {
    digestFreezable(value, inner, depth);
    deepFreeze(value);
    entry = { copy: value, digest: inner.h };
  } catch (error) {
    if (error === CANNOT_FREEZE) entry = undefined;
    else if (error !== NEEDS_COPY) throw error;
    else {
      const copying: WalkState = { h: 0x1b873593, shared: cache, freezing: true };
      try {
        entry = { copy: walk(value, copying, depth), digest: copying.h };
      } catch (copyError) {
        if (copyError !== CANNOT_FREEZE) throw copyError;
        entry = undefined;
      }
    }
  }
  cache.set(value, entry);
  return entry;
}

/** Thrown by `digestFreezable` at an object a frozen copy would not equal (its prototype is not Object's). */
const NEEDS_COPY = new NotPlain('needs a copy');

/** The digest `walk` folds while freezing, without copying; throws where the object itself cannot stand for its copy. */
function digestFreezable(value: unknown, state: WalkState, depth: number): void {
  if (typeof value !== 'object' || value === null) {
    walk(value, state, depth);
    return;
  }
  if (depth > DEPTH_MAX) throw NOT_PLAIN;
  if (Array.isArray(value)) {
    const n = value.length;
    state.h = Math.imul(state.h ^ n ^ 0x1d00, MIX);
    for (let i = 0; i < n; i++) digestFreezable(value[i], state, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === OBJECT_PROTOTYPE) {
    const source = value as Record<string, unknown>;
    for (const key in source) {
      mixString(state, key);
      digestFreezable(source[key], state, depth + 1);
    }
    return;
  }
  if (proto === null || proto === STORED_JSON_EVENT_PROTOTYPE || proto === STORED_JSON_REPLY_PROTOTYPE) throw NEEDS_COPY;
  // Bytes and Dates throw CANNOT_FREEZE there, anything else NOT_PLAIN.
  walk(value, state, depth);
}

/** A marked object's entry (`sharedCopy`) with its digest folded into `state`; undefined when not marked or not freezable. */
function foldShared(value: object, state: WalkState, depth: number): { copy: unknown } | undefined {
  if (state.shared === undefined || !isShared(value)) return undefined;
  const entry = sharedCopy(value, state, depth);
  if (entry !== undefined) state.h = Math.imul(state.h ^ entry.digest, MIX);
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
  if (!state.freezing) {
    const entry = foldShared(value, state, depth);
    if (entry !== undefined) return entry.copy;
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

/**
 * What a message of a type in SHARED_MESSAGE_TYPES delivers instead of a copy:
 * the sender's own objects, and the same digest `copyPlain` gives (so the
 * trace does not tell the two apart). Only where a copy would hand the
 * receiver something other than a plain object of the same content is a copy
 * made, and then of that node and the path to it: a StoredJsonEvent or
 * StoredJsonReply (the plain object it stands for), an object whose prototype
 * is null (the copy's is Object's), bytes and Dates (which cannot be frozen),
 * and objects marked shared (their one frozen copy, as `copyPlain` gives).
 *
 * Why: the copy was a twelfth of a 100-node run's CPU samples and its largest
 * source of garbage, and the two sides of these types never write to what
 * was sent (issue #15; docs/performance.md). With `freeze` every object
 * delivered is frozen first, so a sender that changes what it sent, or a
 * receiver that changes what it got, throws (strict mode) instead of
 * reaching the other side: the test suite runs that way (sim-system.ts), and
 * it is what keeps a type in the list honest.
 */
export function sharePlain(value: unknown, shared: SharedCopies | undefined, freeze: boolean): PlainCopy | undefined {
  const state: WalkState = { h: 0x9747b28c | 0, shared, freezing: false };
  try {
    const out = share(value, state, 0);
    if (freeze) deepFreeze(out);
    return { value: out, digest: state.h };
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

/**
 * Message types whose body is shared, not copied (`sharePlain`), in the simulated runtime. Each was measured never
 * written by its sender after the send nor by its receiver (docs/performance.md, issue #15, 2026-12-07), and the
 * tests deliver them frozen. Not here: `api.create`, whose body the API server fills in (defaults, metadata), and
 * whatever is not measured yet.
 */
export const SHARED_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'raft', 'api.update', 'kv', 'kvWatch', 'api.patch', 'cri.containerEvent', 'leader.activity', 'api.get', 'proxy.request',
]);

/**
 * The answers to asks of these types are shared, as above: the store's (`kv`), the API server's, the container
 * runtime's (the CRI calls) and kube-proxy's. Not every answer: an actor may answer with state it keeps changing
 * (a list it appends to), which a thread boundary copies; the tests catch that, frozen, for the types here.
 */
export const SHARED_REPLY_TYPES: ReadonlySet<string> = new Set([
  'kv', 'api.get', 'api.list', 'api.create', 'api.update', 'api.patch', 'api.delete', 'proxy.request', 'sim.serve',
  'RunPodSandbox', 'CreateContainer', 'StartContainer', 'ListPodSandbox', 'ListContainers', 'ImageStatus', 'PullImage', 'Version',
]);

/** The walk of `sharePlain`: the digest exactly as `walk` folds it, the value itself wherever a copy would equal it. */
function share(value: unknown, state: WalkState, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return walk(value, state, depth);
  if (depth > DEPTH_MAX) throw NOT_PLAIN;
  const entry = foldShared(value, state, depth);
  if (entry !== undefined) return entry.copy;
  if (Array.isArray(value)) {
    const n = value.length;
    state.h = Math.imul(state.h ^ n ^ 0x1d00, MIX);
    let out: unknown[] | undefined;
    for (let i = 0; i < n; i++) {
      const item: unknown = value[i];
      const got = share(item, state, depth + 1);
      if (out !== undefined) out[i] = got;
      else if (got !== item) {
        out = new Array<unknown>(n);
        for (let j = 0; j < i; j++) out[j] = value[j];
        out[i] = got;
      }
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === OBJECT_PROTOTYPE) {
    const source = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const key in source) {
      mixString(state, key);
      const item = source[key];
      const got = share(item, state, depth + 1);
      if (out !== undefined) out[key] = got;
      else if (got !== item) {
        // The keys before this one, in their order, then this one's copy.
        out = {};
        for (const before in source) {
          if (before === key) break;
          out[before] = source[before];
        }
        out[key] = got;
      }
    }
    return out ?? value;
  }
  if (proto === null || proto === STORED_JSON_EVENT_PROTOTYPE || proto === STORED_JSON_REPLY_PROTOTYPE) {
    // Copied as `walk` copies them, into an object of Object's prototype; what they hold is shared.
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key in source) {
      mixString(state, key);
      out[key] = share(source[key], state, depth + 1);
    }
    return out;
  }
  // Bytes and Dates are copied; anything else is not plain data.
  return walk(value, state, depth);
}

/** Freezes every object and array in `value` (bytes and Dates cannot be: they are copies the receiver owns). */
function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (value instanceof Uint8Array || value instanceof Date) return;
  // Frozen already or not, what it holds is walked: an object frozen by its owner may hold ones that are not.
  Object.freeze(value);
  if (Array.isArray(value)) {
    // An index loop: for-of made an iterator result per element (the watch cache's pods freeze through here).
    for (let i = 0; i < value.length; i++) deepFreeze((value as unknown[])[i]);
    return;
  }
  for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
}
