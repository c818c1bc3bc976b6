import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LeaderActivity } from '../../../client/leader-activity.js';
import type { RequestRecord } from '../../engine/types.js';
import { judgeApiLatency, judgeConverges, judgeNoDoubleBind, judgePodStartup, judgeServiceAvailability, judgeSingleActive } from './checks.js';
import { newLeaderMs, restoredMs } from './figures.js';
import { sampleConverged, type KubeSample } from './sink.js';
import { countPods } from './workload.js';
import type { Pod } from '../../../api/types/index.js';

const sample = (tMs: number, running: number, leaders: string[] = ['scheduler-0']): KubeSample => ({
  tMs, deployments: { web: { desired: 2, running, runningCurrent: running } }, schedulerLeaders: leaders, controllerManagerLeaders: [],
});
const act = (identity: string, atMs: number, what: LeaderActivity['what']): LeaderActivity => ({ component: 'kube-scheduler', actor: identity.split('_')[0]!, identity, atMs, what });
const api = (cls: string, invokeMs: number, ms: number, ok = true): RequestRecord => ({ kind: 'api', process: 'd', target: 'x', class: cls, invokeMs, completeMs: invokeMs + ms, ok });
const svc = (invokeMs: number, ok: boolean): RequestRecord => ({ kind: 'service', process: 'c', target: 'default/web', class: 'kube-proxy-node-0', invokeMs, completeMs: invokeMs + 1, ok });

describe('kubernetes checks on broken records', () => {
  test('no-double-bind fails when one pod uid is seen on two nodes', () => {
    const ok = [{ tMs: 1, uid: 'a', pod: 'default/p', node: 'node-0' }, { tMs: 2, uid: 'b', pod: 'default/q', node: 'node-1' }];
    assert.equal(judgeNoDoubleBind(ok).verdict, 'pass');
    const broken = [...ok, { tMs: 3, uid: 'a', pod: 'default/p', node: 'node-2' }];
    const result = judgeNoDoubleBind(broken);
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /default\/p \(a\) on node-0, node-2/);
    assert.equal(judgeNoDoubleBind([]).verdict, 'unknown');
  });

  test('single-active fails on a bind inside the other replica\'s term, and on a sample with two leaders', () => {
    const clean = [act('s0_1', 0, 'started'), act('s0_1', 5, 'write'), act('s1_1', 50, 'started'), act('s1_1', 60, 'write')];
    const leaders = (s: KubeSample) => s.schedulerLeaders;
    assert.equal(judgeSingleActive('single-active-scheduler', 'scheduler', clean, [sample(0, 2), sample(100, 2, [])], leaders).verdict, 'pass');
    const overlapping = [...clean, act('s0_1', 65, 'write'), act('s1_1', 70, 'write')];
    const r1 = judgeSingleActive('single-active-scheduler', 'scheduler', overlapping, [sample(0, 2)], leaders);
    assert.equal(r1.verdict, 'fail');
    assert.match(r1.summary, /s0_1 wrote at 65 ms while s1_1 was acting as leader/);
    const r2 = judgeSingleActive('single-active-scheduler', 'scheduler', clean, [sample(0, 2), sample(100, 2, ['scheduler-0', 'scheduler-1'])], leaders);
    assert.equal(r2.verdict, 'fail');
    assert.match(r2.summary, /scheduler-0, scheduler-1/);
  });

  test('converges measures from the last fault to the first sample of the converged tail, and fails past maxMs or unconverged', () => {
    const samples = [sample(0, 2), sample(1_000, 1), sample(2_000, 1), sample(3_000, 2), sample(4_000, 2)];
    const final = { converged: true, atMs: 5_000, deployments: { web: { desired: 2, running: 2, runningCurrent: 2 } } };
    const pass = judgeConverges({ samples, final, lastChangeMs: 0 }, 1_000, 2_500);
    assert.equal(pass.verdict, 'pass', pass.summary);
    assert.deepEqual((pass.details as { convergedSinceMs: number }).convergedSinceMs, 3_000);
    assert.equal(judgeConverges({ samples, final, lastChangeMs: 0 }, 1_000, 1_500).verdict, 'fail');
    const stuck = { converged: false, atMs: 5_000, deployments: { web: { desired: 2, running: 1, runningCurrent: 1 } } };
    assert.equal(judgeConverges({ samples, final: stuck, lastChangeMs: 0 }, 1_000, 60_000).verdict, 'fail');
  });

  test('pod-startup takes the p99 of creation to Running over the pods that ran, and fails above the bound', () => {
    const startups = Array.from({ length: 100 }, (_, i) => ({ uid: `u${i}`, pod: `default/p${i}`, createdMs: i, runningMs: i + (i < 98 ? 1_000 : 8_000) }));
    const slow = judgePodStartup(startups, 5_000);
    assert.equal(slow.verdict, 'fail', slow.summary);
    assert.match(slow.summary, /p99 8000 ms > 5000 ms/);
    const fast = judgePodStartup(startups.slice(0, 98), 5_000);
    assert.equal(fast.verdict, 'pass', fast.summary);
    assert.equal(judgePodStartup([{ uid: 'u', pod: 'p', createdMs: 0 }], 5_000).verdict, 'unknown');
  });

  test('api-latency judges single-object calls and lists against their own bounds', () => {
    const calls = [...Array.from({ length: 99 }, (_, i) => api('mutating', i, 10)), api('mutating', 100, 50), api('list', 0, 3_000)];
    assert.equal(judgeApiLatency(calls, 1_000, 5_000).verdict, 'pass');
    const slowWrite = [...calls, ...Array.from({ length: 5 }, (_, i) => api('mutating', 200 + i, 2_000, false))];
    const r = judgeApiLatency(slowWrite, 1_000, 5_000);
    assert.equal(r.verdict, 'fail');
    assert.match(r.summary, /mutating 105 calls p99 2000 ms > 1000 ms \(5 failed\)/);
    assert.equal(judgeApiLatency(calls, 1_000, 2_000).verdict, 'fail', 'a slow list fails its own bound');
    assert.equal(judgeApiLatency([], 1_000, 5_000).verdict, 'unknown');
  });

  test('service-availability fails below the success share or past the longest allowed gap', () => {
    const requests = [...Array.from({ length: 100 }, (_, i) => svc(i * 10, true)), ...Array.from({ length: 10 }, (_, i) => svc(1_000 + i * 100, false)), svc(2_000, true)];
    assert.equal(judgeServiceAvailability(requests, 2_010, 0.5, undefined).verdict, 'pass');
    assert.equal(judgeServiceAvailability(requests, 2_010, 0.99, undefined).verdict, 'fail');
    const gap = judgeServiceAvailability(requests, 2_010, 0.5, 500);
    assert.equal(gap.verdict, 'fail');
    assert.match(gap.summary, /longest gap 1010 ms/);
    assert.equal(judgeServiceAvailability([], 1_000, 0.99, undefined).verdict, 'unknown');
  });
});

