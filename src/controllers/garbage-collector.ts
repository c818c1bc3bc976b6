/**
 * The garbage collector (Kubernetes' pkg/controller/garbagecollector), over
 * the resources the controllers own: Deployments, ReplicaSets, Pods,
 * Services, EndpointSlices, StatefulSets, DaemonSets,
 * ControllerRevisions, Jobs and CronJobs. The API server marks deletions (the
 * `orphan` and `foregroundDeletion` finalizers); this acts on them:
 *
 * - background: an object whose owners are all gone is deleted;
 * - foreground: the owner stays (with deletionTimestamp) while its
 *   dependents are deleted (in foreground too, so grandchildren go first);
 *   the finalizer is removed once no dependent with blockOwnerDeletion is left;
 * - orphan: the dependents lose their ownerReference to the owner, then
 *   the `orphan` finalizer is removed.
 *
 * An owner missing from the caches is looked up live before anything is
 * deleted: a lagging cache must never cost a dependent its life.
 */
import type { KubeObject, OwnerReference } from '../api/types/index.js';
import {
  CONTROLLERREVISIONS, DAEMONSETS, DEPLOYMENTS, ENDPOINTSLICES, INDEX_OWNER_UID, NODES, PODS, REPLICASETS, SERVICES, STATEFULSETS, isConflict, isNotFound, objectKey,
  type Clock, type Informer, type ResourceType,
} from '../client/index.js';
import { isDeleting, type ControllerApi } from './common.js';
import { CRONJOBS, JOBS } from './workload-resources.js';
import { KeyedWorkers, type Logger, type SharedInformers, type SyncResult } from './runtime.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** The resources the collector watches, by kind. Owners of other kinds are checked live and treated as present when unknown. */
const WATCHED: ResourceType<KubeObject>[] = [DEPLOYMENTS, REPLICASETS, PODS, SERVICES, ENDPOINTSLICES, STATEFULSETS, DAEMONSETS, CONTROLLERREVISIONS, JOBS, CRONJOBS] as ResourceType<KubeObject>[];
const BY_KIND = new Map<string, ResourceType<KubeObject>>([...WATCHED, NODES as ResourceType<KubeObject>].map((t) => [t.kind, t]));

export interface GarbageCollectorOptions {
  api: ControllerApi;
  clock: Clock;
  informers: SharedInformers;
  workers?: number;
  log?: Logger;
}

type OwnerState = 'solid' | 'absent' | 'waiting';

