import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApplyResponse, KeyValue, RangeResponse, RequestOp } from '../protocol.js';
import { prefixEnd } from '../protocol.js';
import { REQUEST_BYTES_MAX, TXN_OPS_MAX } from './errors.js';
import { checkProposal } from './proposal.js';
import { storeFromBytes, storeToBytes } from './snapshot-codec.js';
import { MvccStore } from './store.js';

function ok<T extends ApplyResponse>(response: T): Exclude<T, { type: 'error' }> {
  assert.notEqual(response.type, 'error', JSON.stringify(response));
  return response as Exclude<T, { type: 'error' }>;
}
const keysOf = (response: ApplyResponse): string[] => (ok(response) as RangeResponse).kvs.map((kv) => kv.key);
const get = (store: MvccStore, key: string, revision = 0): KeyValue | undefined => ok(store.range({ type: 'range', key, revision })).kvs[0];
const put = (key: string, value: string): RequestOp => ({ type: 'put', key, value });

function seeded(): MvccStore {
  const store = new MvccStore();
  for (const key of ['a', 'b', 'b/1', 'b/2', 'c']) store.put({ key, value: `v-${key}` });
  return store; // revisions 2..6
}

describe('MVCC revisions', () => {
  test('an empty store is at revision 1 and the first write gets revision 2', () => {
    const store = new MvccStore();
    assert.equal(store.revision, 1);
    assert.equal(ok(store.put({ key: 'k', value: 'v' })).header.revision, 2);
  });

  test('a key carries create revision, mod revision and version', () => {
    const store = new MvccStore();
    store.put({ key: 'k', value: '1' });
    store.put({ key: 'other', value: 'x' });
    store.put({ key: 'k', value: '2' });
    assert.deepEqual(get(store, 'k'), { key: 'k', value: '2', createRevision: 2, modRevision: 4, version: 2, lease: 0 });
  });

  test('deleting and putting again starts a new generation: version 1, new create revision', () => {
    const store = new MvccStore();
    store.put({ key: 'k', value: '1' });
    store.deleteRange({ key: 'k' });
    store.put({ key: 'k', value: '2' });
    assert.deepEqual(get(store, 'k'), { key: 'k', value: '2', createRevision: 4, modRevision: 4, version: 1, lease: 0 });
  });

  test('a delete that matches nothing does not create a revision', () => {
    const store = seeded();
    assert.equal(ok(store.deleteRange({ key: 'zzz' })).deleted, 0);
    assert.equal(store.revision, 6);
  });
});

describe('Range', () => {
  const cases: Array<[string, Parameters<MvccStore['range']>[0], string[]]> = [
    ['one key', { type: 'range', key: 'b' }, ['b']],
    ['a missing key', { type: 'range', key: 'nope' }, []],
    ['a prefix', { type: 'range', key: 'b/', rangeEnd: prefixEnd('b/') }, ['b/1', 'b/2']],
    ['a half-open range', { type: 'range', key: 'a', rangeEnd: 'b/2' }, ['a', 'b', 'b/1']],
    ["every key from 'b' on (range end \\0)", { type: 'range', key: 'b', rangeEnd: '\0' }, ['b', 'b/1', 'b/2', 'c']],
    ['every key (key and range end \\0)', { type: 'range', key: '\0', rangeEnd: '\0' }, ['a', 'b', 'b/1', 'b/2', 'c']],
    ['a limit, sorted ascending', { type: 'range', key: 'a', rangeEnd: '\0', limit: 2 }, ['a', 'b']],
    ['at a past revision', { type: 'range', key: 'a', rangeEnd: '\0', revision: 3 }, ['a', 'b']],
  ];
  for (const [name, request, expected] of cases) {
    test(`selects ${name}`, () => {
      assert.deepEqual(keysOf(seeded().range(request)), expected);
    });
  }

  test('a limit reports the full count and that there is more', () => {
    const response = ok(seeded().range({ type: 'range', key: 'a', rangeEnd: '\0', limit: 2 }));
    assert.equal(response.count, 5);
    assert.equal(response.more, true);
  });

  test('count only returns the count and no kvs; keys only drops values', () => {
    const store = seeded();
    const counted = ok(store.range({ type: 'range', key: 'b', rangeEnd: prefixEnd('b'), countOnly: true }));
    assert.deepEqual([counted.count, counted.kvs.length], [3, 0]);
    const keysOnly = ok(store.range({ type: 'range', key: 'a', keysOnly: true }));
    assert.deepEqual(keysOnly.kvs[0], { key: 'a', value: '', createRevision: 2, modRevision: 2, version: 1, lease: 0 });
  });

  test('a past revision sees the value then, and not keys deleted later... but deleted keys are gone now', () => {
    const store = seeded();
    store.put({ key: 'a', value: 'new' });
    store.deleteRange({ key: 'c' });
    assert.equal(get(store, 'a', 6)?.value, 'v-a');
    assert.equal(get(store, 'a')?.value, 'new');
    assert.equal(get(store, 'c', 6)?.value, 'v-c');
    assert.equal(get(store, 'c'), undefined);
  });

  test('a future revision is an error, as in etcd', () => {
    const response = seeded().range({ type: 'range', key: 'a', revision: 99 });
    assert.equal(response.type === 'error' && response.message, 'etcdserver: mvcc: required revision is a future revision');
  });
});

