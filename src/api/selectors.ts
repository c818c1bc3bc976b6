/**
 * Label and field selectors, as the API accepts them in `labelSelector=` and
 * `fieldSelector=` query parameters, and `LabelSelector` objects as they
 * appear in Deployment and ReplicaSet specs. Pure functions.
 */
import { apiErrors } from './errors.js';
import type { KubeObject, LabelSelector } from './types/index.js';

export type LabelRequirement =
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

/** A parsed selector: every requirement must hold. An empty selector matches everything. */
export type Selector = LabelRequirement[];

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((t) => t.trim()).filter((t) => t.length > 0);
}

const SET_TERM = /^([A-Za-z0-9./_-]+)\s+(in|notin)\s*\(([^)]*)\)$/;
const EQUALITY_TERM = /^([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/;
const KEY_ONLY = /^(!?)\s*([A-Za-z0-9./_-]+)$/;

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`; throws a 400 ApiError on bad syntax. */
export function parseLabelSelector(text: string | undefined): Selector {
  if (text === undefined || text.trim() === '') return [];
  const out: Selector = [];
  for (const term of splitTerms(text)) {
    let m = SET_TERM.exec(term);
    if (m) {
      out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '') });
      continue;
    }
    m = EQUALITY_TERM.exec(term);
    if (m) {
      out.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
      continue;
    }
    m = KEY_ONLY.exec(term);
    if (m) {
      out.push({ key: m[2]!, op: m[1] === '!' ? '!exists' : 'exists' });
      continue;
    }
    throw apiErrors.badRequest(`unable to parse requirement: invalid label selector term ${JSON.stringify(term)}`);
  }
  return out;
}

export function matchesLabels(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const req of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const value = l[req.key];
    switch (req.op) {
      case '=': if (!has || value !== req.value) return false; break;
      case '!=': if (has && value === req.value) return false; break;
      case 'in': if (!has || !req.values.includes(value!)) return false; break;
      case 'notin': if (has && req.values.includes(value!)) return false; break;
      case 'exists': if (!has) return false; break;
      case '!exists': if (has) return false; break;
    }
  }
  return true;
}

/** A `LabelSelector` object (matchLabels + matchExpressions) as requirements. */
export function selectorFromObject(selector: LabelSelector | undefined): Selector {
  if (selector === undefined) return [];
  const out: Selector = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) out.push({ key, op: '=', value });
  for (const e of selector.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In': out.push({ key: e.key, op: 'in', values: e.values ?? [] }); break;
      case 'NotIn': out.push({ key: e.key, op: 'notin', values: e.values ?? [] }); break;
      case 'Exists': out.push({ key: e.key, op: 'exists' }); break;
      case 'DoesNotExist': out.push({ key: e.key, op: '!exists' }); break;
      default: throw apiErrors.badRequest(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    }
  }
  return out;
}

/** The selector in the string form `kubectl` prints (`app=web,tier in (a,b)`). */
export function formatSelector(selector: Selector): string {
  return selector.map((req) => {
    switch (req.op) {
      case '=': case '!=': return `${req.key}${req.op}${req.value}`;
      case 'in': case 'notin': return `${req.key} ${req.op} (${req.values.join(',')})`;
      case 'exists': return req.key;
      case '!exists': return `!${req.key}`;
    }
  }).join(',');
}

export interface FieldRequirement {
  path: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `metadata.name=x,spec.nodeName!=,status.phase=Running`. */
export function parseFieldSelector(text: string | undefined): FieldRequirement[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((term) => {
    const m = /^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw apiErrors.badRequest(`invalid field selector: ${JSON.stringify(term)}`);
    return { path: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

/** Field selectors the server supports, per Kubernetes' conversion functions (plus any metadata.* path). */
const SUPPORTED_FIELDS: Record<string, string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  nodes: ['spec.unschedulable'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  secrets: ['type'],
  namespaces: ['status.phase'],
  replicasets: ['status.replicas'],
};

export function checkFieldSelector(resource: string, fields: FieldRequirement[]): void {
  for (const f of fields) {
    if (f.path === 'metadata.name' || f.path === 'metadata.namespace') continue;
    if (SUPPORTED_FIELDS[resource]?.includes(f.path)) continue;
    throw apiErrors.badRequest(`field label not supported: ${f.path}`);
  }
}

/** The value a field selector compares for `path` ('' when absent, as Kubernetes). */
export function fieldValue(object: KubeObject, path: string): string {
  if (path === 'source') return String((object as { source?: { component?: string } }).source?.component ?? '');
  let cursor: unknown = object;
  for (const part of path.split('.')) {
    if (cursor === null || typeof cursor !== 'object') return '';
    cursor = (cursor as Record<string, unknown>)[part];
  }
  if (cursor === undefined || cursor === null) return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : '';
  return String(cursor);
}

export function matchesFields(fields: FieldRequirement[], object: KubeObject): boolean {
  for (const f of fields) {
    const value = fieldValue(object, f.path);
    if (f.op === '=' ? value !== f.value : value === f.value) return false;
  }
  return true;
}

/** Both selectors of a list or watch request, parsed once. */
export interface ObjectFilter {
  labels: Selector;
  fields: FieldRequirement[];
}

export function parseFilter(resource: string, labelSelector: string | undefined, fieldSelector: string | undefined): ObjectFilter {
  const fields = parseFieldSelector(fieldSelector);
  checkFieldSelector(resource, fields);
  return { labels: parseLabelSelector(labelSelector), fields };
}

export function matchesFilter(filter: ObjectFilter, object: KubeObject): boolean {
  return matchesLabels(filter.labels, object.metadata.labels) && matchesFields(filter.fields, object);
}

export function isEmptyFilter(filter: ObjectFilter): boolean {
  return filter.labels.length === 0 && filter.fields.length === 0;
}
