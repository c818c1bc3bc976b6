import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WatchResponse } from '../protocol.js';
import { prefixEnd } from '../protocol.js';
import { MvccStore } from './store.js';
import { WATCH_BATCH_EVENTS_MAX, WatchHub } from './watch-hub.js';

function created(response: ReturnType<WatchHub['create']>): number {
  assert.equal(response.type, 'watch', JSON.stringify(response));
  return (response as WatchResponse).watchId;
}
const brief = (responses: WatchResponse[]): string[] =>
  responses.flatMap((r) => r.events.map((e) => `${r.watchId}:${e.type}:${e.kv.key}@${e.kv.modRevision}${e.prevKv ? `(prev ${e.prevKv.value})` : ''}`));

describe('WatchHub', () => {
  test('a key watcher sees only that key, from the next revision, in order', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    store.put({ key: 'a', value: 'before' });
    const id = created(hub.create({ type: 'watchCreate', key: 'a' }));
    store.put({ key: 'a', value: '1' });
    store.put({ key: 'b', value: '1' });
    store.deleteRange({ key: 'a' });
    assert.deepEqual(brief(hub.pump()), [`${id}:put:a@3`, `${id}:delete:a@5`]);
    assert.deepEqual(hub.pump(), [], 'nothing is delivered twice');
  });

  test('a prefix watcher sees every key under the prefix; previous values only on request', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    const plain = created(hub.create({ type: 'watchCreate', key: 'p/', rangeEnd: prefixEnd('p/') }));
    const withPrev = created(hub.create({ type: 'watchCreate', key: 'p/', rangeEnd: prefixEnd('p/'), prevKv: true }));
    store.put({ key: 'p/1', value: 'x' });
    store.put({ key: 'q', value: 'x' });
    store.put({ key: 'p/1', value: 'y' });
    assert.deepEqual(brief(hub.pump()), [`${plain}:put:p/1@2`, `${plain}:put:p/1@4`, `${withPrev}:put:p/1@2`, `${withPrev}:put:p/1@4(prev x)`]);
  });

  test('a watcher from a past revision catches up from history, then follows live', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    for (let i = 0; i < 5; i++) store.put({ key: 'k', value: `${i}` }); // revisions 2..6
    const id = created(hub.create({ type: 'watchCreate', key: 'k', startRevision: 4 }));
    assert.equal(hub.isSynced(id), false);
    assert.deepEqual(brief(hub.pump()), [`${id}:put:k@4`, `${id}:put:k@5`, `${id}:put:k@6`]);
    assert.equal(hub.isSynced(id), true);
    store.put({ key: 'k', value: 'live' });
    assert.deepEqual(brief(hub.pump()), [`${id}:put:k@7`]);
  });

  test('a pump reads at most its bound of log events for all watchers together; the ones it left out go first next time', () => {
    // Twenty watchers catching up read the whole log each (issue #16: seconds of one turn after a leader change).
    const store = new MvccStore();
    const hub = new WatchHub(store);
    const writes = 2 * WATCH_BATCH_EVENTS_MAX;
    for (let i = 0; i < writes; i++) store.put({ key: `w/${i % 4}/${i}`, value: 'v' });
    const ids = [0, 1, 2, 3].map((w) => created(hub.create({ type: 'watchCreate', key: `w/${w}/`, rangeEnd: prefixEnd(`w/${w}/`), startRevision: 2 })));
    const batch = WATCH_BATCH_EVENTS_MAX / 4;
    const first = hub.pump(WATCH_BATCH_EVENTS_MAX + 1);
    assert.equal(hub.lastPumpScanned, 2 * WATCH_BATCH_EVENTS_MAX, 'two watchers read a batch each, then the bound stopped the pump');
    assert.deepEqual(first.map((r) => [r.watchId, r.events.length]), [[ids[0], batch], [ids[1], batch]]);
    const second = hub.pump(WATCH_BATCH_EVENTS_MAX + 1);
    assert.deepEqual(second.map((r) => [r.watchId, r.events.length]), [[ids[2], batch], [ids[3], batch]], 'the two left out come first');
    for (let i = 0; i < 2; i++) hub.pump(WATCH_BATCH_EVENTS_MAX + 1);
    assert.ok(ids.every((id) => hub.isSynced(id)), 'four pumps of two batches: all caught up');
    assert.deepEqual(hub.pump(), []);
    assert.equal(hub.lastPumpScanned, 0, 'every watcher synced: nothing read');
  });

  test('catch-up comes in bounded batches that never split a revision', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    const txnKeys = Array.from({ length: 30 }, (_, i) => `t/${i}`);
    for (let i = 0; i < WATCH_BATCH_EVENTS_MAX - 10; i++) store.put({ key: `s/${i}`, value: 'v' });
    store.txn({ compare: [], success: txnKeys.map((key) => ({ type: 'put', key, value: 'v' })), failure: [] });
    const txnRevision = store.revision;
    const id = created(hub.create({ type: 'watchCreate', key: '\0', rangeEnd: '\0', startRevision: 2 }));
    const first = hub.pump();
    const second = hub.pump();
    assert.equal(first[0]!.events.length, WATCH_BATCH_EVENTS_MAX - 10, 'the txn revision does not fit and waits whole');
    assert.deepEqual(second[0]!.events.map((e) => e.kv.modRevision), txnKeys.map(() => txnRevision));
    assert.equal(hub.isSynced(id), true);
  });

  test('filters drop puts or deletes', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    const noPut = created(hub.create({ type: 'watchCreate', key: 'k', filters: ['noPut'] }));
    store.put({ key: 'k', value: '1' });
    store.deleteRange({ key: 'k' });
    assert.deepEqual(brief(hub.pump()), [`${noPut}:delete:k@3`]);
  });

  test('a start revision older than the compaction is an error carrying the compact revision', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    for (let i = 0; i < 5; i++) store.put({ key: 'k', value: `${i}` });
    store.compact(5);
    const response = hub.create({ type: 'watchCreate', key: 'k', startRevision: 3 });
    assert.equal(response.type, 'error');
    assert.equal(response.type === 'error' && response.compactRevision, 5);
    assert.equal(response.type === 'error' && response.message, 'etcdserver: mvcc: required revision has been compacted');
    created(hub.create({ type: 'watchCreate', key: 'k', startRevision: 5 }));
  });

  test('an unsynced watcher overtaken by a compaction is canceled with the compact revision', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    for (let i = 0; i < 5; i++) store.put({ key: 'k', value: `${i}` });
    const id = created(hub.create({ type: 'watchCreate', key: 'k', startRevision: 2 }));
    store.compact(4);
    const [response] = hub.pump();
    assert.deepEqual([response?.watchId, response?.canceled, response?.compactRevision], [id, true, 4]);
    assert.equal(hub.size, 0);
  });

  test('progress notifications go to synced watchers only, with the current revision', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    store.put({ key: 'k', value: '1' });
    const synced = created(hub.create({ type: 'watchCreate', key: 'k', progressNotify: true }));
    const behind = created(hub.create({ type: 'watchCreate', key: 'k', startRevision: 2 }));
    const progress = hub.progress();
    assert.deepEqual(progress.map((r) => [r.watchId, r.header.revision, r.events.length]), [[synced, 2, 0]]);
    hub.pump();
    assert.deepEqual(hub.progress().map((r) => r.watchId), [synced, behind]);
    assert.deepEqual(hub.progress(true).map((r) => r.watchId), [synced]);
  });

  test('a canceled watcher gets nothing more; canceling twice is an error', () => {
    const store = new MvccStore();
    const hub = new WatchHub(store);
    const id = created(hub.create({ type: 'watchCreate', key: 'k' }));
    assert.equal(hub.cancel(id).type, 'watch');
    store.put({ key: 'k', value: '1' });
    assert.deepEqual(hub.pump(), []);
    assert.equal(hub.cancel(id).type, 'error');
  });
});
