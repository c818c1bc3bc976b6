/**
 * Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`, what
 * kubectl sends since 1.27): which fields of a written object this server
 * does not know. Strict rejects the write with Kubernetes' `strict decoding
 * error: unknown field "spec.replcas"`; Warn (the default without the
 * parameter, as in Kubernetes) answers with a warning per field; Ignore says
 * nothing.
 *
 * Kubernetes knows every field of every type. Here the shapes below are
 * complete (Kubernetes 1.32) for what people write by hand — the top level
 * of every kind, ObjectMeta, Deployment, ReplicaSet, Job, CronJob and
 * PodDisruptionBudget specs, pod templates,
 * pod specs, containers and their ports, env, probes and resources, Service
 * specs and ports — and open below that (volumes, affinity, security
 * contexts, statuses): a typo there passes, never a valid field fails.
 * Under Warn and Ignore the unknown fields are dropped before the write, as
 * Kubernetes' decoder drops them.
 */
import { apiErrors } from './errors.js';

/** What a value at some path may hold: an object with these fields, a list of such, or anything. */
export type FieldShape = { fields: Readonly<Record<string, FieldShape>> } | { items: FieldShape } | 'open';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

const OPEN = 'open' as const;
const obj = (fields: Record<string, FieldShape>): FieldShape => ({ fields });
const list = (item: FieldShape): FieldShape => ({ items: item });
/** Fields whose values are not checked further. */
const leaves = (...names: string[]): Record<string, FieldShape> => Object.fromEntries(names.map((n) => [n, OPEN]));

export const OBJECT_META: FieldShape = obj(leaves(
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
));

const LABEL_SELECTOR = obj({ matchLabels: OPEN, matchExpressions: list(obj(leaves('key', 'operator', 'values'))) });

