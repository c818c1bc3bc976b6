import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIST_SNAPSHOT_TTL_MS, ListSnapshots, pageOf, type ListSnapshot } from './list-snapshots.js';
import { findResource } from './resources.js';
import { ADMIN, startHandlers, tick } from './testing.js';
import type { KubeObject, List } from './types/index.js';

const configmaps = { group: '', version: 'v1', resource: 'configmaps', namespace: 'default' } as const;
const configmapInfo = findResource('', 'v1', 'configmaps')!;

/** Counts the LISTs the registry sends to the store from now on (the cache's misses). */
function countStoreLists(registry: Awaited<ReturnType<typeof startHandlers>>['registry']): { count: number } {
  const counter = { count: 0 };
  const listFromStore = registry.listFromStore.bind(registry);
  registry.listFromStore = (...args) => {
    counter.count++;
    return listFromStore(...args);
  };
  return counter;
}

function snapshotOf(names: string[], revision = 7): ListSnapshot {
  const keys = names.map((n) => `/registry/configmaps/default/${n}`);
  return { revision, keys, items: names.map((name) => ({ metadata: { name } }) as KubeObject) };
}
const namesOf = (items: readonly KubeObject[]) => items.map((o) => o.metadata.name);

test('pages of a snapshot follow key order, each starting at the first key at or after the token, the last without a next key', () => {
  const snapshot = snapshotOf(['a', 'b', 'c', 'd', 'e']);
  const first = pageOf(snapshot, undefined, 2);
  assert.deepEqual(namesOf(first.items), ['a', 'b']);
  assert.equal(first.nextKey, '/registry/configmaps/default/c');
  const second = pageOf(snapshot, first.nextKey, 2);
  assert.deepEqual(namesOf(second.items), ['c', 'd']);
  const last = pageOf(snapshot, second.nextKey, 2);
  assert.deepEqual(namesOf(last.items), ['e']);
  assert.equal(last.nextKey, undefined);
  // A start key between two keys (the store's tokens name the next key to read) starts at the next one.
  assert.deepEqual(namesOf(pageOf(snapshot, '/registry/configmaps/default/bb', 10).items), ['c', 'd', 'e']);
  assert.deepEqual(namesOf(pageOf(snapshot, undefined, 0).items), ['a', 'b', 'c', 'd', 'e'], 'limit 0: everything');
  assert.equal(pageOf(snapshotOf([]), undefined, 2).nextKey, undefined);
});

test('snapshots are found by list and exact revision, expire after their TTL, and the oldest goes past the maximum', () => {
  const kept = new ListSnapshots(2, 1_000);
  kept.put('pods|a', snapshotOf(['x'], 5), 0);
  assert.ok(kept.get('pods|a', 5, 999) !== undefined);
  assert.equal(kept.get('pods|a', 6, 999), undefined, 'another revision is another snapshot');
  assert.equal(kept.get('pods|b', 5, 999), undefined, 'another list is another snapshot');
  assert.equal(kept.get('pods|a', 5, 1_000), undefined, 'expired at its TTL');
  kept.put('pods|a', snapshotOf(['x'], 1), 2_000);
  kept.put('pods|a', snapshotOf(['x'], 2), 2_000);
  kept.put('pods|a', snapshotOf(['x'], 3), 2_000);
  assert.equal(kept.size, 2);
  assert.equal(kept.get('pods|a', 1, 2_000), undefined, 'the oldest went');
  assert.ok(kept.get('pods|a', 3, 2_000) !== undefined);
});

async function listed(handlers: Awaited<ReturnType<typeof startHandlers>>['handlers'], query: Record<string, unknown>): Promise<List> {
  return (await handlers.handle({ verb: 'list', ...configmaps, query }, ADMIN)).body as List;
}

test('a paged list without a resourceVersion returns every object at one revision from the cache, whatever is written between its pages', async () => {
  const { handlers, registry } = await startHandlers();
  for (const name of ['a', 'b', 'c', 'd', 'e']) await registry.create(configmapInfo, 'default', { metadata: { name }, data: { v: '1' } });
  await tick();
  const storeLists = countStoreLists(registry);
  const first = await listed(handlers, { limit: 2 });
  const revision = first.metadata?.resourceVersion;
  // Between the pages: an object before the cursor changes, one after it goes, one is added after it.
  await registry.update(configmapInfo, 'default', 'a', { metadata: { name: 'a' }, data: { v: '2' } });
  await registry.delete(configmapInfo, 'default', 'd');
  await registry.create(configmapInfo, 'default', { metadata: { name: 'f' }, data: { v: '1' } });
  await tick();
  const pages = [first];
  while (pages.at(-1)!.metadata?.continue) pages.push(await listed(handlers, { limit: 2, continue: pages.at(-1)!.metadata!.continue }));
  assert.deepEqual(pages.map((p) => p.items.length), [2, 2, 1]);
  assert.deepEqual(pages.flatMap((p) => namesOf(p.items)), ['a', 'b', 'c', 'd', 'e'], 'the objects of the first page\'s revision, d included, f not');
  for (const page of pages) assert.equal(page.metadata?.resourceVersion, revision, 'every page at the first page\'s revision');
  assert.equal(storeLists.count, 0, 'served from the cache');
});

test('a continue token whose snapshot has expired is served by the store at the token\'s revision, with the same objects', async () => {
  const { handlers, registry, clock } = await startHandlers();
  for (const name of ['a', 'b', 'c']) await registry.create(configmapInfo, 'default', { metadata: { name } });
  await tick();
  const storeLists = countStoreLists(registry);
  const first = await listed(handlers, { limit: 2 });
  await registry.delete(configmapInfo, 'default', 'c');
  await tick();
  clock.advance(LIST_SNAPSHOT_TTL_MS);
  const rest = await listed(handlers, { limit: 2, continue: first.metadata?.continue });
  assert.equal(storeLists.count, 1, 'the snapshot is gone: the store serves the page');
  assert.deepEqual(namesOf(rest.items), ['c'], 'at the token\'s revision, where c still exists');
  assert.equal(rest.metadata?.resourceVersion, first.metadata?.resourceVersion);
});

test('a continue token for another list is refused, as the store refuses it', async () => {
  const { handlers, registry } = await startHandlers();
  for (const name of ['a', 'b']) await registry.create(configmapInfo, 'default', { metadata: { name } });
  await tick();
  const first = await listed(handlers, { limit: 1 });
  await assert.rejects(
    handlers.handle({ verb: 'list', ...configmaps, namespace: 'other', query: { limit: 1, continue: first.metadata?.continue } }, ADMIN),
    (e: unknown) => (e as { code?: number }).code === 400,
  );
});
