import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from './testing.js';
import { sameJson, sameJsonExcept } from './json-equal.js';

const byText = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const LEAVES: unknown[] = ['', 'a', 'b', 'null', '0', 0, -0, 1, 1.5, -2, NaN, Infinity, -Infinity, true, false, null, undefined, () => 1, Symbol('s'), new Date(0), new Date(1)];
const KEYS = ['a', 'b', 'c', 'spec', 'status', 'metadata', '0', '10'];

function value(random: () => number, depth: number): unknown {
  const r = random();
  if (depth <= 0 || r < 0.45) return LEAVES[Math.floor(random() * LEAVES.length)];
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth - 1));
  const o: Record<string, unknown> = {};
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) o[KEYS[Math.floor(random() * KEYS.length)]!] = value(random, depth - 1);
  return o;
}

/** A variant of `v` that JSON often writes the same way, and sometimes not: keys reordered, a key set to undefined, a leaf swapped. */
function variant(v: unknown, random: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => (random() < 0.3 ? variant(x, random) : x));
  if (typeof v === 'object' && v !== null && !(v instanceof Date)) {
    const entries = Object.entries(v);
    if (random() < 0.3) entries.reverse();
    const o: Record<string, unknown> = {};
    for (const [k, x] of entries) o[k] = random() < 0.3 ? variant(x, random) : x;
    if (random() < 0.2) o[KEYS[Math.floor(random() * KEYS.length)]!] = undefined;
    return o;
  }
  return random() < 0.5 ? v : LEAVES[Math.floor(random() * LEAVES.length)];
}

test('sameJson answers what comparing the two JSON texts answers, for 20,000 random pairs of values and near-copies', () => {
  const random = seededRandom(15);
  let same = 0;
  for (let i = 0; i < 20_000; i++) {
    const a = value(random, 4);
    const b = random() < 0.7 ? variant(a, random) : value(random, 4);
    const expected = byText(a, b);
    if (expected) same++;
    assert.equal(sameJson(a, b), expected, `${String(JSON.stringify(a))} vs ${String(JSON.stringify(b))}`);
    assert.equal(sameJson(b, a), expected);
  }
  // Both answers are well represented, or the property says little.
  assert.ok(same > 4_000 && same < 16_000, `${same} of 20,000 pairs had the same text`);
});

test('sameJson: key order counts, keys holding undefined do not, an array writes undefined as null', () => {
  assert.equal(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 }), false);
  assert.equal(sameJson({ a: 1, b: undefined }, { a: 1 }), true);
  assert.equal(sameJson({ a: 1, f: () => 0 }, { a: 1 }), true);
  assert.equal(sameJson([undefined], [null]), true);
  assert.equal(sameJson([1], { 0: 1 }), false);
  assert.equal(sameJson(0, -0), true);
  assert.equal(sameJson(NaN, null), true);
  assert.equal(sameJson({ t: new Date(0) }, { t: '1970-01-01T00:00:00.000Z' }), true);
  assert.equal(sameJson('1', 1), false);
});

test('sameJsonExcept is sameJson of the objects with the dropped keys set to undefined, and an override compares its key', () => {
  const random = seededRandom(16);
  const metadataBut = (x: unknown, y: unknown) =>
    sameJson({ ...(x as object), resourceVersion: undefined }, { ...(y as object), resourceVersion: undefined });
  for (let i = 0; i < 5_000; i++) {
    const a = value(random, 3);
    const b = variant(a, random);
    if (typeof a !== 'object' || a === null || Array.isArray(a) || a instanceof Date) continue;
    if (typeof b !== 'object' || b === null || Array.isArray(b) || b instanceof Date) continue;
    const pa = a as Record<string, unknown>;
    const pb = b as Record<string, unknown>;
    assert.equal(sameJsonExcept(pa, pb, new Set(['status'])), byText({ ...pa, status: undefined }, { ...pb, status: undefined }));
    const objectMeta = (o: Record<string, unknown>) => typeof o.metadata === 'object' && o.metadata !== null && !Array.isArray(o.metadata) && !(o.metadata instanceof Date);
    if (!objectMeta(pa) || !objectMeta(pb)) continue;
    const blank = (o: Record<string, unknown>) => ({ ...o, status: undefined, metadata: { ...(o.metadata as object), resourceVersion: undefined } });
    assert.equal(sameJsonExcept(pa, pb, new Set(['status']), { metadata: metadataBut }), byText(blank(pa), blank(pb)));
  }
});
