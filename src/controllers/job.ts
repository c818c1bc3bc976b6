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
 * Counting as Kubernetes does, with the batch.kubernetes.io/job-tracking
 * finalizer on every pod: a finished pod (or one deleted before it
 * finished: a failure) is recorded in status.uncountedTerminatedPods, its
 * finalizer removed, then added to succeeded / failed, so neither a pod
 * deleted early nor a controller failover loses or doubles a count. Pods
 * of a deleted Job, and orphans whose Job is gone, are released.
 */
import type { Job, JobStatus, OwnerReference, Pod } from '../api/types/index.js';
import { JOB_COMPLETION_INDEX } from '../api/workloads-strategy.js';
import { INDEX_CONTROLLER_UID, PODS, isConflict, isNotFound, objectKey, type Clock, type Informer } from '../client/index.js';
import { controllerRefOf, formatTime, isDeleting, ownerRefTo, type ControllerApi, type EventRecorder } from './common.js';
import { Expectations } from './expectations.js';
import {
  JOB_TRACKING_FINALIZER, classifyPods, deadlineOf, failureOf, formatIndexes, hasTrackingFinalizer, indexOf, indexesToStart, isJobFinished, jobCondition,
  outcomeOf, parseIndexes, recreateNotBeforeMs, succeededEnough, wantActive, withCondition, type JobCounts, type JobPods,
} from './job-util.js';
import { BURST_REPLICAS, rankForDeletion, slowStartBatch, SLOW_START_INITIAL_BATCH } from './replicaset.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import { JOBS } from './workload-resources.js';

