/**
 * The DaemonSet controller (Kubernetes' pkg/controller/daemon), the doing
 * half: claims the set's pods, keeps its ControllerRevisions, carries out
 * what daemonset-util.ts plans (one pod per eligible node, pinned there by
 * node affinity for the scheduler to bind; old ones replaced by the rolling
 * update), and writes the status. Creations and deletions wait on
 * expectations, as the ReplicaSet controller's, so a lagging cache never
 * makes it create a second pod for a node.
 */
import type { ControllerRevision, DaemonSet, DaemonSetStatus, Node, Pod } from '../api/types/index.js';
import {
  DAEMONSETS, INDEX_NAMESPACE, INDEX_OWNER_UID, PODS, isNotFound, objectKey,
  type Clock, type Informer,
} from '../client/index.js';
import { controllerRefOf, isDeleting, selectorMatches, type ControllerApi, type EventRecorder } from './common.js';
import { daemonSetStatus, newDaemonPod, planDaemonSet, targetNodeName, type DaemonSetPlanInput } from './daemonset-util.js';
import { Expectations } from './expectations.js';
import { claimPods } from './pod-claim.js';
import { CONTROLLER_REVISION_HASH_LABEL, RevisionCollisionError, RevisionHistory, sortByRevision } from './history.js';
import { BURST_REPLICAS, SLOW_START_INITIAL_BATCH, slowStartBatch } from './replicaset.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';

export interface DaemonSetControllerOptions {
  api: ControllerApi;
  clock: Clock;
  daemonSets: Informer<DaemonSet>;
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  revisions: Informer<ControllerRevision>;
  recorder: EventRecorder;
  workers?: number;
  log?: Logger;
}

export class DaemonSetController {
  readonly workers: KeyedWorkers;
  readonly expectations: Expectations;
  private readonly history: RevisionHistory;

  constructor(private readonly options: DaemonSetControllerOptions) {
    this.history = new RevisionHistory(options.api);
    this.expectations = new Expectations(() => options.clock.now());
    this.workers = new KeyedWorkers({ name: 'daemonset', clock: options.clock, workers: options.workers ?? 2, sync: (key) => this.sync(key), log: options.log });
    options.daemonSets.addEventHandler({
      onAdd: (ds) => this.workers.enqueue(objectKey(ds)),
      onUpdate: (_old, ds) => this.workers.enqueue(objectKey(ds)),
      onDelete: (ds) => {
        this.expectations.forget(objectKey(ds));
        this.workers.enqueue(objectKey(ds));
      },
    });
    // A node that comes, goes, or changes labels, taints or schedulability may change where daemons run: every set looks.
    const all = () => {
      for (const ds of options.daemonSets.store.list()) this.workers.enqueue(objectKey(ds));
    };
    options.nodes.addEventHandler({
      onAdd: all,
      onUpdate: (old, node) => {
        if (JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(node.metadata.labels ?? {}) || JSON.stringify(old.spec ?? {}) !== JSON.stringify(node.spec ?? {})) all();
      },
      onDelete: all,
    });
    options.pods.addEventHandler({
      onAdd: (pod) => {
        const key = this.ownerKey(pod);
        if (key !== undefined && !isDeleting(pod)) this.expectations.creationObserved(key);
        this.podChanged(pod);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const key = this.ownerKey(pod);
        if (key !== undefined && isDeleting(pod) && !isDeleting(old)) this.expectations.deletionObserved(key, objectKey(pod));
        this.podChanged(pod);
        if (controllerRefOf(old)?.uid !== controllerRefOf(pod)?.uid) this.podChanged(old);
      },
      onDelete: (pod) => {
        const key = this.ownerKey(pod);
        if (key !== undefined) this.expectations.deletionObserved(key, objectKey(pod));
        this.podChanged(pod);
      },
    });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerRefOf(pod);
    if (ref === undefined || ref.kind !== 'DaemonSet') return undefined;
    const key = `${pod.metadata.namespace}/${ref.name}`;
    return this.options.daemonSets.store.get(key)?.metadata.uid === ref.uid ? key : undefined;
  }

  private podChanged(pod: Pod): void {
    const key = this.ownerKey(pod);
    if (key !== undefined) {
      this.workers.enqueue(key);
      return;
    }
    if (controllerRefOf(pod) !== undefined) return;
    for (const ds of this.options.daemonSets.store.byIndex(INDEX_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selectorMatches(ds.spec?.selector, pod.metadata.labels)) this.workers.enqueue(objectKey(ds));
    }
  }

