import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonSet, Node, Pod, Taint } from '../api/types/index.js';
import { daemonSetStatus, newDaemonPod, nodeShouldRunDaemonPod, planDaemonSet, scaledValue, targetNodeName } from './daemonset-util.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './history.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function ds(extra: Partial<NonNullable<DaemonSet['spec']>> = {}, templateSpec: Partial<NonNullable<DaemonSet['spec']>['template']['spec']> = {}): DaemonSet {
  return {
    metadata: { name: 'agent', namespace: 'default', uid: 'd1', generation: 1 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent:1' }], ...templateSpec } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      ...extra,
    },
  };
}

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node {
  return { metadata: { name, labels }, spec: { taints } };
}

function daemonPod(d: DaemonSet, nodeName: string, hash: string, ready = true, created = '2025-12-31T00:00:00Z'): Pod {
  const p = newDaemonPod(d, nodeName, hash);
  p.metadata.name = `agent-${nodeName}-${hash}`;
  p.metadata.creationTimestamp = created;
  p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2025-12-31T00:00:00Z' }] };
  return p;
}

describe('DaemonSet eligibility', () => {
  test('nodeSelector and required node affinity pick the nodes', () => {
    const d = ds({}, { nodeSelector: { disk: 'ssd' } });
    assert.equal(nodeShouldRunDaemonPod(node('a', { disk: 'ssd' }), d).shouldRun, true);
    assert.deepEqual(nodeShouldRunDaemonPod(node('b', { disk: 'hdd' }), d), { shouldRun: false, shouldContinueRunning: false });
    const affine = ds({}, { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }] } } } });
    assert.equal(nodeShouldRunDaemonPod(node('a', { zone: 'z1' }), affine).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('b', { zone: 'z2' }), affine).shouldRun, false);
  });

  test('an untolerated NoSchedule taint keeps new pods off but lets a running one stay; NoExecute sends it away', () => {
    const d = ds();
    assert.deepEqual(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), d), { shouldRun: false, shouldContinueRunning: true });
    assert.deepEqual(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }]), d), { shouldRun: false, shouldContinueRunning: false });
    const tolerant = ds({}, { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] });
    assert.equal(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), tolerant).shouldRun, true);
  });

  test('the default daemon tolerations: cordoned, not-ready and unreachable (NoExecute) nodes still run the daemon', () => {
    const d = ds();
    assert.equal(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), d).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]), d).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]), d).shouldRun, true);
    // As in Kubernetes, the NoSchedule form of unreachable is not tolerated: no new daemon lands on a lost node, the old one stays.
    assert.deepEqual(nodeShouldRunDaemonPod(node('a', {}, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]), d), { shouldRun: false, shouldContinueRunning: true });
  });

  test('a pod whose affinity is malformed names no node instead of failing the sync', () => {
    const odd = (affinity: unknown): Pod => ({ metadata: { name: 'x' }, spec: { containers: [], affinity: affinity as Record<string, unknown> } });
    assert.equal(targetNodeName(odd({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: 'node-1' } } })), undefined);
    assert.equal(targetNodeName(odd({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [null, { matchFields: 'x' }] } } })), undefined);
  });

  test('a daemon pod is pinned to its node by node affinity on metadata.name, with the default tolerations added', () => {
    const p = newDaemonPod(ds({}, { tolerations: [{ key: 'x', operator: 'Exists' }] }), 'node-1', 'h1');
    assert.equal(targetNodeName(p), 'node-1');
    assert.equal(p.spec?.nodeName, undefined, 'the scheduler binds it');
    assert.equal(p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], 'h1');
    assert.ok(p.spec?.tolerations?.some((t) => t.key === 'x'));
    assert.ok(p.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'));
    assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'DaemonSet');
  });
});

