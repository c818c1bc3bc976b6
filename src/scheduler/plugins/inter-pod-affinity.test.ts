import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Node, Pod } from '../../api/types/index.js';
import { CycleState, isSkip, isSuccess, type NodeScore } from '../framework.js';
import { buildProfile } from '../profile.js';
import { scheduleOne } from '../schedule-one.js';
import { makeNode, makePod } from '../testing.js';
import { buildSnapshot, type Affinity } from '../types.js';
import { interPodAffinity } from './inter-pod-affinity.js';

const ZONE = 'topology.kubernetes.io/zone';
const nodes = [
  makeNode('a1', { labels: { [ZONE]: 'a' } }), makeNode('a2', { labels: { [ZONE]: 'a' } }),
  makeNode('b1', { labels: { [ZONE]: 'b' } }), makeNode('c1', { labels: { [ZONE]: 'c' } }),
];

function term(app: string, weight: number) {
  return { weight, podAffinityTerm: { labelSelector: { matchLabels: { app } }, topologyKey: ZONE } };
}

/** Normalized InterPodAffinity scores alone, by node; a PreScore Skip leaves the plugin out, which is every node 0. */
function scores(pod: Pod, nodeList: Node[], pods: Pod[]): Record<string, number> {
  const snapshot = buildSnapshot(nodeList, pods);
  const state = new CycleState();
  const preFilter = interPodAffinity.preFilter(state, pod, snapshot);
  assert.ok(isSuccess(preFilter) || isSkip(preFilter), 'PreFilter lets the pod through');
  if (isSkip(interPodAffinity.preScore(state, pod, snapshot.nodes))) return Object.fromEntries(snapshot.nodes.map((n) => [n.name, 0]));
  const list: NodeScore[] = snapshot.nodes.map((n) => ({ name: n.name, score: interPodAffinity.score(state, pod, n) }));
  interPodAffinity.normalizeScore!(state, pod, list);
  return Object.fromEntries(list.map((s) => [s.name, s.score]));
}

describe('InterPodAffinity: preferred terms scoring', () => {
  const cache = makePod('cache', { labels: { app: 'cache' }, nodeName: 'a1' });
  const db = makePod('db', { labels: { app: 'db' }, nodeName: 'b1' });

  test('preferred affinity: every node in the zone of a matching pod scores 100', () => {
    const pod = makePod('web', { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term('cache', 10)] } } });
    assert.deepEqual(scores(pod, nodes, [cache, db]), { a1: 100, a2: 100, b1: 0, c1: 0 });
  });

  test('weights add up and anti-affinity subtracts, scaled min..max', () => {
    const affinity: Affinity = {
      podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term('cache', 10)] },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term('db', 5)] },
    };
    // a: +10, b: -5, c: 0 -> (s + 5) x 100 / 15.
    assert.deepEqual(scores(makePod('web', { affinity }), nodes, [cache, db]), { a1: 100, a2: 100, b1: 0, c1: 33 });
  });

  test('existing pods\' terms count too: their preferred anti-affinity pushes away, their required affinity pulls with weight 1', () => {
    const shy = makePod('shy', { labels: { app: 'shy' }, nodeName: 'c1', affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term('web', 7)] } } });
    assert.deepEqual(scores(makePod('web', { labels: { app: 'web' } }), nodes, [shy]), { a1: 100, a2: 100, b1: 100, c1: 0 });
    const clingy = makePod('clingy', {
      labels: { app: 'clingy' }, nodeName: 'b1',
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: ZONE }] } },
    });
    assert.deepEqual(scores(makePod('web', { labels: { app: 'web' } }), nodes, [clingy]), { a1: 0, a2: 0, b1: 100, c1: 0 });
  });

  test('no terms anywhere: no preference (every node 0)', () => {
    assert.deepEqual(scores(makePod('web'), nodes, [cache, db]), { a1: 0, a2: 0, b1: 0, c1: 0 });
  });

  test('the scheduler follows a preferred affinity over the emptier nodes', () => {
    const pod = makePod('web', { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [term('cache', 100)] } } });
    const busy = [cache, makePod('filler', { cpu: '2', nodeName: 'a2' })];
    for (let seed = 0; seed < 4; seed++) {
      const result = scheduleOne(pod, buildSnapshot(nodes, busy), buildProfile(), { random: () => seed / 4 });
      assert.deepEqual(result.kind === 'scheduled' ? result.nodeName : result, 'a1', 'zone a, and its emptier node');
    }
  });
});
