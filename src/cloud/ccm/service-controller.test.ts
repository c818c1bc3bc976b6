import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Service } from '../../api/types/index.js';
import type { CloudSnapshot } from '../provider/types.js';
import { servicesTarget, startSimCloudCluster, type SimCloudCluster } from '../testing.js';
import { LB_CLEANUP_FINALIZER, UNINITIALIZED_TAINT_KEY, hasTaint, loadBalancerName } from './desired.js';

const ingressIp = (s: Service | undefined) => s?.status?.loadBalancer?.ingress?.[0]?.ip;

async function initializedNodes(c: SimCloudCluster, names: string[]): Promise<void> {
  for (const name of names) await c.createNode(name);
  await c.eventually('nodes initialized', async () => (await c.nodes()).filter((n) => !hasTaint(n, UNINITIALIZED_TAINT_KEY)).length === names.length);
}

/** Load balancers per name, and creations per name over the cloud's whole life. */
function countsByName(snapshot: CloudSnapshot): { live: Map<string, number>; created: Map<string, number> } {
  const live = new Map<string, number>();
  const created = new Map<string, number>();
  for (const lb of snapshot.loadBalancers) live.set(lb.name, (live.get(lb.name) ?? 0) + 1);
  for (const c of snapshot.creations) created.set(c.name, (created.get(c.name) ?? 0) + 1);
  return { live, created };
}

test('a LoadBalancer Service gets exactly one load balancer and its ingress; targets follow the nodes', async () => {
  const c = await startSimCloudCluster({ seed: 31, nodes: [{ name: 'node-0' }, { name: 'node-1' }, { name: 'node-2' }] });
  try {
    await initializedNodes(c, ['node-0', 'node-1']);
    const created = await c.createLoadBalancerService('web', [8080, 9090]);
    await c.eventually('ingress set', async () => ingressIp((await c.services())[0]) !== undefined);
    const service = (await c.services())[0]!;
    const snapshot = await c.snapshot();
    assert.equal(snapshot.loadBalancers.length, 1);
    const lb = snapshot.loadBalancers[0]!;
    assert.equal(lb.name, loadBalancerName(created));
    assert.equal(ingressIp(service), lb.address);
    assert.match(lb.address, /^127\.30\./);
    assert.deepEqual(lb.listeners, service.spec!.ports!.map((p) => ({ protocol: 'TCP', port: p.port, targetPort: p.nodePort })));
    const ids = (names: string[]) => snapshot.instances.filter((i) => names.includes(i.name)).map((i) => i.id).sort();
    assert.deepEqual(lb.targets, ids(['node-0', 'node-1']));
    assert.ok(service.metadata.finalizers?.includes(LB_CLEANUP_FINALIZER));

    await c.createNode('node-2');
    await c.eventually('a new node becomes a target', async () => (await c.snapshot()).loadBalancers[0]!.targets.length === 3);
    await c.fault({ kind: 'terminate-instance', name: 'node-0' });
    await c.eventually('the terminated node is gone from the cluster and from the targets', async () => {
      const nodes = (await c.nodes()).map((n) => n.metadata.name);
      return !nodes.includes('node-0') && (await c.snapshot()).loadBalancers[0]!.targets.length === 2;
    });
    assert.deepEqual((await c.snapshot()).loadBalancers[0]!.targets, ids(['node-1', 'node-2']));
    const after = await c.snapshot();
    assert.equal(after.loadBalancers.length, 1, 'still exactly one');
    assert.equal(after.creations.length, 1, 'never created twice');
  } finally {
    await c.shutdown();
  }
});

/**
 * The outage scenario: LoadBalancer Services are created while the cloud API
 * is down; when it comes back it is slow (some answers arrive after the
 * caller gave up) and half its failures are ambiguous (applied, then 504).
 * Every retry of a creation whose outcome was unknown must find the first.
 */
async function outageRun(seed: number, unsafeNonIdempotentCreate: boolean): Promise<{ snapshot: CloudSnapshot; services: Service[] }> {
  const c = await startSimCloudCluster({
    seed,
    nodes: [{ name: 'node-0' }, { name: 'node-1' }],
    ccm: { unsafeNonIdempotentCreate, cloudCallTimeoutMs: 1_000 },
  });
  try {
    await initializedNodes(c, ['node-0', 'node-1']);
    await c.fault({ kind: 'api-outage' });
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const name of names) await c.createLoadBalancerService(name);
    await c.sim.runFor(8_000);
    const during = await c.services();
    assert.ok(during.every((s) => s.metadata.finalizers?.includes(LB_CLEANUP_FINALIZER)), 'finalizers go on before any cloud call');
    assert.ok(during.every((s) => ingressIp(s) === undefined));
    assert.equal((await c.snapshot()).loadBalancers.length, 0);

    await c.fault({ kind: 'latency', minMs: 100, maxMs: 1_800 });
    await c.fault({ kind: 'error-rate', errorRate: 0.2, ambiguousRate: 0.4 });
    await c.heal({ kind: 'api-outage' });
    await c.eventually('every Service has its ingress', async () => (await c.services()).every((s) => ingressIp(s) !== undefined), { maxMs: 120_000, stepMs: 500 });
    await c.heal({ kind: 'error-rate' });
    await c.heal({ kind: 'latency' });
    await c.sim.runFor(5_000); // late answers and the cleanup of any duplicate land
    return { snapshot: await c.snapshot(), services: await c.services() };
  } finally {
    await c.shutdown();
  }
}

