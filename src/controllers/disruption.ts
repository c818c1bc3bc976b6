/**
 * The disruption controller (Kubernetes' pkg/controller/disruption): keeps
 * each PodDisruptionBudget's status — expectedPods, desiredHealthy,
 * currentHealthy, disruptionsAllowed, the DisruptionAllowed condition and
 * observedGeneration — which the eviction subresource reads and
 * decrements. maxUnavailable and percentages are taken of the scale of
 * the pods' controllers (a Deployment's replicas for its ReplicaSets'
 * pods; any other owner's spec.replicas, read through the API). On an
 * error it fails safe: no disruption allowed, condition SyncFailed.
 */
import { sameJson } from '../api/json-equal.js';
import { findByKind } from '../api/resources.js';
import type { Deployment, KubeObject, Pod, PodDisruptionBudget, ReplicaSet } from '../api/types/index.js';
import { INDEX_NAMESPACE, isNotFound, objectKey, type Clock, type Informer, type ResourceType } from '../client/index.js';
import { controllerRefOf, isDeleting, type ControllerApi, type EventRecorder } from './common.js';
import { budgetStatus, countHealthy, disruptionAllowedCondition, expectedAndDesired, liveDisruptedPods, needsScale, podsOfBudget } from './disruption-util.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import { PODDISRUPTIONBUDGETS } from './workload-resources.js';

export interface DisruptionControllerOptions {
  api: ControllerApi;
  clock: Clock;
  budgets: Informer<PodDisruptionBudget>;
  pods: Informer<Pod>;
  replicaSets: Informer<ReplicaSet>;
  deployments: Informer<Deployment>;
  recorder: EventRecorder;
  workers?: number;
  log?: Logger;
}

export class DisruptionController {
  readonly workers: KeyedWorkers;

