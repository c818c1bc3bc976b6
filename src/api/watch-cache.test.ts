import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder, FrameEncoder } from '../actor/codec.js';
import { StoredJsonEvent } from '../actor/json-event.js';
import { findResource } from './resources.js';
import { parseFilter } from './selectors.js';
import { ApiHandlers, BOOKMARK_EVERY_MS } from './handlers.js';
import { WATCH_CACHE_EVENTS_MAX } from './watch-cache.js';
import { ADMIN, fakeClock, seededRandom, startHandlers, tick, watchCollector } from './testing.js';
import { LocalKvClient } from '../kv/client/local-client.js';
import type { KvClient, WatchHandlers, WatchOptions } from '../kv/client/types.js';
import type { Status, WatchEvent } from './types/index.js';

const pods = findResource('', 'v1', 'pods')!;
const pod = (name: string, app = 'web') => ({ metadata: { name, labels: { app } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
const none = { labels: [], fields: [] };

function collector() {
  const c = watchCollector();
  return Object.assign(c, { summary: () => c.events.map((e) => `${e.type} ${(e.object as { metadata: { name?: string } }).metadata.name ?? ''}`) });
}

test('a thousand watchers share one store watch and each sees every event in order', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const watchers = Array.from({ length: 1000 }, () => collector());
  const start = String(cache.revision);
  for (const w of watchers) cache.watch({ filter: none, resourceVersion: start }, w.sink);
  await registry.create(pods, 'default', pod('a'));
  await registry.patch(pods, 'default', 'a', 'merge', { metadata: { labels: { x: 'y' } } });
  await registry.delete(pods, 'default', 'a');
  await tick();
  assert.equal(cache.stats.storeWatches, 1);
  for (const w of watchers) assert.deepEqual(w.summary(), ['ADDED a', 'MODIFIED a', 'DELETED a']);
});

test('a watch from a resourceVersion replays only later events; RV 0 starts with synthetic ADDED for current objects', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  await registry.create(pods, 'default', pod('a'));
  const b = await registry.create(pods, 'default', pod('b'));
  await registry.create(pods, 'default', pod('c'));
  await tick();
  const since = collector();
  cache.watch({ filter: none, resourceVersion: b.metadata.resourceVersion }, since.sink);
  assert.deepEqual(since.summary(), ['ADDED c']);
  const fromZero = collector();
  cache.watch({ filter: none, resourceVersion: '0' }, fromZero.sink);
  assert.deepEqual(fromZero.summary(), ['ADDED a', 'ADDED b', 'ADDED c']);
});

test('a label-selected watch sees objects entering its selection as ADDED and leaving it as DELETED', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const w = collector();
  cache.watch({ filter: parseFilter('pods', 'app=web', undefined), resourceVersion: String(cache.revision) }, w.sink);
  await registry.create(pods, 'default', pod('a', 'db'));
  await registry.patch(pods, 'default', 'a', 'merge', { metadata: { labels: { app: 'web' } } });
  await registry.patch(pods, 'default', 'a', 'merge', { metadata: { labels: { tier: 'x' } } });
  await registry.patch(pods, 'default', 'a', 'merge', { metadata: { labels: { app: 'db' } } });
  await tick();
  assert.deepEqual(w.summary(), ['ADDED a', 'MODIFIED a', 'DELETED a']);
});

test('a resourceVersion older than the compacted store ends the watch with 410 Gone after a relist', async () => {
  const { handlers, registry, kv } = await startHandlers();
  const cache = handlers.cache(pods);
  const old = await registry.create(pods, 'default', pod('a'));
  await tick();
  // Force the cache to restart from a later revision, as after a compaction, by ending its store watch.
  const later = await registry.create(pods, 'default', pod('b'));
  await kv.compact(Number(later.metadata.resourceVersion));
  await tick();
  (cache as unknown as { storeWatchEnded(e: unknown): void }).storeWatchEnded(new Error('compacted'));
  await handlers.cache(pods).start();
  const w = collector();
  cache.watch({ filter: none, resourceVersion: old.metadata.resourceVersion }, w.sink);
  assert.notEqual(w.ended, 'open');
  assert.equal((w.ended as Status).code, 410);
  assert.match((w.ended as Status).message!, /too old resource version/);
});

