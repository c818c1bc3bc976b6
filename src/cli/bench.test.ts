import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchUsageError, densityOptions, runBench } from './bench.js';

test('bench density sizes: --pods splits over 20 Deployments by default, or over Deployments of --replicas; an uneven split is refused', () => {
  assert.deepEqual(pick(densityOptions(false, {})), { nodes: 1_000, deployments: 20, replicas: 1_000 });
  assert.deepEqual(pick(densityOptions(false, { nodes: 5_000, pods: 100_000 })), { nodes: 5_000, deployments: 20, replicas: 5_000 });
  assert.deepEqual(pick(densityOptions(false, { pods: 100_000, replicas: 1_000 })), { nodes: 1_000, deployments: 100, replicas: 1_000 });
  assert.deepEqual(pick(densityOptions(false, { deployments: 4, replicas: 250 })), { nodes: 1_000, deployments: 4, replicas: 250 });
  assert.throws(() => densityOptions(false, { pods: 1_001 }), BenchUsageError);
  assert.throws(() => densityOptions(false, { pods: 100, deployments: 2, replicas: 50 }), BenchUsageError);
  assert.equal(densityOptions(false, {}).probeThreads, 2);
  assert.equal(densityOptions(false, { probeThreads: 1 }).probeThreads, 1);
  assert.throws(() => densityOptions(false, { probeThreads: 3 }), BenchUsageError);
  // ClusterLoader2's latency phase: 500 pods at 20 a second unless told; --latency-pods 0 turns it off.
  assert.deepEqual([densityOptions(false, {}).latencyPods, densityOptions(false, {}).latencyPodsQps], [500, 20]);
  assert.deepEqual([densityOptions(false, { latencyPods: 0, latencyPodsQps: 5 }).latencyPods, densityOptions(false, { latencyPodsQps: 5 }).latencyPodsQps], [0, 5]);
});

function pick(o: { nodes: number; deployments: number; replicas: number }) {
  return { nodes: o.nodes, deployments: o.deployments, replicas: o.replicas };
}

test('bench --only takes failover or processes for kv alone, and --no-leader-down-failover is for kv alone: anything else is refused before running', async () => {
  assert.equal(await runBench('density', { json: true, quick: true, only: 'failover' }), 2);
  assert.equal(await runBench('density', { json: true, quick: true, only: 'processes' }), 2);
  assert.equal(await runBench('kv', { json: true, quick: true, only: 'puts' }), 2);
  assert.equal(await runBench('raft', { json: true, quick: true, leaderDownFailover: false }), 2);
});

test('bench --rounds is for kv --only sequential alone: with another --only, none, or another benchmark it is refused before running', async () => {
  assert.equal(await runBench('kv', { json: true, quick: true, rounds: 3 }), 2);
  assert.equal(await runBench('kv', { json: true, quick: true, only: 'failover', rounds: 3 }), 2);
  assert.equal(await runBench('raft', { json: true, quick: true, only: 'sequential', rounds: 3 }), 2);
});
