/**
 * The harness of the controller tests: a simulated cluster of the real
 * apiserver (embedded store), the two controller-managers and the pod
 * stand-in, with helpers that talk to the apiserver as a client would.
 */
import assert from 'node:assert/strict';
import { SimulatedSystem, createLogger } from '../actor/index.js';
import { apiServer } from '../api/behaviour.js';
import type { ApiReply, ApiServerMsg, ApiTarget } from '../api/protocol.js';
import type { Deployment, KubeObject, List, Pod } from '../api/types/index.js';
import { timingFor } from '../cluster/spec.js';
import { spawnControllerManagers } from './behaviour.js';
import { describeActivityProblem, judgeLeaderActivity, type LeaderActivity } from '../client/leader-activity.js';
import { podStandIn, type PodState, type StandInMsg } from './testing.js';

export const TIMING = timingFor('fast');
export const NS = 'default';
export const target = (group: string, resource: string): ApiTarget => ({ group, version: 'v1', resource, namespace: NS });
export const DEPLOY = target('apps', 'deployments');
export const RS = target('apps', 'replicasets');
export const POD = target('', 'pods');
export const EVENT = target('', 'events');

export function deployment(name: string, replicas: number, image: string, extra: Partial<NonNullable<Deployment['spec']>> = {}): Deployment {
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
      ...extra,
    },
  };
}

export async function cluster(seed: number, options: { readyDelayMs?: number; app?: string; managers?: number } = {}) {
  const sim = new SimulatedSystem({ seed, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
  await sim.spawn(podStandIn, { name: 'standin', args: { readyDelayMs: options.readyDelayMs ?? 200, app: options.app ?? 'web' } });
  await spawnControllerManagers(sim, { timing: TIMING, replicas: options.managers ?? 2, recordTo: 'standin' });
  const api = sim.ref<ApiServerMsg>('apiserver');
  const standin = sim.ref<StandInMsg>('standin');
  const ask = async <T = KubeObject>(msg: ApiServerMsg): Promise<T> => {
    const reply = await sim.settle(api.ask<ApiReply<T>>(msg));
    if (!reply.ok) throw new Error(`${msg.type}: ${reply.status.code} ${reply.status.message}`);
    return reply.body;
  };
  const h = {
    sim, api, standin, ask,
    create: <T extends KubeObject>(t: ApiTarget, object: T) => ask<T>({ type: 'api.create', body: { ...t, object } }),
    get: <T extends KubeObject>(t: ApiTarget, name: string) => ask<T>({ type: 'api.get', body: { ...t, name } }),
    list: async <T extends KubeObject>(t: ApiTarget, labelSelector?: string) => (await ask<List<T>>({ type: 'api.list', body: { ...t, query: labelSelector ? { labelSelector } : {} } })).items,
    update: <T extends KubeObject>(t: ApiTarget, object: T) => ask<T>({ type: 'api.update', body: { ...t, name: object.metadata.name!, object } }),
    patch: <T extends KubeObject>(t: ApiTarget, name: string, patch: unknown) => ask<T>({ type: 'api.patch', body: { ...t, name, patchType: 'merge', patch } }),
    delete: (t: ApiTarget, name: string, propagationPolicy?: 'Orphan' | 'Background' | 'Foreground') =>
      ask({ type: 'api.delete', body: { ...t, name, options: propagationPolicy ? { propagationPolicy } : undefined } }),
    states: () => sim.settle(standin.ask<PodState[]>({ type: 'standin.states', body: null })),
    records: () => sim.settle(standin.ask<LeaderActivity[]>({ type: 'standin.records', body: null })),
    /** Run until `check` holds (polled every 100 ms of virtual time), or fail after `maxMs`. */
    async until(what: string, check: () => Promise<boolean>, maxMs = 30_000): Promise<void> {
      const deadline = sim.now() + maxMs;
      while (sim.now() < deadline) {
        if (await check()) return;
        await sim.runFor(100);
      }
      assert.fail(`not within ${maxMs} ms of virtual time: ${what}`);
    },
    async activePods(app = 'web'): Promise<Pod[]> {
      return (await h.list<Pod>(POD, `app=${app}`)).filter((p) => p.metadata.deletionTimestamp === undefined);
    },
    async rolledOut(name: string, image: string, replicas: number): Promise<boolean> {
      const d = await h.get<Deployment>(DEPLOY, name);
      const pods = await h.activePods(name);
      return (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && d.status?.updatedReplicas === replicas && d.status?.availableReplicas === replicas
        && d.status?.replicas === replicas && pods.length === replicas && pods.every((p) => p.spec?.containers[0]?.image === image);
    },
  };
  return h;
}

/**
 * At most one replica acts at a time: every write lies inside its writer's
 * term, and no write of one replica falls inside another's term. A killed
 * replica's term has no recorded end: it ends at its last write.
 */
export function assertNoOverlap(records: LeaderActivity[]): void {
  const judged = judgeLeaderActivity(records);
  assert.ok(judged.writes > 0, 'writes were recorded');
  assert.deepEqual(judged.problems.map(describeActivityProblem), []);
}