describe('Put and DeleteRange', () => {
  test('put returns the previous pair only on request', () => {
    const store = seeded();
    assert.equal(ok(store.put({ key: 'a', value: 'x' })).prevKv, undefined);
    assert.equal(ok(store.put({ key: 'a', value: 'y', prevKv: true })).prevKv?.value, 'x');
    assert.equal(ok(store.put({ key: 'fresh', value: 'y', prevKv: true })).prevKv, undefined);
  });

  test('deleteRange deletes every key in the range in one revision, returning previous pairs on request', () => {
    const store = seeded();
    const response = ok(store.deleteRange({ key: 'b', rangeEnd: prefixEnd('b'), prevKv: true }));
    assert.equal(response.deleted, 3);
    assert.deepEqual(response.prevKvs.map((kv) => kv.value), ['v-b', 'v-b/1', 'v-b/2']);
    assert.equal(store.revision, 7);
    assert.deepEqual(keysOf(store.range({ type: 'range', key: '\0', rangeEnd: '\0' })), ['a', 'c']);
  });

  test('an empty key is rejected', () => {
    assert.equal(new MvccStore().put({ key: '', value: 'v' }).type, 'error');
  });
});

describe('Txn', () => {
  const compareCases: Array<[string, Parameters<MvccStore['txn']>[0]['compare'][number], boolean]> = [
    ['value equal', { key: 'a', target: 'value', result: 'equal', value: 'v-a' }, true],
    ['value greater', { key: 'a', target: 'value', result: 'greater', value: 'v-0' }, true],
    ['value of a missing key never holds', { key: 'zz', target: 'value', result: 'notEqual', value: 'x' }, false],
    ['version equal 0 means missing', { key: 'zz', target: 'version', result: 'equal', value: 0 }, true],
    ['version less', { key: 'a', target: 'version', result: 'less', value: 1 }, false],
    ['create revision equal', { key: 'b', target: 'createRevision', result: 'equal', value: 3 }, true],
    ['mod revision greater', { key: 'c', target: 'modRevision', result: 'greater', value: 5 }, true],
    ['lease equal 0', { key: 'a', target: 'lease', result: 'equal', value: 0 }, true],
    ['a range compare needs every key', { key: 'b', rangeEnd: prefixEnd('b'), target: 'modRevision', result: 'greater', value: 3 }, false],
  ];
  for (const [name, compare, expected] of compareCases) {
    test(`compare: ${name} → ${expected ? 'success' : 'failure'} branch`, () => {
      const response = ok(seeded().txn({ compare: [compare], success: [put('s', '1')], failure: [put('f', '1')] }));
      assert.equal(response.succeeded, expected);
    });
  }

  test('all writes of a txn share one revision; its reads see its own earlier writes', () => {
    const store = seeded();
    const response = ok(
      store.txn({
        compare: [],
        success: [put('x', '1'), { type: 'range', key: 'x' }, { type: 'deleteRange', key: 'a' }, put('y', '2')],
        failure: [],
      }),
    );
    assert.equal(store.revision, 7);
    assert.equal(response.header.revision, 7);
    const read = response.responses[1] as RangeResponse;
    assert.equal(read.kvs[0]?.value, '1');
    assert.equal(get(store, 'x')?.modRevision, 7);
    assert.equal(get(store, 'y')?.modRevision, 7);
  });

  test('nested txns take their own branch', () => {
    const store = seeded();
    const response = ok(
      store.txn({
        compare: [],
        success: [{ type: 'txn', compare: [{ key: 'a', target: 'version', result: 'equal', value: 9 }], success: [put('n', 'yes')], failure: [put('n', 'no')] }],
        failure: [],
      }),
    );
    assert.equal((response.responses[0] as { succeeded: boolean }).succeeded, false);
    assert.equal(get(store, 'n')?.value, 'no');
  });

  test('a txn that fails midway changes nothing: earlier writes are rolled back, no revision is used', () => {
    const store = seeded();
    const before = storeToBytes(store);
    const response = store.txn({ compare: [], success: [put('x', '1'), { type: 'deleteRange', key: 'a' }, { type: 'put', key: 'y', value: '2', lease: 42 }], failure: [] });
    assert.equal(response.type === 'error' && response.code, 'leaseNotFound');
    assert.equal(store.revision, 6);
    assert.deepEqual(storeToBytes(store), before);
  });

  test('a txn that fails midway puts every lease attachment back: keys moved between leases, attached, detached, deleted', () => {
    const store = seeded();
    ok(store.leaseGrant({ id: 1, ttlSeconds: 10 }));
    ok(store.leaseGrant({ id: 2, ttlSeconds: 10 }));
    ok(store.txn({ compare: [], success: [{ type: 'put', key: 'a', value: 'on 1', lease: 1 }, { type: 'put', key: 'b', value: 'on 1', lease: 1 }, { type: 'put', key: 'c', value: 'on 2', lease: 2 }], failure: [] }));
    const before = storeToBytes(store);
    const revision = store.revision;
    const response = store.txn({
      compare: [],
      success: [
        { type: 'put', key: 'a', value: 'to 2', lease: 2 },
        { type: 'deleteRange', key: 'b' },
        { type: 'put', key: 'c', value: 'off', lease: 0 },
        { type: 'put', key: 'new', value: 'on 1', lease: 1 },
        { type: 'put', key: 'b/1', value: 'on 2', lease: 2 },
        { type: 'put', key: 'z', value: 'x', lease: 42 },
      ],
      failure: [],
    });
    assert.equal(response.type === 'error' && response.code, 'leaseNotFound');
    assert.equal(store.revision, revision);
    assert.deepEqual(storeToBytes(store), before);
    assert.deepEqual(store.lease(1)?.keys, ['a', 'b']);
    assert.deepEqual(store.lease(2)?.keys, ['c']);
    ok(store.leaseRevoke(1));
    assert.deepEqual(keysOf(store.range({ type: 'range', key: '', rangeEnd: '\0' })), ['b/1', 'b/2', 'c']);
  });

  test('too many operations and duplicate keys are rejected with etcd messages', () => {
    const store = seeded();
    const many = Array.from({ length: TXN_OPS_MAX + 1 }, (_, i) => put(`k${i}`, 'v'));
    const tooMany = store.txn({ compare: [], success: many, failure: [] });
    assert.equal(tooMany.type === 'error' && tooMany.message, 'etcdserver: too many operations in txn request');
    const duplicate = store.txn({ compare: [], success: [put('k', '1'), put('k', '2')], failure: [] });
    assert.equal(duplicate.type === 'error' && duplicate.message, 'etcdserver: duplicate key given in txn request');
    assert.equal(store.revision, 6);
  });
});

