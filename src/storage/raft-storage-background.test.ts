/**
 * RaftStorage with a WAL that writes in the background (Raft's async storage
 * writes, issue #22): units become durable in order and only when the disk
 * gets to them, a crash loses exactly what was not fsynced, segment rotations
 * queued behind the appends replay whole, and WAL segments are released only
 * once the snapshot marker covering them is durable. The in-memory disk runs
 * its background operations when the test says (`settleBackground`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryDisk, type BackgroundDone, type FsyncWithinResult } from '../actor/disk.js';
import type { Entry, HardState } from '../raft/types.js';
import { RaftStorage, type Durable } from './raft-storage.js';
import { WAL_INLINE_FSYNC_SLOW_MS } from './wal.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(`${index}/${term}`.padEnd(40, '.')) });
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const hs = (term: number, vote: number, commit: number): HardState => ({ term, vote, commit });
/** Small segments: the units below rotate several times, in the background. */
const OPTIONS = { wal: { segmentBytesMax: 256, background: true } };

/**
 * A disk that bounds its fsyncs' wait (`Disk.fsyncWithin`, as the threaded runtime's does), told by the test how
 * the next one goes: `durable` fsyncs now; `outlasted` leaves it as a background fsync the test settles.
 */
class BoundedDisk extends MemoryDisk {
  next: 'durable' | 'outlasted' = 'durable';
  boundedCalls = 0;
  fsyncWithin(path: string, _waitMs: number, done: BackgroundDone): FsyncWithinResult {
    this.boundedCalls++;
    if (this.next === 'durable') {
      this.fsync(path);
      return 'durable';
    }
    this.inBackground({ type: 'fsync', path }, done, 'log');
    return 'outlasted';
  }
}

function openBackground(disk: MemoryDisk): RaftStorage {
  return RaftStorage.open(disk, OPTIONS).storage;
}

