import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CCM_NAME } from './protocol.js';
import { startSimCloudCluster } from '../testing.js';
import { UNINITIALIZED_TAINT_KEY, hasTaint } from './desired.js';

test('a route per node pod CIDR to its instance, NetworkUnavailable=False once it exists; a deleted node loses its route', async () => {
  const c = await startSimCloudCluster({ seed: 61, nodes: [{ name: 'node-0' }, { name: 'node-1' }] });
  try {
    await c.createNode('node-0', { podCIDR: '127.10.0.0/24' });
    await c.createNode('node-1', { podCIDR: '127.10.1.0/24' });
    await c.eventually('two routes', async () => (await c.snapshot()).routes.length === 2);
    const snapshot = await c.snapshot();
    const instanceOf = (name: string) => snapshot.instances.find((i) => i.name === name)!.id;
    assert.deepEqual(
      snapshot.routes.map((r) => [r.name, r.destinationCidr, r.targetInstanceId, r.state]),
      [['kubethreads-node-0', '127.10.0.0/24', instanceOf('node-0'), 'active'], ['kubethreads-node-1', '127.10.1.0/24', instanceOf('node-1'), 'active']],
    );
    await c.eventually('conditions reported', async () => (await c.nodes()).every((n) => n.status?.conditions?.some((k) => k.type === 'NetworkUnavailable' && k.status === 'False' && k.reason === 'RouteCreated')));

    await c.fault({ kind: 'terminate-instance', name: 'node-1' });
    await c.eventually('node-1 and its route gone', async () => {
      const s = await c.snapshot();
      return !(await c.nodes()).some((n) => n.metadata.name === 'node-1') && s.routes.map((r) => r.name).join() === 'kubethreads-node-0';
    });
  } finally {
    await c.shutdown();
  }
});

test('two replicas: only the Lease holder acts; when it is cut off, the other takes over and nothing is done twice', async () => {
  const c = await startSimCloudCluster({ seed: 71, nodes: [{ name: 'node-0' }, { name: 'node-1' }], ccmReplicas: 2 });
  try {
    const names = [`${CCM_NAME}-0`, `${CCM_NAME}-1`];
    const statusOfAll = async () => {
      const all = [];
      for (const n of names) all.push(await c.ccmStatus(n)); // one at a time: each ask runs the simulation
      return all;
    };
    await c.eventually('a leader', async () => (await statusOfAll()).some((s) => s.leading));
    const statuses = await statusOfAll();
    assert.equal(statuses.filter((s) => s.leading).length, 1);
    const leader = statuses.find((s) => s.leading)!.identity;
    const standby = names.find((n) => n !== leader)!;
    await c.createNode('node-0');
    await c.createLoadBalancerService('web');
    await c.eventually('served by the leader', async () => (await c.services())[0]?.status?.loadBalancer?.ingress !== undefined && !hasTaint((await c.nodes())[0]!, UNINITIALIZED_TAINT_KEY));

    const cut = await c.sim.faults.partition([leader], ['apiserver', 'cloud', standby]);
    await c.eventually('the standby leads', async () => (await c.ccmStatus(standby)).leading, { maxMs: 10_000 });
    await c.createNode('node-1');
    await c.eventually('the new leader initializes node-1 and adds it as a target', async () => {
      const node = (await c.nodes()).find((n) => n.metadata.name === 'node-1');
      return node !== undefined && !hasTaint(node, UNINITIALIZED_TAINT_KEY) && (await c.snapshot()).loadBalancers[0]?.targets.length === 2;
    });
    assert.equal((await c.ccmStatus(leader)).leading, false, 'the cut-off replica stopped acting by its renew deadline');
    await c.sim.faults.heal(cut);
    await c.sim.runFor(3_000);
    const after = await statusOfAll();
    assert.equal(after.filter((s) => s.leading).length, 1);
    const snapshot = await c.snapshot();
    assert.equal(snapshot.loadBalancers.length, 1);
    assert.equal(snapshot.creations.length, 1);
  } finally {
    await c.shutdown();
  }
});
