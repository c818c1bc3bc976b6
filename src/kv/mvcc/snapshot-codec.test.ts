import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import type { RequestOp } from '../protocol.js';
import { concatFrames as concatBytes } from '../../storage/record.js';
import { PackBufferPool, SnapshotDecoder, SnapshotEncoder, storeFromBytes, storeToBytes } from './snapshot-codec.js';
import { MvccStore } from './store.js';

function grown(keys: number, versions: number): MvccStore {
  const store = new MvccStore();
  store.leaseGrant({ id: 7, ttlSeconds: 30 });
  for (let v = 0; v < versions; v++) {
    for (let k = 0; k < keys; k++) store.put({ key: `k/${String(k).padStart(3, '0')}`, value: `v${v}-${'x'.repeat(k % 50)}`, lease: k % 10 === 0 ? 7 : 0 });
  }
  return store;
}

/** Every range at every revision the store still answers: what a snapshot must reproduce. */
function everyRead(store: MvccStore, from: number, to: number): unknown[] {
  const reads: unknown[] = [];
  for (let revision = from; revision <= to; revision++) reads.push(store.range({ type: 'range', key: '\0', rangeEnd: '\0', revision }));
  return reads;
}

describe('snapshot cursor and batched encoding', () => {
  test('a store encoded in many small batches restores to the same store as one encoded whole', () => {
    const store = grown(120, 3);
    const small = storeToBytes(store, 64);
    const whole = storeToBytes(store, Number.POSITIVE_INFINITY);
    assert.notDeepEqual(small, whole, 'the small budget really split the keys into several batches');
    assert.deepEqual(storeToBytes(storeFromBytes(small), Number.POSITIVE_INFINITY), whole);
    assert.deepEqual(everyRead(storeFromBytes(small), 1, store.revision), everyRead(store, 1, store.revision));
  });

  test('a cursor read while writes, deletions and a compaction go on yields the store as it was when opened', () => {
    const store = grown(100, 3);
    const expected = storeToBytes(store, Number.POSITIVE_INFINITY);
    const openedAt = store.revision;
    const encoder = new SnapshotEncoder(store.openSnapshotCursor(), 256);
    const parts = [encoder.header()];
    let step = 0;
    for (let batch = encoder.nextBatch(); batch !== undefined; batch = encoder.nextBatch(), step++) {
      parts.push(batch);
      // Between steps the replica goes on applying: new versions, new keys, deletions, and once a compaction.
      const ops: RequestOp[] = [
        { type: 'put', key: `k/${String((step * 7) % 100).padStart(3, '0')}`, value: `later-${step}` },
        { type: 'put', key: `new/${step}`, value: 'n' },
        { type: 'deleteRange', key: `k/${String((step * 13 + 50) % 100).padStart(3, '0')}` },
      ];
      for (const op of ops) store.apply(op);
      if (step === 2) assert.equal(store.compact(store.revision).type, 'compact');
    }
    assert.ok(step > 10, `read in ${step} steps`);
    // The compaction really dropped history the snapshot still needed: without the cursor keeping it, it would be lost.
    assert.equal(store.range({ type: 'range', key: 'k/099', revision: openedAt }).type, 'error');
    assert.deepEqual(storeToBytes(storeFromBytes(concatBytes(parts)), Number.POSITIVE_INFINITY), expected);
  });

  test('a closed cursor stops being kept up to date and refuses to be read', () => {
    const store = grown(10, 2);
    const cursor = store.openSnapshotCursor();
    cursor.close();
    assert.equal(store.compact(store.revision).type, 'compact');
    assert.throws(() => cursor.next(100), /after close/);
  });

  test('snapshots written in the first format (one msgpack value) still restore', () => {
    const store = grown(30, 2);
    const legacy = pack([1, store.toSnapshotData()]);
    assert.deepEqual(everyRead(storeFromBytes(legacy), 1, store.revision), everyRead(store, 1, store.revision));
  });

  test('bytes of an unknown format or not msgpack at all are refused with a message that says so', () => {
    assert.throws(() => storeFromBytes(pack([9, {}])), /unknown format 9; expected 1 or 2/);
    assert.throws(() => storeFromBytes(pack([2, { revision: 1, compactRevision: 0 }]).subarray(0, 6)), /do not decode as msgpack/);
    assert.throws(() => storeFromBytes(concatBytes([pack([2, { revision: 1, compactRevision: 0, nextLeaseId: 1, leases: [] }]), pack('oops')])), /batch 1 of 1 is string/);
  });
});

