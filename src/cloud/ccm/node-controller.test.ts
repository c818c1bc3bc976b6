import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimCloudCluster } from '../testing.js';
import { REGION_LABEL, SHUTDOWN_TAINT_KEY, UNINITIALIZED_TAINT_KEY, ZONE_LABEL, hasTaint } from './desired.js';

const taintKeys = (n: { spec?: { taints?: Array<{ key: string }> } }) => (n.spec?.taints ?? []).map((t) => t.key);

test('new Nodes are initialized from their instances: providerID, zone and region labels, addresses, uninitialized taint removed', async () => {
  const c = await startSimCloudCluster({ seed: 21, nodes: [{ name: 'node-0' }, { name: 'node-1' }, { name: 'node-2', zone: 'sim-region-1c' }] });
  try {
    const instances = (await c.snapshot()).instances;
    for (const name of ['node-0', 'node-1', 'node-2']) await c.createNode(name);
    await c.eventually('every node initialized', async () => (await c.nodes()).every((n) => !hasTaint(n, UNINITIALIZED_TAINT_KEY)));
    for (const node of await c.nodes()) {
      const instance = instances.find((i) => i.name === node.metadata.name)!;
      assert.equal(node.spec?.providerID, instance.providerID);
      assert.equal(node.metadata.labels?.[ZONE_LABEL], instance.zone);
      assert.equal(node.metadata.labels?.[REGION_LABEL], 'sim-region-1');
      assert.deepEqual(node.status?.addresses, instance.addresses);
    }
    assert.equal((await c.nodes()).find((n) => n.metadata.name === 'node-2')!.metadata.labels?.[ZONE_LABEL], 'sim-region-1c');
  } finally {
    await c.shutdown();
  }
});

test('a node initialized during a cloud API outage is initialized once the API is back (retries with backoff)', async () => {
  const c = await startSimCloudCluster({ seed: 22, nodes: [{ name: 'node-0' }] });
  try {
    await c.fault({ kind: 'api-outage' });
    await c.createNode('node-0', { ready: true });
    await c.sim.runFor(5_000);
    assert.deepEqual(taintKeys((await c.nodes())[0]!), [UNINITIALIZED_TAINT_KEY], 'nothing can be initialized without the cloud');
    const status = await c.ccmStatus();
    assert.ok((status.controllers.node as { failures: number }).failures >= 3, 'it kept retrying');
    await c.heal({ kind: 'api-outage' });
    await c.eventually('node initialized after the outage', async () => !hasTaint((await c.nodes())[0]!, UNINITIALIZED_TAINT_KEY), { maxMs: 10_000 });
  } finally {
    await c.shutdown();
  }
});

test('a NotReady Node whose instance was terminated is deleted; a Ready one is not touched; a cloud outage deletes nothing', async () => {
  const c = await startSimCloudCluster({ seed: 23, nodes: [{ name: 'node-0' }, { name: 'node-1' }, { name: 'node-2' }] });
  try {
    await c.createNode('node-0');
    await c.createNode('node-1');
    await c.createNode('node-2', { ready: true });
    await c.eventually('initialized', async () => (await c.nodes()).every((n) => !hasTaint(n, UNINITIALIZED_TAINT_KEY)));

    await c.fault({ kind: 'api-outage' });
    await c.sim.runFor(3_000);
    assert.equal((await c.nodes()).length, 3, 'an unanswered lookup is not "the instance is gone"');
    await c.heal({ kind: 'api-outage' });

    const terminated = await c.fault({ kind: 'terminate-instance', name: 'node-1' });
    assert.equal(terminated.instances.length, 1);
    await c.fault({ kind: 'terminate-instance', name: 'node-2' });
    await c.eventually('node-1 deleted', async () => !(await c.nodes()).some((n) => n.metadata.name === 'node-1'), { maxMs: 5_000 });
    await c.sim.runFor(2_000);
    assert.deepEqual((await c.nodes()).map((n) => n.metadata.name).sort(), ['node-0', 'node-2'], 'node-2 is Ready: Kubernetes deletes only NotReady nodes');
    await c.setNodeReady('node-2', false);
    await c.eventually('node-2 deleted once NotReady', async () => !(await c.nodes()).some((n) => n.metadata.name === 'node-2'), { maxMs: 5_000 });
  } finally {
    await c.shutdown();
  }
});

test('a NotReady node whose instance is shut down gets the shutdown taint, removed once it is Ready again', async () => {
  const c = await startSimCloudCluster({ seed: 24, nodes: [{ name: 'node-0' }] });
  try {
    await c.createNode('node-0');
    await c.eventually('initialized', async () => !hasTaint((await c.nodes())[0]!, UNINITIALIZED_TAINT_KEY));
    await c.fault({ kind: 'stop-instance', name: 'node-0' });
    await c.eventually('shutdown taint', async () => hasTaint((await c.nodes())[0]!, SHUTDOWN_TAINT_KEY), { maxMs: 5_000 });
    await c.fault({ kind: 'start-instance', name: 'node-0' });
    await c.setNodeReady('node-0', true);
    await c.eventually('shutdown taint removed', async () => !hasTaint((await c.nodes())[0]!, SHUTDOWN_TAINT_KEY), { maxMs: 5_000 });
  } finally {
    await c.shutdown();
  }
});

test('a Node registered without the taint and without providerID is adopted (default), and left alone when adoption is off', async () => {
  for (const adopt of [true, false]) {
    const c = await startSimCloudCluster({ seed: 25, nodes: [{ name: 'node-0' }], ccm: { adoptUntaintedNodes: adopt } });
    try {
      await c.must({ type: 'api.create', body: { group: '', version: 'v1', resource: 'nodes', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } } });
      await c.sim.runFor(3_000);
      const node = (await c.nodes())[0]!;
      if (adopt) assert.match(node.spec?.providerID ?? '', /^kubethreads:\/\/\/sim-region-1a\/i-/);
      else assert.equal(node.spec?.providerID, undefined);
    } finally {
      await c.shutdown();
    }
  }
});
