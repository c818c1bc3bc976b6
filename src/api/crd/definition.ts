/**
 * CustomResourceDefinition (apiextensions.k8s.io/v1) as an object: its
 * defaulting and validation (Kubernetes' ValidateCustomResourceDefinition,
 * the parts that apply here), and the served kinds it defines, one
 * ResourceInfo per served version with the schema's rules attached. Pure.
 */
import type { KubeObject, StatusCause } from '../types/index.js';
import { clone, isObject, type JsonObject } from '../patch.js';
import type { CustomResourceRules, PrinterColumn, ResourceInfo, ScalePaths } from '../resources.js';
import { applySchemaDefaults, prune, validateStructural, validateValue, type JSONSchemaProps } from './schema.js';
import { parseJsonPath } from './jsonpath.js';

export const CRD_GROUP = 'apiextensions.k8s.io';
/** Holds a deleted CRD until its objects are gone (Kubernetes' name for it). */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

export interface CustomResourceDefinitionNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: { status?: JsonObject; scale?: ScalePaths };
  additionalPrinterColumns?: PrinterColumn[];
}

export interface CustomResourceDefinitionCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface CustomResourceDefinition extends KubeObject {
  spec: {
    group: string;
    names: CustomResourceDefinitionNames;
    scope: 'Namespaced' | 'Cluster';
    versions: CustomResourceDefinitionVersion[];
    conversion?: { strategy: string };
    preserveUnknownFields?: boolean;
  };
  status?: {
    acceptedNames?: CustomResourceDefinitionNames;
    conditions?: CustomResourceDefinitionCondition[];
    storedVersions?: string[];
  };
}

type Causes = StatusCause[];

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const PRINTER_COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];
const SCOPES = ['Cluster', 'Namespaced'];

