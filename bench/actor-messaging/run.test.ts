import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runActorBench } from './run.js';

test('a tiny actor bench fills both baselines, per-envelope and batched, and both ratios (shape and sanity only, no timing asserts)', async () => {
  const { result, table } = await runActorBench({ messages: 20_000, rounds: 2, rttSamples: 200, simMessages: 20_000 });
  for (const rate of [result.throughput_msgs_per_s, result.baseline_msgs_per_s, result.batched_baseline_msgs_per_s]) assert.ok(rate > 0, 'a rate');
  assert.equal(result.batched_baseline_rounds_msgs_per_s.length, 2, 'every round kept');
  assert.ok(result.batched_baseline_rtt_p99_us >= result.batched_baseline_rtt_p50_us && result.batched_baseline_rtt_p50_us > 0, 'batched percentiles are ordered');
  for (const ratio of [result.throughput_ratio, result.batched_throughput_ratio, result.rtt_p50_ratio, result.batched_rtt_p50_ratio, result.rtt_p99_ratio, result.batched_rtt_p99_ratio]) {
    assert.ok(Number.isFinite(ratio) && ratio > 0, `ratio ${ratio}`);
  }
  assert.equal(result.frame_envelopes_max, 1024);
  assert.equal(result.batched_throughput_ratio_rounds.length, 2, 'a ratio per round');
  assert.match(table, /one-way throughput \(median\), batched baseline/);
  assert.match(table, /ask round trip p50, batched baseline/);
});
