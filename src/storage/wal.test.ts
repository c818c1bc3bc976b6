import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDisk, type Disk } from '../actor/disk.js';
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import { StorageError } from './errors.js';
import { concatFrames, encodeRecord } from './record.js';
import { diskKinds } from './test-disks.js';
import { segmentName, Wal } from './wal.js';
import { encodeEntry, encodeHardState } from './wal-codec.js';

const entry = (index: number, term = 1, text = `e${index}`): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(text) });
const range = (from: number, to: number, term = 1): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const hs = (term: number, vote: number, commit: number): HardState => ({ term, vote, commit });
const meta = (index: number, term: number): SnapshotMetadata => ({ index, term, confState: { voters: [1, 2, 3], learners: [] } });
const summary = (entries: Entry[]): string[] => entries.map((e) => `${e.index}@${e.term}:${new TextDecoder().decode(e.data)}`);

function onlySegment(disk: Disk): string {
  const names = disk.list('wal');
  assert.equal(names.length, 1);
  return `wal/${names[0]}`;
}

for (const kind of diskKinds) {
  describe(`Wal on ${kind.name}`, () => {
    test('a fresh WAL replays to nothing', () => {
      const t = kind.make();
      try {
        const { recovery } = Wal.open(t.disk);
        assert.deepEqual(recovery.entries, []);
        assert.deepEqual(recovery.hardState, hs(0, 0, 0));
        assert.equal(recovery.snapshot, undefined);
        assert.equal(recovery.truncation, undefined);
        assert.deepEqual(recovery.segments, [segmentName(1, 1)]);
      } finally {
        t.cleanup();
      }
    });

    test('reopening recovers hard state and entries exactly', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk);
        wal.append({ entries: range(1, 3), hardState: hs(1, 2, 0) });
        wal.append({ entries: [entry(4, 2, 'x'.repeat(300))], hardState: hs(2, 3, 3) });
        wal.sync();
        const { recovery } = Wal.open(t.disk);
        assert.deepEqual(recovery.entries, [...range(1, 3), entry(4, 2, 'x'.repeat(300))]);
        assert.deepEqual(recovery.hardState, hs(2, 3, 3));
        assert.equal(recovery.truncation, undefined);
      } finally {
        t.cleanup();
      }
    });

    test('appends built in one kept buffer write exactly their own records, large after small and small after large', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk, { segmentBytesMax: 64 * 1024 * 1024 });
        const segment = onlySegment(t.disk);
        const before = t.disk.read(segment)!.length;
        // A large unit first (it grows the buffer), then smaller ones that reuse it, then one past the kept size.
        const units: Array<{ entries: Entry[]; hardState: HardState }> = [
          { entries: Array.from({ length: 40 }, (_, i) => entry(i + 1, 1, String.fromCharCode(97 + (i % 26)).repeat(3000))), hardState: hs(1, 1, 0) },
          { entries: [entry(41, 1, 'short')], hardState: hs(1, 1, 40) },
          { entries: [entry(42, 2, 'y'.repeat(10))], hardState: hs(2, 2, 41) },
          { entries: [entry(43, 2, 'z'.repeat(4 * 1024 * 1024 + 1))], hardState: hs(2, 2, 42) },
          { entries: [entry(44, 2, 'after')], hardState: hs(2, 2, 43) },
        ];
        const expected: Uint8Array[] = [];
        for (const unit of units) {
          wal.append(unit);
          for (const e of unit.entries) expected.push(encodeRecord(1, encodeEntry(e)));
          expected.push(encodeRecord(2, encodeHardState(unit.hardState)));
        }
        wal.sync();
        // Compared as bytes (a NodeDisk reads a Buffer): a diff of megabytes would take the assertion minutes.
        const written = t.disk.read(segment)!.subarray(before);
        assert.equal(Buffer.compare(written, concatFrames(expected)), 0, 'the segment holds other bytes than the records appended');
        const { recovery } = Wal.open(t.disk);
        assert.deepEqual(summary(recovery.entries), summary(units.flatMap((u) => u.entries)));
        assert.deepEqual(recovery.hardState, hs(2, 2, 43));
      } finally {
        t.cleanup();
      }
    });

    test('a later entry for an index supersedes the earlier suffix', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk);
        wal.append({ entries: range(1, 5, 1) });
        wal.append({ entries: [entry(3, 2, 'new3'), entry(4, 2, 'new4')] });
        wal.sync();
        assert.equal(wal.lastIndex(), 4);
        const { recovery } = Wal.open(t.disk);
        assert.deepEqual(summary(recovery.entries), ['1@1:e1', '2@1:e2', '3@2:new3', '4@2:new4']);
      } finally {
        t.cleanup();
      }
    });

    test('a tail torn at every byte offset of the last record is cut back to the record before, durably, and reported', () => {
      const source = kind.make();
      try {
        const { wal } = Wal.open(source.disk);
        wal.append({ entries: range(1, 3), hardState: hs(1, 1, 2) });
        wal.sync();
        const file = onlySegment(source.disk);
        const lastStart = source.disk.size(file)!;
        wal.append({ entries: [entry(4)] });
        wal.sync();
        const whole = source.disk.read(file)!.slice();
        for (let cut = lastStart + 1; cut < whole.length; cut++) {
          source.disk.write(file, whole.subarray(0, cut));
          source.disk.fsync(file);
          const { recovery } = Wal.open(source.disk);
          assert.deepEqual(summary(recovery.entries), ['1@1:e1', '2@1:e2', '3@1:e3'], `cut at ${cut}`);
          assert.deepEqual(recovery.hardState, hs(1, 1, 2));
          assert.equal(recovery.truncation?.kind, 'torn', `cut at ${cut}`);
          assert.equal(recovery.truncation?.offset, lastStart);
          assert.equal(recovery.truncation?.bytesCut, cut - lastStart);
          assert.equal(recovery.truncation?.recordsKept, 4);
          assert.equal(source.disk.size(file), lastStart);
          assert.equal(Wal.open(source.disk).recovery.truncation, undefined, 'the cut must not be reported twice');
        }
      } finally {
        source.cleanup();
      }
    });

    test('a flipped bit in a middle record cuts it and everything after it, and the report says so', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk);
        wal.append({ entries: range(1, 2) });
        wal.sync();
        const file = onlySegment(t.disk);
        const middleStart = t.disk.size(file)!;
        wal.append({ entries: [entry(3)] });
        wal.append({ entries: range(4, 5), hardState: hs(1, 1, 5) });
        wal.sync();
        const bytes = t.disk.read(file)!.slice();
        const totalBytes = bytes.length;
        bytes[middleStart + 20]! ^= 0x10;
        t.disk.write(file, bytes);
        t.disk.fsync(file);
        const { recovery } = Wal.open(t.disk);
        assert.deepEqual(summary(recovery.entries), ['1@1:e1', '2@1:e2']);
        assert.deepEqual(recovery.hardState, hs(0, 0, 0), 'the hard state written after the corruption is cut too');
        assert.equal(recovery.truncation?.kind, 'corrupt');
        assert.equal(recovery.truncation?.reason, 'payload-checksum');
        assert.equal(recovery.truncation?.offset, middleStart);
        assert.equal(recovery.truncation?.bytesCut, totalBytes - middleStart);
        assert.match(recovery.truncation!.message, /corrupt/);
      } finally {
        t.cleanup();
      }
    });

    test('corruption in an early segment removes every later segment and lists them', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk, { segmentBytesMax: 200 });
        for (let i = 1; i <= 30; i++) {
          wal.append({ entries: [entry(i)], hardState: hs(1, 1, i - 1) });
          wal.sync();
        }
        const segments = wal.segmentNames();
        assert.ok(segments.length >= 4, `expected several segments, got ${segments.length}`);
        const second = `wal/${segments[1]}`;
        const bytes = t.disk.read(second)!.slice();
        bytes[bytes.length - 3]! ^= 0x01;
        t.disk.write(second, bytes);
        t.disk.fsync(second);
        const { recovery } = Wal.open(t.disk, { segmentBytesMax: 200 });
        assert.equal(recovery.truncation?.segment, segments[1]);
        assert.deepEqual(recovery.truncation?.segmentsRemoved, segments.slice(2));
        assert.deepEqual(t.disk.list('wal'), segments.slice(0, 2));
        const last = recovery.entries[recovery.entries.length - 1]!;
        assert.deepEqual(summary(recovery.entries), summary(range(1, last.index)));
      } finally {
        t.cleanup();
      }
    });

    test('an fsync failure surfaces as an error and the WAL refuses writes until it is reopened', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk);
        wal.append({ entries: range(1, 2) });
        wal.sync();
        t.faults.fsyncFailProbability = 1;
        wal.append({ entries: [entry(3)] });
        assert.throws(() => wal.sync(), (error: unknown) => error instanceof StorageError && error.code === 'wal-failed' && /injected I\/O error/.test(error.message));
        assert.equal(wal.failed, true);
        t.faults.fsyncFailProbability = 0;
        assert.throws(() => wal.append({ entries: [entry(4)] }), (error: unknown) => error instanceof StorageError && error.code === 'wal-failed');
        assert.throws(() => wal.sync(), (error: unknown) => error instanceof StorageError && error.code === 'wal-failed');
        const reopened = Wal.open(t.disk);
        reopened.wal.append({ entries: [entry(reopened.wal.lastIndex() + 1)] });
        reopened.wal.sync();
        assert.equal(reopened.wal.failed, false);
      } finally {
        t.cleanup();
      }
    });

    test('a crash that loses unsynced writes loses exactly the unsynced suffix', () => {
      const t = kind.make();
      try {
        t.faults.loseUnsyncedOnCrash = true;
        const { wal } = Wal.open(t.disk);
        wal.append({ entries: range(1, 3), hardState: hs(1, 1, 1) });
        wal.sync();
        wal.append({ entries: range(4, 6), hardState: hs(1, 1, 4) });
        const disk = t.crash();
        const { recovery } = Wal.open(disk);
        assert.deepEqual(summary(recovery.entries), summary(range(1, 3)));
        assert.deepEqual(recovery.hardState, hs(1, 1, 1));
        assert.equal(recovery.truncation, undefined);
      } finally {
        t.cleanup();
      }
    });

    test('rotation survives a crash: each new segment is fsynced and its directory entry made durable', () => {
      const t = kind.make();
      try {
        t.faults.loseUnsyncedOnCrash = true;
        const { wal } = Wal.open(t.disk, { segmentBytesMax: 128 });
        for (let i = 1; i <= 20; i++) {
          wal.append({ entries: [entry(i, 1 + Math.floor(i / 7))], hardState: hs(1 + Math.floor(i / 7), 2, i - 1) });
          wal.sync();
        }
        const segments = wal.segmentNames();
        assert.ok(segments.length > 3);
        const { recovery } = Wal.open(t.crash(), { segmentBytesMax: 128 });
        assert.deepEqual(recovery.segments, segments);
        assert.deepEqual(recovery.entries.map((e) => [e.index, e.term]), Array.from({ length: 20 }, (_, i) => [i + 1, 1 + Math.floor((i + 1) / 7)]));
        assert.deepEqual(recovery.hardState, hs(3, 2, 19));
      } finally {
        t.cleanup();
      }
    });

    test('releasing segments under a snapshot keeps replay whole: snapshot marker, hard state and later entries', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk, { segmentBytesMax: 150 });
        for (let i = 1; i <= 40; i++) {
          wal.append({ entries: [entry(i)], hardState: hs(1, 1, i) });
          wal.sync();
        }
        const before = wal.segmentNames();
        wal.append({ snapshot: { metadata: meta(30, 1), retainLog: true } });
        wal.sync();
        const removed = wal.releaseBefore(30);
        assert.ok(removed.length > 0, 'some segments are wholly under the snapshot');
        assert.deepEqual(removed, before.slice(0, removed.length));
        const { recovery } = Wal.open(t.disk, { segmentBytesMax: 150 });
        assert.deepEqual(recovery.snapshot, meta(30, 1));
        assert.deepEqual(summary(recovery.entries), summary(range(31, 40)));
        assert.deepEqual(recovery.hardState, hs(1, 1, 40));
      } finally {
        t.cleanup();
      }
    });

    test('an installed snapshot resets the log; entries after it follow', () => {
      const t = kind.make();
      try {
        const { wal } = Wal.open(t.disk);
        wal.append({ entries: range(1, 8, 1) });
        wal.append({ snapshot: { metadata: meta(5, 2), retainLog: false }, entries: [entry(6, 2, 'fresh')], hardState: hs(2, 0, 5) });
        wal.sync();
        const { recovery } = Wal.open(t.disk);
        assert.deepEqual(recovery.snapshot, meta(5, 2));
        assert.deepEqual(summary(recovery.entries), ['6@2:fresh']);
      } finally {
        t.cleanup();
      }
    });
  });
}

