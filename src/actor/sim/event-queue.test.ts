import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../prng.js';
import { EventQueue } from './event-queue.js';

interface Item {
  atMs: number;
  seq: number;
  dead: boolean;
}

function byKey(a: Item, b: Item): number {
  return a.atMs - b.atMs || a.seq - b.seq;
}

test('events come out by time, and in insertion order at equal times, whatever the interleaving of pushes and pops', () => {
  const prng = new Prng(7);
  const queue = new EventQueue<Item>();
  const reference: Item[] = [];
  let seq = 0;
  for (let step = 0; step < 20_000; step++) {
    if (prng.next() < 0.6 || reference.length === 0) {
      // Few distinct times, so ties are common and the sequence decides.
      const item = { atMs: Math.floor(prng.next() * 50), seq: seq++, dead: false };
      queue.push(item);
      reference.push(item);
    } else {
      reference.sort(byKey);
      assert.equal(queue.pop(), reference.shift());
    }
  }
  reference.sort(byKey);
  const rest: Item[] = [];
  for (let item = queue.pop(); item !== undefined; item = queue.pop()) rest.push(item);
  assert.deepEqual(rest, reference);
});

test('retain drops what it rejects and leaves the order of the rest unchanged', () => {
  const prng = new Prng(11);
  const queue = new EventQueue<Item>();
  const items: Item[] = [];
  for (let seq = 0; seq < 5_000; seq++) {
    const item = { atMs: Math.floor(prng.next() * 100), seq, dead: prng.next() < 0.7 };
    queue.push(item);
    items.push(item);
  }
  // Pop a few first, so the heap is not in insertion shape.
  const sorted = [...items].sort(byKey);
  for (let i = 0; i < 100; i++) assert.equal(queue.pop(), sorted[i]);
  queue.retain((item) => !item.dead);
  const expected = sorted.slice(100).filter((item) => !item.dead);
  assert.equal(queue.size, expected.length);
  const out: Item[] = [];
  for (let item = queue.pop(); item !== undefined; item = queue.pop()) out.push(item);
  assert.deepEqual(out, expected);
});