describe('Compact', () => {
  test('revisions before the compaction are gone; reading there reports the compact revision', () => {
    const store = seeded();
    store.put({ key: 'a', value: 'new' }); // 7
    ok(store.compact(6));
    const response = store.range({ type: 'range', key: 'a', revision: 5 });
    assert.equal(response.type === 'error' && response.code, 'compacted');
    assert.equal(response.type === 'error' && response.compactRevision, 6);
    assert.equal(get(store, 'a', 6)?.value, 'v-a', 'the newest version at the compact revision is kept');
    assert.equal(get(store, 'a')?.value, 'new');
  });

  test('compacting again at or below the compact revision is an error; beyond the current one too', () => {
    const store = seeded();
    ok(store.compact(4));
    assert.equal(store.compact(4).type, 'error');
    assert.equal(store.compact(99).type, 'error');
  });

  test('compaction removes keys whose last version is a deletion', () => {
    const store = seeded();
    store.deleteRange({ key: 'c' });
    ok(store.compact(store.revision));
    assert.equal(store.toSnapshotData().keys.some(([key]) => key === 'c'), false);
  });
});

describe('Leases in the store', () => {
  test('grant assigns ids deterministically; granting an existing id is an error', () => {
    const store = new MvccStore();
    assert.equal(ok(store.leaseGrant({ id: 0, ttlSeconds: 10 })).id, 1);
    assert.equal(ok(store.leaseGrant({ id: 7, ttlSeconds: 10 })).id, 7);
    assert.equal(ok(store.leaseGrant({ id: 0, ttlSeconds: 10 })).id, 8);
    const again = store.leaseGrant({ id: 7, ttlSeconds: 10 });
    assert.equal(again.type === 'error' && again.message, 'etcdserver: lease already exists');
  });

  test('a put naming a missing lease is an error', () => {
    const response = new MvccStore().put({ key: 'k', value: 'v', lease: 5 });
    assert.equal(response.type === 'error' && response.message, 'etcdserver: requested lease not found');
  });

  test('revoking a lease deletes its keys in one revision; keys moved to another lease stay', () => {
    const store = new MvccStore();
    store.leaseGrant({ id: 1, ttlSeconds: 10 });
    store.leaseGrant({ id: 2, ttlSeconds: 10 });
    store.put({ key: 'a', value: '1', lease: 1 });
    store.put({ key: 'b', value: '1', lease: 1 });
    store.put({ key: 'c', value: '1', lease: 1 });
    store.put({ key: 'c', value: '2', lease: 2 });
    assert.deepEqual(store.lease(1)?.keys, ['a', 'b']);
    ok(store.leaseRevoke(1));
    assert.equal(store.revision, 6, 'puts took revisions 2..5; the revoke deletes a and b together at 6');
    assert.deepEqual(store.eventsFrom(6).map((e) => [e.revision, e.event.type, e.event.kv.key]), [
      [6, 'delete', 'a'],
      [6, 'delete', 'b'],
    ]);
    assert.deepEqual(keysOf(store.range({ type: 'range', key: '\0', rangeEnd: '\0' })), ['c']);
    assert.equal(store.lease(1), undefined);
    assert.equal(store.leaseRevoke(1).type, 'error');
  });
});

