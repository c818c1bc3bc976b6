import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, Endpoints, Event, Pod, ReplicaSet, Service } from '../api/types/index.js';
import { MIRRORED_BY, mirroredSlices } from './endpoints.js';
import { CONTROL_PLANE_LIST_SLICE_ITEMS, LEADER_ELECTION_JITTER_FACTOR } from '../client/index.js';
import type { ControllerManagerMsg, ControllerManagerStatus } from './behaviour.js';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, revisionOf } from './deployment-util.js';
import { DEPLOY, EVENT, POD, RS, TIMING, NS, assertNoOverlap, cluster, deployment } from './test-harness.js';

describe('controller-manager in the simulated runtime against the real apiserver', () => {
  test('a Deployment of 3 gets one ReplicaSet with revision 1 and 3 owned pods, Available and Progressing as Kubernetes reports them, and its events', async () => {
    const h = await cluster(101);
    try {
      await h.create(DEPLOY, deployment('web', 3, 'nginx:1.26'));
      await h.until('3 pods available', () => h.rolledOut('web', 'nginx:1.26', 3));
      const [rs, ...more] = await h.list<ReplicaSet>(RS);
      assert.equal(more.length, 0);
      const d = await h.get<Deployment>(DEPLOY, 'web');
      const hash = rs!.metadata.labels?.[POD_TEMPLATE_HASH_LABEL];
      assert.ok(hash, 'the ReplicaSet carries the pod-template-hash label');
      assert.equal(rs!.metadata.name, `web-${hash}`);
      assert.equal(rs!.metadata.annotations?.[REVISION_ANNOTATION], '1');
      assert.equal(d.metadata.annotations?.[REVISION_ANNOTATION], '1');
      assert.deepEqual(rs!.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller, r.blockOwnerDeletion]), [['Deployment', 'web', true, true]]);
      const pods = await h.activePods();
      assert.equal(pods.length, 3);
      for (const pod of pods) {
        assert.equal(pod.metadata.ownerReferences?.[0]?.uid, rs!.metadata.uid);
        assert.equal(pod.metadata.labels?.[POD_TEMPLATE_HASH_LABEL], hash);
      }
      const conditions = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));
      assert.deepEqual(conditions, { Available: 'True MinimumReplicasAvailable', Progressing: 'True NewReplicaSetAvailable' });
      assert.equal(d.status?.observedGeneration, d.metadata.generation);
      const events = await h.list<Event>(EVENT);
      const messages = events.map((e) => `${e.involvedObject.kind} ${e.reason} ${e.message}`);
      assert.ok(messages.includes(`Deployment ScalingReplicaSet Scaled up replica set ${rs!.metadata.name} to 1`) || messages.some((m) => m.startsWith(`Deployment ScalingReplicaSet Scaled up replica set ${rs!.metadata.name} to`)), messages.join('\n'));
      for (const pod of pods) assert.ok(messages.includes(`ReplicaSet SuccessfulCreate Created pod: ${pod.metadata.name}`), `event for ${pod.metadata.name}`);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('a rolling update keeps total pods <= replicas + maxSurge and ready pods >= replicas - maxUnavailable in every observed state; undo brings the old template back as revision 3', async () => {
    const h = await cluster(102);
    try {
      const strategy = { type: 'RollingUpdate' as const, rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
      await h.create(DEPLOY, deployment('web', 4, 'nginx:1.26', { strategy }));
      await h.until('first rollout', () => h.rolledOut('web', 'nginx:1.26', 4));
      const before = (await h.states()).length;
      await h.patch(DEPLOY, 'web', { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } });
      await h.until('second rollout', () => h.rolledOut('web', 'nginx:1.27', 4));
      const during = (await h.states()).slice(before);
      assert.ok(during.length > 10, `observed ${during.length} states`);
      for (const s of during) {
        assert.ok(s.total <= 5, `more than replicas + maxSurge pods at ${s.atMs}: ${JSON.stringify(s)}`);
        assert.ok(s.ready >= 3, `fewer than replicas - maxUnavailable ready at ${s.atMs}: ${JSON.stringify(s)}`);
      }
      assert.ok(during.some((s) => s.images['nginx:1.26'] && s.images['nginx:1.27']), 'old and new pods overlapped: a rolling update, not a recreate');
      const sets = await h.list<ReplicaSet>(RS);
      assert.deepEqual(sets.map((rs) => [revisionOf(rs), rs.spec?.replicas, rs.spec?.template?.spec.containers[0]?.image]).sort(), [[1, 0, 'nginx:1.26'], [2, 4, 'nginx:1.27']]);

      // kubectl rollout undo: copy revision 1's template (without the hash label) into the Deployment.
      const previous = sets.find((rs) => revisionOf(rs) === 1)!;
      const template = structuredClone(previous.spec!.template!);
      delete template.metadata!.labels![POD_TEMPLATE_HASH_LABEL];
      const d = await h.get<Deployment>(DEPLOY, 'web');
      await h.update(DEPLOY, { ...d, spec: { ...d.spec!, template } });
      await h.until('undo rollout', () => h.rolledOut('web', 'nginx:1.26', 4));
      const after = await h.list<ReplicaSet>(RS);
      assert.equal(after.length, 2, 'undo reuses the old ReplicaSet');
      const reused = after.find((rs) => rs.metadata.uid === previous.metadata.uid)!;
      assert.equal(revisionOf(reused), 3);
      assert.equal(reused.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
      assert.equal((await h.get<Deployment>(DEPLOY, 'web')).metadata.annotations?.[REVISION_ANNOTATION], '3');
    } finally {
      await h.sim.shutdown();
    }
  });

  test('a paused Deployment does not roll out a new template and says DeploymentPaused; resumed, it rolls out', async () => {
    const h = await cluster(103);
    try {
      await h.create(DEPLOY, deployment('web', 2, 'nginx:1.26'));
      await h.until('first rollout', () => h.rolledOut('web', 'nginx:1.26', 2));
      await h.patch(DEPLOY, 'web', { spec: { paused: true } });
      await h.patch(DEPLOY, 'web', { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } });
      await h.sim.runFor(3_000);
      assert.equal((await h.list<ReplicaSet>(RS)).length, 1, 'no new ReplicaSet while paused');
      const paused = await h.get<Deployment>(DEPLOY, 'web');
      assert.equal(paused.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'DeploymentPaused');
      await h.patch(DEPLOY, 'web', { spec: { paused: false } });
      await h.until('rollout after resume', () => h.rolledOut('web', 'nginx:1.27', 2));
    } finally {
      await h.sim.shutdown();
    }
  });

  test('Recreate: no new pod exists while an old one does', async () => {
    const h = await cluster(104);
    try {
      await h.create(DEPLOY, deployment('web', 3, 'nginx:1.26', { strategy: { type: 'Recreate' } }));
      await h.until('first rollout', () => h.rolledOut('web', 'nginx:1.26', 3));
      const before = (await h.states()).length;
      await h.patch(DEPLOY, 'web', { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } });
      await h.until('recreate rollout', () => h.rolledOut('web', 'nginx:1.27', 3));
      for (const s of (await h.states()).slice(before)) assert.ok(!(s.images['nginx:1.26'] && s.images['nginx:1.27']), `old and new pods together: ${JSON.stringify(s)}`);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('ReplicaSet: a deleted pod is replaced; a matching orphan is adopted instead of creating; a pod that stops matching is released and replaced', async () => {
    const h = await cluster(105, { app: 'db' });
    try {
      const orphan: Pod = { metadata: { name: 'orphan', namespace: NS, labels: { app: 'db' } }, spec: { containers: [{ name: 'main', image: 'postgres:16' }] } };
      await h.create(POD, orphan);
      await h.create(RS, {
        metadata: { name: 'db', namespace: NS },
        spec: { replicas: 2, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'main', image: 'postgres:16' }] } } },
      } as ReplicaSet);
      await h.until('2 pods', async () => (await h.activePods('db')).length === 2 && (await h.activePods('db')).every((p) => p.metadata.ownerReferences?.length === 1));
      const adopted = await h.get<Pod>(POD, 'orphan');
      assert.equal(adopted.metadata.ownerReferences?.[0]?.name, 'db', 'the orphan was adopted');
      assert.equal((await h.activePods('db')).length, 2, 'adoption counted: only one pod was created');

      const victim = (await h.activePods('db')).find((p) => p.metadata.name !== 'orphan')!;
      await h.delete(POD, victim.metadata.name!);
      await h.until('replacement', async () => {
        const pods = await h.activePods('db');
        return pods.length === 2 && !pods.some((p) => p.metadata.name === victim.metadata.name);
      });

      await h.patch(POD, 'orphan', { metadata: { labels: { app: 'other' } } });
      await h.until('released and replaced', async () => {
        const released = await h.get<Pod>(POD, 'orphan');
        return (released.metadata.ownerReferences ?? []).length === 0 && (await h.activePods('db')).length === 2;
      });
      await h.until('status counts the replacement', async () => (await h.get<ReplicaSet>(RS, 'db')).status?.replicas === 2);
      const rs = await h.get<ReplicaSet>(RS, 'db');
      assert.equal(rs.status?.observedGeneration, rs.metadata.generation);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('ReplicaSet reaches 2 owned pods from any starting state: none, too many orphans, pods owned by a ReplicaSet that no longer exists', async () => {
    const podOf = (name: string, ownerUid?: string): Pod => ({
      metadata: {
        name, namespace: NS, labels: { app: 'db' },
        ownerReferences: ownerUid ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'ghost', uid: ownerUid, controller: true }] : undefined,
      },
      spec: { containers: [{ name: 'main', image: 'postgres:16' }] },
    });
    const starts: [string, Pod[]][] = [
      ['none', []],
      ['too many orphans', [1, 2, 3, 4, 5].map((i) => podOf(`orphan-${i}`))],
      ['stale owner', [podOf('stale-1', 'uid-of-a-deleted-rs'), podOf('stale-2', 'uid-of-a-deleted-rs')]],
    ];
    for (const [name, pods] of starts) {
      const h = await cluster(110, { app: 'db' });
      try {
        for (const pod of pods) await h.create(POD, pod);
        const rs = await h.create<ReplicaSet>(RS, {
          metadata: { name: 'db', namespace: NS },
          spec: { replicas: 2, selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'main', image: 'postgres:16' }] } } },
        });
        await h.until(`${name}: 2 pods owned by db`, async () => {
          const active = await h.activePods('db');
          return active.length === 2 && active.every((p) => p.metadata.ownerReferences?.length === 1 && p.metadata.ownerReferences[0]!.uid === rs.metadata.uid)
            && (await h.list<Pod>(POD, 'app=db')).length === 2;
        });
      } finally {
        await h.sim.shutdown();
      }
    }
  });

  test('ReplicaSet of 30: slow-start batches create exactly 30 pods, never more (no delete was needed); its events are correlated as client-go does', async () => {
    const h = await cluster(111, { app: 'big' });
    try {
      await h.create<ReplicaSet>(RS, {
        metadata: { name: 'big', namespace: NS },
        spec: { replicas: 30, selector: { matchLabels: { app: 'big' } }, template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'main', image: 'x' }] } } },
      });
      await h.until('30 pods', async () => (await h.activePods('big')).length === 30 && (await h.get<ReplicaSet>(RS, 'big')).status?.readyReplicas === 30);
      await h.sim.runFor(2_000);
      const events = await h.list<Event>(EVENT);
      // client-go's correlator: 9 events, then one combined event counted up by patches until the
      // spam filter's 25 events about the ReplicaSet are spent; the last 5 are dropped.
      const created = events.filter((e) => e.reason === 'SuccessfulCreate');
      const combined = created.filter((e) => e.message?.startsWith('(combined from similar events): Created pod: big-'));
      assert.equal(created.length, 10);
      assert.equal(combined.length, 1);
      assert.equal(combined[0]!.count, 16);
      assert.equal(created.reduce((n, e) => n + (e.count ?? 1), 0), 25);
      assert.equal(events.filter((e) => e.reason === 'SuccessfulDelete').length, 0);
      assert.ok(Math.max(...(await h.states()).map((s) => s.total)) <= 30, 'never more than 30 pods existed');
    } finally {
      await h.sim.shutdown();
    }
  });

  test('a rollout that makes no progress for progressDeadlineSeconds is marked ProgressDeadlineExceeded', async () => {
    const h = await cluster(112, { readyDelayMs: 0 });
    try {
      await h.create(DEPLOY, deployment('web', 2, 'nginx:1.26', { progressDeadlineSeconds: 5 }));
      await h.until('deadline exceeded', async () => {
        const d = await h.get<Deployment>(DEPLOY, 'web');
        const c = d.status?.conditions?.find((x) => x.type === 'Progressing');
        return c?.status === 'False' && c.reason === 'ProgressDeadlineExceeded';
      }, 20_000);
      const d = await h.get<Deployment>(DEPLOY, 'web');
      assert.match(d.status?.conditions?.find((x) => x.type === 'Progressing')?.message ?? '', /^ReplicaSet "web-[a-z0-9]+" has timed out progressing\.$/);
      assert.equal(d.status?.conditions?.find((x) => x.type === 'Available')?.reason, 'MinimumReplicasUnavailable');
    } finally {
      await h.sim.shutdown();
    }
  });

  test('a controller-manager that takes over lists in slices (one job of the API server\'s thread per slice, not one for 600 pods)', async () => {
    const h = await cluster(108);
    try {
      const pods = CONTROL_PLANE_LIST_SLICE_ITEMS + 100;
      for (let i = 0; i < pods; i++) await h.create<Pod>(POD, { metadata: { name: `bare-${i}`, namespace: NS }, spec: { containers: [{ name: 'main', image: 'nginx:1.26' }] } });
      await h.until('a leader', async () => (await h.records()).some((r) => r.what === 'started'));
      const leader = (await h.records()).find((r) => r.what === 'started')!.actor;
      const killedAtMs = h.sim.now();
      await h.sim.faults.kill(leader);
      await h.until('a new term', async () => (await h.records()).some((r) => r.what === 'started' && r.atMs > killedAtMs), 60_000);
      const newLeader = (await h.records()).find((r) => r.what === 'started' && r.atMs > killedAtMs)!.actor;
      await h.until('its informers listed', async () => {
        const status = await h.sim.settle(h.sim.ref<ControllerManagerMsg>(newLeader).ask<ControllerManagerStatus>({ type: 'cm.status', body: { writes: false } }));
        return status.listsSliced > 0;
      }, 20_000);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('leader failover in the middle of a rollout of 20: the standby takes over within leaseDuration + jittered retryPeriod, the rollout completes, never more than replicas + maxSurge pods, and the two never act at once', async () => {
    const h = await cluster(106);
    try {
      await h.create(DEPLOY, deployment('web', 20, 'nginx:1.26'));
      await h.until('first rollout', () => h.rolledOut('web', 'nginx:1.26', 20));
      const records = await h.records();
      const leader = records.find((r) => r.what === 'started')!.actor;
      const standby = leader === 'controller-manager-0' ? 'controller-manager-1' : 'controller-manager-0';
      const before = (await h.states()).length;
      await h.patch(DEPLOY, 'web', { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } });
      await h.until('rollout under way', async () => (await h.activePods()).some((p) => p.spec?.containers[0]?.image === 'nginx:1.27'));
      const killedAtMs = h.sim.now();
      await h.sim.faults.kill(leader);
      await h.until('rollout finishes under the new leader', () => h.rolledOut('web', 'nginx:1.27', 20), 60_000);
      const all = await h.records();
      // The killed replica restarts with a new identity and campaigns too: either may win, after the lease expires.
      const takeover = all.find((r) => r.what === 'started' && r.atMs > killedAtMs);
      assert.ok(takeover !== undefined, 'a replica took over');
      assert.ok(all.some((r) => r.what === 'write' && r.atMs > takeover.atMs && (r.actor === standby || r.actor === leader)));
      const boundMs = TIMING.leaseDurationMs + (1 + LEADER_ELECTION_JITTER_FACTOR) * TIMING.retryPeriodMs;
      assert.ok(takeover.atMs - killedAtMs <= boundMs, `took over after ${takeover.atMs - killedAtMs} ms (bound ${boundMs} ms)`);
      assertNoOverlap(all);
      // 25 % of 20: maxSurge 5, maxUnavailable 5.
      const during = (await h.states()).slice(before);
      for (const s of during) {
        assert.ok(s.total <= 25, `more than replicas + maxSurge pods: ${JSON.stringify(s)}`);
        assert.ok(s.ready >= 15, `fewer than replicas - maxUnavailable ready: ${JSON.stringify(s)}`);
      }
    } finally {
      await h.sim.shutdown();
    }
  });

  test('a leader cut off from the apiserver stops writing before the standby starts (no overlap), and the standby finishes the work', async () => {
    const h = await cluster(107);
    try {
      await h.create(DEPLOY, deployment('web', 3, 'nginx:1.26'));
      await h.until('first rollout', () => h.rolledOut('web', 'nginx:1.26', 3));
      const leader = (await h.records()).find((r) => r.what === 'started')!.actor;
      await h.sim.faults.partition([leader], ['apiserver']);
      await h.patch(DEPLOY, 'web', { spec: { replicas: 5 } });
      await h.until('scaled by the standby', async () => (await h.activePods()).length === 5, 60_000);
      const all = await h.records();
      assert.ok(all.some((r) => r.what === 'stopped' && r.actor === leader), 'the cut-off leader stepped down on its own');
      assertNoOverlap(all);
    } finally {
      await h.sim.shutdown();
    }
  });
});