test('bookmarks carry the cache revision to watchers that asked for them only', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const asked = collector();
  const silent = collector();
  cache.watch({ filter: none, resourceVersion: String(cache.revision), allowBookmarks: true }, asked.sink);
  cache.watch({ filter: none, resourceVersion: String(cache.revision) }, silent.sink);
  const created = await registry.create(pods, 'default', pod('a'));
  await tick();
  cache.bookmark();
  assert.deepEqual(asked.events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
  assert.equal((asked.events[1]!.object as { metadata: { resourceVersion: string } }).metadata.resourceVersion, created.metadata.resourceVersion);
  assert.deepEqual(silent.events.map((e) => e.type), ['ADDED']);
});

test('the API server\'s tick sends bookmarks once a minute, as Kubernetes\' cacher, not every second', async () => {
  const { handlers, clock } = await startHandlers();
  const cache = handlers.cache(pods);
  const asked = collector();
  cache.watch({ filter: none, resourceVersion: String(cache.revision), allowBookmarks: true }, asked.sink);
  const bookmarks = () => asked.events.filter((e) => e.type === 'BOOKMARK').length;
  await handlers.tick();
  assert.equal(bookmarks(), 1, 'the first tick bookmarks');
  for (let s = 1; s < BOOKMARK_EVERY_MS / 1000; s++) {
    clock.advance(1_000);
    await handlers.tick();
  }
  assert.equal(bookmarks(), 1, 'no bookmark within the minute');
  clock.advance(1_000);
  await handlers.tick();
  assert.equal(bookmarks(), 2, 'the next one a minute later');
});

test('a GET with resourceVersion 0 is answered from the watch cache, without the store; a plain GET reads the store', async () => {
  const { handlers, registry, kv } = await startHandlers();
  await registry.create(pods, 'default', pod('a'));
  await tick();
  let ranges = 0;
  const range = kv.range.bind(kv);
  kv.range = (...args: Parameters<typeof kv.range>) => (ranges++, range(...args));
  const get = (query?: { resourceVersion: string }) => handlers.handle({ verb: 'get', group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'a', ...(query ? { query } : {}) }, ADMIN);
  const cached = await get({ resourceVersion: '0' });
  assert.equal((cached.body as { metadata: { name: string } }).metadata.name, 'a');
  assert.equal(ranges, 0, 'RV 0: no store read');
  await get();
  assert.equal(ranges, 1, 'no RV: a consistent read from the store');
});

test('NamespaceLifecycle admits from the cache, but a namespace being deleted is looked up in the store at once', async () => {
  const { handlers } = await startHandlers();
  const call = (verb: 'create' | 'delete', resource: string, namespace: string | undefined, extra: Record<string, unknown>) =>
    handlers.handle({ verb, group: '', version: 'v1', resource, ...(namespace ? { namespace } : {}), ...extra } as never, ADMIN);
  await call('create', 'namespaces', undefined, { body: { metadata: { name: 'team' } } });
  await call('create', 'configmaps', 'team', { body: { metadata: { name: 'one' } } });
  await tick();
  // Freeze the namespaces cache: from here on it shows 'team' active whatever the store says.
  handlers.cache(findResource('', 'v1', 'namespaces')!).stop();
  await call('delete', 'namespaces', undefined, { name: 'team' });
  await assert.rejects(call('create', 'configmaps', 'team', { body: { metadata: { name: 'two' } } }), (e: unknown) => (e as { code?: number }).code === 403 || (e as { code?: number }).code === 404);
});

