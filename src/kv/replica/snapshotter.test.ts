import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryDisk } from '../../actor/disk.js';
import type { Entry } from '../../raft/types.js';
import { RaftStorage } from '../../storage/raft-storage.js';
import { SnapshotFileReader } from '../../storage/snapshot-store.js';
import { storeFromBytes, storeToBytes } from '../mvcc/snapshot-codec.js';
import { MvccStore } from '../mvcc/store.js';
import { nextSnapshotIsDelta, SnapshotJob, type SnapshotChainBase, type SnapshotJobEvents, type TakenSnapshot } from './snapshotter.js';

const VOTERS = { voters: [1, 2, 3], learners: [] };

/**
 * Storage whose log holds entries 1..`entries`, all committed, and a store of `puts` writes over `keys` keys,
 * values padded by up to `padMax` bytes; `track`: the store counts its writes for deltas.
 */
function setup(shape: { entries: number; puts: number; keys: number; padMax?: number; track?: boolean } = { entries: 20, puts: 200, keys: 40 }): { disk: MemoryDisk; storage: RaftStorage; store: MvccStore } {
  const disk = new MemoryDisk();
  const { storage } = RaftStorage.open(disk);
  const entries: Entry[] = Array.from({ length: shape.entries }, (_, i) => ({ term: 1, index: i + 1, type: 'normal', data: new Uint8Array(0) }));
  storage.persist({ hardState: { term: 1, vote: 1, commit: shape.entries }, entries, messages: [] });
  const store = new MvccStore();
  if (shape.track === true) store.trackSnapshotChanges();
  const pad = (i: number): string => (shape.padMax === undefined ? '' : ` ${'z'.repeat(i % shape.padMax)}`);
  for (let i = 0; i < shape.puts; i++) store.put({ key: `k${i % shape.keys}`, value: `value ${i}${pad(i)}` });
  return { disk, storage, store };
}

describe('a snapshot job', () => {
  test('taken in many small steps while the store changes, it is the store as it was when the job began, durable and named by the WAL', () => {
    const { disk, storage, store } = setup();
    const expected = storeToBytes(store);
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64, joinBytesPerStep: 100, keepBytesMax: 1 << 20 });
    let taken: TakenSnapshot | undefined;
    for (let i = 0; taken === undefined; i++) {
      taken = job.step();
      store.put({ key: `k${i % 40}`, value: `later ${i}` });
    }
    assert.ok(taken.steps > 40, `took ${taken.steps} steps`);
    assert.equal(taken.metadata.index, 20);
    assert.ok(Buffer.from(storeToBytes(storeFromBytes(taken.data!))).equals(expected), 'the snapshot restores to the store as it was');
    const reopened = RaftStorage.open(disk).storage;
    assert.equal(reopened.snapshot()?.metadata.index, 20);
    assert.ok(Buffer.from(reopened.snapshot()!.data).equals(taken.data!), 'the file holds the same bytes Raft sends');
    assert.throws(() => job.step(), /after it finished/);
  });

  test('larger than it may keep in memory, it lives only in its file, and any range of it reads back exactly', () => {
    const { disk, storage, store } = setup();
    const expected = storeToBytes(store);
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64, keepBytesMax: 256, writer: { chunkBytes: 100 } });
    let taken: TakenSnapshot | undefined;
    while (taken === undefined) taken = job.step();
    assert.equal(taken.data, undefined, 'not kept in memory');
    const reader = new SnapshotFileReader(disk, [taken.file]);
    const whole = storage.snapshot()!.data;
    assert.ok(Buffer.from(storeToBytes(storeFromBytes(whole))).equals(expected), 'storage reads it back from the file');
    assert.equal(reader.byteLength, whole.length);
    for (const [offset, length] of [[0, 10], [37, 300], [whole.length - 5, 50], [0, whole.length]] as const) {
      assert.deepEqual(reader.read(offset, length), whole.subarray(offset, offset + length), `range ${offset}+${length}`);
    }
    disk.remove(taken.file.path);
    assert.equal(reader.read(0, 10), undefined, 'a purged file reads as gone, not as zeros');
  });

  test('abandoned midway, it leaves no file and the storage as before', () => {
    const { disk, storage, store } = setup();
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64 });
    for (let i = 0; i < 5; i++) assert.equal(job.step(), undefined);
    job.abandon();
    assert.deepEqual(disk.list('snap'), []);
    assert.equal(storage.snapshot(), undefined);
    assert.equal(storage.firstIndex(), 1);
    // The store's compaction no longer keeps anything for the abandoned cursor.
    assert.equal(store.compact(store.revision).type, 'compact');
  });
});

