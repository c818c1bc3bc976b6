import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, Pod, ReplicaSet } from '../api/types/index.js';
import {
  newReplicaSetReplicas, oldScaleDownBudget, podTemplateHash, resolveFenceposts, scaledValue, templateWithoutHash, equalIgnoreHash, POD_TEMPLATE_HASH_LABEL,
  replicasAnnotations,
} from './deployment-util.js';
import { rankForDeletion, slowStartBatch } from './replicaset.js';
import { NodeLifecycleController, tolerates } from './node-lifecycle.js';
import { VirtualClock } from '../client/index.js';

const d = (replicas: number, maxSurge?: number | string, maxUnavailable?: number | string): Deployment => ({
  metadata: { name: 'web' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'c', image: 'x' }] } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } } },
});
const rs = (replicas: number, available: number): ReplicaSet => ({ metadata: { name: `rs-${replicas}-${available}` }, spec: { replicas, selector: {} }, status: { replicas, availableReplicas: available } });

test('int-or-percent: surge rounds up, unavailable rounds down, both zero makes unavailable 1 (Kubernetes ResolveFenceposts)', () => {
  const cases: [number, number | string | undefined, number | string | undefined, number, number][] = [
    [4, undefined, undefined, 1, 1],
    [10, '25%', '25%', 3, 2],
    [1, '25%', '25%', 1, 0],
    [3, 0, 0, 0, 1],
    [5, 2, '50%', 2, 2],
  ];
  for (const [replicas, surge, unavailable, wantSurge, wantUnavailable] of cases) {
    assert.deepEqual(resolveFenceposts(d(replicas, surge, unavailable)), { maxSurge: wantSurge, maxUnavailable: wantUnavailable }, `${replicas} ${surge} ${unavailable}`);
  }
  assert.throws(() => scaledValue('x%', 4, true, 0), /invalid int-or-percent/);
});

test('rolling arithmetic: the new ReplicaSet grows only into the surge room; old ones shrink only while enough stay available', () => {
  const deploy = d(4, 1, 1);
  const newRS = rs(0, 0);
  assert.equal(newReplicaSetReplicas(deploy, [newRS, rs(4, 4)], newRS), 1, '4 + surge 1 = 5 total');
  assert.equal(newReplicaSetReplicas(deploy, [rs(1, 0), rs(4, 4)], rs(1, 0)), 1, 'at 5 total, no more');
  // 5 pods (1 new unavailable), min available 3: budget 5 - 3 - 1 = 1
  assert.equal(oldScaleDownBudget(deploy, [rs(1, 0), rs(4, 4)], rs(1, 0)), 1);
  assert.equal(oldScaleDownBudget(deploy, [rs(2, 0), rs(3, 3)], rs(2, 0)), 0, 'with 2 new pods unavailable nothing more may go');
});

test('pod-template-hash: stable, independent of the hash label itself, changed by the template and by collisionCount', () => {
  const t = d(1).spec!.template;
  const labelled = structuredClone(t);
  labelled.metadata = { labels: { [POD_TEMPLATE_HASH_LABEL]: 'abc' } };
  assert.equal(podTemplateHash(t), podTemplateHash(templateWithoutHash(labelled)));
  assert.ok(equalIgnoreHash(t, labelled));
  const other = structuredClone(t);
  other.spec.containers[0]!.image = 'y';
  assert.notEqual(podTemplateHash(t), podTemplateHash(other));
  assert.notEqual(podTemplateHash(t), podTemplateHash(t, 1));
  assert.match(podTemplateHash(t), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  // What kubectl rollout undo writes back: its typed objects add null timestamps and empty maps.
  const fromKubectl = structuredClone(t) as unknown as { metadata: unknown; spec: { containers: { resources: unknown }[] } };
  fromKubectl.metadata = { creationTimestamp: null };
  fromKubectl.spec.containers[0]!.resources = {};
  assert.ok(equalIgnoreHash(t, fromKubectl as never), 'null and empty fields are the same as absent ones');
  assert.equal(podTemplateHash(fromKubectl as never), podTemplateHash(t));
});

test('deletion ranking: unscheduled, then pending, then not ready, then newest first', () => {
  const pod = (name: string, nodeName: string | undefined, phase: 'Pending' | 'Running', ready: boolean, created: string): Pod => ({
    metadata: { name, creationTimestamp: created },
    spec: { containers: [], nodeName },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: created }] },
  });
  const ranked = rankForDeletion([
    pod('ready-old', 'n', 'Running', true, '2024-01-01T00:00:00Z'),
    pod('ready-new', 'n', 'Running', true, '2024-01-02T00:00:00Z'),
    pod('unscheduled', undefined, 'Pending', false, '2024-01-01T00:00:00Z'),
    pod('pending', 'n', 'Pending', false, '2024-01-01T00:00:00Z'),
    pod('not-ready', 'n', 'Running', false, '2024-01-01T00:00:00Z'),
  ]);
  assert.deepEqual(ranked.map((p) => p.metadata.name), ['unscheduled', 'pending', 'not-ready', 'ready-new', 'ready-old']);
});

