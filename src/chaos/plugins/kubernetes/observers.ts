/**
 * Observers of a Kubernetes chaos run, as actors that outlive the faults:
 *
 * - the pod observer watches every pod and remembers, per pod, the first
 *   time it was seen (its creation, as the watch shows it), the first time
 *   it was seen Running (for the pod startup SLO), and the first time it was
 *   seen on each node (for the no-double-bind check); it also keeps what the
 *   samples count of every live pod (phase, node, image, app label) and
 *   counts them on request, so a sample costs no LIST of every pod (at
 *   10,000 pods, 20 MB a sample);
 * - the leader recorder collects the `leader.activity` records the
 *   schedulers and controller-managers send (term starts and stops, every
 *   write), a record that survives the deaths of those it records.
 */
import { defineBehaviour, unhandled } from '../../../actor/behaviour.js';
import type { Message } from '../../../actor/protocol.js';
import { watchSeqGap, type ApiReply, type ApiWatchMsg } from '../../../api/protocol.js';
import type { Pod } from '../../../api/types/index.js';
import type { WatchEvent } from '../../../api/types/meta.js';
import type { LeaderActivity, LeaderActivityMsg } from '../../../client/leader-activity.js';
import { countPods, type DeploymentSample } from './sink.js';

/** What the pod observer hands over; times in the actor's clock (absolute). */
export interface PodObservation {
  bindings: Array<{ atMs: number; uid: string; pod: string; node: string }>;
  startups: Array<{ uid: string; pod: string; createdAtMs: number; runningAtMs?: number }>;
  /** Every change of a pod's health (Running, Ready, not terminating), deletion included: what the no-pdb-violation check judges. */
  health: Array<{ atMs: number; uid: string; pod: string; app: string | undefined; healthy: boolean }>;
}

type PodObserverMsg =
  | ApiWatchMsg
  | Message<'podwatch.take', null>
  | Message<'podwatch.retry', null>
  /** Desired vs Running per Deployment, counted from the watch (`countPods`). */
  | Message<'podwatch.count', { desired: Record<string, { replicas: number; image: string }>; crashedNodes: string[] }>;

/** A pod as the samples count it: the fields `countPods` reads, nothing more. */
function summary(pod: Pod): Pod {
  const container = pod.spec?.containers?.[0];
  return {
    metadata: { uid: pod.metadata.uid, labels: pod.metadata.labels?.app !== undefined ? { app: pod.metadata.labels.app } : {}, ...(pod.metadata.deletionTimestamp !== undefined ? { deletionTimestamp: pod.metadata.deletionTimestamp } : {}) },
    spec: { nodeName: pod.spec?.nodeName, containers: container !== undefined ? [{ name: container.name, image: container.image }] : [] },
    status: { phase: pod.status?.phase },
  } as Pod;
}

