import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from './errors.js';
import { findResource } from './resources.js';
import { Registry, storedTextOf } from './registry.js';
import { seededRandom, startHandlers } from './testing.js';
import type { KubeObject, Pod } from './types/index.js';

const pods = findResource('', 'v1', 'pods')!;
const services = findResource('', 'v1', 'services')!;
const deployments = findResource('apps', 'v1', 'deployments')!;

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] }, ...extra,
});

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
});

function rejectsWith(code: number, reason: string) {
  return (e: unknown) => e instanceof ApiError && e.code === code && e.reason === reason;
}

test('create stamps uid, creationTimestamp, generation 1 and resourceVersion = the mod revision of the stored key', async () => {
  const { registry, kv } = await startHandlers();
  const created = await registry.create(pods, 'default', pod('a')) as Pod;
  const stored = await kv.range('/registry/pods/default/a');
  assert.equal(created.metadata.resourceVersion, String(stored.kvs[0]!.modRevision));
  assert.match(created.metadata.uid!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(created.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(created.metadata.generation, 1);
  assert.equal(created.spec!.restartPolicy, 'Always', 'defaulted');
  assert.equal(created.spec!.containers[0]!.imagePullPolicy, 'IfNotPresent', 'tagged image defaults to IfNotPresent');
  assert.equal(created.status!.phase, 'Pending');
  assert.equal(JSON.parse(stored.kvs[0]!.value).metadata.resourceVersion, undefined, 'the stored JSON carries no resourceVersion');
});

test('a second create of the same name is 409 AlreadyExists; generateName picks a fresh name', async () => {
  const { registry } = await startHandlers();
  await registry.create(pods, 'default', pod('a'));
  await assert.rejects(registry.create(pods, 'default', pod('a')), rejectsWith(409, 'AlreadyExists'));
  const generated = await registry.create(pods, 'default', { ...pod('x'), metadata: { generateName: 'web-' } });
  assert.match(generated.metadata.name!, /^web-[a-z0-9]{5}$/);
});

test('an update with a stale resourceVersion is 409 Conflict and changes nothing; a fresh one bumps generation on spec change only', async () => {
  const { registry } = await startHandlers();
  const created = await registry.create(pods, 'default', pod('a'));
  const first = await registry.update(pods, 'default', 'a', { ...created, metadata: { ...created.metadata, labels: { app: 'db' } } });
  assert.equal(first.object.metadata.generation, 1, 'a label change is not a spec change');
  await assert.rejects(registry.update(pods, 'default', 'a', { ...created, metadata: { ...created.metadata, labels: { app: 'x' } } }), rejectsWith(409, 'Conflict'));
  const now = await registry.get(pods, 'default', 'a');
  assert.deepEqual(now.metadata.labels, { app: 'db' });
  const d = await registry.create(deployments, 'default', {
    metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  });
  const scaled = await registry.patch(deployments, 'default', 'd', 'merge', { spec: { replicas: 3 } });
  assert.equal(scaled.object.metadata.generation, 2);
  const statusOnly = await registry.patch(deployments, 'default', 'd', 'merge', { status: { replicas: 3 } }, { subresource: 'status' });
  assert.equal(statusOnly.object.metadata.generation, 2, 'status writes never bump generation');
  assert.equal((statusOnly.object.status as { replicas: number }).replicas, 3);
  const ignored = await registry.patch(deployments, 'default', 'd', 'merge', { status: { replicas: 9 } });
  assert.equal((ignored.object.status as { replicas: number }).replicas, 3, 'the main endpoint keeps the stored status');
  assert.ok(Number(d.metadata.resourceVersion) < Number(ignored.object.metadata.resourceVersion), `${d.metadata.resourceVersion} < ${ignored.object.metadata.resourceVersion}`);
});

test('invalid objects are 422 with causes naming the fields', async () => {
  const { registry } = await startHandlers();
  await assert.rejects(registry.create(pods, 'default', { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c' }] } }), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 422);
    const fields = e.status.details!.causes!.map((c) => c.field).sort();
    assert.deepEqual(fields, ['metadata.name', 'spec.containers[0].image']);
    return true;
  });
});

test('strategic merge patch merges containers by name and env by name', async () => {
  const { registry } = await startHandlers();
  await registry.create(deployments, 'default', {
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: 'b:1' }] } } },
  });
  const patched = await registry.patch(deployments, 'default', 'd', 'strategic', { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:2', env: [{ name: 'Y', value: '2' }] }] } } } });
  const containers = (patched.object.spec as { template: { spec: { containers: { name: string; image: string; env?: unknown[] }[] } } }).template.spec.containers;
  assert.deepEqual(containers.map((c) => [c.name, c.image]), [['a', 'a:2'], ['b', 'b:1']]);
  assert.deepEqual(containers[0]!.env, [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }]);
});

