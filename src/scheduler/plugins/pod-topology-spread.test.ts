import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Node, Pod } from '../../api/types/index.js';
import { CycleState, type NodeScore } from '../framework.js';
import { buildProfile } from '../profile.js';
import { scheduleOne } from '../schedule-one.js';
import { makeNode, makePod } from '../testing.js';
import { buildSnapshot, type TopologySpreadConstraint } from '../types.js';
import { podTopologySpread } from './pod-topology-spread.js';

const ZONE = 'topology.kubernetes.io/zone';
const web = { matchLabels: { app: 'web' } };

function zoneNode(name: string, zone: string, labels: Record<string, string> = {}): Node {
  return makeNode(name, { labels: { [ZONE]: zone, ...labels } });
}

function spread(constraint: Partial<TopologySpreadConstraint>): TopologySpreadConstraint[] {
  return [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: web, ...constraint }];
}

const webPod = (name: string, nodeName?: string, extra: Parameters<typeof makePod>[1] = {}) => makePod(name, { labels: { app: 'web' }, ...(nodeName ? { nodeName } : {}), ...extra });

/** The nodes the Filter admits, by name. */
function admitted(pod: Pod, nodes: Node[], pods: Pod[]): string[] {
  const snapshot = buildSnapshot(nodes, pods);
  const state = new CycleState();
  const pre = podTopologySpread.preFilter(state, pod, snapshot);
  assert.equal(pre, null, JSON.stringify(pre));
  return snapshot.nodes.filter((n) => podTopologySpread.filter(state, pod, n) === null).map((n) => n.name);
}

/** Normalized scores of PodTopologySpread alone, by node name. */
function scores(pod: Pod, nodes: Node[], pods: Pod[]): Record<string, number> {
  const snapshot = buildSnapshot(nodes, pods);
  const state = new CycleState();
  podTopologySpread.preFilter(state, pod, snapshot);
  podTopologySpread.preScore(state, pod, snapshot.nodes);
  const list: NodeScore[] = snapshot.nodes.map((n) => ({ name: n.name, score: podTopologySpread.score(state, pod, n) }));
  podTopologySpread.normalizeScore!(state, pod, list);
  return Object.fromEntries(list.map((s) => [s.name, s.score]));
}