describe('the checks of these tests bite', () => {
  test('assertNoOverlap rejects a write by one replica inside the other replica\'s term', () => {
    const at = (identity: string, atMs: number, what: 'started' | 'write') => ({ component: 'kube-controller-manager', actor: identity, identity, atMs, what });
    const records = [at('a', 0, 'started'), at('a', 10, 'write'), at('b', 20, 'started'), at('a', 25, 'write'), at('b', 30, 'write')];
    assert.throws(() => assertNoOverlap(records), /a wrote at 25 ms while b was acting as leader/);
    assert.doesNotThrow(() => assertNoOverlap(records.filter((r) => r.atMs !== 25)));
  });

  test('the per-state observer sees a surge: with maxSurge 2 some observed state exceeds replicas + 1', async () => {
    const h = await cluster(108);
    try {
      await h.create(DEPLOY, deployment('web', 2, 'nginx:1.26', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } }));
      await h.until('first rollout', () => h.rolledOut('web', 'nginx:1.26', 2));
      await h.patch(DEPLOY, 'web', { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } });
      await h.until('second rollout', () => h.rolledOut('web', 'nginx:1.27', 2));
      const states = await h.states();
      assert.ok(states.some((s) => s.total > 3), 'a check with bound replicas + 1 would have failed');
      assert.ok(states.every((s) => s.total <= 4), 'and the configured bound held');
    } finally {
      await h.sim.shutdown();
    }
  });
});