test('a scheduled pod is deleted gracefully: marked first, removed when the kubelet confirms with grace 0', async () => {
  const { registry } = await startHandlers();
  await registry.create(pods, 'default', pod('a'));
  await registry.bind(pods, 'default', 'a', { target: { name: 'node-1' } });
  await assert.rejects(registry.bind(pods, 'default', 'a', { target: { name: 'node-2' } }), rejectsWith(409, 'Conflict'));
  const marked = await registry.delete(pods, 'default', 'a');
  assert.equal(marked.deleted, false);
  assert.equal(marked.object.metadata.deletionGracePeriodSeconds, 30);
  assert.ok(marked.object.metadata.deletionTimestamp);
  const confirmed = await registry.delete(pods, 'default', 'a', { gracePeriodSeconds: 0 });
  assert.equal(confirmed.deleted, true);
  await assert.rejects(registry.get(pods, 'default', 'a'), rejectsWith(404, 'NotFound'));
});

test('finalizers hold a deleted object until the last one is removed', async () => {
  const { registry } = await startHandlers();
  const cm = findResource('', 'v1', 'configmaps')!;
  await registry.create(cm, 'default', { metadata: { name: 'c', finalizers: ['example.com/hold'] }, data: { a: 'b' } });
  const marked = await registry.delete(cm, 'default', 'c');
  assert.equal(marked.deleted, false);
  const updated = await registry.patch(cm, 'default', 'c', 'merge', { data: { a: 'z' } });
  assert.ok(updated.object.metadata.deletionTimestamp, 'still there while finalized');
  await registry.patch(cm, 'default', 'c', 'json', [{ op: 'remove', path: '/metadata/finalizers' }]);
  await assert.rejects(registry.get(cm, 'default', 'c'), rejectsWith(404, 'NotFound'));
});

test('services get distinct ClusterIPs and NodePorts claimed in the store; deleting releases them', async () => {
  const { registry, kv } = await startHandlers();
  const spec = { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80 }] };
  const a = await registry.create(services, 'default', { metadata: { name: 'a' }, spec });
  const b = await registry.create(services, 'default', { metadata: { name: 'b' }, spec });
  const ipA = (a.spec as { clusterIP: string }).clusterIP;
  assert.notEqual(ipA, (b.spec as { clusterIP: string }).clusterIP);
  assert.match(ipA, /^127\.96\.\d+\.\d+$/);
  assert.equal(JSON.stringify(a.spec).includes('__allocated'), false);
  const port = (a.spec as { ports: { nodePort: number }[] }).ports[0]!.nodePort;
  assert.ok(port >= 30000 && port <= 32767);
  assert.equal((await kv.range(`/registry/ranges/serviceips/${ipA}`)).count, 1);
  await assert.rejects(registry.create(services, 'default', { metadata: { name: 'c' }, spec: { ...spec, clusterIP: ipA } }), rejectsWith(422, 'Invalid'), 'a taken ClusterIP is refused');
  await registry.delete(services, 'default', 'a');
  assert.equal((await kv.range(`/registry/ranges/serviceips/${ipA}`)).count, 0);
});

