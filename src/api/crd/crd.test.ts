/**
 * CustomResourceDefinitions through the API handlers over an in-memory
 * store: the CRD's own validation, its conditions, the kind it serves
 * (schema, pruning, defaults, subresources, versions), and its deletion.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../errors.js';
import type { ApiRequest } from '../handlers.js';
import { startHandlers, tick } from '../testing.js';
import type { UserInfo } from '../auth.js';
import type { KubeObject, List } from '../types/index.js';
import type { CustomResourceDefinition } from './definition.js';

const admin: UserInfo = { name: 'admin', groups: ['system:masters'] };

export function echoCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: 'echoes.demo.kubethreads.io' },
    spec: {
      group: 'demo.kubethreads.io', scope: 'Namespaced',
      names: { plural: 'echoes', singular: 'echo', kind: 'Echo', shortNames: ['ec'] },
      versions: [
        {
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', required: ['message'], properties: {
                message: { type: 'string', maxLength: 40 },
                replicas: { type: 'integer', minimum: 0, maximum: 10, default: 1 },
                mode: { type: 'string', enum: ['loud', 'quiet'], default: 'quiet' },
              } },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' }, phase: { type: 'string' } } },
            },
          } },
          subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
          additionalPrinterColumns: [{ name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' }],
        },
        { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
      ],
    },
  };
}

describe('CustomResourceDefinitions through the API handlers', () => {
  let h: Awaited<ReturnType<typeof startHandlers>>;
  const call = (request: Partial<ApiRequest> & Pick<ApiRequest, 'verb' | 'resource'>) =>
    h.handlers.handle({ group: 'demo.kubethreads.io', version: 'v1', ...request }, admin);
  const failure = async (promise: Promise<unknown>) => promise.then(() => assert.fail('expected a failure'), (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    return error;
  });

  /** Lets the store's watch events reach the CRD controller and its reconciles finish (rounds of the event loop, no clock). */
  const drained = async () => {
    for (let i = 0; i < 20; i++) {
      await tick();
      await h.handlers.settle();
    }
  };

  before(async () => {
    h = await startHandlers(5);
  });
  after(() => h.handlers.stop());

  test('a CRD with two storage versions, a bad group and no schema is refused with every reason', async () => {
    const crd = echoCrd() as { spec: { group: string; versions: { storage: boolean; schema?: unknown }[] } };
    crd.spec.group = 'nodot';
    crd.spec.versions[1]!.storage = true;
    delete crd.spec.versions[0]!.schema;
    const error = await failure(h.handlers.handle({ verb: 'create', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', body: crd }, admin));
    assert.equal(error.code, 422);
    const fields = (error.status.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    assert.ok(fields.includes('spec.group: Invalid value: "nodot": should be a domain with at least one dot'), fields.join('\n'));
    assert.ok(fields.includes('spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required'), fields.join('\n'));
    assert.ok(fields.some((f) => f.startsWith('spec.versions: Invalid value:') && f.endsWith('must have exactly one version marked as storage version')), fields.join('\n'));
    assert.ok(fields.some((f) => f.startsWith('metadata.name: Invalid value: "echoes.demo.kubethreads.io": must be spec.names.plural+"."+spec.group')), fields.join('\n'));
  });

  test('a created CRD is stored under Kubernetes\' key, gets its names accepted and is established; its kind is then served', async () => {
    const created = await h.handlers.handle({ verb: 'create', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', body: echoCrd() }, admin);
    assert.equal(created.code, 201);
    assert.deepEqual((created.body as KubeObject).metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
    assert.equal((await h.kv.range('/registry/apiextensions.k8s.io/customresourcedefinitions/echoes.demo.kubethreads.io')).kvs.length, 1, 'Kubernetes\' key for a CRD');
    await drained();
    const crd = (await h.handlers.handle({ verb: 'get', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io' }, admin)).body as CustomResourceDefinition;
    assert.deepEqual(crd.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['NamesAccepted=True', 'Established=True']);
    assert.equal(crd.status?.acceptedNames?.listKind, 'EchoList');
    assert.deepEqual(crd.status?.storedVersions, ['v1']);
    assert.ok(h.handlers.crds.find('demo.kubethreads.io', 'v1', 'echoes'));
  });

  test('a custom object is defaulted, pruned and stored under /registry/<group>/<plural>/<namespace>/<name>', async () => {
    const created = await call({ verb: 'create', resource: 'echoes', namespace: 'default', body: { apiVersion: 'demo.kubethreads.io/v1', kind: 'Echo', metadata: { name: 'hello' }, spec: { message: 'hi', unknown: 1 }, status: { phase: 'ignored' } } });
    const object = created.body as KubeObject & { spec: Record<string, unknown>; status?: unknown };
    assert.deepEqual(object.spec, { message: 'hi', replicas: 1, mode: 'quiet' });
    assert.equal(object.status, undefined, 'status is written through /status only');
    const stored = await h.kv.range('/registry/demo.kubethreads.io/echoes/default/hello');
    assert.equal(stored.kvs.length, 1);
  });

  test('an invalid object names every field in Kubernetes words, 422 Invalid', async () => {
    const error = await failure(call({ verb: 'create', resource: 'echoes', namespace: 'default', body: { metadata: { name: 'bad' }, spec: { replicas: 20, mode: 'x' } } }));
    assert.equal(error.code, 422);
    assert.match(error.message, /^Echo\.demo\.kubethreads\.io "bad" is invalid: /);
    assert.match(error.message, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);
    assert.match(error.message, /spec\.mode: Unsupported value: "x": supported values: "loud", "quiet"/);
    assert.match(error.message, /spec\.message: Required value/);
  });

  test('status and main endpoint each keep the other half; generation moves on spec changes only', async () => {
    const current = (await call({ verb: 'get', resource: 'echoes', namespace: 'default', name: 'hello' })).body as KubeObject;
    assert.equal(current.metadata.generation, 1);
    const status = await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', subresource: 'status', patchType: 'merge', body: { spec: { message: 'nope' }, status: { phase: 'Ready', replicas: 1, selector: 'app=hello' } } });
    const afterStatus = status.body as KubeObject & { spec: { message: string }; status: { phase: string } };
    assert.equal(afterStatus.spec.message, 'hi');
    assert.equal(afterStatus.status.phase, 'Ready');
    assert.equal(afterStatus.metadata.generation, 1);
    const main = await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', patchType: 'merge', body: { spec: { message: 'hello' }, status: { phase: 'ignored' } } });
    const afterMain = main.body as KubeObject & { spec: { message: string }; status: { phase: string } };
    assert.equal(afterMain.spec.message, 'hello');
    assert.equal(afterMain.status.phase, 'Ready');
    assert.equal(afterMain.metadata.generation, 2);
  });

  test('strategic merge patch is 415; JSON patch works', async () => {
    const error = await failure(call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', patchType: 'strategic', body: { spec: { message: 'x' } } }));
    assert.equal(error.code, 415);
    const patched = await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', patchType: 'json', body: [{ op: 'replace', path: '/spec/mode', value: 'loud' }] });
    assert.equal((patched.body as unknown as { spec: { mode: string } }).spec.mode, 'loud');
  });

  test('the scale subresource reads and writes through the CRD\'s paths, and the schema bounds it', async () => {
    const scale = (await call({ verb: 'get', resource: 'echoes', namespace: 'default', name: 'hello', subresource: 'scale' })).body as unknown as { kind: string; spec: { replicas: number }; status: { replicas: number; selector: string } };
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector], ['Scale', 1, 1, 'app=hello']);
    await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', subresource: 'scale', patchType: 'merge', body: { spec: { replicas: 3 } } });
    const object = (await call({ verb: 'get', resource: 'echoes', namespace: 'default', name: 'hello' })).body as unknown as { spec: { replicas: number } };
    assert.equal(object.spec.replicas, 3);
    const error = await failure(call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', subresource: 'scale', patchType: 'merge', body: { spec: { replicas: 11 } } }));
    assert.equal(error.code, 422);
  });

  test('a change to the CRD\'s schema applies to the next write', async () => {
    await h.handlers.handle({
      verb: 'patch', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io', patchType: 'json',
      body: [{ op: 'replace', path: '/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/replicas/maximum', value: 20 }],
    }, admin);
    await drained();
    const scaled = await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', patchType: 'merge', body: { spec: { replicas: 15 } } });
    assert.equal((scaled.body as unknown as { spec: { replicas: number } }).spec.replicas, 15);
    await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'hello', patchType: 'merge', body: { spec: { replicas: 3 } } });
  });

  test('another served version reads and writes the same objects with its own apiVersion; the store keeps the storage version (conversion None)', async () => {
    const list = (await call({ verb: 'list', resource: 'echoes', version: 'v1beta1', namespace: 'default' })).body as List;
    assert.equal(list.apiVersion, 'demo.kubethreads.io/v1beta1');
    assert.deepEqual(list.items.map((i) => `${i.apiVersion} ${i.metadata.name}`), ['demo.kubethreads.io/v1beta1 hello']);
    const created = await call({ verb: 'create', resource: 'echoes', version: 'v1beta1', namespace: 'default', body: { apiVersion: 'demo.kubethreads.io/v1beta1', kind: 'Echo', metadata: { name: 'beta' }, spec: { message: 'b' } } });
    assert.equal((created.body as KubeObject).apiVersion, 'demo.kubethreads.io/v1beta1');
    const stored = await h.kv.range('/registry/demo.kubethreads.io/echoes/default/beta');
    assert.equal((JSON.parse(stored.kvs[0]!.value) as KubeObject).apiVersion, 'demo.kubethreads.io/v1');
    const viaV1 = (await call({ verb: 'get', resource: 'echoes', namespace: 'default', name: 'beta' })).body as KubeObject & { spec: Record<string, unknown> };
    assert.equal(viaV1.apiVersion, 'demo.kubethreads.io/v1');
    assert.deepEqual(viaV1.spec, { message: 'b', replicas: 1, mode: 'quiet' }, 'read through v1, the v1 schema\'s defaults apply');
    await call({ verb: 'delete', resource: 'echoes', namespace: 'default', name: 'beta' });
  });

  test('a second CRD whose kind is taken in its group gets NamesAccepted=False and is not served', async () => {
    const other = echoCrd() as { metadata: { name: string }; spec: { names: { plural: string; singular: string; kind: string; shortNames: string[] } } };
    other.metadata.name = 'echos.demo.kubethreads.io';
    other.spec.names = { plural: 'echos', singular: 'echoz', kind: 'Echo', shortNames: [] };
    await h.handlers.handle({ verb: 'create', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', body: other }, admin);
    await drained();
    const crd = (await h.handlers.handle({ verb: 'get', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echos.demo.kubethreads.io' }, admin)).body as CustomResourceDefinition;
    const accepted = crd.status?.conditions?.find((c) => c.type === 'NamesAccepted');
    assert.equal(accepted?.status, 'False');
    assert.equal(accepted?.message, '"Echo" is already in use');
    assert.equal(h.handlers.crds.find('demo.kubethreads.io', 'v1', 'echos'), undefined);
    await h.handlers.handle({ verb: 'delete', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echos.demo.kubethreads.io' }, admin);
    await drained();
  });

  test('deleting the CRD deletes its objects, then the CRD, and the kind is no longer served', async () => {
    await h.handlers.handle({ verb: 'delete', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io' }, admin);
    await drained();
    const left = await h.kv.range('/registry/demo.kubethreads.io/echoes/', { rangeEnd: '/registry/demo.kubethreads.io/echoes0' });
    assert.equal(left.kvs.length, 0);
    const error = await failure(h.handlers.handle({ verb: 'get', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io' }, admin));
    assert.equal(error.code, 404);
    assert.equal(h.handlers.crds.find('demo.kubethreads.io', 'v1', 'echoes'), undefined);
    const gone = await failure(call({ verb: 'list', resource: 'echoes', namespace: 'default' }));
    assert.equal(gone.code, 404);
  });

  test('objects held by their own finalizers keep a deleted CRD Terminating, refusing creates, until they go', async () => {
    await h.handlers.handle({ verb: 'create', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', body: echoCrd() }, admin);
    await drained();
    await call({ verb: 'create', resource: 'echoes', namespace: 'default', body: { metadata: { name: 'held', finalizers: ['example.com/hold'] }, spec: { message: 'm' } } });
    await h.handlers.handle({ verb: 'delete', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io' }, admin);
    await drained();
    const crd = (await h.handlers.handle({ verb: 'get', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io' }, admin)).body as CustomResourceDefinition;
    assert.deepEqual(crd.status?.conditions?.find((c) => c.type === 'Terminating')?.reason, 'InstanceDeletionInProgress');
    const refused = await failure(call({ verb: 'create', resource: 'echoes', namespace: 'default', body: { metadata: { name: 'late' }, spec: { message: 'm' } } }));
    assert.equal(refused.code, 405);
    assert.equal(refused.message, 'create not allowed while custom resource definition is terminating');
    await call({ verb: 'patch', resource: 'echoes', namespace: 'default', name: 'held', patchType: 'merge', body: { metadata: { finalizers: null } } });
    await h.handlers.crds.resync();
    await drained();
    const gone = await failure(h.handlers.handle({ verb: 'get', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name: 'echoes.demo.kubethreads.io' }, admin));
    assert.equal(gone.code, 404);
  });

  test('a cluster-scoped kind is served without namespaces and keyed by name alone', async () => {
    await h.handlers.handle({
      verb: 'create', group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions',
      body: {
        metadata: { name: 'regions.demo.kubethreads.io' },
        spec: {
          group: 'demo.kubethreads.io', scope: 'Cluster', names: { plural: 'regions', kind: 'Region' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { zone: { type: 'string' } } } } } } }],
        },
      },
    }, admin);
    await drained();
    await call({ verb: 'create', resource: 'regions', body: { metadata: { name: 'eu' }, spec: { zone: 'a' } } });
    assert.equal((await h.kv.range('/registry/demo.kubethreads.io/regions/eu')).kvs.length, 1);
    const namespaced = await failure(call({ verb: 'get', resource: 'regions', namespace: 'default', name: 'eu' }));
    assert.equal(namespaced.code, 404);
    const list = (await call({ verb: 'list', resource: 'regions' })).body as List;
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['eu']);
  });
});