describe('DaemonSet plan', () => {
  test('one pod per eligible node; a new node gets one; a removed node\'s pod goes', () => {
    const d = ds();
    const nodes = [node('a'), node('b'), node('c')];
    assert.deepEqual(planDaemonSet({ ds: d, nodes, podsByNode: new Map(), hash: 'h1', nowMs: NOW }).create, ['a', 'b', 'c']);
    const podsByNode = new Map([['a', [daemonPod(d, 'a', 'h1')]], ['b', [daemonPod(d, 'b', 'h1')]], ['gone', [daemonPod(d, 'gone', 'h1')]]]);
    const plan = planDaemonSet({ ds: d, nodes, podsByNode, hash: 'h1', nowMs: NOW });
    assert.deepEqual(plan.create, ['c']);
    assert.deepEqual(plan.delete.map((p) => targetNodeName(p)), ['gone']);
  });

  test('a node whose pod is terminating waits for it to go before getting a new one', () => {
    const d = ds();
    const terminating = daemonPod(d, 'a', 'h0');
    terminating.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    assert.deepEqual(planDaemonSet({ ds: d, nodes: [node('a')], podsByNode: new Map([['a', [terminating]]]), hash: 'h1', nowMs: NOW }), { create: [], delete: [] });
  });

  test('duplicates on a node: the oldest is kept', () => {
    const d = ds();
    const older = daemonPod(d, 'a', 'h1', true, '2025-12-30T00:00:00Z');
    const newer = daemonPod(d, 'a', 'h1', true, '2025-12-31T00:00:00Z');
    assert.deepEqual(planDaemonSet({ ds: d, nodes: [node('a')], podsByNode: new Map([['a', [newer, older]]]), hash: 'h1', nowMs: NOW }).delete, [newer]);
  });

  test('rolling update with maxUnavailable 1 replaces one node at a time, and none while a node is unavailable', () => {
    const d = ds();
    const nodes = [node('a'), node('b'), node('c')];
    const old = new Map(nodes.map((n) => [n.metadata.name!, [daemonPod(d, n.metadata.name!, 'h0')]]));
    assert.equal(planDaemonSet({ ds: d, nodes, podsByNode: old, hash: 'h1', nowMs: NOW }).delete.length, 1);
    const midway = new Map(old);
    midway.set('a', [daemonPod(d, 'a', 'h1', false)]);
    assert.deepEqual(planDaemonSet({ ds: d, nodes, podsByNode: midway, hash: 'h1', nowMs: NOW }).delete, [], 'the new pod on a is not available yet');
    midway.set('a', [daemonPod(d, 'a', 'h1', true)]);
    assert.equal(planDaemonSet({ ds: d, nodes, podsByNode: midway, hash: 'h1', nowMs: NOW }).delete.length, 1);
  });

  test('maxUnavailable as a percentage rounds up; an unavailable old pod is replaced at once and uses up the budget', () => {
    assert.equal(scaledValue('50%', 3, 1), 2);
    assert.equal(scaledValue(undefined, 3, 1), 1);
    const d = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } } });
    const nodes = [node('a'), node('b'), node('c')];
    const old = new Map(nodes.map((n) => [n.metadata.name!, [daemonPod(d, n.metadata.name!, 'h0')]]));
    assert.equal(planDaemonSet({ ds: d, nodes, podsByNode: old, hash: 'h1', nowMs: NOW }).delete.length, 2);
    const broken = new Map(old);
    broken.set('c', [daemonPod(d, 'c', 'h0', false)]);
    const one = ds();
    assert.deepEqual(planDaemonSet({ ds: one, nodes, podsByNode: broken, hash: 'h1', nowMs: NOW }).delete.map((p) => targetNodeName(p)), ['c'], 'the unavailable node uses up maxUnavailable 1');
  });

  test('maxSurge: the new pod starts beside the old one on at most maxSurge nodes; the old one goes once the new one is available', () => {
    const d = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
    const nodes = [node('a'), node('b'), node('c')];
    const old = new Map(nodes.map((n) => [n.metadata.name!, [daemonPod(d, n.metadata.name!, 'h0')]]));
    assert.deepEqual(planDaemonSet({ ds: d, nodes, podsByNode: old, hash: 'h1', nowMs: NOW }), { create: ['a'], delete: [] });
    const surging = new Map(old);
    surging.set('a', [daemonPod(d, 'a', 'h0'), daemonPod(d, 'a', 'h1', false, '2025-12-31T00:01:00Z')]);
    assert.deepEqual(planDaemonSet({ ds: d, nodes, podsByNode: surging, hash: 'h1', nowMs: NOW }), { create: [], delete: [] }, 'waits while the new pod is not available');
    const ready = daemonPod(d, 'a', 'h1', true, '2025-12-31T00:01:00Z');
    surging.set('a', [old.get('a')![0]!, ready]);
    const plan = planDaemonSet({ ds: d, nodes, podsByNode: surging, hash: 'h1', nowMs: NOW });
    assert.deepEqual(plan.delete.map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]), ['h0'], 'the old pod on a goes');
    assert.deepEqual(plan.create, []);
  });

  test('OnDelete leaves old pods alone', () => {
    const d = ds({ updateStrategy: { type: 'OnDelete' } });
    const old = new Map([['a', [daemonPod(d, 'a', 'h0')]]]);
    assert.deepEqual(planDaemonSet({ ds: d, nodes: [node('a')], podsByNode: old, hash: 'h1', nowMs: NOW }), { create: [], delete: [] });
  });
});

describe('DaemonSet status', () => {
  test('desired, current, ready, up-to-date, available and misscheduled as Kubernetes counts them', () => {
    const d = ds({}, { nodeSelector: { role: 'worker' } });
    const nodes = [node('a', { role: 'worker' }), node('b', { role: 'worker' }), node('c', { role: 'worker' }), node('m')];
    const podsByNode = new Map([
      ['a', [daemonPod(d, 'a', 'h1')]],
      ['b', [daemonPod(d, 'b', 'h0', false)]],
      ['m', [daemonPod(d, 'm', 'h1')]],
    ]);
    const s = daemonSetStatus({ ds: d, nodes, podsByNode, hash: 'h1', nowMs: NOW });
    assert.deepEqual(
      [s.desiredNumberScheduled, s.currentNumberScheduled, s.numberReady, s.updatedNumberScheduled, s.numberAvailable, s.numberUnavailable, s.numberMisscheduled, s.observedGeneration],
      [3, 2, 1, 1, 1, 2, 1, 1],
    );
  });
});
