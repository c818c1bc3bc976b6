import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDisk } from '../actor/disk.js';
import type { Snapshot } from '../raft/types.js';
import { decodeSnapshotFile, encodeSnapshotFile, SnapshotStore, snapshotName } from './snapshot-store.js';
import { decodeRecords } from './record.js';
import { RecordType } from './wal-codec.js';
import { diskKinds } from './test-disks.js';

const snap = (index: number, term: number, text = `state@${index}`): Snapshot => ({
  metadata: { index, term, confState: { voters: [1, 2, 3], learners: [4] } },
  data: new TextEncoder().encode(text),
});

for (const kind of diskKinds) {
  describe(`SnapshotStore on ${kind.name}`, () => {
    test('a saved snapshot survives a crash that loses unsynced writes, byte for byte', () => {
      const t = kind.make();
      try {
        t.faults.loseUnsyncedOnCrash = true;
        const { store } = SnapshotStore.open(t.disk);
        store.save(snap(10, 2));
        const reopened = SnapshotStore.open(t.crash()).store;
        const { snapshot, skipped } = reopened.loadNewest();
        assert.deepEqual(snapshot, snap(10, 2));
        assert.deepEqual(skipped, []);
      } finally {
        t.cleanup();
      }
    });

    test('the newest valid snapshot is loaded; a corrupt newer one is skipped and reported', () => {
      const t = kind.make();
      try {
        const { store } = SnapshotStore.open(t.disk);
        store.save(snap(10, 2));
        store.save(snap(20, 3));
        const newest = `snap/${snapshotName(snap(20, 3).metadata)}`;
        const bytes = t.disk.read(newest)!.slice();
        bytes[bytes.length - 1]! ^= 0xff;
        t.disk.write(newest, bytes);
        const { snapshot, skipped } = store.loadNewest();
        assert.deepEqual(snapshot, snap(10, 2));
        assert.equal(skipped.length, 1);
        assert.equal(skipped[0]!.name, snapshotName(snap(20, 3).metadata));
        assert.match(skipped[0]!.reason, /corrupt record \(payload-checksum\)/);
      } finally {
        t.cleanup();
      }
    });

    test('a file whose name disagrees with its metadata is skipped', () => {
      const t = kind.make();
      try {
        const { store } = SnapshotStore.open(t.disk);
        store.save(snap(10, 2));
        t.disk.rename(`snap/${snapshotName(snap(10, 2).metadata)}`, `snap/${snapshotName({ index: 30, term: 2 })}`);
        const { snapshot, skipped } = store.loadNewest();
        assert.equal(snapshot, undefined);
        assert.match(skipped[0]!.reason, /not what its name says/);
      } finally {
        t.cleanup();
      }
    });

    test('a temporary file left by an interrupted save is removed on open and never loaded', () => {
      const t = kind.make();
      try {
        const { store } = SnapshotStore.open(t.disk);
        store.save(snap(10, 2));
        t.disk.write(`snap/${snapshotName(snap(20, 3).metadata)}.tmp`, new Uint8Array([1, 2, 3]));
        const reopened = SnapshotStore.open(t.disk);
        assert.deepEqual(reopened.report.tempFilesRemoved, [`${snapshotName(snap(20, 3).metadata)}.tmp`]);
        assert.deepEqual(t.disk.list('snap'), [snapshotName(snap(10, 2).metadata)]);
        assert.deepEqual(reopened.store.loadNewest().snapshot, snap(10, 2));
      } finally {
        t.cleanup();
      }
    });

    test('purge keeps the retained number of newest files', () => {
      const t = kind.make();
      try {
        const { store } = SnapshotStore.open(t.disk, { retained: 2 });
        for (const index of [5, 10, 15, 20]) store.save(snap(index, 1));
        assert.equal(store.names().length, 4, 'saving alone never removes a file the WAL may still name');
        assert.deepEqual(store.purge(), [snapshotName({ index: 5, term: 1 }), snapshotName({ index: 10, term: 1 })]);
        assert.deepEqual(store.names(), [snapshotName({ index: 15, term: 1 }), snapshotName({ index: 20, term: 1 })]);
      } finally {
        t.cleanup();
      }
    });

    test('a snapshot written part by part reads back as the same snapshot, and survives a crash once finished', () => {
      const t = kind.make();
      try {
        t.faults.loseUnsyncedOnCrash = true;
        const { store } = SnapshotStore.open(t.disk);
        const whole = snap(30, 4, 'the store, written in many small parts while the replica goes on');
        const writer = store.beginSave(whole.metadata, { chunkBytes: 7, syncEveryBytes: 20 });
        for (let at = 0; at < whole.data.length; at += 5) writer.append(whole.data.subarray(at, at + 5));
        assert.equal(writer.dataBytes, whole.data.length);
        assert.deepEqual(t.disk.list('snap'), [`${writer.name}.tmp`], 'nothing is visible under the final name before finish');
        assert.equal(writer.finish(), snapshotName(whole.metadata));
        const layout = writer.layout();
        const { snapshot, skipped, files } = SnapshotStore.open(t.crash()).store.loadNewest();
        assert.deepEqual({ snapshot, skipped }, { snapshot: whole, skipped: [] });
        assert.deepEqual(files, [layout], 'where its data lies, read back from its records, is where the writer put it');
      } finally {
        t.cleanup();
      }
    });

    test('an aborted part-written snapshot leaves nothing; one cut by a crash is removed on open', () => {
      const t = kind.make();
      try {
        const { store } = SnapshotStore.open(t.disk);
        store.save(snap(10, 2));
        const aborted = store.beginSave(snap(20, 3).metadata);
        aborted.append(new Uint8Array([1, 2, 3]));
        aborted.abort();
        assert.deepEqual(t.disk.list('snap'), [snapshotName(snap(10, 2).metadata)]);
        const cut = store.beginSave(snap(30, 3).metadata);
        cut.append(new Uint8Array([1, 2, 3]));
        const reopened = SnapshotStore.open(t.disk);
        assert.deepEqual(reopened.report.tempFilesRemoved, [`${snapshotName(snap(30, 3).metadata)}.tmp`]);
        assert.deepEqual(reopened.store.loadNewest().snapshot, snap(10, 2));
      } finally {
        t.cleanup();
      }
    });

    test('loadNewest can ask for exactly the snapshot the WAL names', () => {
      const t = kind.make();
      try {
        const { store } = SnapshotStore.open(t.disk);
        store.save(snap(10, 2));
        store.save(snap(20, 3));
        assert.deepEqual(store.loadNewest({ match: { index: 10, term: 2 } }).snapshot, snap(10, 2));
        assert.equal(store.loadNewest({ match: { index: 10, term: 3 } }).snapshot, undefined);
      } finally {
        t.cleanup();
      }
    });
  });
}

