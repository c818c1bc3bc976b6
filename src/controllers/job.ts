/**
 * The Job controller (Kubernetes' pkg/controller/job): runs a Job's pods
 * until enough succeed (completions, parallelism; Indexed Jobs one pod per
 * completion index) or the Job fails (backoffLimit with
 * BackoffLimitExceeded, activeDeadlineSeconds with DeadlineExceeded). As
 * Kubernetes 1.32 does, it first adds the interim condition
 * (SuccessCriteriaMet or FailureTarget), deletes what still runs, and adds
 * the terminal one (Complete or Failed) once no pod of the Job is left
 * running. Decisions are in job-util.ts; this file does the writes.
 *
 * Counting: succeeded and failed are the Succeeded and Failed pods the Job
 * owns. Kubernetes also counts pods deleted before they finish (it keeps
 * them with the batch.kubernetes.io/job-tracking finalizer); here a pod
 * deleted while running is replaced, not counted as a failure.
 */
import type { Job, JobStatus, OwnerReference, Pod } from '../api/types/index.js';
import { JOB_COMPLETION_INDEX } from '../api/workloads-strategy.js';
import { INDEX_CONTROLLER_UID, PODS, isNotFound, objectKey, type Clock, type Informer } from '../client/index.js';
import { controllerRefOf, formatTime, isDeleting, ownerRefTo, type ControllerApi, type EventRecorder } from './common.js';
import { Expectations } from './expectations.js';
import {
  classifyPods, deadlineOf, failureOf, formatIndexes, indexesToStart, isJobFinished, jobCondition, recreateNotBeforeMs, succeededEnough,
  succeededIndexes, wantActive, withCondition, type JobPods,
} from './job-util.js';
import { BURST_REPLICAS, rankForDeletion, slowStartBatch, SLOW_START_INITIAL_BATCH } from './replicaset.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import { JOBS } from './workload-resources.js';

export interface JobControllerOptions {
  api: ControllerApi;
  clock: Clock;
  jobs: Informer<Job>;
  pods: Informer<Pod>;
  recorder: EventRecorder;
  workers?: number;
  log?: Logger;
}

export class JobController {
  readonly workers: KeyedWorkers;
  readonly expectations: Expectations;

