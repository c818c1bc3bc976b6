/**
 * The Deployment controller (Kubernetes' pkg/controller/deployment): one
 * ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`),
 * rolled by RollingUpdate within maxSurge / maxUnavailable or by Recreate;
 * revisions in `deployment.kubernetes.io/revision` so `kubectl rollout
 * history` and `rollout undo` (which copies an old ReplicaSet's template
 * back) work; pause / resume; progressDeadlineSeconds; the Available and
 * Progressing conditions with Kubernetes' reasons; observedGeneration.
 *
 * Each sync makes one step and returns: the next step is taken when the
 * ReplicaSets it changed come back through the informer.
 */
import type { Deployment, DeploymentStatus, Pod, ReplicaSet } from '../api/types/index.js';
import { DEPLOYMENTS, INDEX_NAMESPACE, INDEX_OWNER_UID, REPLICASETS, isConflict, isNotFound, objectKey, type Clock, type Informer } from '../client/index.js';
import { controllerRefOf, isDeleting, ownerRefTo, selectorMatches, type ControllerApi, type EventRecorder } from './common.js';
import {
  POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, byCreation, calculateStatus, condition, equalIgnoreHash, isComplete, isProgressing, isTimedOut,
  maxRevision, maxUnavailableOf, newReplicaSetReplicas, oldScaleDownBudget, podTemplateHash, replicaSetAnnotations, replicasAnnotations, resolveFenceposts, revisionOf, setCondition, specReplicas, sumSpecReplicas,
} from './deployment-util.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';

export interface DeploymentControllerOptions {
  api: ControllerApi;
  clock: Clock;
  deployments: Informer<Deployment>;
  replicaSets: Informer<ReplicaSet>;
  pods: Informer<Pod>;
  recorder: EventRecorder;
  workers?: number;
  log?: Logger;
}

/** Attempts at a fresh name when a ReplicaSet named by the hash exists with another template (Kubernetes bumps collisionCount without bound; we stop). */
const COLLISIONS_MAX = 16;

export class DeploymentController {
  readonly workers: KeyedWorkers;

