import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../api/types/index.js';
import { VirtualClock } from '../client/clock.js';
import { buildFramework, CycleState, isSkip, skip, type ScorePlugin } from './framework.js';
import { buildProfile } from './profile.js';
import { nodeResourcesFit } from './plugins/node-resources.js';
import { fitErrorMessage, numFeasibleNodesToFind, scheduledMessage, scheduleOne, scoreNodes, type ScheduleResult } from './schedule-one.js';
import { taintToleration } from './plugins/taint-toleration.js';
import { makeNode, makePod } from './testing.js';
import { buildSnapshot, podRequests } from './types.js';
import type { Node } from '../api/types/index.js';

/** These tests pin what the filters say; what preemption appends is pinned once below and in default-preemption.test.ts. */
const WITHOUT_PREEMPTION = buildProfile({ disabled: ['DefaultPreemption'] });

function schedule(pod: Pod, nodes: Node[], pods: Pod[] = [], profile = WITHOUT_PREEMPTION, seed = 1): ScheduleResult {
  const clock = new VirtualClock(0, seed);
  return scheduleOne(pod, buildSnapshot(nodes, pods), profile, { random: () => clock.random() });
}

function nodeOf(result: ScheduleResult): string {
  assert.equal(result.kind, 'scheduled', JSON.stringify(result));
  return (result as { nodeName: string }).nodeName;
}

function failure(result: ScheduleResult): string {
  assert.equal(result.kind, 'unschedulable', JSON.stringify(result));
  return (result as { message: string }).message;
}

describe('scheduleOne: the architecture example', () => {
  test('three nodes at 80 %, 20 % and 40 % of capacity: a new pod goes to the one at 20 %', () => {
    const nodes = ['node-1', 'node-2', 'node-3'].map((n) => makeNode(n, { cpu: '10', memory: '10Gi' }));
    const existing = [
      makePod('a', { cpu: '8', memory: '8Gi', nodeName: 'node-1' }),
      makePod('b', { cpu: '2', memory: '2Gi', nodeName: 'node-2' }),
      makePod('c', { cpu: '4', memory: '4Gi', nodeName: 'node-3' }),
    ];
    const result = schedule(makePod('web-1', { cpu: '500m', memory: '512Mi' }), nodes, existing);
    assert.equal(nodeOf(result), 'node-2');
    assert.equal(scheduledMessage(makePod('web-1'), 'node-2'), 'Successfully assigned default/web-1 to node-2');
    // Whatever the order the nodes are listed in and wherever the round robin starts.
    for (let start = 0; start < 3; start++) {
      const snapshot = buildSnapshot([...nodes].reverse(), existing);
      const r = scheduleOne(makePod('web-1', { cpu: '500m', memory: '512Mi' }), snapshot, buildProfile(), { random: () => 0.5, startNodeIndex: start });
      assert.equal(nodeOf(r), 'node-2');
    }
  });
});

