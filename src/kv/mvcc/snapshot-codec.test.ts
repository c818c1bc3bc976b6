import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import type { RequestOp } from '../protocol.js';
import { concatFrames as concatBytes } from '../../storage/record.js';
import { chainLinkToBytes, PackBufferPool, SnapshotDecoder, SnapshotEncoder, storeFromBytes, storeToBytes } from './snapshot-codec.js';
import { MvccStore } from './store.js';
import { seededRandom } from '../../api/testing.js';

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
    assert.throws(() => storeFromBytes(concatBytes([pack([2, { revision: 1, compactRevision: 0, nextLeaseId: 1, leases: [] }]), pack('oops')])), /batch 1 is string/);
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

/** Everything a restored store must agree on: every key's history, the header, leases and their keys, the watch log. */
function stateOf(store: MvccStore): unknown {
  return {
    bytes: storeToBytes(store, Number.POSITIVE_INFINITY),
    leases: store.leaseIds().map((id) => store.lease(id)),
    events: store.eventsFrom(0),
    revision: store.revision,
    compactRevision: store.compactRevision,
  };
}

describe('chains of delta snapshots (issues #16, #22)', () => {
  /** One random write, deletion, txn, lease change or compaction (in steps, as replicas compact). */
  function randomOp(store: MvccStore, rnd: () => number): void {
    const key = `k/${Math.floor(rnd() * 60)}`;
    const r = rnd();
    const leases = store.leaseIds();
    if (r < 0.5) store.put({ key, value: `v${store.revision}-${'y'.repeat(Math.floor(rnd() * 20))}`, lease: leases.length > 0 && rnd() < 0.2 ? leases[Math.floor(rnd() * leases.length)]! : 0 });
    else if (r < 0.65) store.deleteRange({ key });
    else if (r < 0.7) store.deleteRange({ key: 'k/', rangeEnd: `k/${Math.floor(rnd() * 3)}` });
    else if (r < 0.78) store.txn({ compare: [], success: [{ type: 'put', key, value: 'txn' }, { type: 'deleteRange', key: `${key}x` }], failure: [] });
    else if (r < 0.82) store.leaseGrant({ id: 0, ttlSeconds: 10 + Math.floor(rnd() * 50) });
    else if (r < 0.85 && leases.length > 0) store.leaseRevoke(leases[Math.floor(rnd() * leases.length)]!);
    else if (r < 0.9 && store.revision > store.compactRevision + 1) store.compact(store.compactRevision + 1 + Math.floor(rnd() * (store.revision - store.compactRevision)));
    else store.compactStep(1 + Math.floor(rnd() * 20));
  }

  test('a chain restores exactly the store a whole snapshot at the same revision restores, over random writes, compactions and leases', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = seededRandom(seed);
      const store = new MvccStore();
      store.compactInSteps = true;
      store.trackSnapshotChanges();
      const links: Uint8Array[] = [];
      let baseRevision: number | undefined;
      let deltas = 0;
      for (let link = 0; link < 8; link++) {
        for (let i = Math.floor(rnd() * 120); i > 0; i--) randomOp(store, rnd);
        // Sometimes a snapshot is begun and abandoned (the leader's snapshot replaced it): its keys must not be lost.
        if (rnd() < 0.3) {
          const abandoned = store.openSnapshotCursor(rnd() < 0.5 || baseRevision === undefined ? 'full' : { deltaAfter: baseRevision });
          abandoned.next(100);
          randomOp(store, rnd);
          if (rnd() < 0.5) abandoned.close();
          abandoned.abandon();
        }
        const full = baseRevision === undefined || rnd() < 0.15;
        const expected = stateOf(storeFromBytes(storeToBytes(store)));
        const cursor = store.openSnapshotCursor(full ? 'full' : { deltaAfter: baseRevision! });
        const encoder = new SnapshotEncoder(cursor, 64 + Math.floor(rnd() * 512));
        const parts = [encoder.header()];
        // Writes and compactions go on between the link's batches, as between a replica's snapshot steps.
        for (let batch = encoder.nextBatch(); batch !== undefined; batch = encoder.nextBatch()) {
          parts.push(batch);
          randomOp(store, rnd);
        }
        cursor.close();
        if (full) links.length = 0;
        else deltas++;
        links.push(concatBytes(parts));
        baseRevision = cursor.header.revision;
        const chain = concatBytes(links);
        assert.deepEqual(stateOf(storeFromBytes(chain)), expected, `seed ${seed} link ${link} (${links.length} in the chain)`);
        const decoder = new SnapshotDecoder(chain, 200);
        let stepped: MvccStore | undefined;
        while (stepped === undefined) stepped = decoder.step();
        assert.deepEqual(stateOf(stepped), expected, `seed ${seed} link ${link}, decoded in steps`);
      }
      assert.ok(deltas > 0, `seed ${seed} took deltas`);
    }
  });

  test('a delta holds only the versions written since the link before it, and a key dropped since as a row that replaces it with none', () => {
    const store = grown(100, 2);
    store.trackSnapshotChanges();
    const base = chainLinkToBytes(store, {});
    const baseRevision = store.revision;
    store.put({ key: 'k/001', value: 'changed' });
    store.deleteRange({ key: 'k/002' });
    assert.equal(store.compact(store.revision).type, 'compact');
    store.put({ key: 'k/003', value: 'after the compaction' });
    const deltaCursor = store.openSnapshotCursor({ deltaAfter: baseRevision });
    const rows = deltaCursor.next(Number.POSITIVE_INFINITY);
    deltaCursor.abandon();
    assert.deepEqual(rows.map(([key, versions, replace]) => [key, versions.map(([main]) => main), replace]), [
      ['k/001', [baseRevision + 1], 1], // its version at the base was compacted away: the history now replaces it
      ['k/002', [], 1], // deleted and compacted: gone
      ['k/003', [baseRevision + 3], undefined], // appended to its history at the base
    ]);
    const delta = chainLinkToBytes(store, { baseRevision });
    assert.ok(delta.length * 20 < base.length, `delta ${delta.length} bytes, base ${base.length}`);
    const cursor = store.openSnapshotCursor({ deltaAfter: store.revision });
    assert.deepEqual(cursor.next(Number.POSITIVE_INFINITY), [], 'nothing changed since the delta began');
    cursor.close();
    assert.deepEqual(stateOf(storeFromBytes(concatBytes([base, delta]))), stateOf(storeFromBytes(storeToBytes(store))));
  });

  test('a delta that does not follow the link before it, or a second whole snapshot inside a chain, is refused', () => {
    const store = grown(10, 1);
    store.trackSnapshotChanges();
    const base = chainLinkToBytes(store, {});
    store.put({ key: 'k/001', value: 'x' });
    const wrongBase = chainLinkToBytes(store, { baseRevision: store.revision - 2 });
    assert.throws(() => storeFromBytes(concatBytes([base, wrongBase])), /a delta on revision \d+ after a snapshot at revision \d+/);
    assert.throws(() => storeFromBytes(concatBytes([base, base])), /only a delta \(3\) may follow a snapshot/);
    assert.throws(() => storeFromBytes(wrongBase), /unknown format 3/);
  });
});
