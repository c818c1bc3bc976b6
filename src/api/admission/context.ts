/**
 * What the built-in plugins may read of the API server: the registry (the
 * store), the watch caches and the served resources. The handlers provide
 * it; plugins never reach into the handlers themselves.
 */
import type { Registry } from '../registry.js';
import type { ResourceInfo } from '../resources.js';
import type { WatchCache } from '../watch-cache.js';
import type { KubeObject } from '../types/index.js';

export interface AdmissionContext {
  readonly registry: Registry;
  cache(info: ResourceInfo): WatchCache;
  /** An object from the watch cache, or from the store when the cache does not have it (or the resource has no cache). */
  lookup(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  info(group: string, version: string, resource: string): ResourceInfo;
  now(): number;
}

/** A list of everything: no label or field selector. */
export const EVERYTHING = { labels: [], fields: [] };