  constructor(private readonly options: DeploymentControllerOptions) {
    this.workers = new KeyedWorkers({ name: 'deployment', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    options.deployments.addEventHandler({
      onAdd: (d) => this.workers.enqueue(objectKey(d)),
      onUpdate: (_o, d) => this.workers.enqueue(objectKey(d)),
      onDelete: (d) => this.workers.enqueue(objectKey(d)),
    });
    const rsChanged = (rs: ReplicaSet) => this.enqueueOwnerOf(rs);
    options.replicaSets.addEventHandler({
      onAdd: rsChanged,
      onUpdate: (old, rs) => {
        rsChanged(rs);
        const oldRef = controllerRefOf(old);
        if (oldRef?.uid !== controllerRefOf(rs)?.uid) this.enqueueOwnerOf(old);
      },
      onDelete: rsChanged,
    });
    // Recreate waits for the old pods to be gone.
    options.pods.addEventHandler({
      onDelete: (pod) => {
        const ref = controllerRefOf(pod);
        if (ref?.kind !== 'ReplicaSet') return;
        const rs = options.replicaSets.store.get(`${pod.metadata.namespace}/${ref.name}`);
        if (rs !== undefined) this.enqueueOwnerOf(rs);
      },
    });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private enqueueOwnerOf(rs: ReplicaSet): void {
    const ref = controllerRefOf(rs);
    if (ref !== undefined) {
      if (ref.kind === 'Deployment') this.workers.enqueue(`${rs.metadata.namespace}/${ref.name}`);
      return;
    }
    for (const d of this.options.deployments.store.byIndex(INDEX_NAMESPACE, rs.metadata.namespace ?? '')) {
      if (selectorMatches(d.spec?.selector, rs.metadata.labels)) this.workers.enqueue(objectKey(d));
    }
  }

  async sync(key: string): Promise<SyncResult> {
    const d = this.options.deployments.store.get(key);
    if (d === undefined) return;
    const owned = await this.claimReplicaSets(d);
    if (isDeleting(d)) {
      await this.syncStatus(d, owned, this.findNewReplicaSet(d, owned));
      return;
    }
    if (d.spec?.paused === true) return this.syncPaused(d, owned);
    if (this.isScalingEvent(d, owned)) {
      const newRS = this.findNewReplicaSet(d, owned);
      await this.scale(d, newRS, owned.filter((rs) => rs !== newRS));
      await this.syncStatus(d, await this.freshOwned(d, owned), newRS);
      return;
    }
    return d.spec?.strategy?.type === 'Recreate' ? this.rolloutRecreate(d, owned) : this.rolloutRolling(d, owned);
  }

  // ---------- ReplicaSets of a Deployment ----------

  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const uid = d.metadata.uid!;
    const owned: ReplicaSet[] = [];
    for (const rs of this.options.replicaSets.store.byIndex(INDEX_NAMESPACE, d.metadata.namespace ?? '')) {
      const ref = controllerRefOf(rs);
      const matches = selectorMatches(d.spec?.selector, rs.metadata.labels);
      if (ref !== undefined) {
        if (ref.uid !== uid) continue;
        if (matches) owned.push(rs);
        else if (!isDeleting(d)) await this.patchOwners(rs, (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid));
        continue;
      }
      if (!matches || isDeleting(rs) || isDeleting(d)) continue;
      const adopted = await this.patchOwners(rs, [...(rs.metadata.ownerReferences ?? []), ownerRefTo(d, 'apps/v1', 'Deployment')]);
      if (adopted !== undefined) owned.push(adopted);
    }
    return owned;
  }

  private async patchOwners(rs: ReplicaSet, refs: ReplicaSet['metadata']['ownerReferences'] & object): Promise<ReplicaSet | undefined> {
    try {
      return await this.options.api.patch(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, 'merge', {
        metadata: { ownerReferences: refs.length > 0 ? refs : null, resourceVersion: rs.metadata.resourceVersion },
      });
    } catch (error) {
      if (isNotFound(error) || isConflict(error)) return undefined;
      throw error;
    }
  }

  /** The ReplicaSet whose template is the Deployment's (the oldest, if several). */
  private findNewReplicaSet(d: Deployment, owned: ReplicaSet[]): ReplicaSet | undefined {
    return owned.filter((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template)).sort(byCreation)[0];
  }

  /** The owned ReplicaSets as the cache holds them now (our own writes arrive through it). */
  private async freshOwned(d: Deployment, previous: ReplicaSet[]): Promise<ReplicaSet[]> {
    const byUid = new Map(this.options.replicaSets.store.byIndex(INDEX_OWNER_UID, d.metadata.uid!).map((rs) => [rs.metadata.uid, rs]));
    return previous.map((rs) => byUid.get(rs.metadata.uid) ?? rs);
  }

  /**
   * The new ReplicaSet, created when missing (with the next revision) or
   * brought to the next revision when an old template came back (an undo).
   */
  private async ensureNewReplicaSet(d: Deployment, owned: ReplicaSet[], initialReplicas: (all: ReplicaSet[], draft: ReplicaSet) => number): Promise<{ newRS: ReplicaSet; old: ReplicaSet[] }> {
    const existing = this.findNewReplicaSet(d, owned);
    const old = owned.filter((rs) => rs !== existing);
    const revision = maxRevision(old) + 1;
    if (existing !== undefined) {
      const nextRevision = revisionOf(existing) >= revision ? revisionOf(existing) : revision;
      const annotations = replicaSetAnnotations(d, existing, nextRevision);
      let newRS = existing;
      if (JSON.stringify(annotations) !== JSON.stringify(existing.metadata.annotations ?? {})) {
        newRS = await this.options.api.update(REPLICASETS, { ...existing, metadata: { ...existing.metadata, annotations } });
      }
      await this.setDeploymentRevision(d, nextRevision);
      return { newRS, old };
    }
    let collisionCount = d.status?.collisionCount ?? 0;
    for (let attempt = 0; attempt < COLLISIONS_MAX; attempt++) {
      const hash = podTemplateHash(d.spec!.template, collisionCount);
      const template = structuredClone(d.spec!.template);
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
      const draft: ReplicaSet = {
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels: { ...(template.metadata.labels ?? {}) },
          annotations: replicaSetAnnotations(d, undefined, revision),
          ownerReferences: [ownerRefTo(d, 'apps/v1', 'Deployment')],
        },
        spec: {
          replicas: 0,
          minReadySeconds: d.spec?.minReadySeconds ?? 0,
          selector: { ...d.spec!.selector, matchLabels: { ...(d.spec!.selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
          template,
        },
      };
      draft.spec!.replicas = initialReplicas([draft, ...old], draft);
      try {
        const created = await this.options.api.create(REPLICASETS, draft);
        this.options.recorder.normal(withKind(d), 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} to ${specReplicas(created)}`);
        await this.setDeploymentRevision(d, revision);
        await this.setProgressing(d, 'NewReplicaSetCreated', `Created new replica set "${created.metadata.name}"`);
        return { newRS: created, old };
      } catch (error) {
        if (!(error instanceof Error && (error as { code?: number }).code === 409)) throw error;
        const clash = await this.options.api.tryGet(REPLICASETS, d.metadata.namespace, draft.metadata.name!);
        if (clash === null) throw error; // gone again: retry the sync
        const ours = controllerRefOf(clash)?.uid === d.metadata.uid;
        if (ours && equalIgnoreHash(clash.spec?.template, d.spec?.template)) return { newRS: clash, old }; // our cache was behind our own create
        collisionCount++;
        await this.options.api.updateStatus(DEPLOYMENTS, { ...d, status: { ...(d.status ?? {}), collisionCount } });
      }
    }
    throw new Error(`deployment ${objectKey(d)}: ${COLLISIONS_MAX} hash collisions in a row`);
  }

  private async setDeploymentRevision(d: Deployment, revision: number): Promise<void> {
    if (revisionOf(d) === revision) return;
    await this.options.api.patch(DEPLOYMENTS, d.metadata.namespace, d.metadata.name!, 'merge', { metadata: { annotations: { [REVISION_ANNOTATION]: String(revision) } } });
  }

  private async setProgressing(d: Deployment, reason: string, message: string): Promise<void> {
    const conditions = setCondition([...(d.status?.conditions ?? [])], { type: 'Progressing', status: 'True', reason, message }, this.options.clock.now());
    try {
      await this.options.api.updateStatus(DEPLOYMENTS, { ...d, status: { ...(d.status ?? {}), conditions } });
    } catch (error) {
      if (!isConflict(error)) throw error; // the status sync that follows writes it again
    }
  }

  private async scaleReplicaSet(d: Deployment, rs: ReplicaSet, replicas: number): Promise<ReplicaSet> {
    const before = specReplicas(rs);
    const annotations = replicasAnnotations(d, rs);
    if (before === replicas && annotations[DESIRED_REPLICAS_ANNOTATION] === rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]) return rs;
    const updated = await this.options.api.update(REPLICASETS, { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec!, replicas } });
    if (before !== replicas) {
      this.options.recorder.normal(withKind(d), 'ScalingReplicaSet', `Scaled ${replicas > before ? 'up' : 'down'} replica set ${rs.metadata.name} to ${replicas}`);
    }
    return updated;
  }

  // ---------- strategies ----------

  private async rolloutRolling(d: Deployment, owned: ReplicaSet[]): Promise<SyncResult> {
    const { newRS: created, old } = await this.ensureNewReplicaSet(d, owned, (all, draft) => newReplicaSetReplicas(d, all, draft));
    let newRS = created;
    const replicas = d.spec?.replicas ?? 1;
    // Step 1: the new ReplicaSet up to what maxSurge allows.
    if (specReplicas(newRS) !== replicas) {
      const target = specReplicas(newRS) > replicas ? replicas : newReplicaSetReplicas(d, [newRS, ...old], newRS);
      if (target !== specReplicas(newRS)) {
        newRS = await this.scaleReplicaSet(d, newRS, target);
        return this.syncStatus(d, [newRS, ...old], newRS);
      }
    }
    // Step 2: old ReplicaSets down as far as maxUnavailable allows.
    const scaledDown = await this.reconcileOld(d, newRS, old);
    if (scaledDown) return this.syncStatus(d, await this.freshOwned(d, [newRS, ...old]), newRS);
    const all = [newRS, ...old];
    const status = calculateStatus(d, all, newRS, this.options.clock.now());
    if (isComplete(d, status)) await this.cleanup(d, old);
    return this.syncStatus(d, all, newRS);
  }

  /** Old ReplicaSets down: unhealthy pods first, then healthy ones while enough stay available. Returns whether anything was scaled. */
  private async reconcileOld(d: Deployment, newRS: ReplicaSet, oldInput: ReplicaSet[]): Promise<boolean> {
    const old = [...oldInput].sort(byCreation);
    if (sumSpecReplicas(old) === 0) return false;
    const budget = oldScaleDownBudget(d, [newRS, ...old], newRS);
    if (budget <= 0) return false;
    let scaled = 0;
    for (let i = 0; i < old.length && scaled < budget; i++) {
      const rs = old[i]!;
      // Never trust more available pods than the ReplicaSet is asked to keep: its status may lag our last scale-down.
      const unhealthy = specReplicas(rs) - Math.min(specReplicas(rs), rs.status?.availableReplicas ?? 0);
      if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
      const down = Math.min(budget - scaled, unhealthy);
      old[i] = await this.scaleReplicaSet(d, rs, specReplicas(rs) - down);
      scaled += down;
    }
    const minAvailable = (d.spec?.replicas ?? 1) - maxUnavailableOf(d);
    const available = [newRS, ...old].reduce((n, rs) => n + Math.min(specReplicas(rs), rs.status?.availableReplicas ?? 0), 0);
    let allowed = available - minAvailable;
    for (let i = 0; i < old.length && allowed > 0; i++) {
      const rs = old[i]!;
      if (specReplicas(rs) === 0) continue;
      const down = Math.min(specReplicas(rs), allowed);
      old[i] = await this.scaleReplicaSet(d, rs, specReplicas(rs) - down);
      allowed -= down;
      scaled += down;
    }
    return scaled > 0;
  }

  private async rolloutRecreate(d: Deployment, owned: ReplicaSet[]): Promise<SyncResult> {
    const existingNew = this.findNewReplicaSet(d, owned);
    const old = owned.filter((rs) => rs !== existingNew);
    let scaled = false;
    for (const rs of old) {
      if (specReplicas(rs) === 0) continue;
      await this.scaleReplicaSet(d, rs, 0);
      scaled = true;
    }
    if (scaled) return this.syncStatus(d, await this.freshOwned(d, owned), existingNew);
    // Recreate's promise: no new pod before every old one is gone.
    const oldUids = new Set(old.map((rs) => rs.metadata.uid));
    const oldPodsLeft = this.options.pods.store.byIndex(INDEX_NAMESPACE, d.metadata.namespace ?? '')
      .some((p) => oldUids.has(controllerRefOf(p)?.uid) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    if (oldPodsLeft || old.some((rs) => (rs.status?.replicas ?? 0) > 0)) return this.syncStatus(d, owned, existingNew);
    const { newRS: created } = await this.ensureNewReplicaSet(d, owned, () => d.spec?.replicas ?? 1);
    let newRS = created;
    if (specReplicas(newRS) !== (d.spec?.replicas ?? 1)) newRS = await this.scaleReplicaSet(d, newRS, d.spec?.replicas ?? 1);
    const all = [newRS, ...old];
    if (isComplete(d, calculateStatus(d, all, newRS, this.options.clock.now()))) await this.cleanup(d, old);
    return this.syncStatus(d, all, newRS);
  }

  // ---------- scaling while not rolling ----------

  /** The Deployment's replicas changed under active ReplicaSets (their desired-replicas annotation disagrees). */
  private isScalingEvent(d: Deployment, owned: ReplicaSet[]): boolean {
    const newRS = this.findNewReplicaSet(d, owned);
    if (newRS === undefined) return false;
    const want = String(d.spec?.replicas ?? 1);
    return owned.some((rs) => specReplicas(rs) > 0 && rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] !== undefined && rs.metadata.annotations[DESIRED_REPLICAS_ANNOTATION] !== want);
  }

  /** Kubernetes' scale(): one active ReplicaSet takes the new size; several share the change in proportion to their sizes. */
  private async scale(d: Deployment, newRS: ReplicaSet | undefined, old: ReplicaSet[]): Promise<void> {
    const replicas = d.spec?.replicas ?? 1;
    const active = [...(newRS ? [newRS] : []), ...old].filter((rs) => specReplicas(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS;
      if (target !== undefined) await this.scaleReplicaSet(d, target, replicas);
      return;
    }
    const maxSurge = d.spec?.strategy?.type === 'Recreate' ? 0 : resolveFenceposts(d).maxSurge;
    const total = sumSpecReplicas(active);
    const toAdd = replicas + maxSurge - total;
    // Largest first (newest on ties when growing): they take the rounding remainder.
    const ordered = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
    let added = 0;
    const targets = ordered.map((rs) => {
      const share = toAdd > 0 ? Math.floor((specReplicas(rs) * toAdd) / total) : Math.ceil((specReplicas(rs) * toAdd) / total);
      added += share;
      return share;
    });
    if (targets.length > 0) targets[0]! += toAdd - added;
    for (let i = 0; i < ordered.length; i++) await this.scaleReplicaSet(d, ordered[i]!, Math.max(0, specReplicas(ordered[i]!) + targets[i]!));
  }

  // ---------- paused, cleanup, status ----------

  private async syncPaused(d: Deployment, owned: ReplicaSet[]): Promise<SyncResult> {
    const newRS = this.findNewReplicaSet(d, owned);
    if (this.isScalingEvent(d, owned)) await this.scale(d, newRS, owned.filter((rs) => rs !== newRS));
    return this.syncStatus(d, await this.freshOwned(d, owned), newRS);
  }

  /** Old, empty ReplicaSets beyond revisionHistoryLimit go, oldest revision first. */
  private async cleanup(d: Deployment, old: ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const empty = old.filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !isDeleting(rs)).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      try {
        await this.options.api.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private async syncStatus(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<SyncResult> {
    const nowMs = this.options.clock.now();
    const status: DeploymentStatus = calculateStatus(d, all, newRS, nowMs);
    let conditions = status.conditions ?? [];
    const progressing = condition(d, 'Progressing');
    let requeueAfterMs: number | undefined;
    if (d.spec?.paused === true) {
      if (progressing?.reason !== 'DeploymentPaused') conditions = setCondition(conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, nowMs);
    } else if (d.spec?.progressDeadlineSeconds !== undefined && !isDeleting(d)) {
      const name = newRS?.metadata.name ?? '';
      if (progressing?.reason === 'DeploymentPaused') {
        conditions = setCondition(conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' }, nowMs);
      } else if (isComplete(d, status) && newRS !== undefined) {
        conditions = setCondition(conditions, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, nowMs);
      } else if (newRS !== undefined && isProgressing(d.status, status)) {
        // Progress renews the deadline: lastUpdateTime moves even when the reason stays.
        conditions = [...conditions.filter((c) => c.type !== 'Progressing'), {
          type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.`,
          lastUpdateTime: formatNow(nowMs), lastTransitionTime: progressing?.status === 'True' ? progressing.lastTransitionTime : formatNow(nowMs),
        }];
      } else if (newRS !== undefined && progressing?.reason !== 'ProgressDeadlineExceeded' && isTimedOut(d, { ...status, conditions }, nowMs)) {
        conditions = setCondition(conditions, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, nowMs);
        this.options.recorder.warning(withKind(d), 'ProgressDeadlineExceeded', `Deployment "${d.metadata.name}" has timed out progressing.`);
      }
      const current = conditions.find((c) => c.type === 'Progressing');
      if (!isComplete(d, status) && current?.status === 'True' && current.lastUpdateTime !== undefined) {
        requeueAfterMs = Math.max(1_000, Date.parse(current.lastUpdateTime) + d.spec.progressDeadlineSeconds * 1000 - nowMs + 1_000);
      }
    }
    status.conditions = conditions;
    if (JSON.stringify(status) !== JSON.stringify(d.status ?? {})) {
      try {
        await this.options.api.updateStatus(DEPLOYMENTS, { ...d, status });
      } catch (error) {
        if (isNotFound(error)) return;
        throw error;
      }
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }
}

function formatNow(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function withKind(d: Deployment): Deployment {
  return { ...d, apiVersion: 'apps/v1', kind: 'Deployment' };
}
