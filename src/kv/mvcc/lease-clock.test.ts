import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseClock } from './lease-clock.js';
import { MvccStore } from './store.js';

function storeWithLeases(): MvccStore {
  const store = new MvccStore();
  store.leaseGrant({ id: 1, ttlSeconds: 10 });
  store.leaseGrant({ id: 2, ttlSeconds: 30 });
  store.put({ key: 'session/1', value: 'x', lease: 1 });
  return store;
}

describe('LeaseClock (leader side)', () => {
  test('a lease expires one TTL after the leader took over, and not before', () => {
    const store = storeWithLeases();
    const clock = new LeaseClock(store);
    clock.promote(1_000);
    assert.deepEqual(clock.expired(10_999), []);
    assert.deepEqual(clock.expired(11_000), [1]);
    assert.deepEqual(clock.expired(31_000), [1, 2], 'oldest deadline first');
  });

  test('keep-alive pushes the deadline a full TTL from now', () => {
    const store = storeWithLeases();
    const clock = new LeaseClock(store);
    clock.promote(0);
    assert.equal(clock.keepAlive(1, 8_000), 10);
    assert.deepEqual(clock.expired(12_000), []);
    assert.equal(clock.remainingSeconds(1, 12_000), 6);
    assert.deepEqual(clock.expired(18_000), [1]);
    assert.equal(clock.keepAlive(99, 0), undefined, 'unknown lease');
  });

  test('an expired lease stays listed until its revoke is applied; applying it deletes the keys in one revision', () => {
    const store = storeWithLeases();
    const clock = new LeaseClock(store);
    clock.promote(0);
    assert.deepEqual(clock.expired(10_000), [1]);
    assert.deepEqual(clock.expired(10_001), [1], 'a lost proposal is proposed again');
    const before = store.revision;
    store.apply({ type: 'leaseRevoke', id: 1 });
    assert.equal(store.revision, before + 1);
    assert.deepEqual((store.range({ type: 'range', key: 'session/1' }) as { kvs: unknown[] }).kvs, []);
    assert.deepEqual(clock.expired(10_002), []);
  });

  test('a new leader gives every lease a full TTL again (it cannot know the old deadlines)', () => {
    const store = storeWithLeases();
    const clock = new LeaseClock(store);
    clock.promote(0);
    clock.promote(9_000);
    assert.deepEqual(clock.expired(18_999), []);
    assert.deepEqual(clock.expired(19_000), [1]);
  });
});
