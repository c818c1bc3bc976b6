import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../api/types/index.js';
import { VirtualClock } from './clock.js';
import { Informer } from './informer.js';
import { INDEX_NODE_NAME, indexByNodeName, objectKey } from './store.js';
import { FakeApi } from './testing/fake-api.js';

function pod(name: string, nodeName?: string): Pod {
  return { metadata: { namespace: 'default', name }, spec: { containers: [{ name: 'c' }], nodeName } };
}

function setup(resyncPeriodMs = 0) {
  const clock = new VirtualClock(0);
  const api = new FakeApi();
  const informer = new Informer<Pod>({ name: 'pods', listWatcher: api.listWatcher<Pod>('pods'), clock, resyncPeriodMs, indexers: { [INDEX_NODE_NAME]: indexByNodeName } });
  const log: string[] = [];
  informer.addEventHandler({
    onAdd: (p) => log.push(`add ${objectKey(p)}`),
    onUpdate: (o, n) => log.push(`update ${objectKey(n)} ${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`),
    onDelete: (p) => log.push(`delete ${objectKey(p)}`),
  });
  return { clock, api, informer, log };
}

function cacheMatchesApi(api: FakeApi, informer: Informer<Pod>): void {
  const fromApi = new Map<string, string | undefined>();
  for (const key of ['default/a', 'default/b', 'default/c', 'default/d']) {
    const p = api.getNow<Pod>('pods', key);
    if (p) fromApi.set(key, p.metadata.resourceVersion);
  }
  const cached = new Map(informer.store.list().map((p) => [objectKey(p), p.metadata.resourceVersion]));
  assert.deepEqual(cached, fromApi);
}

describe('informer', () => {
  test('lists, then watches from the list resourceVersion without missing a write made in between', async () => {
    const { clock, api, informer, log } = setup();
    api.createNow('pods', pod('a'));
    informer.start();
    api.createNow('pods', pod('b')); // after the list was requested, before the watch opened
    await clock.advance(10);
    assert.ok(informer.hasSynced());
    api.updateNow('pods', { ...api.getNow<Pod>('pods', 'default/a')!, spec: { containers: [], nodeName: 'n1' } });
    api.deleteNow('pods', 'default/b');
    await clock.advance(10);
    cacheMatchesApi(api, informer);
    assert.deepEqual(informer.store.byIndex(INDEX_NODE_NAME, 'n1').map(objectKey), ['default/a']);
    assert.deepEqual(log.map((l) => l.split(' ').slice(0, 2).join(' ')), ['add default/a', 'add default/b', 'update default/a', 'delete default/b']);
  });

  test('relists after 410 Gone and reports what changed while the watch was down', async () => {
    const { clock, api, informer, log } = setup();
    api.createNow('pods', pod('a'));
    api.createNow('pods', pod('b'));
    informer.start();
    await clock.advance(10);
    log.length = 0;
    api.setUnresponsive(true); // the informer's watch sees nothing from here on
    const stale = api.openWatchCount();
    api.setUnresponsive(false);
    assert.equal(stale, 1);
    api.breakWatches(500, 'InternalError'); // first a transient failure: re-watch from the last version
    await clock.advance(2_000);
    assert.equal(api.openWatchCount(), 1);
    // Now, while we are not looking, history moves on and is compacted.
    api.breakWatches(500, 'InternalError');
    api.deleteNow('pods', 'default/a');
    api.createNow('pods', pod('c'));
    api.compact();
    await clock.advance(60_000);
    assert.equal(informer.stats.relistsOnGone, 1, 'the re-watch from a compacted version got 410 and relisted');
    cacheMatchesApi(api, informer);
    assert.ok(log.includes('delete default/a'), `a deletion missed during the outage is reported on relist: ${log.join('; ')}`);
    assert.ok(log.includes('add default/c'));
    api.createNow('pods', pod('d'));
    await clock.advance(10);
    cacheMatchesApi(api, informer);
    // As client-go's reflector: the first list from the watch cache ("0"), the relist after 410 a consistent one ("").
    assert.deepEqual(api.listResourceVersions, ['0', '']);
  });

  test('a failed list is retried with backoff', async () => {
    const { clock, api, informer } = setup();
    api.createNow('pods', pod('a'));
    api.failNextLists(2);
    informer.start();
    await clock.advance(700);
    assert.equal(informer.hasSynced(), false);
    await clock.advance(800 + 1_600);
    assert.equal(informer.hasSynced(), true);
    assert.equal(informer.stats.lists, 3);
    assert.deepEqual(api.listResourceVersions, ['0', '0', '0'], 'a retried first list still asks the cache');
    cacheMatchesApi(api, informer);
  });

  test('resync hands every cached object to onUpdate once per period', async () => {
    const { clock, api, informer, log } = setup(30_000);
    api.createNow('pods', pod('a'));
    api.createNow('pods', pod('b'));
    informer.start();
    await clock.advance(29_000);
    assert.equal(log.filter((l) => l.startsWith('update')).length, 0);
    await clock.advance(1_000);
    assert.deepEqual(log.filter((l) => l.startsWith('update')).sort(), ['update default/a 2->2', 'update default/b 3->3']);
    await clock.advance(30_000);
    assert.equal(informer.stats.resyncs, 2);
  });

  test('a server-side close re-watches from the last version seen', async () => {
    const clock = new VirtualClock(0);
    const api = new FakeApi();
    const inner = api.listWatcher<Pod>('pods');
    let closeNext: (() => void) | undefined;
    const informer = new Informer<Pod>({
      name: 'pods', clock,
      listWatcher: { list: (o) => inner.list(o), watch: (rv, h) => { closeNext = () => h.onClose?.(); return inner.watch(rv, h); } },
    });
    informer.start();
    await clock.advance(10);
    api.createNow('pods', pod('a'));
    await clock.advance(10);
    closeNext!();
    api.createNow('pods', pod('b'));
    await clock.advance(10);
    cacheMatchesApi(api, informer);
    assert.equal(informer.stats.watches, 2);
    informer.stop();
  });
});
