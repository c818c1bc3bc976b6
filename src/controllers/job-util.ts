/**
 * The Job controller's decisions, apart from its writes (as Kubernetes'
 * pkg/controller/job splits them): counting a Job's pods, whether it has
 * failed (backoffLimit, counting container restarts under OnFailure;
 * activeDeadlineSeconds) or succeeded, how many pods should run, which
 * indexes an Indexed Job still needs, and the pod-recreation backoff. Pure.
 */
import type { Job, JobCondition, Pod } from '../api/types/index.js';
import { JOB_COMPLETION_INDEX } from '../api/workloads-strategy.js';
import { isDeleting, isPodReady, parseTime } from './common.js';

/** Kubernetes' DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff: 10 s doubling, at most 6 min. */
export const JOB_BACKOFF_INITIAL_MS = 10_000;
export const JOB_BACKOFF_MAX_MS = 360_000;

/** Kubernetes' finalizer on a Job's pods: a pod is not gone before the Job has counted it. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

/** What the Job has counted (status.succeeded / failed plus the uncounted terminated pods), and the indexes completed. */
export interface JobCounts {
  succeeded: number;
  failed: number;
  completedIndexes: Set<number>;
}

export function hasTrackingFinalizer(pod: Pod): boolean {
  return (pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

/**
 * How a pod counts once it is done: Succeeded, or failed — a Failed pod, and
 * also one being deleted before it finished (Kubernetes counts terminating
 * pods as failures). undefined: still running.
 */
export function outcomeOf(pod: Pod): 'succeeded' | 'failed' | undefined {
  if (pod.status?.phase === 'Succeeded') return 'succeeded';
  if (pod.status?.phase === 'Failed' || isDeleting(pod)) return 'failed';
  return undefined;
}

/** Parses completedIndexes (`0-2,5`); malformed parts are ignored, indexes past `limit` dropped. */
export function parseIndexes(text: string | undefined, limit: number): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) continue;
    const from = Number(match[1]);
    const to = Math.min(match[2] === undefined ? from : Number(match[2]), limit - 1);
    for (let i = from; i <= to; i++) out.add(i);
  }
  return out;
}

export interface JobPods {
  /** Not finished and not being deleted. */
  active: Pod[];
  /** Being deleted and not finished. */
  terminating: Pod[];
  succeeded: Pod[];
  failed: Pod[];
  ready: number;
}