describe('counting pods against desired', () => {
  const pod = (app: string, image: string, node = 'node-0', phase = 'Running'): Pod => ({
    metadata: { name: `${app}-x`, namespace: 'default', labels: { app } }, spec: { nodeName: node, containers: [{ name: 'web', image }] }, status: { phase },
  }) as Pod;

  test('a deleted Deployment (desired 0) is converged only once its pods are gone; pods on a crashed node do not count', () => {
    const desired = { web: { replicas: 1, image: 'nginx:2' }, temp: { replicas: 0, image: 'nginx:1' } };
    assert.equal(sampleConverged(countPods([pod('web', 'nginx:2')], desired)), true);
    assert.equal(sampleConverged(countPods([pod('web', 'nginx:2'), pod('temp', 'nginx:1')], desired)), false, 'a leftover pod of the deleted Deployment');
    assert.equal(sampleConverged(countPods([pod('web', 'nginx:1')], desired)), false, 'Running an old image');
    assert.equal(sampleConverged(countPods([pod('web', 'nginx:2', 'node-1')], desired, ['node-1'])), false, 'its only pod is on a crashed node');
  });
});

describe('kubernetes figures', () => {
  test('newLeaderMs is the first term started after the fault by another identity than the leader before it', () => {
    const activity = [act('s0_1', 0, 'started'), act('s0_1', 100, 'write'), act('s0_2', 1_500, 'started')];
    assert.equal(newLeaderMs(activity, 'kube-scheduler', 1_000, Infinity), 500, 'a restarted incarnation is a new leader');
    assert.equal(newLeaderMs(activity.slice(0, 2), 'kube-scheduler', 1_000, Infinity), null);
    assert.equal(newLeaderMs(activity, 'kube-scheduler', 1_000, 1_200), null, 'not before the next fault');
  });

  test('restoredMs counts from the fault to the first converged sample after its heal', () => {
    const samples = [sample(0, 2), sample(1_000, 1), sample(2_000, 1), sample(3_000, 2)];
    assert.equal(restoredMs({ samples, final: undefined }, { atMs: 500, healedAtMs: 1_500 }, Infinity, true), 2_500);
    assert.equal(restoredMs({ samples, final: undefined }, { atMs: 500, healedAtMs: 1_500 }, 2_500, false), null);
  });
});