/** Events of a job in the background, recorded: `take` is what `onFileDurable` handed over. */
function recorder(): SnapshotJobEvents & { readies: number; take: (() => TakenSnapshot) | undefined } {
  const events = {
    readies: 0,
    take: undefined as (() => TakenSnapshot) | undefined,
    onReady: () => void events.readies++,
    onFileDurable: (take: () => TakenSnapshot) => void (events.take = take),
  };
  return events;
}

/** Steps the job while it may, else lets the disk finish one background operation, until the file is durable or `stopWhen` says. */
function drive(job: SnapshotJob, disk: MemoryDisk, events: ReturnType<typeof recorder>, stopWhen: () => boolean = () => false): void {
  while (events.take === undefined && !stopWhen()) {
    if (job.canStep) assert.equal(job.step(), undefined, 'in the background a step never returns the snapshot');
    else assert.equal(disk.settleBackground(1), 1, 'a job that cannot step waits for the disk');
  }
}

describe('a snapshot job in the background', () => {
  test('its steps only ask the disk; the snapshot is named by the WAL only after its file and directory are durable', () => {
    const { disk, storage, store } = setup();
    disk.faults.loseUnsyncedOnCrash = true;
    const expected = storeToBytes(store);
    const events = recorder();
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64, keepBytesMax: 256, background: true, inFlightBytesMax: 300, writer: { syncEveryBytes: 500 } }, events);
    let stepsWithoutDisk = 0;
    while (job.canStep) {
      job.step();
      stepsWithoutDisk++;
    }
    assert.ok(stepsWithoutDisk > 1 && disk.backgroundPending > 0, 'several steps went by before the job waited for the disk');
    assert.deepEqual(disk.list('snap').map((name) => disk.size(`snap/${name}`)), [0], 'nothing of it written yet (its empty temporary file aside)');
    drive(job, disk, events);
    assert.ok(events.readies > 0, 'the job was told when it could go on');
    assert.equal(storage.snapshot(), undefined, 'durable, but not current until taken');
    const taken = events.take!();
    assert.equal(taken.metadata.index, 20);
    assert.equal(storage.snapshot()?.metadata.index, 20);
    assert.ok(Buffer.from(storeToBytes(storeFromBytes(storage.snapshot()!.data))).equals(expected));
    disk.crash();
    assert.equal(RaftStorage.open(disk).storage.snapshot()?.metadata.index, 20, 'a crash right after keeps it');
  });

  test('the moment its file is reported durable, a crash keeps the file (its fsync and the directory\'s are done)', () => {
    const { disk, storage, store } = setup();
    disk.faults.loseUnsyncedOnCrash = true;
    const events = recorder();
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64, keepBytesMax: 256, background: true }, events);
    drive(job, disk, events);
    const name = disk.list('snap').find((n) => n.endsWith('.snap'));
    assert.ok(name !== undefined, 'the file is in place');
    disk.crash();
    assert.ok(disk.list('snap').includes(name), 'and survives a crash at once');
  });

  test('a crash before the finishing fsyncs end leaves the storage as before: the older state, no file', () => {
    const { disk, storage, store } = setup();
    disk.faults.loseUnsyncedOnCrash = true;
    const events = recorder();
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64, background: true }, events);
    // Up to the last step, whose fsyncs then wait in the background.
    drive(job, disk, events, () => job.isFinishing);
    disk.settleBackground(disk.backgroundPending - 1);
    assert.equal(events.take, undefined, 'the directory is not yet synced');
    disk.crash();
    const reopened = RaftStorage.open(disk).storage;
    assert.equal(reopened.snapshot(), undefined);
    assert.equal(reopened.firstIndex(), 1, 'the log was not compacted');
    assert.deepEqual(disk.list('snap').filter((n) => n.endsWith('.snap')), []);
  });

  test('abandoned while it finishes, it leaves no file and is never reported taken', () => {
    const { disk, storage, store } = setup();
    const events = recorder();
    const job = new SnapshotJob(store, storage, 20, VOTERS, { batchBytes: 64, background: true }, events);
    drive(job, disk, events, () => job.isFinishing);
    job.abandon();
    disk.settleBackground();
    assert.equal(events.take, undefined);
    assert.deepEqual(disk.list('snap'), []);
    assert.equal(storage.snapshot(), undefined);
  });
});

