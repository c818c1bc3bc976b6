import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveScenario } from './scenario.js';
import { studyRuntime } from './study.js';

const scenario = resolveScenario({ name: 's', cluster: { replicas: 3 }, workload: {}, nemesis: [], durationMs: 1000, checks: [] });

test('a study runs simulated unless a setting puts the store on real etcd; then every setting runs threaded, on one clock', () => {
  assert.equal(studyRuntime(scenario, { key: 'cluster.electionTicks', values: [10, 20] }), 'simulated');
  assert.equal(studyRuntime(scenario, { key: 'cluster.store', values: ['raft'] }), 'simulated');
  assert.equal(studyRuntime(scenario, { key: 'cluster.store', values: ['raft', 'etcd'] }), 'threaded');
  const onEtcd = { ...scenario, cluster: { ...scenario.cluster, store: 'etcd' as const } };
  assert.equal(studyRuntime(onEtcd, { key: 'cluster.tickMs', values: [50, 100] }), 'threaded');
});
