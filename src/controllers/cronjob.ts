/**
 * The CronJob controller (Kubernetes' pkg/controller/cronjob, the v2
 * controller): at each scheduled time (cron syntax, in spec.timeZone) it
 * creates a Job from spec.jobTemplate named after the scheduled minute,
 * honouring concurrencyPolicy (Allow, Forbid, Replace),
 * startingDeadlineSeconds and suspend; it keeps status.active,
 * lastScheduleTime and lastSuccessfulTime, and deletes finished Jobs
 * beyond the history limits. It sleeps until the next scheduled time on
 * the injected clock, so it runs on virtual time in the simulated runtime.
 */
import { CronParseError } from '../api/cron.js';
import type { CronJob, CronJobStatus, Job } from '../api/types/index.js';
import { INDEX_OWNER_UID, isNotFound, objectKey, type Clock, type Informer } from '../client/index.js';
import { controllerRefOf, formatTime, isDeleting, ownerRefTo, parseTime, type ControllerApi, type EventRecorder } from './common.js';
import { MISSED_SCHEDULES_MAX, dueSchedule, formatInZone, jobFinished, jobNameFor, jobsOverHistory, scheduleOf, tooLate, zoneOf } from './cronjob-util.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import { CRONJOBS, JOBS } from './workload-resources.js';

/** The annotation a scheduled Job carries: its scheduled time (RFC 3339, in the CronJob's zone). */
export const CRONJOB_SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Kubernetes wakes 100 ms after the scheduled time, so the time has surely come on the controller's clock. */
const WAKE_AFTER_SCHEDULE_MS = 100;

export interface CronJobControllerOptions {
  api: ControllerApi;
  clock: Clock;
  cronJobs: Informer<CronJob>;
  jobs: Informer<Job>;
  recorder: EventRecorder;
  workers?: number;
  log?: Logger;
}

type ActiveRef = NonNullable<CronJobStatus['active']>[number];

export class CronJobController {
  readonly workers: KeyedWorkers;

