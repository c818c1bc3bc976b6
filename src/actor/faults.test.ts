import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinkFaultTable } from './faults.js';
import { Prng } from './prng.js';

test('no rule: delivered once, now, drawing no randomness', () => {
  const table = new LinkFaultTable();
  let draws = 0;
  assert.deepEqual(table.decide('a', 'b', () => (draws++, 0.5)).delaysMs, [0]);
  assert.equal(draws, 0);
});

test('a partition drops both directions and only between the two sides', () => {
  const table = new LinkFaultTable();
  const ids = table.partition(['a'], ['b', 'c']);
  const r = () => 0.5;
  assert.deepEqual(table.decide('a', 'b', r).delaysMs, []);
  assert.deepEqual(table.decide('c', 'a', r).delaysMs, []);
  assert.deepEqual(table.decide('b', 'c', r).delaysMs, [0]);
  for (const id of ids) table.remove(id);
  assert.deepEqual(table.decide('a', 'b', r).delaysMs, [0]);
});

test('drop and duplicate probabilities hold statistically over a seeded stream', () => {
  const table = new LinkFaultTable();
  table.add({ from: '*', to: ['b'], drop: 0.3, duplicate: 0.2 });
  const prng = new Prng(1);
  let dropped = 0;
  let duplicated = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const copies = table.decide('a', 'b', () => prng.next()).delaysMs.length;
    if (copies === 0) dropped++;
    if (copies === 2) duplicated++;
  }
  assert.ok(Math.abs(dropped / n - 0.3) < 0.02, `drop rate ${dropped / n}`);
  assert.ok(Math.abs(duplicated / (n - dropped) - 0.2) < 0.02, `duplicate rate ${duplicated / (n - dropped)}`);
});

test('delay with jitter stays within delay ± jitter', () => {
  const table = new LinkFaultTable();
  table.add({ from: ['a'], to: '*', delayMs: 100, jitterMs: 20 });
  const prng = new Prng(2);
  for (let i = 0; i < 1_000; i++) {
    const [d] = table.decide('a', 'z', () => prng.next()).delaysMs;
    assert.ok(d! >= 80 && d! <= 120, `delay ${d}`);
  }
});

test('probabilities outside [0, 1] are refused', () => {
  assert.throws(() => new LinkFaultTable().add({ from: '*', to: '*', drop: 1.5 }));
});