test('sendInitialEvents=true sends the current objects whatever the RV, then a BOOKMARK marking their end', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  await registry.create(pods, 'default', pod('a'));
  const b = await registry.create(pods, 'default', pod('b'));
  await tick();
  const w = collector();
  cache.watch({ filter: none, resourceVersion: b.metadata.resourceVersion, allowBookmarks: true, sendInitialEvents: true }, w.sink);
  assert.deepEqual(w.summary(), ['ADDED a', 'ADDED b', 'BOOKMARK ']);
  const bookmark = w.events[2]!.object as { metadata: { resourceVersion: string; annotations?: Record<string, string> } };
  assert.equal(bookmark.metadata.resourceVersion, b.metadata.resourceVersion);
  assert.deepEqual(bookmark.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
  await registry.create(pods, 'default', pod('c'));
  await tick();
  assert.deepEqual(w.summary(), ['ADDED a', 'ADDED b', 'BOOKMARK ', 'ADDED c']);
  const ahead = collector();
  cache.watch({ filter: none, resourceVersion: String(cache.revision + 100), allowBookmarks: true, sendInitialEvents: true }, ahead.sink);
  assert.equal((ahead.ended as Status).code, 504);
});

test('sendInitialEvents=false without an RV starts from now, with no synthetic ADDED', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  await registry.create(pods, 'default', pod('a'));
  await tick();
  const w = collector();
  cache.watch({ filter: none, sendInitialEvents: false }, w.sink);
  await registry.create(pods, 'default', pod('b'));
  await tick();
  assert.deepEqual(w.summary(), ['ADDED b']);
});

test('a LIST without a resourceVersion is consistent and served from the cache once it caught up; a stalled cache falls back to the store', async () => {
  const { handlers, registry, kv, clock } = await startHandlers();
  await registry.create(pods, 'default', pod('a'));
  const range = kv.range.bind(kv);
  const prefixReads: string[] = [];
  kv.range = (key, options) => {
    if (options?.rangeEnd !== undefined && options.countOnly !== true) prefixReads.push(key);
    return range(key, options);
  };
  const list = () => handlers.handle({ verb: 'list', group: '', version: 'v1', resource: 'pods', namespace: 'default' }, ADMIN);
  // Right after the write the cache may not have the event yet: the list waits for it, then answers from the cache.
  const first = await list();
  assert.deepEqual((first.body as { items: Array<{ metadata: { name: string } }> }).items.map((p) => p.metadata.name), ['a']);
  assert.deepEqual(prefixReads, [], 'no range over the pods in the store');
  // A cache whose store watch stalled never catches up: after the wait, the list reads the store.
  handlers.cache(pods).stop();
  await registry.create(pods, 'default', pod('b'));
  const stalled = list();
  await tick();
  clock.advance(3_001);
  await handlers.tick();
  const second = await stalled;
  assert.deepEqual((second.body as { items: Array<{ metadata: { name: string } }> }).items.map((p) => p.metadata.name), ['a', 'b']);
  assert.equal(prefixReads.length, 1, 'the fallback read the store');
});

test('the API server compacts the store every interval, to the revision it saw one interval before', async () => {
  const { kv, clock } = await startHandlers();
  const { ApiHandlers } = await import('./handlers.js');
  const handlers = new ApiHandlers({ kv, now: clock.now, random: () => 0.5, compactionIntervalMs: 60_000 });
  await handlers.start();
  const write = (n: number) => handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'configmaps', namespace: 'default', body: { metadata: { name: `c${n}` } } }, ADMIN);
  await write(1);
  await handlers.tick();
  const seen = (await kv.range('/registry/', { countOnly: true })).header.revision;
  await write(2);
  clock.advance(30_000);
  await handlers.tick();
  assert.equal((await kv.range('/registry/configmaps/default/c1', { revision: seen - 1 })).kvs.length, 0, 'not compacted before the interval (c1 did not exist yet)');
  clock.advance(30_000);
  await handlers.tick();
  await assert.rejects(kv.range('/registry/configmaps/default/c1', { revision: seen - 1 }), (e: unknown) => (e as { code?: string }).code === 'compacted');
  const atSeen = await kv.range('/registry/configmaps/default/c1', { revision: seen });
  assert.equal(atSeen.kvs.length, 1, 'the revision seen an interval ago is kept');
});

