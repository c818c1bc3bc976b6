/**
 * The TTL-after-finished controller (Kubernetes' pkg/controller/ttlafterfinished):
 * a Job with spec.ttlSecondsAfterFinished is deleted, with its pods
 * (foreground propagation, as Kubernetes), that many seconds after it
 * finished (Complete or Failed). Time from the injected clock.
 */
import type { Job } from '../api/types/index.js';
import { isNotFound, isConflict, objectKey, type Clock, type Informer } from '../client/index.js';
import { isDeleting, parseTime, type ControllerApi } from './common.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import { JOBS } from './workload-resources.js';

export interface TtlAfterFinishedOptions {
  api: ControllerApi;
  clock: Clock;
  jobs: Informer<Job>;
  workers?: number;
  log?: Logger;
}

/** When a finished Job finished: its completionTime, or when its Complete / Failed condition turned True. */
export function finishedAtMs(job: Job): number | undefined {
  const terminal = (job.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (terminal === undefined) return undefined;
  return parseTime(job.status?.completionTime) ?? parseTime(terminal.lastTransitionTime);
}

/** When the Job is due for deletion, or undefined (no TTL, or not finished). */
export function expiresAtMs(job: Job): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  const finished = finishedAtMs(job);
  return ttl === undefined || ttl === null || finished === undefined ? undefined : finished + ttl * 1000;
}

export class TtlAfterFinishedController {
  readonly workers: KeyedWorkers;

  constructor(private readonly options: TtlAfterFinishedOptions) {
    this.workers = new KeyedWorkers({ name: 'ttl-after-finished', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    const enqueue = (job: Job) => {
      if (job.spec?.ttlSecondsAfterFinished !== undefined && !isDeleting(job)) this.workers.enqueue(objectKey(job));
    };
    options.jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_old, job) => enqueue(job) });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  async sync(key: string): Promise<SyncResult> {
    const job = this.options.jobs.store.get(key);
    if (job === undefined || isDeleting(job)) return;
    const dueMs = expiresAtMs(job);
    if (dueMs === undefined) return;
    const nowMs = this.options.clock.now();
    if (nowMs < dueMs) return { requeueAfterMs: dueMs - nowMs };
    try {
      // Pinned to what was judged: a Job changed since (its TTL raised) is looked at again, not deleted.
      await this.options.api.delete(JOBS, job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid, resourceVersion: job.metadata.resourceVersion },
      });
    } catch (error) {
      if (isNotFound(error)) return;
      if (isConflict(error)) return { requeueAfterMs: 1 };
      throw error;
    }
    return undefined;
  }
}
