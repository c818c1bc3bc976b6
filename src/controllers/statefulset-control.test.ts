import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, StatefulSet } from '../api/types/index.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './history.js';
import { STATEFULSET_BURST, ordinalOf, planStatefulSet, revisionForNewPod, statefulSetStatus, type StatefulSetAction } from './statefulset-control.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function set(replicas: number, extra: Partial<NonNullable<StatefulSet['spec']>> = {}): StatefulSet {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u1', generation: 2 },
    spec: {
      replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, ...extra,
    },
  };
}

type PodState = 'ready' | 'pending' | 'failed' | 'terminating';

function pod(ordinal: number, state: PodState = 'ready', revision = 'web-new'): Pod {
  const ready = state === 'ready';
  return {
    metadata: {
      name: `web-${ordinal}`, namespace: 'default', uid: `p${ordinal}`, labels: { app: 'web', [CONTROLLER_REVISION_HASH_LABEL]: revision },
      ...(state === 'terminating' ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
    status: {
      phase: state === 'failed' ? 'Failed' : state === 'pending' ? 'Pending' : 'Running',
      conditions: [{ type: 'Ready', status: ready || state === 'terminating' ? 'True' : 'False', lastTransitionTime: '2025-12-31T00:00:00Z' }],
    },
  };
}

const plan = (s: StatefulSet, pods: Pod[], current = 'web-new', update = 'web-new') => planStatefulSet({ set: s, pods, currentRevision: current, updateRevision: update, nowMs: NOW });
const describeActions = (actions: StatefulSetAction[]) => actions.map((a) => (a.type === 'create' ? `create ${a.ordinal} ${a.revision}` : `delete ${a.pod.metadata.name} ${a.why}`));

describe('StatefulSet decisions (OrderedReady)', () => {
  test('an empty set of 3 creates only ordinal 0 first', () => {
    assert.deepEqual(describeActions(plan(set(3), [])), ['create 0 update']);
  });

  test('the next ordinal waits until every lower one is Running and Ready', () => {
    assert.deepEqual(describeActions(plan(set(3), [pod(0, 'pending')])), []);
    assert.deepEqual(describeActions(plan(set(3), [pod(0)])), ['create 1 update']);
    assert.deepEqual(describeActions(plan(set(3), [pod(0), pod(1)])), ['create 2 update']);
  });

  test('a deleted member is recreated under its own ordinal, before anything above it', () => {
    assert.deepEqual(describeActions(plan(set(3), [pod(0), pod(2)])), ['create 1 update']);
  });

  test('scale down removes the highest ordinal first, one at a time, waiting for it to go', () => {
    assert.deepEqual(describeActions(plan(set(1), [pod(0), pod(1), pod(2)])), ['delete web-2 condemned']);
    assert.deepEqual(describeActions(plan(set(1), [pod(0), pod(1), pod(2, 'terminating')])), []);
    assert.deepEqual(describeActions(plan(set(1), [pod(0), pod(1)])), ['delete web-1 condemned']);
  });

  test('scale down waits while a remaining member is unhealthy', () => {
    assert.deepEqual(describeActions(plan(set(1), [pod(0, 'pending'), pod(1)])), []);
  });

  test('a failed member is deleted so it can be recreated under its name', () => {
    assert.deepEqual(describeActions(plan(set(2), [pod(0), pod(1, 'failed')])), ['delete web-1 failed']);
  });

  test('pods whose names are not ordinals of the set are ignored', () => {
    assert.equal(ordinalOf('web', pod(3)), 3);
    assert.equal(ordinalOf('web', { metadata: { name: 'web-01' } }), undefined);
    assert.equal(ordinalOf('web', { metadata: { name: 'webx-1' } }), undefined);
    assert.equal(ordinalOf('web', { metadata: { name: 'web-a' } }), undefined);
  });

  test('ordinals.start shifts the names', () => {
    assert.deepEqual(describeActions(plan(set(2, { ordinals: { start: 5 } }), [pod(5)])), ['create 6 update']);
    assert.deepEqual(describeActions(plan(set(1, { ordinals: { start: 5 } }), [pod(5), pod(6)])), ['delete web-6 condemned']);
  });
});

describe('StatefulSet decisions (Parallel)', () => {
  test('every missing pod is created at once, without waiting for readiness', () => {
    assert.deepEqual(describeActions(plan(set(3, { podManagementPolicy: 'Parallel' }), [pod(0, 'pending')])), ['create 1 update', 'create 2 update']);
  });

  test('a huge replica count creates at most a burst per sync, without walking every ordinal', () => {
    const actions = plan(set(2_000_000_000, { podManagementPolicy: 'Parallel' }), [pod(0)]);
    assert.equal(actions.length, STATEFULSET_BURST);
    assert.deepEqual(describeActions(actions.slice(0, 2)), ['create 1 update', 'create 2 update']);
    assert.deepEqual(describeActions(plan(set(2_000_000_000), [pod(0)])), ['create 1 update']);
  });

  test('every condemned pod is deleted at once', () => {
    assert.deepEqual(describeActions(plan(set(1, { podManagementPolicy: 'Parallel' }), [pod(0), pod(1), pod(2)])), ['delete web-2 condemned', 'delete web-1 condemned']);
  });
});

describe('StatefulSet rolling update', () => {
  const old = (n: number, state: PodState = 'ready') => pod(n, state, 'web-old');

  test('the highest ordinal not at the update revision goes first, one at a time', () => {
    assert.deepEqual(describeActions(plan(set(3), [old(0), old(1), old(2)], 'web-old')), ['delete web-2 update']);
    assert.deepEqual(describeActions(plan(set(3), [old(0), old(1), old(2, 'terminating')], 'web-old')), []);
  });

  test('the next one waits until the updated pod is Running and Ready', () => {
    assert.deepEqual(describeActions(plan(set(3), [old(0), old(1), pod(2, 'pending')], 'web-old')), []);
    assert.deepEqual(describeActions(plan(set(3), [old(0), old(1), pod(2)], 'web-old')), ['delete web-1 update']);
  });

  test('ordinals below the partition are never touched, and recreated from the current revision', () => {
    const partitioned = set(3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    assert.deepEqual(describeActions(plan(partitioned, [old(0), old(1), pod(2)], 'web-old')), []);
    assert.equal(revisionForNewPod(partitioned, 1), 'current');
    assert.equal(revisionForNewPod(partitioned, 2), 'update');
    assert.deepEqual(describeActions(plan(partitioned, [old(0), pod(2)], 'web-old')), ['create 1 current']);
  });

  test('OnDelete replaces nothing by itself', () => {
    assert.deepEqual(describeActions(plan(set(2, { updateStrategy: { type: 'OnDelete' } }), [old(0), old(1)], 'web-old')), []);
    assert.equal(revisionForNewPod(set(2, { updateStrategy: { type: 'OnDelete' } }), 0), 'update');
  });
});

describe('StatefulSet status', () => {
  test('counts by readiness and revision; a finished rolling update makes the update revision current', () => {
    const s = set(3);
    const midway = statefulSetStatus({ set: s, pods: [pod(0, 'ready', 'web-old'), pod(1, 'pending'), pod(2)], currentRevision: 'web-old', updateRevision: 'web-new', nowMs: NOW }, undefined);
    assert.deepEqual(
      [midway.replicas, midway.readyReplicas, midway.availableReplicas, midway.currentReplicas, midway.updatedReplicas, midway.currentRevision, midway.updateRevision, midway.observedGeneration],
      [3, 2, 2, 1, 2, 'web-old', 'web-new', 2],
    );
    const done = statefulSetStatus({ set: s, pods: [pod(0), pod(1), pod(2)], currentRevision: 'web-old', updateRevision: 'web-new', nowMs: NOW }, undefined);
    assert.deepEqual([done.currentReplicas, done.updatedReplicas, done.currentRevision], [3, 3, 'web-new']);
  });
});
