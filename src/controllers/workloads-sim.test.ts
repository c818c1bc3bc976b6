/**
 * Jobs and CronJobs end to end in the simulated runtime, on virtual time:
 * the real apiserver, scheduler, controller-manager and a node with a
 * kubelet and the sim runtime, whose `sim/exit-after-<dur>[:code]` and
 * `sim/crash-after-<dur>[:code]` images make pods succeed or fail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedSystem, createLogger } from '../actor/index.js';
import { apiServer } from '../api/behaviour.js';
import type { ApiReply, ApiServerMsg, ApiTarget } from '../api/protocol.js';
import type { CronJob, Event, Job, KubeObject, List, Pod, PodDisruptionBudget } from '../api/types/index.js';
import { JOB_COMPLETION_INDEX, JOB_CONTROLLER_UID_LABEL, JOB_NAME_LABEL } from '../api/workloads-strategy.js';
import { JOB_TRACKING_FINALIZER } from './job-util.js';
import { timingFor } from '../cluster/spec.js';
import { spawnSchedulers } from '../../actors/scheduler.js';
import { spawnNode } from '../../actors/node.js';
import { spawnControllerManagers } from './behaviour.js';

const TIMING = timingFor('fast');
const NS = 'default';
const JOB: ApiTarget = { group: 'batch', version: 'v1', resource: 'jobs', namespace: NS };
const CRONJOB: ApiTarget = { group: 'batch', version: 'v1', resource: 'cronjobs', namespace: NS };
const POD: ApiTarget = { group: '', version: 'v1', resource: 'pods', namespace: NS };
const EVENT: ApiTarget = { group: '', version: 'v1', resource: 'events', namespace: NS };

async function simCluster(seed: number) {
  const sim = new SimulatedSystem({ seed, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
  await sim.settle(spawnSchedulers(sim, { leaseDurationMs: TIMING.leaseDurationMs, renewDeadlineMs: TIMING.renewDeadlineMs, retryPeriodMs: TIMING.retryPeriodMs }, 1));
  await sim.settle(spawnControllerManagers(sim, { timing: TIMING, replicas: 1 }));
  await sim.settle(spawnNode(sim, { index: 0, runtime: 'sim', allowProcesses: false, timing: TIMING, dataDir: undefined }));
  const api = sim.ref<ApiServerMsg>('apiserver');
  const ask = async <T>(msg: ApiServerMsg): Promise<T> => {
    const reply = await sim.settle(api.ask<ApiReply<T>>(msg));
    if (!reply.ok) throw new Error(`${msg.type}: ${reply.status.code} ${reply.status.message}`);
    return reply.body;
  };
  return {
    sim, api,
    create: <T extends KubeObject>(t: ApiTarget, object: T) => ask<T>({ type: 'api.create', body: { ...t, object } }),
    get: async <T extends KubeObject>(t: ApiTarget, name: string): Promise<T | undefined> => {
      const reply = await sim.settle(api.ask<ApiReply<T>>({ type: 'api.get', body: { ...t, name } }));
      return reply.ok ? reply.body : undefined;
    },
    list: async <T extends KubeObject>(t: ApiTarget, labelSelector?: string) => (await ask<List<T>>({ type: 'api.list', body: { ...t, query: labelSelector ? { labelSelector } : {} } })).items,
    /** Run virtual time until `check` gives a value (polled every 250 ms), or fail after `maxMs`. */
    async until<T>(what: string, check: () => Promise<T | undefined>, maxMs = 120_000): Promise<T> {
      const deadline = sim.now() + maxMs;
      while (sim.now() < deadline) {
        const value = await check();
        if (value !== undefined) return value;
        await sim.runFor(250);
      }
      assert.fail(`not within ${maxMs} ms of virtual time: ${what}`);
    },
  };
}

function job(name: string, image: string, spec: Partial<NonNullable<Job['spec']>> = {}, restartPolicy: 'Never' | 'OnFailure' = 'Never'): Job {
  return { metadata: { name, namespace: NS }, spec: { template: { spec: { restartPolicy, containers: [{ name: 'task', image }] } }, ...spec } };
}

