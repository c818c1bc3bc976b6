import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem } from '../actor/sim/sim-system.js';
import { ClusterSpecError, resolveClusterSpec } from './spec.js';
import { startCluster } from './start.js';

test('the store is our Raft by default, etcd when endpoints are given; endpoints with store raft are refused', () => {
  assert.equal(resolveClusterSpec({}).store, 'raft');
  const external = resolveClusterSpec({ etcdEndpoints: ['http://127.0.0.1:2379'] });
  assert.equal(external.store, 'etcd');
  assert.deepEqual(external.etcdEndpoints, ['http://127.0.0.1:2379']);
  assert.throws(() => resolveClusterSpec({ store: 'raft', etcdEndpoints: ['http://127.0.0.1:2379'] }), ClusterSpecError);
  assert.throws(() => resolveClusterSpec({ store: 'zookeeper' as never }), /store must be raft or etcd/);
});

test('the simulated runtime refuses an etcd store with a message that says why and what to do', async () => {
  const system = new SimulatedSystem({ seed: 1 });
  await assert.rejects(
    startCluster(resolveClusterSpec({ store: 'etcd', nodes: 0 }), { system, writeKubeconfig: false }),
    /store etcd runs a real etcd over gRPC, which the simulated runtime cannot replay: use the threaded runtime, or store raft/,
  );
});

test('controllerManagerQps / Burst: positive, burst only with qps; undefined by default (no limit)', () => {
  assert.equal(resolveClusterSpec({}).controllerManagerQps, undefined);
  assert.equal(resolveClusterSpec({ controllerManagerQps: 400, controllerManagerBurst: 600 }).controllerManagerBurst, 600);
  assert.throws(() => resolveClusterSpec({ controllerManagerQps: 0 }), (e: unknown) => e instanceof ClusterSpecError && /controllerManagerQps must be a positive number/.test(e.message));
  assert.throws(() => resolveClusterSpec({ controllerManagerQps: 10, controllerManagerBurst: 0.5 }), (e: unknown) => e instanceof ClusterSpecError && /controllerManagerBurst must be a positive integer/.test(e.message));
  assert.throws(() => resolveClusterSpec({ controllerManagerBurst: 10 }), (e: unknown) => e instanceof ClusterSpecError && /controllerManagerBurst needs controllerManagerQps/.test(e.message));
});
