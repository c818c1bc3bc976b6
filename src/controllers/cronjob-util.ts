/**
 * The CronJob controller's decisions (Kubernetes' pkg/controller/cronjob
 * utils): which scheduled time is due now, whether it is too late to
 * start, the Job name of a scheduled time, and which finished Jobs fall
 * out of the history limits. Pure: `nowMs` is passed in.
 */
import { activationsBetween, nextActivation, parseCron, wallClock, type CronSchedule } from '../api/cron.js';
import type { CronJob, Job } from '../api/types/index.js';
import { parseTime } from './common.js';

/** Kubernetes warns (TooManyMissedTimes) past this many missed schedules and starts only the latest. */
export const MISSED_SCHEDULES_MAX = 100;

export interface DueSchedule {
  /** The most recent scheduled time not later than now that has not run, if any. */
  scheduledMs: number | undefined;
  /** How many schedules were missed since the last run (more than MISSED_SCHEDULES_MAX means "too many"). */
  missed: number;
  /** The next scheduled time after now, when to look again. */
  nextMs: number | undefined;
}

export function scheduleOf(cronJob: CronJob): CronSchedule {
  return parseCron(cronJob.spec?.schedule ?? '');
}

export function zoneOf(cronJob: CronJob): string {
  return cronJob.spec?.timeZone ?? 'UTC';
}

/**
 * The schedule due now: the latest activation after the last scheduled
 * time (or the creation time), and no earlier than startingDeadlineSeconds
 * ago, as Kubernetes' mostRecentScheduleTime.
 */
export function dueSchedule(cronJob: CronJob, schedule: CronSchedule, nowMs: number): DueSchedule {
  const zone = zoneOf(cronJob);
  let earliestMs = parseTime(cronJob.status?.lastScheduleTime) ?? parseTime(cronJob.metadata.creationTimestamp) ?? nowMs;
  const deadline = cronJob.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null) earliestMs = Math.max(earliestMs, nowMs - deadline * 1000);
  const { count, latestMs } = activationsBetween(schedule, earliestMs, nowMs, zone, MISSED_SCHEDULES_MAX);
  return { scheduledMs: latestMs, missed: count, nextMs: nextActivation(schedule, nowMs, zone) };
}

/** Past startingDeadlineSeconds: the scheduled run is skipped (MissSchedule). */
export function tooLate(cronJob: CronJob, scheduledMs: number, nowMs: number): boolean {
  const deadline = cronJob.spec?.startingDeadlineSeconds;
  return deadline !== undefined && deadline !== null && scheduledMs + deadline * 1000 < nowMs;
}

/** `<cronjob>-<minutes since the epoch>`: one Job per scheduled time, so a retried create finds its own Job. */
export function jobNameFor(cronJob: CronJob, scheduledMs: number): string {
  return `${cronJob.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}

export function jobFinished(job: Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed')) return c.type;
  }
  return undefined;
}

/** Finished Jobs beyond the history limits, oldest first: the ones to delete. */
export function jobsOverHistory(cronJob: CronJob, jobs: readonly Job[]): Job[] {
  const byStart = (a: Job, b: Job) => (parseTime(a.status?.startTime ?? a.metadata.creationTimestamp) ?? 0) - (parseTime(b.status?.startTime ?? b.metadata.creationTimestamp) ?? 0);
  const over = (kind: 'Complete' | 'Failed', limit: number | undefined): Job[] => {
    if (limit === undefined || limit === null) return [];
    const finished = jobs.filter((j) => jobFinished(j) === kind).sort(byStart);
    return finished.slice(0, Math.max(0, finished.length - limit));
  };
  return [...over('Complete', cronJob.spec?.successfulJobsHistoryLimit), ...over('Failed', cronJob.spec?.failedJobsHistoryLimit)];
}

/** RFC 3339 on the zone's wall clock with its offset (`2026-03-01T10:00:00+01:00`; `Z` for UTC), as Go's time.Format in a location. */
export function formatInZone(ms: number, zone: string): string {
  const seconds = Math.floor(ms / 1000) * 1000;
  const w = wallClock(seconds, zone);
  const wallMs = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, new Date(seconds).getUTCSeconds());
  const offsetMinutes = Math.round((wallMs - seconds) / 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(new Date(seconds).getUTCSeconds())}`;
  if (offsetMinutes === 0) return `${date}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${date}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
