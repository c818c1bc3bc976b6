import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerStatus as CriContainerStatus } from '../cri/protocol.js';
import type { Pod } from '../../api/types/index.js';
import { Backoff } from './backoff.js';
import { buildPodStatus, containerStatusOf, formatTime, podPhase, type ContainerView } from './status.js';

const T0 = 1_700_000_000_000;

function instance(state: CriContainerStatus['state'], attempt = 0, exitCode = 0, over: Partial<CriContainerStatus> = {}): CriContainerStatus {
  return {
    id: `c${attempt}`, podSandboxId: 's', metadata: { name: 'c', attempt }, state, image: 'img', imageRef: 'sim://img',
    createdAtMs: T0, startedAtMs: T0 + 1_000, finishedAtMs: state === 'CONTAINER_EXITED' ? T0 + 2_000 : 0,
    exitCode, reason: state === 'CONTAINER_EXITED' ? (exitCode === 0 ? 'Completed' : 'Error') : '', message: '', labels: {}, annotations: {}, ...over,
  };
}

const view = (over: Partial<ContainerView>): ContainerView => ({ name: 'c', image: 'img', willRestart: false, ready: true, started: true, ...over });
const pod = (restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always'): Pod => ({ metadata: { name: 'p' }, spec: { restartPolicy, containers: [{ name: 'c' }] } });

describe('pod phase (Kubernetes getPhase)', () => {
  const cases: [string, 'Always' | 'OnFailure' | 'Never', ContainerView[], ContainerView[], string][] = [
    ['nothing started yet', 'Always', [], [view({})], 'Pending'],
    ['one running', 'Always', [], [view({ latest: instance('CONTAINER_RUNNING') })], 'Running'],
    ['init container still running', 'Always', [view({ name: 'i', latest: instance('CONTAINER_RUNNING') })], [view({})], 'Pending'],
    ['init container failed under Never', 'Never', [view({ name: 'i', latest: instance('CONTAINER_EXITED', 0, 1) })], [view({})], 'Failed'],
    ['crash-looping under Always', 'Always', [], [view({ latest: instance('CONTAINER_EXITED', 2, 1), willRestart: true })], 'Running'],
    ['all exited 0 under OnFailure', 'OnFailure', [], [view({ latest: instance('CONTAINER_EXITED', 0, 0) })], 'Succeeded'],
    ['exited 1 under OnFailure (restarting)', 'OnFailure', [], [view({ latest: instance('CONTAINER_EXITED', 0, 1) })], 'Running'],
    ['exited 1 under Never', 'Never', [], [view({ latest: instance('CONTAINER_EXITED', 0, 1) })], 'Failed'],
  ];
  for (const [name, policy, init, containers, phase] of cases) {
    test(name, () => assert.equal(podPhase({ pod: pod(policy), initContainers: init, containers }), phase));
  }

  test('a terminal phase is never left, whatever the containers say', () => {
    const p = { ...pod(), status: { phase: 'Failed' as const } };
    const status = buildPodStatus({ pod: p, nowMs: T0, hostIP: undefined, podIP: undefined, startTimeMs: T0, initContainers: [], containers: [view({ latest: instance('CONTAINER_RUNNING') })] });
    assert.equal(status.phase, 'Failed');
  });
});

describe('container status', () => {
  test('CrashLoopBackOff: waiting with the backoff message, the dead instance as lastState, restartCount its attempt', () => {
    const s = containerStatusOf(view({ latest: instance('CONTAINER_EXITED', 4, 3), willRestart: true, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } }));
    assert.equal(s.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(s.lastState?.terminated?.exitCode, 3);
    assert.equal(s.restartCount, 4);
    assert.equal(s.ready, false);
  });

  test('running after a restart: the previous instance is the last state; ready only when the probe says so', () => {
    const s = containerStatusOf(view({ latest: instance('CONTAINER_RUNNING', 1), previous: instance('CONTAINER_EXITED', 0, 137, { reason: 'OOMKilled' }), ready: false }));
    assert.ok(s.state?.running !== undefined);
    assert.equal(s.lastState?.terminated?.reason, 'OOMKilled');
    assert.equal(s.ready, false);
  });

  test('conditions keep their transition time while their status holds', () => {
    const first = buildPodStatus({ pod: pod(), nowMs: T0, hostIP: 'h', podIP: 'p', startTimeMs: T0, initContainers: [], containers: [view({ latest: instance('CONTAINER_RUNNING') })] });
    const later = buildPodStatus({ pod: { ...pod(), status: first }, nowMs: T0 + 60_000, hostIP: 'h', podIP: 'p', startTimeMs: T0, initContainers: [], containers: [view({ latest: instance('CONTAINER_RUNNING') })] });
    assert.deepEqual(later.conditions, first.conditions);
    const unready = buildPodStatus({ pod: { ...pod(), status: first }, nowMs: T0 + 60_000, hostIP: 'h', podIP: 'p', startTimeMs: T0, initContainers: [], containers: [view({ latest: instance('CONTAINER_RUNNING'), ready: false })] });
    assert.equal(unready.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2023-11-14T22:14:20Z');
  });
});

describe('backoff', () => {
  test('the first retry is free, then the delay doubles up to the cap', () => {
    const b = new Backoff(10_000, 300_000);
    const delays: number[] = [];
    let now = T0;
    for (let i = 0; i < 8; i++) {
      delays.push(b.next('k', now));
      now += delays.at(-1)! + 1_000;
    }
    assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  test('in backoff only within the delay after the failure; an entry idle for twice the cap is forgotten', () => {
    const b = new Backoff(10_000, 300_000);
    assert.equal(b.inBackoffSince('k', T0, T0), false, 'no entry: no backoff');
    b.next('k', T0);
    assert.equal(b.inBackoffSince('k', T0 + 1_000, T0 + 5_000), true);
    assert.equal(b.inBackoffSince('k', T0 + 1_000, T0 + 11_000), false);
    b.next('k', T0 + 20_000);
    assert.equal(b.delayMs('k', T0 + 20_000), 20_000);
    assert.equal(b.next('k', T0 + 20_000 + 600_001), 10_000, 'a container that ran well for long starts over');
  });
});

describe('formatTime', () => {
  test('names the second Date names, whatever came before it (the last second is remembered, never a stale one)', () => {
    const plain = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    // Forward within a second, across seconds, back in time, fractional and pre-1970 times, then each again.
    const times = [T0, T0 + 1, T0 + 999, T0 + 1_000, T0 + 999, T0 - 1, T0 + 86_400_000, T0 + 0.5, T0 + 999.9, -1, -999, -1_000, -1_000.5, -1_500.7, 0, 0.9];
    for (const ms of [...times, ...times.reverse()]) assert.equal(formatTime(ms), plain(ms), `at ${ms}`);
    assert.throws(() => formatTime(Number.NaN), RangeError);
  });
});
