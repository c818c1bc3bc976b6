/**
 * The API server's side of CustomResourceDefinitions (Kubernetes'
 * apiextensions controllers folded into one): for every CRD the watch cache
 * reports, level-triggered, it
 * - checks the names against the other CRDs and the built-in kinds and sets
 *   NamesAccepted and acceptedNames (naming controller),
 * - serves the CRD's versions (their watch caches start, discovery and
 *   OpenAPI list them) and sets Established (establishing controller),
 * - on deletion sets Terminating, deletes every object of the kind, then
 *   drops the cleanup finalizer so the CRD goes, and stops serving it
 *   (finalizer controller).
 * CRDs are reconciled one at a time, in the order their events came.
 */
import { ApiError } from '../errors.js';
import type { Registry } from '../registry.js';
import { findResource, type ResourceInfo } from '../resources.js';
import { formatTime } from '../registry.js';
import { CRD_CLEANUP_FINALIZER, servedResources, type CustomResourceDefinition, type CustomResourceDefinitionCondition, type CustomResourceDefinitionNames } from './definition.js';

/** What the controller needs from the API server it runs in. */
export interface CrdControllerHost {
  registry: Registry;
  /** The CustomResourceDefinition resource itself. */
  crdInfo: ResourceInfo;
  /** Every CRD the server's cache holds now (for name conflicts). */
  definitions(): CustomResourceDefinition[];
  /** Starts the watch cache of a newly served resource (a no-op if it has one); resolves once it is filled. */
  startServing(info: ResourceInfo): Promise<void>;
  /** Stops the watch cache of a resource no longer served. */
  stopServing(info: ResourceInfo): void;
  now(): number;
}

const EVERYTHING = { labels: [], fields: [] };

export class CrdController {
  private readonly host: CrdControllerHost;
  /** Served kinds per CRD name. */
  private readonly served = new Map<string, ResourceInfo[]>();
  /** The CRD generation (its spec) each served set was built from: a status write changes nothing served. */
  private readonly servedGeneration = new Map<string, number>();
  /** group/version/resource → the served kind. */
  private readonly index = new Map<string, ResourceInfo>();
  /** CRDs whose last reconcile failed or left work (objects with finalizers): tried again on `resync`. */
  private readonly dirty = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private changes = 0;
  /** CRDs being deleted: their kinds still serve reads and deletes, but no creates. */
  private readonly terminating = new Set<string>();

  constructor(host: CrdControllerHost) {
    this.host = host;
  }

  /** Bumped whenever the served kinds change: part of the OpenAPI hash, so kubectl's cached documents go stale with it. */
  get generation(): number {
    return this.changes;
  }

  /** Whether the CRD is being deleted (Kubernetes then refuses creates of its kind with 405). */
  isTerminating(definition: string): boolean {
    return this.terminating.has(definition);
  }

  find(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.index.get(`${group}/${version}/${resource}`);
  }

  /** Every served custom kind, one entry per served version. */
  resources(): ResourceInfo[] {
    return [...this.served.values()].flat().sort((a, b) => (a.group === b.group ? a.resource.localeCompare(b.resource) : a.group.localeCompare(b.group)));
  }

  /** One entry per custom resource (its storage version): where its objects live. */
  storedResources(): ResourceInfo[] {
    return [...this.served.values()].map((infos) => infos.find((i) => i.version === i.custom?.storageVersion) ?? infos[0]!).filter((i) => i !== undefined);
  }

  /** A CRD changed (or appeared, or went): reconcile it after the ones before it. */
  enqueue(name: string): Promise<void> {
    const next = this.queue.then(() => this.reconcile(name));
    this.queue = next.catch(() => undefined);
    return next.catch(() => {
      this.dirty.add(name);
    });
  }

  /** Tries again the CRDs whose reconcile failed or is waiting for objects to go (the API server's tick calls it). */
  async resync(): Promise<void> {
    const names = [...this.dirty];
    this.dirty.clear();
    await Promise.all(names.map((name) => this.enqueue(name)));
  }