test('a thousand node-filtered watchers (the kubelets\' pod watch) each get only their own node\'s events: bound as ADDED, then MODIFIED, DELETED', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const nodes = Array.from({ length: 1000 }, (_, i) => `node-${i}`);
  const start = String(cache.revision);
  const byNode = new Map(nodes.map((node) => [node, collector()]));
  for (const [node, w] of byNode) cache.watch({ filter: parseFilter('pods', undefined, `spec.nodeName=${node}`), resourceVersion: start }, w.sink);
  // The scheduler's watch of unbound pods sits in the same index, under ''.
  const unbound = collector();
  cache.watch({ filter: parseFilter('pods', undefined, 'spec.nodeName='), resourceVersion: start }, unbound.sink);
  const everything = collector();
  cache.watch({ filter: none, resourceVersion: start }, everything.sink);

  const offeredBefore = cache.stats.watchersOffered;
  await registry.create(pods, 'default', pod('p7'));
  await registry.create(pods, 'default', { ...pod('p42'), spec: { ...pod('p42').spec, nodeName: 'node-42' } });
  await registry.bind(pods, 'default', 'p7', { target: { kind: 'Node', name: 'node-7' } });
  await registry.patch(pods, 'default', 'p7', 'merge', { metadata: { labels: { x: 'y' } } });
  // A bound pod is deleted gracefully (deletionTimestamp first), then for good, as the kubelet confirms with grace 0.
  await registry.delete(pods, 'default', 'p7');
  await registry.delete(pods, 'default', 'p7', { gracePeriodSeconds: 0 });
  await tick();

  assert.deepEqual(byNode.get('node-7')!.summary(), ['ADDED p7', 'MODIFIED p7', 'MODIFIED p7', 'DELETED p7'], 'the pod enters node-7\'s selection when bound');
  assert.deepEqual(byNode.get('node-42')!.summary(), ['ADDED p42']);
  for (const [node, w] of byNode) if (node !== 'node-7' && node !== 'node-42') assert.deepEqual(w.summary(), [], `${node} sees nothing`);
  assert.deepEqual(unbound.summary(), ['ADDED p7', 'DELETED p7'], 'binding takes the pod out of the unbound selection');
  assert.deepEqual(everything.summary(), ['ADDED p7', 'ADDED p42', 'MODIFIED p7', 'MODIFIED p7', 'MODIFIED p7', 'DELETED p7']);
  // Six events, each offered to the unfiltered watcher and at most two indexed buckets: not to 1,002 watchers each.
  assert.ok(cache.stats.watchersOffered - offeredBefore <= 6 * 3, `offered ${cache.stats.watchersOffered - offeredBefore} times`);
});

test('an event reaches its watchers in the order they started, whichever index buckets they sit in', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const start = String(cache.revision);
  const order: string[] = [];
  const sink = (name: string) => ({ event: () => void order.push(name), end: () => undefined });
  // Interleaved across the node bucket, the unfiltered one and the namespace one, so that no bucket's watchers
  // come before another's as a block: node-a, all-b, default-c, node-d, all-e.
  cache.watch({ filter: parseFilter('pods', undefined, 'spec.nodeName=node-1'), resourceVersion: start }, sink('node-a'));
  cache.watch({ filter: none, resourceVersion: start }, sink('all-b'));
  cache.watch({ namespace: 'default', filter: none, resourceVersion: start }, sink('default-c'));
  cache.watch({ filter: parseFilter('pods', undefined, 'spec.nodeName=node-1'), resourceVersion: start }, sink('node-d'));
  cache.watch({ filter: none, resourceVersion: start }, sink('all-e'));
  await registry.create(pods, 'default', { ...pod('p'), spec: { ...pod('p').spec, nodeName: 'node-1' } });
  await tick();
  assert.deepEqual(order, ['node-a', 'all-b', 'default-c', 'node-d', 'all-e']);
});

