import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from './resources.js';
import { applyDefaults, prepareForCreate, sameSpec, specPart, validateObject, validateUpdate } from './strategy.js';
import type { KubeObject } from './types/index.js';

type Obj = KubeObject & Record<string, unknown>;
const STS = findResource('apps', 'v1', 'statefulsets')!;
const DS = findResource('apps', 'v1', 'daemonsets')!;
const REVISION = findResource('apps', 'v1', 'controllerrevisions')!;

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
const statefulSet = (spec: Record<string, unknown> = {}): Obj => ({ metadata: { name: 'web', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'web' } }, template: structuredClone(template), ...spec } });
const daemonSet = (spec: Record<string, unknown> = {}): Obj => ({ metadata: { name: 'agent', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'web' } }, template: structuredClone(template), ...spec } });
const fields = (obj: Obj, info = STS) => validateObject(info, obj).map((c) => `${c.field}: ${c.message}`);

describe('StatefulSet strategy', () => {
  test('defaults as Kubernetes 1.32: OrderedReady, RollingUpdate with partition 0, 10 revisions, Retain claims, 1 replica', () => {
    const obj = statefulSet({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }] });
    applyDefaults(STS, obj);
    const spec = obj.spec as Record<string, unknown>;
    assert.deepEqual(
      [spec.replicas, spec.podManagementPolicy, spec.updateStrategy, spec.revisionHistoryLimit, spec.persistentVolumeClaimRetentionPolicy],
      [1, 'OrderedReady', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, 10, { whenDeleted: 'Retain', whenScaled: 'Retain' }],
    );
    assert.deepEqual((spec.volumeClaimTemplates as Record<string, unknown>[])[0], { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' }, status: { phase: 'Pending' } });
    assert.equal(((spec.template as { spec: Record<string, unknown> }).spec).restartPolicy, 'Always');
    prepareForCreate(STS, obj);
    assert.deepEqual(obj.status, { replicas: 0, availableReplicas: 0 });
  });

  test('refuses what Kubernetes refuses, naming the field', () => {
    const bad = statefulSet({ replicas: -1, podManagementPolicy: 'Sometimes', updateStrategy: { type: 'Whenever' } });
    (bad.spec as { template: { spec: Record<string, unknown> } }).template.spec.restartPolicy = 'Never';
    assert.deepEqual(fields(bad), [
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
      'spec.podManagementPolicy: Unsupported value: "Sometimes": supported values: "OrderedReady", "Parallel"',
      'spec.updateStrategy.type: Unsupported value: "Whenever": supported values: "RollingUpdate", "OnDelete"',
    ]);
    assert.deepEqual(fields(statefulSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: -2 } } })), ['spec.updateStrategy.rollingUpdate.partition: Invalid value: -2: must be greater than or equal to 0']);
    assert.deepEqual(fields(statefulSet({ volumeClaimTemplates: [{ spec: {} }] })), ['spec.volumeClaimTemplates[0].metadata.name: Required value']);
    assert.deepEqual(fields(statefulSet({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep' } })), ['spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"']);
    assert.deepEqual(fields(statefulSet({ selector: { matchLabels: { app: 'other' } } })).map((f) => f.split(':')[0]), ['spec.template.metadata.labels']);
  });

  test('an update may change replicas, template, updateStrategy and the like, nothing else of the spec', () => {
    const prev = statefulSet({ serviceName: 'web', replicas: 1 });
    assert.deepEqual(validateUpdate(STS, statefulSet({ serviceName: 'web', replicas: 5, updateStrategy: { type: 'OnDelete' } }), prev), []);
    const causes = validateUpdate(STS, statefulSet({ serviceName: 'other', replicas: 1 }), prev);
    assert.equal(causes.length, 1);
    assert.equal(causes[0]!.field, 'spec');
    assert.match(causes[0]!.message ?? '', /^Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template'/);
  });
});

describe('DaemonSet strategy', () => {
  test('defaults as Kubernetes: RollingUpdate with maxUnavailable 1 and maxSurge 0, 10 revisions', () => {
    const obj = daemonSet();
    applyDefaults(DS, obj);
    const spec = obj.spec as Record<string, unknown>;
    assert.deepEqual([spec.updateStrategy, spec.revisionHistoryLimit, spec.replicas], [{ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, 10, undefined]);
    prepareForCreate(DS, obj);
    assert.deepEqual(obj.status, { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 });
  });

  test('maxUnavailable and maxSurge are ints or percentages, exactly one of them non-zero; the selector is immutable', () => {
    const at = (ru: Record<string, unknown>) => fields(daemonSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: ru } }), DS);
    assert.deepEqual(at({ maxUnavailable: '25%', maxSurge: 0 }), []);
    assert.deepEqual(at({ maxUnavailable: 0, maxSurge: 0 }), ['spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0']);
    assert.deepEqual(at({ maxUnavailable: 0, maxSurge: '10%' }), []);
    assert.deepEqual(at({ maxUnavailable: 1, maxSurge: 1 }), ['spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero']);
    assert.equal(at({ maxUnavailable: 'half' }).length, 1);
    assert.equal(at({ maxUnavailable: '150%' })[0], 'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%');
    const causes = validateUpdate(DS, daemonSet({ selector: { matchLabels: { app: 'x' } } }), daemonSet());
    assert.deepEqual(causes.map((c) => `${c.field}: ${c.message}`), ['spec.selector: field is immutable']);
  });
});

describe('ControllerRevision strategy', () => {
  test('revision is non-negative and data can never change', () => {
    const revision = (data: unknown, n: unknown): Obj => ({ metadata: { name: 'web-abc', namespace: 'default' }, data, revision: n });
    assert.deepEqual(fields(revision({ spec: {} }, 1), REVISION), []);
    assert.deepEqual(fields(revision({ spec: {} }, -1), REVISION), ['revision: Invalid value: -1: must be greater than or equal to 0']);
    assert.deepEqual(validateUpdate(REVISION, revision({ spec: { a: 1 } }, 1), revision({ spec: {} }, 1)).map((c) => c.field), ['data']);
    assert.deepEqual(validateUpdate(REVISION, revision({ spec: {} }, 4), revision({ spec: {} }, 1)), [], 'renumbering is how history records an undo');
  });
});

test('sameSpec answers what comparing the two objects\' specPart texts answers (generation moves on a spec change only)', () => {
  const pod = (): KubeObject & Record<string, unknown> => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', resourceVersion: '3' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] }, status: { phase: 'Pending' },
  });
  const changes: Array<(o: ReturnType<typeof pod>) => ReturnType<typeof pod>> = [
    (o) => o,
    (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '9', labels: { a: 'b' } } }),
    (o) => ({ ...o, status: { phase: 'Running' } }),
    (o) => ({ ...o, spec: { ...(o.spec as object), nodeName: 'n2' } }),
    (o) => ({ ...o, extra: undefined }),
    (o) => ({ ...o, extra: 1 }),
    (o) => ({ status: o.status, spec: o.spec, metadata: o.metadata, kind: o.kind, apiVersion: o.apiVersion }),
    (o) => ({ metadata: o.metadata, apiVersion: o.apiVersion, kind: o.kind, spec: o.spec, status: o.status }),
  ];
  let same = 0;
  for (const change of changes) {
    const expected = specPart(pod()) === specPart(change(pod()));
    if (expected) same++;
    assert.equal(sameSpec(pod(), change(pod())), expected);
    assert.equal(sameSpec(change(pod()), pod()), expected);
  }
  assert.ok(same >= 3 && same < changes.length, `${same} of ${changes.length} changes left the spec text the same`);
});