test('slow start: batches of 1, 2, 4 ... stop at the first batch with a failure', async () => {
  let calls = 0;
  const result = await slowStartBatch(10, 1, async () => {
    calls++;
    if (calls === 4) throw new Error('quota');
  });
  assert.equal(calls, 7, 'batches 1 + 2 + 4, then stop');
  assert.equal(result.succeeded, 6);
  assert.equal((result.error as Error).message, 'quota');
  assert.deepEqual(await slowStartBatch(10, 1, async () => undefined), { succeeded: 10 });
});

test('taint toleration and eviction time: none → now, seconds → scaled, no seconds → never, default 300 s for unreachable', () => {
  const clock = new VirtualClock(0);
  const controller = new NodeLifecycleController({
    api: {} as never, clock, nodes: {} as never, leases: {} as never, pods: {} as never, recorder: {} as never,
    nodeMonitorGraceMs: 5_000, podEvictionTimeoutMs: 30_000,
  });
  const added = '1970-01-01T00:00:10Z';
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' as const, timeAdded: added };
  const custom = { key: 'maintenance', effect: 'NoExecute' as const, timeAdded: added };
  const pod = (tolerations: Pod['spec'] extends infer S ? S extends { tolerations?: infer T } ? T : never : never): Pod => ({ metadata: {}, spec: { containers: [], tolerations } });
  assert.equal(controller.evictionDueMs(pod([]), [unreachable]), 10_000 + 30_000, 'default 300 s scaled by 30 s / 300 s');
  assert.equal(controller.evictionDueMs(pod([]), [custom]), 10_000, 'not tolerated: at once');
  assert.equal(controller.evictionDueMs(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]), [unreachable]), 10_000 + 6_000);
  assert.equal(controller.evictionDueMs(pod([{ operator: 'Exists' }]), [unreachable, custom]), undefined, 'tolerates everything forever');
  assert.ok(tolerates({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute' }, { key: 'k', value: 'v', effect: 'NoExecute' }));
  assert.ok(!tolerates({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoExecute' }));
});

test('expectations: a controller waits for its own creates and deletes to show in the cache, and gives up waiting after the TTL', async () => {
  const { Expectations } = await import('./expectations.js');
  let now = 0;
  const e = new Expectations(() => now, 1_000);
  assert.ok(e.satisfied('rs'), 'nothing expected');
  e.expectCreations('rs', 2);
  assert.ok(!e.satisfied('rs'));
  e.creationObserved('rs');
  assert.ok(!e.satisfied('rs'), 'one of two seen');
  e.creationObserved('rs');
  assert.ok(e.satisfied('rs'));
  e.expectDeletions('rs', ['ns/a', 'ns/b']);
  e.deletionObserved('rs', 'ns/other');
  assert.deepEqual(e.pending('rs'), { adds: 0, deletes: 2 }, 'a pod we did not delete does not count');
  e.deletionObserved('rs', 'ns/a');
  e.deletionObserved('rs', 'ns/a');
  assert.ok(!e.satisfied('rs'), 'the same deletion twice counts once');
  now = 1_001;
  assert.ok(e.satisfied('rs'), 'expired: a lost event cannot wedge the controller');
});

test('scaling an old ReplicaSet updates its replicas annotations only, never the Deployment\'s newer change-cause', () => {
  const d = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', annotations: { 'kubernetes.io/change-cause': 'move to 1.27' } },
    spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } } },
  } as unknown as Deployment;
  const old = { metadata: { name: 'web-1', annotations: { 'deployment.kubernetes.io/revision': '1' } }, spec: { replicas: 3 } } as unknown as ReplicaSet;
  const out = replicasAnnotations(d, old);
  assert.equal(out['kubernetes.io/change-cause'], undefined, 'revision 1 keeps its own (absent) change-cause');
  assert.equal(out['deployment.kubernetes.io/revision'], '1');
  assert.equal(out['deployment.kubernetes.io/desired-replicas'], '4');
  assert.equal(out['deployment.kubernetes.io/max-replicas'], '5', '4 + 25 % surge rounded up');
});
