import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DiskError, MemoryDisk, type BackgroundLane, type Disk } from './disk.js';
import { NodeDisk, SYNC_HANDLES_MAX } from './node-disk.js';
import { Prng } from './prng.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

function withNodeDisk(fn: (disk: NodeDisk, root: string) => void): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
  try {
    fn(new NodeDisk(root), root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function contract(name: string, make: (fn: (disk: Disk) => void) => void): void {
  describe(`${name} honours the Disk contract`, () => {
    test('append, write, read, size, list, rename, remove, truncate', () =>
      make((disk) => {
        disk.append('log/a', bytes('ab'));
        disk.append('log/a', bytes('cd'));
        assert.equal(text(disk.read('log/a')), 'abcd');
        assert.equal(disk.size('log/a'), 4);
        disk.write('meta', bytes('x'));
        assert.deepEqual(disk.list(), ['meta']);
        assert.deepEqual(disk.list('log'), ['a']);
        disk.rename('meta', 'meta2');
        assert.equal(disk.read('meta'), undefined);
        assert.equal(text(disk.read('meta2')), 'x');
        disk.truncate('log/a', 1);
        assert.equal(text(disk.read('log/a')), 'a');
        disk.remove('meta2');
        disk.remove('never-existed');
        assert.equal(disk.size('meta2'), undefined);
      }));
    test('paths that escape the directory are refused', () =>
      make((disk) => {
        assert.throws(() => disk.write('../x', bytes('no')), DiskError);
        assert.throws(() => disk.write('/etc/x', bytes('no')), DiskError);
        for (const bad of ['', 'a/../b', 'a/..', 'a//b', 'a/', '..']) assert.throws(() => disk.append(bad, bytes('no')), DiskError, JSON.stringify(bad));
        for (const good of ['...', 'a/..b', '.x/y', 'wal/0000-0001.wal']) disk.append(good, bytes('ok'));
        assert.equal(text(disk.read('a/..b')), 'ok');
      }));
    test('fsync of a missing file is an error', () =>
      make((disk) => {
        assert.throws(() => disk.fsync('missing'), DiskError);
      }));
  });
}

contract('MemoryDisk', (fn) => fn(new MemoryDisk()));
contract('NodeDisk', (fn) => withNodeDisk((disk) => fn(disk)));

describe('MemoryDisk crash semantics', () => {
  test('without the fault a crash loses nothing (a process crash keeps the page cache)', () => {
    const disk = new MemoryDisk();
    disk.append('a', bytes('unsynced'));
    disk.crash();
    assert.equal(text(disk.read('a')), 'unsynced');
  });

  test('with loseUnsyncedOnCrash only fsynced bytes of durable entries survive', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    disk.append('wal', bytes('one'));
    disk.fsync('wal');
    disk.fsyncDir();
    disk.append('wal', bytes('two'));
    disk.append('new-file', bytes('data'));
    disk.fsync('new-file'); // synced data, but its directory entry never was
    disk.crash();
    assert.equal(text(disk.read('wal')), 'one');
    assert.equal(disk.read('new-file'), undefined);
  });

  test('appends into spare capacity never change a durable image or an earlier read', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    disk.append('wal', bytes('abc'));
    disk.fsync('wal');
    disk.fsyncDir();
    const seen = disk.read('wal');
    disk.truncate('wal', 1); // cut below the durable length, then write over the cut bytes
    disk.append('wal', bytes('XYZ'));
    assert.equal(text(seen), 'abc');
    assert.equal(text(disk.read('wal')), 'aXYZ');
    disk.crash();
    assert.equal(text(disk.read('wal')), 'abc');
    // After the crash the survivor is appended to again: the lost tail must not come back.
    for (let i = 0; i < 2_000; i++) disk.append('wal', bytes('.'));
    assert.equal(disk.size('wal'), 2_003);
    assert.equal(text(disk.read('wal'))!.slice(0, 4), 'abc.');
  });

  test('a file growing across many chunks reads back byte for byte, and a crash keeps exactly its last fsync', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const prng = new Prng(3);
    const reference: number[] = [];
    let durableLength = 0;
    let stamp = 0;
    // Pieces from 1 byte to 3 MiB, so appends fill chunks exactly, straddle them and exceed them.
    for (let i = 0; i < 400; i++) {
      const n = i % 97 === 0 ? 3 * 1024 * 1024 + Math.floor(prng.next() * 1000) : 1 + Math.floor(prng.next() * 20_000);
      const piece = new Uint8Array(n);
      for (let j = 0; j < n; j++) piece[j] = (stamp++ * 31 + 7) & 0xff;
      disk.append('wal', piece);
      for (const b of piece) reference.push(b);
      if (prng.next() < 0.2) {
        disk.fsync('wal');
        disk.fsyncDir();
        durableLength = reference.length;
      }
      if (i % 50 === 0) assert.deepEqual(disk.read('wal'), Uint8Array.from(reference), `read after ${i + 1} appends`);
    }
    assert.equal(disk.size('wal'), reference.length);
    const before = disk.read('wal')!;
    disk.crash();
    assert.deepEqual(disk.read('wal'), Uint8Array.from(reference.slice(0, durableLength)));
    assert.deepEqual(before, Uint8Array.from(reference), 'a read taken before the crash is unchanged');
    disk.append('wal', new Uint8Array([1, 2, 3]));
    assert.equal(disk.size('wal'), durableLength + 3);
  });

  test('a rename is durable only after fsyncDir', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    disk.write('snap.tmp', bytes('v1'));
    disk.fsync('snap.tmp');
    disk.fsyncDir();
    disk.rename('snap.tmp', 'snap');
    disk.crash();
    assert.deepEqual(disk.list(), ['snap.tmp']);
    disk.rename('snap.tmp', 'snap');
    disk.fsyncDir();
    disk.crash();
    assert.deepEqual(disk.list(), ['snap']);
  });

  test('an injected fsync failure throws EIO and leaves the data unsynced', () => {
    const disk = new MemoryDisk(() => 0);
    disk.faults.loseUnsyncedOnCrash = true;
    disk.write('f', bytes('a'));
    disk.fsync('f');
    disk.fsyncDir();
    disk.append('f', bytes('b'));
    disk.faults.fsyncFailProbability = 1;
    assert.throws(() => disk.fsync('f'), (e: unknown) => e instanceof DiskError && e.code === 'EIO');
    disk.crash();
    assert.equal(text(disk.read('f')), 'a');
  });

  test('slow fsyncs accrue latency the simulated runtime charges to the actor', () => {
    const disk = new MemoryDisk();
    disk.faults.fsyncDelayMs = 30;
    disk.write('f', bytes('a'));
    disk.fsync('f');
    disk.fsync('f');
    assert.equal(disk.takeDelayMs(), 60);
    assert.equal(disk.takeDelayMs(), 0);
  });

  test("each fsync takes the disk's own latency plus a fault's, told to the hook at the fsync itself, and fsyncDir none", () => {
    const told: number[] = [];
    const disk = new MemoryDisk(() => 0.5, (delayMs) => told.push(delayMs));
    disk.fsyncLatencyMs = 2;
    disk.write('f', bytes('a'));
    disk.fsync('f');
    assert.deepEqual(told, [2]);
    disk.faults.fsyncDelayMs = 30;
    disk.fsync('f');
    disk.fsyncDir();
    assert.deepEqual(told, [2, 32]);
    // Told as it fell: nothing is left owed.
    assert.equal(disk.takeDelayMs(), 0);
    // The latency is time, not durability: what was fsynced survives a crash that loses unsynced writes.
    disk.fsyncDir();
    disk.append('f', bytes('b'));
    disk.faults.loseUnsyncedOnCrash = true;
    disk.crash();
    assert.equal(text(disk.read('f')), 'a');
  });
});