  constructor(private readonly options: DisruptionControllerOptions) {
    this.workers = new KeyedWorkers({ name: 'disruption', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    options.budgets.addEventHandler({
      onAdd: (pdb) => this.workers.enqueue(objectKey(pdb)),
      onUpdate: (_old, pdb) => this.workers.enqueue(objectKey(pdb)),
    });
    options.pods.addEventHandler({
      onAdd: (pod) => this.enqueueCovering(pod),
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        this.enqueueCovering(pod);
        if (!sameJson(old.metadata.labels, pod.metadata.labels)) this.enqueueCovering(old);
      },
      onDelete: (pod) => this.enqueueCovering(pod),
    });
    // A controller's scale decides expectedPods: any change of one requeues its namespace's budgets.
    const scaleChanged = (o: KubeObject) => this.enqueueNamespace(o.metadata.namespace ?? '');
    options.replicaSets.addEventHandler({ onAdd: scaleChanged, onUpdate: (_old, o) => scaleChanged(o), onDelete: scaleChanged });
    options.deployments.addEventHandler({ onAdd: scaleChanged, onUpdate: (_old, o) => scaleChanged(o), onDelete: scaleChanged });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private enqueueCovering(pod: Pod): void {
    for (const pdb of this.options.budgets.store.byIndex(INDEX_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (podsOfBudget(pdb, [pod]).length > 0) this.workers.enqueue(objectKey(pdb));
    }
  }

  private enqueueNamespace(namespace: string): void {
    for (const pdb of this.options.budgets.store.byIndex(INDEX_NAMESPACE, namespace)) this.workers.enqueue(objectKey(pdb));
  }

  async sync(key: string): Promise<SyncResult> {
    const pdb = this.options.budgets.store.get(key);
    if (pdb === undefined || isDeleting(pdb)) return;
    const nowMs = this.options.clock.now();
    const pods = podsOfBudget(pdb, this.options.pods.store.byIndex(INDEX_NAMESPACE, pdb.metadata.namespace ?? ''));
    // Said once per change (a new generation, or the last pod gone), not on every resync: our recorder does not aggregate repeats as Kubernetes' does.
    const newlyEmpty = pdb.status?.observedGeneration !== pdb.metadata.generation || (pdb.status?.expectedPods ?? 0) > 0;
    if (pods.length === 0 && newlyEmpty) this.options.recorder.normal(withKind(pdb), 'NoPods', 'No matching pods found');
    let scale = 0;
    if (needsScale(pdb) && pods.length > 0) {
      try {
        scale = await this.controllersScale(pods);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.options.recorder.warning(withKind(pdb), 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${message}`);
        await this.failSafe(pdb, message, nowMs);
        throw error;
      }
    }
    const { expectedPods, desiredHealthy } = expectedAndDesired(pdb, pods.length, scale);
    const { disruptedPods, recheckMs, overdue } = liveDisruptedPods(pdb, pods, nowMs);
    for (const pod of overdue) {
      this.options.recorder.warning({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'NotDeleted', `Pod was expected by PDB ${pdb.metadata.namespace}/${pdb.metadata.name} to be deleted but it wasn't`);
    }
    const currentHealthy = countHealthy(pods, disruptedPods);
    await this.writeStatus(pdb, budgetStatus(pdb, { currentHealthy, desiredHealthy, expectedPods }, disruptedPods, nowMs));
    return recheckMs === undefined ? undefined : { requeueAfterMs: Math.max(1, recheckMs - nowMs) };
  }

  /** The summed scale of the pods' distinct controllers; a pod without one, or with an owner that has no scale, is an error (as in Kubernetes). */
  private async controllersScale(pods: Pod[]): Promise<number> {
    const scales = new Map<string, number>();
    for (const pod of pods) {
      const ref = controllerRefOf(pod);
      if (ref === undefined) throw new Error(`found no controller ref for pod "${pod.metadata.name}"`);
      const namespace = pod.metadata.namespace ?? '';
      if (ref.kind === 'ReplicaSet') {
        const rs = this.options.replicaSets.store.get(`${namespace}/${ref.name}`);
        if (rs !== undefined && rs.metadata.uid === ref.uid) {
          const owner = controllerRefOf(rs);
          const deployment = owner?.kind === 'Deployment' ? this.options.deployments.store.get(`${namespace}/${owner.name}`) : undefined;
          if (deployment !== undefined && deployment.metadata.uid === owner?.uid) scales.set(deployment.metadata.uid!, deployment.spec?.replicas ?? 1);
          else scales.set(rs.metadata.uid!, rs.spec?.replicas ?? 1);
          continue;
        }
      }
      if (scales.has(ref.uid)) continue;
      scales.set(ref.uid, await this.scaleOf(namespace, ref.apiVersion, ref.kind, ref.name, ref.uid, pod));
    }
    let total = 0;
    for (const replicas of scales.values()) total += replicas;
    return total;
  }

  /** spec.replicas of any owner kind the API server serves with a scale (StatefulSet, ReplicaSet, ...). */
  private async scaleOf(namespace: string, apiVersion: string, kind: string, name: string, uid: string, pod: Pod): Promise<number> {
    const info = findByKind(apiVersion, kind);
    if (info === undefined || !info.subresources.includes('scale')) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
    const type: ResourceType<KubeObject> = { group: info.group, version: info.version, resource: info.resource, kind: info.kind, namespaced: info.namespaced };
    const owner = await this.options.api.get(type, namespace, name) as KubeObject & { spec?: { replicas?: number } };
    if (owner.metadata.uid !== uid) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
    return owner.spec?.replicas ?? 1;
  }

  private async failSafe(pdb: PodDisruptionBudget, message: string, nowMs: number): Promise<void> {
    const status = {
      ...(pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 }),
      disruptionsAllowed: 0, observedGeneration: pdb.metadata.generation,
      conditions: disruptionAllowedCondition(pdb.status?.conditions, 0, pdb.metadata.generation, nowMs, message),
    };
    await this.writeStatus(pdb, status);
  }

  private async writeStatus(pdb: PodDisruptionBudget, status: NonNullable<PodDisruptionBudget['status']>): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(pdb.status)) return;
    try {
      // Pinned to the cached resourceVersion: an eviction that decremented the budget meanwhile wins, and this sync runs again.
      await this.options.api.updateStatus(PODDISRUPTIONBUDGETS, { ...pdb, status });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
  }
}

function withKind(pdb: PodDisruptionBudget): PodDisruptionBudget {
  return { ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' };
}