/** Work-queue keys of pods whose Job may be gone, apart from Job keys (`namespace/name`). */
const ORPHAN_KEY_PREFIX = 'orphan-pod:';
/** How soon to look again while finished pods wait to be counted (a finalizer removal lost a race). */
const UNCOUNTED_RETRY_MS = 1_000;

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
  /** Per Job: pods whose finalizer this controller removed and counted, until the cache shows it gone (so a lagging cache cannot count them twice). */
  private readonly finalizersRemoved = new Map<string, Set<string>>();

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
        if (key === undefined) return this.orphanCheck(pod);
        if (isDeleting(pod)) this.expectations.deletionObserved(key, objectKey(pod));
        else this.expectations.creationObserved(key);
        this.workers.enqueue(key);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const key = this.ownerKey(pod);
        if (key === undefined) return this.orphanCheck(pod);
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

  /** A pod with the finalizer and no Job in the cache is looked at by a worker (which start only once every cache has listed). */
  private orphanCheck(pod: Pod): void {
    if (hasTrackingFinalizer(pod)) this.workers.enqueue(`${ORPHAN_KEY_PREFIX}${objectKey(pod)}`);
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
    if (key.startsWith(ORPHAN_KEY_PREFIX)) return this.syncOrphan(key.slice(ORPHAN_KEY_PREFIX.length));
    const cached = this.options.jobs.store.get(key);
    if (cached === undefined) {
      this.expectations.forget(key);
      this.finalizersRemoved.delete(key);
      return;
    }
    const owned = this.podsOf(cached);
    if (isDeleting(cached) || isJobFinished(cached)) {
      // Nothing more is counted: let every pod go (a Job deleted in foreground waits for them).
      await this.releasePods(owned.filter(hasTrackingFinalizer));
      this.finalizersRemoved.delete(key);
      return;
    }
    const nowMs = this.options.clock.now();
    const stamp = formatTime(nowMs);
    const pods = classifyPods(owned);
    const tracked = await this.track(key, cached, owned);
    const job = tracked.job;
    const status: JobStatus = structuredClone(job.status ?? {});
    const counts = tracked.counts;
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
      const failure = failureOf(started, pods, counts, nowMs);
      if (failure !== undefined) {
        conditions = withCondition(conditions, 'FailureTarget', failure.reason, failure.message, stamp);
        this.options.recorder.warning(withKind(job), failure.reason, failure.message);
      } else if (succeededEnough(job, pods, counts)) {
        conditions = withCondition(conditions, 'SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', stamp);
      }
    }
    let requeueAfterMs: number | undefined;
    let manageError: unknown;
    const failing = conditions.find((c) => c.type === 'FailureTarget' && c.status === 'True');
    const succeeding = hasTrue('SuccessCriteriaMet');
    try {
      if (failing !== undefined || succeeding) {
        // Wind down: nothing of the Job may run once it is decided; the terminal condition waits until every pod is gone and counted.
        if (pods.active.length > 0) await this.deletePods(key, job, pods.active);
        else if (pods.terminating.length === 0 && tracked.uncounted === 0) {
          if (failing !== undefined) conditions = withCondition(conditions, 'Failed', failing.reason ?? '', failing.message ?? '', stamp);
          else {
            conditions = withCondition(conditions, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', stamp);
            status.completionTime = stamp;
            this.options.recorder.normal(withKind(job), 'Completed', 'Job completed');
          }
        }
      } else if (this.expectations.satisfied(key)) {
        requeueAfterMs = await this.manage(key, job, pods, counts, nowMs);
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
    status.terminating = pods.terminating.length;
    await this.writeStatus(job, status);
    if (manageError !== undefined) throw manageError;
    if (tracked.uncounted > 0 && requeueAfterMs === undefined) requeueAfterMs = UNCOUNTED_RETRY_MS;
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /**
   * Counting with the job-tracking finalizer, in Kubernetes' order, so no
   * pod is counted twice or lost: finished pods still holding the finalizer
   * are first recorded in status.uncountedTerminatedPods (written), then
   * their finalizers removed, then they move to succeeded / failed (and
   * completedIndexes). Returns the Job as last written and the totals.
   */
  private async track(key: string, cached: Job, owned: Pod[]): Promise<{ job: Job; counts: JobCounts; uncounted: number }> {
    let job = cached;
    const status: JobStatus = structuredClone(job.status ?? {});
    const uncountedSucceeded = new Set(status.uncountedTerminatedPods?.succeeded ?? []);
    const uncountedFailed = new Set(status.uncountedTerminatedPods?.failed ?? []);
    const removed = this.finalizersRemoved.get(key) ?? new Set<string>();
    const byUid = new Map(owned.map((p) => [p.metadata.uid ?? '', p]));
    for (const uid of removed) {
      const pod = byUid.get(uid);
      if (pod === undefined || !hasTrackingFinalizer(pod)) removed.delete(uid);
    }
    let added = false;
    for (const pod of owned) {
      const uid = pod.metadata.uid ?? '';
      const outcome = outcomeOf(pod);
      if (outcome === undefined || !hasTrackingFinalizer(pod) || removed.has(uid) || uncountedSucceeded.has(uid) || uncountedFailed.has(uid)) continue;
      (outcome === 'succeeded' ? uncountedSucceeded : uncountedFailed).add(uid);
      added = true;
    }
    const uncountedOf = () => ({ succeeded: [...uncountedSucceeded], failed: [...uncountedFailed] });
    // An index is completed with the first write that records its pod: once the pod is gone its index could not be learnt again.
    const indexed = job.spec?.completionMode === 'Indexed';
    const limit = job.spec?.completions ?? 0;
    const completed = indexed ? parseIndexes(status.completedIndexes, limit) : new Set<number>();
    for (const uid of uncountedSucceeded) {
      const pod = byUid.get(uid);
      const index = pod === undefined ? undefined : indexOf(pod);
      if (index !== undefined && index < limit) completed.add(index);
    }
    const completedIndexes = indexed ? formatIndexes(completed) : undefined;
    const withIndexes = (s: JobStatus): JobStatus => (completedIndexes !== undefined ? { ...s, completedIndexes } : s);
    if (added) job = await this.options.api.updateStatus(JOBS, { ...job, status: withIndexes({ ...status, uncountedTerminatedPods: uncountedOf() }) });
    // Only pods recorded as uncounted (now in the store) lose the finalizer.
    const released = await this.releasePods(owned.filter((p) => hasTrackingFinalizer(p) && !removed.has(p.metadata.uid ?? '')
      && (uncountedSucceeded.has(p.metadata.uid ?? '') || uncountedFailed.has(p.metadata.uid ?? ''))));
    for (const uid of released) removed.add(uid);
    this.finalizersRemoved.set(key, removed);
    let succeeded = job.status?.succeeded ?? 0;
    let failed = job.status?.failed ?? 0;
    let moved = false;
    for (const [set, outcome] of [[uncountedSucceeded, 'succeeded'], [uncountedFailed, 'failed']] as const) {
      for (const uid of [...set]) {
        const pod = byUid.get(uid);
        if (pod !== undefined && hasTrackingFinalizer(pod) && !released.has(uid) && !removed.has(uid)) continue;
        set.delete(uid);
        moved = true;
        if (outcome === 'failed') failed++;
        else succeeded++;
      }
    }
    const countedStatus = withIndexes({ ...(job.status ?? {}), succeeded, failed, uncountedTerminatedPods: uncountedOf() });
    if (moved || JSON.stringify(job.status?.uncountedTerminatedPods) !== JSON.stringify(countedStatus.uncountedTerminatedPods) || (indexed && job.status?.completedIndexes !== completedIndexes)) {
      job = await this.options.api.updateStatus(JOBS, { ...job, status: countedStatus });
    }
    // Decisions see every finished pod: those counted and those still on their way to the counters.
    return {
      job,
      counts: { succeeded: succeeded + uncountedSucceeded.size, failed: failed + uncountedFailed.size, completedIndexes: completed },
      uncounted: uncountedSucceeded.size + uncountedFailed.size,
    };
  }

  /** Removes the job-tracking finalizer from these pods; the uids it was removed from (or whose pod is gone). */
  private async releasePods(pods: Pod[]): Promise<Set<string>> {
    const released = new Set<string>();
    await Promise.all(pods.map(async (pod) => {
      const finalizers = (pod.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
      try {
        // Pinned to the pod we judged: a stale cache must not drop a finalizer someone else added since.
        await this.options.api.patch(PODS, pod.metadata.namespace, pod.metadata.name!, 'merge', { metadata: { finalizers: finalizers.length > 0 ? finalizers : null, resourceVersion: pod.metadata.resourceVersion } });
        released.add(pod.metadata.uid ?? '');
      } catch (error) {
        if (isNotFound(error)) released.add(pod.metadata.uid ?? '');
        else if (!isConflict(error)) throw error;
      }
    }));
    return released;
  }

  /** A pod holding the finalizer whose Job is gone: let it go, once the store confirms the Job is gone (the cache may lag). */
  private async syncOrphan(podKey: string): Promise<SyncResult> {
    const pod = this.options.pods.store.get(podKey);
    if (pod === undefined || !hasTrackingFinalizer(pod)) return;
    const ref = controllerRefOf(pod);
    if (ref?.kind === 'Job') {
      const owner = this.ownerKey(pod);
      if (owner !== undefined) {
        this.workers.enqueue(owner);
        return;
      }
      const live = await this.options.api.tryGet(JOBS, pod.metadata.namespace, ref.name);
      if (live !== null && live.metadata.uid === ref.uid && !isDeleting(live)) return;
    }
    await this.releasePods([pod]);
  }

  /** Starts or stops pods toward wantActive; returns when to look again if a failure backoff holds creation back. */
  private async manage(key: string, job: Job, pods: JobPods, counts: JobCounts, nowMs: number): Promise<number | undefined> {
    const want = wantActive(job, pods, counts);
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
    const indexes = indexed ? indexesToStart(job, pods, counts, count) : [];
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
        generateName: index === undefined ? `${name}-` : `${name}-${index}-`, namespace: job.metadata.namespace, labels, finalizers: [JOB_TRACKING_FINALIZER],
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