  /** Resolves when every queued reconcile is done (tests). */
  async settle(): Promise<void> {
    await this.queue;
  }

  private async reconcile(name: string): Promise<void> {
    const stored = await this.host.registry.read(this.host.crdInfo, undefined, name);
    if (stored === undefined) {
      this.unserve(name);
      return;
    }
    const crd = stored.object as unknown as CustomResourceDefinition;
    if (crd.metadata.deletionTimestamp !== undefined) {
      await this.finalize(crd);
      return;
    }
    const conflict = this.nameConflict(crd);
    if (conflict === undefined) await this.serve(crd);
    await this.writeStatus(crd, conflict);
  }

  /** Why the CRD's names cannot be accepted (another CRD or a built-in kind of its group has them), or undefined. */
  private nameConflict(crd: CustomResourceDefinition): string | undefined {
    const { group, names } = crd.spec;
    const mine = new Set([names.plural, names.singular ?? '', ...(names.shortNames ?? [])].filter((n) => n !== ''));
    for (const version of crd.spec.versions) {
      const builtin = findResource(group, version.name, names.plural);
      if (builtin !== undefined) return `"${names.plural}" is already in use`;
    }
    for (const other of this.host.definitions()) {
      if (other.metadata.name === crd.metadata.name || other.spec.group !== group) continue;
      const accepted = other.status?.acceptedNames;
      if (accepted === undefined || accepted.plural === '') continue;
      // The older CRD keeps its names; the newer one waits.
      if (mine.has(accepted.plural)) return `"${accepted.plural}" is already in use`;
      if (accepted.singular !== undefined && mine.has(accepted.singular)) return `"${accepted.singular}" is already in use`;
      for (const short of accepted.shortNames ?? []) if (mine.has(short)) return `"${short}" is already in use`;
      if (accepted.kind === names.kind) return `"${names.kind}" is already in use`;
    }
    return undefined;
  }

  private async serve(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata.name ?? '';
    if (this.served.has(name) && this.servedGeneration.get(name) === crd.metadata.generation) return;
    const next = servedResources(crd);
    const previous = this.served.get(name) ?? [];
    for (const info of previous) this.index.delete(`${info.group}/${info.version}/${info.resource}`);
    const kept = new Set(next.map((i) => `${i.group}/${i.resource}/${i.namespaced}`));
    for (const info of previous) if (!kept.has(`${info.group}/${info.resource}/${info.namespaced}`)) this.host.stopServing(info);
    // The cache fills before the kind is findable, so the first request finds it ready.
    for (const info of next) await this.host.startServing(info);
    this.served.set(name, next);
    this.servedGeneration.set(name, crd.metadata.generation ?? 0);
    for (const info of next) this.index.set(`${info.group}/${info.version}/${info.resource}`, info);
    this.changes++;
  }

  private unserve(name: string): void {
    const previous = this.served.get(name);
    this.terminating.delete(name);
    this.servedGeneration.delete(name);
    if (previous === undefined) return;
    this.served.delete(name);
    for (const info of previous) this.index.delete(`${info.group}/${info.version}/${info.resource}`);
    const stopped = new Set<string>();
    for (const info of previous) {
      const id = `${info.group}/${info.resource}`;
      if (stopped.has(id)) continue;
      stopped.add(id);
      this.host.stopServing(info);
    }
    this.changes++;
  }

