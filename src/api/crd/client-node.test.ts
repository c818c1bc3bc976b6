/**
 * `@kubernetes/client-node` against the apiserver actor in its own thread,
 * with a CustomResourceDefinition: the CRD through ApiextensionsV1Api,
 * custom objects through CustomObjectsApi with label and field selectors,
 * pagination, a watch from a list's resourceVersion, and a 422 whose
 * Status names the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { ThreadedSystem } from '../../actor/index.js';
import { apiServer } from '../behaviour.js';
import type { ApiServerInfo, ApiServerMsg } from '../protocol.js';

const GROUP = 'stable.example.com';

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Widget { metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> }; spec: { size: number } }
interface WidgetList { metadata: { resourceVersion: string; continue?: string }; items: Widget[] }

describe('@kubernetes/client-node with a CustomResourceDefinition', () => {
  let system: ThreadedSystem;
  let kc: KubeConfig;
  let custom: CustomObjectsApi;

  before(async () => {
    system = new ThreadedSystem({ seed: 4, logLevel: 'silent' });
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: { port: 0 } } });
    const info = await system.ref<ApiServerMsg>('apiserver').ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 20_000 });
    kc = new KubeConfig();
    kc.loadFromString(info.kubeconfig!);
    custom = kc.makeApiClient(CustomObjectsApi);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    await extensions.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${GROUP}` },
        spec: {
          group: GROUP, scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } } } } }],
        },
      },
    });
    await until('the CRD to be established', async () => {
      const crd = await extensions.readCustomResourceDefinition({ name: `widgets.${GROUP}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    });
  });

  after(async () => {
    await system.shutdown();
  });

  const create = (name: string, size: number, color: string) => custom.createNamespacedCustomObject({
    group: GROUP, version: 'v1', namespace: 'default', plural: 'widgets',
    body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name, labels: { color } }, spec: { size } },
  });
  const list = (options: { labelSelector?: string; fieldSelector?: string; limit?: number; _continue?: string } = {}) =>
    custom.listNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'default', plural: 'widgets', ...options }) as Promise<WidgetList>;

  test('created objects list with label and field selectors, and page with limit and continue', async () => {
    for (const [name, color] of [['a', 'red'], ['b', 'blue'], ['c', 'red']] as const) await create(name, 1, color);
    assert.deepEqual((await list({ labelSelector: 'color=red' })).items.map((w) => w.metadata.name), ['a', 'c']);
    assert.deepEqual((await list({ fieldSelector: 'metadata.name=b' })).items.map((w) => w.metadata.name), ['b']);
    const first = await list({ limit: 2 });
    assert.deepEqual(first.items.map((w) => w.metadata.name), ['a', 'b']);
    assert.ok(first.metadata.continue);
    const second = await list({ limit: 2, _continue: first.metadata.continue });
    assert.deepEqual(second.items.map((w) => w.metadata.name), ['c']);
  });

  test('a watch from the list\'s resourceVersion sees a change and a deletion', async () => {
    const start = await list();
    const events: string[] = [];
    const watch = await new Watch(kc).watch(`/apis/${GROUP}/v1/namespaces/default/widgets`, { resourceVersion: start.metadata.resourceVersion }, (phase, object: Widget) => {
      events.push(`${phase} ${object.metadata.name} ${object.spec.size}`);
    }, () => undefined);
    await custom.replaceNamespacedCustomObject({
      group: GROUP, version: 'v1', namespace: 'default', plural: 'widgets', name: 'a',
      body: { ...start.items[0], spec: { size: 5 } },
    });
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'default', plural: 'widgets', name: 'b' });
    await until('both events', () => events.length >= 2);
    watch.abort();
    assert.deepEqual(events, ['MODIFIED a 5', 'DELETED b 1']);
  });

  test('an object breaking the schema is a 422 whose Status names the field', async () => {
    const error = await create('tiny', 0, 'red').then(() => undefined, (e: { code?: number; body?: string }) => e);
    assert.equal(error?.code, 422);
    const status = JSON.parse(error!.body!) as { reason: string; details: { causes: { field: string; message: string }[] } };
    assert.equal(status.reason, 'Invalid');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldValueInvalid', field: 'spec.size', message: 'Invalid value: 0: spec.size in body should be greater than or equal to 1' }]);
  });
});
