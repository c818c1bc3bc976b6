/**
 * OpenAPI documents, as much as kubectl needs: `/openapi/v3` lists one
 * document per group-version; each declares, per kind, the object's paths
 * with a PATCH operation tagged `x-kubernetes-group-version-kind` that takes
 * `fieldValidation` (so kubectl leaves validation to the server), and a
 * schema per kind with the top-level fields and descriptions that
 * `kubectl explain` prints. Field-level schemas are not modelled, so the
 * PATCH operations do not offer strategic merge: kubectl then computes its
 * apply patch from its compiled-in types (with their merge keys) instead of
 * from these shallow schemas.
 */
import { RESOURCES, apiVersionOf, groupVersions, type ResourceInfo } from '../resources.js';

function schemaName(info: ResourceInfo): string {
  const group = info.group === '' ? 'core' : info.group.split('.')[0]!;
  return `io.k8s.api.${group}.${info.version}.${info.kind}`;
}

function gvk(info: ResourceInfo) {
  return [{ group: info.group, version: info.version, kind: info.kind }];
}

const DESCRIPTIONS: Record<string, string> = {
  Pod: 'Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.',
  Node: 'Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).',
  Namespace: 'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
  Service: 'Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.',
  Endpoints: 'Endpoints is a collection of endpoints that implement the actual service.',
  Event: 'Event is a report of an event somewhere in the cluster.',
  ConfigMap: 'ConfigMap holds configuration data for pods to consume.',
  Secret: 'Secret holds secret data of a certain type.',
  Deployment: 'Deployment enables declarative updates for Pods and ReplicaSets.',
  ReplicaSet: 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.',
  Lease: 'Lease defines a lease concept.',
  EndpointSlice: 'EndpointSlice represents a subset of the endpoints that implement a service.',
};

function kindSchema(info: ResourceInfo, refBase = '#/components/schemas/') {
  const properties: Record<string, unknown> = {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { allOf: [{ $ref: `${refBase}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta` }], default: {}, description: "Standard object's metadata." },
  };
  if (!['ConfigMap', 'Secret', 'Event', 'Endpoints', 'EndpointSlice', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(info.kind)) {
    properties.spec = { type: 'object', description: `Specification of the desired behavior of the ${info.kind}.`, 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (info.subresources.includes('status')) {
    properties.status = { type: 'object', description: `Most recently observed status of the ${info.kind}.`, 'x-kubernetes-preserve-unknown-fields': true };
  }
  return { type: 'object', description: DESCRIPTIONS[info.kind] ?? info.kind, properties, 'x-kubernetes-group-version-kind': gvk(info), 'x-kubernetes-preserve-unknown-fields': true };
}

const OBJECT_META = {
  type: 'object',
  description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  properties: {
    name: { type: 'string', description: 'Name must be unique within a namespace.' },
    namespace: { type: 'string', description: 'Namespace defines the space within which each name must be unique.' },
    labels: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Map of string keys and values that can be used to organize and categorize objects.' },
    annotations: { type: 'object', additionalProperties: { type: 'string', default: '' }, description: 'Annotations is an unstructured key value map stored with a resource.' },
  },
  'x-kubernetes-preserve-unknown-fields': true,
};

function pathFor(info: ResourceInfo): string {
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  return info.namespaced ? `${base}/namespaces/{namespace}/${info.resource}/{name}` : `${base}/${info.resource}/{name}`;
}

/** The document of one group-version (`api/v1`, `apis/apps/v1`), or undefined. */
export function openApiV3Document(groupVersionPath: string) {
  const infos = RESOURCES.filter((i) => (i.group === '' ? `api/${i.version}` : `apis/${i.group}/${i.version}`) === groupVersionPath);
  if (infos.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': OBJECT_META };
  for (const info of infos) {
    const params = [
      { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
      ...(info.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
    ];
    const ref = { $ref: `#/components/schemas/${schemaName(info)}` };
    const body = { content: { 'application/json': { schema: ref } } };
    paths[pathFor(info)] = {
      parameters: params,
      get: { operationId: `read${info.kind}`, responses: { '200': body }, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk(info)[0] },
      put: { operationId: `replace${info.kind}`, requestBody: body, responses: { '200': body }, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk(info)[0] },
      patch: {
        operationId: `patch${info.kind}`,
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
        requestBody: { content: { 'application/json-patch+json': { schema: { type: 'object' } }, 'application/merge-patch+json': { schema: { type: 'object' } }, 'application/apply-patch+yaml': { schema: { type: 'object' } } }, required: true },
        responses: { '200': body },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk(info)[0],
      },
    };
    schemas[schemaName(info)] = kindSchema(info);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-kubethreads' },
    paths,
    components: { schemas },
  };
}

/**
 * The OpenAPI v2 (Swagger 2.0) document: every served kind's definition and
 * its object path with get/put/patch/delete, tagged with
 * `x-kubernetes-group-version-kind` as Kubernetes does. JSON only: kubectl
 * asks for v2 in protobuf, but only when /openapi/v3 is missing, and it is not.
 */
export function openApiV2Document() {
  const paths: Record<string, unknown> = {};
  const definitions: Record<string, unknown> = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': OBJECT_META };
  for (const info of RESOURCES) {
    const ref = { $ref: `#/definitions/${schemaName(info)}` };
    const gvkTag = gvk(info)[0];
    definitions[schemaName(info)] = kindSchema(info, '#/definitions/');
    const parameters = [
      { name: 'name', in: 'path', required: true, type: 'string', uniqueItems: true },
      ...(info.namespaced ? [{ name: 'namespace', in: 'path', required: true, type: 'string', uniqueItems: true }] : []),
    ];
    const op = (verb: string, action: string, extra: Record<string, unknown> = {}) => ({
      operationId: `${verb}${info.kind}`, consumes: ['*/*'], produces: ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'],
      schemes: ['https'], responses: { '200': { description: 'OK', schema: ref } }, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvkTag, ...extra,
    });
    if (info.virtual) {
      const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
      paths[`${base}/${info.resource}`] = { post: op('create', 'post', { parameters: [{ name: 'body', in: 'body', required: true, schema: ref }] }) };
      continue;
    }
    paths[pathFor(info)] = {
      parameters,
      get: op('read', 'get'),
      put: op('replace', 'put', { parameters: [{ name: 'body', in: 'body', required: true, schema: ref }] }),
      patch: op('patch', 'patch', {
        consumes: ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'],
        parameters: [{ name: 'body', in: 'body', required: true, schema: { type: 'object' } }, { name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true }],
      }),
      delete: op('delete', 'delete'),
    };
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0-kubethreads' }, paths, definitions };
}

/** The /openapi/v3 index. The hash changes only when the served types change, so kubectl's cache stays valid. */
export function openApiV3Index(hash: string) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions()) {
    const path = gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

export { apiVersionOf };