describe('the crash model catches a save that skips a step', () => {
  test('without fsyncing the directory after the rename, the snapshot is lost in a crash', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    disk.write('snap/x.snap.tmp', new Uint8Array([1]));
    disk.fsync('snap/x.snap.tmp');
    disk.rename('snap/x.snap.tmp', 'snap/x.snap');
    disk.crash();
    assert.equal(disk.read('snap/x.snap'), undefined);
  });

  test('without fsyncing the file before the rename, the snapshot is lost in a crash', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    disk.write('snap/x.snap.tmp', new Uint8Array([1]));
    disk.rename('snap/x.snap.tmp', 'snap/x.snap');
    disk.fsyncDir('snap');
    disk.crash();
    assert.equal(disk.read('snap/x.snap'), undefined);
  });
});

describe('snapshot files larger than one record', () => {
  const big = (): Snapshot => ({ metadata: { index: 7, term: 3, confState: { voters: [1, 2, 3], learners: [] } }, data: Uint8Array.from({ length: 1_000 }, (_, i) => i % 251) });

  test('a payload over the record limit is split into parts and reads back whole', () => {
    const file = encodeSnapshotFile(big(), 100);
    const records = decodeRecords(file).records;
    assert.ok(records.length > 10, `split into ${records.length} records`);
    assert.ok(records.slice(0, -1).every((r) => r.type === RecordType.snapshotFileChunk) && records.at(-1)!.type === RecordType.snapshotFile);
    assert.deepEqual(decodeSnapshotFile(file), big());
  });

  test('a snapshot that fits one record is written exactly as before: one snapshotFile record', () => {
    const file = encodeSnapshotFile(big());
    const records = decodeRecords(file).records;
    assert.equal(records.length, 1);
    assert.equal(records[0]!.type, RecordType.snapshotFile);
    assert.deepEqual(decodeSnapshotFile(file), big());
  });

  test('a split file cut at a record boundary is refused, not read as a shorter snapshot', () => {
    const file = encodeSnapshotFile(big(), 100);
    const records = decodeRecords(file).records;
    // Drop the last record whole: every remaining record is intact, only the end is missing.
    const lastBytes = 16 + records.at(-1)!.payload.length;
    const cut = file.subarray(0, file.length - lastBytes);
    const result = decodeSnapshotFile(cut);
    assert.equal(typeof result, 'string');
    assert.match(result as string, /ends before its last part/);
  });
});
