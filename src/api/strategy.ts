/**
 * Per-resource rules, as Kubernetes' registry strategies have them:
 * defaulting, validation with field paths, what an update may change
 * (status vs spec, immutable fields) and when `generation` moves. Pure.
 */
import type { ResourceInfo } from './resources.js';
import type { KubeObject, StatusCause } from './types/index.js';
import { isObject, type JsonObject } from './patch.js';
import { isPlainObject, sameJsonExcept } from './json-equal.js';
import { parseMilli } from './quantity.js';
import { defaultPriorityClass, validatePriorityClass, validatePriorityClassUpdate } from './priority.js';
import { validateTopologySpreadConstraints } from './topology-spread-validation.js';
import { CRD_CLEANUP_FINALIZER, defaultCrd, validateCrd, validateCrdUpdate } from './crd/definition.js';
import { defaultWebhookConfiguration, validateWebhookConfiguration } from './admission/webhook/validation.js';
import { defaultCronJob, defaultJobSpec, prepareJobForCreate, preparePdbForCreate, validateCronJob, validateJob, validateJobUpdate, validatePdb } from './workloads-strategy.js';

type Obj = KubeObject & Record<string, unknown>;
type Causes = StatusCause[];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
/** Kubernetes' limits: 63 for a label, 253 for a subdomain. */
const DNS1123_LABEL_LENGTH_MAX = 63;
const DNS1123_SUBDOMAIN_LENGTH_MAX = 253;

export function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}
export function invalid(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field };
}
export function notSupported(field: string, value: unknown, allowed: string[]): StatusCause {
  return { reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`, field };
}
function duplicate(field: string, value: unknown): StatusCause {
  return { reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}`, field };
}
export function immutable(field: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: 'field is immutable', field };
}