test('namespaced watchers get their namespace\'s events only; a cancelled indexed watcher gets nothing more', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const start = String(cache.revision);
  const inDefault = collector();
  const inOther = collector();
  cache.watch({ namespace: 'default', filter: none, resourceVersion: start }, inDefault.sink);
  cache.watch({ namespace: 'other', filter: none, resourceVersion: start }, inOther.sink);
  const onNode = collector();
  const watch = cache.watch({ namespace: 'default', filter: parseFilter('pods', undefined, 'spec.nodeName=n1'), resourceVersion: start }, onNode.sink);
  await registry.create(pods, 'default', { ...pod('a'), spec: { ...pod('a').spec, nodeName: 'n1' } });
  await tick();
  watch.cancel();
  watch.cancel();
  await registry.delete(pods, 'default', 'a', { gracePeriodSeconds: 0 });
  await tick();
  assert.deepEqual(inDefault.summary(), ['ADDED a', 'DELETED a']);
  assert.deepEqual(inOther.summary(), []);
  assert.deepEqual(onNode.summary(), ['ADDED a']);
});

test('the event window keeps exactly the newest WATCH_CACHE_EVENTS_MAX events: older resourceVersions get 410, newer replay in full', async () => {
  const { handlers } = await startHandlers();
  const cache = handlers.cache(pods);
  await cache.start();
  const apply = (cache as unknown as { apply(events: unknown[]): void }).apply.bind(cache);
  const base = cache.revision;
  const key = '/registry/pods/default/p';
  let revision = base;
  // Past the window twice over, so the oldest are dropped one by one and the array is cut in between.
  const total = 2 * WATCH_CACHE_EVENTS_MAX + 30;
  for (let i = 0; i < total; i++) {
    revision++;
    const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', resourceVersion: String(revision) }, spec: { containers: [] } };
    apply([{ type: 'put', kv: { key, value: JSON.stringify(object), modRevision: revision, createRevision: base + 1, version: i + 1, lease: 0 } }]);
  }
  const oldest = revision - WATCH_CACHE_EVENTS_MAX; // the newest event no longer in the window
  const tooOld = collector();
  cache.watch({ filter: none, resourceVersion: String(oldest - 1) }, tooOld.sink);
  assert.equal((tooOld.ended as Status).code, 410);
  const edge = collector();
  cache.watch({ filter: none, resourceVersion: String(oldest) }, edge.sink);
  assert.equal(edge.ended, 'open');
  assert.equal(edge.events.length, WATCH_CACHE_EVENTS_MAX);
  assert.equal((edge.events[0]!.object as { metadata: { resourceVersion: string } }).metadata.resourceVersion, String(oldest + 1));
});