describe('RaftStorage writing in the background', () => {
  test('units are durable in order, only once the disk has run their fsync; a crash keeps all of those', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const storage = openBackground(disk);
    const receipts: Array<Durable<string>> = [];
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 5, 1), messages: ['a'] }, (r) => receipts.push(r));
    storage.persistInBackground({ entries: range(6, 10, 1), messages: ['b'] }, (r) => receipts.push(r));
    storage.persistInBackground({ hardState: hs(1, 1, 8), messages: ['c'], sync: false }, (r) => receipts.push(r));
    storage.persistInBackground({ entries: range(11, 15, 1), messages: ['d'] }, (r) => receipts.push(r));
    assert.equal(receipts.length, 0, 'nothing is durable before the disk runs');
    assert.equal(storage.lastIndex(), 15, 'the read side describes what was written');
    assert.equal(storage.durableLastIndex(), 0);
    while (receipts.length < 2) assert.ok(disk.settleBackground(1) === 1, 'the disk has work left');
    assert.deepEqual(receipts.map((r) => [r.messages[0], r.lastIndex]), [['a', 5], ['b', 10]]);
    assert.equal(storage.durableLastIndex(), 10);
    assert.deepEqual(storage.durableHardState(), hs(1, 1, 0));
    assert.ok(disk.backgroundPending > 0, 'the later units are still queued');
    disk.crash();
    const reopened = RaftStorage.open(disk, { wal: { segmentBytesMax: 256 } }).storage;
    // Appends go to the file at once; an fsync makes durable at least what was appended before it was asked.
    assert.ok(reopened.lastIndex() >= 10 && reopened.lastIndex() < 15, `what was fsynced survives, the unsynced tail segment is gone (last index ${reopened.lastIndex()})`);
    assert.deepEqual(reopened.entries(1, 11), range(1, 10, 1));
    assert.equal(reopened.initialState().hardState.term, 1);
  });

  test('a unit that writes nothing completes behind the writes queued before it', () => {
    const disk = new MemoryDisk();
    const storage = openBackground(disk);
    const order: string[] = [];
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 3, 1), messages: [] }, () => order.push('write'));
    storage.persistInBackground({ messages: [] }, () => order.push('nothing'));
    assert.equal(order.length, 0);
    disk.settleBackground();
    assert.deepEqual(order, ['write', 'nothing']);
    storage.persistInBackground({ messages: [] }, () => order.push('nothing, queue empty'));
    assert.deepEqual(order, ['write', 'nothing', 'nothing, queue empty'], 'with nothing queued it is durable at once');
  });

  test('group commit: the units written while an fsync is on its way share the next one, and complete in order', () => {
    const disk = new MemoryDisk();
    const storage = openBackground(disk);
    const order: number[] = [];
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 1, 1), messages: [] }, () => order.push(1));
    const fsyncsBefore = disk.fsyncCount;
    storage.persistInBackground({ entries: range(2, 2, 1), messages: [] }, () => order.push(2));
    storage.persistInBackground({ hardState: hs(1, 1, 1), messages: [], sync: false }, () => order.push(3));
    storage.persistInBackground({ entries: range(3, 3, 1), messages: [] }, () => order.push(4));
    disk.settleBackground();
    assert.deepEqual(order, [1, 2, 3, 4]);
    assert.equal(disk.fsyncCount - fsyncsBefore, 2, 'one fsync for the first unit, one for the three written while it ran');
    assert.equal(storage.durableLastIndex(), 3);
  });

  test('rotations queued behind appends replay whole; segments are released only once the snapshot marker is durable', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const storage = openBackground(disk);
    for (let i = 0; i < 6; i++) storage.persistInBackground({ hardState: hs(1, 1, i * 5), entries: range(i * 5 + 1, i * 5 + 5, 1), messages: [] }, () => undefined);
    disk.settleBackground();
    const segments = storage.walSegments().length;
    assert.ok(segments > 3, `the WAL rotated (${segments} segments)`);
    storage.persistInBackground({ hardState: hs(1, 1, 30), messages: [] }, () => undefined);
    disk.settleBackground();
    storage.createSnapshot(25, { voters: [1, 2, 3], learners: [] }, new TextEncoder().encode('at 25'));
    const beforeRelease = storage.walSegments().length;
    assert.equal(storage.releaseStep(), true, 'waiting for the marker');
    assert.equal(storage.walSegments().length, beforeRelease, 'nothing released before the marker is durable');
    disk.settleBackground();
    while (storage.releaseStep()) disk.settleBackground();
    disk.settleBackground();
    assert.ok(storage.walSegments().length < beforeRelease, `released once the marker was durable (${beforeRelease} → ${storage.walSegments().length})`);
    disk.crash();
    const reopened = RaftStorage.open(disk, { wal: { segmentBytesMax: 256 } }).storage;
    assert.equal(reopened.firstIndex(), 26);
    assert.equal(reopened.lastIndex(), 30);
    assert.deepEqual(reopened.entries(26, 31), range(26, 30, 1));
  });

  test('a WAL fsync never queues behind a snapshot being written in the background (the disk\'s two lanes)', () => {
    const disk = new MemoryDisk();
    const storage = RaftStorage.open(disk, { wal: { background: true } }).storage;
    storage.persistInBackground({ hardState: hs(1, 1, 5), entries: range(1, 5, 1), messages: [] }, () => undefined);
    disk.settleBackground();
    const writer = storage.beginSnapshot(5, { voters: [1, 2, 3], learners: [] }, { background: true, chunkBytes: 1024, syncEveryBytes: 4096 });
    storage.appendSnapshot(writer, new Uint8Array(64 * 1024).fill(7));
    const snapshotOps = disk.backgroundPendingIn('bulk');
    assert.ok(snapshotOps > 64, `the snapshot's appends and fsyncs are queued (${snapshotOps})`);
    const receipts: Array<Durable<string>> = [];
    storage.persistInBackground({ entries: range(6, 6, 1), messages: ['after the snapshot began'] }, (r) => receipts.push(r));
    assert.equal(disk.settleBackground(1, 'log'), 1, 'the WAL\'s fsync is the first thing its lane runs');
    assert.deepEqual(receipts.map((r) => r.lastIndex), [6], 'durable with all of the snapshot still to write');
    assert.equal(disk.backgroundPendingIn('bulk'), snapshotOps, 'not one snapshot write ran first');
    let finished = false;
    storage.finishSnapshotInBackground(writer, () => (finished = true));
    disk.settleBackground();
    assert.ok(finished, 'the snapshot finishes in its own lane');
  });

  test('inline when idle: a lone write is fsynced on the thread, its receipt comes with it, and a crash right after keeps it', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const storage = RaftStorage.open(disk, { wal: { background: true, inlineFsyncWhenIdle: { nowMs: () => 0 } } }).storage;
    const receipts: Array<Durable<string>> = [];
    const fsyncsBefore = disk.fsyncCount;
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 3, 1), messages: ['lone'] }, (r) => receipts.push(r));
    assert.deepEqual(receipts.map((r) => r.lastIndex), [3], 'durable before persistInBackground returned');
    assert.equal(disk.fsyncCount - fsyncsBefore, 1);
    assert.equal(disk.backgroundPending, 0, 'nothing went to the background');
    assert.equal(storage.durableLastIndex(), 3);
    disk.crash();
    const reopened = RaftStorage.open(disk).storage;
    assert.deepEqual(reopened.entries(1, 4), range(1, 3, 1), 'what was acknowledged is on disk');
    assert.deepEqual(reopened.initialState().hardState, hs(1, 1, 0));
  });

  test('bounded inline: a lone write durable within the wait is acknowledged before persistInBackground returns, and survives a crash', () => {
    const disk = new BoundedDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const storage = RaftStorage.open(disk, { wal: { background: true, inlineFsyncWhenIdle: { nowMs: () => 0 } } }).storage;
    const receipts: number[] = [];
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 3, 1), messages: ['lone'] }, (r) => receipts.push(r.lastIndex));
    assert.deepEqual(receipts, [3], 'durable before persistInBackground returned');
    assert.equal(disk.boundedCalls, 1, 'through the bounded fsync');
    assert.equal(disk.backgroundPending, 0);
    disk.crash();
    assert.deepEqual(RaftStorage.open(disk).storage.entries(1, 4), range(1, 3, 1), 'what was acknowledged is on disk');
  });

  test('bounded inline: a write whose fsync outlasts the wait is acknowledged only when it ends; writes meanwhile share the next fsync; then the disk counts as slow', () => {
    let nowMs = 0;
    const disk = new BoundedDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const storage = RaftStorage.open(disk, { wal: { background: true, inlineFsyncWhenIdle: { nowMs: () => nowMs } } }).storage;
    const receipts: number[] = [];
    disk.next = 'outlasted';
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 2, 1), messages: [] }, (r) => receipts.push(r.lastIndex));
    assert.equal(receipts.length, 0, 'not acknowledged while its fsync goes on');
    assert.equal(storage.durableLastIndex(), 0);
    storage.persistInBackground({ entries: range(3, 4, 1), messages: [] }, (r) => receipts.push(r.lastIndex));
    assert.equal(disk.boundedCalls, 1, 'the second waits for the next fsync, asked when the first ends');
    assert.equal(disk.settleBackground(1), 1);
    assert.deepEqual(receipts, [2], 'the first, once its fsync ended');
    // Outlasted: the disk counts as slow until a background fsync asked with nothing ahead is fast; this one is not.
    nowMs += WAL_INLINE_FSYNC_SLOW_MS + 1;
    disk.settleBackground();
    assert.deepEqual(receipts, [2, 4]);
    disk.next = 'durable';
    storage.persistInBackground({ entries: range(5, 5, 1), messages: [] }, (r) => receipts.push(r.lastIndex));
    assert.equal(disk.boundedCalls, 1, 'not through the bounded fsync while the disk counts as slow');
    assert.deepEqual(receipts, [2, 4]);
    disk.settleBackground();
    assert.deepEqual(receipts, [2, 4, 5]);
    storage.persistInBackground({ entries: range(6, 6, 1), messages: [] }, (r) => receipts.push(r.lastIndex));
    assert.equal(disk.boundedCalls, 2, 'fast again: bounded again');
    assert.deepEqual(receipts, [2, 4, 5, 6]);
  });

  test('bounded inline: a write that does not stand alone (lone() false: more of the log uncommitted) goes to the background though the WAL is idle', () => {
    const disk = new BoundedDisk();
    let lone = false;
    const storage = RaftStorage.open(disk, { wal: { background: true, inlineFsyncWhenIdle: { nowMs: () => 0, lone: () => lone } } }).storage;
    const receipts: number[] = [];
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 2, 1), messages: [] }, (r) => receipts.push(r.lastIndex));
    assert.equal(disk.boundedCalls, 0, 'not through the bounded fsync');
    assert.equal(receipts.length, 0, 'acknowledged when the background fsync ends');
    disk.settleBackground();
    assert.deepEqual(receipts, [2]);
    lone = true;
    storage.persistInBackground({ entries: range(3, 3, 1), messages: [] }, (r) => receipts.push(r.lastIndex));
    assert.equal(disk.boundedCalls, 1, 'a lone one is');
    assert.deepEqual(receipts, [2, 3]);
  });

  test('inline when idle: with a WAL operation in flight, writes queue and share one fsync, in order', () => {
    const disk = new MemoryDisk();
    const storage = RaftStorage.open(disk, { wal: { background: true, segmentBytesMax: 256, inlineFsyncWhenIdle: { nowMs: () => 0 } } }).storage;
    const order: number[] = [];
    // Enough to rotate: the rotation's fsyncs are queued, so the WAL is not idle.
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 8, 1), messages: [] }, () => order.push(1));
    const fsyncsBefore = disk.fsyncCount;
    storage.persistInBackground({ entries: range(9, 12, 1), messages: [] }, () => order.push(2));
    storage.persistInBackground({ entries: range(13, 13, 1), messages: [] }, () => order.push(3));
    assert.ok(disk.backgroundPending > 0, 'queued behind the rotation');
    assert.equal(disk.fsyncCount, fsyncsBefore, 'no fsync on the thread while the WAL has one in flight');
    assert.deepEqual(order, [1], 'only the first unit, written while the WAL was idle, is durable at once');
    disk.settleBackground();
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(storage.durableLastIndex(), 13);
  });

  test('inline when idle: an inline fsync slower than the bound sends fsyncs to the background until one there is fast', () => {
    let nowMs = 0;
    const disk = new MemoryDisk(() => 0.5, (delayMs) => (nowMs += delayMs));
    const storage = RaftStorage.open(disk, { wal: { background: true, inlineFsyncWhenIdle: { nowMs: () => nowMs } } }).storage;
    const done: number[] = [];
    disk.fsyncLatencyMs = WAL_INLINE_FSYNC_SLOW_MS + 5;
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 1, 1), messages: [] }, () => done.push(1));
    assert.deepEqual(done, [1], 'the first one ran inline (the disk was not known to be slow)');
    disk.fsyncLatencyMs = 0;
    storage.persistInBackground({ entries: range(2, 2, 1), messages: [] }, () => done.push(2));
    assert.deepEqual(done, [1], 'after a slow one, the next goes to the background');
    disk.settleBackground();
    assert.deepEqual(done, [1, 2]);
    storage.persistInBackground({ entries: range(3, 3, 1), messages: [] }, () => done.push(3));
    assert.deepEqual(done, [1, 2, 3], 'a fast fsync in the background lets them back on the thread');
  });

  test('inline when idle: beforeFsync runs before each inline fsync (the replica posts its queued sends there), never for one in the background', () => {
    const disk = new MemoryDisk();
    const calls: number[] = [];
    const inline = { nowMs: () => 0, beforeFsync: () => calls.push(disk.fsyncCount) };
    const storage = RaftStorage.open(disk, { wal: { background: true, inlineFsyncWhenIdle: inline } }).storage;
    const fsyncsBefore = disk.fsyncCount;
    const durable: number[] = [];
    storage.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 2, 1), messages: [] }, (r) => durable.push(r.lastIndex));
    assert.deepEqual(calls, [fsyncsBefore], 'called once, before the inline fsync ran');
    assert.equal(disk.fsyncCount, fsyncsBefore + 1, 'then the fsync');
    assert.deepEqual(durable, [2]);

    // With the WAL's fsyncs in the background (a rotation queued): not called.
    const disk2 = new MemoryDisk();
    const calls2: number[] = [];
    const storage2 = RaftStorage.open(disk2, { wal: { background: true, segmentBytesMax: 256, inlineFsyncWhenIdle: { nowMs: () => 0, beforeFsync: () => calls2.push(disk2.fsyncCount) } } }).storage;
    storage2.persistInBackground({ hardState: hs(1, 1, 0), entries: range(1, 8, 1), messages: [] }, () => undefined);
    const callsAfterFirst = calls2.length;
    storage2.persistInBackground({ entries: range(9, 12, 1), messages: [] }, () => undefined);
    storage2.persistInBackground({ entries: range(13, 13, 1), messages: [] }, () => undefined);
    assert.ok(disk2.backgroundPending > 0, 'queued behind the rotation');
    disk2.settleBackground();
    assert.equal(calls2.length, callsAfterFirst, 'no call for fsyncs that went to the background');
    assert.equal(storage2.durableLastIndex(), 13);
  });

  test('persist (inline) is refused on a background WAL, and persistInBackground on an inline one', () => {
    assert.throws(() => openBackground(new MemoryDisk()).persist({ entries: range(1, 1, 1), messages: [] }), /persistInBackground/);
    assert.throws(() => RaftStorage.open(new MemoryDisk()).storage.persistInBackground({ messages: [] }, () => undefined), /background: true/);
  });
});
