// test-lane: threads-only (the API server without a listener, the replicas on threads, no process)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bindLatencies } from './driver.js';
import { runSchedulerBench } from './run.js';

test('the scheduler bench binds every pod and every Deployment replica, and reports the issue\'s fields (shape only, no timing asserts)', async () => {
  const { result, table } = await runSchedulerBench({ nodes: 5, pods: 20, concurrency: 8, deploymentReplicas: 10 });
  assert.deepEqual(Object.keys(result).slice(0, 4), ['pods_per_s', 'latency_p50_ms', 'latency_p99_ms', 'deployment_1000_bound_s']);
  assert.ok(result.pods_per_s > 0);
  assert.ok(result.latency_p99_ms >= result.latency_p50_ms);
  assert.ok(result.deployment_1000_bound_s !== null && result.deployment_1000_bound_s > 0, 'the Deployment\'s pods were all bound');
  assert.match(table, /pods scheduled per second/);
});

test('bind latencies run from the create\'s send and are never clamped: a pod bound before its send, or never bound, is an odd sample', () => {
  const sent = new Map([['a', 100], ['b', 200], ['c', 300]]);
  const bound = new Map([['a', 150], ['b', 190]]);
  const { latenciesMs, oddSamples } = bindLatencies(sent, bound);
  assert.deepEqual(latenciesMs, [50, -10], 'the impossible sample stays negative, for all to see');
  assert.equal(oddSamples, 2, 'b bound before sent, c never bound');
});