describe('batches packed into reused buffers', () => {
  test('are the bytes the plain encoder gives, though each buffer is reused once its batch is copied out', () => {
    const store = grown(120, 3);
    const plain = storeToBytes(store, 256);
    const cursor = store.openSnapshotCursor();
    const encoder = new SnapshotEncoder(cursor, 256);
    const pool = new PackBufferPool(4096, 2);
    const parts = [encoder.header()];
    const buffersSeen = new Set<ArrayBufferLike>();
    for (let batch = encoder.nextBatchPooled(pool); batch !== undefined; batch = encoder.nextBatchPooled(pool)) {
      parts.push(new Uint8Array(batch.bytes));
      assert.ok(batch.buffer !== undefined, 'a batch fits its buffer');
      buffersSeen.add(batch.buffer.buffer);
      pool.give(batch.buffer);
    }
    cursor.close();
    assert.ok(parts.length > 10 && buffersSeen.size === 1, `${parts.length - 1} batches packed into ${buffersSeen.size} buffer`);
    assert.deepEqual(concatBytes(parts), plain);
  });

  test('no later pack elsewhere writes into a pooled buffer, and a batch that outgrows its buffer is not handed back as pooled', () => {
    const store = grown(40, 2);
    const cursor = store.openSnapshotCursor();
    const encoder = new SnapshotEncoder(cursor, 1 << 20);
    const pool = new PackBufferPool(4096, 2);
    const batch = encoder.nextBatchPooled(pool)!;
    assert.equal(batch.buffer, undefined, 'the whole store outgrew a 4 KiB buffer');
    const store2 = grown(3, 1);
    const small = new SnapshotEncoder(store2.openSnapshotCursor(), 1 << 20).nextBatchPooled(new PackBufferPool(1 << 16, 1))!;
    const before = Buffer.from(small.bytes);
    const other = pack({ someone: 'else', packing: 'x'.repeat(1000) });
    assert.notEqual(other.buffer, small.buffer!.buffer, 'the module-wide msgpackr buffer was moved off the pooled one');
    assert.deepEqual(Buffer.from(small.bytes), before);
    cursor.close();
  });
});

describe('snapshot decoding in steps', () => {
  test('a snapshot decoded a few hundred bytes per step is the store decoded at once, in many steps', () => {
    const store = grown(120, 3);
    const bytes = storeToBytes(store, 64);
    const decoder = new SnapshotDecoder(bytes, 300);
    let restored: MvccStore | undefined;
    let steps = 0;
    while (restored === undefined) {
      restored = decoder.step();
      steps++;
    }
    assert.ok(steps > 20, `decoded in ${steps} steps`);
    assert.deepEqual(storeToBytes(restored, Number.POSITIVE_INFINITY), storeToBytes(store, Number.POSITIVE_INFINITY));
    assert.deepEqual(restored.eventsFrom(0), store.eventsFrom(0));
  });

  test('a first-format snapshot decodes in one step; a bad batch is refused', () => {
    const store = grown(30, 2);
    const legacy = new SnapshotDecoder(pack([1, store.toSnapshotData()])).step();
    assert.deepEqual(everyRead(legacy!, 1, store.revision), everyRead(store, 1, store.revision));
    const bad = concatBytes([pack([2, { revision: 1, compactRevision: 0, nextLeaseId: 1, leases: [] }]), pack('oops')]);
    assert.throws(() => new SnapshotDecoder(bad).step(), /batch 1 is string/);
  });
});
