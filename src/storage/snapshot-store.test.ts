import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDisk } from '../actor/disk.js';
import type { Snapshot } from '../raft/types.js';
import { SnapshotStore, snapshotName } from './snapshot-store.js';
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