describe('Wal invariants and unrepairable damage', () => {
  const memory = diskKinds[0]!;

  test('an append that would leave a gap is rejected before anything is written', () => {
    const t = memory.make();
    const { wal } = Wal.open(t.disk);
    wal.append({ entries: range(1, 2) });
    wal.sync();
    const file = onlySegment(t.disk);
    const size = t.disk.size(file);
    assert.throws(() => wal.append({ entries: [entry(4)] }), /leaves a gap/);
    assert.throws(() => wal.append({ entries: [entry(3), entry(5)] }), /not contiguous/);
    assert.throws(() => wal.append({ entries: [entry(3, 2), entry(4, 1)] }), /term goes down/);
    assert.throws(() => wal.append({ snapshot: { metadata: meta(2, 9), retainLog: true } }), /does not match the log/);
    assert.equal(t.disk.size(file), size);
    assert.equal(wal.failed, false, 'a rejected append is a caller bug, not a disk failure');
  });

  test('releasing beyond the synced snapshot marker is refused', () => {
    const t = memory.make();
    const { wal } = Wal.open(t.disk, { segmentBytesMax: 100 });
    for (let i = 1; i <= 10; i++) wal.append({ entries: [entry(i)] });
    wal.sync();
    wal.append({ snapshot: { metadata: meta(8, 1), retainLog: true } });
    assert.throws(() => wal.releaseBefore(8), /beyond the synced snapshot marker/);
  });

  test('a checksummed record that cannot be decoded stops the open instead of being cut', () => {
    const t = memory.make();
    const { wal } = Wal.open(t.disk);
    wal.append({ entries: range(1, 2) });
    wal.sync();
    const file = onlySegment(t.disk);
    t.disk.append(file, encodeRecord(99, new Uint8Array([1, 2, 3])));
    t.disk.fsync(file);
    assert.throws(() => Wal.open(t.disk), (error: unknown) => error instanceof StorageError && error.code === 'undecodable');
    assert.ok(t.disk.size(file)! > 0);
  });

  test('a missing middle segment is reported and the segments after it removed', () => {
    const t = memory.make();
    const { wal } = Wal.open(t.disk, { segmentBytesMax: 100 });
    for (let i = 1; i <= 12; i++) {
      wal.append({ entries: [entry(i)] });
      wal.sync();
    }
    const segments = wal.segmentNames();
    assert.ok(segments.length >= 3);
    t.disk.remove(`wal/${segments[1]}`);
    const { recovery } = Wal.open(t.disk, { segmentBytesMax: 100 });
    assert.equal(recovery.truncation?.reason, 'segment-missing');
    assert.deepEqual(recovery.truncation?.segmentsRemoved, segments.slice(2));
    assert.deepEqual(t.disk.list('wal'), segments.slice(0, 1));
  });

  test('entries that no longer reach back to the snapshot are a log gap, not silently accepted', () => {
    const t = memory.make();
    // A segment whose first index says entries 1..9 lived in a segment that is gone, with no snapshot covering them.
    t.disk.write(`wal/${segmentName(2, 10)}`, concatFrames([encodeRecord(1, encodeEntry(entry(10)))]));
    assert.throws(() => Wal.open(t.disk), (error: unknown) => error instanceof StorageError && error.code === 'log-gap');
  });
});

