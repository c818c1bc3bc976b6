/**
 * OpenAPI documents, as much as kubectl needs: `/openapi/v3` lists one
 * document per group-version; each declares, per kind, the object's paths
 * with a PATCH operation tagged `x-kubernetes-group-version-kind` that takes
 * `fieldValidation` (so kubectl leaves validation to the server), and a
 * schema per kind with the top-level fields and descriptions that
 * `kubectl explain` prints (complete at the top level and in ObjectMeta,
 * opaque below). Field-level schemas are not modelled, so the
 * PATCH operations do not offer strategic merge: kubectl then computes its
 * apply patch from its compiled-in types (with their merge keys) instead of
 * from these shallow schemas.
 */
import { RESOURCES, apiVersionOf, groupVersions, type ResourceInfo } from '../resources.js';

function schemaName(info: ResourceInfo): string {
  // Kubernetes names a custom kind's schema by its reversed group: com.example.v1.Greeting.
  if (info.custom !== undefined) return `${info.group.split('.').reverse().join('.')}.${info.version}.${info.kind}`;
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
  ValidatingWebhookConfiguration: 'ValidatingWebhookConfiguration describes the configuration of and admission webhook that accept or reject and object without changing it.',
  MutatingWebhookConfiguration: 'MutatingWebhookConfiguration describes the configuration of and admission webhook that accept or reject and may change the object.',
  ServiceAccount: 'ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral systems, for an identity * a principal that can be authenticated and authorized * a set of secrets',
  Deployment: 'Deployment enables declarative updates for Pods and ReplicaSets.',
  ReplicaSet: 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.',
  StatefulSet: 'StatefulSet represents a set of pods with consistent identities. Identities are defined as: - Network: A single stable DNS and hostname. - Storage: As many VolumeClaims as requested. The StatefulSet guarantees that a given network identity will always map to the same storage identity.',
  DaemonSet: 'DaemonSet represents the configuration of a daemon set.',
  ControllerRevision: 'ControllerRevision implements an immutable snapshot of state data. Clients are responsible for serializing and deserializing the objects that contain their internal state. Once a ControllerRevision has been successfully created, it can not be updated.',
  Job: 'Job represents the configuration of a single job.',
  CronJob: 'CronJob represents the configuration of a single cron job.',
  PodDisruptionBudget: 'PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods',
  Lease: 'Lease defines a lease concept.',
  EndpointSlice: 'EndpointSlice represents a subset of the endpoints that implement a service.',
  PriorityClass: 'PriorityClass defines mapping from a priority class name to the priority integer value.',
};

const string = (description: string) => ({ type: 'string', description });
const stringMap = (description: string, format?: string) => ({ type: 'object', additionalProperties: { type: 'string', ...(format === undefined ? {} : { format }), default: '' }, description });
/** A nested structure whose own fields are not modelled: any object passes. */
const opaque = (description: string) => ({ type: 'object', description });
const opaqueList = (description: string) => ({ type: 'array', items: { type: 'object' }, description });

/**
 * The top-level fields besides apiVersion, kind and metadata, per kind, as in
 * Kubernetes' own schemas. They must be complete: kubectl validates the items
 * of a `kind: List` against the v2 definitions on the client, and an unknown
 * top-level field is an error there. Nested structures are opaque objects.
 */
