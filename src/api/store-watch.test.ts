import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalKvClient } from '../kv/client/local-client.js';
import type { KvClient, WatchHandlers, WatchOptions } from '../kv/client/types.js';
import { ApiHandlers, type ApiHandlersOptions } from './handlers.js';
import { ADMIN, fakeClock, seededRandom, tick, watchCollector } from './testing.js';
import type { KubeObject, List, Status } from './types/index.js';
import { INITIAL_EVENTS_END_ANNOTATION } from './watch-cache.js';

const EVENTS = { group: '', version: 'v1', resource: 'events' };

/** Handlers over a local store whose watches are recorded (prefix, and whether still open). */
async function start(options: Partial<ApiHandlersOptions> = {}) {
  const clock = fakeClock();
  const local = new LocalKvClient({ now: clock.now });
  const watches: Array<{ key: string; open: boolean }> = [];
  const kv: KvClient = Object.assign(Object.create(local) as LocalKvClient, {
    watch(key: string, o: WatchOptions, h: WatchHandlers) {
      const record = { key, open: true };
      watches.push(record);
      const inner = local.watch(key, o, h);
      return { get nextRevision() { return inner.nextRevision; }, cancel: () => { record.open = false; inner.cancel(); } };
    },
  });
  const handlers = new ApiHandlers({ kv, now: clock.now, random: seededRandom(1), ...options });
  await handlers.start();
  return { handlers, local, watches };
}

function event(name: string, reason: string, namespace = 'default') {
  return { metadata: { name, namespace }, involvedObject: { kind: 'Pod', namespace, name: `pod-${name}` }, reason, message: name, type: 'Normal' };
}

/** Collects a watch's events; `summary` writes each resourceVersion as an offset from `base`'s (the script's first write). */
function collector(base = () => 0) {
  const c = watchCollector();
  return Object.assign(c, {
    summary: () => c.events.map((e) => {
      const m = (e.object as KubeObject).metadata;
      const end = m.annotations?.[INITIAL_EVENTS_END_ANNOTATION] === 'true' ? ' end' : '';
      return e.type === 'BOOKMARK' ? `BOOKMARK${end}` : `${e.type} ${m.name ?? ''} ${(e.object as { reason?: string }).reason ?? ''} +${Number(m.resourceVersion) - base()}`;
    }),
  });
}

