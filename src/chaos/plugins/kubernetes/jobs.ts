/**
 * The `jobs` workload: batch/v1 Jobs created at the run's origin on the
 * control plane the `deployments` workload started (list it first). Each
 * pod runs the sim image `sim/exit-after-<taskSeconds>s`, a task that
 * succeeds (docs/workloads.md); the faults are what makes pods fail (a
 * crashed node's pods are lost, and the Job controller must replace them).
 * The sim runtime has no task that fails and then succeeds
 * (`crash-attempts` makes a healed container run until stopped), so there
 * is no crashing-task option. After the run it polls until every Job is
 * Complete or Failed: what the `jobs-complete` check judges.
 */
import type { ApiReply, ApiServerMsg } from '../../../api/protocol.js';
import type { Job, List } from '../../../api/types/index.js';
import type { WorkloadPlugin } from '../../engine/types.js';
import { round3 } from '../../engine/figures.js';
import { APISERVER, NAMESPACE, kubeSink, type JobObservation } from './sink.js';
import { pollUntilConverged } from './poll.js';

export interface JobsSpec {
  /** Jobs, named batch-0, batch-1, … Default 1. */
  jobs?: number;
  /** Completions of each. Default 3. */
  completions?: number;
  /** Parallelism of each. Default 1. */
  parallelism?: number;
  /** backoffLimit of each. Default 6, as Kubernetes. */
  backoffLimit?: number;
  /** The pods' restartPolicy: OnFailure (default) restarts a failed container in its pod, Never makes a new pod. */
  restartPolicy?: 'OnFailure' | 'Never';
  /** How long each task runs, in whole seconds. Default 1. */
  taskSeconds?: number;
  /** The pods' terminationGracePeriodSeconds: how long a pod of a crashed node stays Terminating before the API server removes it (and the Job counts it failed). Default 30, as Kubernetes. */
  terminationGracePeriodSeconds?: number;
  /** After the run, how long the Jobs may take to finish before they are observed. Default 30000. */
  convergeMs?: number;
}

const JOBS_MAX = 20;

function jobObject(name: string, spec: JobsSpec): Job {
  const seconds = spec.taskSeconds ?? 1;
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: NAMESPACE },
    spec: {
      completions: spec.completions ?? 3, parallelism: spec.parallelism ?? 1, backoffLimit: spec.backoffLimit ?? 6,
      template: {
        metadata: { labels: { app: name } },
        spec: { restartPolicy: spec.restartPolicy ?? 'OnFailure', terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30, containers: [{ name: 'task', image: `sim/exit-after-${seconds}s` }] },
      },
    },
  } as Job;
}

/** Pure: each Job's counts and whether it finished (condition Complete or Failed True). */
export function observeJobs(items: readonly Job[], jobs: Record<string, number>): JobObservation['jobs'] {
  const out: JobObservation['jobs'] = {};
  for (const [name, completions] of Object.entries(jobs)) out[name] = { completions, succeeded: 0, failed: 0, complete: false, failedCondition: false };
  for (const job of items) {
    const o = out[job.metadata.name ?? ''];
    if (o === undefined) continue;
    const has = (type: string): boolean => (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
    Object.assign(o, { succeeded: job.status?.succeeded ?? 0, failed: job.status?.failed ?? 0, complete: has('Complete'), failedCondition: has('Failed') });
  }
  return out;
}

export function jobsWorkload(): WorkloadPlugin<JobsSpec> {
  return {
    name: 'jobs',
    description: 'batch/v1 Jobs created at the origin on the deployments workload\'s control plane (list it first), each pod a task that succeeds after taskSeconds; after the run, waits until each is Complete or Failed',
    schema: {
      properties: {
        jobs: { type: 'integer', minimum: 1, maximum: JOBS_MAX, description: 'Jobs batch-0, batch-1, … (default 1)' },
        completions: { type: 'integer', minimum: 1, maximum: 100, description: 'default 3' },
        parallelism: { type: 'integer', minimum: 1, maximum: 100, description: 'default 1' },
        backoffLimit: { type: 'integer', minimum: 0, description: 'default 6, as Kubernetes' },
        restartPolicy: { enum: ['OnFailure', 'Never'], description: 'the pods\' restartPolicy (default OnFailure)' },
        taskSeconds: { type: 'integer', minimum: 0, maximum: 3600, description: 'how long each task runs (default 1)' },
        terminationGracePeriodSeconds: { type: 'integer', minimum: 0, description: 'the pods\' grace period (default 30, as Kubernetes)' },
        convergeMs: { type: 'number', minimum: 0, description: 'after the run, how long the Jobs may take to finish (default 30000)' },
      },
    },
    async prepare(env, spec) {
      const sink = kubeSink(env.state);
      if (sink.nodes.length === 0) throw new Error('workload.jobs needs the deployments workload, listed before it (workload: { deployments: {…}, jobs: {…} })');
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      const names = Array.from({ length: spec.jobs ?? 1 }, (_, i) => `batch-${i}`);
      // Expected from the start: a Job whose create failed shows as never finished, not as absent.
      for (const name of names) sink.jobs[name] = spec.completions ?? 3;
      const sleep = (ms: number): Promise<unknown> => env.settle(env.system.ref(sink.sleeper).ask({ type: 'sleep', body: { ms } }, { timeoutMs: ms + 10_000 }));
      const observe = async (): Promise<JobObservation | undefined> => {
        const reply = await env.settle(api.ask<ApiReply<List<Job>>>({ type: 'api.list', body: { group: 'batch', version: 'v1', resource: 'jobs', namespace: NAMESPACE } }, { timeoutMs: 5_000 }).catch(() => undefined));
        if (reply === undefined || !reply.ok) return undefined;
        const jobs = observeJobs(reply.body.items, sink.jobs);
        return { converged: Object.values(jobs).every((j) => j.complete || j.failedCondition), atMs: round3(env.elapsedMs()), jobs };
      };
      return {
        actors: [],
        start(ctx) {
          // Created at the origin, so the run's faults hit Jobs at work. A nemesis-style action: await directly, never settle.
          ctx.env.schedule(0, 'create jobs', async () => {
            for (const name of names) {
              const reply = await api.ask<ApiReply>({ type: 'api.create', body: { group: 'batch', version: 'v1', resource: 'jobs', namespace: NAMESPACE, object: jobObject(name, spec) } }, { timeoutMs: 10_000 })
                .catch((error: Error) => ({ ok: false as const, status: { message: error.message } }));
              if (!reply.ok) env.log(`  jobs: creating ${name} failed: ${(reply.status as { message?: string }).message ?? ''}`);
            }
          });
          return {
            actors: [],
            async finish() {
              const deadlineMs = env.elapsedMs() + (spec.convergeMs ?? 30_000);
              await pollUntilConverged({ observe, sleep, elapsedMs: () => env.elapsedMs(), deadlineMs, onSeen: (seen) => (sink.jobFinal = seen) });
              return {};
            },
          };
        },
      };
    },
  };
}