/** A seeded mix of puts (some leased), deletes, txns and compactions over 20 keys. */
function randomOps(seed: number, count: number): Parameters<MvccStore['apply']>[0][] {
  let state = seed;
  const next = (n: number): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) % n);
  const ops: Parameters<MvccStore['apply']>[0][] = [{ type: 'leaseGrant', id: 0, ttlSeconds: 5 }];
  for (let i = 0; i < count; i++) {
    const key = `k/${next(20)}`;
    const roll = next(10);
    if (roll < 5) ops.push({ type: 'put', key, value: `v${i}`, lease: next(4) === 0 ? 1 : 0 });
    else if (roll < 7) ops.push({ type: 'deleteRange', key, rangeEnd: next(2) === 0 ? '' : `k/${next(20)}` });
    else if (roll < 9) ops.push({ type: 'txn', compare: [{ key, target: 'version', result: 'greater', value: next(3) }], success: [put(key, `t${i}`)], failure: [{ type: 'deleteRange', key }] });
    else ops.push({ type: 'compact', revision: 2 + next(i + 1) });
  }
  return ops;
}

describe('Snapshot and determinism', () => {
  test('replicas applying the same requests end byte-identical', () => {
    const ops = randomOps(11, 400);
    const one = new MvccStore();
    const two = new MvccStore();
    const responsesOne = ops.map((op) => one.apply(op));
    const responsesTwo = ops.map((op) => two.apply(op));
    assert.deepEqual(responsesOne, responsesTwo);
    assert.deepEqual(storeToBytes(one), storeToBytes(two));
  });

  test('a compaction in steps answers every read as one done at once, between steps and writes alike, and ends byte-identical', () => {
    // The replicas compact in steps (a few keys a turn) while writes go on; nothing a client sees may differ.
    for (const seed of [3, 7, 19]) {
      const atOnce = new MvccStore();
      const inSteps = new MvccStore();
      inSteps.compactInSteps = true;
      let steps = 0;
      for (const op of randomOps(seed, 400)) {
        assert.deepEqual(inSteps.apply(op), atOnce.apply(op), `seed ${seed}: ${JSON.stringify(op)}`);
        if (inSteps.compactStep(3) > 0) steps++;
        for (let revision = atOnce.compactRevision - 1; revision <= atOnce.revision; revision++) {
          const request = { type: 'range' as const, key: '\0', rangeEnd: '\0', revision };
          assert.deepEqual(inSteps.range(request), atOnce.range(request), `seed ${seed}: a range at ${revision}`);
        }
        assert.deepEqual(inSteps.eventsFrom(0), atOnce.eventsFrom(0), `seed ${seed}: the event log`);
      }
      assert.ok(steps > 20, `seed ${seed}: the compactions went in steps (${steps})`);
      // A snapshot taken before the steps are done holds versions no read reaches; restored, it drops them.
      const compacting = inSteps.compacting;
      assert.deepEqual(storeToBytes(storeFromBytes(storeToBytes(inSteps))), storeToBytes(atOnce), `seed ${seed}: a snapshot mid-compaction (${compacting}) restores as the store compacted at once`);
      while (inSteps.compacting) inSteps.compactStep(3);
      assert.deepEqual(storeToBytes(inSteps), storeToBytes(atOnce), `seed ${seed}: the steps done, the stores are byte-identical`);
    }
  });

  test('a compaction step visits at most its bound of keys, and a later compaction overtakes one in progress', () => {
    const store = new MvccStore();
    const atOnce = new MvccStore();
    store.compactInSteps = true;
    for (const s of [store, atOnce]) {
      for (let i = 0; i < 25; i++) for (const value of ['1', '2']) s.put({ key: `k${String(i).padStart(2, '0')}`, value });
      s.deleteRange({ key: 'k24' });
      ok(s.compact(s.revision - 10));
    }
    assert.equal(store.compactStep(10), 10);
    assert.ok(store.compacting);
    // A snapshot taken now holds versions no read reaches; restored, it drops them.
    assert.deepEqual(storeToBytes(storeFromBytes(storeToBytes(store))), storeToBytes(atOnce), 'a snapshot mid-compaction restores as the store compacted at once');
    store.put({ key: 'k00', value: '3' });
    ok(store.compact(store.revision));
    const visited: number[] = [];
    while (store.compacting) visited.push(store.compactStep(10));
    assert.deepEqual(visited, [10, 10, 5], 'the second compaction starts over: every key, 10 a step');
    assert.deepEqual(store.toSnapshotData().keys.map(([, versions]) => versions.length), Array(24).fill(1), 'one version left a key, none of the deleted one');
  });

  test('a restored snapshot answers every range, past revisions included, like the original', () => {
    const ops = randomOps(5, 300);
    const original = new MvccStore();
    for (const op of ops) original.apply(op);
    const restored = storeFromBytes(storeToBytes(original));
    assert.equal(restored.revision, original.revision);
    assert.equal(restored.compactRevision, original.compactRevision);
    for (let revision = original.compactRevision; revision <= original.revision; revision++) {
      const request = { type: 'range' as const, key: '\0', rangeEnd: '\0', revision };
      assert.deepEqual(restored.range(request), original.range(request), `at revision ${revision}`);
    }
    assert.deepEqual(restored.eventsFrom(0), original.eventsFrom(0));
    assert.deepEqual(restored.lease(1), original.lease(1));
  });

  test('a naive model that keeps every revision agrees with the store on every read', () => {
    // The oracle: the full key map at every revision. Catches a wrong version, create revision or visibility.
    const store = new MvccStore();
    const history: Array<Map<string, KeyValue>> = [new Map(), new Map()];
    const ops = randomOps(23, 300).filter((op) => op.type !== 'compact' && op.type !== 'txn');
    for (const op of ops) {
      store.apply(op);
      const latest = history[history.length - 1]!;
      if (store.revision === history.length - 1) continue;
      const next = new Map(latest);
      const revision = store.revision;
      if (op.type === 'put') {
        const prev = latest.get(op.key);
        next.set(op.key, { key: op.key, value: op.value, createRevision: prev?.createRevision ?? revision, modRevision: revision, version: (prev?.version ?? 0) + 1, lease: op.lease ?? 0 });
      } else if (op.type === 'deleteRange') {
        for (const key of latest.keys()) {
          const inRange = op.rangeEnd === undefined || op.rangeEnd === '' ? key === op.key : key >= op.key && key < op.rangeEnd;
          if (inRange) next.delete(key);
        }
      }
      history.push(next);
      assert.equal(history.length - 1, store.revision);
    }
    for (let revision = 1; revision < history.length; revision++) {
      const expected = [...history[revision]!.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      assert.deepEqual(ok(store.range({ type: 'range', key: '\0', rangeEnd: '\0', revision })).kvs, expected, `revision ${revision}`);
    }
  });
});

describe('Proposal checks', () => {
  test('requests over 1.5 MiB and nested txns over the op limit are refused before proposing', () => {
    assert.equal(checkProposal({ type: 'put', key: 'k', value: 'v' }, REQUEST_BYTES_MAX + 1)?.message, 'etcdserver: request is too large');
    const nested: RequestOp = { type: 'txn', compare: [], success: Array.from({ length: TXN_OPS_MAX + 1 }, () => put('k', 'v')), failure: [] };
    assert.equal(checkProposal({ type: 'txn', compare: [], success: [nested], failure: [] }, 100)?.code, 'tooManyOps');
    assert.equal(checkProposal({ type: 'put', key: 'k', value: 'v' }, 100), undefined);
  });
});
