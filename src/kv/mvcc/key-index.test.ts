import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../actor/prng.js';
import { KeyIndex } from './key-index.js';

test('the chunked key index answers every range as a sorted array would, through thousands of inserts and removals', () => {
  const prng = new Prng(9);
  const index = new KeyIndex();
  const reference = new Set<string>();
  // Keys shaped like the registry's, from a small space so inserts hit existing keys and removals hit present ones.
  const key = (): string => `/registry/${['pods', 'events', 'leases'][Math.floor(prng.next() * 3)]}/ns/${Math.floor(prng.next() * 3000).toString(36)}`;
  const sorted = (): string[] => [...reference].sort();
  for (let step = 0; step < 30_000; step++) {
    const k = key();
    if (prng.next() < 0.65) {
      index.insert(k);
      reference.add(k);
    } else {
      index.remove(k);
      reference.delete(k);
    }
    if (step % 1_000 === 0) {
      const all = sorted();
      assert.deepEqual(index.all(), all, `all keys after step ${step}`);
      assert.equal(index.size, all.length);
      const from = key();
      const to = key();
      const [lo, hi] = from < to ? [from, to] : [to, from];
      assert.deepEqual([...index.range(lo, hi)], all.filter((x) => x >= lo && x < hi), `range [${lo}, ${hi})`);
      assert.deepEqual([...index.range(lo, '\0')], all.filter((x) => x >= lo), `range from ${lo} to the end`);
      assert.deepEqual([...index.range(k, undefined)], reference.has(k) ? [k] : [], 'a single key');
    }
  }
  // Empty it completely: chunks that empty out must go, and the index must still work.
  for (const k of sorted()) index.remove(k);
  assert.equal(index.size, 0);
  assert.deepEqual([...index.range('', '\0')], []);
  index.insert('/a');
  assert.deepEqual(index.all(), ['/a']);
});