export function checkDns1123Label(value: string, field: string, causes: Causes): void {
  if (value.length > DNS1123_LABEL_LENGTH_MAX) causes.push(invalid(field, value, `must be no more than ${DNS1123_LABEL_LENGTH_MAX} characters`));
  else if (!DNS1123_LABEL.test(value)) causes.push(invalid(field, value, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"));
}
export function checkDns1123Subdomain(value: string, field: string, causes: Causes): void {
  if (value.length > DNS1123_SUBDOMAIN_LENGTH_MAX) causes.push(invalid(field, value, `must be no more than ${DNS1123_SUBDOMAIN_LENGTH_MAX} characters`));
  else if (!DNS1123_SUBDOMAIN.test(value)) causes.push(invalid(field, value, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
}
function checkDns1035Label(value: string, field: string, causes: Causes): void {
  if (value.length > DNS1123_LABEL_LENGTH_MAX || !DNS1035_LABEL.test(value)) causes.push(invalid(field, value, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"));
}

/** Names: most resources want a DNS-1123 subdomain; namespaces a label; services a DNS-1035 label. */
function checkName(info: ResourceInfo, name: string, causes: Causes): void {
  if (info.resource === 'namespaces') checkDns1123Label(name, 'metadata.name', causes);
  else if (info.resource === 'services') checkDns1035Label(name, 'metadata.name', causes);
  else if (info.group === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments (system:kube-scheduler has a colon): Kubernetes' ValidatePathSegmentName.
    if (name === '.' || name === '..' || name.includes('/') || name.includes('%')) causes.push(invalid('metadata.name', name, 'may not be "." or "..", and may not contain "/" or "%"'));
  } else if (info.resource === 'events' || info.resource === 'leases') {
    if (name.includes('/') || name === '.' || name === '..') causes.push(invalid('metadata.name', name, 'may not contain "/"'));
  } else checkDns1123Subdomain(name, 'metadata.name', causes);
}

function checkLabels(labels: unknown, field: string, causes: Causes): void {
  if (labels === undefined) return;
  if (!isObject(labels)) {
    causes.push(invalid(field, labels, 'must be a map of strings'));
    return;
  }
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf('/');
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name) || (prefix !== '' && !DNS1123_SUBDOMAIN.test(prefix))) causes.push(invalid(field, key, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) causes.push(invalid(`${field}[${key}]`, value, 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
  }
}

export function validateMetadata(info: ResourceInfo, obj: Obj, causes: Causes): void {
  const meta = obj.metadata;
  if (!isObject(meta)) {
    causes.push(required('metadata'));
    return;
  }
  if (!meta.name) causes.push(required('metadata.name'));
  else if (typeof meta.name !== 'string') causes.push(invalid('metadata.name', meta.name, 'must be a string'));
  else checkName(info, meta.name, causes);
  if (info.namespaced && !meta.namespace) causes.push(required('metadata.namespace'));
  if (!info.namespaced && meta.namespace) causes.push(invalid('metadata.namespace', meta.namespace, 'not allowed on this type'));
  checkLabels(meta.labels, 'metadata.labels', causes);
  if (meta.annotations !== undefined && !isObject(meta.annotations)) causes.push(invalid('metadata.annotations', meta.annotations, 'must be a map of strings'));
  if (meta.finalizers !== undefined && !Array.isArray(meta.finalizers)) causes.push(invalid('metadata.finalizers', meta.finalizers, 'must be a list of strings'));
}

// ---------- defaulting ----------

function defaultContainer(c: JsonObject): void {
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const lastPart = c.image.split('/').pop() ?? '';
    const tag = lastPart.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.split(':').pop() : 'latest';
    c.imagePullPolicy = tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= 'TCP';
  c.resources ??= {};
}

export function defaultPodSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  for (const list of ['containers', 'initContainers']) {
    const containers = spec[list];
    if (Array.isArray(containers)) for (const c of containers) if (isObject(c)) defaultContainer(c);
  }
}

function defaultTemplated(obj: Obj): void {
  const spec = obj.spec;
  if (!isObject(spec)) return;
  spec.replicas ??= 1;
  const template = spec.template;
  if (isObject(template)) {
    defaultPodSpec(template.spec);
    if (!isObject(template.metadata)) template.metadata = {};
  }
}

export function applyDefaults(info: ResourceInfo, obj: Obj): void {
  if (info.custom !== undefined) {
    info.custom.normalize(obj);
    return;
  }
  switch (info.resource) {
    case 'customresourcedefinitions':
      defaultCrd(obj);
      break;
    case 'pods':
      defaultPodSpec(obj.spec);
      break;
    case 'deployments': {
      defaultTemplated(obj);
      const spec = obj.spec;
      if (isObject(spec)) {
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        if (!isObject(spec.strategy)) spec.strategy = { type: 'RollingUpdate' };
        const strategy = spec.strategy as JsonObject;
        strategy.type ??= 'RollingUpdate';
        if (strategy.type === 'RollingUpdate') {
          if (!isObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
          const ru = strategy.rollingUpdate as JsonObject;
          ru.maxUnavailable ??= '25%';
          ru.maxSurge ??= '25%';
        }
      }
      break;
    }
    case 'replicasets':
      defaultTemplated(obj);
      break;
    case 'statefulsets':
      defaultStatefulSet(obj);
      break;
    case 'daemonsets':
      defaultDaemonSet(obj);
      break;
    case 'priorityclasses':
      defaultPriorityClass(obj);
      break;
    case 'jobs':
      defaultJobSpec(obj.spec);
      break;
    case 'cronjobs':
      defaultCronJob(obj);
      break;
    case 'services': {
      const spec = obj.spec;
      if (!isObject(spec)) break;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') {
        spec.internalTrafficPolicy ??= 'Cluster';
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports) {
          if (!isObject(p)) continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port ?? null;
        }
      }
      break;
    }
    case 'validatingwebhookconfigurations':
    case 'mutatingwebhookconfigurations':
      defaultWebhookConfiguration(obj, info.resource === 'mutatingwebhookconfigurations');
      break;
    case 'namespaces': {
      if (!isObject(obj.spec)) obj.spec = {};
      if (!isObject(obj.status)) obj.status = {};
      (obj.status as JsonObject).phase ??= 'Active';
      break;
    }
    case 'secrets': {
      obj.type ??= 'Opaque';
      if (isObject(obj.stringData)) {
        const data = isObject(obj.data) ? obj.data : {};
        for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
        obj.data = data;
        delete obj.stringData;
      }
      break;
    }
    default:
      break;
  }
}

// ---------- validation ----------

function validateContainers(list: unknown, field: string, causes: Causes, requiredNonEmpty: boolean): void {
  if (list === undefined) {
    if (requiredNonEmpty) causes.push(required(field));
    return;
  }
  if (!Array.isArray(list)) {
    causes.push(invalid(field, list, 'must be a list'));
    return;
  }
  if (requiredNonEmpty && list.length === 0) causes.push(required(field));
  const names = new Set<string>();
  list.forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(c)) {
      causes.push(invalid(at, c, 'must be an object'));
      return;
    }
    if (typeof c.name !== 'string' || c.name === '') causes.push(required(`${at}.name`));
    else {
      checkDns1123Label(c.name, `${at}.name`, causes);
      if (names.has(c.name)) causes.push(duplicate(`${at}.name`, c.name));
      names.add(c.name);
    }
    if (typeof c.image !== 'string' || c.image.trim() === '') causes.push(required(`${at}.image`));
    if (Array.isArray(c.ports)) {
      c.ports.forEach((p, j) => {
        if (!isObject(p) || typeof p.containerPort !== 'number' || p.containerPort < 1 || p.containerPort > 65535 || !Number.isInteger(p.containerPort)) {
          causes.push(invalid(`${at}.ports[${j}].containerPort`, isObject(p) ? p.containerPort : p, 'must be between 1 and 65535, inclusive'));
        }
      });
    }
    if (c.imagePullPolicy !== undefined && !['Always', 'Never', 'IfNotPresent'].includes(c.imagePullPolicy as string)) {
      causes.push(notSupported(`${at}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
    if (c.env !== undefined && !Array.isArray(c.env)) causes.push(invalid(`${at}.env`, c.env, 'must be a list'));
  });
}

export function validatePodSpec(spec: unknown, field: string, causes: Causes): void {
  if (!isObject(spec)) {
    causes.push(required(field));
    return;
  }
  validateContainers(spec.containers, `${field}.containers`, causes, true);
  validateContainers(spec.initContainers, `${field}.initContainers`, causes, false);
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy as string)) {
    causes.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']));
  }
  validateTopologySpreadConstraints(spec.topologySpreadConstraints, `${field}.topologySpreadConstraints`, causes);
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== 'Never' && spec.preemptionPolicy !== 'PreemptLowerPriority') {
    causes.push(notSupported(`${field}.preemptionPolicy`, spec.preemptionPolicy, ['Never', 'PreemptLowerPriority']));
  }
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && (typeof grace !== 'number' || grace < 0)) causes.push(invalid(`${field}.terminationGracePeriodSeconds`, grace, 'must be greater than or equal to 0'));
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) causes.push(invalid(`${field}.volumes`, spec.volumes, 'must be a list'));
    else {
      const names = new Set<string>();
      spec.volumes.forEach((v, i) => {
        const name = isObject(v) ? v.name : undefined;
        if (typeof name !== 'string' || name === '') causes.push(required(`${field}.volumes[${i}].name`));
        else if (names.has(name)) causes.push(duplicate(`${field}.volumes[${i}].name`, name));
        else names.add(name);
      });
    }
  }
}

function validateSelectorAndTemplate(obj: Obj, causes: Causes, templateRequired: boolean): void {
  const spec = obj.spec;
  if (!isObject(spec)) {
    causes.push(required('spec'));
    return;
  }
  if (spec.replicas !== undefined && (typeof spec.replicas !== 'number' || !Number.isInteger(spec.replicas) || spec.replicas < 0)) {
    causes.push(invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  const selector = spec.selector;
  const matchLabels = isObject(selector) && isObject(selector.matchLabels) ? selector.matchLabels : {};
  const hasExpressions = isObject(selector) && Array.isArray(selector.matchExpressions) && selector.matchExpressions.length > 0;
  if (!isObject(selector) || (Object.keys(matchLabels).length === 0 && !hasExpressions)) {
    causes.push(required('spec.selector'));
  }
  const template = spec.template;
  if (!isObject(template)) {
    if (templateRequired) causes.push(required('spec.template'));
    return;
  }
  const labels = isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {};
  for (const [k, v] of Object.entries(matchLabels)) {
    if (labels[k] !== v) {
      causes.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
      break;
    }
  }
  validatePodSpec(template.spec, 'spec.template.spec', causes);
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

function validateService(obj: Obj, causes: Causes): void {
  const spec = obj.spec;
  if (!isObject(spec)) {
    causes.push(required('spec'));
    return;
  }
  if (!SERVICE_TYPES.includes(spec.type as string)) causes.push(notSupported('spec.type', spec.type, SERVICE_TYPES));
  if (spec.type === 'ExternalName') {
    if (typeof spec.externalName !== 'string' || spec.externalName === '') causes.push(required('spec.externalName'));
    return;
  }
  const ports = spec.ports;
  if (!Array.isArray(ports) || ports.length === 0) {
    if (spec.clusterIP !== 'None') causes.push(required('spec.ports'));
    return;
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (!isObject(p)) {
      causes.push(invalid(at, p, 'must be an object'));
      return;
    }
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) causes.push(invalid(`${at}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    if (ports.length > 1 && (typeof p.name !== 'string' || p.name === '')) causes.push(required(`${at}.name`));
    if (typeof p.name === 'string' && p.name !== '') {
      if (names.has(p.name)) causes.push(duplicate(`${at}.name`, p.name));
      names.add(p.name);
    }
    if (p.nodePort !== undefined && p.nodePort !== null && spec.type === 'ClusterIP') causes.push(invalid(`${at}.nodePort`, p.nodePort, 'may not be used when `type` is \'ClusterIP\''));
  });
}

function validateStringMap(value: unknown, field: string, causes: Causes): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    causes.push(invalid(field, value, 'must be a map of strings'));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!CONFIG_KEY.test(k) || k.length > DNS1123_SUBDOMAIN_LENGTH_MAX) causes.push(invalid(field, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
    if (typeof v !== 'string') causes.push(invalid(`${field}[${k}]`, v, 'must be a string'));
  }
}

/** Validates a whole object (create, and the result of every update). */
export function validateObject(info: ResourceInfo, obj: Obj): Causes {
  const causes: Causes = [];
  validateMetadata(info, obj, causes);
  if (info.custom !== undefined) {
    causes.push(...info.custom.validate(obj));
    return causes;
  }
  switch (info.resource) {
    case 'customresourcedefinitions': causes.push(...validateCrd(obj)); break;
    case 'pods': validatePodSpec(obj.spec, 'spec', causes); break;
    case 'deployments': validateSelectorAndTemplate(obj, causes, true); break;
    case 'replicasets': validateSelectorAndTemplate(obj, causes, false); break;
    case 'statefulsets': validateStatefulSet(obj, causes); break;
    case 'daemonsets': validateDaemonSet(obj, causes); break;
    case 'controllerrevisions': validateControllerRevision(obj, causes); break;
    case 'jobs': validateJob(obj, causes); break;
    case 'cronjobs': validateCronJob(obj, causes); break;
    case 'poddisruptionbudgets': validatePdb(obj, causes); break;
    case 'services': validateService(obj, causes); break;
    case 'configmaps': validateStringMap(obj.data, 'data', causes); break;
    case 'validatingwebhookconfigurations':
    case 'mutatingwebhookconfigurations': validateWebhookConfiguration(obj, info.resource === 'mutatingwebhookconfigurations', causes); break;
    case 'secrets': {
      validateStringMap(obj.data, 'data', causes);
      if (isObject(obj.data)) {
        for (const [k, v] of Object.entries(obj.data)) {
          if (typeof v === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) causes.push(invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'));
        }
      }
      break;
    }
    case 'events': {
      if (!isObject(obj.involvedObject)) causes.push(required('involvedObject'));
      break;
    }
    case 'roles':
    case 'clusterroles':
      validateRules(obj.rules, causes);
      break;
    case 'rolebindings':
    case 'clusterrolebindings':
      validateBinding(info, obj, causes);
      break;
    case 'resourcequotas':
      validateResourceList(isObject(obj.spec) ? obj.spec.hard : undefined, 'spec.hard', causes);
      break;
    case 'priorityclasses':
      validatePriorityClass(obj, causes);
      break;
    case 'endpointslices': {
      if (!['IPv4', 'IPv6', 'FQDN'].includes(obj.addressType as string)) causes.push(notSupported('addressType', obj.addressType, ['IPv4', 'IPv6', 'FQDN']));
      if (obj.endpoints !== undefined && !Array.isArray(obj.endpoints)) causes.push(invalid('endpoints', obj.endpoints, 'must be a list'));
      break;
    }
    default:
      break;
  }
  return causes;
}

function validateRules(rules: unknown, causes: Causes): void {
  if (rules === undefined || rules === null) return;
  if (!Array.isArray(rules)) {
    causes.push(invalid('rules', rules, 'must be a list'));
    return;
  }
  rules.forEach((r, i) => {
    const field = `rules[${i}]`;
    if (!isObject(r)) return causes.push(invalid(field, r, 'must be an object'));
    if (!Array.isArray(r.verbs) || r.verbs.length === 0) causes.push(required(`${field}.verbs`));
    const urls = Array.isArray(r.nonResourceURLs) && r.nonResourceURLs.length > 0;
    const resources = Array.isArray(r.resources) && r.resources.length > 0;
    if (urls && resources) causes.push(invalid(`${field}.nonResourceURLs`, r.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
    if (resources && (!Array.isArray(r.apiGroups) || r.apiGroups.length === 0)) causes.push(required(`${field}.apiGroups`));
    if (!urls && !resources) causes.push(required(`${field}.resources`));
  });
}

function validateBinding(info: ResourceInfo, obj: Obj, causes: Causes): void {
  const ref = obj.roleRef;
  if (!isObject(ref)) causes.push(required('roleRef'));
  else {
    if (ref.apiGroup !== 'rbac.authorization.k8s.io') causes.push(notSupported('roleRef.apiGroup', ref.apiGroup, ['rbac.authorization.k8s.io']));
    const kinds = info.resource === 'clusterrolebindings' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
    if (!kinds.includes(ref.kind as string)) causes.push(notSupported('roleRef.kind', ref.kind, kinds));
    if (typeof ref.name !== 'string' || ref.name === '') causes.push(required('roleRef.name'));
  }
  if (obj.subjects === undefined || obj.subjects === null) return;
  if (!Array.isArray(obj.subjects)) return void causes.push(invalid('subjects', obj.subjects, 'must be a list'));
  obj.subjects.forEach((subject, i) => {
    const field = `subjects[${i}]`;
    if (!isObject(subject)) return causes.push(invalid(field, subject, 'must be an object'));
    if (!['User', 'Group', 'ServiceAccount'].includes(subject.kind as string)) causes.push(notSupported(`${field}.kind`, subject.kind, ['ServiceAccount', 'User', 'Group']));
    if (typeof subject.name !== 'string' || subject.name === '') causes.push(required(`${field}.name`));
    if (subject.kind === 'ServiceAccount' && info.resource === 'clusterrolebindings' && !subject.namespace) causes.push(required(`${field}.namespace`));
  });
}

/** A map of resource name to quantity (`spec.hard` of a ResourceQuota). */
export function validateResourceList(list: unknown, field: string, causes: Causes): void {
  if (list === undefined || list === null) return;
  if (!isObject(list)) return void causes.push(invalid(field, list, 'must be a map of resource names to quantities'));
  for (const [name, value] of Object.entries(list)) {
    const milli = typeof value === 'string' ? parseMilli(value) : typeof value === 'number' ? parseMilli(String(value)) : undefined;
    if (milli === undefined) causes.push(invalid(`${field}[${name}]`, value, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    else if (milli < 0n) causes.push(invalid(`${field}[${name}]`, value, 'must be greater than or equal to 0'));
  }
}

/** JSON with object keys sorted: two objects that differ only in key order compare equal, as Kubernetes compares decoded values. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

/** Rules only an update has: immutable fields. */
/**
 * `specFromStored`: the update is a status write, whose spec is the stored
 * object's own (Kubernetes' status strategies reset it from the old object),
 * so rules about what a spec change may touch have nothing to judge.
 */
export function validateUpdate(info: ResourceInfo, next: Obj, prev: Obj, options: { specFromStored?: boolean } = {}): Causes {
  const causes: Causes = [];
  const get = (o: Obj, path: string[]): unknown => path.reduce<unknown>((c, p) => (isObject(c) ? c[p] : undefined), o);
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  if (info.custom !== undefined) return causes;
  switch (info.resource) {
    case 'customresourcedefinitions':
      causes.push(...validateCrdUpdate(next, prev));
      break;
    case 'pods': {
      if (options.specFromStored === true) break;
      const prevNode = get(prev, ['spec', 'nodeName']);
      if (prevNode !== undefined && !same(prevNode, get(next, ['spec', 'nodeName']))) causes.push(immutable('spec.nodeName'));
      // Kubernetes lets an update change only images, activeDeadlineSeconds and tolerations additions.
      const strip = (o: Obj) => {
        const spec = JSON.parse(JSON.stringify(get(o, ['spec']) ?? {})) as JsonObject;
        for (const c of [...((spec.containers as JsonObject[]) ?? []), ...((spec.initContainers as JsonObject[]) ?? [])]) delete c.image;
        delete spec.activeDeadlineSeconds;
        delete spec.tolerations;
        delete spec.nodeName;
        return spec;
      };
      if (!same(strip(next), strip(prev))) {
        causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations)', field: 'spec' });
      }
      break;
    }
    case 'deployments':
    case 'replicasets':
    case 'daemonsets':
      if (!same(get(next, ['spec', 'selector']), get(prev, ['spec', 'selector']))) causes.push(immutable('spec.selector'));
      break;
    case 'statefulsets':
      validateStatefulSetUpdate(next, prev, causes);
      break;
    case 'controllerrevisions':
      if (!same(next.data, prev.data)) causes.push(immutable('data'));
      break;
    case 'jobs':
      validateJobUpdate(next, prev, causes);
      break;
    case 'services': {
      const prevIp = get(prev, ['spec', 'clusterIP']);
      const nextIp = get(next, ['spec', 'clusterIP']);
      if (prevIp !== undefined && nextIp !== undefined && nextIp !== '' && !same(prevIp, nextIp)) causes.push(immutable('spec.clusterIP'));
      break;
    }
    case 'priorityclasses':
      validatePriorityClassUpdate(next, prev, causes);
      break;
    case 'rolebindings':
    case 'clusterrolebindings':
      if (!same(next.roleRef, prev.roleRef)) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: cannot change roleRef', field: 'roleRef' });
      break;
    case 'configmaps':
    case 'secrets':
      if (prev.immutable === true) {
        if (!same(next.data, prev.data) || !same(next.binaryData, prev.binaryData)) causes.push(immutable('data'));
        if (next.immutable !== true) causes.push(immutable('immutable'));
      }
      break;
    default:
      break;
  }
  return causes;
}

/** Resources whose status is written only through `/status` (the main endpoint keeps the stored status). */
export function hasStatusSubresource(info: ResourceInfo): boolean {
  return info.subresources.includes('status');
}

/** Everything that counts as "spec" for `generation`: the object minus metadata and status. */
export function specPart(obj: Obj): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return JSON.stringify(rest);
}

const NOT_SPEC: ReadonlySet<string> = new Set(['metadata', 'status']);

/** `specPart(a) === specPart(b)` without writing either text (every update and status write asks it). */
export function sameSpec(a: Obj, b: Obj): boolean {
  return isPlainObject(a) && isPlainObject(b) ? sameJsonExcept(a, b, NOT_SPEC) : specPart(a) === specPart(b);
}

/** What a create resets: status of workloads starts empty (pods start Pending). */
export function prepareForCreate(info: ResourceInfo, obj: Obj): void {
  if (info.custom !== undefined) {
    // With a status subresource, status is written through /status only (Kubernetes' CR strategy drops it on create).
    if (info.subresources.includes('status')) delete obj.status;
    return;
  }
  switch (info.resource) {
    case 'customresourcedefinitions': {
      // The status is the server's (names and conditions come from its CRD controller); the finalizer holds the CRD until its objects are gone.
      const versions = isObject(obj.spec) && Array.isArray(obj.spec.versions) ? obj.spec.versions : [];
      const storage = versions.find((v) => isObject(v) && v.storage === true);
      obj.status = { acceptedNames: { plural: '', kind: '' }, conditions: [], storedVersions: isObject(storage) && typeof storage.name === 'string' ? [storage.name] : [] };
      const finalizers = Array.isArray(obj.metadata.finalizers) ? obj.metadata.finalizers : [];
      if (!finalizers.includes(CRD_CLEANUP_FINALIZER)) obj.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
      break;
    }
    case 'pods': {
      const status = isObject(obj.status) ? obj.status : {};
      obj.status = { phase: 'Pending', qosClass: qosClass(obj), ...(status.conditions ? { conditions: status.conditions } : {}) };
      break;
    }
    case 'deployments':
    case 'replicasets':
      obj.status = {};
      break;
    case 'statefulsets':
      // What Kubernetes' empty StatefulSetStatus serializes to (its non-omitempty fields).
      obj.status = { replicas: 0, availableReplicas: 0 };
      break;
    case 'daemonsets':
      obj.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
      break;
    case 'jobs':
      prepareJobForCreate(obj);
      break;
    case 'cronjobs':
      obj.status = {};
      break;
    case 'poddisruptionbudgets':
      preparePdbForCreate(obj);
      break;
    case 'services':
      obj.status = { loadBalancer: {} };
      break;
    default:
      break;
  }
}

function qosClass(pod: Obj): string {
  const spec = pod.spec;
  if (!isObject(spec) || !Array.isArray(spec.containers)) return 'BestEffort';
  let any = false;
  let guaranteed = true;
  for (const c of spec.containers) {
    const res = isObject(c) && isObject(c.resources) ? c.resources : {};
    const requests = isObject(res.requests) ? res.requests : {};
    const limits = isObject(res.limits) ? res.limits : {};
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) any = true;
    for (const r of ['cpu', 'memory']) if (limits[r] === undefined || (requests[r] !== undefined && requests[r] !== limits[r])) guaranteed = false;
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// ---------- StatefulSet, DaemonSet, ControllerRevision (apps/v1) ----------

/** Kubernetes 1.32's SetDefaults_StatefulSet (StatefulSetAutoDeletePVC is beta and on, so the retention policy is defaulted). */
function defaultStatefulSet(obj: Obj): void {
  defaultTemplated(obj);
  const spec = obj.spec;
  if (!isObject(spec)) return;
  spec.podManagementPolicy ??= 'OrderedReady';
  spec.revisionHistoryLimit ??= 10;
  if (!isObject(spec.updateStrategy)) spec.updateStrategy = {};
  const strategy = spec.updateStrategy as JsonObject;
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    if (!isObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
    (strategy.rollingUpdate as JsonObject).partition ??= 0;
  }
  if (!isObject(spec.persistentVolumeClaimRetentionPolicy)) spec.persistentVolumeClaimRetentionPolicy = {};
  const retention = spec.persistentVolumeClaimRetentionPolicy as JsonObject;
  retention.whenDeleted ??= 'Retain';
  retention.whenScaled ??= 'Retain';
  if (Array.isArray(spec.volumeClaimTemplates)) {
    for (const claim of spec.volumeClaimTemplates) {
      if (!isObject(claim)) continue;
      if (isObject(claim.spec)) claim.spec.volumeMode ??= 'Filesystem';
      if (!isObject(claim.status)) claim.status = { phase: 'Pending' };
    }
  }
}

/** Kubernetes' SetDefaults_DaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0. */
function defaultDaemonSet(obj: Obj): void {
  const spec = obj.spec;
  if (!isObject(spec)) return;
  if (isObject(spec.template)) {
    defaultPodSpec(spec.template.spec);
    if (!isObject(spec.template.metadata)) spec.template.metadata = {};
  }
  spec.revisionHistoryLimit ??= 10;
  if (!isObject(spec.updateStrategy)) spec.updateStrategy = {};
  const strategy = spec.updateStrategy as JsonObject;
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    if (!isObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
    const ru = strategy.rollingUpdate as JsonObject;
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  }
}

const UPDATE_STRATEGY_TYPES = ['RollingUpdate', 'OnDelete'];

function nonNegativeInteger(value: unknown, field: string, causes: Causes): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) causes.push(invalid(field, value, 'must be greater than or equal to 0'));
}

/** An int or a percentage (`25%`), as intstr fields of rolling updates take; returns whether it is zero. */
function checkIntOrPercent(value: unknown, field: string, causes: Causes): boolean {
  if (value === undefined) return false;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) causes.push(invalid(field, value, 'must be greater than or equal to 0'));
    return value === 0;
  }
  if (typeof value !== 'string' || !/^[0-9]+%$/.test(value)) {
    causes.push(invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
    return false;
  }
  const percent = Number(value.slice(0, -1));
  if (percent > 100) causes.push(invalid(field, value, 'must not be greater than 100%'));
  return percent === 0;
}

/** Pods of workload controllers restart forever: Kubernetes refuses any other restartPolicy in their templates. */
function templateRestartAlways(obj: Obj, causes: Causes): void {
  const policy = isObject(obj.spec) && isObject(obj.spec.template) && isObject(obj.spec.template.spec) ? obj.spec.template.spec.restartPolicy : undefined;
  if (policy !== undefined && policy !== 'Always') causes.push(notSupported('spec.template.spec.restartPolicy', policy, ['Always']));
}

function validateStatefulSet(obj: Obj, causes: Causes): void {
  validateSelectorAndTemplate(obj, causes, true);
  const spec = obj.spec;
  if (!isObject(spec)) return;
  templateRestartAlways(obj, causes);
  if (spec.serviceName !== undefined && spec.serviceName !== '' && typeof spec.serviceName === 'string') checkDns1123Label(spec.serviceName, 'spec.serviceName', causes);
  if (spec.podManagementPolicy !== undefined && !['OrderedReady', 'Parallel'].includes(spec.podManagementPolicy as string)) {
    causes.push(notSupported('spec.podManagementPolicy', spec.podManagementPolicy, ['OrderedReady', 'Parallel']));
  }
  nonNegativeInteger(spec.minReadySeconds, 'spec.minReadySeconds', causes);
  nonNegativeInteger(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', causes);
  if (isObject(spec.ordinals)) nonNegativeInteger(spec.ordinals.start, 'spec.ordinals.start', causes);
  const strategy = spec.updateStrategy;
  if (isObject(strategy)) {
    if (!UPDATE_STRATEGY_TYPES.includes(strategy.type as string)) causes.push(notSupported('spec.updateStrategy.type', strategy.type, UPDATE_STRATEGY_TYPES));
    if (strategy.type === 'OnDelete' && strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.updateStrategy.rollingUpdate', message: `Invalid value: ${JSON.stringify(strategy.rollingUpdate)}: only allowed for updateStrategy 'RollingUpdate'` });
    }
    if (isObject(strategy.rollingUpdate)) nonNegativeInteger(strategy.rollingUpdate.partition, 'spec.updateStrategy.rollingUpdate.partition', causes);
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  if (isObject(retention)) {
    for (const when of ['whenDeleted', 'whenScaled']) {
      if (retention[when] !== undefined && !['Retain', 'Delete'].includes(retention[when] as string)) {
        causes.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${when}`, retention[when], ['Retain', 'Delete']));
      }
    }
  }
  if (spec.volumeClaimTemplates !== undefined) {
    if (!Array.isArray(spec.volumeClaimTemplates)) causes.push(invalid('spec.volumeClaimTemplates', spec.volumeClaimTemplates, 'must be a list'));
    else {
      spec.volumeClaimTemplates.forEach((claim, i) => {
        const name = isObject(claim) && isObject(claim.metadata) ? claim.metadata.name : undefined;
        if (typeof name !== 'string' || name === '') causes.push(required(`spec.volumeClaimTemplates[${i}].metadata.name`));
      });
    }
  }
}

/** What Kubernetes lets an update of a StatefulSet's spec change. */
const STATEFUL_SET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

function validateStatefulSetUpdate(next: Obj, prev: Obj, causes: Causes): void {
  const strip = (o: Obj) => {
    const spec = isObject(o.spec) ? { ...o.spec } : {};
    for (const field of STATEFUL_SET_MUTABLE) delete spec[field];
    return JSON.stringify(spec);
  };
  if (strip(next) !== strip(prev)) {
    causes.push({
      reason: 'FieldValueForbidden', field: 'spec',
      message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    });
  }
}

function validateDaemonSet(obj: Obj, causes: Causes): void {
  validateSelectorAndTemplate(obj, causes, true);
  const spec = obj.spec;
  if (!isObject(spec)) return;
  templateRestartAlways(obj, causes);
  nonNegativeInteger(spec.minReadySeconds, 'spec.minReadySeconds', causes);
  nonNegativeInteger(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', causes);
  const strategy = spec.updateStrategy;
  if (!isObject(strategy)) return;
  if (!UPDATE_STRATEGY_TYPES.includes(strategy.type as string)) causes.push(notSupported('spec.updateStrategy.type', strategy.type, UPDATE_STRATEGY_TYPES));
  if (strategy.type !== 'RollingUpdate' || !isObject(strategy.rollingUpdate)) return;
  const ru = strategy.rollingUpdate;
  const unavailableZero = ru.maxUnavailable === undefined || checkIntOrPercent(ru.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable', causes);
  const surgeZero = ru.maxSurge === undefined || checkIntOrPercent(ru.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge', causes);
  // Exactly one of them is non-zero: either delete-then-create or create-then-delete.
  if (!unavailableZero && !surgeZero) causes.push(invalid('spec.updateStrategy.rollingUpdate.maxSurge', ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
  if (unavailableZero && surgeZero) causes.push({ reason: 'FieldValueRequired', field: 'spec.updateStrategy.rollingUpdate.maxUnavailable', message: 'Required value: cannot be 0 when maxSurge is 0' });
}

function validateControllerRevision(obj: Obj, causes: Causes): void {
  nonNegativeInteger(obj.revision, 'revision', causes);
}