const invalid = (field: string, value: unknown, why: string): StatusCause => ({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field });
const required = (field: string, why?: string): StatusCause => ({ reason: 'FieldValueRequired', message: why === undefined ? 'Required value' : `Required value: ${why}`, field });
const notSupported = (field: string, value: unknown, allowed: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`, field,
});

const DNS1123_LABEL_MESSAGE = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL_MESSAGE = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** Kubernetes' defaults: singular from kind, listKind, conversion None, printer column priority 0. In place. */
export function defaultCrd(object: Record<string, unknown>): void {
  const spec = object.spec;
  if (!isObject(spec)) return;
  const names = spec.names;
  if (isObject(names) && typeof names.kind === 'string') {
    if (names.singular === undefined || names.singular === '') names.singular = names.kind.toLowerCase();
    if (names.listKind === undefined || names.listKind === '') names.listKind = `${names.kind}List`;
  }
  if (spec.conversion === undefined) spec.conversion = { strategy: 'None' };
  if (Array.isArray(spec.versions)) {
    for (const version of spec.versions) {
      if (!isObject(version) || !Array.isArray(version.additionalPrinterColumns)) continue;
      for (const column of version.additionalPrinterColumns) if (isObject(column) && column.priority === undefined) column.priority = 0;
    }
  }
}

/** Every reason the CRD cannot be accepted (create and update). */
export function validateCrd(object: Record<string, unknown>): Causes {
  const causes: Causes = [];
  const spec = object.spec;
  if (!isObject(spec)) return [required('spec')];
  const group = spec.group;
  if (typeof group !== 'string' || group === '') causes.push(required('spec.group'));
  else if (!DNS1123_SUBDOMAIN.test(group)) causes.push(invalid('spec.group', group, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
  else if (!group.includes('.')) causes.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (spec.scope === undefined || spec.scope === '') causes.push(required('spec.scope'));
  else if (!SCOPES.includes(String(spec.scope))) causes.push(notSupported('spec.scope', spec.scope, SCOPES));
  const names = isObject(spec.names) ? spec.names : undefined;
  if (names === undefined) causes.push(required('spec.names'));
  else causes.push(...validateNames(names));
  const meta = isObject(object.metadata) ? object.metadata : {};
  if (names !== undefined && typeof names.plural === 'string' && typeof group === 'string' && meta.name !== `${names.plural}.${group}`) {
    causes.push(invalid('metadata.name', meta.name ?? '', 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.conversion !== undefined && (!isObject(spec.conversion) || spec.conversion.strategy !== 'None')) {
    // Webhook conversion needs a conversion webhook, which this server does not call.
    causes.push(notSupported('spec.conversion.strategy', isObject(spec.conversion) ? spec.conversion.strategy : spec.conversion, ['None']));
  }
  if (spec.preserveUnknownFields === true) causes.push(invalid('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'));
  causes.push(...validateVersions(spec.versions));
  return causes;
}

function validateNames(names: JsonObject): Causes {
  const causes: Causes = [];
  const label = (field: string, value: unknown, dns1035 = false) => {
    if (typeof value !== 'string' || value === '') causes.push(required(field));
    else if (!(dns1035 ? DNS1035_LABEL : DNS1123_LABEL).test(value)) causes.push(invalid(field, value, dns1035 ? DNS1035_LABEL_MESSAGE : DNS1123_LABEL_MESSAGE));
  };
  label('spec.names.plural', names.plural);
  label('spec.names.singular', names.singular);
  if (typeof names.kind !== 'string' || names.kind === '') causes.push(required('spec.names.kind'));
  else if (!KIND.test(names.kind)) causes.push(invalid('spec.names.kind', names.kind, 'may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?'));
  if (typeof names.listKind !== 'string' || names.listKind === '') causes.push(required('spec.names.listKind'));
  else if (!KIND.test(names.listKind)) causes.push(invalid('spec.names.listKind', names.listKind, 'may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?'));
  else if (names.listKind === names.kind) causes.push(invalid('spec.names.listKind', names.listKind, 'kind and listKind may not be the same'));
  for (const [list, field] of [[names.shortNames, 'spec.names.shortNames'], [names.categories, 'spec.names.categories']] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      causes.push(invalid(field, list, 'must be a list of strings'));
      continue;
    }
    list.forEach((item, i) => label(`${field}[${i}]`, item));
  }
  return causes;
}

function validateVersions(versions: unknown): Causes {
  const causes: Causes = [];
  if (!Array.isArray(versions) || versions.length === 0) return [required('spec.versions', 'must have at least one version')];
  const seen = new Set<string>();
  let storage = 0;
  let served = 0;
  versions.forEach((version, i) => {
    const at = `spec.versions[${i}]`;
    if (!isObject(version)) {
      causes.push(invalid(at, version, 'must be an object'));
      return;
    }
    if (typeof version.name !== 'string' || version.name === '') causes.push(required(`${at}.name`));
    else if (!DNS1035_LABEL.test(version.name)) causes.push(invalid(`${at}.name`, version.name, DNS1035_LABEL_MESSAGE));
    else if (seen.has(version.name)) causes.push(invalid('spec.versions', versions.map((v) => (isObject(v) ? v.name : v)), 'must contain unique version names'));
    else seen.add(version.name);
    if (typeof version.served !== 'boolean') causes.push(required(`${at}.served`));
    if (typeof version.storage !== 'boolean') causes.push(required(`${at}.storage`));
    if (version.storage === true) storage++;
    if (version.served === true) served++;
    const schema = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
    if (schema === undefined) causes.push(required(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
    else causes.push(...validateStructural(schema, `${at}.schema.openAPIV3Schema`));
    causes.push(...validateSubresources(version.subresources, `${at}.subresources`));
    causes.push(...validatePrinterColumns(version.additionalPrinterColumns, `${at}.additionalPrinterColumns`));
  });
  if (storage !== 1) causes.push(invalid('spec.versions', versions.map((v) => (isObject(v) ? v.name : v)), 'must have exactly one version marked as storage version'));
  if (served === 0 && versions.length > 0) causes.push(invalid('spec.versions', versions.map((v) => (isObject(v) ? v.name : v)), 'must have at least one served version'));
  return causes;
}

function validateSubresources(subresources: unknown, at: string): Causes {
  if (subresources === undefined) return [];
  if (!isObject(subresources)) return [invalid(at, subresources, 'must be an object')];
  const causes: Causes = [];
  const scale = subresources.scale;
  if (scale === undefined) return causes;
  if (!isObject(scale)) return [invalid(`${at}.scale`, scale, 'must be an object')];
  const under = (field: string, value: unknown, root: '.spec' | '.status', optional = false) => {
    if (value === undefined || value === '') {
      if (!optional) causes.push(required(`${at}.scale.${field}`));
      return;
    }
    if (typeof value !== 'string' || parseJsonPath(value) instanceof Error || !value.startsWith(`${root}.`)) {
      causes.push(invalid(`${at}.scale.${field}`, value, `should be a json path under ${root}`));
    }
  };
  under('specReplicasPath', scale.specReplicasPath, '.spec');
  under('statusReplicasPath', scale.statusReplicasPath, '.status');
  if (scale.labelSelectorPath !== undefined && scale.labelSelectorPath !== '') {
    const path = scale.labelSelectorPath;
    if (typeof path !== 'string' || parseJsonPath(path) instanceof Error || !(path.startsWith('.spec.') || path.startsWith('.status.'))) {
      causes.push(invalid(`${at}.scale.labelSelectorPath`, path, 'should be a json path under either .spec or .status'));
    }
  }
  return causes;
}

function validatePrinterColumns(columns: unknown, at: string): Causes {
  if (columns === undefined) return [];
  if (!Array.isArray(columns)) return [invalid(at, columns, 'must be a list')];
  const causes: Causes = [];
  columns.forEach((column, i) => {
    const field = `${at}[${i}]`;
    if (!isObject(column)) {
      causes.push(invalid(field, column, 'must be an object'));
      return;
    }
    if (typeof column.name !== 'string' || column.name === '') causes.push(required(`${field}.name`));
    if (typeof column.type !== 'string' || column.type === '') causes.push(required(`${field}.type`));
    else if (!PRINTER_COLUMN_TYPES.includes(column.type)) causes.push(notSupported(`${field}.type`, column.type, PRINTER_COLUMN_TYPES));
    if (column.priority !== undefined && (typeof column.priority !== 'number' || !Number.isInteger(column.priority) || column.priority < 0)) {
      causes.push(invalid(`${field}.priority`, column.priority, 'must be greater than or equal to 0'));
    }
    if (typeof column.jsonPath !== 'string' || column.jsonPath === '') causes.push(required(`${field}.jsonPath`));
    else if (parseJsonPath(column.jsonPath) instanceof Error) causes.push(invalid(`${field}.jsonPath`, column.jsonPath, 'must be a simple json path'));
  });
  return causes;
}

/** What an update may not change (Kubernetes' ValidateCustomResourceDefinitionUpdate, the immutable part). */
export function validateCrdUpdate(next: Record<string, unknown>, prev: Record<string, unknown>): Causes {
  const causes: Causes = [];
  const spec = (o: Record<string, unknown>) => (isObject(o.spec) ? o.spec : {});
  if (spec(next).group !== spec(prev).group) causes.push({ reason: 'FieldValueInvalid', message: 'field is immutable', field: 'spec.group' });
  if (spec(next).scope !== spec(prev).scope) causes.push({ reason: 'FieldValueInvalid', message: 'field is immutable', field: 'spec.scope' });
  return causes;
}

/** The kinds a CRD serves: one ResourceInfo per served version, its rules drawn from that version's schema. */
export function servedResources(crd: CustomResourceDefinition): ResourceInfo[] {
  const { group, names, scope, versions } = crd.spec;
  const storageVersion = versions.find((v) => v.storage)?.name ?? versions[0]!.name;
  return versions.filter((v) => v.served).map((version) => {
    const schema = clone(version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as JSONSchemaProps;
    const subresources = [
      ...(version.subresources?.status !== undefined ? ['status'] : []),
      ...(version.subresources?.scale !== undefined ? ['scale'] : []),
    ];
    const rules: CustomResourceRules = {
      definition: crd.metadata.name ?? '',
      storageVersion,
      normalize: (object) => {
        prune(object, schema);
        applySchemaDefaults(object, schema);
      },
      validate: (object) => {
        // apiVersion, kind and metadata are the server's; the schema judges the rest.
        const { apiVersion: _a, kind: _k, metadata: _m, ...body } = object;
        const judged: JSONSchemaProps = { ...schema, properties: withoutTypeMeta(schema.properties) };
        if (schema.required !== undefined) judged.required = schema.required.filter((name) => !TYPE_META.includes(name));
        return validateValue(body, judged);
      },
      unknownFields: (object) => (isObject(object) ? prune(clone(object), schema) : []),
      ...(version.subresources?.scale !== undefined ? { scale: version.subresources.scale } : {}),
      printerColumns: version.additionalPrinterColumns ?? [],
      openApiSchema: schema as Record<string, unknown>,
    };
    return {
      group, version: version.name, resource: names.plural, singular: names.singular ?? names.kind.toLowerCase(), kind: names.kind,
      namespaced: scope === 'Namespaced', shortNames: names.shortNames ?? [],
      verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
      subresources, categories: names.categories ?? [], custom: rules,
    };
  });
}

const TYPE_META = ['apiVersion', 'kind', 'metadata'];

function withoutTypeMeta(properties: Record<string, JSONSchemaProps> | undefined): Record<string, JSONSchemaProps> | undefined {
  if (properties === undefined) return undefined;
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = properties;
  return rest;
}
