/**
 * Decoding of the Kubernetes protobuf envelope that kubectl's imperative
 * `create` generators POST (`kubectl create namespace|configmap|secret|
 * deployment ...`): the magic `k8s\0`, then a runtime.Unknown whose `raw`
 * field is the object's protobuf. A small schema per type turns it into the
 * same JSON the API would have received; a type without a schema is a 415.
 * Field numbers are those of k8s.io/api's generated.proto.
 */
import { ApiError, apiErrors } from '../errors.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
/** Nesting bound: the schemas are at most ~8 deep; a deeper body is malformed or hostile. */
const DEPTH_MAX = 32;

/** Fields that are pointers in the Go types: a zero there was set on purpose. */
const KEEP_ZERO = new Set(['replicas', 'intVal', 'type', 'parallelism', 'completions', 'backoffLimit', 'startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit']);

type Scalar = 'string' | 'int' | 'bool' | 'bytes64' | 'quantity';
type FieldType = Scalar | Schema | { map: Scalar } | { repeated: Scalar | Schema };
interface Schema { [field: number]: [string, FieldType] }

interface Field { no: number; wire: number; value: bigint | Buffer }

function readVarint(buf: Buffer, pos: { at: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos.at >= buf.length) throw new Error('truncated varint');
    const b = buf[pos.at++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
  }
  throw new Error('varint too long');
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const tag = Number(readVarint(buf, pos));
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, value: readVarint(buf, pos) });
    else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      if (pos.at + len > buf.length) throw new Error('truncated field');
      out.push({ no, wire, value: buf.subarray(pos.at, pos.at + len) });
      pos.at += len;
    } else if (wire === 1) { pos.at += 8; } else if (wire === 5) { pos.at += 4; } else throw new Error(`unsupported wire type ${wire}`);
    if (pos.at > buf.length) throw new Error('truncated field');
  }
  return out;
}

function scalar(type: Scalar, f: Field): unknown {
  switch (type) {
    case 'string': return Buffer.isBuffer(f.value) ? f.value.toString('utf8') : '';
    case 'bytes64': return Buffer.isBuffer(f.value) ? f.value.toString('base64') : '';
    case 'int': return typeof f.value === 'bigint' ? Number(BigInt.asIntN(64, f.value)) : 0;
    case 'bool': return f.value !== 0n;
    // resource.Quantity is a message with its string form in field 1.
    case 'quantity': {
      if (!Buffer.isBuffer(f.value)) return '';
      const inner = fields(f.value).find((x) => x.no === 1);
      return inner !== undefined && Buffer.isBuffer(inner.value) ? inner.value.toString('utf8') : '';
    }
  }
}

function decode(buf: Buffer, schema: Schema, depth: number): Record<string, unknown> {
  if (depth > DEPTH_MAX) throw new Error('message nested too deep');
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const entry = schema[f.no];
    if (entry === undefined) continue;
    const [name, type] = entry;
    if (typeof type === 'string') {
      // Go's proto2 encoding writes zero values that JSON would omit; drop them (pointers such as replicas keep 0).
      const value = scalar(type, f);
      if (value === '' || value === false || (value === 0 && !KEEP_ZERO.has(name))) continue;
      out[name] = value;
    }
    else if ('map' in type) {
      const kv = decode(f.value as Buffer, { 1: ['k', 'string'], 2: ['v', type.map] }, depth + 1);
      const map = (out[name] ??= {}) as Record<string, unknown>;
      map[String(kv.k ?? '')] = kv.v ?? (type.map === 'string' || type.map === 'bytes64' || type.map === 'quantity' ? '' : 0);
    } else if ('repeated' in type) {
      const list = (out[name] ??= []) as unknown[];
      list.push(typeof type.repeated === 'string' ? scalar(type.repeated, f) : decode(f.value as Buffer, type.repeated as Schema, depth + 1));
    } else out[name] = decode(f.value as Buffer, type as Schema, depth + 1);
  }
  return out;
}

