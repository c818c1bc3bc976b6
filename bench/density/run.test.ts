import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quickDensityBenchOptions, runDensityBench } from './run.js';

test('bench density starts a cluster, runs Deployments to Running with a probe beside them, and reports the issue\'s fields (shape only, no timing asserts)', async () => {
  // With API Priority and Fairness on (off by default): the cluster's clients are classified and dispatched
  // through it end to end, every request on a real thread (the default path is every other threaded test's).
  const { result, table, ok } = await runDensityBench({ ...quickDensityBenchOptions, nodes: 3, deployments: 2, replicas: 3, priorityAndFairness: true });
  assert.deepEqual(result.failures, []);
  assert.equal(ok, true);
  assert.equal(result.pods, 6);
  assert.deepEqual(result.reached, { nodes_ready: 3, pods_seen: 6, pods_running: 6 });
  for (const field of ['nodes_ready_s', 'pods_running_s', 'pods_per_s', 'pod_startup_p50_ms', 'pod_startup_p99_ms', 'mutating_p50_ms', 'mutating_p99_ms', 'list_p99_ms', 'rss_mb'] as const) {
    assert.equal(typeof result[field], 'number', field);
  }
  assert.equal(result.pod_startup_samples, 6);
  assert.ok(result.pod_startup_p99_ms! >= result.pod_startup_p50_ms!);
  assert.ok(result.mutating_samples > 0 && result.list_samples > 0);
  // Every call's time is kept for pooling, and the p99's interval is read off those same samples.
  assert.equal(result.mutating_ms.length, result.mutating_samples);
  const ci = result.mutating_p99_ci_ms!;
  assert.ok(ci.coverage > 0 && ci.coverage <= 1, `coverage ${ci.coverage}`);
  for (const end of [ci.low_ms, ci.high_ms]) assert.ok(end === null || result.mutating_ms.includes(end), `interval end ${end} is one of the samples`);
  // Six startup samples are too few to bound a p99 above.
  assert.equal(result.pod_startup_p99_ci_ms!.high_ms, null);
  assert.ok(result.heap_mb_by_thread.after_burst.apiserver! > 0, 'heap per thread, the API server\'s included');
  assert.ok(result.burst_cpu_s_by_thread.apiserver! >= 0, 'CPU per thread for the burst, the API server\'s included');
  assert.equal(result.burst_cpu_s, Math.round(Object.values(result.burst_cpu_s_by_thread).reduce((a, b) => a + b, 0) * 100) / 100);
  const terms = result.controller_manager_terms;
  assert.deepEqual(Object.keys(terms).sort(), ['controller-manager-0', 'controller-manager-1']);
  assert.ok(Object.values(terms).every((n) => typeof n === 'number') && Object.values(terms).reduce<number>((a, n) => a + (n ?? 0), 0) >= 1, `a controller-manager led: ${JSON.stringify(terms)}`);
  assert.equal(result.priority_and_fairness, true);
  const waits = result.mutating_breakdown!.flow_control_wait_by_level;
  // The probe's ConfigMap updates (an ordinary user's: global-default) and the kubelets' pod writes (system).
  assert.ok(waits['global-default']!.count > 0, JSON.stringify(waits));
  assert.ok(waits.system!.count > 0, JSON.stringify(waits));
  assert.match(table, /flow control wait, global-default/);
  assert.match(table, /pod_startup_p99_ms/);
  assert.match(table, /burst_cpu_s/);
  // ClusterLoader2's latency phase after the burst: its own pods, timed apart from the burst's, the probe again.
  assert.equal(result.latency_pods, 5);
  assert.equal(result.latency_pod_startup_samples, 5);
  assert.equal(typeof result.latency_phase_s, 'number');
  assert.ok(result.latency_pod_startup_p99_ms! >= result.latency_pod_startup_p50_ms!);
  assert.ok(result.latency_mutating_samples > 0 && result.latency_mutating_p99_ms !== null);
  assert.match(table, /latency pods: pod_startup_p99_ms/);
});
