/**
 * Whether an update writes anything: the object as it would be stored
 * against the stored one, `metadata.resourceVersion` and
 * `metadata.managedFields` aside, compared as their JSON texts would be
 * (key order included, keys holding `undefined` absent).
 *
 * Field by field and without copies: the JSON of two whole objects rebuilt
 * with spreads (each spread a hidden class of its own, off V8's fast
 * serialization path) cost the API server a full serialization of every
 * object twice per write, most of them status writes that differ in
 * `status` alone, which is compared first.
 */
import { sameJson } from './json-equal.js';
import { isObject } from './patch.js';

/** Left out of the comparison: what every write changes, or records about the write itself. */
const IGNORED_METADATA = new Set(['resourceVersion', 'managedFields']);
const NOTHING_IGNORED: ReadonlySet<string> = new Set();

export function sameButVersionAndManagedFields(next: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  const keys = serializedKeys(next, NOTHING_IGNORED);
  if (!sameKeys(keys, serializedKeys(stored, NOTHING_IGNORED))) return false;
  // Status first: a status write that changes anything changes it there.
  if (keys.includes('status') && !sameJson(next.status, stored.status)) return false;
  for (const key of keys) {
    if (key === 'status') continue;
    if (key === 'metadata' && isObject(next.metadata) && isObject(stored.metadata)) {
      if (!sameMetadata(next.metadata, stored.metadata)) return false;
    } else if (!sameJson(next[key], stored[key])) {
      return false;
    }
  }
  return true;
}

function sameMetadata(next: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  const keys = serializedKeys(next, IGNORED_METADATA);
  if (!sameKeys(keys, serializedKeys(stored, IGNORED_METADATA))) return false;
  for (const key of keys) if (!sameJson(next[key], stored[key])) return false;
  return true;
}

/** The keys JSON.stringify would write, in its order. */
function serializedKeys(object: Record<string, unknown>, ignored: ReadonlySet<string>): string[] {
  const keys: string[] = [];
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || ignored.has(key)) continue;
    keys.push(key);
  }
  return keys;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