test('cloud API outage while LoadBalancer Services are created: once it is back each gets exactly one load balancer, never a duplicate across retries', async () => {
  const { snapshot, services } = await outageRun(41, false);
  const { live, created } = countsByName(snapshot);
  assert.ok((snapshot.stats.appliedButTimedOutByOp['lb.create'] ?? 0) > 0, 'some creations were applied but answered 504 (else the check proves nothing)');
  assert.ok((snapshot.stats.failed.InternalError ?? 0) > 0);
  for (const service of services) {
    const name = loadBalancerName(service);
    assert.equal(live.get(name), 1, `${service.metadata.name}: one live load balancer`);
    assert.equal(created.get(name), 1, `${service.metadata.name}: created once over the whole run`);
    assert.equal(ingressIp(service), snapshot.loadBalancers.find((lb) => lb.name === name)!.address);
  }
  assert.equal(snapshot.loadBalancers.length, services.length);
});

test('the duplicate check bites: a naive controller (no lookup, no clientToken) creates duplicates in the same outage run', async () => {
  const { snapshot } = await outageRun(41, true);
  const { created } = countsByName(snapshot);
  const duplicated = [...created].filter(([, n]) => n > 1);
  assert.ok(duplicated.length > 0, `expected some load balancer created more than once, creations: ${JSON.stringify([...created])}`);
});

test('deleting a LoadBalancer Service deletes its load balancer; the finalizer holds the Service through a cloud outage until then', async () => {
  const c = await startSimCloudCluster({ seed: 51, nodes: [{ name: 'node-0' }] });
  try {
    await initializedNodes(c, ['node-0']);
    await c.createLoadBalancerService('web');
    await c.createLoadBalancerService('keep');
    await c.eventually('ingress set', async () => (await c.services()).every((s) => ingressIp(s) !== undefined));
    await c.fault({ kind: 'api-outage' });
    const deleted = await c.must<Service>({ type: 'api.delete', body: { ...servicesTarget(), name: 'web' } });
    assert.ok(deleted.metadata.deletionTimestamp !== undefined, 'held by the finalizer');
    await c.sim.runFor(5_000);
    assert.ok((await c.services()).some((s) => s.metadata.name === 'web'), 'still held while the cloud cannot delete the load balancer');
    assert.equal((await c.snapshot()).loadBalancers.length, 2);
    await c.heal({ kind: 'api-outage' });
    await c.eventually('Service gone', async () => !(await c.services()).some((s) => s.metadata.name === 'web'), { maxMs: 20_000 });
    const snapshot = await c.snapshot();
    assert.deepEqual(snapshot.loadBalancers.map((lb) => lb.tags['kubernetes.io/service-name']), ['default/keep']);
  } finally {
    await c.shutdown();
  }
});

test('changing a Service away from LoadBalancer deletes its load balancer, clears its ingress and removes the finalizer', async () => {
  const c = await startSimCloudCluster({ seed: 52, nodes: [{ name: 'node-0' }] });
  try {
    await initializedNodes(c, ['node-0']);
    await c.createLoadBalancerService('web');
    await c.eventually('ingress set', async () => ingressIp((await c.services())[0]) !== undefined);
    await c.must({ type: 'api.patch', body: { ...servicesTarget(), name: 'web', patchType: 'merge', patch: { spec: { type: 'NodePort' } } } });
    await c.eventually('load balancer deleted and Service clean', async () => {
      const s = (await c.services())[0]!;
      return (await c.snapshot()).loadBalancers.length === 0 && ingressIp(s) === undefined && !(s.metadata.finalizers ?? []).includes(LB_CLEANUP_FINALIZER);
    });
  } finally {
    await c.shutdown();
  }
});

test('same seed, same run: the load balancer scenario replays exactly (trace hash and cloud state)', async () => {
  const once = async () => {
    const c = await startSimCloudCluster({ seed: 33, nodes: [{ name: 'node-0' }, { name: 'node-1' }] });
    try {
      await initializedNodes(c, ['node-0', 'node-1']);
      await c.createLoadBalancerService('web');
      await c.fault({ kind: 'error-rate', errorRate: 0.3, ambiguousRate: 0.3 });
      await c.sim.runFor(10_000);
      const s = await c.snapshot();
      return { hash: c.sim.traceHash(), lbs: s.loadBalancers, stats: s.stats, now: c.sim.now() };
    } finally {
      await c.shutdown();
    }
  };
  const [a, b] = [await once(), await once()];
  assert.deepEqual(a, b);
});
