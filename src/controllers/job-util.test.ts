import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job, Pod } from '../api/types/index.js';
import { JOB_COMPLETION_INDEX } from '../api/workloads-strategy.js';
import {
  JOB_BACKOFF_INITIAL_MS, JOB_TRACKING_FINALIZER, classifyPods, failureOf, formatIndexes, hasTrackingFinalizer, indexesToStart, outcomeOf, parseIndexes,
  recreateNotBeforeMs, succeededEnough, succeededIndexes, wantActive, type JobCounts, type JobPods,
} from './job-util.js';

function job(spec: Partial<NonNullable<Job['spec']>>, startTime = '2026-01-01T00:00:00Z'): Job {
  return { metadata: { name: 'j', namespace: 'default' }, spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } }, ...spec }, status: { startTime } };
}
let seq = 0;
function pod(phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed', extra: { index?: number; restarts?: number; ready?: boolean; deleting?: boolean; finishedAt?: string } = {}): Pod {
  return {
    metadata: {
      name: `p${seq++}`, namespace: 'default',
      ...(extra.index !== undefined ? { annotations: { [JOB_COMPLETION_INDEX]: String(extra.index) } } : {}),
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    status: {
      phase,
      conditions: extra.ready ? [{ type: 'Ready', status: 'True' }] : [],
      containerStatuses: [{
        name: 'c', ready: extra.ready ?? false, restartCount: extra.restarts ?? 0, image: 'x', imageID: '',
        ...(extra.finishedAt ? { state: { terminated: { exitCode: 1, finishedAt: extra.finishedAt } } } : {}),
      }],
    },
  };
}
const NOW = Date.parse('2026-01-01T00:01:00Z');
/** What the controller would have counted once these pods are all counted. */
const countsOf = (j: Job, pods: JobPods): JobCounts => ({ succeeded: pods.succeeded.length, failed: pods.failed.length, completedIndexes: succeededIndexes(j, pods) });
const withCounts = (j: Job, pods: JobPods): [Job, JobPods, JobCounts] => [j, pods, countsOf(j, pods)];

describe('Job accounting', () => {
  test('pods are counted as active, ready, terminating, succeeded and failed; a finished pod being deleted still counts as finished', () => {
    const counted = classifyPods([pod('Running', { ready: true }), pod('Pending'), pod('Running', { deleting: true }), pod('Succeeded'), pod('Succeeded', { deleting: true }), pod('Failed')]);
    assert.deepEqual([counted.active.length, counted.ready, counted.terminating.length, counted.succeeded.length, counted.failed.length], [2, 1, 1, 2, 1]);
  });

  test('backoffLimit: the Job fails once failed pods exceed it, not when they reach it', () => {
    const j = job({ backoffLimit: 2 });
    assert.equal(failureOf(...withCounts(j, classifyPods([pod('Failed'), pod('Failed')])), NOW), undefined);
    assert.deepEqual(failureOf(...withCounts(j, classifyPods([pod('Failed'), pod('Failed'), pod('Failed')])), NOW), { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  });

  test('restartPolicy OnFailure: restarts of running pods count toward backoffLimit (reaching it fails; with 0, any restart does)', () => {
    const onFailure = (limit: number) => job({ backoffLimit: limit, template: { spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'OnFailure' } } });
    assert.equal(failureOf(...withCounts(onFailure(3), classifyPods([pod('Running', { restarts: 2 })])), NOW), undefined);
    assert.equal(failureOf(...withCounts(onFailure(3), classifyPods([pod('Running', { restarts: 2 }), pod('Running', { restarts: 1 })])), NOW)?.reason, 'BackoffLimitExceeded');
    assert.equal(failureOf(...withCounts(onFailure(0), classifyPods([pod('Running', { restarts: 1 })])), NOW)?.reason, 'BackoffLimitExceeded');
    assert.equal(failureOf(...withCounts(job({ backoffLimit: 1 }), classifyPods([pod('Running', { restarts: 5 })])), NOW), undefined, 'under Never, restarts do not count');
  });

  test('activeDeadlineSeconds counts from startTime', () => {
    assert.equal(failureOf(...withCounts(job({ activeDeadlineSeconds: 61 }), classifyPods([pod('Running')])), NOW), undefined);
    assert.deepEqual(failureOf(...withCounts(job({ activeDeadlineSeconds: 60 }), classifyPods([pod('Running')])), NOW), { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
  });

  test('how many pods run: min(parallelism, completions left); none when suspended; a work queue stops starting once one succeeded', () => {
    assert.equal(wantActive(...withCounts(job({ completions: 5, parallelism: 2 }), classifyPods([pod('Succeeded'), pod('Succeeded'), pod('Succeeded'), pod('Succeeded')]))), 1);
    assert.equal(wantActive(...withCounts(job({ completions: 5, parallelism: 2 }), classifyPods([]))), 2);
    assert.equal(wantActive(...withCounts(job({ completions: 5, parallelism: 2, suspend: true }), classifyPods([pod('Running')]))), 0);
    assert.equal(wantActive(...withCounts(job({ parallelism: 3 }), classifyPods([pod('Running'), pod('Succeeded')]))), 1, 'no completions: the running ones finish, no new ones');
    assert.equal(succeededEnough(...withCounts(job({ parallelism: 3 }), classifyPods([pod('Running'), pod('Succeeded')]))), false);
    assert.equal(succeededEnough(...withCounts(job({ parallelism: 3 }), classifyPods([pod('Succeeded')]))), true);
    assert.equal(succeededEnough(...withCounts(job({ completions: 2 }), classifyPods([pod('Succeeded'), pod('Succeeded')]))), true);
  });

  test('Indexed: indexes already succeeded or running are not started again; lowest first; completedIndexes as ranges', () => {
    const j = job({ completions: 6, parallelism: 3, completionMode: 'Indexed' });
    const pods = classifyPods([pod('Succeeded', { index: 0 }), pod('Succeeded', { index: 0 }), pod('Running', { index: 1 }), pod('Succeeded', { index: 3 }), pod('Failed', { index: 2 })]);
    assert.deepEqual(indexesToStart(j, pods, countsOf(j, pods), 3), [2, 4, 5]);
    assert.equal(wantActive(j, pods, countsOf(j, pods)), 3, 'six indexes, two done: four left, three at a time');
    assert.equal(succeededEnough(j, pods, countsOf(j, pods)), false);
    assert.equal(formatIndexes([7, 0, 1, 2, 5, 8, 1]), '0-2,5,7-8');
    assert.equal(formatIndexes([]), '');
  });

  test('counting with the job-tracking finalizer: a pod being deleted before it finished counts as failed; completedIndexes parse back', () => {
    assert.equal(outcomeOf(pod('Succeeded')), 'succeeded');
    assert.equal(outcomeOf(pod('Failed')), 'failed');
    assert.equal(outcomeOf(pod('Running', { deleting: true })), 'failed');
    assert.equal(outcomeOf(pod('Succeeded', { deleting: true })), 'succeeded');
    assert.equal(outcomeOf(pod('Running')), undefined);
    assert.equal(hasTrackingFinalizer({ metadata: { finalizers: [JOB_TRACKING_FINALIZER] } }), true);
    assert.deepEqual([...parseIndexes('0-2,5,7-8', 100)], [0, 1, 2, 5, 7, 8]);
    assert.deepEqual([...parseIndexes('3-9,x,', 5)], [3, 4], 'bounded by completions, junk ignored');
  });

  test('pod failure backoff: 10 s after the newest failure, doubling per failure', () => {
    assert.equal(recreateNotBeforeMs(classifyPods([pod('Running')])), undefined);
    const failedAt = '2026-01-01T00:00:30Z';
    assert.equal(recreateNotBeforeMs(classifyPods([pod('Failed', { finishedAt: failedAt })])), Date.parse(failedAt) + JOB_BACKOFF_INITIAL_MS);
    assert.equal(recreateNotBeforeMs(classifyPods([pod('Failed', { finishedAt: '2026-01-01T00:00:00Z' }), pod('Failed', { finishedAt: failedAt }), pod('Failed', { finishedAt: '2026-01-01T00:00:10Z' })])), Date.parse(failedAt) + 4 * JOB_BACKOFF_INITIAL_MS);
  });
});
