import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kindShape, parseFieldValidation, strictDecodingError, unknownFields, withoutUnknownFields } from './field-validation.js';
import { openApiV3Document } from './http/openapi.js';
import { RESOURCES } from './resources.js';
import { ADMIN, seededRandom, startHandlers } from './testing.js';
import { ApiError } from './errors.js';
import type { Deployment } from './types/index.js';

/** A Deployment as `get -o yaml` prints one: every field set by the server, status included. */
const fullDeployment = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', uid: 'u', resourceVersion: '7', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '2' }, managedFields: [{ manager: 'a-client' }] },
  spec: {
    replicas: 3, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, minReadySeconds: 0, paused: false,
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [{
          name: 'web', image: 'nginx', imagePullPolicy: 'Always', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
          env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          resources: { requests: { cpu: '100m' } }, readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
          terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
          securityContext: { anything: { goes: 'here' } },
        }],
        initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }],
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
        volumes: [{ name: 'v', emptyDir: {}, someFutureSource: {} }],
        affinity: { nodeAffinity: { whatever: true } },
        dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30,
      },
    },
  },
  status: { replicas: 3, readyReplicas: 3, conditions: [{ type: 'Available', status: 'True' }], somethingNew: 1 },
};

describe('field validation', () => {
  test('a full Deployment has no unknown field; open parts (volumes, affinity, security contexts, status) are not checked', () => {
    assert.deepEqual(unknownFields(fullDeployment, kindShape('Deployment')), []);
  });

  test('typos are named with Kubernetes\' paths, through lists', () => {
    const base = structuredClone(fullDeployment);
    const container = base.spec.template.spec.containers[0]!;
    Object.assign(base.metadata, { lables: { a: 'b' } });
    Object.assign(container, { imagePullPolcy: 'Always' });
    Object.assign(container.ports[0]!, { contanerPort: 81 });
    Object.assign(base.spec.template.spec.tolerations[0]!, { efect: 'NoSchedule' });
    Object.assign(base.spec, { replcas: 2 });
    const typos = { ...base, spce: {} };
    assert.deepEqual(unknownFields(typos, kindShape('Deployment')), [
      'metadata.lables', 'spec.template.spec.containers[0].ports[0].contanerPort', 'spec.template.spec.containers[0].imagePullPolcy', 'spec.template.spec.tolerations[0].efect', 'spec.replcas', 'spce',
    ]);
    assert.equal(strictDecodingError(['spec.replcas', 'spce']), 'strict decoding error: unknown field "spec.replcas", unknown field "spce"');
  });

  test('strategic-merge-patch directives are not fields', () => {
    const patch = { spec: { template: { spec: { $setElementOrder: [], containers: [{ name: 'web', $patch: 'delete' }] } } }, $retainKeys: ['spec'] };
    assert.deepEqual(unknownFields(patch, kindShape('Deployment')), []);
  });

  test('dropping unknown fields keeps everything else, directives included', () => {
    const input = { kind: 'ConfigMap', metadata: { name: 'c', lables: {} }, data: { a: '1' }, datta: { b: '2' }, $patch: 'replace' };
    assert.deepEqual(withoutUnknownFields(input, kindShape('ConfigMap')), { kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' }, $patch: 'replace' });
  });

  test('every kind\'s top-level fields are those its OpenAPI schema publishes', () => {
    for (const info of RESOURCES) {
      const doc = openApiV3Document(info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`) as { components: { schemas: Record<string, { properties: Record<string, unknown>; 'x-kubernetes-group-version-kind'?: Array<{ kind: string }> }> } };
      const schema = Object.values(doc.components.schemas).find((s) => s['x-kubernetes-group-version-kind']?.[0]?.kind === info.kind);
      assert.ok(schema !== undefined, `a schema for ${info.kind}`);
      const shape = kindShape(info.kind);
      assert.ok(typeof shape === 'object' && 'fields' in shape);
      assert.deepEqual(Object.keys(shape.fields).sort(), Object.keys(schema.properties).sort(), info.kind);
    }
  });

  test('fieldValidation takes Strict, Warn or Ignore; anything else is an error that lists them', () => {
    assert.equal(parseFieldValidation('Strict'), 'Strict');
    assert.equal(parseFieldValidation(null), undefined);
    assert.throws(() => parseFieldValidation('strict'), /one of Strict, Warn or Ignore/);
  });
});

describe('the API server under each fieldValidation', () => {
  const target = { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default' };
  const withTypo = (name: string) => ({ ...structuredClone(fullDeployment), metadata: { name, namespace: 'default' }, status: undefined, spec: { ...structuredClone(fullDeployment.spec), replcas: 5 } });

  test('Strict: 400 with Kubernetes\' strict decoding error, nothing written', async () => {
    const { handlers, registry } = await startHandlers();
    const info = handlers.info('apps', 'v1', 'deployments');
    await assert.rejects(handlers.handle({ verb: 'create', ...target, body: withTypo('strict'), query: { fieldValidation: 'Strict' } }, ADMIN), (error: unknown) => {
      assert.ok(error instanceof ApiError && error.code === 400, String(error));
      assert.equal(error.message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replcas"');
      return true;
    });
    await assert.rejects(registry.get(info, 'default', 'strict'), /not found/);
  });

  test('Warn (the default): written without the unknown field, a warning per field; Ignore: the same, silently', async () => {
    const { handlers, registry } = await startHandlers();
    const info = handlers.info('apps', 'v1', 'deployments');
    const warned = await handlers.handle({ verb: 'create', ...target, body: withTypo('warned') }, ADMIN);
    assert.deepEqual(warned.warnings, ['unknown field "spec.replcas"']);
    const ignored = await handlers.handle({ verb: 'create', ...target, body: withTypo('ignored'), query: { fieldValidation: 'Ignore' } }, ADMIN);
    assert.equal(ignored.warnings, undefined);
    for (const name of ['warned', 'ignored']) {
      const stored = (await registry.get(info, 'default', name)) as unknown as { spec: Record<string, unknown> };
      assert.equal('replcas' in stored.spec, false, `${name}: the unknown field is not stored`);
      assert.equal(stored.spec.replicas, 3);
    }
    // A merge patch is checked the same way.
    const patched = await handlers.handle({ verb: 'patch', ...target, name: 'warned', patchType: 'merge', body: { spec: { replicas: 4, replcas: 9 } } }, ADMIN);
    assert.deepEqual(patched.warnings, ['unknown field "spec.replcas"']);
    assert.equal((patched.body as Deployment).spec?.replicas, 4);
  });
});

/** unknownFields as it was written before its walk kept a stack of keys: a path text built for every field. */
function unknownFieldsByText(value: unknown, shape: ReturnType<typeof kindShape>, path = ''): string[] {
  if (shape === 'open' || value === null || typeof value !== 'object') return [];
  if ('items' in shape) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) => unknownFieldsByText(item, shape.items, `${path}[${i}]`));
  }
  if (Array.isArray(value)) return [];
  const found: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key.startsWith('$')) continue;
    const at = path === '' ? key : `${path}.${key}`;
    const childShape = shape.fields[key];
    if (childShape === undefined) found.push(at);
    else found.push(...unknownFieldsByText(child, childShape, at));
  }
  return found;
}

test('unknownFields finds the same paths, in the same order, as the walk that built a path per field, for 2,000 bodies with stray fields', () => {
  const random = seededRandom(7);
  const stray = (value: unknown, depth: number): unknown => {
    if (Array.isArray(value)) return value.map((v) => stray(v, depth + 1));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (random() < 0.1) out[`stray${depth}`] = random() < 0.5 ? 1 : { nested: [1, { x: 2 }] };
      if (random() < 0.95) out[k] = stray(v, depth + 1);
    }
    if (random() < 0.05) out.$patch = 'merge';
    if (random() < 0.05) out[''] = 'empty key';
    return out;
  };
  const shape = kindShape('Deployment');
  let withFinds = 0;
  for (let i = 0; i < 2_000; i++) {
    const body = stray(fullDeployment, 0);
    const expected = unknownFieldsByText(body, shape);
    if (expected.length > 0) withFinds++;
    assert.deepEqual(unknownFields(body, shape), expected);
    assert.deepEqual(unknownFields(body, shape, 'prefix'), unknownFieldsByText(body, shape, 'prefix'));
  }
  assert.ok(withFinds > 1_000 && withFinds < 2_000, `${withFinds} of 2,000 bodies had a stray field`);
});
