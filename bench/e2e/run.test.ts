import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runE2eBench } from './run.js';

test('the e2e bench runs a Deployment to Running on a whole cluster and reports the issue\'s fields (shape only, no timing asserts)', async () => {
  const { result, table } = await runE2eBench({ nodes: 2, replicas: 6 });
  assert.ok(result.e2e_1000_pods_running_s > 0);
  assert.ok(result.pod_startup_p99_ms >= result.pod_startup_p50_ms);
  assert.equal(result.replicas, 6);
  assert.match(table, /pod startup p99/);
});