test('server-side apply creates, then removes fields the manager stopped applying, and conflicts with another manager', async () => {
  const { registry } = await startHandlers();
  const cm = findResource('', 'v1', 'configmaps')!;
  const first = await registry.patch(cm, 'default', 'c', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } }, { fieldManager: 'alice', subresource: 'apply' });
  assert.equal(first.created, true);
  const second = await registry.patch(cm, 'default', 'c', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }, { fieldManager: 'alice', subresource: 'apply' });
  assert.deepEqual(second.object.data, { a: '1' }, 'b was released and removed');
  await assert.rejects(
    registry.patch(cm, 'default', 'c', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '9' } }, { fieldManager: 'bob', subresource: 'apply' }),
    (e: unknown) => e instanceof ApiError && e.code === 409 && /conflict with "alice"/.test(e.message),
  );
  const forced = await registry.patch(cm, 'default', 'c', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '9' } }, { fieldManager: 'bob', subresource: 'apply', force: true });
  assert.deepEqual(forced.object.data, { a: '9' });
});

test('paged lists return a consistent snapshot across pages via continue tokens', async () => {
  const { registry } = await startHandlers();
  for (const n of ['a', 'b', 'c', 'd', 'e']) await registry.create(pods, 'default', pod(n));
  const filter = { labels: [], fields: [] };
  const page1 = await registry.listFromStore(pods, 'default', filter, 2);
  assert.deepEqual(page1.items.map((p) => p.metadata.name), ['a', 'b']);
  await registry.create(pods, 'default', pod('bb'));
  const page2 = await registry.listFromStore(pods, 'default', filter, 2, page1.metadata.continue);
  assert.deepEqual(page2.items.map((p) => p.metadata.name), ['c', 'd'], 'bb, created after page 1, is not in the snapshot');
  const page3 = await registry.listFromStore(pods, 'default', filter, 2, page2.metadata.continue);
  assert.deepEqual(page3.items.map((p) => p.metadata.name), ['e']);
  assert.equal(page3.metadata.continue, undefined);
});

describe('updates start from the watch cache\'s copy, as Kubernetes\' GuaranteedUpdate does', () => {
  /** A registry whose cache hook answers with a copy frozen at `stale` (a watch cache that fell behind). */
  async function withStaleCache() {
    const { kv } = await startHandlers();
    let stale: KubeObject | undefined;
    let reads = 0;
    const counting = new Proxy(kv, { get: (target, prop, receiver) => (prop === 'range' ? (...args: Parameters<typeof kv.range>) => (reads++, target.range(...args)) : Reflect.get(target, prop, receiver)) });
    const registry = new Registry({ kv: counting, now: () => Date.UTC(2026, 0, 1), random: seededRandom(3), cached: () => stale });
    const created = await registry.create(deployments, 'default', deployment('web', 1));
    return { registry, freeze: (o: KubeObject) => (stale = structuredClone(o)), created, reads: () => reads };
  }

  test('a current cached copy saves the store read; a stale one costs a failed compare-and-swap, never a lost update', async () => {
    const s = await withStaleCache();
    s.freeze(s.created);
    const before = s.reads();
    const first = await s.registry.patch(deployments, 'default', 'web', 'merge', { spec: { replicas: 2 } });
    assert.equal(s.reads(), before, 'no read: the cached copy was current');
    // The cache still holds the replicas-1 copy: the write must land on top of replicas 2, not overwrite it.
    const second = await s.registry.patch(deployments, 'default', 'web', 'merge', { metadata: { labels: { tier: 'front' } } });
    assert.equal((second.object.spec as { replicas: number }).replicas, 2, 'the first update survived the stale guess');
    assert.equal(second.object.metadata.labels?.tier, 'front');
    assert.ok(Number(second.object.metadata.resourceVersion) > Number(first.object.metadata.resourceVersion));
  });

  test('a pinned resourceVersion is judged against the store, not the stale copy', async () => {
    const s = await withStaleCache();
    s.freeze(s.created);
    const moved = await s.registry.patch(deployments, 'default', 'web', 'merge', { spec: { replicas: 2 } });
    // The client read the current version; only the cache is behind: no 409.
    const pinnedOk = await s.registry.patch(deployments, 'default', 'web', 'merge', { metadata: { resourceVersion: moved.object.metadata.resourceVersion }, spec: { replicas: 3 } });
    assert.equal((pinnedOk.object.spec as { replicas: number }).replicas, 3);
    // A client pinned to the old version (the cache's) is refused.
    await assert.rejects(
      s.registry.patch(deployments, 'default', 'web', 'merge', { metadata: { resourceVersion: s.created.metadata.resourceVersion }, spec: { replicas: 4 } }),
      rejectsWith(409, 'Conflict'),
    );
  });

  test('an update that changes nothing against a stale copy is checked against the store before it is skipped', async () => {
    const s = await withStaleCache();
    s.freeze(s.created);
    await s.registry.patch(deployments, 'default', 'web', 'merge', { spec: { replicas: 2 } });
    // Against the stale copy (replicas 1) setting replicas 1 looks like no change; the store holds 2.
    const back = await s.registry.patch(deployments, 'default', 'web', 'merge', { spec: { replicas: 1 } });
    assert.equal((back.object.spec as { replicas: number }).replicas, 1);
  });

  test('updates, status writes, bindings and a delete by update read the cached object without changing it, nor the caller\'s body', async () => {
    // An update that changed the cache's object in place (instead of its own copy) would throw here.
    const { registry, cache } = await frozenCacheRegistry();
    await registry.create(pods, 'default', pod('p'));
    const body = deepFreeze({ ...(await cache(pods, 'p')), metadata: { name: 'p', labels: { app: 'db' } } });
    assert.deepEqual((await registry.update(pods, 'default', 'p', body)).object.metadata.labels, { app: 'db' });
    const status = deepFreeze({ ...(await cache(pods, 'p')), status: { phase: 'Running' } });
    assert.equal(((await registry.update(pods, 'default', 'p', status, { subresource: 'status' })).object as Pod).status!.phase, 'Running');
    await cache(pods, 'p');
    await registry.bind(pods, 'default', 'p', deepFreeze({ target: { name: 'node-1' } }));
    assert.equal((await registry.get(pods, 'default', 'p') as Pod).spec!.nodeName, 'node-1');
    await registry.create(deployments, 'default', { ...deployment('d', 1), metadata: { name: 'd', finalizers: ['example.com/hold'] } });
    await registry.delete(deployments, 'default', 'd');
    const deleting = await cache(deployments, 'd');
    assert.ok(deleting.metadata.deletionTimestamp !== undefined);
    const released = await registry.update(deployments, 'default', 'd', deepFreeze({ ...deleting, metadata: { ...deleting.metadata, finalizers: [] } }));
    assert.equal(await registry.read(deployments, 'default', 'd'), undefined, 'the last finalizer removed: deleted');
    assert.ok(Number(released.object.metadata.resourceVersion) > Number(deleting.metadata.resourceVersion));
  });
});