describe('NodeDisk with loseUnsyncedOnCrash', () => {
  test('holds unsynced writes in memory so a dead thread loses them, and reads see them meanwhile', () =>
    withNodeDisk((disk, root) => {
      disk.faults.loseUnsyncedOnCrash = true;
      disk.append('wal', bytes('one'));
      disk.fsync('wal');
      disk.append('wal', bytes('two'));
      assert.equal(text(disk.read('wal')), 'onetwo');
      assert.equal(disk.size('wal'), 6);
      // What another incarnation (a fresh NodeDisk on the same directory) finds:
      assert.equal(text(new NodeDisk(root).read('wal')), 'one');
      disk.dropUnsynced();
      assert.equal(text(disk.read('wal')), 'one');
    }));

  test('a failed fsync does not write the pending bytes', () =>
    withNodeDisk((disk, root) => {
      disk.faults.loseUnsyncedOnCrash = true;
      disk.append('wal', bytes('x'));
      disk.faults.fsyncFailProbability = 1;
      assert.throws(() => disk.fsync('wal'), DiskError);
      assert.equal(new NodeDisk(root).read('wal'), undefined);
    }));
});

describe('MemoryDisk background operations', () => {
  test('run in the order asked, never inside the call, and an fsync makes the appends before it durable', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const ends: string[] = [];
    disk.inBackground({ type: 'append', path: 'f', data: bytes('one') }, (error) => ends.push(`append ${String(error)}`));
    disk.inBackground({ type: 'fsync', path: 'f' }, (error) => ends.push(`fsync ${String(error)}`));
    disk.inBackground({ type: 'fsyncDir', dir: '' }, (error) => ends.push(`fsyncDir ${String(error)}`));
    assert.deepEqual(ends, []);
    assert.equal(disk.read('f'), undefined, 'an append takes effect when it runs, not when asked');
    assert.equal(disk.settleBackground(), 3);
    assert.deepEqual(ends, ['append undefined', 'fsync undefined', 'fsyncDir undefined']);
    disk.crash();
    assert.equal(text(disk.read('f')), 'one');
  });

  test('a crash before the fsync is done loses the data; what was done before it stays', () => {
    const disk = new MemoryDisk();
    disk.faults.loseUnsyncedOnCrash = true;
    const ends: string[] = [];
    disk.inBackground({ type: 'append', path: 'f', data: bytes('kept') }, () => ends.push('append kept'));
    disk.inBackground({ type: 'fsync', path: 'f' }, () => ends.push('fsync kept'));
    disk.inBackground({ type: 'fsyncDir', dir: '' }, () => ends.push('fsyncDir'));
    disk.inBackground({ type: 'append', path: 'f', data: bytes('+lost') }, () => ends.push('append lost'));
    disk.inBackground({ type: 'fsync', path: 'f' }, () => ends.push('fsync lost'));
    assert.equal(disk.settleBackground(4), 4);
    disk.crash();
    assert.deepEqual(ends, ['append kept', 'fsync kept', 'fsyncDir', 'append lost']);
    assert.equal(disk.backgroundPending, 0, 'what had not run died with the thread');
    assert.equal(text(disk.read('f')), 'kept');
  });

  test('a failed fsync ends with a DiskError and makes nothing durable', () => {
    const disk = new MemoryDisk(() => 0);
    disk.faults = { ...disk.faults, loseUnsyncedOnCrash: true, fsyncFailProbability: 1 };
    let failure: unknown;
    disk.inBackground({ type: 'append', path: 'f', data: bytes('x') }, () => undefined);
    disk.inBackground({ type: 'fsyncDir', dir: '' }, () => undefined);
    disk.inBackground({ type: 'fsync', path: 'f' }, (error) => (failure = error));
    disk.settleBackground();
    assert.ok(failure instanceof DiskError && failure.code === 'EIO');
    disk.crash();
    assert.equal(disk.read('f'), undefined, 'its entry was made durable, but none of its content ever was');
  });

  test('with a scheduler each operation runs at a later instant, in order, an injected fsync delay included', () => {
    const events: Array<{ atMs: number; run: () => void }> = [];
    let nowMs = 0;
    const disk = new MemoryDisk(() => 0.5, undefined, (ms, run) => events.push({ atMs: nowMs + ms, run }));
    disk.faults.fsyncDelayMs = 40;
    const ends: Array<[string, number]> = [];
    disk.inBackground({ type: 'append', path: 'f', data: bytes('a') }, () => ends.push(['append', nowMs]));
    disk.inBackground({ type: 'fsync', path: 'f' }, () => ends.push(['fsync', nowMs]));
    while (events.length > 0) {
      events.sort((a, b) => a.atMs - b.atMs);
      const next = events.shift()!;
      nowMs = next.atMs;
      next.run();
    }
    assert.deepEqual(ends, [['append', 1], ['fsync', 42]]);
    assert.equal(disk.takeDelayMs(), 0, 'a background fsync does not hold the actor');
  });

  test('the log lane runs beside the bulk lane: an fsync asked after a long writeback is done first', () => {
    const events: Array<{ atMs: number; seq: number; run: () => void }> = [];
    let nowMs = 0;
    let seq = 0;
    const disk = new MemoryDisk(() => 0.5, undefined, (ms, run) => events.push({ atMs: nowMs + ms, seq: seq++, run }));
    disk.fsyncLatencyMs = 10;
    const ends: Array<[string, number]> = [];
    for (let i = 0; i < 5; i++) disk.inBackground({ type: 'append', path: 'snap/s', data: bytes('x') }, () => undefined, 'bulk');
    disk.inBackground({ type: 'fsync', path: 'snap/s' }, () => ends.push(['snapshot fsync', nowMs]), 'bulk');
    disk.append('wal/w', bytes('entry'));
    disk.inBackground({ type: 'fsync', path: 'wal/w' }, () => ends.push(['wal fsync', nowMs]));
    assert.equal(disk.backgroundPendingIn('bulk'), 6);
    assert.equal(disk.backgroundPendingIn('log'), 1);
    while (events.length > 0) {
      events.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      const next = events.shift()!;
      nowMs = next.atMs;
      next.run();
    }
    assert.deepEqual(ends, [['wal fsync', 11], ['snapshot fsync', 16]]);
  });

  test('a bad path is refused when asked', () => {
    const disk = new MemoryDisk();
    assert.throws(() => disk.inBackground({ type: 'append', path: '../x', data: bytes('no') }, () => undefined), DiskError);
  });
});

