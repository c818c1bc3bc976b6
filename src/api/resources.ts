/**
 * The resources the API server serves: group, version, kind, scope, verbs
 * and subresources. Discovery, routing, storage keys and OpenAPI all read
 * this one table, so adding a resource is one entry here (plus its
 * defaulting and validation if it has rules).
 */

import type { StatusCause } from './types/index.js';

/** A printer column of a custom resource (a CRD version's additionalPrinterColumns). */
export interface PrinterColumn {
  name: string;
  /** integer, number, string, boolean or date (printed as an age). */
  type: string;
  format?: string;
  description?: string;
  /** 0: always shown; above 0: only with `-o wide`. */
  priority: number;
  jsonPath: string;
}

/** The scale subresource of a custom resource: where replicas and the selector live. */
export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/**
 * The rules of a kind defined at run time by a CustomResourceDefinition
 * (one per served version): the strategy, the tables, scale and OpenAPI
 * defer to these instead of to a built-in kind's code.
 */
export interface CustomResourceRules {
  /** The CRD (metadata.name) that defines this kind. */
  definition: string;
  /** The version objects are stored in; others are served by rewriting apiVersion (conversion strategy None). */
  storageVersion: string;
  /** Prunes the fields the schema does not declare and fills its defaults, in place (on every write and read). */
  normalize(object: Record<string, unknown>): void;
  /** Every violation of the version's schema, with Kubernetes' field paths and messages. */
  validate(object: Record<string, unknown>): StatusCause[];
  /** The paths of the fields a written object has that the schema does not declare (fieldValidation). */
  unknownFields(object: unknown): string[];
  scale?: ScalePaths;
  printerColumns: readonly PrinterColumn[];
  /** The version's openAPIV3Schema, for the OpenAPI documents (kubectl explain). */
  openApiSchema: Record<string, unknown>;
}

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment and the storage key segment. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  subresources: string[];
  categories: string[];
  /** Not stored: a create is answered at once and nothing is kept (SelfSubjectAccessReview). No watch cache, no list. */
  virtual?: boolean;
  /** Set for custom resources: their schema-driven rules. */
  custom?: CustomResourceRules;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function r(
  group: string, version: string, resource: string, kind: string, namespaced: boolean,
  extra: { shortNames?: string[]; subresources?: string[]; categories?: string[]; verbs?: string[]; virtual?: boolean } = {},
): ResourceInfo {
  return {
    ...(extra.virtual ? { virtual: true } : {}),
    group, version, resource, kind, namespaced,
    singular: kind.toLowerCase(),
    shortNames: extra.shortNames ?? [],
    verbs: extra.verbs ?? ALL_VERBS,
    subresources: extra.subresources ?? [],
    categories: extra.categories ?? [],
  };
}

export const RESOURCES: readonly ResourceInfo[] = Object.freeze([
  r('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'], subresources: ['status', 'finalize'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  r('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], subresources: ['status'] }),
  r('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], subresources: ['status', 'binding', 'eviction', 'log'], categories: ['all'] }),
  r('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], subresources: ['status'], categories: ['all'] }),
  r('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  r('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  r('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  r('', 'v1', 'secrets', 'Secret', true),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'], subresources: ['token'] }),
  r('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], subresources: ['status', 'scale'], categories: ['all'] }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], subresources: ['status', 'scale'], categories: ['all'] }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], subresources: ['status', 'scale'], categories: ['all'] }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], subresources: ['status'], categories: ['all'] }),
  r('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  r('batch', 'v1', 'jobs', 'Job', true, { subresources: ['status'], categories: ['all'] }),
  r('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], subresources: ['status'], categories: ['all'] }),
  r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, { shortNames: ['pdb'], subresources: ['status'] }),
  r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  r('', 'v1', 'resourcequotas', 'ResourceQuota', true, { shortNames: ['quota'], subresources: ['status'] }),
  r('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  r('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  r('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  r('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  r('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false),
  r('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false),
  r('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false, { shortNames: ['pc'] }),
  r('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, { shortNames: ['crd', 'crds'], subresources: ['status'], categories: ['api-extensions'] }),
  r('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, { verbs: ['create'], virtual: true }),
]);

/** Group/versions in discovery order (legacy core first, then named groups). */
export function groupVersions(infos: readonly ResourceInfo[] = RESOURCES): { group: string; version: string }[] {
  const seen = new Set<string>();
  const out: { group: string; version: string }[] = [];
  for (const info of infos) {
    const id = `${info.group}/${info.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ group: info.group, version: info.version });
  }
  return out;
}

export function apiVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** resource → group → version → info: every request looks its resource up (twice with metrics), so no scan of the list. */
const RESOURCE_INDEX = new Map<string, Map<string, Map<string, ResourceInfo>>>();
for (const info of RESOURCES) {
  let byGroup = RESOURCE_INDEX.get(info.resource);
  if (byGroup === undefined) RESOURCE_INDEX.set(info.resource, (byGroup = new Map()));
  let byVersion = byGroup.get(info.group);
  if (byVersion === undefined) byGroup.set(info.group, (byVersion = new Map()));
  if (!byVersion.has(info.version)) byVersion.set(info.version, info);
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCE_INDEX.get(resource)?.get(group)?.get(version);
}

export function findByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((i) => apiVersionOf(i) === apiVersion && i.kind === kind);
}

export function resourceByName(resource: string): ResourceInfo | undefined {
  return RESOURCES.find((i) => i.resource === resource);
}

/** Groups whose built-in objects Kubernetes keys by group too (its CRDs live under /registry/apiextensions.k8s.io/customresourcedefinitions/). */
const GROUP_KEYED = new Set(['apiextensions.k8s.io']);

/** `/registry/<group>/<resource>/` for custom resources and CRDs (Kubernetes' layout for them), `/registry/<resource>/` for other built-ins. */
function resourceRoot(info: Pick<ResourceInfo, 'group' | 'resource' | 'custom'>): string {
  return info.custom !== undefined || GROUP_KEYED.has(info.group) ? `/registry/${info.group}/${info.resource}/` : `/registry/${info.resource}/`;
}

/** `/registry/<resource>/<namespace>/<name>`; cluster-scoped objects have no namespace segment. */
export function storageKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${resourceRoot(info)}${namespace}/${name}` : `${resourceRoot(info)}${name}`;
}

/** The key prefix of every object of a resource, or of one namespace's objects. */
export function storagePrefix(info: ResourceInfo, namespace?: string): string {
  return info.namespaced && namespace ? `${resourceRoot(info)}${namespace}/` : resourceRoot(info);
}