const conditionsOf = (j: Job) => (j.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => `${c.type}:${c.reason}`).sort();
const finished = (j: Job | undefined) => (j?.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

describe('Jobs in the simulated runtime (apiserver, scheduler, controller-manager, a sim node)', () => {
  let h: Awaited<ReturnType<typeof simCluster>>;
  before(async () => {
    h = await simCluster(1801);
  });
  after(async () => {
    await h.sim.shutdown();
  });

  test('completions 3, parallelism 2: never more than 2 pods at once, then SuccessCriteriaMet and Complete with counts, times and the job labels on its pods', async () => {
    const created = await h.create(JOB, job('three', 'sim/exit-after-2s', { completions: 3, parallelism: 2 }));
    assert.deepEqual(created.spec?.selector, { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: created.metadata.uid } }, 'the generated selector');
    let mostActive = 0;
    const done = await h.until('three complete', async () => {
      const j = await h.get<Job>(JOB, 'three');
      const running = (await h.list<Pod>(POD, `${JOB_NAME_LABEL}=three`)).filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
      mostActive = Math.max(mostActive, running.length);
      return finished(j) ? j : undefined;
    });
    assert.ok(mostActive <= 2 && mostActive >= 1, `at most parallelism pods ran at once (saw ${mostActive})`);
    assert.deepEqual(conditionsOf(done), ['Complete:CompletionsReached', 'SuccessCriteriaMet:CompletionsReached']);
    assert.deepEqual([done.status?.succeeded, done.status?.failed, done.status?.active], [3, 0, 0]);
    assert.ok(done.status?.startTime && done.status.completionTime && Date.parse(done.status.completionTime) >= Date.parse(done.status.startTime) + 4_000, 'two rounds of 2 s pods');
    const pods = await h.list<Pod>(POD, `${JOB_CONTROLLER_UID_LABEL}=${done.metadata.uid}`);
    assert.equal(pods.filter((p) => p.status?.phase === 'Succeeded').length, 3);
    for (const p of pods) assert.deepEqual(p.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['Job', 'three', true]]);
    const events = (await h.list<Event>(EVENT)).filter((e) => e.involvedObject.name === 'three').map((e) => e.reason);
    assert.ok(events.includes('Completed') && events.filter((r) => r === 'SuccessfulCreate').length === 3, events.join(','));
  });

  test('backoffLimit 1 with pods exiting 1: two failed pods, then FailureTarget and Failed with BackoffLimitExceeded', async () => {
    await h.create(JOB, job('crashing', 'sim/crash-after-1s:1', { backoffLimit: 1 }));
    const failed = await h.until('crashing failed', async () => {
      const j = await h.get<Job>(JOB, 'crashing');
      return finished(j) ? j : undefined;
    });
    assert.deepEqual(conditionsOf(failed), ['Failed:BackoffLimitExceeded', 'FailureTarget:BackoffLimitExceeded']);
    assert.equal(failed.status?.conditions?.find((c) => c.type === 'Failed')?.message, 'Job has reached the specified backoff limit');
    assert.deepEqual([failed.status?.failed, failed.status?.succeeded, failed.status?.active], [2, 0, 0]);
    assert.equal(failed.status?.completionTime, undefined, 'a failed Job has no completionTime');
  });

  test('restartPolicy OnFailure: container restarts count toward backoffLimit; the pod is deleted when the Job fails', async () => {
    await h.create(JOB, job('restarting', 'sim/crash-after-1s:3', { backoffLimit: 2 }, 'OnFailure'));
    const failed = await h.until('restarting failed', async () => {
      const j = await h.get<Job>(JOB, 'restarting');
      return finished(j) ? j : undefined;
    }, 300_000);
    assert.deepEqual(conditionsOf(failed), ['Failed:BackoffLimitExceeded', 'FailureTarget:BackoffLimitExceeded']);
    const pods = await h.list<Pod>(POD, `${JOB_NAME_LABEL}=restarting`);
    assert.ok(pods.every((p) => p.metadata.deletionTimestamp !== undefined || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded'), 'nothing of a failed Job runs on');
  });

  test('Indexed: one pod per completion index with the index annotation, label, hostname and env; completedIndexes 0-2', async () => {
    await h.create(JOB, job('indexed', 'sim/exit-after-1s', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    const done = await h.until('indexed complete', async () => {
      const j = await h.get<Job>(JOB, 'indexed');
      return finished(j) ? j : undefined;
    });
    assert.equal(done.status?.completedIndexes, '0-2');
    const pods = await h.list<Pod>(POD, `${JOB_NAME_LABEL}=indexed`);
    const indexes = pods.map((p) => p.metadata.annotations?.[JOB_COMPLETION_INDEX]).sort();
    assert.deepEqual(indexes, ['0', '1', '2']);
    for (const p of pods) {
      const index = p.metadata.labels?.[JOB_COMPLETION_INDEX];
      assert.equal(p.metadata.annotations?.[JOB_COMPLETION_INDEX], index);
      assert.equal((p.spec as { hostname?: string }).hostname, `indexed-${index}`);
      assert.match(p.metadata.name ?? '', new RegExp(`^indexed-${index}-`));
      assert.deepEqual(p.spec?.containers[0] && (p.spec.containers[0] as { env?: unknown[] }).env, [{ name: 'JOB_COMPLETION_INDEX', value: index }]);
    }
  });

  test('activeDeadlineSeconds: a Job still running at its deadline fails with DeadlineExceeded and its pods are deleted', async () => {
    await h.create(JOB, job('slow', 'sim/run', { activeDeadlineSeconds: 3 }));
    const failed = await h.until('slow failed', async () => {
      const j = await h.get<Job>(JOB, 'slow');
      return finished(j) ? j : undefined;
    });
    assert.deepEqual(conditionsOf(failed), ['Failed:DeadlineExceeded', 'FailureTarget:DeadlineExceeded']);
    const elapsedMs = Date.parse(failed.status!.conditions!.find((c) => c.type === 'FailureTarget')!.lastTransitionTime!) - Date.parse(failed.status!.startTime!);
    assert.ok(elapsedMs >= 3_000 && elapsedMs <= 5_000, `failed ${elapsedMs} ms after it started, at its 3 s deadline`);
    await h.until('slow pods gone', async () => ((await h.list<Pod>(POD, `${JOB_NAME_LABEL}=slow`)).length === 0 ? true : undefined));
  });

  test('job-tracking finalizer: pods carry it while they run; one deleted while running counts as failed and is replaced; counted pods are released', async () => {
    await h.create(JOB, job('tracked', 'sim/exit-after-10s', { backoffLimit: 3 }));
    const first = await h.until('a running pod', async () => (await h.list<Pod>(POD, `${JOB_NAME_LABEL}=tracked`)).find((p) => p.status?.phase === 'Running'));
    assert.deepEqual(first.metadata.finalizers, [JOB_TRACKING_FINALIZER]);
    await h.sim.settle(h.api.ask<ApiReply<unknown>>({ type: 'api.delete', body: { ...POD, name: first.metadata.name! } }));
    const counted = await h.until('the deleted pod counted as failed', async () => {
      const j = await h.get<Job>(JOB, 'tracked');
      return j?.status?.failed === 1 ? j : undefined;
    });
    assert.deepEqual(counted.status?.uncountedTerminatedPods, { succeeded: [], failed: [] });
    await h.until('the deleted pod gone', async () => ((await h.get<Pod>(POD, first.metadata.name!)) === undefined ? true : undefined));
    const done = await h.until('tracked complete', async () => {
      const j = await h.get<Job>(JOB, 'tracked');
      return finished(j) ? j : undefined;
    });
    assert.deepEqual([done.status?.succeeded, done.status?.failed], [1, 1]);
    const left = await h.list<Pod>(POD, `${JOB_NAME_LABEL}=tracked`);
    assert.equal(left.length, 1, 'the replacement, Succeeded');
    assert.deepEqual(left[0]!.metadata.finalizers ?? [], [], 'counted, so released');
  });

  test('ttlSecondsAfterFinished: the TTL-after-finished controller deletes the Job, and its pods go with it', async () => {
    await h.create(JOB, job('short-lived', 'sim/exit-after-1s', { ttlSecondsAfterFinished: 5 }));
    const done = await h.until('short-lived complete', async () => {
      const j = await h.get<Job>(JOB, 'short-lived');
      return finished(j) ? j : undefined;
    });
    const finishedAtMs = Date.parse(done.status!.completionTime!);
    await h.until('short-lived deleted', async () => ((await h.get<Job>(JOB, 'short-lived')) === undefined ? true : undefined));
    assert.ok(h.sim.now() >= finishedAtMs + 5_000, 'not before its TTL');
    await h.until('its pods deleted', async () => ((await h.list<Pod>(POD, `${JOB_NAME_LABEL}=short-lived`)).length === 0 ? true : undefined));
  });
});

describe('CronJobs on virtual time', () => {
  let h: Awaited<ReturnType<typeof simCluster>>;
  before(async () => {
    h = await simCluster(1802);
  });
  after(async () => {
    await h.sim.shutdown();
  });

  const cronJob = (name: string, image: string, spec: Partial<NonNullable<CronJob['spec']>> = {}): CronJob => ({
    metadata: { name, namespace: NS },
    spec: { schedule: '*/1 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'task', image }] } } } }, ...spec },
  });

  test('*/1 * * * * over five virtual minutes: one Job per minute named after it, lastScheduleTime and lastSuccessfulTime, and only the newest 2 kept', async () => {
    await h.create(CRONJOB, cronJob('tick', 'sim/exit-after-5s', { successfulJobsHistoryLimit: 2 }));
    const startMs = h.sim.now();
    const scheduled: string[] = [];
    await h.until('five runs', async () => {
      for (const j of await h.list<Job>(JOB)) {
        if (j.metadata.ownerReferences?.[0]?.name === 'tick' && !scheduled.includes(j.metadata.name!)) scheduled.push(j.metadata.name!);
      }
      return scheduled.length >= 5 ? true : undefined;
    }, 6 * 60_000);
    const minutes = scheduled.map((n) => Number(n.slice('tick-'.length))).sort((a, b) => a - b);
    assert.deepEqual(minutes.map((m) => m - minutes[0]!), [0, 1, 2, 3, 4], 'one Job per minute, named after the minute');
    assert.ok(minutes[0]! * 60_000 > startMs && minutes[0]! * 60_000 <= startMs + 60_000, 'the first at the first whole minute after creation');
    await h.sim.runFor(20_000);
    const cj = (await h.get<CronJob>(CRONJOB, 'tick'))!;
    assert.equal(Date.parse(cj.status!.lastScheduleTime!), minutes[4]! * 60_000);
    assert.ok(Date.parse(cj.status!.lastSuccessfulTime!) >= minutes[4]! * 60_000 + 5_000, 'the last run succeeded about 5 s after its start');
    const left = (await h.list<Job>(JOB)).filter((j) => j.metadata.ownerReferences?.[0]?.name === 'tick' && j.metadata.deletionTimestamp === undefined);
    assert.deepEqual(left.map((j) => j.metadata.name).sort(), [`tick-${minutes[3]}`, `tick-${minutes[4]}`], 'history limit: the two newest successful Jobs');
    const reasons = (await h.list<Event>(EVENT)).filter((e) => e.involvedObject.name === 'tick').map((e) => e.reason);
    assert.ok(reasons.includes('SuccessfulCreate') && reasons.includes('SawCompletedJob') && reasons.includes('SuccessfulDelete'), reasons.join(','));
  });

  test('concurrencyPolicy Forbid: a Job still running blocks the next; Replace: the next replaces it', async () => {
    await h.create(CRONJOB, cronJob('forbid', 'sim/run', { concurrencyPolicy: 'Forbid' }));
    await h.create(CRONJOB, cronJob('replace', 'sim/run', { concurrencyPolicy: 'Replace' }));
    await h.sim.runFor(3 * 60_000 + 10_000);
    const jobsOf = async (name: string) => (await h.list<Job>(JOB)).filter((j) => j.metadata.ownerReferences?.[0]?.name === name);
    const forbid = await jobsOf('forbid');
    assert.equal(forbid.length, 1, `Forbid kept one Job: ${forbid.map((j) => j.metadata.name).join(',')}`);
    const replace = (await jobsOf('replace')).filter((j) => j.metadata.deletionTimestamp === undefined);
    assert.equal(replace.length, 1, 'Replace keeps one live Job');
    assert.ok(Number(replace[0]!.metadata.name!.split('-')[1]) > Number(forbid[0]!.metadata.name!.split('-')[1]), 'and it is a later one than the first');
    const cj = (await h.get<CronJob>(CRONJOB, 'replace'))!;
    assert.deepEqual(cj.status?.active?.map((a) => a.name), [replace[0]!.metadata.name]);
    const reasons = (await h.list<Event>(EVENT)).filter((e) => e.involvedObject.name === 'forbid').map((e) => e.reason);
    assert.ok(reasons.includes('JobAlreadyActive'), reasons.join(','));
  });

  test('garbage collection: deleting a CronJob deletes its Jobs and their pods (background propagation)', async () => {
    const before = (await h.list<Job>(JOB)).filter((j) => j.metadata.ownerReferences?.[0]?.name === 'forbid');
    assert.ok(before.length > 0, 'the Forbid CronJob has a Job');
    const podsBefore = await h.list<Pod>(POD, `${JOB_NAME_LABEL}=${before[0]!.metadata.name}`);
    assert.ok(podsBefore.length > 0, 'and the Job a pod');
    await h.sim.settle(h.api.ask<ApiReply<unknown>>({ type: 'api.delete', body: { ...CRONJOB, name: 'forbid', options: { propagationPolicy: 'Background' } } }));
    await h.until('its Jobs and pods gone', async () => {
      const jobs = (await h.list<Job>(JOB)).filter((j) => j.metadata.ownerReferences?.[0]?.name === 'forbid');
      const pods = await h.list<Pod>(POD, `${JOB_NAME_LABEL}=${before[0]!.metadata.name}`);
      return jobs.length === 0 && pods.length === 0 ? true : undefined;
    });
  });

  test('suspend: no Job is created while suspended', async () => {
    await h.create(CRONJOB, cronJob('paused', 'sim/exit-after-1s', { suspend: true }));
    await h.sim.runFor(2 * 60_000 + 10_000);
    assert.equal((await h.list<Job>(JOB)).filter((j) => j.metadata.ownerReferences?.[0]?.name === 'paused').length, 0);
  });
});

describe('PodDisruptionBudgets and evictions in the simulated runtime', () => {
  let h: Awaited<ReturnType<typeof simCluster>>;
  before(async () => {
    h = await simCluster(1803);
  });
  after(async () => {
    await h.sim.shutdown();
  });

  test('maxUnavailable 1 over a Deployment of 3: one eviction is allowed, the next is refused with 429 until the replacement is Ready', async () => {
    const DEPLOY: ApiTarget = { group: 'apps', version: 'v1', resource: 'deployments', namespace: NS };
    const PDB: ApiTarget = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: NS };
    await h.create(DEPLOY, {
      metadata: { name: 'web', namespace: NS },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
    } as KubeObject);
    await h.create(PDB, { metadata: { name: 'web', namespace: NS }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } } as PodDisruptionBudget);
    const ready = (p: Pod) => p.metadata.deletionTimestamp === undefined && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const allowedOne = async () => {
      const b = await h.get<PodDisruptionBudget>(PDB, 'web');
      const pods = (await h.list<Pod>(POD, 'app=web')).filter(ready);
      return b?.status?.disruptionsAllowed === 1 && pods.length === 3 ? b : undefined;
    };
    const budget = await h.until('the budget allows one disruption', allowedOne);
    assert.deepEqual([budget.status?.expectedPods, budget.status?.desiredHealthy, budget.status?.currentHealthy], [3, 2, 3], 'expected from the Deployment\'s replicas');
    assert.deepEqual(budget.status?.conditions?.map((c) => [c.type, c.status, c.reason]), [['DisruptionAllowed', 'True', 'SufficientPods']]);
    assert.equal(budget.status?.observedGeneration, budget.metadata.generation);

    const [first, second] = (await h.list<Pod>(POD, 'app=web')).filter(ready);
    const evict = (name: string) => h.sim.settle(h.api.ask<ApiReply<unknown>>({ type: 'api.create', body: { ...POD, name, subresource: 'eviction', object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS } } } }));
    const allowed = await evict(first!.metadata.name!);
    assert.ok(allowed.ok, `the first eviction is allowed: ${JSON.stringify(allowed)}`);
    const refused = await evict(second!.metadata.name!);
    assert.ok(!refused.ok, 'the second is refused');
    assert.equal(refused.status.code, 429);
    assert.equal(refused.status.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.equal(refused.status.details?.causes?.[0]?.reason, 'DisruptionBudget');
    const evicted = await h.get<Pod>(POD, first!.metadata.name!);
    assert.ok(evicted === undefined || evicted.metadata.deletionTimestamp !== undefined, 'the first pod is going');
    assert.equal((await h.get<Pod>(POD, second!.metadata.name!))?.metadata.deletionTimestamp, undefined, 'the second stays');

    await h.until('the replacement is Ready and the budget allows one again', allowedOne);
    assert.ok((await evict(second!.metadata.name!)).ok, 'now the second may go');
  });
});
