import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../api/types/index.js';
import { ownershipChanged } from './garbage-collector.js';

const owned: Pod = {
  metadata: {
    namespace: 'a', name: 'p', uid: 'u1', resourceVersion: '5', finalizers: ['f'],
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-1', controller: true, blockOwnerDeletion: true }],
  },
  spec: { containers: [] },
};

test('the collector looks again at an update that changes owner references, finalizers or the deletion, not at a status write or a resync', () => {
  assert.equal(ownershipChanged(owned, owned), false, 'a resync hands the same object');
  assert.equal(ownershipChanged(owned, { ...owned, metadata: { ...owned.metadata, resourceVersion: '6' }, status: { phase: 'Running' } } as Pod), false, 'a status write');
  assert.equal(ownershipChanged(owned, structuredClone(owned)), false, 'an equal copy');
  const ref = owned.metadata.ownerReferences![0]!;
  const withRefs = (refs: typeof owned.metadata.ownerReferences): Pod => ({ ...owned, metadata: { ...owned.metadata, ownerReferences: refs } });
  assert.equal(ownershipChanged(owned, withRefs(undefined)), true, 'released');
  assert.equal(ownershipChanged(owned, withRefs([ref, { ...ref, uid: 'rs-2', controller: false }])), true, 'an owner added');
  for (const change of [{ uid: 'rs-9' }, { name: 'other' }, { kind: 'StatefulSet' }, { apiVersion: 'apps/v2' }, { controller: false }, { blockOwnerDeletion: false }]) {
    assert.equal(ownershipChanged(owned, withRefs([{ ...ref, ...change }])), true, JSON.stringify(change));
  }
  assert.equal(ownershipChanged(owned, { ...owned, metadata: { ...owned.metadata, finalizers: [] } }), true, 'a finalizer removed');
  assert.equal(ownershipChanged(owned, { ...owned, metadata: { ...owned.metadata, deletionTimestamp: '2026-12-07T00:00:00Z' } }), true, 'deletion began');
});
