import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttemptTimeout } from './attempt-timeout.js';

test('an idle client, before any answer and with fast answers, gives each attempt the floor', () => {
  const timeout = new AttemptTimeout(1_000);
  assert.equal(timeout.nextMs(5_000), 1_000);
  for (let i = 0; i < 100; i++) timeout.observe(2 + (i % 5));
  assert.equal(timeout.nextMs(5_000), 1_000);
});

test('the first answer sets the estimate to three times its round trip, as RFC 6298 §2.2 does', () => {
  const timeout = new AttemptTimeout(1_000);
  timeout.observe(600);
  assert.equal(timeout.estimateMs(), 600 + 4 * 300);
  assert.equal(timeout.nextMs(5_000), 1_800);
  assert.equal(timeout.describe(), 'smoothed round trip 600 ms, variance 300 ms, floor 1000 ms');
});

test('steady slow answers raise the timeout above the slowest of them', () => {
  const timeout = new AttemptTimeout(1_000);
  for (let i = 0; i < 200; i++) timeout.observe(1_300 + (i % 5) * 100);
  const next = timeout.nextMs(60_000);
  assert.ok(next > 1_700, `an attempt waits past the slowest steady answer (1,700 ms), got ${next}`);
  assert.ok(next < 3_000, `but not far past it, got ${next}`);
});

test('the estimate comes back down to the floor when the store is fast again', () => {
  const timeout = new AttemptTimeout(1_000);
  for (let i = 0; i < 50; i++) timeout.observe(2_000);
  assert.ok(timeout.nextMs(60_000) >= 2_000);
  for (let i = 0; i < 60; i++) timeout.observe(5);
  assert.equal(timeout.nextMs(60_000), 1_000);
});

test('an attempt never gets more than what is left of its call deadline', () => {
  const timeout = new AttemptTimeout(1_000);
  for (let i = 0; i < 50; i++) timeout.observe(3_000);
  assert.equal(timeout.nextMs(2_500), 2_500);
  assert.equal(timeout.nextMs(400), 400, 'nor more than the remaining deadline when that is below the floor');
});

test('a floor that is not positive, or a round trip that is not a duration, is refused', () => {
  assert.throws(() => new AttemptTimeout(0), /positive/);
  const timeout = new AttemptTimeout(1_000);
  assert.throws(() => timeout.observe(-1), /non-negative/);
  assert.throws(() => timeout.observe(Number.NaN), /non-negative/);
});
