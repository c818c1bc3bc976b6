import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inflights } from './progress.js';

describe('inflights (the appends in flight to one follower)', () => {
  test('a ring that wraps and grows frees, counts and bounds exactly as a plain FIFO does', () => {
    let seed = 11;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const capacity of [1, 3, 8, 256]) {
      const ring = new Inflights(capacity, 5_000);
      const model: Array<{ index: number; bytes: number }> = [];
      let lastIndex = 0;
      for (let op = 0; op < 4_000; op++) {
        const r = next();
        const modelBytes = model.reduce((sum, e) => sum + e.bytes, 0);
        const modelFull = model.length >= capacity || modelBytes >= 5_000;
        assert.equal(ring.full(), modelFull, `full() after ${op} operations`);
        if (r < 0.55 && !modelFull) {
          lastIndex += 1 + Math.floor(next() * 3);
          const bytes = Math.floor(next() * 900);
          ring.add(lastIndex, bytes);
          model.push({ index: lastIndex, bytes });
        } else if (r < 0.9) {
          const upTo = lastIndex - Math.floor(next() * 6);
          ring.freeLE(upTo);
          while (model.length > 0 && model[0]!.index <= upTo) model.shift();
        } else if (r < 0.97) {
          ring.freeFirstOne();
          model.shift();
        } else {
          ring.reset();
          model.length = 0;
        }
        assert.equal(ring.count(), model.length);
        assert.equal(ring.bytes(), model.reduce((sum, e) => sum + e.bytes, 0));
      }
    }
  });

  test('adding to a full ring is refused', () => {
    const ring = new Inflights(2);
    ring.add(1);
    ring.add(2);
    assert.throws(() => ring.add(3), /inflights overflow/);
    ring.freeLE(1);
    ring.add(3);
    assert.equal(ring.count(), 2);
  });
});
