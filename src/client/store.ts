/**
 * A thread-local cache of objects keyed by `namespace/name` (or `name` for
 * cluster-scoped objects), with secondary indexes, as client-go's
 * `cache.Indexer`. Informers fill it; controllers read it. Objects in it are
 * shared: callers must not mutate them (copy first), as in client-go.
 */
import type { KubeObject } from '../api/types/index.js';

/** Returns the index values an object is filed under (zero or more). */
export type IndexFunc<T> = (object: T) => string[];

/** `namespace/name`, or `name` for cluster-scoped objects: client-go's MetaNamespaceKeyFunc. */
export function objectKey(object: KubeObject): string {
  const name = object.metadata.name;
  if (name === undefined || name === '') throw new Error('objectKey: object has no metadata.name');
  const namespace = object.metadata.namespace;
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export const INDEX_NAMESPACE = 'namespace';
export const INDEX_NODE_NAME = 'nodeName';
export const INDEX_OWNER_UID = 'ownerUid';

export const indexByNamespace: IndexFunc<KubeObject> = (o) => (o.metadata.namespace ? [o.metadata.namespace] : []);

/** Pods by `spec.nodeName`; unscheduled pods are filed under nothing. */
export const indexByNodeName: IndexFunc<KubeObject> = (o) => {
  const nodeName = (o as { spec?: { nodeName?: string } }).spec?.nodeName;
  return nodeName ? [nodeName] : [];
};

/** By the uid of every owner reference (controllers look up their children this way). */
export const indexByOwnerUid: IndexFunc<KubeObject> = (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);

export const INDEX_CONTROLLER_UID = 'controllerUid';

/** The `controllerUid` value orphans of a namespace are filed under (no uid can look like it). */
export function orphansOf(namespace: string | undefined): string {
  return `orphan:${namespace ?? ''}`;
}

/**
 * By the uid of the controller reference, or, for an object no controller owns,
 * under `orphansOf(namespace)`: Kubernetes' PodControllerUIDIndex, with which a
 * ReplicaSet finds its pods and the orphans it might adopt without walking
 * every pod of the namespace.
 */
export const indexByControllerUid: IndexFunc<KubeObject> = (o) => {
  const controller = (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  return [controller !== undefined ? controller.uid : orphansOf(o.metadata.namespace)];
};

export class Store<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  /** index name -> index value -> keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  /** The indexers with their indexes, listed once: every upsert walks them. */
  private readonly indexing: { fn: IndexFunc<T>; index: Map<string, Set<string>> }[] = [];

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    for (const [name, fn] of Object.entries(indexers)) {
      const index = new Map<string, Set<string>>();
      this.indices.set(name, index);
      this.indexing.push({ fn, index });
    }
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByObject(object: KubeObject): T | undefined {
    return this.items.get(objectKey(object));
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Add or replace; returns the previous object under the same key. */
  upsert(object: T): T | undefined {
    const key = objectKey(object);
    const old = this.items.get(key);
    this.items.set(key, object);
    for (const { fn, index } of this.indexing) {
      const values = fn(object);
      if (old === undefined) {
        file(index, key, values);
        continue;
      }
      // Most updates (a status, a resourceVersion) leave every index value as it was: nothing to move then.
      const before = fn(old);
      if (sameValues(before, values)) continue;
      unfile(index, key, before);
      file(index, key, values);
    }
    return old;
  }

  /** Remove by key; returns what was there. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    for (const { fn, index } of this.indexing) unfile(index, key, fn(old));
    this.items.delete(key);
    return old;
  }

  /** Objects filed under `value` in the named index. */
  byIndex(indexName: string, value: string): T[] {
    const index = this.indices.get(indexName);
    if (index === undefined) throw new Error(`Store.byIndex: no index named ${JSON.stringify(indexName)}; declare it when constructing the store`);
    const keys = index.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const key of keys) {
      const item = this.items.get(key);
      if (item === undefined) throw new Error(`Store invariant: index ${indexName}=${value} names missing key ${key}`);
      out.push(item);
    }
    return out;
  }

  /** The values an index currently holds (e.g. every node that has pods). */
  indexValues(indexName: string): string[] {
    const index = this.indices.get(indexName);
    if (index === undefined) throw new Error(`Store.indexValues: no index named ${JSON.stringify(indexName)}`);
    return [...index.keys()];
  }
}

/** Files `key` under each of `values` (a value listed twice is filed once: the index holds a set). */
function file(index: Map<string, Set<string>>, key: string, values: readonly string[]): void {
  for (const value of values) {
    let keys = index.get(value);
    if (keys === undefined) index.set(value, (keys = new Set()));
    keys.add(key);
  }
}

function unfile(index: Map<string, Set<string>>, key: string, values: readonly string[]): void {
  for (const value of values) {
    const keys = index.get(value);
    if (keys === undefined) continue;
    keys.delete(key);
    if (keys.size === 0) index.delete(value);
  }
}

/** The same values in the same order (what an object's unchanged fields give): filed the same. */
function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
