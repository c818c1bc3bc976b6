/**
 * The StatefulSet controller (Kubernetes' pkg/controller/statefulset), the
 * doing half: claims the set's pods, keeps its ControllerRevisions (the
 * current and the update revision), carries out what
 * statefulset-control.ts plans, and writes the status. Pods are created
 * under fixed names (`<set>-<ordinal>`), so a stale cache cannot make two:
 * the second create is refused with AlreadyExists and the key requeued.
 */
import type { ControllerRevision, OwnerReference, Pod, StatefulSet, StatefulSetStatus } from '../api/types/index.js';
import {
  INDEX_NAMESPACE, INDEX_OWNER_UID, PODS, STATEFULSETS, isConflict, isNotFound, objectKey,
  type Clock, type Informer,
} from '../client/index.js';
import { controllerRefOf, isDeleting, ownerRefTo, selectorMatches, type ControllerApi, type EventRecorder } from './common.js';
import { CONTROLLER_REVISION_HASH_LABEL, RevisionCollisionError, RevisionHistory, sortByRevision, templateOfRevision } from './history.js';
import { claimPods } from './pod-claim.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import {
  POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL, ordinalOf, planStatefulSet, podName, revisionOfPod, statefulSetStatus,
  type StatefulSetAction, type StatefulSetPlanInput,
} from './statefulset-control.js';

export interface StatefulSetControllerOptions {
  api: ControllerApi;
  clock: Clock;
  statefulSets: Informer<StatefulSet>;
  pods: Informer<Pod>;
  revisions: Informer<ControllerRevision>;
  recorder: EventRecorder;
  workers?: number;
  log?: Logger;
}

export class StatefulSetController {
  readonly workers: KeyedWorkers;
  private readonly history: RevisionHistory;

