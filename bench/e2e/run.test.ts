import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podStartups } from './driver.js';
import { runE2eBench } from './run.js';

test('the e2e bench runs a Deployment to Running on a whole cluster and reports the issue\'s fields (shape only, no timing asserts)', async () => {
  const { result, table } = await runE2eBench({ nodes: 2, replicas: 6 });
  assert.ok(result.e2e_1000_pods_running_s > 0);
  assert.ok(result.pod_startup_p99_ms >= result.pod_startup_p50_ms);
  assert.equal(result.replicas, 6);
  assert.match(table, /pod startup p99/);
});

test('pod startup runs from creationTimestamp and is never clamped: a pod Running before it was created, or with no creationTimestamp, is an odd sample', () => {
  const created = Date.parse('2026-01-01T00:00:10Z');
  const { startupMs, oddSamples } = podStartups(new Map([
    ['a', { creationTimestamp: '2026-01-01T00:00:10Z', runningAtMs: created + 1_500 }],
    ['b', { creationTimestamp: '2026-01-01T00:00:10Z', runningAtMs: created - 200 }],
    ['c', { creationTimestamp: undefined, runningAtMs: created }],
  ]));
  assert.deepEqual(startupMs, [1_500, -200], 'the impossible sample stays negative');
  assert.equal(oddSamples, 2);
});
