import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCron } from '../api/cron.js';
import type { CronJob, Job } from '../api/types/index.js';
import { dueSchedule, formatInZone, jobNameFor, jobsOverHistory, tooLate } from './cronjob-util.js';

const cronJob = (spec: Partial<NonNullable<CronJob['spec']>>, status: CronJob['status'] = {}): CronJob => ({
  metadata: { name: 'tick', namespace: 'default', creationTimestamp: '2026-01-01T00:00:10Z' },
  spec: { schedule: '*/1 * * * *', jobTemplate: {}, ...spec },
  status,
});
const at = (iso: string) => Date.parse(iso);

describe('CronJob scheduling decisions', () => {
  test('the due schedule is the latest one since the last run (or creation); the next one is when to wake', () => {
    const cj = cronJob({}, { lastScheduleTime: '2026-01-01T00:02:00Z' });
    const due = dueSchedule(cj, parseCron('*/1 * * * *'), at('2026-01-01T00:05:30Z'));
    assert.deepEqual(due, { scheduledMs: at('2026-01-01T00:05:00Z'), missed: 3, nextMs: at('2026-01-01T00:06:00Z') });
    const fresh = dueSchedule(cronJob({}), parseCron('*/1 * * * *'), at('2026-01-01T00:00:50Z'));
    assert.equal(fresh.scheduledMs, undefined, 'nothing due before the first minute after creation');
  });

  test('startingDeadlineSeconds bounds how far back a missed schedule is looked for, and makes a late start a miss', () => {
    const cj = cronJob({ startingDeadlineSeconds: 30, schedule: '0 * * * *' }, { lastScheduleTime: '2026-01-01T00:00:00Z' });
    assert.equal(dueSchedule(cj, parseCron('0 * * * *'), at('2026-01-01T05:10:00Z')).scheduledMs, undefined, 'the 05:00 run is 10 minutes late: not looked for');
    assert.equal(dueSchedule(cj, parseCron('0 * * * *'), at('2026-01-01T05:00:20Z')).scheduledMs, at('2026-01-01T05:00:00Z'));
    assert.equal(tooLate(cj, at('2026-01-01T05:00:00Z'), at('2026-01-01T05:00:31Z')), true);
    assert.equal(tooLate(cronJob({}), at('2026-01-01T05:00:00Z'), at('2026-01-02T05:00:31Z')), false, 'no deadline: never too late');
  });

  test('a Job is named after its scheduled minute; its scheduled-timestamp annotation is RFC 3339 in the CronJob\'s zone', () => {
    assert.equal(jobNameFor(cronJob({}), at('2026-01-01T00:05:00Z')), `tick-${at('2026-01-01T00:05:00Z') / 60_000}`);
    assert.equal(formatInZone(at('2026-01-01T00:05:00Z'), 'UTC'), '2026-01-01T00:05:00Z');
    assert.equal(formatInZone(at('2026-01-01T00:05:00Z'), 'Europe/Berlin'), '2026-01-01T01:05:00+01:00');
    assert.equal(formatInZone(at('2026-07-01T12:00:00Z'), 'America/New_York'), '2026-07-01T08:00:00-04:00');
    assert.equal(formatInZone(at('2026-01-01T00:00:00Z'), 'Asia/Kolkata'), '2026-01-01T05:30:00+05:30');
  });

  test('history limits keep the newest finished Jobs of each outcome and never touch running ones', () => {
    const job = (name: string, start: string, outcome?: 'Complete' | 'Failed'): Job => ({
      metadata: { name }, status: { startTime: start, ...(outcome ? { conditions: [{ type: outcome, status: 'True' }] } : {}) },
    });
    const jobs = [job('s1', '2026-01-01T00:01:00Z', 'Complete'), job('s2', '2026-01-01T00:02:00Z', 'Complete'), job('s3', '2026-01-01T00:03:00Z', 'Complete'),
      job('f1', '2026-01-01T00:04:00Z', 'Failed'), job('f2', '2026-01-01T00:05:00Z', 'Failed'), job('r', '2026-01-01T00:00:00Z')];
    assert.deepEqual(jobsOverHistory(cronJob({ successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }), jobs).map((j) => j.metadata.name), ['s1', 'f1']);
    assert.deepEqual(jobsOverHistory(cronJob({ successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }), jobs).map((j) => j.metadata.name), ['s1', 's2', 's3', 'f1', 'f2']);
  });
});
