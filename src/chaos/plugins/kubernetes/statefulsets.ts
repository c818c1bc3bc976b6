/**
 * The `statefulsets` workload: StatefulSets of the sim image `nginx`, each
 * behind its headless Service and optionally under a PodDisruptionBudget
 * (`pdb`), on the control plane the `deployments` workload started (list it
 * first). After the run it waits until every member name-0..name-(N-1) is
 * Running and Ready under its own name (and nothing else carries the set's
 * label): what the `statefulset-members` check judges. A budget is recorded
 * for the `no-pdb-violation` check.
 */
import type { ApiReply, ApiServerMsg } from '../../../api/protocol.js';
import type { List, Pod, PodDisruptionBudget, Service, StatefulSet } from '../../../api/types/index.js';
import type { WorkloadPlugin } from '../../engine/types.js';
import { round3 } from '../../engine/figures.js';
import { isHealthy } from './observers.js';
import { APISERVER, NAMESPACE, kubeSink, type BudgetRecord, type StatefulSetObservation } from './sink.js';
import { pollUntilConverged } from './poll.js';

export interface StatefulSetsSpec {
  /** StatefulSets, named db-0, db-1, … Default 1. */
  statefulSets?: number;
  /** Members of each. Default 3. */
  replicas?: number;
  /** OrderedReady (Kubernetes' default) or Parallel. */
  podManagementPolicy?: 'OrderedReady' | 'Parallel';
  /** A PodDisruptionBudget over each StatefulSet's pods: exactly one of minAvailable or maxUnavailable, as integers. */
  pdb?: { minAvailable?: number; maxUnavailable?: number };
  /** The members' terminationGracePeriodSeconds: how long a deleted member on an unreachable node stays Terminating before the API server removes it. Default 30, as Kubernetes. */
  terminationGracePeriodSeconds?: number;
  /** After the run, how long the members may take to come back before they are observed. Default 30000. */
  convergeMs?: number;
}

const SETS_MAX = 20;

function statefulSetObject(name: string, replicas: number, policy: 'OrderedReady' | 'Parallel', graceSeconds: number): StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas, serviceName: name, podManagementPolicy: policy, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: graceSeconds, containers: [{ name: 'db', image: 'nginx:1.0' }] } },
    },
  } as StatefulSet;
}

function headlessService(name: string): Service {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE },
    spec: { clusterIP: 'None', selector: { app: name }, ports: [{ name: 'db', port: 80, targetPort: 80, protocol: 'TCP' }] },
  } as Service;
}

function budgetObject(name: string, pdb: NonNullable<StatefulSetsSpec['pdb']>): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: NAMESPACE },
    spec: { ...(pdb.minAvailable !== undefined ? { minAvailable: pdb.minAvailable } : { maxUnavailable: pdb.maxUnavailable! }), selector: { matchLabels: { app: name } } },
  };
}

/** Pure: the clear error for a spec Kubernetes (or the check) cannot use, or undefined: the schema refuses it in a scenario file; this guards specs built in code. */
export function statefulSetsSpecError(spec: StatefulSetsSpec): string | undefined {
  const pdb = spec.pdb;
  if (pdb === undefined) return undefined;
  if ((pdb.minAvailable === undefined) === (pdb.maxUnavailable === undefined)) return 'workload.statefulsets.pdb needs exactly one of minAvailable or maxUnavailable';
  return undefined;
}

/** Pure: healthy pods a budget keeps, as the disruption controller computes desiredHealthy from integers. */
export function desiredHealthy(pdb: NonNullable<StatefulSetsSpec['pdb']>, expected: number): number {
  return pdb.minAvailable !== undefined ? pdb.minAvailable : Math.max(0, expected - pdb.maxUnavailable!);
}

/** Pure: each StatefulSet's Ready members under their own names, and pods of its label that are no member. */
export function observeMembers(pods: readonly Pod[], sets: Record<string, number>): StatefulSetObservation['sets'] {
  const out: StatefulSetObservation['sets'] = {};
  for (const [name, replicas] of Object.entries(sets)) out[name] = { replicas, readyOrdinals: [], others: [] };
  for (const pod of pods) {
    const set = out[pod.metadata?.labels?.app ?? ''];
    if (set === undefined) continue;
    const podName = pod.metadata.name ?? '';
    const ordinal = /-(\d+)$/.exec(podName)?.[1];
    const app = pod.metadata.labels!.app!;
    if (ordinal === undefined || podName !== `${app}-${ordinal}` || Number(ordinal) >= set.replicas) set.others.push(podName);
    else if (isHealthy(pod)) set.readyOrdinals.push(Number(ordinal));
  }
  for (const s of Object.values(out)) s.readyOrdinals.sort((a, b) => a - b);
  return out;
}

