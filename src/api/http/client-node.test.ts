/**
 * `@kubernetes/client-node` (the official JavaScript client) against the
 * apiserver actor in its own thread, over HTTPS, with the kubeconfig the
 * actor hands out: list, create, patch, watch, and an informer that sees
 * adds, updates and deletes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, makeInformer, setHeaderOptions, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { ThreadedSystem } from '../../actor/index.js';
import { apiServer } from '../behaviour.js';
import type { ApiServerInfo, ApiServerMsg } from '../protocol.js';

/** Waits for a condition the server's events will make true; fails with `what` after `timeoutMs` (a bound on a hang, not a timing assertion). */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const pod = (name: string): V1Pod => ({ metadata: { name, labels: { app: 'client-node' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } });

describe('@kubernetes/client-node against the apiserver actor', () => {
  let system: ThreadedSystem;
  let kc: KubeConfig;
  let core: CoreV1Api;

  before(async () => {
    system = new ThreadedSystem({ seed: 3, logLevel: 'silent' });
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: { port: 0 } } });
    const info = await system.ref<ApiServerMsg>('apiserver').ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 20_000 });
    kc = new KubeConfig();
    kc.loadFromString(info.kubeconfig!);
    core = kc.makeApiClient(CoreV1Api);
  });

  after(async () => {
    await system.shutdown();
  });

  test('list, create and patch pods; a watch sees the creation and the change', async () => {
    const namespace = 'default';
    const before = await core.listNamespacedPod({ namespace });
    assert.deepEqual(before.items, []);
    const events: string[] = [];
    const watch = await new Watch(kc).watch(`/api/v1/namespaces/${namespace}/pods`, { resourceVersion: before.metadata!.resourceVersion }, (phase, object: V1Pod) => {
      events.push(`${phase} ${object.metadata?.name} ${object.metadata?.labels?.tier ?? '-'}`);
    }, () => undefined);

    const created = await core.createNamespacedPod({ namespace, body: pod('web-0') });
    assert.ok(created.metadata?.uid, 'the server stamped a uid');
    assert.equal(created.status?.phase, 'Pending');
    const patched = await core.patchNamespacedPod({ namespace, name: 'web-0', body: { metadata: { labels: { tier: 'front' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.equal(patched.metadata?.labels?.tier, 'front');
    assert.equal(patched.metadata?.labels?.app, 'client-node', 'a merge patch keeps the other labels');

    const listed = await core.listNamespacedPod({ namespace, labelSelector: 'tier=front' });
    assert.deepEqual(listed.items.map((p) => p.metadata?.name), ['web-0']);
    await until('the watch events', () => events.length >= 2);
    assert.deepEqual(events, ['ADDED web-0 -', 'MODIFIED web-0 front']);
    watch.abort();

    const missing = await core.readNamespacedPod({ namespace, name: 'nope' }).then(() => undefined, (error: { code?: number; body?: string }) => error);
    assert.equal(missing?.code, 404);
    assert.equal(JSON.parse(missing!.body!).reason, 'NotFound', 'errors come back as Kubernetes Status objects');
  });

  test('an informer sees adds, updates and deletes and its cache follows them', async () => {
    const namespace = 'default';
    const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, () => core.listNamespacedConfigMap({ namespace }));
    const seen: string[] = [];
    informer.on('add', (cm) => seen.push(`add ${cm.metadata?.name}`));
    informer.on('update', (cm) => seen.push(`update ${cm.metadata?.name} ${cm.data?.k}`));
    informer.on('delete', (cm) => seen.push(`delete ${cm.metadata?.name}`));
    informer.on('error', (error: unknown) => seen.push(`error ${String(error)}`));
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before-start' }, data: { k: '0' } } });
    await informer.start();
    try {
      await until('the initial list', () => seen.includes('add before-start'));
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'settings' }, data: { k: '1' } } });
      await until('the add', () => informer.get('settings', namespace) !== undefined);
      await core.replaceNamespacedConfigMap({ namespace, name: 'settings', body: { metadata: { name: 'settings' }, data: { k: '2' } } });
      await until('the update', () => informer.get('settings', namespace)?.data?.k === '2');
      await core.deleteNamespacedConfigMap({ namespace, name: 'settings' });
      await until('the delete', () => informer.get('settings', namespace) === undefined);
      assert.deepEqual(seen, ['add before-start', 'add settings', 'update settings 2', 'delete settings']);
      assert.deepEqual(informer.list().map((cm) => cm.metadata?.name), ['before-start']);
    } finally {
      await informer.stop();
    }
  });

  test('a ServiceAccount token from TokenRequest authenticates against the actor as the account, which RBAC then judges', async () => {
    const namespace = 'default';
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'client' } } });
    const issued = await core.createNamespacedServiceAccountToken({ namespace, name: 'client', body: { spec: { audiences: [] } } });
    const token = issued.status?.token ?? '';
    assert.equal(token.split('.').length, 3, 'a JWT');
    const asAccount = new KubeConfig();
    asAccount.loadFromOptions({
      clusters: kc.getClusters(), users: [{ name: 'client', token }], contexts: [{ name: 'sa', cluster: kc.getCurrentCluster()!.name, user: 'client' }], currentContext: 'sa',
    });
    const refused = await asAccount.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace }).then(() => undefined, (error: { code?: number; body?: string }) => error);
    assert.equal(refused?.code, 403);
    assert.equal(JSON.parse(refused!.body!).message, 'configmaps is forbidden: User "system:serviceaccount:default:client" cannot list resource "configmaps" in API group "" in the namespace "default"');
  });
});
