/**
 * The part of server-side apply we implement: field sets in Kubernetes'
 * `fieldsV1` shape (`f:<field>`, `k:{"name":"x"}` for keyed list items,
 * `v:<value>` for set members), ownership per Apply manager in
 * `metadata.managedFields`, conflicts between Apply managers when they set
 * the same field to different values (409 unless force), and removal of
 * fields a manager applied before and no longer applies. Pure.
 *
 * Not modelled: ownership by Update managers (an `Update` records no field set
 * here), so a plain `kubectl edit` followed by an apply from another manager
 * never conflicts.
 */
import { MERGE_KEYS, isObject, type Json, type JsonObject } from './patch.js';

/** A field set: a path is a list of path elements (`f:spec`, `k:{"name":"a"}`, `v:"x"`). */
export type FieldPath = string[];

function mergeKey(field: string, item: JsonObject): string | undefined {
  const rule = MERGE_KEYS[field];
  if (rule === undefined) return undefined;
  return typeof rule === 'string' ? rule : rule(item);
}

/** Every leaf path the applied configuration sets. */
export function leafPaths(value: Json, prefix: FieldPath = [], field = ''): FieldPath[] {
  if (isObject(value)) {
    const out: FieldPath[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (prefix.length === 0 && (k === 'apiVersion' || k === 'kind')) continue;
      if (prefix.length === 1 && prefix[0] === 'f:metadata' && !['labels', 'annotations', 'finalizers', 'ownerReferences'].includes(k)) continue;
      const sub = leafPaths(v, [...prefix, `f:${k}`], k);
      out.push(...(sub.length > 0 ? sub : [[...prefix, `f:${k}`]]));
    }
    return out;
  }
  if (Array.isArray(value)) {
    const sample = value.find(isObject);
    const key = sample ? mergeKey(field, sample) : undefined;
    if (key !== undefined) {
      const out: FieldPath[] = [];
      for (const item of value) {
        if (!isObject(item)) continue;
        const element = `k:${JSON.stringify({ [key]: item[key] ?? null })}`;
        const sub = leafPaths(item, [...prefix, element], '');
        out.push([...prefix, element], ...sub);
      }
      return out;
    }
    if (field === 'finalizers') return value.map((v) => [...prefix, `v:${JSON.stringify(v)}`]);
  }
  return [];
}

/** A set of paths as the nested `fieldsV1` object Kubernetes stores. */
export function toFieldsV1(paths: FieldPath[]): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let cursor = root;
    for (const element of path) {
      if (!isObject(cursor[element])) cursor[element] = {};
      cursor = cursor[element] as JsonObject;
    }
    cursor['.'] = {};
  }
  return root;
}

export function fromFieldsV1(fields: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isObject(fields)) return [];
  const out: FieldPath[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (k === '.') {
      out.push(prefix);
      continue;
    }
    out.push(...fromFieldsV1(v, [...prefix, k]));
  }
  return out;
}

const pathId = (p: FieldPath) => p.join('\u0000');

/** Finds the value a path points at; undefined when absent. */
export function valueAt(obj: Json, path: FieldPath): Json | undefined {
  let cursor: Json | undefined = obj;
  let field = '';
  for (const element of path) {
    if (cursor === undefined) return undefined;
    if (element.startsWith('f:')) {
      field = element.slice(2);
      cursor = isObject(cursor) ? cursor[field] : undefined;
    } else if (element.startsWith('k:')) {
      const key = JSON.parse(element.slice(2)) as JsonObject;
      const [name, want] = Object.entries(key)[0]!;
      cursor = Array.isArray(cursor) ? cursor.find((item) => isObject(item) && item[name] === want) : undefined;
    } else if (element.startsWith('v:')) {
      const want = element.slice(2);
      cursor = Array.isArray(cursor) ? cursor.find((item) => JSON.stringify(item) === want) : undefined;
    }
  }
  return cursor;
}

/** Removes the value at a path (a keyed list item, a set member, or an object field). */
export function removeAt(obj: JsonObject, path: FieldPath): void {
  if (path.length === 0) return;
  const parent = valueAt(obj, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (last.startsWith('f:') && isObject(parent)) delete parent[last.slice(2)];
  else if (last.startsWith('k:') && Array.isArray(parent)) {
    const [name, want] = Object.entries(JSON.parse(last.slice(2)) as JsonObject)[0]!;
    const i = parent.findIndex((item) => isObject(item) && item[name] === want);
    if (i >= 0) parent.splice(i, 1);
  } else if (last.startsWith('v:') && Array.isArray(parent)) {
    const i = parent.findIndex((item) => JSON.stringify(item) === last.slice(2));
    if (i >= 0) parent.splice(i, 1);
  }
}

export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

export interface ApplyConflict {
  manager: string;
  path: FieldPath;
}

/** Human path for a conflict message: `.spec.replicas`, `.spec.containers[name="web"].image`. */
export function describePath(path: FieldPath): string {
  return path.map((e) => {
    if (e.startsWith('f:')) return `.${e.slice(2)}`;
    if (e.startsWith('k:')) {
      const [k, v] = Object.entries(JSON.parse(e.slice(2)) as JsonObject)[0]!;
      return `[${k}=${JSON.stringify(v)}]`;
    }
    return `[${e.slice(2)}]`;
  }).join('');
}

/**
 * Plans an apply by `manager` of `applied` onto `live`: which other Apply
 * managers conflict, which fields this manager gives up (to be removed if no
 * one else owns them), and the new managedFields.
 */
export function planApply(
  live: JsonObject,
  applied: JsonObject,
  manager: string,
  managed: ManagedEntry[],
  force: boolean,
): { conflicts: ApplyConflict[]; released: FieldPath[]; managedFields: (now: string, apiVersion: string) => ManagedEntry[] } {
  const newPaths = leafPaths(applied);
  const newIds = new Set(newPaths.map(pathId));
  const conflicts: ApplyConflict[] = [];
  const others = managed.filter((m) => m.manager !== manager && m.operation === 'Apply');
  for (const other of others) {
    for (const path of fromFieldsV1(other.fieldsV1)) {
      if (!newIds.has(pathId(path))) continue;
      const mine = valueAt(applied, path);
      const theirs = valueAt(live, path);
      if (isObject(mine) || Array.isArray(mine)) continue;
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) conflicts.push({ manager: other.manager, path });
    }
  }
  const previous = managed.find((m) => m.manager === manager && m.operation === 'Apply');
  const ownedByOthers = new Set(others.flatMap((o) => fromFieldsV1(o.fieldsV1)).map(pathId));
  const released = previous ? fromFieldsV1(previous.fieldsV1).filter((p) => !newIds.has(pathId(p)) && !ownedByOthers.has(pathId(p))) : [];
  return {
    conflicts: force ? [] : conflicts,
    released,
    managedFields: (now, apiVersion) => {
      // With force, the forcing manager takes the conflicting fields from the others.
      const taken = new Set(force ? conflicts.map((c) => pathId(c.path)) : []);
      const kept = managed
        .filter((m) => !(m.manager === manager && m.operation === 'Apply'))
        .map((m) => (taken.size === 0 ? m : { ...m, fieldsV1: toFieldsV1(fromFieldsV1(m.fieldsV1).filter((p) => !taken.has(pathId(p)))) }));
      return [...kept, { manager, operation: 'Apply', apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(newPaths) }];
    },
  };
}