  constructor(private readonly options: CronJobControllerOptions) {
    this.workers = new KeyedWorkers({ name: 'cronjob', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    options.cronJobs.addEventHandler({
      onAdd: (cj) => this.workers.enqueue(objectKey(cj)),
      onUpdate: (_old, cj) => this.workers.enqueue(objectKey(cj)),
    });
    const jobChanged = (job: Job) => {
      const ref = controllerRefOf(job);
      if (ref?.kind === 'CronJob') this.workers.enqueue(`${job.metadata.namespace}/${ref.name}`);
    };
    options.jobs.addEventHandler({ onAdd: jobChanged, onUpdate: (_old, job) => jobChanged(job), onDelete: jobChanged });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private jobsOf(cronJob: CronJob): Job[] {
    return this.options.jobs.store.byIndex(INDEX_OWNER_UID, cronJob.metadata.uid ?? '')
      .filter((j) => j.metadata.namespace === cronJob.metadata.namespace && controllerRefOf(j)?.uid === cronJob.metadata.uid);
  }

  async sync(key: string): Promise<SyncResult> {
    const cronJob = this.options.cronJobs.store.get(key);
    if (cronJob === undefined) return;
    const nowMs = this.options.clock.now();
    const jobs = this.jobsOf(cronJob);
    const status: CronJobStatus = structuredClone(cronJob.status ?? {});
    const active = this.reconcileActive(cronJob, jobs, status);
    if (isDeleting(cronJob)) return this.finish(cronJob, status, active, undefined);
    await this.cleanUpHistory(cronJob, jobs);
    if (cronJob.spec?.suspend === true) return this.finish(cronJob, status, active, undefined);
    let schedule;
    try {
      schedule = scheduleOf(cronJob);
    } catch (error) {
      const why = error instanceof CronParseError ? error.message : String(error);
      this.options.recorder.warning(withKind(cronJob), 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cronJob.spec?.schedule)} : ${why}`);
      return this.finish(cronJob, status, active, undefined);
    }
    const due = dueSchedule(cronJob, schedule, nowMs);
    const requeueAfterMs = due.nextMs === undefined ? undefined : due.nextMs - nowMs + WAKE_AFTER_SCHEDULE_MS;
    if (due.missed > MISSED_SCHEDULES_MAX) {
      this.options.recorder.warning(withKind(cronJob), 'TooManyMissedTimes', `too many missed start times: ${due.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    }
    const scheduledMs = due.scheduledMs;
    if (scheduledMs === undefined) return this.finish(cronJob, status, active, requeueAfterMs);
    if (tooLate(cronJob, scheduledMs, nowMs)) {
      this.options.recorder.warning(withKind(cronJob), 'MissSchedule', `Missed scheduled time to start a job: ${new Date(scheduledMs).toUTCString()}`);
      return this.finish(cronJob, status, active, requeueAfterMs);
    }
    const name = jobNameFor(cronJob, scheduledMs);
    if (jobs.some((j) => j.metadata.name === name) || active.some((a) => a.name === name)) return this.finish(cronJob, status, active, requeueAfterMs);
    const policy = cronJob.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length > 0) {
      this.options.recorder.normal(withKind(cronJob), 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return this.finish(cronJob, status, active, requeueAfterMs);
    }
    if (policy === 'Replace') {
      for (const ref of [...active]) {
        await this.deleteJob(cronJob, ref.name ?? '');
        active.splice(active.indexOf(ref), 1);
      }
    }
    const created = await this.createJob(cronJob, name, scheduledMs);
    active.push({ apiVersion: 'batch/v1', kind: 'Job', name, namespace: cronJob.metadata.namespace, uid: created?.metadata.uid, resourceVersion: created?.metadata.resourceVersion });
    status.lastScheduleTime = formatTime(scheduledMs);
    return this.finish(cronJob, status, active, requeueAfterMs);
  }

  /** status.active without finished or vanished Jobs, plus running Jobs of ours it missed; notes the last success. */
  private reconcileActive(cronJob: CronJob, jobs: Job[], status: CronJobStatus): ActiveRef[] {
    const byUid = new Map(jobs.map((j) => [j.metadata.uid, j]));
    const active: ActiveRef[] = [];
    for (const ref of status.active ?? []) {
      const job = byUid.get(ref.uid);
      if (job === undefined) continue;
      const finished = jobFinished(job);
      if (finished === undefined) {
        active.push(ref);
        continue;
      }
      this.options.recorder.normal(withKind(cronJob), 'SawCompletedJob', `Saw completed job: ${job.metadata.name}, condition: ${finished}`);
    }
    for (const job of jobs) {
      if (jobFinished(job) === undefined && !isDeleting(job) && !active.some((a) => a.uid === job.metadata.uid)) {
        active.push({ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, namespace: job.metadata.namespace, uid: job.metadata.uid, resourceVersion: job.metadata.resourceVersion });
      }
      if (jobFinished(job) === 'Complete') {
        const doneMs = parseTime(job.status?.completionTime);
        const lastMs = parseTime(status.lastSuccessfulTime);
        if (doneMs !== undefined && (lastMs === undefined || doneMs > lastMs)) status.lastSuccessfulTime = formatTime(doneMs);
      }
    }
    return active;
  }

  private async cleanUpHistory(cronJob: CronJob, jobs: Job[]): Promise<void> {
    for (const job of jobsOverHistory(cronJob, jobs.filter((j) => !isDeleting(j)))) await this.deleteJob(cronJob, job.metadata.name ?? '');
  }

  private async deleteJob(cronJob: CronJob, name: string): Promise<void> {
    try {
      await this.options.api.delete(JOBS, cronJob.metadata.namespace, name, { propagationPolicy: 'Background' });
      this.options.recorder.normal(withKind(cronJob), 'SuccessfulDelete', `Deleted job ${name}`);
    } catch (error) {
      if (isNotFound(error)) return;
      this.options.recorder.warning(withKind(cronJob), 'FailedDelete', `Deleted job: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async createJob(cronJob: CronJob, name: string, scheduledMs: number): Promise<Job | undefined> {
    const template = cronJob.spec?.jobTemplate;
    const job: Job = {
      metadata: {
        name, namespace: cronJob.metadata.namespace,
        labels: { ...(template?.metadata?.labels ?? {}) },
        annotations: { ...(template?.metadata?.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP]: formatInZone(scheduledMs, zoneOf(cronJob)) },
        ownerReferences: [ownerRefTo(cronJob, 'batch/v1', 'CronJob')],
      },
      spec: structuredClone(template?.spec ?? { template: { spec: { containers: [] } } }),
    };
    try {
      const created = await this.options.api.create(JOBS, job);
      this.options.recorder.normal(withKind(cronJob), 'SuccessfulCreate', `Created job ${name}`);
      return created;
    } catch (error) {
      // Already there: an earlier attempt of ours whose answer was lost (the name is per scheduled minute).
      if (error instanceof Error && (error as { reason?: string }).reason === 'AlreadyExists') return undefined;
      this.options.recorder.warning(withKind(cronJob), 'FailedCreate', `Error creating job: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async finish(cronJob: CronJob, status: CronJobStatus, active: ActiveRef[], requeueAfterMs: number | undefined): Promise<SyncResult> {
    const next: CronJobStatus = { ...status };
    if (active.length > 0) next.active = active;
    else delete next.active;
    if (JSON.stringify(next) !== JSON.stringify(cronJob.status ?? {})) {
      try {
        await this.options.api.updateStatus(CRONJOBS, { ...cronJob, status: next });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }
}

function withKind(cronJob: CronJob): CronJob {
  return { ...cronJob, apiVersion: 'batch/v1', kind: 'CronJob' };
}