export function isTerminalPod(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function classifyPods(pods: readonly Pod[]): JobPods {
  const out: JobPods = { active: [], terminating: [], succeeded: [], failed: [], ready: 0 };
  for (const pod of pods) {
    if (pod.status?.phase === 'Succeeded') out.succeeded.push(pod);
    else if (pod.status?.phase === 'Failed') out.failed.push(pod);
    else if (isDeleting(pod)) out.terminating.push(pod);
    else {
      out.active.push(pod);
      if (isPodReady(pod)) out.ready++;
    }
  }
  return out;
}

export function jobCondition(job: Job, type: string): JobCondition | undefined {
  return (job.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');
}

/** Complete or Failed: nothing more happens to it but its TTL. */
export function isJobFinished(job: Job): boolean {
  return jobCondition(job, 'Complete') !== undefined || jobCondition(job, 'Failed') !== undefined;
}

/** Restarts of the containers of active pods: under OnFailure, Kubernetes counts them toward backoffLimit (pastBackoffLimitOnFailure). */
export function restartsOfActive(active: readonly Pod[]): number {
  let restarts = 0;
  for (const pod of active) {
    for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) restarts += c.restartCount ?? 0;
  }
  return restarts;
}

export interface FailureVerdict {
  reason: 'BackoffLimitExceeded' | 'DeadlineExceeded';
  message: string;
}

/**
 * Why the Job fails now, if it does: more failed pods than backoffLimit
 * (with OnFailure, restarts of running pods count as failures), or
 * activeDeadlineSeconds passed since startTime.
 */
export function failureOf(job: Job, pods: JobPods, counts: JobCounts, nowMs: number): FailureVerdict | undefined {
  const backoffLimit = job.spec?.backoffLimit ?? 6;
  const failed = counts.failed;
  if (failed > backoffLimit) return { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  if (job.spec?.template.spec.restartPolicy === 'OnFailure') {
    const restarts = restartsOfActive(pods.active);
    if (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit) return { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  }
  const deadlineMs = deadlineOf(job);
  if (deadlineMs !== undefined && nowMs >= deadlineMs) return { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  return undefined;
}

/** When activeDeadlineSeconds runs out, if the Job has one and has started. */
export function deadlineOf(job: Job): number | undefined {
  const seconds = job.spec?.activeDeadlineSeconds;
  const startMs = parseTime(job.status?.startTime);
  return seconds === undefined || startMs === undefined ? undefined : startMs + seconds * 1000;
}

/** The completion index of a pod of an Indexed Job, from its annotation (or label); undefined if missing or malformed. */
export function indexOf(pod: Pod): number | undefined {
  const text = pod.metadata.annotations?.[JOB_COMPLETION_INDEX] ?? pod.metadata.labels?.[JOB_COMPLETION_INDEX];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** Indexes in [0, completions) with a Succeeded pod. */
export function succeededIndexes(job: Job, pods: JobPods): Set<number> {
  const completions = job.spec?.completions ?? 0;
  const done = new Set<number>();
  for (const pod of pods.succeeded) {
    const i = indexOf(pod);
    if (i !== undefined && i < completions) done.add(i);
  }
  return done;
}

/** Kubernetes' completedIndexes text: sorted, consecutive runs as ranges: `0-2,5,7-8`. */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Whether the Job has met its success criteria: enough completions (or, without completions, one success and nothing running). */
export function succeededEnough(job: Job, pods: JobPods, counts: JobCounts): boolean {
  const completions = job.spec?.completions;
  if (job.spec?.completionMode === 'Indexed') return counts.completedIndexes.size >= (completions ?? 0);
  if (completions === undefined || completions === null) return counts.succeeded > 0 && pods.active.length === 0;
  return counts.succeeded >= completions;
}

/** How many pods should be running now (Kubernetes' manageJob for NonIndexed). */
export function wantActive(job: Job, pods: JobPods, counts: JobCounts): number {
  if (job.spec?.suspend === true) return 0;
  const parallelism = job.spec?.parallelism ?? 1;
  const completions = job.spec?.completions;
  if (completions === undefined || completions === null) {
    // Work-queue Jobs: once one pod succeeded, no new pods start.
    return counts.succeeded > 0 ? Math.min(parallelism, pods.active.length) : parallelism;
  }
  const remaining = job.spec?.completionMode === 'Indexed' ? completions - counts.completedIndexes.size : completions - counts.succeeded;
  return Math.max(0, Math.min(parallelism, remaining));
}

/** Indexes an Indexed Job should start next: not succeeded, not running, lowest first, at most `count`. */
export function indexesToStart(job: Job, pods: JobPods, counts: JobCounts, count: number): number[] {
  const completions = job.spec?.completions ?? 0;
  const taken = new Set(counts.completedIndexes);
  for (const pod of [...pods.active, ...pods.terminating]) {
    const i = indexOf(pod);
    if (i !== undefined) taken.add(i);
  }
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) if (!taken.has(i)) out.push(i);
  return out;
}

/**
 * When a new pod may be created after failures: 10 s after the newest
 * failure, doubling per further failure, at most 6 min (Kubernetes' pod
 * failure backoff). undefined: no wait.
 */
export function recreateNotBeforeMs(pods: JobPods): number | undefined {
  if (pods.failed.length === 0) return undefined;
  let lastMs = 0;
  for (const pod of pods.failed) lastMs = Math.max(lastMs, finishedAtMs(pod));
  const delayMs = Math.min(JOB_BACKOFF_MAX_MS, JOB_BACKOFF_INITIAL_MS * 2 ** Math.min(pods.failed.length - 1, 16));
  return lastMs + delayMs;
}

function finishedAtMs(pod: Pod): number {
  let at = 0;
  for (const c of pod.status?.containerStatuses ?? []) at = Math.max(at, parseTime(c.state?.terminated?.finishedAt) ?? 0);
  if (at === 0) at = parseTime((pod.status?.conditions ?? []).find((c) => c.type === 'Ready')?.lastTransitionTime) ?? parseTime(pod.metadata.creationTimestamp) ?? 0;
  return at;
}

/** A condition set to True now (its transition time kept if it already was True). */
export function withCondition(conditions: readonly JobCondition[] | undefined, type: string, reason: string, message: string, stamp: string): JobCondition[] {
  const previous = (conditions ?? []).find((c) => c.type === type);
  const others = (conditions ?? []).filter((c) => c.type !== type);
  const kept = previous?.status === 'True' ? previous.lastTransitionTime : undefined;
  return [...others, { type, status: 'True', lastProbeTime: stamp, lastTransitionTime: kept ?? stamp, reason, message }];
}