  constructor(private readonly options: StatefulSetControllerOptions) {
    this.history = new RevisionHistory(options.api);
    this.workers = new KeyedWorkers({ name: 'statefulset', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    const enqueue = (set: StatefulSet) => this.workers.enqueue(objectKey(set));
    options.statefulSets.addEventHandler({ onAdd: enqueue, onUpdate: (_old, set) => enqueue(set), onDelete: enqueue });
    options.pods.addEventHandler({
      onAdd: (pod) => this.podChanged(pod),
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        this.podChanged(pod);
        if (controllerRefOf(old)?.uid !== controllerRefOf(pod)?.uid) this.podChanged(old);
      },
      onDelete: (pod) => this.podChanged(pod),
    });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private ownerKey(namespace: string | undefined, ref: OwnerReference | undefined): string | undefined {
    if (ref === undefined || ref.kind !== 'StatefulSet') return undefined;
    const key = `${namespace}/${ref.name}`;
    return this.options.statefulSets.store.get(key)?.metadata.uid === ref.uid ? key : undefined;
  }

  private podChanged(pod: Pod): void {
    const ref = controllerRefOf(pod);
    const key = this.ownerKey(pod.metadata.namespace, ref);
    if (key !== undefined) {
      this.workers.enqueue(key);
      return;
    }
    if (ref !== undefined) return;
    // An orphan: any set that would adopt it looks.
    for (const set of this.options.statefulSets.store.byIndex(INDEX_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selectorMatches(set.spec?.selector, pod.metadata.labels)) this.workers.enqueue(objectKey(set));
    }
  }

  async sync(key: string): Promise<SyncResult> {
    const set = this.options.statefulSets.store.get(key);
    if (set === undefined || isDeleting(set)) return; // its pods and revisions go with it through the garbage collector
    const pods = await claimPods({ owner: set, apiVersion: 'apps/v1', kind: 'StatefulSet', pods: this.options.pods, api: this.options.api, mayAdopt: (pod) => ordinalOf(set.metadata.name!, pod) !== undefined });
    const revisions = this.options.revisions.store.byIndex(INDEX_OWNER_UID, set.metadata.uid!).filter((r) => controllerRefOf(r)?.uid === set.metadata.uid);
    let update: ControllerRevision;
    try {
      update = await this.history.ensure(
        { object: set, apiVersion: 'apps/v1', kind: 'StatefulSet', labels: { ...(set.spec?.template?.metadata?.labels ?? {}) }, template: set.spec?.template, collisionCount: set.status?.collisionCount },
        revisions, false,
      );
    } catch (error) {
      if (error instanceof RevisionCollisionError) {
        await this.writeStatus(set, { ...(set.status ?? { replicas: 0 }), collisionCount: (set.status?.collisionCount ?? 0) + 1 });
      }
      throw error;
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    const input: StatefulSetPlanInput = {
      set, pods, currentRevision: current.metadata.name!, updateRevision: update.metadata.name!, nowMs: this.options.clock.now(),
    };
    let actionError: unknown;
    try {
      await this.carryOut(set, planStatefulSet(input), current, update);
    } catch (error) {
      actionError = error;
    }
    const status = statefulSetStatus(input, set.status?.collisionCount);
    await this.writeStatus(set, status);
    const live = new Set<string>([status.currentRevision!, status.updateRevision!]);
    for (const pod of pods) {
      const revision = revisionOfPod(pod);
      if (revision !== undefined) live.add(revision);
    }
    const all = [...revisions.filter((r) => r.metadata.name !== update.metadata.name), update];
    await this.history.prune(sortByRevision(all), live, set.spec?.revisionHistoryLimit ?? 10);
    if (actionError !== undefined) throw actionError;
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    if (minReadySeconds > 0 && status.readyReplicas !== status.availableReplicas) return { requeueAfterMs: minReadySeconds * 1000 };
    return;
  }



  private async carryOut(set: StatefulSet, actions: StatefulSetAction[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const results = await Promise.allSettled(actions.map((action) => (action.type === 'create'
      ? this.createPod(set, action.ordinal, action.revision === 'current' ? current : update)
      : this.deletePod(set, action.pod))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async createPod(set: StatefulSet, ordinal: number, revision: ControllerRevision): Promise<void> {
    const pod = newStatefulSetPod(set, ordinal, revision);
    try {
      await this.options.api.create(PODS, pod);
    } catch (error) {
      if (isConflict(error)) throw new Error(`pod ${pod.metadata.namespace}/${pod.metadata.name} exists but is not in the cache yet; retrying`);
      this.options.recorder.warning(withKind(set), 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    this.options.recorder.normal(withKind(set), 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
  }

  private async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.options.api.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
    } catch (error) {
      if (isNotFound(error)) return;
      this.options.recorder.warning(withKind(set), 'FailedDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    this.options.recorder.normal(withKind(set), 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
  }

  private async writeStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    if (JSON.stringify(set.status ?? {}) === JSON.stringify(status)) return;
    try {
      await this.options.api.updateStatus(STATEFULSETS, { ...set, status });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/**
 * The pod of `ordinal`, from `revision`'s template: its fixed name, the
 * identity labels, hostname = its name and subdomain = the set's
 * serviceName (so a headless Service gives it a DNS name), owned by the set.
 */
export function newStatefulSetPod(set: StatefulSet, ordinal: number, revision: ControllerRevision): Pod {
  const template = templateOfRevision(revision) ?? set.spec!.template;
  const name = podName(set.metadata.name!, ordinal);
  const spec = structuredClone(template.spec);
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  return {
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: {
        ...(template.metadata?.labels ?? {}),
        [STATEFULSET_POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
        [CONTROLLER_REVISION_HASH_LABEL]: revision.metadata.name!,
      },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [ownerRefTo(set, 'apps/v1', 'StatefulSet')],
    },
    spec,
  };
}

function withKind(set: StatefulSet): StatefulSet {
  return { ...set, apiVersion: 'apps/v1', kind: 'StatefulSet' };
}
