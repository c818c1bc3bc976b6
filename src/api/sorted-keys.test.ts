import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SortedKeys } from './sorted-keys.js';
import { seededRandom } from './testing.js';

test('the kept keys match a fresh sort of the live keys through random adds, removals, re-adds and reads', () => {
  const random = seededRandom(7);
  const live = new Set<string>();
  const keys = new SortedKeys((k) => live.has(k));
  const key = () => `/registry/pods/${['a', 'b', 'density'][Math.floor(random() * 3)]}/p-${Math.floor(random() * 300)}`;
  for (let i = 0; i < 100; i++) live.add(key());
  keys.reset(live);
  for (let step = 0; step < 20_000; step++) {
    const r = random();
    const k = key();
    if (r < 0.45) {
      if (!live.has(k)) {
        live.add(k);
        keys.add(k);
      }
    } else if (r < 0.8) {
      if (live.delete(k)) keys.remove();
    } else {
      const prefix = ['/registry/pods/', '/registry/pods/a/', '/registry/pods/density/', '/registry/pods/zz/'][Math.floor(random() * 4)]!;
      assert.deepEqual(keys.withPrefix(prefix), [...live].filter((x) => x.startsWith(prefix)).sort(), `step ${step}, prefix ${prefix}`);
    }
  }
});

test('a key removed and added again before a read is listed once', () => {
  const live = new Set(['/k/a', '/k/b']);
  const keys = new SortedKeys((k) => live.has(k));
  keys.reset(live);
  live.delete('/k/b');
  keys.remove();
  live.add('/k/b');
  keys.add('/k/b');
  keys.add('/k/c');
  live.add('/k/c');
  assert.deepEqual(keys.withPrefix('/k/'), ['/k/a', '/k/b', '/k/c']);
  assert.deepEqual(keys.withPrefix('/k/b'), ['/k/b']);
  assert.deepEqual(keys.withPrefix('/j/'), []);
});