describe('PodTopologySpread: DoNotSchedule', () => {
  const nodes = [zoneNode('a1', 'a'), zoneNode('a2', 'a'), zoneNode('b1', 'b'), zoneNode('c1', 'c')];

  test('maxSkew 1 over zones: only the least populated zone takes the next pod', () => {
    const pods = [webPod('w1', 'a1'), webPod('w2', 'a2'), webPod('w3', 'b1')];
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({}) }), nodes, pods), ['c1']);
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({ maxSkew: 2 }) }), nodes, pods), ['b1', 'c1']);
  });

  test('the rejection is worded as Kubernetes words it, and a node without the key is rejected for good', () => {
    const pods = [webPod('w1', 'a1'), webPod('w2', 'b1')];
    const unlabelled = makeNode('bare');
    // minDomains 3 over two zones: the minimum counts as 0, so both zones (one pod each) are at skew 2.
    const result = scheduleOne(webPod('new', undefined, { topologySpreadConstraints: spread({ minDomains: 3 }) }), buildSnapshot([nodes[0]!, nodes[2]!, unlabelled], pods), buildProfile({ disabled: ['DefaultPreemption'] }), { random: () => 0 });
    assert.equal(result.kind, 'unschedulable');
    assert.equal((result as { message: string }).message,
      "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), 2 node(s) didn't match pod topology spread constraints.");
  });

  test('pods of other namespaces, terminating pods and unselected pods are not counted', () => {
    const pods = [
      webPod('other-ns', 'a1', { namespace: 'elsewhere' }), webPod('leaving', 'a2', { terminating: true }), makePod('db', { labels: { app: 'db' }, nodeName: 'b1' }),
    ];
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({}) }), nodes, pods), ['a1', 'a2', 'b1', 'c1']);
  });

  test('minDomains: with fewer domains than asked, the global minimum counts as 0', () => {
    const two = [zoneNode('a1', 'a'), zoneNode('b1', 'b')];
    const pods = [webPod('w1', 'a1'), webPod('w2', 'b1')];
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({}) }), two, pods), ['a1', 'b1']);
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({ minDomains: 3 }) }), two, pods), []);
  });

  test('nodeAffinityPolicy Honor (the default): zones the pod may not go to do not hold the minimum down', () => {
    const labelled = [zoneNode('a1', 'a', { pool: 'x' }), zoneNode('b1', 'b', { pool: 'x' }), zoneNode('c1', 'c', { pool: 'y' })];
    const pods = [webPod('w1', 'a1'), webPod('w2', 'b1')];
    const honor = webPod('new', undefined, { nodeSelector: { pool: 'x' }, topologySpreadConstraints: spread({}) });
    // (c1 passes this filter either way: keeping the pod off it is NodeAffinity's job.)
    assert.deepEqual(admitted(honor, labelled, pods), ['a1', 'b1', 'c1'], 'zone c is not counted: the minimum is 1, so zones a and b may take one more');
    const ignore = webPod('new', undefined, { nodeSelector: { pool: 'x' }, topologySpreadConstraints: spread({ nodeAffinityPolicy: 'Ignore' }) });
    assert.deepEqual(admitted(ignore, labelled, pods), ['c1'], 'zone c counts with 0: a and b would be at skew 2');
  });

  test('nodeTaintsPolicy Honor: a zone made only of nodes the pod does not tolerate does not count', () => {
    const tainted = [zoneNode('a1', 'a'), zoneNode('b1', 'b'), makeNode('c1', { labels: { [ZONE]: 'c' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })];
    const pods = [webPod('w1', 'a1')];
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({}) }), tainted, [...pods, webPod('w2', 'b1')]), ['c1'], 'default Ignore: the tainted zone c is the minimum');
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({ nodeTaintsPolicy: 'Honor' }) }), tainted, [...pods, webPod('w2', 'b1')]), ['a1', 'b1', 'c1']);
  });

  test('a selector that does not parse makes the pod unschedulable with a clear reason, never a crash', () => {
    const bad = spread({ labelSelector: { matchExpressions: [{ key: 'app', operator: 'Near' as 'In', values: ['web'] }] } });
    const result = scheduleOne(webPod('odd', undefined, { topologySpreadConstraints: bad }), buildSnapshot(nodes, []), buildProfile(), { random: () => 0 });
    assert.equal(result.kind, 'unschedulable');
    assert.match((result as { message: string }).message, /^0\/4 nodes are available: invalid topology spread constraint: "Near" is not a valid label selector operator\.$/);
  });

  test('a constraint without labelSelector selects nothing, so it never rejects', () => {
    const pods = [webPod('w1', 'a1'), webPod('w2', 'a2')];
    assert.deepEqual(admitted(webPod('new', undefined, { topologySpreadConstraints: spread({ labelSelector: undefined }) }), nodes, pods), ['a1', 'a2', 'b1', 'c1']);
  });
});

describe('PodTopologySpread: ScheduleAnyway', () => {
  test('fewer matching pods in the zone scores higher, scaled as Kubernetes does', () => {
    const nodes = [zoneNode('a1', 'a'), zoneNode('b1', 'b'), zoneNode('c1', 'c')];
    const pods = [webPod('w1', 'a1'), webPod('w2', 'a1'), webPod('w3', 'b1')];
    const pod = webPod('new', undefined, { topologySpreadConstraints: spread({ whenUnsatisfiable: 'ScheduleAnyway' }) });
    // weight ln(3 zones + 2) = 1.609; raw: a 2 x 1.609 = 3.22 -> 3, b 1.609 -> 2, c 0; normalized 100 x (3 + 0 - s) / 3.
    assert.deepEqual(scores(pod, nodes, pods), { a1: 0, b1: 33, c1: 100 });
  });

  test('the whole scheduler follows it, and nodes lacking the key score 0', () => {
    const nodes = [zoneNode('a1', 'a'), zoneNode('b1', 'b'), makeNode('bare')];
    const pods = [webPod('w1', 'a1')];
    const pod = webPod('new', undefined, { topologySpreadConstraints: spread({ whenUnsatisfiable: 'ScheduleAnyway' }) });
    assert.deepEqual(scores(pod, nodes, pods), { a1: 0, b1: 100, bare: 0 });
    const result = scheduleOne(pod, buildSnapshot(nodes, pods), buildProfile(), { random: () => 0 });
    assert.deepEqual(result.kind === 'scheduled' ? result.nodeName : result, 'b1');
  });

  test('by hostname: per-node counts', () => {
    const nodes = [makeNode('n1'), makeNode('n2')];
    const pods = [webPod('w1', 'n1')];
    const pod = webPod('new', undefined, { topologySpreadConstraints: spread({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }) });
    assert.deepEqual(scores(pod, nodes, pods), { n1: 0, n2: 100 });
  });
});
