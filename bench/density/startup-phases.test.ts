import assert from 'node:assert/strict';
import { test } from 'node:test';
import { phasesOf, summarizePhases, type PhaseSample } from './startup-phases.js';

test('a pod\'s startup steps add up to its startup time, and a step the watch never showed apart counts 0 with its time in the next', () => {
  const seen = phasesOf({ createdMs: 1_000, firstSeenMs: 1_400, boundSeenMs: 1_900, kubeletSeenMs: 3_000 }, 3_500);
  assert.deepEqual(seen, [400, 500, 1_100, 500]);
  assert.equal(seen.reduce((a, b) => a + b, 0), 3_500 - 1_000);
  // Bound and reported in one event (the kubelet's first status already Running): both instants are Running's.
  assert.deepEqual(phasesOf({ createdMs: 1_000, firstSeenMs: 1_400, boundSeenMs: undefined, kubeletSeenMs: undefined }, 2_000), [400, 600, 0, 0]);
  assert.deepEqual(phasesOf({ createdMs: 1_000, firstSeenMs: 1_400, boundSeenMs: 1_500, kubeletSeenMs: undefined }, 2_000), [400, 100, 500, 0]);
});

test('the slowest pods are those at or above the p99 of startup, and their steps are averaged apart from everyone\'s', () => {
  const startupMs = Array.from({ length: 100 }, (_, i) => (i >= 98 ? 9_000 : 1_000));
  const phases: PhaseSample[] = startupMs.map((ms) => (ms === 9_000 ? [0, 8_000, 500, 500] : [0, 500, 250, 250]));
  const summary = summarizePhases(startupMs, phases)!;
  assert.equal(summary.slowest.pods, 2, 'the p99 (nearest rank) of 98 fast and 2 slow is slow');
  assert.deepEqual(summary.slowest.mean_ms, { created_to_seen: 0, seen_to_bound: 8_000, bound_to_kubelet: 500, kubelet_to_running: 500 });
  assert.equal(summary.all.pods, 100);
  assert.equal(summary.all.mean_ms.seen_to_bound, 650);
  assert.equal(summarizePhases([], []), null);
  assert.throws(() => summarizePhases([1], []), /0 samples for 1 pods/);
});
