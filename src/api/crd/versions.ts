/**
 * Conversion strategy None: a custom object read through any served
 * version is the stored object with that version's apiVersion. Pure.
 */
import { apiVersionOf, type ResourceInfo } from '../resources.js';
import type { KubeObject, List, Status } from '../types/index.js';

/** The body a request for `info`'s version answers with; objects of other kinds (Status, Scale) pass unchanged. */
export function servedAs<T extends KubeObject | List | Status>(info: ResourceInfo, body: T): T {
  const apiVersion = apiVersionOf(info);
  if ('items' in body && Array.isArray(body.items)) {
    return { ...body, apiVersion, items: body.items.map((item) => asVersion(info, item, apiVersion)) };
  }
  return asVersion(info, body, apiVersion);
}

function asVersion<T extends { kind?: string; apiVersion?: string }>(info: ResourceInfo, object: T, apiVersion: string): T {
  if (object.kind !== info.kind || object.apiVersion === apiVersion) return object;
  return { ...object, apiVersion };
}