  async sync(key: string): Promise<SyncResult> {
    const ds = this.options.daemonSets.store.get(key);
    if (ds === undefined) {
      this.expectations.forget(key);
      return;
    }
    if (isDeleting(ds)) return; // its pods and revisions go with it through the garbage collector
    const pods = await claimPods({ owner: ds, apiVersion: 'apps/v1', kind: 'DaemonSet', pods: this.options.pods, api: this.options.api });
    const revisions = this.options.revisions.store.byIndex(INDEX_OWNER_UID, ds.metadata.uid!).filter((r) => controllerRefOf(r)?.uid === ds.metadata.uid);
    let update: ControllerRevision;
    try {
      update = await this.history.ensure(
        { object: ds, apiVersion: 'apps/v1', kind: 'DaemonSet', labels: { ...(ds.spec?.template?.metadata?.labels ?? {}) }, template: ds.spec?.template, collisionCount: ds.status?.collisionCount },
        revisions, true,
      );
    } catch (error) {
      if (error instanceof RevisionCollisionError && ds.status !== undefined) {
        await this.writeStatus(ds, { ...ds.status, collisionCount: (ds.status.collisionCount ?? 0) + 1 });
      }
      throw error;
    }
    const hash = update.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
    const podsByNode = new Map<string, Pod[]>();
    for (const pod of pods) {
      const node = targetNodeName(pod);
      if (node === undefined) continue;
      const list = podsByNode.get(node) ?? [];
      list.push(pod);
      podsByNode.set(node, list);
    }
    const input: DaemonSetPlanInput = { ds, nodes: this.options.nodes.store.list(), podsByNode, hash, nowMs: this.options.clock.now() };
    let actionError: unknown;
    if (this.expectations.satisfied(key)) {
      try {
        await this.carryOut(key, ds, input);
      } catch (error) {
        actionError = error;
      }
    }
    const status = daemonSetStatus(input);
    if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
    await this.writeStatus(ds, status);
    const live = new Set<string>([update.metadata.name!]);
    for (const pod of pods) {
      const podHash = pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
      if (podHash !== undefined) live.add(`${ds.metadata.name}-${podHash}`);
    }
    await this.history.prune(sortByRevision([...revisions.filter((r) => r.metadata.name !== update.metadata.name), update]), live, ds.spec?.revisionHistoryLimit ?? 10);
    if (actionError !== undefined) throw actionError;
    const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
    if (minReadySeconds > 0 && status.numberReady !== status.numberAvailable) return { requeueAfterMs: minReadySeconds * 1000 };
    return;
  }



  private async carryOut(key: string, ds: DaemonSet, input: DaemonSetPlanInput): Promise<void> {
    const plan = planDaemonSet(input);
    const creates = plan.create.slice(0, BURST_REPLICAS);
    const deletes = plan.delete.slice(0, BURST_REPLICAS);
    if (creates.length === 0 && deletes.length === 0) return;
    this.expectations.expect(key, creates.length, deletes.map(objectKey));
    let next = 0;
    const { succeeded, error } = await slowStartBatch(creates.length, SLOW_START_INITIAL_BATCH, () => this.createPod(ds, creates[next++]!, input.hash));
    for (let i = succeeded; i < creates.length; i++) this.expectations.creationObserved(key);
    const results = await Promise.allSettled(deletes.map((pod) => this.deletePod(ds, pod)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.expectations.deletionObserved(key, objectKey(deletes[i]!));
    });
    if (error !== undefined) throw error;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async createPod(ds: DaemonSet, nodeName: string, hash: string): Promise<void> {
    try {
      const created = await this.options.api.create(PODS, newDaemonPod(ds, nodeName, hash));
      this.options.recorder.normal(withKind(ds), 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (error) {
      this.options.recorder.warning(withKind(ds), 'FailedCreate', `Error creating: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async deletePod(ds: DaemonSet, pod: Pod): Promise<void> {
    try {
      await this.options.api.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      this.options.recorder.normal(withKind(ds), 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
    } catch (error) {
      if (isNotFound(error)) return;
      this.options.recorder.warning(withKind(ds), 'FailedDelete', `Error deleting: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async writeStatus(ds: DaemonSet, status: DaemonSetStatus): Promise<void> {
    if (JSON.stringify(ds.status ?? {}) === JSON.stringify(status)) return;
    try {
      await this.options.api.updateStatus(DAEMONSETS, { ...ds, status });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

function withKind(ds: DaemonSet): DaemonSet {
  return { ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet' };
}
