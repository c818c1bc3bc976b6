import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from './errors.js';
import { findResource } from './resources.js';
import { startHandlers } from './testing.js';
import type { CronJob, Job, PodDisruptionBudget } from './types/index.js';
import { JOB_CONTROLLER_UID_LABEL, JOB_NAME_LABEL } from './workloads-strategy.js';

const jobs = findResource('batch', 'v1', 'jobs')!;
const cronjobs = findResource('batch', 'v1', 'cronjobs')!;
const pdbs = findResource('policy', 'v1', 'poddisruptionbudgets')!;

const podTemplate = (restartPolicy?: string) => ({ spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'c', image: 'sim/exit-after-1s' }] } });
const job = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, spec: { template: podTemplate('Never'), ...spec } });
const cronJob = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: podTemplate('OnFailure') } }, ...spec },
});
const pdb = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec });

/** The field paths and messages of a 422, as `field: message`. */
async function invalidFields(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError && error.code === 422, `a 422, not ${String(error)}`);
    return (error.status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
  }
  return assert.fail('the write was accepted');
}

describe('batch/v1 and policy/v1 registry strategies', () => {
  test('a Job gets Kubernetes\' defaults, a selector on its uid and the uid and name labels on its template; status starts empty', async () => {
    const { registry } = await startHandlers();
    const created = await registry.create(jobs, 'default', { ...job('pi'), status: { succeeded: 9 } }) as Job;
    const uid = created.metadata.uid!;
    assert.deepEqual([created.spec?.completions, created.spec?.parallelism, created.spec?.backoffLimit, created.spec?.completionMode, created.spec?.suspend], [1, 1, 6, 'NonIndexed', false]);
    assert.deepEqual(created.spec?.selector, { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } });
    assert.deepEqual(created.spec?.template.metadata?.labels, { [JOB_CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: 'pi', 'controller-uid': uid, 'job-name': 'pi' });
    assert.deepEqual(created.status, {});
    const manual = await registry.create(jobs, 'default', job('manual', { manualSelector: true, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, ...podTemplate('Never') } })) as Job;
    assert.deepEqual(manual.spec?.selector, { matchLabels: { a: 'b' } }, 'manualSelector keeps the given selector');
  });

  test('Job validation: restartPolicy OnFailure or Never, Indexed needs completions (at most 100000), counts not negative, selector operators known', async () => {
    const { registry } = await startHandlers();
    assert.deepEqual(await invalidFields(registry.create(jobs, 'default', job('a', { template: podTemplate() }))), ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
    assert.deepEqual(await invalidFields(registry.create(jobs, 'default', job('b', { completionMode: 'Indexed', parallelism: 2 }))), ['spec.completions: Required value: when completion mode is Indexed']);
    assert.deepEqual(await invalidFields(registry.create(jobs, 'default', job('c', { completionMode: 'Indexed', completions: 100_001 }))), ['spec.completions: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed']);
    assert.deepEqual(await invalidFields(registry.create(jobs, 'default', job('d', { backoffLimit: -1, activeDeadlineSeconds: 0 }))), [
      'spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0', 'spec.activeDeadlineSeconds: Invalid value: 0: must be greater than 0',
    ]);
    const badSelector = await invalidFields(registry.create(jobs, 'default', job('e', { manualSelector: true, selector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } })));
    assert.ok(badSelector.includes('spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator'), badSelector.join('\n'));
  });

  test('a Job\'s selector, completion mode and (unless suspended) template cannot change', async () => {
    const { registry } = await startHandlers();
    const created = await registry.create(jobs, 'default', job('pi')) as Job;
    const changed = structuredClone(created);
    changed.spec!.template.spec.containers[0]!.image = 'other';
    assert.deepEqual(await invalidFields(registry.update(jobs, 'default', 'pi', changed)), ['spec.template: field is immutable']);
    const parallel = structuredClone(created);
    parallel.spec!.parallelism = 3;
    assert.equal(((await registry.update(jobs, 'default', 'pi', parallel)).object as Job).spec?.parallelism, 3, 'parallelism may change');
  });

  test('a CronJob gets its defaults; a bad schedule, time zone or policy is refused with Kubernetes\' words', async () => {
    const { registry } = await startHandlers();
    const created = await registry.create(cronjobs, 'default', cronJob('tick')) as CronJob;
    assert.deepEqual([created.spec?.concurrencyPolicy, created.spec?.suspend, created.spec?.successfulJobsHistoryLimit, created.spec?.failedJobsHistoryLimit], ['Allow', false, 3, 1]);
    assert.equal(created.spec?.jobTemplate.spec?.backoffLimit, 6, 'the job template is defaulted as a Job');
    assert.deepEqual(await invalidFields(registry.create(cronjobs, 'default', cronJob('a', { schedule: '61 * * * *' }))), ['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']);
    assert.deepEqual(await invalidFields(registry.create(cronjobs, 'default', cronJob('b', { timeZone: 'Nowhere/Land' }))), ['spec.timeZone: Invalid value: "Nowhere/Land": unknown time zone Nowhere/Land']);
    assert.deepEqual(await invalidFields(registry.create(cronjobs, 'default', cronJob('c', { concurrencyPolicy: 'Sometimes' }))), ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"']);
    assert.deepEqual(await invalidFields(registry.create(cronjobs, 'default', cronJob('a'.repeat(53)))), [`metadata.name: Invalid value: "${'a'.repeat(53)}": must be no more than 52 characters`]);
  });

  test('a PodDisruptionBudget starts with a zero status; minAvailable and maxUnavailable exclude each other and must be ints or percents', async () => {
    const { registry } = await startHandlers();
    const created = await registry.create(pdbs, 'default', pdb('web', { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } })) as PodDisruptionBudget;
    assert.deepEqual(created.status, { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    assert.match((await invalidFields(registry.create(pdbs, 'default', pdb('a', { minAvailable: 1, maxUnavailable: 1 }))))[0]!, /minAvailable and maxUnavailable cannot be both set/);
    assert.match((await invalidFields(registry.create(pdbs, 'default', pdb('b', { maxUnavailable: 'half' }))))[0]!, /^spec.maxUnavailable: Invalid value: "half": a valid percent string/);
    assert.deepEqual(await invalidFields(registry.create(pdbs, 'default', pdb('c', { minAvailable: '150%' }))), ['spec.minAvailable: Invalid value: "150%": must not be greater than 100%']);
  });
});
