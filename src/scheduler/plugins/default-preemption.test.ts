import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Node, Pod } from '../../api/types/index.js';
import { NO_DISRUPTION_BUDGETS, type DisruptionBudgetCheck } from '../framework.js';
import { buildProfile } from '../profile.js';
import { scheduleOne, type ScheduleResult } from '../schedule-one.js';
import { makeNode, makePod } from '../testing.js';
import { buildSnapshot } from '../types.js';
import { pickOneNodeForPreemption, selectVictimsOnNode, type Candidate } from './default-preemption.js';

const profile = buildProfile();

function run(pod: Pod, nodes: Node[], pods: Pod[], options: { violates?: DisruptionBudgetCheck; nominated?: Map<string, Pod[]> } = {}): ScheduleResult {
  return scheduleOne(pod, buildSnapshot(nodes, pods), profile, {
    random: () => 0,
    violatesDisruptionBudget: options.violates,
    nominatedPods: (n) => options.nominated?.get(n) ?? [],
  });
}

function unschedulable(result: ScheduleResult) {
  assert.equal(result.kind, 'unschedulable', JSON.stringify(result));
  return result as Extract<ScheduleResult, { kind: 'unschedulable' }>;
}

const names = (pods: readonly Pod[] | undefined) => (pods ?? []).map((p) => p.metadata.name);

function victimsOn(pod: Pod, node: Node, pods: Pod[], violates: DisruptionBudgetCheck = NO_DISRUPTION_BUDGETS) {
  const snapshot = buildSnapshot([node], pods);
  return selectVictimsOnNode(pod, snapshot.nodes[0]!, snapshot, { framework: profile, nominatedPods: () => [], violatesDisruptionBudget: violates });
}

describe('DefaultPreemption: victims on a node', () => {
  const node = makeNode('n1', { cpu: '3' });
  const running = [
    makePod('low', { cpu: '1', priority: 1, nodeName: 'n1' }),
    makePod('mid', { cpu: '1', priority: 5, nodeName: 'n1' }),
    makePod('high', { cpu: '1', priority: 10, nodeName: 'n1' }),
  ];

  test('the lowest priority goes first, and no more pods than needed', () => {
    const one = victimsOn(makePod('p', { cpu: '1', priority: 100 }), node, running);
    assert.deepEqual('victims' in one ? names(one.victims) : one, ['low']);
    const two = victimsOn(makePod('p', { cpu: '2', priority: 100 }), node, running);
    assert.deepEqual('victims' in two ? names(two.victims) : two, ['mid', 'low'], 'most important first, the priority-10 pod spared');
  });

  test('pods of equal or higher priority are never victims', () => {
    const result = victimsOn(makePod('p', { cpu: '2', priority: 5 }), node, running);
    assert.ok('status' in result);
    assert.deepEqual(result.status.reasons, ['Insufficient cpu'], 'only the priority-1 pod may go, and that is not enough');
    const none = victimsOn(makePod('p', { cpu: '1', priority: 1 }), node, running);
    assert.ok('status' in none);
    assert.deepEqual(none.status.reasons, ['No preemption victims found for incoming pod']);
  });

  test('at equal priority the pod that started last goes first', () => {
    const pods = [
      makePod('old', { cpu: '1', priority: 1, nodeName: 'n1', startTime: '2026-01-01T00:00:00Z' }),
      makePod('new', { cpu: '1', priority: 1, nodeName: 'n1', startTime: '2026-01-02T00:00:00Z' }),
      makePod('busy', { cpu: '1', priority: 10, nodeName: 'n1' }),
    ];
    const result = victimsOn(makePod('p', { cpu: '1', priority: 100 }), node, pods);
    assert.deepEqual('victims' in result ? names(result.victims) : result, ['new']);
  });

  test('a pod whose eviction violates a budget is spared when another will do, and counted when not', () => {
    const pods = [makePod('guarded', { cpu: '1', priority: 1, nodeName: 'n1' }), makePod('free', { cpu: '1', priority: 1, nodeName: 'n1' }), makePod('system', { cpu: '1', priority: 1000, nodeName: 'n1' })];
    const guarded: DisruptionBudgetCheck = (ps) => ps.map((p) => p.metadata.name === 'guarded');
    const one = victimsOn(makePod('p', { cpu: '1', priority: 100 }), node, pods, guarded);
    assert.deepEqual('victims' in one ? [names(one.victims), one.numPdbViolations] : one, [['free'], 0]);
    const two = victimsOn(makePod('p', { cpu: '2', priority: 100 }), node, pods, guarded);
    assert.deepEqual('victims' in two ? [names(two.victims).sort(), two.numPdbViolations] : two, [['free', 'guarded'], 1]);
  });
});