describe('scheduleOne: FailedScheduling messages as Kubernetes words them', () => {
  test('0/3 nodes are available: 3 Insufficient cpu.', () => {
    const nodes = ['n1', 'n2', 'n3'].map((n) => makeNode(n, { cpu: '1' }));
    assert.equal(failure(schedule(makePod('big', { cpu: '2' }), nodes)), '0/3 nodes are available: 3 Insufficient cpu.');
    // With the default profile, DefaultPreemption's own FitError follows, its final period doubled, as in Kubernetes.
    assert.equal(failure(schedule(makePod('big', { cpu: '2' }), nodes, [], buildProfile())),
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..');
  });

  test('a node short of both cpu and memory counts for both', () => {
    const result = schedule(makePod('big', { cpu: '8', memory: '16Gi' }), [makeNode('n1')]);
    assert.equal(failure(result), '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.');
  });

  test('counts are sorted as strings, as Go sort.Strings does ("10 ..." before "2 ...")', () => {
    const nodes = [
      ...Array.from({ length: 10 }, (_, i) => makeNode(`small-${i}`, { memory: '1Gi' })),
      makeNode('cordoned-1', { unschedulable: true }),
      makeNode('cordoned-2', { unschedulable: true }),
    ];
    assert.equal(failure(schedule(makePod('p', { memory: '2Gi' }), nodes)), '0/12 nodes are available: 10 Insufficient memory, 2 node(s) were unschedulable.');
  });

  test('each node reports the first filter that rejects it, in Kubernetes plugin order', () => {
    const nodes = [
      makeNode('tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], cpu: '1' }),
      makeNode('master', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
      makeNode('full', { pods: '1' }),
      makeNode('wrong-zone', { labels: { zone: 'b' } }),
    ];
    const existing = [makePod('x', { nodeName: 'full' })];
    const message = failure(schedule(makePod('p', { cpu: '2', nodeSelector: { zone: 'a' } }), nodes, existing));
    assert.equal(message, "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match Pod's node affinity/selector.");
  });

  test('too many pods', () => {
    const nodes = [makeNode('n1', { pods: '2' })];
    const existing = [makePod('a', { nodeName: 'n1' }), makePod('b', { nodeName: 'n1' })];
    assert.equal(failure(schedule(makePod('c'), nodes, existing)), '0/1 nodes are available: 1 Too many pods.');
  });

  test('no nodes at all is its own error', () => {
    assert.deepEqual(schedule(makePod('p'), []), { kind: 'error', message: 'no nodes available to schedule pods' });
  });

  test('a PreFilter rejection replaces the histogram and a PostFilter message follows', () => {
    const statuses = new Map([['n1', { code: 'Unschedulable' as const, reasons: ['Insufficient cpu'] }]]);
    assert.equal(fitErrorMessage(3, statuses, "node(s) didn't satisfy plugin(s) [X]"), "0/3 nodes are available: node(s) didn't satisfy plugin(s) [X].");
    assert.equal(fitErrorMessage(1, statuses, '', 'preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod'),
      '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  });
});

describe('scheduleOne: filters', () => {
  test('a cordoned node takes only pods that tolerate node.kubernetes.io/unschedulable', () => {
    const nodes = [makeNode('n1', { unschedulable: true })];
    assert.equal(failure(schedule(makePod('p'), nodes)), '0/1 nodes are available: 1 node(s) were unschedulable.');
    const tolerant = makePod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.equal(nodeOf(schedule(tolerant, nodes)), 'n1');
  });

  test('spec.nodeName pins a pod to its node', () => {
    const nodes = [makeNode('n1'), makeNode('n2')];
    assert.equal(nodeOf(schedule(makePod('p', { nodeName: 'n2' }), nodes)), 'n2');
    assert.equal(failure(schedule(makePod('p', { nodeName: 'n9' }), nodes)), "0/2 nodes are available: 2 node(s) didn't match the requested node name.");
  });

  test('tolerations: Equal on key and value, Exists on key, empty key with Exists tolerates everything', () => {
    const nodes = [makeNode('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })];
    assert.equal(schedule(makePod('p', { tolerations: [{ key: 'dedicated', value: 'cpu', effect: 'NoSchedule' }] }), nodes).kind, 'unschedulable');
    assert.equal(nodeOf(schedule(makePod('p', { tolerations: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), nodes)), 'gpu');
    assert.equal(nodeOf(schedule(makePod('p', { tolerations: [{ key: 'dedicated', operator: 'Exists' }] }), nodes)), 'gpu');
    assert.equal(nodeOf(schedule(makePod('p', { tolerations: [{ operator: 'Exists' }] }), nodes)), 'gpu');
    assert.equal(schedule(makePod('p', { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }] }), nodes).kind, 'unschedulable');
  });

  test('a PreferNoSchedule taint does not filter', () => {
    const nodes = [makeNode('n1', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })];
    assert.equal(nodeOf(schedule(makePod('p'), nodes)), 'n1');
  });

  test('nodeSelector and required node affinity: terms ORed, expressions ANDed, Gt/Lt on integers', () => {
    const nodes = [
      makeNode('a', { labels: { zone: 'a', gen: '3' } }),
      makeNode('b', { labels: { zone: 'b', gen: '5' } }),
      makeNode('c', { labels: { zone: 'c' } }),
    ];
    assert.equal(nodeOf(schedule(makePod('p', { nodeSelector: { zone: 'b' } }), nodes)), 'b');
    const affinity = (terms: object[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } }) as never;
    assert.equal(nodeOf(schedule(makePod('p', { affinity: affinity([{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }]) }), nodes)), 'b');
    assert.equal(nodeOf(schedule(makePod('p', { affinity: affinity([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a', 'b'] }] }]) }), nodes)), 'c');
    assert.equal(nodeOf(schedule(makePod('p', { affinity: affinity([{ matchExpressions: [{ key: 'gen', operator: 'DoesNotExist' }] }]) }), nodes)), 'c');
    assert.equal(nodeOf(schedule(makePod('p', { affinity: affinity([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }]) }), nodes)), 'a');
    const both = makePod('p', { affinity: affinity([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'gen', operator: 'Lt', values: ['3'] }] }]) });
    assert.equal(failure(schedule(both, nodes)), "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
    const either = makePod('p', { nodeSelector: { zone: 'a' }, affinity: affinity([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['c'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Exists' }] }]) });
    assert.equal(nodeOf(schedule(either, nodes)), 'a');
    assert.equal(failure(schedule(makePod('p', { affinity: affinity([{}]) }), nodes)), "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", 'an empty term matches nothing');
  });

  test('init containers count as the larger of their request and the sum of the app containers', () => {
    assert.equal(podRequests(makePod('p', { cpu: '500m', initCpu: '2' })).milliCpu, 2000);
    assert.equal(failure(schedule(makePod('p', { cpu: '500m', initCpu: '2' }), [makeNode('n', { cpu: '1' })])), '0/1 nodes are available: 1 Insufficient cpu.');
  });

  test('required anti-affinity by hostname spreads replicas one per node, then fails', () => {
    const nodes = ['n1', 'n2', 'n3'].map((n) => makeNode(n));
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    const placed: Pod[] = [];
    for (let i = 0; i < 3; i++) {
      const pod = makePod(`web-${i}`, { labels: { app: 'web' }, affinity: anti });
      const node = nodeOf(schedule(pod, nodes, placed));
      assert.ok(!placed.some((p) => p.spec!.nodeName === node), `web-${i} joined another replica on ${node}`);
      placed.push({ ...pod, spec: { ...pod.spec!, nodeName: node } });
    }
    // The existing replicas' rules are checked first (Kubernetes' order), so they name the reason.
    assert.equal(failure(schedule(makePod('web-3', { labels: { app: 'web' }, affinity: anti }), nodes, placed)), "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.");
    // Symmetry: a pod without rules of its own is kept away by the existing pods' rules.
    assert.equal(failure(schedule(makePod('intruder', { labels: { app: 'web' } }), nodes, placed)), "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.");
    // The incoming pod's own rules against pods that have none.
    const plain = nodes.map((n, i) => makePod(`plain-${i}`, { labels: { app: 'web' }, nodeName: n.metadata.name! }));
    assert.equal(failure(schedule(makePod('web-x', { labels: { app: 'other' }, affinity: anti }), nodes, plain)), "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
    assert.equal(nodeOf(schedule(makePod('other', { labels: { app: 'db' } }), [nodes[0]!], placed)), 'n1');
  });

  test('required pod affinity by zone follows the matching pod; the first of a group may go anywhere', () => {
    const nodes = [makeNode('a1', { labels: { zone: 'a' } }), makeNode('b1', { labels: { zone: 'b' } }), makeNode('b2', { labels: { zone: 'b' } })];
    const affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' }] } };
    const cache = makePod('cache', { labels: { app: 'cache' }, nodeName: 'b2' });
    for (let seed = 1; seed < 6; seed++) assert.match(nodeOf(schedule(makePod('web', { affinity }), nodes, [cache], buildProfile(), seed)), /^b/);
    assert.equal(failure(schedule(makePod('web', { affinity }), nodes, [])), "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.");
    assert.ok(nodeOf(schedule(makePod('cache-0', { labels: { app: 'cache' }, affinity }), nodes, [])));
  });
});

describe('scheduleOne: scores', () => {
  test('LeastAllocated counts unset requests as 100m / 200Mi so best-effort pods still weigh', () => {
    const nodes = [makeNode('busy', { cpu: '1', memory: '1Gi' }), makeNode('idle', { cpu: '1', memory: '1Gi' })];
    const existing = Array.from({ length: 5 }, (_, i) => makePod(`be-${i}`, { nodeName: 'busy' }));
    assert.equal(nodeOf(schedule(makePod('p'), nodes, existing)), 'idle');
  });

  test('LeastAllocated gives (allocatable - requested) * 100 / allocatable averaged over cpu and memory', () => {
    const snapshot = buildSnapshot([makeNode('n', { cpu: '4', memory: '8Gi' })], [makePod('x', { cpu: '1', memory: '2Gi', nodeName: 'n' })]);
    const profile = buildProfile();
    // cpu: (4000 - 2000) * 100 / 4000 = 50; memory: (8Gi - 3Gi) * 100 / 8Gi = 62 (integer division); mean 56.
    assert.equal(nodeResourcesFit.score(new CycleState(), makePod('p', { cpu: '1', memory: '1Gi' }), snapshot.nodes[0]!), 56);
    assert.ok(profile.score.some((s) => s.plugin.name === 'NodeResourcesFit' && s.weight === 1));
  });

  test('BalancedAllocation prefers the node whose cpu and memory shares stay even', () => {
    const nodes = [makeNode('cpu-heavy', { cpu: '4', memory: '4Gi' }), makeNode('even', { cpu: '4', memory: '4Gi' })];
    const existing = [makePod('x', { cpu: '3', memory: '256Mi', nodeName: 'cpu-heavy' }), makePod('y', { cpu: '1', memory: '1Gi', nodeName: 'even' })];
    const onlyBalanced = buildProfile({ scoreWeights: { NodeResourcesFit: 0 } });
    assert.equal(nodeOf(schedule(makePod('p', { cpu: '100m', memory: '1Gi' }), nodes, existing, onlyBalanced)), 'even');
  });

  test('preferred node affinity and PreferNoSchedule taints steer; weights are configurable', () => {
    const nodes = [
      makeNode('ssd', { labels: { disk: 'ssd' } }),
      makeNode('hdd', { labels: { disk: 'hdd' }, taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] }),
      makeNode('empty', { labels: { disk: 'hdd' } }),
    ];
    const existing = [makePod('load', { cpu: '3', memory: '6Gi', nodeName: 'ssd' })];
    const pod = makePod('p', { cpu: '100m', memory: '100Mi', affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } } });
    assert.equal(nodeOf(schedule(pod, nodes, existing)), 'ssd', 'affinity (2 x 100) beats the load difference');
    assert.equal(nodeOf(schedule(pod, nodes, existing, buildProfile({ scoreWeights: { NodeAffinity: 0 } }))), 'empty', 'without the affinity score: the emptiest untainted node');
    assert.equal(nodeOf(schedule(pod, nodes, existing, buildProfile({ scoreWeights: { NodeAffinity: 0, TaintToleration: 0, NodeResourcesBalancedAllocation: 0 }, disabled: ['NodeAffinity'] }))), 'empty');
  });

  test('TaintToleration scores by the PreferNoSchedule tolerations its PreScore picked out for the cycle', () => {
    const nodes = buildSnapshot([makeNode('plain'), makeNode('slow', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] }), makeNode('two', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }, { key: 'old', effect: 'PreferNoSchedule' }] })], []).nodes;
    const framework = buildFramework([taintToleration], { TaintToleration: 1 });
    const scores = (pod: Pod) => scoreNodes(framework, new CycleState(), pod, nodes).map((s) => `${s.name}=${s.score}`);
    assert.deepEqual(scores(makePod('intolerant')), ['plain=100', 'slow=50', 'two=0']);
    assert.deepEqual(scores(makePod('tolerant', { tolerations: [{ key: 'slow', operator: 'Exists', effect: 'PreferNoSchedule' }, { key: 'old', operator: 'Exists', effect: 'NoSchedule' }] })), ['plain=100', 'slow=100', 'two=0']);
    assert.deepEqual(scores(makePod('any-effect', { tolerations: [{ key: 'old', operator: 'Exists' }] })), ['plain=100', 'slow=0', 'two=0']);
  });

  test('disabling a plugin removes its filter', () => {
    const nodes = [makeNode('t', { taints: [{ key: 'k', effect: 'NoSchedule' }] })];
    assert.equal(schedule(makePod('p'), nodes).kind, 'unschedulable');
    assert.equal(nodeOf(schedule(makePod('p'), nodes, [], buildProfile({ disabled: ['TaintToleration'] }))), 't');
    assert.throws(() => buildProfile({ disabled: ['NoSuchPlugin'] }), /unknown scheduler plugin/);
    assert.ok(buildProfile({ scoreWeights: { NodeResourcesLeastAllocated: 5 } }).score.some((s) => s.plugin.name === 'NodeResourcesFit' && s.weight === 5), 'the old name maps to NodeResourcesFit');
  });

  test('ties are broken at random, deterministically per seed', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => makeNode(n));
    const chosen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) chosen.add(nodeOf(schedule(makePod('p'), nodes, [], buildProfile(), seed)));
    assert.ok(chosen.size >= 3, `spread over ${[...chosen].join(',')}`);
    assert.equal(nodeOf(schedule(makePod('p'), nodes, [], buildProfile(), 7)), nodeOf(schedule(makePod('p'), nodes, [], buildProfile(), 7)));
  });

  test('a Score plugin that leaves 0..100 is caught loudly', () => {
    const broken: ScorePlugin = { name: 'Broken', score: () => 150 };
    const framework = buildFramework([broken], { Broken: 1 });
    assert.throws(() => scheduleOne(makePod('p'), buildSnapshot([makeNode('a'), makeNode('b')], []), framework, { random: () => 0 }), /outside 0..100/);
  });
});

describe('scheduleOne: large clusters', () => {
  test('the share of nodes looked at follows Kubernetes: all below 100, 50 % minus 1 % per 125 nodes, at least 5 % and 100', () => {
    assert.equal(numFeasibleNodesToFind(0, 50), 50);
    assert.equal(numFeasibleNodesToFind(0, 100), 100);
    assert.equal(numFeasibleNodesToFind(0, 1_000), 420);
    assert.equal(numFeasibleNodesToFind(0, 5_000), 500);
    assert.equal(numFeasibleNodesToFind(0, 100_000), 5_000);
    assert.equal(numFeasibleNodesToFind(100, 1_000), 1_000);
  });

  test('the search resumes where the last cycle stopped', () => {
    const nodes = Array.from({ length: 1_000 }, (_, i) => makeNode(`n${i}`));
    const snapshot = buildSnapshot(nodes, []);
    const first = scheduleOne(makePod('p'), snapshot, buildProfile(), { random: () => 0, startNodeIndex: 0 });
    assert.equal(first.kind, 'scheduled');
    assert.equal((first as { evaluatedNodes: number }).evaluatedNodes, 420);
    assert.equal((first as { nextStartNodeIndex: number }).nextStartNodeIndex, 420);
  });
});

describe('scheduleOne: Skip from PreFilter and PreScore, as Kubernetes\' framework', () => {
  /** A plugin that says Skip (or not) and counts what the framework then asks of it. */
  function counting(name: string, skipPreFilter: boolean, skipPreScore: boolean) {
    const calls = { filter: 0, score: 0 };
    const plugin = {
      name,
      preFilter: () => (skipPreFilter ? skip() : null),
      filter: () => {
        calls.filter++;
        return null;
      },
      preScore: () => (skipPreScore ? skip() : null),
      score: () => {
        calls.score++;
        return 50;
      },
    };
    return { plugin, calls };
  }

  test('a PreFilter Skip leaves that plugin\'s Filter out of the cycle, a PreScore Skip its Score; the others still run on every node', () => {
    const skipping = counting('Skipping', true, true);
    const running = counting('Running', false, false);
    const framework = buildFramework([skipping.plugin, running.plugin], { Skipping: 1, Running: 1 });
    const nodes = [makeNode('a'), makeNode('b'), makeNode('c')];
    const result = scheduleOne(makePod('p'), buildSnapshot(nodes, []), framework, { random: () => 0 });
    assert.equal(result.kind, 'scheduled');
    assert.deepEqual(skipping.calls, { filter: 0, score: 0 });
    assert.deepEqual(running.calls, { filter: 3, score: 3 });
    assert.equal((result as { score: number }).score, 50, 'the skipped plugin adds nothing to the total');
  });

  test('the default plugins skip what a plain pod does not use, and only that', () => {
    const snapshot = buildSnapshot([makeNode('a', { labels: { zone: 'z1' } })], []);
    const plain = makePod('p');
    const skipped = (pod: Pod, point: 'preFilter' | 'preScore'): string[] => {
      const state = new CycleState();
      const names: string[] = [];
      for (const plugin of WITHOUT_PREEMPTION.preFilter) if (isSkip(plugin.preFilter(state, pod, snapshot)) && point === 'preFilter') names.push(plugin.name);
      if (point === 'preScore') for (const plugin of WITHOUT_PREEMPTION.preScore) if (isSkip(plugin.preScore(state, pod, snapshot.nodes))) names.push(plugin.name);
      return names.sort();
    };
    assert.deepEqual(skipped(plain, 'preFilter'), ['InterPodAffinity', 'NodeAffinity', 'PodTopologySpread']);
    assert.deepEqual(skipped(plain, 'preScore'), ['InterPodAffinity', 'NodeAffinity', 'PodTopologySpread']);
    const selective = makePod('s', {
      nodeSelector: { zone: 'z1' },
      affinity: {
        nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] } }] },
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'zone' }] },
      },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'x' } } }],
    });
    assert.deepEqual(skipped(selective, 'preFilter'), [], 'a nodeSelector, required anti-affinity and a DoNotSchedule constraint each need their Filter');
    assert.ok(!skipped(selective, 'preScore').includes('NodeAffinity'), 'a preferred node term needs NodeAffinity\'s Score');
  });

  test('an existing pod\'s required anti-affinity keeps InterPodAffinity\'s Filter for a plain pod it selects', () => {
    const ZONE = 'topology.kubernetes.io/zone';
    const nodes = [makeNode('a', { labels: { [ZONE]: 'a' } }), makeNode('b', { labels: { [ZONE]: 'b' } })];
    const loner = makePod('loner', { nodeName: 'a', affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: ZONE }] } } });
    const web = makePod('web', { labels: { app: 'web' } });
    for (let seed = 1; seed <= 8; seed++) assert.equal(nodeOf(schedule(web, nodes, [loner], WITHOUT_PREEMPTION, seed)), 'b', 'never into the loner\'s zone');
    assert.equal(nodeOf(schedule(makePod('other', { labels: { app: 'db' } }), [nodes[0]!], [loner])), 'a', 'a pod the term does not select may join it');
  });
});