const OBJECT_META: Schema = {
  1: ['name', 'string'], 2: ['generateName', 'string'], 3: ['namespace', 'string'], 5: ['uid', 'string'], 6: ['resourceVersion', 'string'],
  11: ['labels', { map: 'string' }], 12: ['annotations', { map: 'string' }], 14: ['finalizers', { repeated: 'string' }],
  13: ['ownerReferences', { repeated: { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool'] } }],
};
const LABEL_SELECTOR: Schema = {
  1: ['matchLabels', { map: 'string' }],
  2: ['matchExpressions', { repeated: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', { repeated: 'string' }] } }],
};
const CONTAINER_PORT: Schema = { 1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] };
const ENV_VAR: Schema = { 1: ['name', 'string'], 2: ['value', 'string'] };
const RESOURCES: Schema = { 1: ['limits', { map: 'string' }], 2: ['requests', { map: 'string' }] };
const CONTAINER: Schema = {
  1: ['name', 'string'], 2: ['image', 'string'], 3: ['command', { repeated: 'string' }], 4: ['args', { repeated: 'string' }], 5: ['workingDir', 'string'],
  6: ['ports', { repeated: CONTAINER_PORT }], 7: ['env', { repeated: ENV_VAR }], 8: ['resources', RESOURCES], 14: ['imagePullPolicy', 'string'],
};
const POD_SPEC: Schema = {
  2: ['containers', { repeated: CONTAINER }], 3: ['restartPolicy', 'string'], 4: ['terminationGracePeriodSeconds', 'int'], 6: ['dnsPolicy', 'string'],
  7: ['nodeSelector', { map: 'string' }], 8: ['serviceAccountName', 'string'], 10: ['nodeName', 'string'], 20: ['initContainers', { repeated: CONTAINER }],
};
const POD_TEMPLATE: Schema = { 1: ['metadata', OBJECT_META], 2: ['spec', POD_SPEC] };
const INT_OR_STRING: Schema = { 1: ['type', 'int'], 2: ['intVal', 'int'], 3: ['strVal', 'string'] };
const JOB_SPEC: Schema = {
  1: ['parallelism', 'int'], 2: ['completions', 'int'], 3: ['activeDeadlineSeconds', 'int'], 4: ['selector', LABEL_SELECTOR], 5: ['manualSelector', 'bool'],
  6: ['template', POD_TEMPLATE], 7: ['backoffLimit', 'int'], 8: ['ttlSecondsAfterFinished', 'int'], 9: ['completionMode', 'string'], 10: ['suspend', 'bool'],
  14: ['podReplacementPolicy', 'string'],
};
const SERVICE_PORT: Schema = { 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', { 1: ['type', 'int'], 2: ['intVal', 'int'], 3: ['strVal', 'string'] }], 5: ['nodePort', 'int'] };

const POLICY_RULE: Schema = {
  1: ['verbs', { repeated: 'string' }], 2: ['apiGroups', { repeated: 'string' }], 3: ['resources', { repeated: 'string' }],
  4: ['resourceNames', { repeated: 'string' }], 5: ['nonResourceURLs', { repeated: 'string' }],
};
const ROLE_BINDING: Schema = {
  1: ['metadata', OBJECT_META],
  2: ['subjects', { repeated: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] } }],
  3: ['roleRef', { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] }],
};

const SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': { 1: ['metadata', OBJECT_META], 2: ['spec', { 1: ['finalizers', { repeated: 'string' }] }] },
  'v1/ConfigMap': { 1: ['metadata', OBJECT_META], 2: ['data', { map: 'string' }], 3: ['binaryData', { map: 'bytes64' }], 4: ['immutable', 'bool'] },
  // `kubectl create serviceaccount` and `kubectl create token` (a TokenRequest to serviceaccounts/NAME/token).
  'v1/ServiceAccount': {
    1: ['metadata', OBJECT_META],
    2: ['secrets', { repeated: { 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'] } }],
    3: ['imagePullSecrets', { repeated: { 1: ['name', 'string'] } }],
    4: ['automountServiceAccountToken', 'bool'],
  },
  'authentication.k8s.io/v1/TokenRequest': {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['audiences', { repeated: 'string' }], 3: ['boundObjectRef', { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] }], 4: ['expirationSeconds', 'int'] }],
  },
  'v1/Secret': { 1: ['metadata', OBJECT_META], 2: ['data', { map: 'bytes64' }], 3: ['type', 'string'], 4: ['stringData', { map: 'string' }], 5: ['immutable', 'bool'] },
  'v1/Service': {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['ports', { repeated: SERVICE_PORT }], 2: ['selector', { map: 'string' }], 3: ['clusterIP', 'string'], 4: ['type', 'string'], 10: ['externalName', 'string'] }],
  },
  'v1/Pod': { 1: ['metadata', OBJECT_META], 2: ['spec', POD_SPEC] },
  'v1/ResourceQuota': { 1: ['metadata', OBJECT_META], 2: ['spec', { 1: ['hard', { map: 'quantity' }], 2: ['scopes', { repeated: 'string' }] }] },
  'scheduling.k8s.io/v1/PriorityClass': { 1: ['metadata', OBJECT_META], 2: ['value', 'int'], 3: ['globalDefault', 'bool'], 4: ['description', 'string'], 5: ['preemptionPolicy', 'string'] },
  'rbac.authorization.k8s.io/v1/Role': { 1: ['metadata', OBJECT_META], 2: ['rules', { repeated: POLICY_RULE }] },
  'rbac.authorization.k8s.io/v1/ClusterRole': { 1: ['metadata', OBJECT_META], 2: ['rules', { repeated: POLICY_RULE }] },
  'rbac.authorization.k8s.io/v1/RoleBinding': ROLE_BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ROLE_BINDING,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: ['metadata', OBJECT_META],
    2: ['spec', {
      1: ['resourceAttributes', { 1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'], 5: ['resource', 'string'], 6: ['subresource', 'string'], 7: ['name', 'string'] }],
      2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }],
    }],
  },
  // `kubectl create job` (also `--from=cronjob/NAME`, which copies the CronJob's job template and sets an owner reference).
  'batch/v1/Job': { 1: ['metadata', OBJECT_META], 2: ['spec', JOB_SPEC] },
  'batch/v1/CronJob': {
    1: ['metadata', OBJECT_META],
    2: ['spec', {
      1: ['schedule', 'string'], 2: ['startingDeadlineSeconds', 'int'], 3: ['concurrencyPolicy', 'string'], 4: ['suspend', 'bool'],
      5: ['jobTemplate', { 1: ['metadata', OBJECT_META], 2: ['spec', JOB_SPEC] }], 6: ['successfulJobsHistoryLimit', 'int'], 7: ['failedJobsHistoryLimit', 'int'], 8: ['timeZone', 'string'],
    }],
  },
  'policy/v1/PodDisruptionBudget': {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['minAvailable', INT_OR_STRING], 2: ['selector', LABEL_SELECTOR], 3: ['maxUnavailable', INT_OR_STRING], 4: ['unhealthyPodEvictionPolicy', 'string'] }],
  },
  'apps/v1/Deployment': {
    1: ['metadata', OBJECT_META],
    2: ['spec', { 1: ['replicas', 'int'], 2: ['selector', LABEL_SELECTOR], 3: ['template', POD_TEMPLATE], 5: ['minReadySeconds', 'int'], 6: ['revisionHistoryLimit', 'int'], 7: ['paused', 'bool'], 9: ['progressDeadlineSeconds', 'int'] }],
  },
};