describe('a chain of snapshots (issues #16, #22)', () => {
  function chainSetup(): { disk: MemoryDisk; storage: RaftStorage; store: MvccStore } {
    return setup({ entries: 60, puts: 400, keys: 80, padMax: 30, track: true });
  }

  function takeWhole(job: SnapshotJob): TakenSnapshot {
    let taken: TakenSnapshot | undefined;
    while (taken === undefined) taken = job.step();
    return taken;
  }

  /** The store a whole snapshot of `store` restores, as bytes: what a chain must restore too. */
  function restoredWhole(store: MvccStore): Uint8Array {
    return storeToBytes(storeFromBytes(storeToBytes(store)));
  }

  function baseOf(taken: TakenSnapshot, job: SnapshotJob, chainBytes: number): SnapshotChainBase {
    const base: SnapshotChainBase = { id: taken.metadata, revision: job.revision, dataBytes: chainBytes };
    if (taken.data !== undefined) base.data = taken.data;
    return base;
  }

  for (const keepBytesMax of [1 << 20, 0]) {
    test(`each delta holds only what was written since the link before; reopened, the chain restores what a whole snapshot restores (${keepBytesMax === 0 ? 'kept in files' : 'kept in memory'})`, () => {
      const { disk, storage, store } = chainSetup();
      const fullJob = new SnapshotJob(store, storage, 20, VOTERS, { chain: {}, batchBytes: 64, keepBytesMax }, undefined);
      const full = takeWhole(fullJob);
      assert.equal(full.delta, false);
      for (let i = 0; i < 5; i++) store.put({ key: `k${i}`, value: `after the base ${i}` });
      // A delta begun and abandoned (a leader's snapshot replaced it): what it would have held is in the next one.
      const abandoned = new SnapshotJob(store, storage, 25, VOTERS, { chain: { base: baseOf(full, fullJob, full.file.dataBytes) }, batchBytes: 64, keepBytesMax });
      abandoned.step();
      abandoned.abandon();
      store.deleteRange({ key: 'k7' });
      const deltaJob = new SnapshotJob(store, storage, 30, VOTERS, { chain: { base: baseOf(full, fullJob, full.file.dataBytes) }, batchBytes: 64, keepBytesMax });
      const expected = restoredWhole(store);
      store.put({ key: 'k9', value: 'after the delta began' });
      const delta = takeWhole(deltaJob);
      assert.ok(delta.delta && delta.file.dataBytes * 10 < full.file.dataBytes, `delta ${delta.file.dataBytes} bytes, base ${full.file.dataBytes}`);
      const chainBytes = full.file.dataBytes + delta.file.dataBytes;
      const second = new SnapshotJob(store, storage, 40, VOTERS, { chain: { base: baseOf(delta, deltaJob, chainBytes) }, batchBytes: 64, keepBytesMax });
      const expectedSecond = restoredWhole(store);
      const delta2 = takeWhole(second);
      assert.ok(delta2.file.dataBytes * 10 < full.file.dataBytes, `second delta ${delta2.file.dataBytes} bytes`);
      const names = disk.list('snap').filter((n) => n.endsWith('.snap')).sort();
      assert.deepEqual(names.map((n) => n.includes('+')), [false, true, true], `the files: ${names.join(', ')}`);

      const reader = new SnapshotFileReader(disk, [full.file, delta.file, delta2.file]);
      const reopenedStorage = RaftStorage.open(disk).storage;
      assert.deepEqual(reopenedStorage.openedSnapshotFiles, [full.file, delta.file, delta2.file], 'reopened, storage finds where the chain\'s data lies, as written');
      const reopened = reopenedStorage.snapshot()!;
      assert.equal(reopened.metadata.index, 40);
      assert.deepEqual(reader.read(0, reader.byteLength), reopened.data, 'the files read back as one are the chain storage loads');
      if (keepBytesMax > 0) assert.deepEqual(delta2.data, reopened.data, 'kept in memory, the chain is what Raft sends');
      else assert.equal(delta2.data, undefined);
      assert.deepEqual(storeToBytes(storeFromBytes(reopened.data)), expectedSecond);
      // The chain up to the first delta, as the first delta's reader would send it.
      const firstTwo = new SnapshotFileReader(disk, [full.file, delta.file]);
      assert.deepEqual(storeToBytes(storeFromBytes(firstTwo.read(0, firstTwo.byteLength)!)), expected);
    });
  }

  function chainOfTwo(background: boolean): { disk: MemoryDisk; storage: RaftStorage; store: MvccStore; events: ReturnType<typeof recorder>; deltaJob: SnapshotJob; baseBytes: Uint8Array } {
    const { disk, storage, store } = chainSetup();
    disk.faults.loseUnsyncedOnCrash = true;
    const fullJob = new SnapshotJob(store, storage, 20, VOTERS, { chain: {}, batchBytes: 64 });
    const full = takeWhole(fullJob);
    store.put({ key: 'k1', value: 'changed' });
    const events = recorder();
    const deltaJob = new SnapshotJob(store, storage, 30, VOTERS, { chain: { base: baseOf(full, fullJob, full.file.dataBytes) }, batchBytes: 64, background }, background ? events : undefined);
    return { disk, storage, store, events, deltaJob, baseBytes: full.data! };
  }

  test('a torn or missing file of the chain the WAL names is detected on open, never restored from', () => {
    for (const damage of ['torn delta', 'missing base'] as const) {
      const { disk, deltaJob } = chainOfTwo(false);
      takeWhole(deltaJob);
      const names = disk.list('snap').filter((n) => n.endsWith('.snap'));
      const deltaName = names.find((n) => n.includes('+'))!;
      const baseName = names.find((n) => !n.includes('+'))!;
      if (damage === 'torn delta') {
        const bytes = disk.read(`snap/${deltaName}`)!;
        disk.write(`snap/${deltaName}`, bytes.subarray(0, bytes.length - 7));
      } else {
        disk.remove(`snap/${baseName}`);
      }
      assert.throws(() => RaftStorage.open(disk), damage === 'torn delta' ? /snapshot-missing|no valid file[^]*torn|record/ : /its chain's file at index 20 term 1 is missing/, damage);
    }
  });

  test('a crash after the delta\'s file is durable but before the WAL names it restores the link before it', () => {
    const { disk, store, events, deltaJob, baseBytes } = chainOfTwo(true);
    drive(deltaJob, disk, events);
    assert.ok(events.take !== undefined, 'the delta\'s file is durable');
    assert.ok(disk.list('snap').some((n) => n.includes('+')), 'and in place');
    disk.crash();
    const reopened = RaftStorage.open(disk).storage.snapshot()!;
    assert.equal(reopened.metadata.index, 20);
    assert.deepEqual(reopened.data, baseBytes);
    assert.notDeepEqual(storeToBytes(storeFromBytes(reopened.data)), restoredWhole(store), 'the base, without the write the delta held');
  });
});

describe('whole snapshots in turn (issue #16: not all three replicas at once)', () => {
  const turnOf = (id: number, index: number) => ({ index, snapshotEntries: 100, voters: [1, 2, 3], id });
  /** A whole snapshot and deltas that add up to it: due, and not put off yet. */
  const outgrown = [1_000, 600, 400];

  test('a chain whose deltas outgrew its whole snapshot starts again on one voter per snapshot threshold, each in its turn', () => {
    // Snapshots at about the same index on every replica, one threshold apart: the voters take their whole ones in rank order.
    const wholeAt = (index: number) => [1, 2, 3].filter((id) => !nextSnapshotIsDelta(outgrown, turnOf(id, index)));
    assert.deepEqual(wholeAt(300), [1]);
    assert.deepEqual(wholeAt(401), [2]);
    assert.deepEqual(wholeAt(503), [3]);
    assert.deepEqual(wholeAt(699), [1]);
  });

  test('a delta while the deltas are smaller than the whole one, a whole one without a chain, and the deferral is bounded', () => {
    assert.equal(nextSnapshotIsDelta([1_000, 600, 399], turnOf(1, 300)), true, 'in its turn, but the deltas are still smaller');
    assert.equal(nextSnapshotIsDelta(undefined, turnOf(2, 300)), false, 'no chain: whole');
    assert.equal(nextSnapshotIsDelta([1_000], turnOf(2, 300)), true, 'a whole snapshot alone: a delta next');
    assert.equal(nextSnapshotIsDelta([1_000, 600, 400, 500], turnOf(2, 300)), true, 'not its turn, put off once: a delta more');
    assert.equal(nextSnapshotIsDelta([1_000, 600, 400, 500, 500], turnOf(2, 300)), false, 'put off voters - 1 times already (counted from the chain): whole');
    assert.equal(nextSnapshotIsDelta(outgrown, { ...turnOf(2, 300), inTurn: false }), false, 'turns off: whole when due');
    assert.equal(nextSnapshotIsDelta(outgrown, turnOf(4, 300)), false, 'a learner: whole when due');
    assert.equal(nextSnapshotIsDelta(outgrown, { ...turnOf(1, 401), voters: [1] }), false, 'a lone voter: whole when due');
  });
});