export function statefulSetsWorkload(): WorkloadPlugin<StatefulSetsSpec> {
  return {
    name: 'statefulsets',
    description: 'StatefulSets (image nginx) behind headless Services, each optionally under a PodDisruptionBudget, on the deployments workload\'s control plane (list it first); after the run, waits until every member is Ready under its own name',
    schema: {
      properties: {
        statefulSets: { type: 'integer', minimum: 1, maximum: SETS_MAX, description: 'StatefulSets db-0, db-1, … (default 1)' },
        replicas: { type: 'integer', minimum: 1, maximum: 100, description: 'members of each (default 3)' },
        podManagementPolicy: { enum: ['OrderedReady', 'Parallel'], description: 'default OrderedReady, as Kubernetes' },
        pdb: {
          description: 'a PodDisruptionBudget (policy/v1) over each StatefulSet\'s pods: exactly one of minAvailable or maxUnavailable',
          oneOf: [
            { type: 'object', additionalProperties: false, required: ['minAvailable'], properties: { minAvailable: { type: 'integer', minimum: 0 } } },
            { type: 'object', additionalProperties: false, required: ['maxUnavailable'], properties: { maxUnavailable: { type: 'integer', minimum: 0 } } },
          ],
        },
        terminationGracePeriodSeconds: { type: 'integer', minimum: 0, description: 'the members\' grace period (default 30, as Kubernetes)' },
        convergeMs: { type: 'number', minimum: 0, description: 'after the run, how long the members may take to come back (default 30000)' },
      },
    },
    async prepare(env, spec) {
      const sink = kubeSink(env.state);
      if (sink.nodes.length === 0) throw new Error('workload.statefulsets needs the deployments workload, listed before it (workload: { deployments: {…}, statefulsets: {…} })');
      const invalid = statefulSetsSpecError(spec);
      if (invalid !== undefined) throw new Error(invalid);
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      const create = async (resource: string, group: string, version: string, object: unknown, what: string): Promise<void> => {
        const reply = await env.settle(api.ask<ApiReply>({ type: 'api.create', body: { group, version, resource, namespace: NAMESPACE, object } }, { timeoutMs: 30_000 }));
        if (!reply.ok) throw new Error(`workload.statefulsets: creating ${what}: ${reply.status.message ?? reply.status.reason}`);
      };
      const replicas = spec.replicas ?? 3;
      for (let i = 0; i < (spec.statefulSets ?? 1); i++) {
        const name = `db-${i}`;
        await create('services', '', 'v1', headlessService(name), `Service ${name}`);
        await create('statefulsets', 'apps', 'v1', statefulSetObject(name, replicas, spec.podManagementPolicy ?? 'OrderedReady', spec.terminationGracePeriodSeconds ?? 30), `StatefulSet ${name}`);
        if (spec.pdb !== undefined) {
          await create('poddisruptionbudgets', 'policy', 'v1', budgetObject(name, spec.pdb), `PodDisruptionBudget ${name}`);
          sink.budgets.push({ name, app: name, desiredHealthy: desiredHealthy(spec.pdb, replicas) } satisfies BudgetRecord);
        }
        sink.statefulsets[name] = replicas;
      }
      const sleep = (ms: number): Promise<unknown> => env.settle(env.system.ref(sink.sleeper).ask({ type: 'sleep', body: { ms } }, { timeoutMs: ms + 10_000 }));
      const observe = async (): Promise<StatefulSetObservation | undefined> => {
        const reply = await env.settle(api.ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: NAMESPACE } }, { timeoutMs: 5_000 }).catch(() => undefined));
        if (reply === undefined || !reply.ok) return undefined;
        const sets = observeMembers(reply.body.items, sink.statefulsets);
        const converged = Object.values(sets).every((s) => s.readyOrdinals.length === s.replicas && s.others.length === 0);
        return { converged, atMs: round3(env.elapsedMs()), sets };
      };
      // The members start before the origin, as the Deployments' pods do: the faults hit a running set.
      const readyBy = env.elapsedMs() + 30_000;
      const ready = await pollUntilConverged({ observe, sleep, elapsedMs: () => env.elapsedMs(), deadlineMs: readyBy });
      if (ready?.converged !== true) throw new Error(`workload.statefulsets: the members did not become Ready within 30 s: ${JSON.stringify(ready?.sets)}`);
      return {
        actors: [],
        start() {
          return {
            actors: [],
            async finish() {
              const deadlineMs = env.elapsedMs() + (spec.convergeMs ?? 30_000);
              await pollUntilConverged({ observe, sleep, elapsedMs: () => env.elapsedMs(), deadlineMs, onSeen: (seen) => (sink.statefulsetFinal = seen) });
              return {};
            },
          };
        },
      };
    },
  };
}
