import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopDelayOf } from './loop-delay.js';

test('event-loop delay is reported in ms past the sampling period, never negative', () => {
  // Node's histogram holds each sampling interval (10 ms nominal) in ns: 10 ms on time, 310 ms when 300 ms late.
  const h = { percentile: (p: number) => (p === 50 ? 10e6 : 310e6), max: 1_010e6, mean: 40e6 };
  assert.deepEqual(loopDelayOf(h), { p50_ms: 0, p99_ms: 300, max_ms: 1_000, mean_ms: 30 });
  assert.deepEqual(loopDelayOf({ percentile: () => 9e6, max: 9e6, mean: 9e6 }), { p50_ms: 0, p99_ms: 0, max_ms: 0, mean_ms: 0 });
});