test('live watch events crossing a thread boundary as the store\'s JSON decode to the cached objects, key order included; replays and deletes carry the objects', async () => {
  const { handlers, registry } = await startHandlers();
  const cache = handlers.cache(pods);
  const live = collector();
  const start = String(cache.revision);
  cache.watch({ filter: none, resourceVersion: start }, live.sink);
  await registry.create(pods, 'default', { ...pod('a'), metadata: { name: 'a', labels: { app: 'web', z: '1', a: '2' }, annotations: { 'ü-ñ': '✓ "quoted" \\ text' } } });
  await registry.bind(pods, 'default', 'a', { target: { kind: 'Node', name: 'node-1' } });
  await registry.patch(pods, 'default', 'a', 'merge', { metadata: { labels: { x: 'y' } } });
  await registry.delete(pods, 'default', 'a', { gracePeriodSeconds: 0 });
  await tick();
  const replayed = collector();
  cache.watch({ filter: none, resourceVersion: start }, replayed.sink);

  assert.deepEqual(live.summary(), ['ADDED a', 'MODIFIED a', 'MODIFIED a', 'DELETED a']);
  assert.deepEqual(replayed.summary(), live.summary());
  assert.ok(live.events.slice(0, 3).every((e) => e instanceof StoredJsonEvent), 'live puts carry the stored text');
  assert.ok(!(live.events[3] instanceof StoredJsonEvent), 'a delete has no stored text of its object');
  assert.ok(replayed.events.every((e) => !(e instanceof StoredJsonEvent)), 'replays from the window carry the objects');

  // What another thread receives: every event through the frame codec, as the router sends it.
  const frame = new FrameEncoder().encode([{ to: 'informer', from: 'apiserver', type: 'api.watchEvents', corr: 0, body: { watchId: 'w', events: live.events, seq: 1 } }]);
  const decoded = new FrameDecoder().decode(frame);
  assert.ok(decoded.ok);
  const received = (decoded.envelopes[0]!.body as { events: WatchEvent[] }).events;
  assert.equal(received.length, 4);
  for (let i = 0; i < received.length; i++) {
    const sent = live.events[i]!;
    assert.deepEqual(received[i], { type: sent.type, object: sent.object }, `event ${i}`);
    assert.equal(JSON.stringify(received[i]), JSON.stringify(sent), `event ${i}: the same keys in the same order`);
    assert.equal(Object.getPrototypeOf(received[i]), Object.prototype);
  }
  assert.deepEqual(received.map((e) => e.object.metadata.resourceVersion), live.events.map((e) => e.object.metadata.resourceVersion));
});

test('the event of a write this API server made keeps a copy of the written object, not a parse of the store\'s text: the object that text parses to, key order included, and not the one the write returned', async () => {
  // Over threads the write's answer mostly comes before its watch event (three in four pod events at 300 x 6,000);
  // the local client delivers the event first, so its events are held a turn here, as a replica's would be.
  const kv = new LocalKvClient({ now: fakeClock().now });
  const late: KvClient = Object.assign(Object.create(kv) as KvClient, {
    watch: (key: string, options: WatchOptions, on: WatchHandlers) => kv.watch(key, options, {
      ...on,
      onEvents: (events, revision) => setImmediate(() => on.onEvents(events, revision)),
      onProgress: (revision) => setImmediate(() => on.onProgress?.(revision)),
    }),
  });
  const handlers = new ApiHandlers({ kv: late, now: fakeClock().now, random: seededRandom(1) });
  await handlers.start();
  const registry = handlers.registry;
  const cache = handlers.cache(pods);
  const kept = cache.stats.writesKept;
  const created = await registry.create(pods, 'default', { ...pod('a'), metadata: { name: 'a', labels: { app: 'web', z: '1', a: '2' }, annotations: { 'ü-ñ': '✓ "quoted" \\ text', '1': 'an index-like key' } } });
  await tick();
  await registry.update(pods, 'default', 'a', { ...created, metadata: { ...created.metadata, labels: { b: '3', app: 'web' } }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } }, { subresource: 'status' });
  await tick();
  const patched = await registry.patch(pods, 'default', 'a', 'merge', { metadata: { annotations: { x: 'y' } } });
  await tick();
  await tick();
  assert.ok(cache.stats.writesKept >= kept + 3, `the three writes' events kept the copies (${cache.stats.writesKept - kept})`);
  const stored = (await kv.range('/registry/pods/default/a')).kvs[0]!;
  const parsed = JSON.parse(stored.value) as { metadata: { resourceVersion?: string } };
  parsed.metadata.resourceVersion = String(stored.modRevision);
  const cached = cache.get('/registry/pods/default/a')!;
  assert.deepEqual(cached, parsed);
  assert.equal(JSON.stringify(cached), JSON.stringify(parsed), 'the same keys in the same order');
  // What a write returned is its caller's: changing it reaches nothing the cache holds.
  assert.equal(patched.object.metadata.resourceVersion, cached.metadata.resourceVersion);
  patched.object.metadata.labels!.app = 'changed';
  assert.equal(cache.get('/registry/pods/default/a')!.metadata.labels!.app, 'web');
});