  constructor(private readonly options: JobControllerOptions) {
    this.expectations = new Expectations(() => options.clock.now());
    this.workers = new KeyedWorkers({ name: 'job', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    options.jobs.addEventHandler({
      onAdd: (job) => this.workers.enqueue(objectKey(job)),
      onUpdate: (_old, job) => this.workers.enqueue(objectKey(job)),
      onDelete: (job) => {
        this.expectations.forget(objectKey(job));
        this.workers.enqueue(objectKey(job));
      },
    });
    options.pods.addEventHandler({
      onAdd: (pod) => {
        const key = this.ownerKey(pod);
        if (key === undefined) return;
        if (isDeleting(pod)) this.expectations.deletionObserved(key, objectKey(pod));
        else this.expectations.creationObserved(key);
        this.workers.enqueue(key);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const key = this.ownerKey(pod);
        if (key === undefined) return;
        if (isDeleting(pod) && !isDeleting(old)) this.expectations.deletionObserved(key, objectKey(pod));
        this.workers.enqueue(key);
      },
      onDelete: (pod) => {
        const key = this.ownerKey(pod);
        if (key === undefined) return;
        this.expectations.deletionObserved(key, objectKey(pod));
        this.workers.enqueue(key);
      },
    });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerRefOf(pod);
    if (ref === undefined || ref.kind !== 'Job') return undefined;
    const key = `${pod.metadata.namespace}/${ref.name}`;
    const job = this.options.jobs.store.get(key);
    return job !== undefined && job.metadata.uid === ref.uid ? key : undefined;
  }

  private podsOf(job: Job): Pod[] {
    return this.options.pods.store.byIndex(INDEX_CONTROLLER_UID, job.metadata.uid ?? '').filter((p) => p.metadata.namespace === job.metadata.namespace);
  }

  async sync(key: string): Promise<SyncResult> {
    const job = this.options.jobs.store.get(key);
    if (job === undefined) {
      this.expectations.forget(key);
      return;
    }
    if (isDeleting(job) || isJobFinished(job)) return;
    const nowMs = this.options.clock.now();
    const stamp = formatTime(nowMs);
    const pods = classifyPods(this.podsOf(job));
    const status: JobStatus = structuredClone(job.status ?? {});
    let conditions = status.conditions ?? [];
    const suspended = job.spec?.suspend === true;
    if (suspended) conditions = withCondition(conditions, 'Suspended', 'JobSuspended', 'Job suspended', stamp);
    else {
      if (jobCondition(job, 'Suspended') !== undefined) {
        conditions = conditions.map((c) => (c.type === 'Suspended' ? { ...c, status: 'False', reason: 'JobResumed', message: 'Job resumed', lastTransitionTime: stamp, lastProbeTime: stamp } : c));
        status.startTime = stamp; // a resumed Job's deadline counts from the resume, as in Kubernetes
      }
      status.startTime ??= stamp;
    }
    const started: Job = { ...job, status };
    const hasTrue = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
    if (!hasTrue('FailureTarget') && !hasTrue('SuccessCriteriaMet') && !suspended) {
      const failure = failureOf(started, pods, nowMs);
      if (failure !== undefined) {
        conditions = withCondition(conditions, 'FailureTarget', failure.reason, failure.message, stamp);
        this.options.recorder.warning(withKind(job), failure.reason, failure.message);
      } else if (succeededEnough(job, pods)) {
        conditions = withCondition(conditions, 'SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', stamp);
      }
    }
    let requeueAfterMs: number | undefined;
    let manageError: unknown;
    const failing = conditions.find((c) => c.type === 'FailureTarget' && c.status === 'True');
    const succeeding = hasTrue('SuccessCriteriaMet');
    try {
      if (failing !== undefined || succeeding) {
        // Wind down: nothing of the Job may run once it is decided; the terminal condition waits for that.
        if (pods.active.length > 0) await this.deletePods(key, job, pods.active);
        else if (pods.terminating.length === 0) {
          if (failing !== undefined) conditions = withCondition(conditions, 'Failed', failing.reason ?? '', failing.message ?? '', stamp);
          else {
            conditions = withCondition(conditions, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', stamp);
            status.completionTime = stamp;
            this.options.recorder.normal(withKind(job), 'Completed', 'Job completed');
          }
        }
      } else if (this.expectations.satisfied(key)) {
        requeueAfterMs = await this.manage(key, job, pods, nowMs);
      }
    } catch (error) {
      manageError = error;
    }
    const deadlineMs = deadlineOf(started);
    if (deadlineMs !== undefined && failing === undefined && !succeeding) {
      const untilDeadline = Math.max(1, deadlineMs - nowMs);
      requeueAfterMs = requeueAfterMs === undefined ? untilDeadline : Math.min(requeueAfterMs, untilDeadline);
    }
    status.conditions = conditions;
    status.active = pods.active.length;
    status.ready = pods.ready;
    status.succeeded = pods.succeeded.length;
    status.failed = pods.failed.length;
    status.terminating = pods.terminating.length;
    status.uncountedTerminatedPods = {};
    if (job.spec?.completionMode === 'Indexed') status.completedIndexes = formatIndexes(succeededIndexes(job, pods));
    await this.writeStatus(job, status);
    if (manageError !== undefined) throw manageError;
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /** Starts or stops pods toward wantActive; returns when to look again if a failure backoff holds creation back. */
  private async manage(key: string, job: Job, pods: JobPods, nowMs: number): Promise<number | undefined> {
    const want = wantActive(job, pods);
    const diff = pods.active.length - want;
    if (diff > 0) {
      await this.deletePods(key, job, rankForDeletion(pods.active).slice(0, Math.min(diff, BURST_REPLICAS)));
      return undefined;
    }
    if (diff === 0) return undefined;
    const notBeforeMs = recreateNotBeforeMs(pods);
    if (notBeforeMs !== undefined && notBeforeMs > nowMs) return notBeforeMs - nowMs;
    const count = Math.min(-diff, BURST_REPLICAS);
    const indexed = job.spec?.completionMode === 'Indexed';
    const indexes = indexed ? indexesToStart(job, pods, count) : [];
    const total = indexed ? indexes.length : count;
    if (total === 0) return undefined;
    this.expectations.expectCreations(key, total);
    let next = 0;
    const { succeeded, error } = await slowStartBatch(total, SLOW_START_INITIAL_BATCH, () => this.createPod(job, indexed ? indexes[next++] : undefined));
    for (let i = succeeded; i < total; i++) this.expectations.creationObserved(key);
    if (error !== undefined) throw error;
    return undefined;
  }

  private async createPod(job: Job, index: number | undefined): Promise<void> {
    const template = job.spec?.template;
    if (template === undefined) throw new Error(`Job ${objectKey(job)} has no pod template`);
    const name = job.metadata.name ?? '';
    const labels = { ...(template.metadata?.labels ?? {}) };
    const annotations = { ...(template.metadata?.annotations ?? {}) };
    const spec = structuredClone(template.spec);
    if (index !== undefined) {
      labels[JOB_COMPLETION_INDEX] = String(index);
      annotations[JOB_COMPLETION_INDEX] = String(index);
      (spec as { hostname?: string }).hostname ??= `${name}-${index}`;
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const env = (c as { env?: { name: string; value?: string }[] }).env ?? [];
        (c as { env?: { name: string; value?: string }[] }).env = [...env.filter((e) => e.name !== 'JOB_COMPLETION_INDEX'), { name: 'JOB_COMPLETION_INDEX', value: String(index) }];
      }
    }
    const ownerReferences: OwnerReference[] = [ownerRefTo(job, 'batch/v1', 'Job')];
    const pod: Pod = {
      metadata: {
        generateName: index === undefined ? `${name}-` : `${name}-${index}-`, namespace: job.metadata.namespace, labels,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}), ownerReferences,
      },
      spec,
    };
    try {
      const created = await this.options.api.create(PODS, pod);
      this.options.recorder.normal(withKind(job), 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (error) {
      this.options.recorder.warning(withKind(job), 'FailedCreate', `Error creating: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async deletePods(key: string, job: Job, victims: Pod[]): Promise<void> {
    this.expectations.expectDeletions(key, victims.map(objectKey));
    const results = await Promise.allSettled(victims.map(async (pod) => {
      try {
        await this.options.api.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        this.options.recorder.normal(withKind(job), 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.expectations.deletionObserved(key, objectKey(victims[i]!));
    });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async writeStatus(job: Job, status: JobStatus): Promise<void> {
    const comparable = (s: JobStatus | undefined) => JSON.stringify({ ...(s ?? {}), conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastProbeTime: undefined })) });
    if (comparable(job.status) === comparable(status)) return;
    try {
      await this.options.api.updateStatus(JOBS, { ...job, status });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error; // a conflict: the newer Job is on its way through the informer and requeues the key
    }
  }
}

function withKind(job: Job): Job {
  return { ...job, apiVersion: 'batch/v1', kind: 'Job' };
}
