/** Typed names of the batch and policy resources the workload controllers read and write. */
import type { CronJob, Job, KubeObject, ServiceAccount } from '../api/types/index.js';
import type { ResourceType } from '../client/index.js';

function resourceType<T extends KubeObject>(group: string, version: string, resource: string, kind: string): ResourceType<T> {
  return Object.freeze({ group, version, resource, kind, namespaced: true });
}

export const JOBS = resourceType<Job>('batch', 'v1', 'jobs', 'Job');
export const CRONJOBS = resourceType<CronJob>('batch', 'v1', 'cronjobs', 'CronJob');
export const SERVICEACCOUNTS = resourceType<ServiceAccount>('', 'v1', 'serviceaccounts', 'ServiceAccount');
/** The scheduler reads budgets too (preemption), so their type lives with the client's. */
export { PODDISRUPTIONBUDGETS } from '../client/index.js';
