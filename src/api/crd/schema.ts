/**
 * Structural OpenAPI v3 schemas of CustomResourceDefinitions, as
 * apiextensions-apiserver applies them to custom objects: pruning of unknown
 * fields, defaulting, and validation whose every error names its field in
 * Kubernetes' words (`spec.replicas: Invalid value: 20: spec.replicas in
 * body should be less than or equal to 10`). Also the structural checks a
 * CRD's own schema must pass. Pure functions over JSON values.
 *
 * Not modelled: allOf / anyOf / oneOf / not (accepted in a schema, not
 * enforced), `format` checks, and CEL rules (x-kubernetes-validations).
 */
import type { StatusCause } from '../types/index.js';
import { clone, isObject, type Json, type JsonObject } from '../patch.js';

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the server acts on (other keys are kept and ignored). */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: Json[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: Json;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  [other: string]: unknown;
}

type Causes = StatusCause[];

const TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'];

/** Go's %v of a value in an `Invalid value:` message: strings quoted, numbers bare. */
function shown(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

function invalid(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown(value)}: ${why}`, field };
}

/** The JSON type of a value as Kubernetes names it in a type error. */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object': return isObject(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number';
    case 'boolean': return typeof value === 'boolean';
    default: return true;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isObject(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  return value;
}

/** Compiled patterns, once per pattern text: every write of every object runs them. */
const patterns = new Map<string, RegExp | undefined>();
function compiled(pattern: string): RegExp | undefined {
  if (!patterns.has(pattern)) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = undefined;
    }
    patterns.set(pattern, re);
  }
  return patterns.get(pattern);
}

/**
 * Every violation of `schema` by `value`, all of them (the caller answers
 * 422 Invalid with the lot). `path` is the field path of `value`; the root
 * of a custom object is ''.
 */
export function validateValue(value: unknown, schema: JSONSchemaProps, path = ''): Causes {
  const causes: Causes = [];
  check(value, schema, path, causes);
  return causes;
}

function check(value: unknown, s: JSONSchemaProps, path: string, causes: Causes): void {
  if (value === undefined) return;
  const at = path === '' ? '<root>' : path;
  if (value === null) {
    if (s.nullable === true || (s.type === undefined && s['x-kubernetes-int-or-string'] !== true)) return;
    const type = s['x-kubernetes-int-or-string'] === true ? 'integer,string' : s.type!;
    causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "null": ${at} in body must be of type ${type}: "null"`, field: path });
    return;
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    if (!isType(value, 'integer') && !isType(value, 'string')) {
      causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${typeOf(value)}": ${at} in body must be of type integer,string: "${typeOf(value)}"`, field: path });
      return;
    }
  } else if (s.type !== undefined && s.type !== '' && !isType(value, s.type)) {
    causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${typeOf(value)}": ${at} in body must be of type ${s.type}: "${typeOf(value)}"`, field: path });
    return;
  }
  if (s.enum !== undefined && !s.enum.some((e) => deepEqual(e, value))) {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${shown(value)}: supported values: ${s.enum.map((e) => (typeof e === 'string' ? `"${e}"` : JSON.stringify(e))).join(', ')}`, field: path });
  }
  if (typeof value === 'string') checkString(value, s, path, at, causes);
  else if (typeof value === 'number') checkNumber(value, s, path, at, causes);
  else if (Array.isArray(value)) checkArray(value, s, path, at, causes);
  else if (isObject(value)) checkObject(value, s, path, at, causes);
}

function checkString(value: string, s: JSONSchemaProps, path: string, at: string, causes: Causes): void {
  const length = [...value].length;
  if (s.maxLength !== undefined && length > s.maxLength) {
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${s.maxLength} bytes`, field: path });
  }
  if (s.minLength !== undefined && length < s.minLength) causes.push(invalid(path, value, `${at} in body should be at least ${s.minLength} chars long`));
  if (s.pattern !== undefined) {
    const re = compiled(s.pattern);
    if (re !== undefined && !re.test(value)) causes.push(invalid(path, value, `${at} in body should match '${s.pattern}'`));
  }
}