/** What the collector acts on differs between two versions of an object: owner references, finalizers, deletion. */
export function ownershipChanged(old: KubeObject, o: KubeObject): boolean {
  if (old === o) return false;
  const a = old.metadata;
  const b = o.metadata;
  if (a.deletionTimestamp !== b.deletionTimestamp || !sameStrings(a.finalizers, b.finalizers)) return true;
  const refsA = a.ownerReferences ?? [];
  const refsB = b.ownerReferences ?? [];
  if (refsA.length !== refsB.length) return true;
  for (let i = 0; i < refsA.length; i++) {
    const x = refsA[i]!;
    const y = refsB[i]!;
    if (x.uid !== y.uid || x.name !== y.name || x.kind !== y.kind || x.apiVersion !== y.apiVersion || x.controller !== y.controller || x.blockOwnerDeletion !== y.blockOwnerDeletion) return true;
  }
  return false;
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export class GarbageCollector {
  readonly workers: KeyedWorkers;
  private readonly informers = new Map<string, Informer<KubeObject>>();

  constructor(private readonly options: GarbageCollectorOptions) {
    this.workers = new KeyedWorkers({ name: 'garbage-collector', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    for (const type of WATCHED) {
      const informer = options.informers.get(type);
      this.informers.set(type.resource, informer);
      informer.addEventHandler({
        onAdd: (o) => this.changed(type, o),
        // As Kubernetes' graph builder: an update matters when it changes the owner references, the finalizers or the
        // deletion (its informers do not resync either). A pod's status writes and the informers' resyncs change none
        // of them, and the verdict on the owners was reached when they last changed; an owner's own deletion enqueues
        // its dependents. An object being deleted is looked at on every update, as before.
        onUpdate: (old, o) => {
          if (isDeleting(o) || ownershipChanged(old, o)) this.changed(type, o);
        },
        onDelete: (o) => {
          this.enqueueDependents(o.metadata.uid);
          this.enqueueOwners(o); // an owner waiting in foreground may now be free to go
        },
      });
    }
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private key(type: ResourceType<KubeObject>, o: KubeObject): string {
    return `${type.resource}|${objectKey(o)}`;
  }

  private changed(type: ResourceType<KubeObject>, o: KubeObject): void {
    if ((o.metadata.ownerReferences ?? []).length > 0 || hasFinalizer(o, FINALIZER_ORPHAN) || hasFinalizer(o, FINALIZER_FOREGROUND)) this.workers.enqueue(this.key(type, o));
    if (isDeleting(o)) this.enqueueDependents(o.metadata.uid);
  }

  private enqueueOwners(o: KubeObject): void {
    for (const ref of o.metadata.ownerReferences ?? []) {
      const type = BY_KIND.get(ref.kind);
      if (type === undefined || !this.informers.has(type.resource)) continue;
      this.workers.enqueue(`${type.resource}|${type.namespaced ? `${o.metadata.namespace}/${ref.name}` : ref.name}`);
    }
  }

  private enqueueDependents(uid: string | undefined): void {
    if (uid === undefined) return;
    for (const [resource, informer] of this.informers) {
      for (const d of informer.store.byIndex(INDEX_OWNER_UID, uid)) this.workers.enqueue(`${resource}|${objectKey(d)}`);
    }
  }

  private dependentsOf(uid: string): { type: ResourceType<KubeObject>; object: KubeObject }[] {
    const out: { type: ResourceType<KubeObject>; object: KubeObject }[] = [];
    for (const type of WATCHED) for (const object of this.informers.get(type.resource)!.store.byIndex(INDEX_OWNER_UID, uid)) out.push({ type, object });
    return out;
  }

  async sync(key: string): Promise<SyncResult> {
    const bar = key.indexOf('|');
    const resource = key.slice(0, bar);
    const objectKeyText = key.slice(bar + 1);
    const type = WATCHED.find((t) => t.resource === resource);
    if (type === undefined) throw new Error(`garbage collector: unknown resource in key ${key}`);
    const object = this.informers.get(resource)!.store.get(objectKeyText);
    if (object === undefined) return;
    if (isDeleting(object) && hasFinalizer(object, FINALIZER_ORPHAN)) return this.orphanDependents(type, object);
    if (isDeleting(object) && hasFinalizer(object, FINALIZER_FOREGROUND)) return this.deleteDependentsFirst(type, object);
    if (isDeleting(object) || (object.metadata.ownerReferences ?? []).length === 0) return;
    return this.collectIfOrphaned(type, object);
  }

  private async orphanDependents(type: ResourceType<KubeObject>, owner: KubeObject): Promise<SyncResult> {
    const uid = owner.metadata.uid!;
    for (const { type: dependentType, object } of this.dependentsOf(uid)) {
      const refs = (object.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await this.options.api.patch(dependentType, object.metadata.namespace, object.metadata.name!, 'merge', {
        metadata: { ownerReferences: refs.length > 0 ? refs : null, resourceVersion: object.metadata.resourceVersion },
      }).catch(ignoreNotFound);
    }
    await this.removeFinalizer(type, owner, FINALIZER_ORPHAN);
  }

  private async deleteDependentsFirst(type: ResourceType<KubeObject>, owner: KubeObject): Promise<SyncResult> {
    const dependents = this.dependentsOf(owner.metadata.uid!);
    for (const { type: dependentType, object } of dependents) {
      if (isDeleting(object)) continue;
      // Dependents of a foreground deletion go in foreground too (pods have no dependents: plain delete).
      const options = dependentType === PODS ? { preconditions: { uid: object.metadata.uid } } : { propagationPolicy: 'Foreground' as const, preconditions: { uid: object.metadata.uid } };
      await this.options.api.delete(dependentType, object.metadata.namespace, object.metadata.name!, options).catch(ignoreNotFound);
    }
    const blocking = dependents.filter(({ object }) => (object.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid && r.blockOwnerDeletion === true));
    if (blocking.length > 0) return; // their deletion events bring the owner back here
    await this.removeFinalizer(type, owner, FINALIZER_FOREGROUND);
  }

  private async collectIfOrphaned(type: ResourceType<KubeObject>, object: KubeObject): Promise<SyncResult> {
    const refs = object.metadata.ownerReferences ?? [];
    const states = await Promise.all(refs.map((ref) => this.ownerState(ref, object.metadata.namespace)));
    if (states.includes('solid')) {
      const dangling = refs.filter((_, i) => states[i] === 'absent');
      if (dangling.length === 0) return;
      const keep = refs.filter((_, i) => states[i] !== 'absent');
      await this.options.api.patch(type, object.metadata.namespace, object.metadata.name!, 'merge', { metadata: { ownerReferences: keep, resourceVersion: object.metadata.resourceVersion } })
        .catch(ignoreNotFound);
      return;
    }
    const policy = states.includes('waiting') ? 'Foreground' as const : 'Background' as const;
    const options = type === PODS ? { preconditions: { uid: object.metadata.uid } } : { propagationPolicy: policy, preconditions: { uid: object.metadata.uid } };
    await this.options.api.delete(type, object.metadata.namespace, object.metadata.name!, options).catch(ignoreNotFound);
  }

  private async ownerState(ref: OwnerReference, namespace: string | undefined): Promise<OwnerState> {
    const type = BY_KIND.get(ref.kind);
    if (type === undefined) return 'solid'; // a kind we cannot look up is never assumed gone
    const ownerNamespace = type.namespaced ? namespace : undefined;
    const cacheKey = ownerNamespace ? `${ownerNamespace}/${ref.name}` : ref.name;
    let owner: KubeObject | null | undefined = this.informers.get(type.resource)?.store.get(cacheKey);
    if (owner === undefined || owner.metadata.uid !== ref.uid) owner = await this.options.api.tryGet(type, ownerNamespace, ref.name);
    if (owner === null || owner === undefined || owner.metadata.uid !== ref.uid) return 'absent';
    if (isDeleting(owner) && hasFinalizer(owner, FINALIZER_FOREGROUND)) return 'waiting';
    return 'solid';
  }

  private async removeFinalizer(type: ResourceType<KubeObject>, object: KubeObject, finalizer: string): Promise<void> {
    const finalizers = (object.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      await this.options.api.patch(type, object.metadata.namespace, object.metadata.name!, 'merge', {
        metadata: { finalizers: finalizers.length > 0 ? finalizers : null, resourceVersion: object.metadata.resourceVersion },
      });
    } catch (error) {
      if (isNotFound(error)) return;
      if (isConflict(error)) throw error; // the newer object comes through the informer; retry then
      throw error;
    }
  }
}

function hasFinalizer(o: KubeObject, finalizer: string): boolean {
  return (o.metadata.finalizers ?? []).includes(finalizer);
}

function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}
