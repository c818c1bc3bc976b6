import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, EndpointSlice, Endpoints, Lease, Node, Pod, ReplicaSet, Service } from '../api/types/index.js';
import { formatMicroTime } from '../client/index.js';
import type { StandInMsg } from './testing.js';
import { DEPLOY, NS, POD, RS, TIMING, cluster, deployment, target } from './test-harness.js';
import { sameLabels } from './endpoints.js';

const SVC = target('', 'services');
const EP = target('', 'endpoints');
const SLICES = { ...target('discovery.k8s.io', 'endpointslices') };
const NODE = { group: '', version: 'v1', resource: 'nodes' };
const LEASE = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease' };

type Harness = Awaited<ReturnType<typeof cluster>>;

async function createReadyNode(h: Harness, name: string, zone: string): Promise<void> {
  const node = await h.create<Node>(NODE, { metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } } });
  const now = new Date(h.sim.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  await h.ask({ type: 'api.update', body: { ...NODE, name, subresource: 'status', object: { ...node, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] } } } });
}

async function renewLease(h: Harness, name: string): Promise<void> {
  const renewTime = formatMicroTime(h.sim.now());
  const existing = await h.sim.settle(h.api.ask<{ ok: boolean; body: Lease }>({ type: 'api.get', body: { ...LEASE, name } }));
  if (!existing.ok) {
    await h.create<Lease>(LEASE, { metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } });
    return;
  }
  await h.update<Lease>(LEASE, { ...existing.body, spec: { ...existing.body.spec, renewTime } });
}

async function bind(h: Harness, pod: string, node: string): Promise<void> {
  await h.ask({ type: 'api.create', body: { ...POD, name: pod, subresource: 'binding', object: { metadata: { name: pod }, target: { kind: 'Node', name: node } } } });
}

const gone = async (h: Harness) => (await h.list<ReplicaSet>(RS)).length === 0 && (await h.list<Pod>(POD, 'app=web')).length === 0;