describe('segments released in the background', () => {
  test('are unlinked only when the disk gets to it, and replay is whole whether a crash comes before or after', () => {
    for (const crashBefore of [true, false]) {
      const disk = new MemoryDisk();
      disk.faults.loseUnsyncedOnCrash = true;
      const { wal } = Wal.open(disk, { segmentBytesMax: 150 });
      for (let i = 1; i <= 40; i++) {
        wal.append({ entries: [entry(i)], hardState: hs(1, 1, i) });
        wal.sync();
      }
      wal.append({ snapshot: { metadata: meta(30, 1), retainLog: true } });
      wal.sync();
      const before = wal.segmentNames();
      const removed = wal.releaseBefore(30, Number.POSITIVE_INFINITY, true);
      assert.ok(removed.length > 0);
      assert.deepEqual(disk.list('wal'), before, 'nothing unlinked inside the call');
      if (!crashBefore) assert.equal(disk.settleBackground(), removed.length + 1);
      disk.crash();
      assert.deepEqual(disk.list('wal'), crashBefore ? before : before.slice(removed.length));
      const { recovery } = Wal.open(disk, { segmentBytesMax: 150 });
      assert.deepEqual(recovery.snapshot, meta(30, 1), `crash ${crashBefore ? 'before' : 'after'} the unlinks`);
      assert.deepEqual(summary(recovery.entries), summary(range(31, 40)));
      assert.deepEqual(recovery.hardState, hs(1, 1, 40));
    }
  });
});