/** IntOrString from protobuf: type 0 is the int, 1 the string. */
function fixIntOrString(object: Record<string, unknown>): void {
  const spec = object.spec as { ports?: Record<string, unknown>[] } & Record<string, unknown> | undefined;
  for (const field of ['minAvailable', 'maxUnavailable']) {
    const t = spec?.[field] as { type?: number; intVal?: number; strVal?: string } | undefined;
    if (t !== undefined && spec !== undefined) spec[field] = t.type === 1 ? t.strVal ?? '' : t.intVal ?? 0;
  }
  for (const p of spec?.ports ?? []) {
    const t = p.targetPort as { type?: number; intVal?: number; strVal?: string } | undefined;
    if (t !== undefined) p.targetPort = t.type === 1 ? t.strVal ?? '' : t.intVal ?? 0;
  }
}

export function isProtobuf(contentType: string): boolean {
  return contentType.split(';')[0]!.trim() === PROTOBUF_CONTENT_TYPE;
}

/** Decodes a `k8s\0` + runtime.Unknown body to the object's JSON form; 400 on malformed bytes, 415 on types without a schema. */
export function decodeProtobufBody(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw apiErrors.badRequest('protobuf body: missing the k8s\\0 prefix');
  let unknown: Record<string, unknown>;
  let raw: Buffer | undefined;
  try {
    const top = fields(body.subarray(MAGIC.length));
    unknown = {};
    for (const f of top) {
      if (f.no === 1 && Buffer.isBuffer(f.value)) unknown.typeMeta = decode(f.value, { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }, 1);
      if (f.no === 2 && Buffer.isBuffer(f.value)) raw = f.value;
    }
  } catch (error) {
    throw apiErrors.badRequest(`protobuf body: ${(error as Error).message}`);
  }
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const schema = SCHEMAS[`${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`];
  if (schema === undefined || raw === undefined) {
    throw new ApiError(415, 'UnsupportedMediaType', `protobuf bodies are decoded for ${Object.keys(SCHEMAS).join(', ')} only; send ${typeMeta.apiVersion ?? '?'} ${typeMeta.kind ?? '?'} as JSON`);
  }
  let object: Record<string, unknown>;
  try {
    object = decode(raw, schema, 1);
  } catch (error) {
    throw apiErrors.badRequest(`protobuf body: ${(error as Error).message}`);
  }
  fixIntOrString(object);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...object };
}