describe('garbage collection, endpoints and node lifecycle in the simulated runtime against the real apiserver', () => {
  test('GC: deleting a Deployment in the background removes its ReplicaSets and then their pods', async () => {
    const h = await cluster(201);
    try {
      await h.create(DEPLOY, deployment('web', 2, 'nginx:1.26'));
      await h.until('rollout', () => h.rolledOut('web', 'nginx:1.26', 2));
      await h.delete(DEPLOY, 'web', 'Background');
      await h.until('ReplicaSets and pods collected', () => gone(h));
    } finally {
      await h.sim.shutdown();
    }
  });

  test('GC: a foreground deletion keeps the Deployment (deletionTimestamp, finalizer) until every ReplicaSet and pod is gone', async () => {
    const h = await cluster(202);
    try {
      await h.create(DEPLOY, deployment('web', 3, 'nginx:1.26'));
      await h.until('rollout', () => h.rolledOut('web', 'nginx:1.26', 3));
      await h.delete(DEPLOY, 'web', 'Foreground');
      let sawOwnerWaiting = false;
      await h.until('everything collected, owner last', async () => {
        const owners = await h.list<Deployment>(DEPLOY);
        const dependentsGone = await gone(h);
        if (owners.length > 0) {
          assert.ok(owners[0]!.metadata.deletionTimestamp !== undefined && owners[0]!.metadata.finalizers?.includes('foregroundDeletion'));
          if (!dependentsGone) sawOwnerWaiting = true;
        } else {
          assert.ok(dependentsGone, 'the Deployment went before its dependents');
        }
        return owners.length === 0;
      });
      assert.ok(sawOwnerWaiting, 'the owner was seen waiting for its dependents');
    } finally {
      await h.sim.shutdown();
    }
  });

  test('GC: an orphaning deletion removes the Deployment and leaves its ReplicaSet and pods without the ownerReference', async () => {
    const h = await cluster(203);
    try {
      await h.create(DEPLOY, deployment('web', 2, 'nginx:1.26'));
      await h.until('rollout', () => h.rolledOut('web', 'nginx:1.26', 2));
      await h.delete(DEPLOY, 'web', 'Orphan');
      await h.until('Deployment gone', async () => (await h.list(DEPLOY)).length === 0);
      await h.sim.runFor(2_000);
      const [rs, ...more] = await h.list<ReplicaSet>(RS);
      assert.equal(more.length, 0);
      assert.deepEqual(rs!.metadata.ownerReferences ?? [], []);
      assert.equal((await h.activePods()).length, 2, 'the pods stay, still owned by the ReplicaSet');
    } finally {
      await h.sim.shutdown();
    }
  });

  test('endpoints and slices follow pod readiness, carry the resolved target port, node and zone, and go with the Service', async () => {
    const h = await cluster(204);
    try {
      await createReadyNode(h, 'node-a', 'zone-a');
      const template = deployment('web', 2, 'nginx:1.26');
      template.spec!.template.spec.containers[0]!.ports = [{ name: 'http', containerPort: 8080 }];
      await h.create(DEPLOY, template);
      await h.create<Service>(SVC, { metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
      await h.until('rollout', () => h.rolledOut('web', 'nginx:1.26', 2));
      const [first, second] = (await h.activePods()).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
      await bind(h, first!.metadata.name!, 'node-a');
      await h.until('2 ready endpoints', async () => {
        const ep = await h.get<Endpoints>(EP, 'web');
        const slices = await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=web');
        const onNode = slices[0]?.endpoints.find((e) => e.targetRef?.name === first!.metadata.name);
        return ep.subsets?.[0]?.addresses?.length === 2 && slices.length === 1 && slices[0]!.endpoints.length === 2 && onNode?.zone === 'zone-a';
      });
      const ep = await h.get<Endpoints>(EP, 'web');
      assert.deepEqual(ep.subsets?.[0]?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      assert.equal(ep.subsets?.[0]?.addresses?.find((a) => a.targetRef?.name === first!.metadata.name)?.nodeName, 'node-a');
      const [slice] = await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=web');
      assert.equal(slice!.metadata.ownerReferences?.[0]?.kind, 'Service');
      assert.deepEqual(slice!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      const onNode = slice!.endpoints.find((e) => e.targetRef?.name === first!.metadata.name)!;
      assert.equal(onNode.nodeName, 'node-a');
      assert.deepEqual(onNode.conditions, { ready: true, serving: true, terminating: false });

      // The second pod stops being ready: it moves to notReadyAddresses and its slice endpoint says ready: false.
      await h.sim.settle(h.standin.ask({ type: 'standin.setReady', body: { enabled: false } } satisfies StandInMsg));
      const pod = await h.get<Pod>(POD, second!.metadata.name!);
      await h.ask({ type: 'api.update', body: { ...POD, name: pod.metadata.name!, subresource: 'status', object: { ...pod, status: { ...pod.status, conditions: [{ type: 'Ready', status: 'False' }] } } } });
      // Endpoints and slices are two writes: wait for both, not for the first one to land.
      await h.until('one ready, one not', async () => {
        const e = await h.get<Endpoints>(EP, 'web');
        const [s] = await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=web');
        return e.subsets?.[0]?.addresses?.length === 1 && e.subsets[0].notReadyAddresses?.length === 1
          && s?.endpoints.find((x) => x.targetRef?.name === second!.metadata.name)?.conditions?.ready === false;
      });
      const [after] = await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=web');
      assert.deepEqual(after!.endpoints.find((e) => e.targetRef?.name === second!.metadata.name)?.conditions, { ready: false, serving: false, terminating: false });

      await h.delete(SVC, 'web');
      await h.until('endpoints and slices removed', async () => (await h.list(EP)).length === 0 && (await h.list(SLICES)).length === 0);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('a selectorless Service\'s hand-written Endpoints are mirrored into slices, follow their changes, and go with the Service', async () => {
    const h = await cluster(205);
    try {
      await h.create<Service>(SVC, { metadata: { name: 'db', namespace: NS }, spec: { ports: [{ port: 5432 }] } });
      const endpoints = await h.create<Endpoints>(EP, { metadata: { name: 'db', namespace: NS }, subsets: [{ addresses: [{ ip: '10.9.0.1' }], ports: [{ port: 5432, protocol: 'TCP' }] }] });
      const addresses = async () => (await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=db')).flatMap((s) => s.endpoints.map((e) => e.addresses[0]));
      await h.until('mirrored', async () => JSON.stringify(await addresses()) === '["10.9.0.1"]');
      await h.update<Endpoints>(EP, { ...endpoints, subsets: [{ addresses: [{ ip: '10.9.0.1' }, { ip: '10.9.0.2' }], ports: [{ port: 5432, protocol: 'TCP' }] }] });
      await h.until('the change mirrored', async () => JSON.stringify(await addresses()) === '["10.9.0.1","10.9.0.2"]');
      const [slice] = await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=db');
      assert.equal(slice!.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
      await h.delete(SVC, 'db');
      await h.until('mirrored slices removed with the Service', async () => (await h.list(SLICES)).length === 0);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('node lifecycle: a node whose lease stops goes Unknown with the unreachable taints after the grace period; its pods are evicted after the scaled tolerationSeconds and replaced; a pod tolerating forever stays', async () => {
    const h = await cluster(205);
    try {
      await createReadyNode(h, 'node-a', 'zone-a');
      await renewLease(h, 'node-a');
      await h.create(DEPLOY, deployment('web', 2, 'nginx:1.26'));
      await h.create<Pod>(POD, {
        metadata: { name: 'stays', namespace: NS, labels: { app: 'other' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }], tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }] },
      });
      await bind(h, 'stays', 'node-a');
      let bound = 0;
      await h.until('pods bound to node-a and ready', async () => {
        await renewLease(h, 'node-a');
        for (const pod of await h.activePods()) if (!pod.spec?.nodeName) { await bind(h, pod.metadata.name!, 'node-a'); bound++; }
        return h.rolledOut('web', 'nginx:1.26', 2);
      });
      assert.equal(bound, 2);
      const original = new Set((await h.activePods()).map((p) => p.metadata.name));
      const silentFromMs = h.sim.now();
      await h.until('node Unknown and tainted', async () => {
        const node = await h.get<Node>(NODE, 'node-a');
        return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown'
          && (node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute');
      }, 20_000);
      const unknownAtMs = h.sim.now();
      assert.ok(unknownAtMs - silentFromMs >= TIMING.nodeMonitorGraceMs, `Unknown after ${unknownAtMs - silentFromMs} ms, before the grace period`);
      const node = await h.get<Node>(NODE, 'node-a');
      assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'NodeStatusUnknown');
      assert.deepEqual((node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
      await h.until('pods marked not ready', async () => (await h.activePods()).every((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False'));

      await h.until('evicted and replaced', async () => {
        const active = await h.activePods();
        return active.length === 2 && active.every((p) => !original.has(p.metadata.name));
      }, 120_000);
      const evictedAfterMs = h.sim.now() - unknownAtMs;
      assert.ok(evictedAfterMs >= TIMING.podEvictionTimeoutMs - TIMING.nodeMonitorGraceMs / 10, `evicted ${evictedAfterMs} ms after the taint, sooner than the scaled 300 s`);
      const stays = await h.get<Pod>(POD, 'stays');
      assert.equal(stays.metadata.deletionTimestamp, undefined, 'a pod that tolerates the taint forever is not evicted');
    } finally {
      await h.sim.shutdown();
    }
  });
});

test('label maps compare equal whatever their key order, and differ on any added, removed or changed label', () => {
  assert.ok(sameLabels(undefined, undefined));
  assert.ok(sameLabels(undefined, {}));
  assert.ok(sameLabels({ app: 'web', tier: 'a' }, { tier: 'a', app: 'web' }));
  assert.ok(!sameLabels({ app: 'web' }, { app: 'db' }));
  assert.ok(!sameLabels({ app: 'web' }, { app: 'web', tier: 'a' }));
  assert.ok(!sameLabels({ app: 'web', tier: 'a' }, { app: 'web' }));
  assert.ok(!sameLabels({ app: 'web' }, undefined));
  assert.ok(!sameLabels({ a: 'x', b: 'y' }, { a: 'x', c: 'y' }));
});