const PROBE = obj(leaves('exec', 'httpGet', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'));

const CONTAINER = obj({
  ...leaves('name', 'image', 'command', 'args', 'workingDir', 'envFrom', 'resizePolicy', 'restartPolicy', 'volumeMounts', 'volumeDevices',
    'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty'),
  ports: list(obj(leaves('name', 'hostPort', 'containerPort', 'protocol', 'hostIP'))),
  env: list(obj(leaves('name', 'value', 'valueFrom'))),
  resources: obj(leaves('limits', 'requests', 'claims')),
  livenessProbe: PROBE,
  readinessProbe: PROBE,
  startupProbe: PROBE,
});

const POD_SPEC = obj({
  ...leaves('volumes', 'ephemeralContainers', 'restartPolicy', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector',
    'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken', 'nodeName', 'hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace',
    'securityContext', 'imagePullSecrets', 'hostname', 'subdomain', 'affinity', 'schedulerName', 'hostAliases', 'priorityClassName', 'priority',
    'dnsConfig', 'readinessGates', 'runtimeClassName', 'enableServiceLinks', 'preemptionPolicy', 'overhead', 'topologySpreadConstraints',
    'setHostnameAsFQDN', 'os', 'hostUsers', 'schedulingGates', 'resourceClaims', 'resources'),
  containers: list(CONTAINER),
  initContainers: list(CONTAINER),
  tolerations: list(obj(leaves('key', 'operator', 'value', 'effect', 'tolerationSeconds'))),
});

const POD_TEMPLATE = obj({ metadata: OBJECT_META, spec: POD_SPEC });

const SERVICE_SPEC = obj({
  ...leaves('selector', 'clusterIP', 'clusterIPs', 'type', 'externalIPs', 'sessionAffinity', 'loadBalancerIP', 'loadBalancerSourceRanges', 'externalName',
    'externalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses', 'sessionAffinityConfig', 'ipFamilies', 'ipFamilyPolicy',
    'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'internalTrafficPolicy', 'trafficDistribution'),
  ports: list(obj(leaves('name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'))),
});

const DEPLOYMENT_SPEC = obj({
  ...leaves('replicas', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'),
  selector: LABEL_SELECTOR,
  template: POD_TEMPLATE,
  strategy: obj({ type: OPEN, rollingUpdate: obj(leaves('maxUnavailable', 'maxSurge')) }),
});

const REPLICA_SET_SPEC = obj({ ...leaves('replicas', 'minReadySeconds'), selector: LABEL_SELECTOR, template: POD_TEMPLATE });

const STATEFUL_SET_SPEC = obj({
  ...leaves('replicas', 'serviceName', 'podManagementPolicy', 'revisionHistoryLimit', 'minReadySeconds', 'persistentVolumeClaimRetentionPolicy', 'ordinals'),
  selector: LABEL_SELECTOR,
  template: POD_TEMPLATE,
  volumeClaimTemplates: list(obj({ ...leaves('apiVersion', 'kind', 'spec', 'status'), metadata: OBJECT_META })),
  updateStrategy: obj({ type: OPEN, rollingUpdate: obj(leaves('partition', 'maxUnavailable')) }),
});

const DAEMON_SET_SPEC = obj({
  ...leaves('minReadySeconds', 'revisionHistoryLimit'),
  selector: LABEL_SELECTOR,
  template: POD_TEMPLATE,
  updateStrategy: obj({ type: OPEN, rollingUpdate: obj(leaves('maxUnavailable', 'maxSurge')) }),
});

const JOB_SPEC = obj({
  ...leaves('parallelism', 'completions', 'activeDeadlineSeconds', 'podFailurePolicy', 'successPolicy', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes',
    'manualSelector', 'ttlSecondsAfterFinished', 'completionMode', 'suspend', 'podReplacementPolicy', 'managedBy'),
  selector: LABEL_SELECTOR,
  template: POD_TEMPLATE,
});

const CRON_JOB_SPEC = obj({
  ...leaves('schedule', 'timeZone', 'startingDeadlineSeconds', 'concurrencyPolicy', 'suspend', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'),
  jobTemplate: obj({ metadata: OBJECT_META, spec: JOB_SPEC }),
});

const PDB_SPEC = obj({ ...leaves('minAvailable', 'maxUnavailable', 'unhealthyPodEvictionPolicy'), selector: LABEL_SELECTOR });

/** The fields besides apiVersion, kind and metadata, per kind; a kind not listed has `spec` and `status`. */
const KIND_FIELDS: Readonly<Record<string, Record<string, FieldShape>>> = {
  Pod: { spec: POD_SPEC, status: OPEN },
  Service: { spec: SERVICE_SPEC, status: OPEN },
  Deployment: { spec: DEPLOYMENT_SPEC, status: OPEN },
  ReplicaSet: { spec: REPLICA_SET_SPEC, status: OPEN },
  StatefulSet: { spec: STATEFUL_SET_SPEC, status: OPEN },
  DaemonSet: { spec: DAEMON_SET_SPEC, status: OPEN },
  ControllerRevision: leaves('data', 'revision'),
  Job: { spec: JOB_SPEC, status: OPEN },
  CronJob: { spec: CRON_JOB_SPEC, status: OPEN },
  PodDisruptionBudget: { spec: PDB_SPEC, status: OPEN },
  Lease: { spec: OPEN },
  ConfigMap: leaves('data', 'binaryData', 'immutable'),
  Secret: leaves('data', 'stringData', 'type', 'immutable'),
  ValidatingWebhookConfiguration: leaves('webhooks'),
  MutatingWebhookConfiguration: leaves('webhooks'),
  ServiceAccount: leaves('secrets', 'imagePullSecrets', 'automountServiceAccountToken'),
  Event: leaves('action', 'count', 'eventTime', 'firstTimestamp', 'involvedObject', 'lastTimestamp', 'message', 'reason', 'related',
    'reportingComponent', 'reportingInstance', 'series', 'source', 'type'),
  Endpoints: leaves('subsets'),
  EndpointSlice: leaves('addressType', 'endpoints', 'ports'),
  Role: leaves('rules'),
  ClusterRole: leaves('rules', 'aggregationRule'),
  RoleBinding: leaves('roleRef', 'subjects'),
  ClusterRoleBinding: leaves('roleRef', 'subjects'),
  PriorityClass: leaves('value', 'globalDefault', 'description', 'preemptionPolicy'),
};

const kindShapes = new Map<string, FieldShape>();

/** The whole shape of one kind's objects (built once: every write is checked against it). */
export function kindShape(kind: string): FieldShape {
  let shape = kindShapes.get(kind);
  if (shape === undefined) {
    shape = obj({ apiVersion: OPEN, kind: OPEN, metadata: OBJECT_META, ...(KIND_FIELDS[kind] ?? { spec: OPEN, status: OPEN }) });
    kindShapes.set(kind, shape);
  }
  return shape;
}

/**
 * The unknown fields of `value` against `shape`, as Kubernetes names them
 * (`spec.template.spec.containers[0].imagee`). Keys starting with `$` are
 * strategic-merge-patch directives, not fields.
 */
export function unknownFields(value: unknown, shape: FieldShape, path = ''): string[] {
  const found: string[] = [];
  collectUnknown(value, shape, path === '' ? [] : [path], found);
  return found;
}

/**
 * unknownFields' walk: the path is a stack of keys and indices, written out only for a field found
 * unknown (every write's body is walked, and almost every field is known: a path text per field
 * was most of what validation allocated).
 */
function collectUnknown(value: unknown, shape: FieldShape, at: (string | number)[], found: string[]): void {
  if (shape === OPEN || value === null || typeof value !== 'object') return;
  if ('items' in shape) {
    if (!Array.isArray(value)) return;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue; // as flatMap, holes are skipped
      at.push(i);
      collectUnknown(value[i], shape.items, at, found);
      at.pop();
    }
    return;
  }
  if (Array.isArray(value)) return;
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (!Object.hasOwn(object, key) || key.startsWith('$')) continue;
    const childShape = shape.fields[key];
    at.push(key);
    if (childShape === undefined) found.push(pathText(at));
    else collectUnknown(object[key], childShape, at, found);
    at.pop();
  }
}

/** `a.b[0].c`: keys joined by dots, indices in brackets. */
function pathText(at: readonly (string | number)[]): string {
  let text = '';
  for (const part of at) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  return text;
}

/** A copy of `value` without the fields `unknownFields` reports (what Kubernetes' decoder drops). */
export function withoutUnknownFields(value: unknown, shape: FieldShape): unknown {
  if (shape === OPEN || value === null || typeof value !== 'object') return value;
  if ('items' in shape) return Array.isArray(value) ? value.map((item) => withoutUnknownFields(item, shape.items)) : value;
  if (Array.isArray(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childShape = shape.fields[key];
    if (key.startsWith('$')) kept[key] = child;
    else if (childShape !== undefined) kept[key] = withoutUnknownFields(child, childShape);
  }
  return kept;
}

/** `fieldValidation` as a query gives it; anything else is a 400 (BadRequest), as in Kubernetes. */
export function parseFieldValidation(value: string | null | undefined): FieldValidation | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw apiErrors.badRequest(`fieldValidation must be one of Strict, Warn or Ignore, not ${JSON.stringify(value)}`);
}

/** Kubernetes' text for the unknown fields of a strict decode. */
export function strictDecodingError(paths: readonly string[]): string {
  return `strict decoding error: ${paths.map((p) => `unknown field "${p}"`).join(', ')}`;
}
