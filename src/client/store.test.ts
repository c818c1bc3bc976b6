import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../api/types/index.js';
import { INDEX_CONTROLLER_UID, INDEX_NAMESPACE, INDEX_NODE_NAME, INDEX_OWNER_UID, Store, indexByControllerUid, indexByNamespace, indexByNodeName, indexByOwnerUid, objectKey, orphansOf } from './store.js';

function pod(namespace: string, name: string, nodeName?: string, owner?: string): Pod {
  return {
    metadata: { namespace, name, ownerReferences: owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: owner }] : undefined },
    spec: { containers: [], nodeName },
  };
}

describe('store and indexes', () => {
  test('keys are namespace/name, or name for cluster-scoped objects', () => {
    assert.equal(objectKey(pod('default', 'web')), 'default/web');
    assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  });

  test('indexes by namespace, node and owner follow updates and deletes', () => {
    const store = new Store<Pod>({ [INDEX_NAMESPACE]: indexByNamespace, [INDEX_NODE_NAME]: indexByNodeName, [INDEX_OWNER_UID]: indexByOwnerUid });
    store.upsert(pod('a', 'p1', 'n1', 'rs-1'));
    store.upsert(pod('a', 'p2', undefined, 'rs-1'));
    store.upsert(pod('b', 'p3', 'n1'));
    assert.deepEqual(store.byIndex(INDEX_NAMESPACE, 'a').map(objectKey).sort(), ['a/p1', 'a/p2']);
    assert.deepEqual(store.byIndex(INDEX_NODE_NAME, 'n1').map(objectKey).sort(), ['a/p1', 'b/p3']);
    assert.deepEqual(store.byIndex(INDEX_OWNER_UID, 'rs-1').map(objectKey).sort(), ['a/p1', 'a/p2']);

    store.upsert(pod('a', 'p2', 'n2', 'rs-1')); // bound
    assert.deepEqual(store.byIndex(INDEX_NODE_NAME, 'n2').map(objectKey), ['a/p2']);
    store.upsert(pod('a', 'p1', 'n1')); // released by its owner
    assert.deepEqual(store.byIndex(INDEX_OWNER_UID, 'rs-1').map(objectKey), ['a/p2']);
    store.delete('b/p3');
    assert.deepEqual(store.byIndex(INDEX_NODE_NAME, 'n1').map(objectKey), ['a/p1']);
    assert.deepEqual(store.indexValues(INDEX_NODE_NAME).sort(), ['n1', 'n2']);
    assert.equal(store.size, 2);
  });

  test('the controller index files a pod under its controller\'s uid, or as an orphan of its namespace, and follows adoption and release', () => {
    const store = new Store<Pod>({ [INDEX_CONTROLLER_UID]: indexByControllerUid });
    const controlled = (namespace: string, name: string, uid: string | undefined, controller = true): Pod => ({
      metadata: { namespace, name, ownerReferences: uid === undefined ? undefined : [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid, controller }] },
      spec: { containers: [] },
    });
    store.upsert(controlled('a', 'owned', 'rs-1'));
    store.upsert(controlled('a', 'loose', undefined));
    store.upsert(controlled('a', 'referenced-only', 'rs-1', false)); // an owner reference that is not a controller: still an orphan
    store.upsert(controlled('b', 'elsewhere', undefined));
    assert.deepEqual(store.byIndex(INDEX_CONTROLLER_UID, 'rs-1').map(objectKey), ['a/owned']);
    assert.deepEqual(store.byIndex(INDEX_CONTROLLER_UID, orphansOf('a')).map(objectKey).sort(), ['a/loose', 'a/referenced-only']);
    assert.deepEqual(store.byIndex(INDEX_CONTROLLER_UID, orphansOf('b')).map(objectKey), ['b/elsewhere']);
    store.upsert(controlled('a', 'loose', 'rs-1')); // adopted
    store.upsert(controlled('a', 'owned', undefined)); // released
    assert.deepEqual(store.byIndex(INDEX_CONTROLLER_UID, 'rs-1').map(objectKey), ['a/loose']);
    assert.deepEqual(store.byIndex(INDEX_CONTROLLER_UID, orphansOf('a')).map(objectKey).sort(), ['a/owned', 'a/referenced-only']);
  });

  test('over random upserts and deletes, every index equals one rebuilt from the objects (an update that leaves index values alone moves nothing)', () => {
    const indexers = { [INDEX_NAMESPACE]: indexByNamespace, [INDEX_NODE_NAME]: indexByNodeName, [INDEX_OWNER_UID]: indexByOwnerUid };
    const store = new Store<Pod>(indexers);
    let seed = 7;
    const pick = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    const owners = (): Pod['metadata']['ownerReferences'] => {
      const n = pick(3);
      return n === 0 ? undefined : Array.from({ length: n }, () => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: `rs-${pick(3)}` }));
    };
    for (let step = 0; step < 3_000; step++) {
      const name = `p${pick(40)}`;
      const namespace = `ns${pick(2)}`;
      if (pick(5) === 0) store.delete(`${namespace}/${name}`);
      else store.upsert({ metadata: { namespace, name, ownerReferences: owners(), resourceVersion: String(step) }, spec: { containers: [], nodeName: pick(3) === 0 ? undefined : `n${pick(4)}` } });
    }
    const all = store.list();
    for (const [indexName, fn] of Object.entries(indexers)) {
      const rebuilt = new Map<string, string[]>();
      for (const o of all) for (const v of new Set(fn(o))) rebuilt.set(v, [...(rebuilt.get(v) ?? []), objectKey(o)]);
      assert.deepEqual(store.indexValues(indexName).sort(), [...rebuilt.keys()].sort(), indexName);
      for (const [value, keys] of rebuilt) assert.deepEqual(store.byIndex(indexName, value).map(objectKey).sort(), keys.sort(), `${indexName}=${value}`);
    }
  });

  test('asking for an undeclared index throws', () => {
    assert.throws(() => new Store<Pod>().byIndex('nope', 'x'), /no index named/);
  });
});