  private async writeStatus(crd: CustomResourceDefinition, conflict: string | undefined): Promise<void> {
    const names: CustomResourceDefinitionNames = {
      plural: crd.spec.names.plural, singular: crd.spec.names.singular, kind: crd.spec.names.kind, listKind: crd.spec.names.listKind,
      ...(crd.spec.names.shortNames !== undefined ? { shortNames: crd.spec.names.shortNames } : {}),
      ...(crd.spec.names.categories !== undefined ? { categories: crd.spec.names.categories } : {}),
    };
    const current = crd.status ?? {};
    const accepted = conflict === undefined ? names : (current.acceptedNames ?? { plural: '', kind: '' });
    let conditions = current.conditions ?? [];
    conditions = setCondition(conditions, conflict === undefined
      ? { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' }
      : { type: 'NamesAccepted', status: 'False', reason: 'NameConflict', message: conflict }, this.host.now());
    if (conflict === undefined) {
      conditions = setCondition(conditions, { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' }, this.host.now());
    } else if (!conditions.some((c) => c.type === 'Established')) {
      conditions = setCondition(conditions, { type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' }, this.host.now());
    }
    const storage = crd.spec.versions.find((v) => v.storage)?.name;
    const storedVersions = [...(current.storedVersions ?? [])];
    if (storage !== undefined && !storedVersions.includes(storage)) storedVersions.push(storage);
    const status = { acceptedNames: accepted, conditions, storedVersions };
    if (JSON.stringify(status) === JSON.stringify({ acceptedNames: current.acceptedNames, conditions: current.conditions, storedVersions: current.storedVersions })) return;
    await this.updateStatus(crd, status);
  }

  private async updateStatus(crd: CustomResourceDefinition, status: NonNullable<CustomResourceDefinition['status']>): Promise<void> {
    try {
      await this.host.registry.update(this.host.crdInfo, undefined, crd.metadata.name ?? '', { ...crd, status }, { subresource: 'status' });
    } catch (error) {
      // Changed meanwhile: its own event reconciles it again. Gone: nothing to say.
      if (!(error instanceof ApiError && (error.reason === 'Conflict' || error.code === 404))) throw error;
    }
  }

  /** The finalizer controller: Terminating, every object deleted, then the finalizer dropped so the CRD itself goes. */
  private async finalize(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata.name ?? '';
    this.terminating.add(name);
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    const terminating = setCondition(crd.status?.conditions ?? [], { type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress' }, this.host.now());
    if (JSON.stringify(terminating) !== JSON.stringify(crd.status?.conditions ?? [])) await this.updateStatus(crd, { ...crd.status, conditions: terminating });
    const infos = servedResources(crd);
    const stored = infos.find((i) => i.version === i.custom?.storageVersion) ?? infos[0];
    if (stored !== undefined) {
      const left = await this.deleteAll(stored);
      if (left > 0) {
        // Objects with finalizers of their own: Kubernetes waits for them too.
        this.dirty.add(name);
        return;
      }
    }
    this.unserve(name);
    const fresh = await this.host.registry.read(this.host.crdInfo, undefined, name);
    if (fresh === undefined) return;
    const finalizers = (fresh.object.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    try {
      await this.host.registry.update(this.host.crdInfo, undefined, name, {
        ...fresh.object, metadata: { ...fresh.object.metadata, finalizers, resourceVersion: String(fresh.modRevision) },
      });
    } catch (error) {
      if (!(error instanceof ApiError && (error.reason === 'Conflict' || error.code === 404))) throw error;
      this.dirty.add(name);
    }
  }

  /** Deletes every object of a custom resource; returns how many are still there (held by their finalizers). */
  private async deleteAll(info: ResourceInfo): Promise<number> {
    const list = await this.host.registry.listFromStore(info, undefined, EVERYTHING, 0);
    let left = 0;
    for (const item of list.items) {
      try {
        const result = await this.host.registry.delete(info, item.metadata.namespace, item.metadata.name ?? '', { gracePeriodSeconds: 0 });
        if (!result.deleted) left++;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
    return left;
  }
}

/** Sets a condition, keeping its lastTransitionTime unless its status changes. */
export function setCondition(conditions: CustomResourceDefinitionCondition[], wanted: Omit<CustomResourceDefinitionCondition, 'lastTransitionTime'>, nowMs: number): CustomResourceDefinitionCondition[] {
  const existing = conditions.find((c) => c.type === wanted.type);
  const lastTransitionTime = existing !== undefined && existing.status === wanted.status && existing.lastTransitionTime !== undefined ? existing.lastTransitionTime : formatTime(nowMs);
  const next = { ...wanted, lastTransitionTime };
  return existing === undefined ? [...conditions, next] : conditions.map((c) => (c.type === wanted.type ? next : c));
}