describe('EndpointSliceMirroring: a selectorless Service\'s Endpoints reach kube-proxy as slices', () => {
  test('each subset mirrored, ready and not-ready addresses, at most 100 endpoints a slice, labelled as Kubernetes labels them', () => {
    const service = { metadata: { name: 'db', namespace: 'default', uid: 'u1' }, spec: { ports: [{ port: 5432 }] } } as Service;
    const addresses = Array.from({ length: 150 }, (_, i) => ({ ip: `10.0.0.${i}`, nodeName: 'node-0' }));
    const endpoints = { metadata: { name: 'db', namespace: 'default' }, subsets: [{ addresses, notReadyAddresses: [{ ip: '10.0.1.1' }], ports: [{ port: 5432, protocol: 'TCP' }] }] } as Endpoints;
    const slices = mirroredSlices(service, endpoints);
    assert.deepEqual(slices.map((s) => s.endpoints?.length), [100, 51]);
    assert.deepEqual(slices.map((s) => s.metadata.labels), Array(2).fill({ 'kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': MIRRORED_BY }));
    assert.equal(slices[1]!.endpoints!.at(-1)!.conditions?.ready, false);
    assert.equal(slices[0]!.endpoints![0]!.nodeName, 'node-0');
    assert.deepEqual(slices[0]!.ports, [{ name: '', port: 5432, protocol: 'TCP' }]);
    assert.deepEqual(mirroredSlices(service, undefined), [], 'no Endpoints, no slices');
  });
});