const TOP_LEVEL_FIELDS: Record<string, Record<string, unknown>> = {
  ConfigMap: {
    data: stringMap('Data contains the configuration data.'),
    binaryData: stringMap('BinaryData contains the binary data.', 'byte'),
    immutable: { type: 'boolean', description: 'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.' },
  },
  Secret: {
    data: stringMap('Data contains the secret data, base64-encoded.', 'byte'),
    stringData: stringMap('stringData allows specifying non-binary secret data in string form; it is merged into data on write.'),
    type: string('Used to facilitate programmatic handling of secret data.'),
    immutable: { type: 'boolean', description: 'Immutable, if set to true, ensures that data stored in the Secret cannot be updated.' },
  },
  ValidatingWebhookConfiguration: { webhooks: opaqueList('Webhooks is a list of webhooks and the affected resources and operations.') },
  MutatingWebhookConfiguration: { webhooks: opaqueList('Webhooks is a list of webhooks and the affected resources and operations.') },
  ServiceAccount: {
    secrets: opaqueList('Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'),
    imagePullSecrets: opaqueList('ImagePullSecrets is a list of references to secrets in the same namespace to use for pulling any images in pods that reference this ServiceAccount.'),
    automountServiceAccountToken: { type: 'boolean', description: 'AutomountServiceAccountToken indicates whether pods running as this service account should have an API token automatically mounted.' },
  },
  Event: {
    action: string('What action was taken/failed regarding to the Regarding object.'),
    count: { type: 'integer', format: 'int32', description: 'The number of times this event has occurred.' },
    eventTime: { type: 'string', format: 'date-time', description: 'Time when this Event was first observed.' },
    firstTimestamp: { type: 'string', format: 'date-time', description: 'The time at which the event was first recorded.' },
    involvedObject: opaque('The object that this event is about.'),
    lastTimestamp: { type: 'string', format: 'date-time', description: 'The time at which the most recent occurrence of this event was recorded.' },
    message: string('A human-readable description of the status of this operation.'),
    reason: string('This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
    related: opaque('Optional secondary object for more complex actions.'),
    reportingComponent: string('Name of the controller that emitted this Event.'),
    reportingInstance: string('ID of the controller instance.'),
    series: opaque('Data about the Event series this event represents.'),
    source: opaque('The component reporting this event.'),
    type: string('Type of this event (Normal, Warning).'),
  },
  Endpoints: { subsets: opaqueList('The set of all endpoints is the union of all subsets.') },
  ControllerRevision: {
    data: opaque('Data is the serialized representation of the state.'),
    revision: { type: 'integer', format: 'int64', description: 'Revision indicates the revision of the state represented by Data.' },
  },
  EndpointSlice: {
    addressType: string('addressType specifies the type of address carried by this EndpointSlice.'),
    endpoints: opaqueList('endpoints is a list of unique endpoints in this slice.'),
    ports: opaqueList('ports specifies the list of network ports exposed by each endpoint in this slice.'),
  },
  Role: { rules: opaqueList('Rules holds all the PolicyRules for this Role.') },
  ClusterRole: {
    rules: opaqueList('Rules holds all the PolicyRules for this ClusterRole.'),
    aggregationRule: opaque('AggregationRule is an optional field that describes how to build the Rules for this ClusterRole.'),
  },
  RoleBinding: {
    roleRef: opaque('RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
    subjects: opaqueList('Subjects holds references to the objects the role applies to.'),
  },
  PriorityClass: {
    value: { type: 'integer', format: 'int32', description: 'value represents the integer value of this priority class.' },
    globalDefault: { type: 'boolean', description: 'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.' },
    description: string('description is an arbitrary string that usually provides guidelines on when this priority class should be used.'),
    preemptionPolicy: string('preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority.'),
  },
  ClusterRoleBinding: {
    roleRef: opaque('RoleRef can only reference a ClusterRole in the global namespace.'),
    subjects: opaqueList('Subjects holds references to the objects the role applies to.'),
  },
};

/** Kinds with a spec but no status in Kubernetes. */
const SPEC_ONLY = new Set(['Lease']);

function kindProperties(info: ResourceInfo): Record<string, unknown> {
  if (info.custom !== undefined) {
    const properties = info.custom.openApiSchema.properties;
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = (typeof properties === 'object' && properties !== null ? properties : {}) as Record<string, unknown>;
    return rest;
  }
  const fields = TOP_LEVEL_FIELDS[info.kind];
  if (fields !== undefined) return fields;
  return {
    spec: { ...opaque(`Specification of the desired behavior of the ${info.kind}.`), 'x-kubernetes-preserve-unknown-fields': true },
    ...(SPEC_ONLY.has(info.kind) ? {} : { status: { ...opaque(`Most recently observed status of the ${info.kind}.`), 'x-kubernetes-preserve-unknown-fields': true } }),
  };
}

/**
 * One kind's schema. In v3 metadata is `allOf: [$ref]` as Kubernetes
 * publishes it; in v2 a plain `$ref`, which is what kubectl's v2 parser
 * follows (it treats an allOf as "anything", so metadata would go unchecked).
 */
function kindSchema(info: ResourceInfo, version: 'v2' | 'v3') {
  const metaRef = `${version === 'v2' ? '#/definitions/' : '#/components/schemas/'}${OBJECT_META_NAME}`;
  const properties: Record<string, unknown> = {
    apiVersion: string('APIVersion defines the versioned schema of this representation of an object.'),
    kind: string('Kind is a string value representing the REST resource this object represents.'),
    metadata: version === 'v2'
      ? { $ref: metaRef, description: "Standard object's metadata." }
      : { allOf: [{ $ref: metaRef }], default: {}, description: "Standard object's metadata." },
    ...kindProperties(info),
  };
  const description = info.custom !== undefined && typeof info.custom.openApiSchema.description === 'string' ? info.custom.openApiSchema.description : DESCRIPTIONS[info.kind] ?? info.kind;
  return { type: 'object', description, properties, 'x-kubernetes-group-version-kind': gvk(info) };
}

const OBJECT_META_NAME = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const timestamp = (description: string) => ({ type: 'string', format: 'date-time', description });

/** Every field of ObjectMeta (what `kubectl get -o yaml` prints must validate); nested ones opaque. */
const OBJECT_META = {
  type: 'object',
  description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  properties: {
    annotations: stringMap('Annotations is an unstructured key value map stored with a resource.'),
    creationTimestamp: timestamp('CreationTimestamp is a timestamp representing the server time when this object was created.'),
    deletionGracePeriodSeconds: { type: 'integer', format: 'int64', description: 'Number of seconds allowed for this object to gracefully terminate.' },
    deletionTimestamp: timestamp('DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.'),
    finalizers: { type: 'array', items: { type: 'string', default: '' }, description: 'Must be empty before the object is deleted from the registry.' },
    generateName: string('GenerateName is an optional prefix, used by the server, to generate a unique name.'),
    generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state.' },
    labels: stringMap('Map of string keys and values that can be used to organize and categorize objects.'),
    managedFields: opaqueList('ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.'),
    name: string('Name must be unique within a namespace.'),
    namespace: string('Namespace defines the space within which each name must be unique.'),
    ownerReferences: opaqueList('List of objects depended by this object.'),
    resourceVersion: string('An opaque value that represents the internal version of this object.'),
    selfLink: string('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
    uid: string('UID is the unique in time and space value for this object.'),
  },
};

function pathFor(info: ResourceInfo): string {
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  return info.namespaced ? `${base}/namespaces/{namespace}/${info.resource}/{name}` : `${base}/${info.resource}/{name}`;
}

/** The document of one group-version (`api/v1`, `apis/apps/v1`), or undefined. */
export function openApiV3Document(groupVersionPath: string, all: readonly ResourceInfo[] = RESOURCES) {
  const infos = all.filter((i) => (i.group === '' ? `api/${i.version}` : `apis/${i.group}/${i.version}`) === groupVersionPath);
  if (infos.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { [OBJECT_META_NAME]: OBJECT_META };
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
    schemas[schemaName(info)] = kindSchema(info, 'v3');
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
 * `x-kubernetes-group-version-kind` as Kubernetes does. Served as JSON, and
 * as gnostic protobuf (openapi-protobuf.ts) for kubectl, which reads it to
 * validate the items of a `kind: List` (and whenever /openapi/v3 is missing).
 */
export function openApiV2Document() {
  const paths: Record<string, unknown> = {};
  const definitions: Record<string, unknown> = { [OBJECT_META_NAME]: OBJECT_META };
  for (const info of RESOURCES) {
    const ref = { $ref: `#/definitions/${schemaName(info)}` };
    const gvkTag = gvk(info)[0];
    definitions[schemaName(info)] = kindSchema(info, 'v2');
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
        // Strategic merge is accepted but not offered, as in the v3 documents: kubectl would compute its
        // apply patch from these shallow schemas (no merge keys) instead of from its compiled-in types.
        consumes: ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'],
        parameters: [{ name: 'body', in: 'body', required: true, schema: { type: 'object' } }, { name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true }],
      }),
      delete: op('delete', 'delete'),
    };
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0-kubethreads' }, paths, definitions };
}

/** The /openapi/v3 index. The hash changes only when the served types change, so kubectl's cache stays valid. */
export function openApiV3Index(hash: string, infos: readonly ResourceInfo[] = RESOURCES) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions(infos)) {
    const path = gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

export { apiVersionOf };