describe('NodeDisk background operations', () => {
  const settled = (disk: NodeDisk, op: Parameters<NodeDisk['inBackground']>[0], ends: string[], label: string, lane?: BackgroundLane): Promise<DiskError | undefined> =>
    new Promise((resolve) => disk.inBackground(op, (error) => (ends.push(label), resolve(error)), lane));

  test('the log lane does not wait for the bulk lane: a WAL fsync asked after 64 MiB of snapshot writes ends first', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    try {
      const disk = new NodeDisk(root);
      const ends: string[] = [];
      const chunk = new Uint8Array(8 << 20).fill(1);
      const all: Array<Promise<DiskError | undefined>> = [];
      for (let i = 0; i < 8; i++) all.push(settled(disk, { type: 'append', path: 'snap/s', data: chunk }, ends, 'snapshot append', 'bulk'));
      all.push(settled(disk, { type: 'fsync', path: 'snap/s' }, ends, 'snapshot fsync', 'bulk'));
      disk.append('wal/w', bytes('entry'));
      all.push(settled(disk, { type: 'fsync', path: 'wal/w' }, ends, 'wal fsync'));
      assert.deepEqual(await Promise.all(all), all.map(() => undefined));
      assert.equal(ends[0], 'wal fsync', `ends in order: ${ends.join(', ')}`);
      assert.equal(disk.size('snap/s'), 64 << 20);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('run on the thread pool in the order asked; the bytes are in the file when the fsync is done', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    try {
      const disk = new NodeDisk(root);
      const ends: string[] = [];
      const all = [
        settled(disk, { type: 'append', path: 'snap/f', data: bytes('one,') }, ends, 'append 1'),
        settled(disk, { type: 'append', path: 'snap/f', data: bytes('two') }, ends, 'append 2'),
        settled(disk, { type: 'fsync', path: 'snap/f' }, ends, 'fsync'),
        settled(disk, { type: 'fsyncDir', dir: 'snap' }, ends, 'fsyncDir'),
        settled(disk, { type: 'remove', path: 'snap/other' }, ends, 'remove'),
      ];
      assert.deepEqual(ends, [], 'nothing ends inside the call');
      assert.deepEqual(await Promise.all(all), [undefined, undefined, undefined, undefined, undefined]);
      assert.deepEqual(ends, ['append 1', 'append 2', 'fsync', 'fsyncDir', 'remove']);
      assert.equal(fs.readFileSync(path.join(root, 'snap/f'), 'utf8'), 'one,two');
      assert.equal(disk.backgroundPending, 0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('an fsync reaches the file its path names now: a kept descriptor is dropped when the file is renamed over, removed or replaced behind the disk', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    try {
      const disk = new NodeDisk(root);
      // What each fsync of a kept descriptor synced, against what the path names at that moment.
      const synced: Array<{ file: string; fdInode: number; pathInode: number; fd: number }> = [];
      disk.onKeptFsync = (file, fd) => synced.push({ file, fd, fdInode: fs.fstatSync(fd).ino, pathInode: fs.statSync(path.join(root, file)).ino });
      const fsyncBg = (file: string) => settled(disk, { type: 'fsync', path: file }, [], file);
      const last = () => synced[synced.length - 1]!;
      const ownFile = (label: string) => assert.equal(last().fdInode, last().pathInode, `${label}: the descriptor synced is the file the path names`);

      disk.append('wal/seg', bytes('one'));
      assert.equal(await fsyncBg('wal/seg'), undefined);
      disk.append('wal/seg', bytes('two'));
      assert.equal(await fsyncBg('wal/seg'), undefined);
      assert.equal(synced.length, 2, 'the second fsync went through the descriptor the first opened');
      assert.equal(synced[0]!.fd, synced[1]!.fd, 'one descriptor kept, not one opened per fsync');
      ownFile('kept');

      // Through the disk: a file renamed over it (a snapshot's tmp -> final), then an inline fsync.
      disk.write('wal/seg.tmp', bytes('replacement'));
      disk.rename('wal/seg.tmp', 'wal/seg');
      disk.append('wal/seg', bytes('+'));
      assert.equal(await fsyncBg('wal/seg'), undefined);
      ownFile('renamed over');
      disk.fsync('wal/seg');
      ownFile('inline after the rename');

      // Through the disk: removed and created again (a released segment's name reused).
      disk.remove('wal/seg');
      disk.append('wal/seg', bytes('again'));
      assert.equal(await fsyncBg('wal/seg'), undefined);
      ownFile('removed and created again');

      // In the background lane: removed there, then created again.
      assert.equal(await settled(disk, { type: 'remove', path: 'wal/seg' }, [], 'remove'), undefined);
      disk.append('wal/seg', bytes('third'));
      assert.equal(await fsyncBg('wal/seg'), undefined);
      ownFile('removed in the background and created again');

      // Behind the disk's back (another writer on the directory): only the inode check can see it.
      fs.writeFileSync(path.join(root, 'wal/other'), 'outside');
      fs.renameSync(path.join(root, 'wal/other'), path.join(root, 'wal/seg'));
      assert.equal(await fsyncBg('wal/seg'), undefined);
      ownFile('replaced behind the disk');
      disk.fsync('wal/seg');
      ownFile('inline after a replacement behind the disk');

      // Bounded: one kept per file fsynced, the oldest closed beyond the bound; all closed on demand.
      for (let i = 0; i < SYNC_HANDLES_MAX + 3; i++) {
        disk.append(`wal/f${i}`, bytes('x'));
        assert.equal(await fsyncBg(`wal/f${i}`), undefined);
      }
      assert.equal(disk.syncHandlesOpen, SYNC_HANDLES_MAX);
      disk.closeSyncHandles();
      assert.equal(disk.syncHandlesOpen, 0);
      assert.equal(await fsyncBg('wal/f0'), undefined, 'an fsync after the close opens the file again');
      disk.closeSyncHandles();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('with unsynced loss armed, bytes reach the file only with their fsync, and a drop before it loses them', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    try {
      const disk = new NodeDisk(root);
      disk.faults.loseUnsyncedOnCrash = true;
      const ends: string[] = [];
      await settled(disk, { type: 'append', path: 'f', data: bytes('kept') }, ends, 'append');
      assert.equal(fs.existsSync(path.join(root, 'f')), false, 'an append without its fsync stays in memory');
      await settled(disk, { type: 'fsync', path: 'f' }, ends, 'fsync');
      assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'kept');
      await settled(disk, { type: 'append', path: 'f', data: bytes('+lost') }, ends, 'append');
      disk.faults.fsyncDelayMs = 200;
      let lateEnd = false;
      disk.inBackground({ type: 'fsync', path: 'f' }, () => (lateEnd = true));
      disk.inBackground({ type: 'append', path: 'f', data: bytes('+never') }, () => (lateEnd = true));
      disk.dropUnsynced();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(lateEnd, false, 'no end is reported for operations a crash cut off');
      assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'kept');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('operations an ended incarnation asked for and that had not begun never run nor report; the next incarnation\'s do', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    try {
      const disk = new NodeDisk(root);
      const ends: string[] = [];
      disk.inBackground({ type: 'append', path: 'old', data: bytes('running') }, () => ends.push('old append'));
      disk.inBackground({ type: 'append', path: 'old', data: bytes('+queued') }, () => ends.push('old queued'));
      disk.dropBackground();
      await settled(disk, { type: 'append', path: 'new', data: bytes('next') }, ends, 'new append');
      assert.deepEqual(ends, ['new append'], 'nothing of the ended incarnation reports');
      assert.equal(fs.existsSync(path.join(root, 'old')), false, 'neither had begun when the incarnation ended: neither ran');
      assert.equal(fs.readFileSync(path.join(root, 'new'), 'utf8'), 'next');
      assert.equal(disk.backgroundPending, 0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a failed fsync ends with a DiskError', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    try {
      const disk = new NodeDisk(root, () => 0);
      disk.faults.fsyncFailProbability = 1;
      disk.append('f', bytes('x'));
      const error = await settled(disk, { type: 'fsync', path: 'f' }, [], 'fsync');
      assert.ok(error instanceof DiskError && error.code === 'EIO');
      const missing = await settled(disk, { type: 'fsync', path: 'absent' }, [], 'fsync');
      assert.ok(missing instanceof DiskError && missing.code === 'ENOENT');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('NodeDisk fsyncWithin (a bounded wait on the thread, issue #22)', () => {
  /** A disk whose helper thread is up and whose file `wal/w` has its descriptor kept (what the first calls arrange). */
  async function readyDisk(root: string): Promise<NodeDisk> {
    const disk = new NodeDisk(root);
    disk.append('wal/w', bytes('entry'));
    // The first calls are ordinary background fsyncs: they open the descriptor while the helper starts.
    for (let tries = 0; tries < 500; tries++) {
      let report!: (error: DiskError | undefined) => void;
      const reported = new Promise<DiskError | undefined>((resolve) => (report = resolve));
      const result = disk.fsyncWithin('wal/w', 1_000, report);
      if (result === 'durable') return disk;
      assert.equal(result, 'queued', 'nothing is outlasted on a fast disk while the helper starts');
      assert.equal(await reported, undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the fsync helper did not start');
  }

  test('a fast fsync ends within the wait: durable on return, on the kept descriptor, and done is never called', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    const disk = await readyDisk(root);
    try {
      const synced: number[] = [];
      disk.onKeptFsync = (_file, fd) => synced.push(fd);
      disk.append('wal/w', bytes('more'));
      let doneCalls = 0;
      assert.equal(disk.fsyncWithin('wal/w', 1_000, () => doneCalls++), 'durable');
      assert.equal(synced.length, 1, 'the descriptor kept for the file was handed to the helper');
      assert.equal(disk.backgroundPending, 0);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(doneCalls, 0, 'a durable return is the only report');
      assert.equal(text(disk.read('wal/w')), 'entrymore');
    } finally {
      disk.closeSyncHandles();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a slowed disk holds the thread only the wait: outlasted, done later, and the log lane\'s next operation ends after it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    const disk = await readyDisk(root);
    try {
      disk.faults.fsyncDelayMs = 300;
      disk.append('wal/w', bytes('slow'));
      const ends: string[] = [];
      let outlastedDone!: Promise<DiskError | undefined>;
      const result = disk.fsyncWithin('wal/w', 2, (error) => (outlastedDone = Promise.resolve(error), ends.push('outlasted fsync')));
      assert.equal(result, 'outlasted', 'returned while the helper still sleeps out the delay');
      assert.equal(ends.length, 0, 'not reported inside the call');
      assert.equal(disk.backgroundPending, 1);
      disk.faults.fsyncDelayMs = 0;
      disk.append('wal/w', bytes('next'));
      const next = new Promise<DiskError | undefined>((resolve) => disk.inBackground({ type: 'fsync', path: 'wal/w' }, (error) => (ends.push('next fsync'), resolve(error))));
      assert.equal(await next, undefined);
      assert.equal(await outlastedDone, undefined);
      assert.deepEqual(ends, ['outlasted fsync', 'next fsync'], 'the lane keeps its order');
      assert.equal(disk.fsyncsOutlasted, 1);
      assert.equal(disk.fsyncWithin('wal/w', 1_000, () => undefined), 'durable', 'the helper is free again');
    } finally {
      disk.closeSyncHandles();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('closing the disk with an fsync outlasted ends it as failed instead of leaving its waiter forever', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    const disk = await readyDisk(root);
    try {
      disk.faults.fsyncDelayMs = 60_000;
      const reported = new Promise<DiskError | undefined>((resolve) => assert.equal(disk.fsyncWithin('wal/w', 2, resolve), 'outlasted'));
      disk.closeSyncHandles();
      const error = await reported;
      assert.ok(error instanceof DiskError && error.code === 'EIO', `reported as failed: ${String(error)}`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('an injected failure is thrown at once, as a synchronous fsync\'s', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-'));
    const disk = await readyDisk(root);
    try {
      disk.faults.fsyncFailProbability = 1;
      assert.throws(() => disk.fsyncWithin('wal/w', 1_000, () => undefined), (error: unknown) => error instanceof DiskError && error.code === 'EIO');
    } finally {
      disk.closeSyncHandles();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('bytes handed to a disk', () => {
  for (const [name, make] of [['MemoryDisk', () => new MemoryDisk()], ['NodeDisk with unsynced loss armed', () => new NodeDisk(fs.mkdtempSync(path.join(os.tmpdir(), 'kt-disk-')))]] as const) {
    test(`${name} keeps its own copy: a Buffer reused by the caller after the call does not change the file`, async () => {
      const disk = make();
      disk.faults.loseUnsyncedOnCrash = true;
      const reused = Buffer.from('first');
      disk.append('a', reused);
      disk.write('b', reused);
      await new Promise<void>((resolve) => {
        disk.inBackground({ type: 'append', path: 'c', data: reused }, () => resolve());
        if (disk instanceof MemoryDisk) disk.settleBackground();
      });
      reused.write('XXXXX');
      assert.deepEqual([text(disk.read('a')), text(disk.read('b')), text(disk.read('c'))], ['first', 'first', 'first']);
      if (disk instanceof NodeDisk) fs.rmSync(disk.root, { recursive: true, force: true });
    });
  }
});
