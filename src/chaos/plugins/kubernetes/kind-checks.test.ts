import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Job, Pod } from '../../../api/types/index.js';
import { observeCoverage } from './daemonsets.js';
import { observeJobs } from './jobs.js';
import { judgeDaemonSetCoverage, judgeJobsComplete, judgeStatefulSetMembers } from './kind-checks.js';
import { desiredHealthy, observeMembers, statefulSetsSpecError } from './statefulsets.js';

describe('statefulset-members judge and the statefulsets workload\'s pure parts', () => {
  const pod = (name: string, ready: boolean, extra: Partial<Pod['metadata']> = {}): Pod => ({
    metadata: { name, namespace: 'default', uid: name, labels: { app: 'db-0' }, ...extra },
    spec: { containers: [{ name: 'db', image: 'nginx:1.0' }], nodeName: 'node-0' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  } as Pod);

  test('members are counted by ordinal when Running, Ready and not terminating; strangers are named', () => {
    const sets = observeMembers([pod('db-0-0', true), pod('db-0-1', false), pod('db-0-2', true, { deletionTimestamp: '2026-01-01T00:00:00Z' }), pod('db-0-7', true), pod('stray', true)], { 'db-0': 3 });
    assert.deepEqual(sets['db-0'], { replicas: 3, readyOrdinals: [0], others: ['db-0-7', 'stray'] });
  });

  test('the check passes with every ordinal Ready in time, fails on a missing one or a late one', () => {
    const full = { converged: true, atMs: 12_000, sets: { 'db-0': { replicas: 3, readyOrdinals: [0, 1, 2], others: [] } } };
    assert.equal(judgeStatefulSetMembers(full, 10_000, 5_000).verdict, 'pass');
    assert.equal(judgeStatefulSetMembers(full, 1_000, 5_000).verdict, 'fail');
    const missing = judgeStatefulSetMembers({ ...full, converged: false, sets: { 'db-0': { replicas: 3, readyOrdinals: [0, 2], others: [] } } }, 10_000, 5_000);
    assert.equal(missing.verdict, 'fail');
    assert.match(missing.summary, /db-0 ready ordinals \[0, 2\] of 3/);
    assert.equal(judgeStatefulSetMembers(undefined, 0, 5_000).verdict, 'unknown');
  });

  test('a budget needs exactly one of minAvailable and maxUnavailable; desiredHealthy follows the disruption controller', () => {
    assert.match(statefulSetsSpecError({ pdb: {} })!, /exactly one of minAvailable or maxUnavailable/);
    assert.match(statefulSetsSpecError({ pdb: { minAvailable: 1, maxUnavailable: 1 } })!, /exactly one/);
    assert.equal(statefulSetsSpecError({ pdb: { maxUnavailable: 1 } }), undefined);
    assert.equal(desiredHealthy({ minAvailable: 3 }, 4), 3);
    assert.equal(desiredHealthy({ maxUnavailable: 1 }, 4), 3);
    assert.equal(desiredHealthy({ maxUnavailable: 9 }, 4), 0);
  });
});

describe('daemonset-coverage and jobs-complete judges, and what their workloads observe', () => {
  const pod = (name: string, app: string, node: string, ready = true): Pod => ({
    metadata: { name, namespace: 'default', uid: name, labels: { app } },
    spec: { containers: [{ name: 'agent', image: 'nginx:1.0' }], nodeName: node },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  } as Pod);

  test('coverage names the live nodes without a Ready pod and those with several; other apps and dead nodes do not count', () => {
    const pods = [pod('a', 'agent-0', 'node-0'), pod('b', 'agent-0', 'node-0'), pod('c', 'agent-0', 'node-1', false), pod('d', 'agent-0', 'node-9'), pod('e', 'web', 'node-2')];
    assert.deepEqual(observeCoverage(pods, ['agent-0'], ['node-0', 'node-1', 'node-2']), { 'agent-0': { nodes: 3, missing: ['node-1', 'node-2'], extra: ['node-0'] } });
  });

  test('the coverage check passes with one pod per live node in time, fails naming the gaps, unknown without a DaemonSet', () => {
    const full = { converged: true, atMs: 9_000, sets: { 'agent-0': { nodes: 2, missing: [], extra: [] } } };
    assert.equal(judgeDaemonSetCoverage(full, 2_000, 10_000).verdict, 'pass');
    assert.equal(judgeDaemonSetCoverage(full, 2_000, 5_000).verdict, 'fail');
    const gap = judgeDaemonSetCoverage({ ...full, converged: false, sets: { 'agent-0': { nodes: 2, missing: ['node-1'], extra: ['node-0'] } } }, 2_000, 10_000);
    assert.equal(gap.verdict, 'fail');
    assert.match(gap.summary, /agent-0 missing on node-1 several on node-0/);
    assert.equal(judgeDaemonSetCoverage(undefined, 0, 1).verdict, 'unknown');
  });

  test('Jobs are read from their status and conditions; one never created shows as unfinished', () => {
    const job = (name: string, succeeded: number, failed: number, condition?: string): Job => ({
      metadata: { name }, status: { succeeded, failed, conditions: condition === undefined ? [] : [{ type: condition, status: 'True' }] },
    } as Job);
    const seen = observeJobs([job('batch-0', 6, 1, 'Complete'), job('batch-1', 0, 7, 'Failed'), job('other', 1, 0)], { 'batch-0': 6, 'batch-1': 6, 'batch-2': 6 });
    assert.deepEqual(seen, {
      'batch-0': { completions: 6, succeeded: 6, failed: 1, complete: true, failedCondition: false },
      'batch-1': { completions: 6, succeeded: 0, failed: 7, complete: false, failedCondition: true },
      'batch-2': { completions: 6, succeeded: 0, failed: 0, complete: false, failedCondition: false },
    });
    const verdict = judgeJobsComplete({ converged: true, atMs: 9_000, jobs: seen }, 1_000, 30_000);
    assert.equal(verdict.verdict, 'fail');
    assert.match(verdict.summary, /batch-1 Failed, 0\/6 succeeded, 7 failed pods; batch-2 unfinished/);
    assert.equal(judgeJobsComplete({ converged: true, atMs: 9_000, jobs: { 'batch-0': seen['batch-0']! } }, 1_000, 30_000).verdict, 'pass');
    assert.equal(judgeJobsComplete(undefined, 0, 1).verdict, 'unknown');
  });
});
