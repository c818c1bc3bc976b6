/**
 * The store's workloads: register clients (reads, writes, compare-and-swaps
 * for the linearizability and lost-write checks) and watchers (for the watch
 * check). Each spawns its actors before the run's origin and hands back what
 * it observed once the faults are healed.
 */
import type { Operation } from '../history.js';
import { registerWorkload, type RegisterRunRequest, type RegisterWorkloadMsg } from '../store/register-workload.js';
import { watchWorkload, type WatchRunResult, type WatchWorkloadMsg } from '../store/watch-workload.js';
import type { ChaosEnv, JsonSchema, WorkloadPlugin } from './types.js';

/** What a workload actor needs to reach the run's store: the replica actors, or the etcd members' endpoints. */
export function storeArgs(env: ChaosEnv): { replicas: string[]; etcdEndpoints?: string[] } {
  return env.etcd === undefined ? { replicas: [...env.replicas] } : { replicas: [], etcdEndpoints: [...env.etcd.endpoints] };
}

export interface RegisterSpec {
  clients?: number;
  keys?: number;
  /** Pause between one client's operations (uniform in [0.5, 1.5] × thinkMs). */
  thinkMs?: number;
  mix?: { read?: number; write?: number; cas?: number };
  requestTimeoutMs?: number;
}

/** Register keys are `r0`, `r1`...: the watch workload watches this prefix. */
export const REGISTER_KEY_PREFIX = 'r';
const REGISTER_RANGE_END = 's';
/** How long a run may take beyond its duration: in-flight requests finish within their deadline. */
const WORKLOAD_DRAIN_MS = 120_000;

const registerSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'register clients doing reads, writes and compare-and-swaps on a few keys, recorded for the linearizability checker',
  properties: {
    clients: { type: 'integer', minimum: 1, maximum: 64, description: 'concurrent clients (default 4)' },
    keys: { type: 'integer', minimum: 1, maximum: 100, description: 'registers r0..r(keys-1) (default 3)' },
    thinkMs: { type: 'number', minimum: 0, description: 'pause between one client\'s operations (default 20)' },
    mix: {
      type: 'object',
      additionalProperties: false,
      description: 'relative shares of reads, writes and compare-and-swaps (default 2:1:1)',
      properties: { read: { type: 'number', minimum: 0 }, write: { type: 'number', minimum: 0 }, cas: { type: 'number', minimum: 0 } },
    },
    requestTimeoutMs: { type: 'number', minimum: 1, description: 'per-request deadline (default 3000)' },
  },
};

export const registerWorkloadPlugin: WorkloadPlugin<RegisterSpec> = {
  name: 'register',
  description: 'register operations on the store (linearizability, lost writes, latency)',
  schema: registerSchema,
  async prepare(env, spec) {
    const clients = spec.clients ?? 4;
    const keys = Array.from({ length: spec.keys ?? 3 }, (_, i) => `${REGISTER_KEY_PREFIX}${i}`);
    const read = spec.mix?.read ?? 2;
    const write = spec.mix?.write ?? 1;
    const cas = spec.mix?.cas ?? 1;
    const total = read + write + cas;
    if (!(total > 0)) throw new Error('workload.register.mix: at least one share must be positive');
    const names = Array.from({ length: clients }, (_, i) => `client-${i}`);
    const requestTimeoutMs = spec.requestTimeoutMs ?? 3_000;
    for (const name of names) await env.system.spawn(registerWorkload, { name, args: { ...storeArgs(env), requestTimeoutMs } });
    return {
      actors: names,
      start(ctx) {
        const request: RegisterRunRequest = { keys, untilMs: env.originMs + ctx.untilMs, thinkMs: spec.thinkMs ?? 20, readShare: read / total, writeShare: write / total };
        const runs = names.map((name) =>
          env.system.ref<RegisterWorkloadMsg>(name).ask<Operation[]>({ type: 'run', body: request }, { timeoutMs: ctx.untilMs + WORKLOAD_DRAIN_MS }),
        );
        for (const run of runs) run.catch(() => undefined);
        return {
          actors: names,
          async finish() {
            const histories = await env.settle(Promise.all(runs));
            // Final reads, by a fresh client, once the group has a leader: what survived.
            await env.waitForLeader();
            await env.system.spawn(registerWorkload, { name: 'final-reader', args: { ...storeArgs(env), requestTimeoutMs: 10_000 } });
            const finalOps = await env.settle(
              env.system
                .ref<RegisterWorkloadMsg>('final-reader')
                .ask<Operation[]>({ type: 'run', body: { keys, untilMs: 0, thinkMs: 0, readOnly: true, eachKeyOnce: true } }, { timeoutMs: 60_000 }),
            );
            const finals: Operation[] = [];
            for (const key of keys) {
              const op = finalOps.find((o) => o.key === key && o.status === 'ok');
              if (op !== undefined) finals.push(op);
            }
            return { operations: [...histories.flat(), ...finals] };
          },
        };
      },
    };
  },
};

export interface WatchSpec {
  watchers?: number;
}

/** After the writers stop, how long a watcher may take to vouch for the store's last revision. */
const WATCH_CATCH_UP_MS = 10_000;

export const watchWorkloadPlugin: WorkloadPlugin<WatchSpec> = {
  name: 'watch',
  description: 'watchers of the register keys for the whole run; checked against a reference watch from revision 1 taken afterwards',
  schema: {
    type: 'object',
    additionalProperties: false,
    description: 'watchers of the register keys (the watch check compares them with a reference taken after the run)',
    properties: { watchers: { type: 'integer', minimum: 1, maximum: 16, description: 'concurrent watchers (default 2)' } },
  },
  async prepare(env, spec) {
    const names = Array.from({ length: spec.watchers ?? 2 }, (_, i) => `watcher-${i}`);
    for (const name of names) await env.system.spawn(watchWorkload, { name, args: storeArgs(env) });
    return {
      actors: names,
      start() {
        const body = { key: REGISTER_KEY_PREFIX, rangeEnd: REGISTER_RANGE_END, startRevision: 1 };
        const runs = names.map((name) => env.system.ref<WatchWorkloadMsg>(name).ask<WatchRunResult>({ type: 'run', body }, { timeoutMs: 24 * 3_600_000 }));
        for (const run of runs) run.catch(() => undefined);
        return {
          actors: names,
          async finish() {
            await env.waitForLeader();
            await env.system.spawn(watchWorkload, { name: 'watch-reference', args: storeArgs(env) });
            const reference = env.system.ref<WatchWorkloadMsg>('watch-reference');
            const revision = await env.settle(reference.ask<number>({ type: 'revision', body: { key: REGISTER_KEY_PREFIX, rangeEnd: REGISTER_RANGE_END } }, { timeoutMs: 30_000 }));
            for (const name of names) env.system.ref<WatchWorkloadMsg>(name).tell({ type: 'finish', body: { untilRevision: revision, graceMs: WATCH_CATCH_UP_MS } });
            const referenceRun = reference.ask<WatchRunResult>({ type: 'run', body }, { timeoutMs: 60_000 });
            reference.tell({ type: 'finish', body: { untilRevision: revision, graceMs: WATCH_CATCH_UP_MS } });
            const [observed, truth] = await env.settle(Promise.all([Promise.all(runs), referenceRun]));
            return {
              watches: observed.map((r, i) => ({ watcher: names[i]!, events: r.events, lastRevision: r.lastRevision })),
              reference: { events: truth.events.filter((e) => e.revision <= revision), revision },
            };
          },
        };
      },
    };
  },
};