test('patches (merge, strategic, JSON, a pod\'s status, a scale, an apply) read the cached object without changing it: they start from their own copy', async () => {
  // A patch that changed the cache's object in place, now that the registry no longer copies it before the transform, would throw.
  const { registry, cache } = await frozenCacheRegistry();
  await registry.create(pods, 'default', pod('p'));
  let cached = await cache(pods, 'p');
  assert.deepEqual((await registry.patch(pods, 'default', 'p', 'merge', { metadata: { labels: { app: 'db' } } })).object.metadata.labels, { app: 'db' });
  cached = await cache(pods, 'p');
  assert.deepEqual((await registry.patch(pods, 'default', 'p', 'strategic', { metadata: { labels: { tier: 'back' } } })).object.metadata.labels, { app: 'db', tier: 'back' });
  cached = await cache(pods, 'p');
  assert.deepEqual((await registry.patch(pods, 'default', 'p', 'json', [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }])).object.metadata.annotations, { a: 'b' });
  cached = await cache(pods, 'p');
  const running = await registry.patch(pods, 'default', 'p', 'merge', { metadata: { uid: cached.metadata.uid }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  assert.equal((running.object as Pod).status!.phase, 'Running');
  await registry.create(deployments, 'default', deployment('d', 1));
  cached = await cache(deployments, 'd');
  assert.equal(((await registry.patch(deployments, 'default', 'd', 'merge', { spec: { replicas: 3 } }, { subresource: 'scale' })).object.spec as { replicas: number }).replicas, 3);
  cached = await cache(deployments, 'd');
  const applied = await registry.patch(deployments, 'default', 'd', 'apply', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', labels: { owner: 'me' } } }, { fieldManager: 'test', force: true });
  assert.equal(applied.object.metadata.labels?.owner, 'me');
  assert.equal((cached.metadata.labels ?? {}).owner, undefined, 'the cached object is as it was');
});

/**
 * A registry whose cache hook answers with the store's current object deep-frozen, as the watch cache shares its
 * objects: `cache` reads the object from the store and makes it what the hook answers from then on.
 */
async function frozenCacheRegistry() {
  const { kv } = await startHandlers();
  let cached: KubeObject | undefined;
  const registry = new Registry({ kv, now: () => Date.UTC(2026, 0, 1), random: seededRandom(3), cached: () => cached });
  const cache = async (info: typeof pods, name: string) => (cached = deepFreeze(await registry.get(info, 'default', name)));
  return { registry, cache };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

test('a pod update may not change its containers\' commands, while a status write whose body carries another spec is accepted and keeps the stored spec', async () => {
  const { registry } = await startHandlers();
  const created = await registry.create(pods, 'default', pod('s')) as Pod;
  const changedSpec = { ...created, spec: { ...created.spec!, containers: [{ ...created.spec!.containers[0]!, command: ['sh'] }] } };
  await assert.rejects(registry.update(pods, 'default', 's', changedSpec), (e: unknown) => e instanceof ApiError && e.code === 422 && /may not change fields other than/.test(e.message));
  const statusWrite = { ...changedSpec, status: { ...created.status!, phase: 'Running' } };
  const { object } = await registry.update(pods, 'default', 's', statusWrite, { subresource: 'status' });
  assert.equal((object as Pod).status!.phase, 'Running');
  assert.deepEqual((object as Pod).spec, created.spec, 'the stored spec, not the body\'s');
});

test('an update that changes nothing but resourceVersion and managedFields writes nothing; one that changes a label writes', async () => {
  const { registry } = await startHandlers();
  const created = await registry.create(pods, 'default', pod('u')) as Pod;
  const same = await registry.update(pods, 'default', 'u', { ...created, metadata: { ...created.metadata, managedFields: [] } });
  assert.equal(same.object.metadata.resourceVersion, created.metadata.resourceVersion, 'no write: the same revision');
  const labelled = await registry.update(pods, 'default', 'u', { ...created, metadata: { ...created.metadata, labels: { app: 'other' } } });
  assert.notEqual(labelled.object.metadata.resourceVersion, created.metadata.resourceVersion);
});

test('a write remembers the text it stored: decoded with its resourceVersion it is the object answered, key order included, and what the store holds', async () => {
  const { registry, kv } = await startHandlers();
  const decoded = (text: string, rv: string) => {
    const object = JSON.parse(text) as KubeObject;
    object.metadata.resourceVersion = rv;
    return object;
  };
  const created = await registry.create(pods, 'default', pod('a'));
  // A status write starts from the watch cache's copy, whose metadata already has a resourceVersion.
  const current = await registry.get(pods, 'default', 'a');
  const updated = (await registry.update(pods, 'default', 'a', { ...current, status: { phase: 'Running', hostIP: '10.0.0.1' } }, { subresource: 'status' })).object;
  const patched = (await registry.patch(pods, 'default', 'a', 'merge', { metadata: { labels: { x: 'y' } } })).object;
  // A client may send its metadata with the resourceVersion first.
  const { resourceVersion, ...rest } = patched.metadata;
  const replaced = (await registry.update(pods, 'default', 'a', { ...patched, metadata: { resourceVersion, ...rest, labels: { x: 'z' } } })).object;
  for (const [what, object] of [['create', created], ['status update', updated], ['patch', patched], ['update', replaced]] as const) {
    const text = storedTextOf(object);
    assert.ok(text !== undefined, what);
    assert.equal(JSON.stringify(decoded(text, object.metadata.resourceVersion!)), JSON.stringify(object), what);
    const stored = (await kv.range('/registry/pods/default/a')).kvs[0]!;
    if (object === replaced) assert.equal(stored.value, text, 'the text is the stored value');
  }
  assert.equal(storedTextOf(await registry.get(pods, 'default', 'a')), undefined, 'a read is not a write');
});