describe('DefaultPreemption: the node to preempt on', () => {
  const at = (name: string, priority: number, startTime?: string) => makePod(name, { priority, ...(startTime ? { startTime } : {}) });
  const candidate = (nodeName: string, victims: Pod[], numPdbViolations = 0): Candidate => ({ nodeName, victims, numPdbViolations });
  const pick = (...cs: Candidate[]) => pickOneNodeForPreemption(cs)?.nodeName;

  test('fewest budget violations first', () => {
    assert.equal(pick(candidate('a', [at('x', 1)], 1), candidate('b', [at('y', 9), at('z', 9)], 0)), 'b');
  });
  test('then the lowest priority among the most important victims', () => {
    assert.equal(pick(candidate('a', [at('x', 7)]), candidate('b', [at('y', 3), at('z', 3)])), 'b');
  });
  test('then the smallest sum of priorities', () => {
    assert.equal(pick(candidate('a', [at('x', 5), at('y', 4)]), candidate('b', [at('z', 5), at('w', 1)])), 'b');
  });
  test('then the fewest victims', () => {
    assert.equal(pick(candidate('a', [at('x', 5), at('y', 0)]), candidate('b', [at('z', 5)])), 'b');
  });
  test('then the latest start among the most important victims', () => {
    assert.equal(pick(candidate('a', [at('x', 5, '2026-01-01T00:00:00Z')]), candidate('b', [at('y', 5, '2026-01-03T00:00:00Z')])), 'b');
  });
  test('a node that needs no victim wins outright; a full tie goes to the first found', () => {
    assert.equal(pick(candidate('a', [at('x', 0)]), candidate('b', [])), 'b');
    assert.equal(pick(candidate('a', [at('x', 5)]), candidate('b', [at('y', 5)])), 'a');
  });
});

describe('DefaultPreemption through scheduleOne', () => {
  const nodes = [makeNode('n1', { cpu: '2' }), makeNode('n2', { cpu: '2' })];
  const full = [
    makePod('a1', { cpu: '1', priority: 10, nodeName: 'n1' }), makePod('a2', { cpu: '1', priority: 10, nodeName: 'n1' }),
    makePod('b1', { cpu: '1', priority: 1, nodeName: 'n2' }), makePod('b2', { cpu: '1', priority: 20, nodeName: 'n2' }),
  ];

  test('a high-priority pod on a full cluster is nominated to the node whose victims matter least', () => {
    const result = unschedulable(run(makePod('vip', { cpu: '1', priority: 100 }), nodes, full));
    assert.equal(result.nominatedNodeName, 'n2', 'one priority-1 victim on n2 beats a priority-10 one on n1');
    assert.deepEqual(names(result.victims), ['b1']);
    assert.equal(result.message, '0/2 nodes are available: 2 Insufficient cpu.', 'a successful preemption adds nothing to the message');
  });

  test('preemptionPolicy Never: no victims, and Kubernetes\' reason', () => {
    const result = unschedulable(run(makePod('polite', { cpu: '1', priority: 100, preemptionPolicy: 'Never' }), nodes, full));
    assert.equal(result.nominatedNodeName, undefined);
    assert.equal(result.victims, undefined);
    assert.equal(result.message, '0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..');
  });

  test('nodes a filter rejects for good are not dry-run, and the message says so', () => {
    const cordoned = [makeNode('n1', { cpu: '2', unschedulable: true }), makeNode('n2', { cpu: '2' })];
    const result = unschedulable(run(makePod('p', { cpu: '1', priority: 1 }), cordoned, full));
    assert.equal(result.nominatedNodeName, '', 'nothing helps: a nomination the pod had is cleared');
    assert.equal(result.message, '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling..');
  });

  test('a terminating victim on the nominated node: the pod waits instead of preempting again', () => {
    const draining = full.map((p) => (p.metadata.name === 'b1' ? { ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } } : p));
    const result = unschedulable(run(makePod('vip', { cpu: '1', priority: 100, nominatedNodeName: 'n2' }), nodes, draining));
    assert.equal(result.victims, undefined);
    assert.match(result.message, /preemption: not eligible due to a terminating pod on the nominated node\.\.$/);
  });

  test('once the victim is gone the pod goes to its nominated node first', () => {
    const left = full.filter((p) => p.metadata.name !== 'b1');
    const result = run(makePod('vip', { cpu: '1', priority: 100, nominatedNodeName: 'n2' }), nodes, left);
    assert.deepEqual(result.kind === 'scheduled' ? result.nodeName : result, 'n2');
  });

  test('a nominated pod holds its room against lower priority pods, not against higher ones', () => {
    const left = full.filter((p) => p.metadata.name !== 'b1');
    const nominated = new Map([['n2', [makePod('vip', { cpu: '1', priority: 100 })]]]);
    const lower = unschedulable(run(makePod('other', { cpu: '1', priority: 50, preemptionPolicy: 'Never' }), nodes, left, { nominated }));
    assert.match(lower.message, /^0\/2 nodes are available: 2 Insufficient cpu\./);
    const higher = run(makePod('boss', { cpu: '1', priority: 200 }), nodes, left, { nominated });
    assert.deepEqual(higher.kind === 'scheduled' ? higher.nodeName : higher, 'n2');
  });

  test('budgets steer the choice of node: the node whose victims violate none wins', () => {
    const pods = [makePod('guarded', { cpu: '2', priority: 1, nodeName: 'n1' }), makePod('spare', { cpu: '2', priority: 2, nodeName: 'n2' })];
    const violates: DisruptionBudgetCheck = (ps) => ps.map((p) => p.metadata.name === 'guarded');
    assert.equal(unschedulable(run(makePod('vip', { cpu: '1', priority: 100 }), nodes, pods)).nominatedNodeName, 'n1', 'without budgets: the lower victim');
    assert.equal(unschedulable(run(makePod('vip', { cpu: '1', priority: 100 }), nodes, pods, { violates })).nominatedNodeName, 'n2');
  });
});