function checkNumber(value: number, s: JSONSchemaProps, path: string, at: string, causes: Causes): void {
  if (s.maximum !== undefined) {
    if (s.exclusiveMaximum === true ? value >= s.maximum : value > s.maximum) {
      causes.push(invalid(path, value, `${at} in body should be less than ${s.exclusiveMaximum === true ? '' : 'or equal to '}${s.maximum}`));
    }
  }
  if (s.minimum !== undefined) {
    if (s.exclusiveMinimum === true ? value <= s.minimum : value < s.minimum) {
      causes.push(invalid(path, value, `${at} in body should be greater than ${s.exclusiveMinimum === true ? '' : 'or equal to '}${s.minimum}`));
    }
  }
}

function checkArray(value: unknown[], s: JSONSchemaProps, path: string, at: string, causes: Causes): void {
  if (s.maxItems !== undefined && value.length > s.maxItems) {
    causes.push({ reason: 'FieldValueTooMany', message: `Too many: ${value.length}: must have at most ${s.maxItems} items`, field: path });
  }
  if (s.minItems !== undefined && value.length < s.minItems) causes.push(invalid(path, value.length, `${at} in body should have at least ${s.minItems} items`));
  if (s.uniqueItems === true) {
    const seen = new Set<string>();
    for (const item of value) {
      const text = JSON.stringify(canonical(item));
      if (seen.has(text)) {
        causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${text}`, field: path });
        break;
      }
      seen.add(text);
    }
  }
  if (s.items !== undefined) value.forEach((item, i) => check(item, s.items!, `${path}[${i}]`, causes));
}

function checkObject(value: JsonObject, s: JSONSchemaProps, path: string, at: string, causes: Causes): void {
  for (const name of s.required ?? []) {
    if (value[name] === undefined) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: join(path, name) });
  }
  const count = Object.keys(value).length;
  if (s.maxProperties !== undefined && count > s.maxProperties) {
    causes.push({ reason: 'FieldValueTooMany', message: `Too many: ${count}: must have at most ${s.maxProperties} items`, field: path });
  }
  if (s.minProperties !== undefined && count < s.minProperties) causes.push(invalid(path, count, `${at} in body should have at least ${s.minProperties} properties`));
  for (const [key, child] of Object.entries(value)) {
    const childSchema = s.properties?.[key] ?? (isObject(s.additionalProperties) ? (s.additionalProperties as JSONSchemaProps) : undefined);
    if (childSchema !== undefined) check(child, childSchema, join(path, key), causes);
  }
}

/** Whether unknown fields under this node stay (x-kubernetes-preserve-unknown-fields, or an open map). */
function keepsUnknown(s: JSONSchemaProps): boolean {
  return s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
}

/**
 * Drops, in place, every field the schema does not declare (Kubernetes'
 * pruning), and returns their paths. At the root (and in embedded
 * resources) apiVersion, kind and metadata always stay.
 */
export function prune(value: unknown, schema: JSONSchemaProps, path = '', root = true): string[] {
  const pruned: string[] = [];
  pruneInto(value, schema, path, root, pruned);
  return pruned;
}

function pruneInto(value: unknown, s: JSONSchemaProps, path: string, root: boolean, pruned: string[]): void {
  if (Array.isArray(value)) {
    if (s.items !== undefined) value.forEach((item, i) => pruneInto(item, s.items!, `${path}[${i}]`, false, pruned));
    return;
  }
  if (!isObject(value)) return;
  const typeMeta = root || s['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(value)) {
    if (typeMeta && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    const child = s.properties?.[key] ?? (isObject(s.additionalProperties) ? (s.additionalProperties as JSONSchemaProps) : undefined);
    if (child === undefined) {
      if (keepsUnknown(s)) continue;
      delete value[key];
      pruned.push(join(path, key));
      continue;
    }
    pruneInto(value[key], child, join(path, key), false, pruned);
  }
}

/**
 * Fills, in place, the defaults of absent fields (and of nulls where the
 * field is not nullable), top-down, so a defaulted object gets its own
 * fields' defaults too.
 */
export function applySchemaDefaults(value: unknown, schema: JSONSchemaProps): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) applySchemaDefaults(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const current = value[key];
    if (child.default !== undefined && (current === undefined || (current === null && child.nullable !== true))) value[key] = clone(child.default);
  }
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties?.[key] ?? (isObject(schema.additionalProperties) ? (schema.additionalProperties as JSONSchemaProps) : undefined);
    if (childSchema !== undefined) applySchemaDefaults(child, childSchema);
  }
}

/**
 * The structural-schema rules a CRD's schema must keep (apiextensions'
 * ValidateStructural and the schema's own validation), reported under
 * `path` (e.g. `spec.versions[0].schema.openAPIV3Schema`).
 */
export function validateStructural(schema: unknown, path: string): Causes {
  const causes: Causes = [];
  if (!isObject(schema)) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: schemas are required', field: path });
    return causes;
  }
  const s = schema as JSONSchemaProps;
  if (s.type !== 'object') causes.push(invalid(`${path}.type`, s.type ?? '', 'must be object at the root'));
  structural(s, path, causes, true, '');
  return causes;
}

function structural(s: JSONSchemaProps, path: string, causes: Causes, root: boolean, objectPath: string): void {
  const open = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-int-or-string'] === true;
  if ((s.type === undefined || s.type === '') && !open) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified object fields', field: `${path}.type` });
  } else if (s.type !== undefined && s.type !== '' && !TYPES.includes(s.type)) {
    causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(s.type)}: supported values: ${TYPES.map((t) => `"${t}"`).join(', ')}`, field: `${path}.type` });
  }
  if ('$ref' in s) causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: $ref is not supported', field: `${path}.$ref` });
  if (s.properties !== undefined && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: additionalProperties and properties are mutual exclusive', field: `${path}.additionalProperties` });
  }
  if (s.type === 'array' && !isObject(s.items)) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: must be specified', field: `${path}.items` });
  }
  if (s.pattern !== undefined && (typeof s.pattern !== 'string' || compiled(s.pattern) === undefined)) {
    causes.push(invalid(`${path}.pattern`, s.pattern, 'must be a valid regular expression, but isn\'t'));
  }
  if (s.required !== undefined && !Array.isArray(s.required)) causes.push(invalid(`${path}.required`, s.required, 'must be a list of strings'));
  if (s.properties !== undefined) {
    if (!isObject(s.properties)) causes.push(invalid(`${path}.properties`, s.properties, 'must be an object'));
    else {
      for (const [key, child] of Object.entries(s.properties)) {
        const at = `${path}.properties[${key}]`;
        if (!isObject(child)) {
          causes.push(invalid(at, child, 'must be an object'));
          continue;
        }
        // At the root, metadata may only restrict name and generateName (Kubernetes' rule for structural roots).
        if (root && key === 'metadata') checkRootMetadata(child as JSONSchemaProps, at, causes);
        structural(child as JSONSchemaProps, at, causes, false, join(objectPath, key));
      }
    }
  }
  if (isObject(s.additionalProperties)) structural(s.additionalProperties as JSONSchemaProps, `${path}.additionalProperties`, causes, false, join(objectPath, '*'));
  if (isObject(s.items)) structural(s.items as JSONSchemaProps, `${path}.items`, causes, false, `${objectPath}[*]`);
  if (s.default !== undefined) {
    // A default must itself be valid and survive pruning, or every defaulted object would be rejected or changed on read.
    const copy = clone(s.default);
    const pruned = prune(copy, s, '', false);
    if (pruned.length > 0) causes.push(invalid(`${path}.default`, s.default, `must not have unknown fields: ${pruned.join(', ')}`));
    for (const cause of validateValue(s.default, { ...s, default: undefined }, objectPath)) causes.push({ ...cause, field: `${path}.default` });
  }
}

function checkRootMetadata(s: JSONSchemaProps, path: string, causes: Causes): void {
  for (const key of Object.keys(s.properties ?? {})) {
    if (key !== 'name' && key !== 'generateName') causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: must not be specified', field: `${path}.properties[${key}]` });
  }
  if (s.type !== undefined && s.type !== 'object') causes.push(invalid(`${path}.type`, s.type, 'must be object'));
}