/** Healthy as a PodDisruptionBudget counts it (the disruption controller's and the eviction's view): Running, Ready, not terminating. */
export function isHealthy(pod: Pod): boolean {
  return pod.metadata?.deletionTimestamp === undefined && pod.status?.phase === 'Running'
    && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Pods and bindings remembered at most: a run's pods are far fewer; a bound keeps a runaway controller from eating the heap. */
const RECORDS_MAX = 100_000;
const WATCH_RETRY_MS = 200;

export const podObserver = defineBehaviour<PodObserverMsg, { apiserver: string }>(import.meta.url, 'k8s-chaos-pod-observer', (ctx, args) => {
  const seenOnNode = new Set<string>();
  const bindings: PodObservation['bindings'] = [];
  const startups = new Map<string, PodObservation['startups'][number]>();
  const health: PodObservation['health'] = [];
  /** The health last recorded per live uid: only changes are recorded. */
  const healthyNow = new Map<string, boolean>();
  const noteHealth = (pod: Pod, deleted: boolean): void => {
    const uid = pod.metadata?.uid;
    if (uid === undefined) return;
    const healthy = !deleted && isHealthy(pod);
    const before = healthyNow.get(uid);
    if (deleted) healthyNow.delete(uid);
    else healthyNow.set(uid, healthy);
    if (before === healthy || (before === undefined && !healthy) || health.length >= RECORDS_MAX) return;
    health.push({ atMs: ctx.now(), uid, pod: `${pod.metadata.namespace}/${pod.metadata.name}`, app: pod.metadata.labels?.app, healthy });
  };
  /** Live pods by uid, as of the watch (summaries). */
  const live = new Map<string, Pod>();
  /** Moves on every change to `live`: a count is reused until it moves. */
  let liveChanges = 0;
  let lastCount: { changes: number; asked: string; counts: Record<string, DeploymentSample> } | undefined;
  let generation = 0;
  /** The `seq` the watch's next message must carry: a gap means lost messages, so watch again (see ApiWatchMsg). */
  let nextSeq = 1;
  let resourceVersion: string | undefined;
  const retry = (): void => ctx.timer('retry', WATCH_RETRY_MS, { type: 'podwatch.retry', body: null });
  const watch = (): void => {
    generation++;
    nextSeq = 1;
    const watchId = `pods-${generation}`;
    // Without a resourceVersion the watch starts with every current pod as ADDED: forget what may have gone meanwhile.
    if (resourceVersion === undefined) {
      live.clear();
      liveChanges++;
    }
    ctx.ask<ApiReply>(args.apiserver, { type: 'api.watch', body: { group: '', version: 'v1', resource: 'pods', watchId, query: resourceVersion !== undefined ? { resourceVersion } : {} } }, { timeoutMs: 5_000 })
      .then((reply) => { if (!reply.ok) retry(); })
      .catch(retry);
  };
  const observe = (pod: Pod): void => {
    const uid = pod.metadata?.uid;
    if (uid === undefined) return;
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    let startup = startups.get(uid);
    if (startup === undefined && startups.size < RECORDS_MAX) {
      startup = { uid, pod: name, createdAtMs: ctx.now() };
      startups.set(uid, startup);
    }
    if (startup !== undefined && startup.runningAtMs === undefined && pod.status?.phase === 'Running') startup.runningAtMs = ctx.now();
    const node = pod.spec?.nodeName;
    if (node === undefined || node === '') return;
    const key = `${uid}/${node}`;
    if (seenOnNode.has(key)) return;
    seenOnNode.add(key);
    if (bindings.length < RECORDS_MAX) bindings.push({ atMs: ctx.now(), uid, pod: name, node });
  };
  watch();
  return {
    receive(msg) {
      switch (msg.type) {
        case 'api.watchEvents':
          if (msg.body.watchId !== `pods-${generation}`) return undefined;
          if (watchSeqGap(nextSeq++, msg.body.seq) !== undefined) {
            ctx.send(args.apiserver, { type: 'api.unwatch', body: { watchId: msg.body.watchId } });
            watch();
            return undefined;
          }
          for (const event of msg.body.events as WatchEvent<Pod>[]) {
            const pod = event.object as Pod;
            if (pod.metadata?.resourceVersion !== undefined) resourceVersion = pod.metadata.resourceVersion;
            if (event.type !== 'DELETED') observe(pod);
            if (event.type !== 'BOOKMARK') noteHealth(pod, event.type === 'DELETED');
            const uid = pod.metadata?.uid;
            if (uid !== undefined && event.type !== 'BOOKMARK') {
              if (event.type === 'DELETED') live.delete(uid);
              else live.set(uid, summary(pod));
              liveChanges++;
            }
          }
          return undefined;
        case 'api.watchEnd':
          if (msg.body.watchId !== `pods-${generation}`) return undefined;
          // 410 Gone: resume from now (what happened in the gap is not seen; a pod first seen late looks like it started fast, never slow).
          if (msg.body.status?.code === 410) resourceVersion = undefined;
          retry();
          return undefined;
        case 'podwatch.retry':
          watch();
          return undefined;
        case 'podwatch.count': {
          // Asked every sample; between pod events the answer cannot change, and at 10,000 pods counting was 5 % of a run.
          const asked = JSON.stringify([msg.body.desired, msg.body.crashedNodes]);
          if (lastCount === undefined || lastCount.changes !== liveChanges || lastCount.asked !== asked) {
            lastCount = { changes: liveChanges, asked, counts: countPods(live.values(), msg.body.desired, msg.body.crashedNodes) };
          }
          return lastCount.counts;
        }
        case 'podwatch.take':
          return { bindings, startups: [...startups.values()], health } satisfies PodObservation;
        default:
          return unhandled;
      }
    },
  };
});

type RecorderMsg = LeaderActivityMsg | Message<'activity.take', null>;

/** Collects leader.activity records; `activity.take` hands them over. */
export const leaderRecorder = defineBehaviour<RecorderMsg, null>(import.meta.url, 'k8s-chaos-leader-recorder', () => {
  const records: LeaderActivity[] = [];
  return {
    receive(msg) {
      switch (msg.type) {
        case 'leader.activity':
          for (const record of msg.body) if (records.length < RECORDS_MAX) records.push(record);
          return undefined;
        case 'activity.take':
          return records;
        default:
          return unhandled;
      }
    },
  };
});