/** One script of writes, lists and watches of Events; what every watcher saw and every list answered. */
async function script(options: Partial<ApiHandlersOptions>) {
  const { handlers, watches } = await start(options);
  const call = (verb: string, extra: Record<string, unknown>) => handlers.handle({ ...EVENTS, verb, ...extra } as Parameters<ApiHandlers['handle']>[0], ADMIN);
  let base = 0;
  const watch = (namespace: string | undefined, query: Record<string, unknown>) => {
    const c = collector(() => base);
    const w = handlers.watch({ ...EVENTS, verb: 'watch', namespace, query }, ADMIN, c.sink);
    return { c, w };
  };
  const first = (await call('create', { namespace: 'default', body: event('a', 'Pulled') })).body as KubeObject;
  base = Number(first.metadata.resourceVersion);
  await call('create', { namespace: 'default', body: event('b', 'Created') });
  await call('create', { namespace: 'kube-system', body: event('c', 'Pulled', 'kube-system') });
  const inDefault = watch('default', {});
  const everywhere = watch(undefined, { resourceVersion: first.metadata.resourceVersion });
  const pulled = watch('default', { fieldSelector: 'reason=Pulled' });
  const watchList = watch(undefined, { sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan', resourceVersion: '' });
  const onlyNew = watch('default', { sendInitialEvents: false });
  await tick();
  await call('patch', { namespace: 'default', name: 'b', patchType: 'merge', body: { reason: 'Pulled' } });
  await call('patch', { namespace: 'default', name: 'a', patchType: 'merge', body: { reason: 'Started' } });
  await call('delete', { namespace: 'default', name: 'b' });
  await call('create', { namespace: 'default', body: event('d', 'Pulled') });
  await tick();
  const page1 = (await call('list', { query: { limit: 1 } })).body as List;
  const page2 = (await call('list', { query: { limit: 1, continue: page1.metadata.continue } })).body as List;
  const selected = (await call('list', { namespace: 'default', query: { fieldSelector: 'reason=Pulled' } })).body as List;
  const got = (await call('get', { namespace: 'default', name: 'a', query: { resourceVersion: '0' } })).body as KubeObject;
  inDefault.w.cancel();
  await tick();
  const names = (l: List) => l.items.map((i) => (i as KubeObject).metadata.name);
  return {
    handlers,
    watches,
    seen: { inDefault: inDefault.c.summary(), everywhere: everywhere.c.summary(), pulled: pulled.c.summary(), watchList: watchList.c.summary(), onlyNew: onlyNew.c.summary() },
    lists: { page1: names(page1), page2: names(page2), more: page2.metadata.continue !== undefined, selected: names(selected), got: got.metadata.name },
  };
}

test('Events have no watch cache, as in kube-apiserver: their lists and watches are the store\'s, and answer as the cache would', async () => {
  const uncached = await script({});
  const cached = await script({ uncachedResources: [] });
  // The same answers, event for event, from the store as from the cache.
  assert.deepEqual(uncached.seen, cached.seen);
  assert.deepEqual(uncached.lists, cached.lists);
  // And they are the right ones (revisions after a's: b +1, c +2, the patches +3 and +4, b's delete +5, d +6).
  assert.deepEqual(uncached.seen, {
    inDefault: ['ADDED a Pulled +0', 'ADDED b Created +1', 'MODIFIED b Pulled +3', 'MODIFIED a Started +4', 'DELETED b Pulled +5', 'ADDED d Pulled +6'],
    everywhere: ['ADDED b Created +1', 'ADDED c Pulled +2', 'MODIFIED b Pulled +3', 'MODIFIED a Started +4', 'DELETED b Pulled +5', 'ADDED d Pulled +6'],
    pulled: ['ADDED a Pulled +0', 'ADDED b Pulled +3', 'DELETED a Started +4', 'DELETED b Pulled +5', 'ADDED d Pulled +6'],
    watchList: ['ADDED a Pulled +0', 'ADDED b Created +1', 'ADDED c Pulled +2', 'BOOKMARK end', 'MODIFIED b Pulled +3', 'MODIFIED a Started +4', 'DELETED b Pulled +5', 'ADDED d Pulled +6'],
    onlyNew: ['MODIFIED b Pulled +3', 'MODIFIED a Started +4', 'DELETED b Pulled +5', 'ADDED d Pulled +6'],
  });
  assert.deepEqual(uncached.lists, { page1: ['a'], page2: ['d'], more: true, selected: ['d'], got: 'a' });
  // The difference is where they come from: no store watch of Events for a cache, one per API watch, closed with it.
  const eventWatches = (w: typeof uncached.watches) => w.filter((x) => x.key.startsWith('/registry/events/'));
  assert.equal(eventWatches(cached.watches).length, 1, 'the cache\'s one store watch');
  // In the order they were opened: from an RV and from now at once, the others once their initial list was read.
  assert.deepEqual(eventWatches(uncached.watches).map((w) => [w.key, w.open]), [
    ['/registry/events/', true], ['/registry/events/default/', true], ['/registry/events/default/', false], ['/registry/events/default/', true], ['/registry/events/', true],
  ]);
  assert.throws(() => uncached.handlers.cache({ ...EVENTS, kind: 'Event', namespaced: true } as never), /a cache per resource/);
  uncached.handlers.stop();
  cached.handlers.stop();
});

test('an Event watch from a compacted resourceVersion ends at once with 410 Gone; the store\'s progress is a BOOKMARK for watchers that allow them', async () => {
  const { handlers, local } = await start();
  let last = '';
  for (let i = 0; i < 5; i++) last = ((await handlers.handle({ ...EVENTS, verb: 'create', namespace: 'default', body: event(`e${i}`, 'Pulled') }, ADMIN)).body as KubeObject).metadata.resourceVersion!;
  await local.compact(Number(last));
  const old = collector();
  handlers.watch({ ...EVENTS, verb: 'watch', namespace: 'default', query: { resourceVersion: '2' } }, ADMIN, old.sink);
  await tick();
  assert.equal(old.events.length, 0);
  assert.notEqual(old.ended, 'open');
  assert.equal((old.ended as Status).code, 410);
  assert.match((old.ended as Status).message ?? '', /too old resource version/);

  const marked = collector();
  const plain = collector();
  handlers.watch({ ...EVENTS, verb: 'watch', namespace: 'default', query: { resourceVersion: last, allowWatchBookmarks: true } }, ADMIN, marked.sink);
  handlers.watch({ ...EVENTS, verb: 'watch', namespace: 'default', query: { resourceVersion: last } }, ADMIN, plain.sink);
  await tick();
  local.requestProgress();
  await tick();
  assert.deepEqual(marked.events.map((e) => [e.type, (e.object as KubeObject).metadata.resourceVersion]), [['BOOKMARK', last]]);
  assert.deepEqual(plain.events, []);
  assert.equal(marked.ended, 'open');
  handlers.stop();
});
