import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { asDiskError, backgroundOpPath, checkPath, copyBytes, DiskError, noDiskFaults, type BackgroundDone, type BackgroundLane, type BackgroundOp, type Disk, type DiskFaults, type FsyncWithinResult } from './disk.js';
import { FSYNC_ERROR_CODES, FSYNC_WORDS, FsyncState, FsyncWord } from './fsync-helper.js';

/**
 * A file's descriptor kept open for its fsyncs, with the identity (device,
 * inode) of the file it was opened on. `busy` counts fsyncs under way on it:
 * a handle dropped meanwhile is closed when the last ends, never under one
 * (a closed descriptor's number is reused by the next open: an fsync on it
 * would sync some other file).
 */
interface SyncHandle {
  /** A FileHandle, not a bare number: a thread terminated with it open (a kill) has it closed by Node's teardown. */
  file: fs.promises.FileHandle;
  dev: number;
  ino: number;
  busy: number;
  dropped: boolean;
}

/**
 * Descriptors a disk keeps open for fsyncs: the WAL's tail segment, the odd
 * file fsynced beside it. The least recently opened is closed beyond this.
 */
export const SYNC_HANDLES_MAX = 4;

interface Pending {
  /** True when the file's whole content is `chunks`; false when `chunks` follow what is on disk. */
  replace: boolean;
  chunks: Uint8Array[];
}

/**
 * A disk backed by a real directory, used by the threaded runtime.
 *
 * With `faults.loseUnsyncedOnCrash`, writes are held in this thread's memory
 * until `fsync`, so terminating the thread loses them exactly as a power cut
 * loses the page cache; without it, writes go straight to the file system.
 */
export class NodeDisk implements Disk {
  faults: DiskFaults = { ...noDiskFaults };
  private readonly pending = new Map<string, Pending>();
  private readonly directoriesMade = new Set<string>();
  fsyncCount = 0;
  /**
   * Per lane, the background operations, one after another. A chain rather
   * than a list: an operation of an ended incarnation that is already
   * running is still waited for, so the next incarnation's never runs beside
   * it. The lanes' chains run side by side on libuv's pool.
   */
  private readonly backgroundChains: Record<BackgroundLane, Promise<void>> = { log: Promise.resolve(), bulk: Promise.resolve() };
  private backgroundCount = 0;
  /** Bumped by `dropBackground`: operations asked before it that have not begun never run, and none reports its end. */
  private backgroundEpoch = 0;
  /**
   * Per file, a descriptor kept open for its fsyncs (issue 22): a background
   * fsync was open + fsync + close, three trips through libuv's pool and back
   * to the actor's event loop, 0.3-0.5 ms of a lone put's latency on this
   * machine; with the descriptor kept, one trip. Checked against the path
   * before every fsync (`syncHandle`), and dropped when the file is removed or
   * renamed, so an fsync always reaches the file the path names now.
   */
  private readonly syncHandles = new Map<string, SyncHandle>();
  /** Test seam: called with the descriptor an fsync of a file kept open is about to sync. */
  onKeptFsync: ((file: string, fd: number) => void) | undefined;
  /** `fsyncWithin`'s thread and its shared words, started on first use (a disk that never uses it has none). */
  private fsyncHelper: { worker: Worker; words: Int32Array } | undefined;
  /** `fsyncWithin` calls that outlasted their wait (tests and figures). */
  fsyncsOutlasted = 0;

  constructor(
    readonly root: string,
    private readonly random: () => number = Math.random,
    private readonly sleepMs: (ms: number) => void = blockFor,
  ) {
    fs.mkdirSync(root, { recursive: true });
  }

  append(file: string, data: Uint8Array): void {
    const full = this.resolve(file);
    if (this.faults.loseUnsyncedOnCrash) {
      const entry = this.pending.get(file) ?? { replace: false, chunks: [] };
      entry.chunks.push(copyBytes(data));
      this.pending.set(file, entry);
      return;
    }
    fs.appendFileSync(full, data);
  }

  write(file: string, data: Uint8Array): void {
    const full = this.resolve(file);
    if (this.faults.loseUnsyncedOnCrash) {
      this.pending.set(file, { replace: true, chunks: [copyBytes(data)] });
      return;
    }
    fs.writeFileSync(full, data);
  }

  fsync(file: string): void {
    const full = this.resolve(file);
    const entry = this.pending.get(file);
    if (entry === undefined && !fs.existsSync(full)) throw new DiskError('ENOENT', `fsync: no such file ${file}`);
    this.fsyncCount++;
    if (this.faults.fsyncDelayMs > 0) this.sleepMs(this.faults.fsyncDelayMs);
    // A failed fsync leaves the data unsynced: decide before anything reaches the file.
    if (this.faults.fsyncFailProbability > 0 && this.random() < this.faults.fsyncFailProbability) {
      throw new DiskError('EIO', `fsync ${file}: injected I/O error`);
    }
    if (entry !== undefined) {
      this.pending.delete(file);
      if (entry.replace) fs.writeFileSync(full, Buffer.concat(entry.chunks));
      else fs.appendFileSync(full, Buffer.concat(entry.chunks));
    }
    // The descriptor the background fsyncs keep, if it is still this file's (an inline fsync of the WAL's tail).
    const kept = this.keptSyncHandle(file, full);
    if (kept !== undefined) {
      this.onKeptFsync?.(file, kept.file.fd);
      fs.fsyncSync(kept.file.fd);
      return;
    }
    const fd = fs.openSync(full, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * `Disk.fsyncWithin`: the fsync on this disk's helper thread (fsync-helper.ts)
   * while this one waits for it at most `waitMs`. Faults as `fsync`'s: a failure
   * drawn is thrown at once; `fsyncDelayMs` is slept on the helper, so a slowed
   * disk holds this thread `waitMs`, not the delay.
   */
  fsyncWithin(file: string, waitMs: number, done: BackgroundDone): FsyncWithinResult {
    const full = this.resolve(file);
    const helper = this.startedFsyncHelper();
    const kept = helper === undefined ? undefined : this.keptSyncHandle(file, full);
    if (helper === undefined || kept === undefined || Atomics.load(helper.words, FsyncWord.state) !== FsyncState.idle || this.pending.has(file)) {
      // The first fsync of a file opens its descriptor (through the pool); held-back writes are the background's to land.
      this.inBackground({ type: 'fsync', path: file }, done, 'log');
      return 'queued';
    }
    if (!fs.existsSync(full)) throw new DiskError('ENOENT', `fsync: no such file ${file}`);
    this.fsyncCount++;
    if (this.faults.fsyncFailProbability > 0 && this.random() < this.faults.fsyncFailProbability) {
      throw new DiskError('EIO', `fsync ${file}: injected I/O error`);
    }
    const { words } = helper;
    kept.busy++;
    this.onKeptFsync?.(file, kept.file.fd);
    Atomics.store(words, FsyncWord.fd, kept.file.fd);
    Atomics.store(words, FsyncWord.delayMs, Math.max(0, Math.round(this.faults.fsyncDelayMs)));
    Atomics.store(words, FsyncWord.state, FsyncState.requested);
    Atomics.notify(words, FsyncWord.state, 1);
    Atomics.wait(words, FsyncWord.state, FsyncState.requested, waitMs);
    if (Atomics.load(words, FsyncWord.state) === FsyncState.done) {
      this.fsyncHelperEnded(words, kept, file);
      return 'durable';
    }
    // Outlasted: the fsync goes on; its end is this lane's next, whatever is asked after it waits.
    this.fsyncsOutlasted++;
    const epoch = this.backgroundEpoch;
    this.backgroundCount++;
    const ended = waitForChange(words, FsyncWord.state, FsyncState.requested);
    this.backgroundChains.log = this.backgroundChains.log.then(async () => {
      await ended;
      let error: DiskError | undefined;
      try {
        this.fsyncHelperEnded(words, kept, file);
      } catch (caught) {
        error = asDiskError(caught, 'fsync in the background');
      } finally {
        this.backgroundCount--;
      }
      if (epoch === this.backgroundEpoch) done(error);
    });
    return 'outlasted';
  }

  /** The helper's fsync of `kept` ended: the helper idle again, the descriptor released; its failure thrown. */
  private fsyncHelperEnded(words: Int32Array, kept: SyncHandle, file: string): void {
    const result = Atomics.load(words, FsyncWord.result);
    Atomics.store(words, FsyncWord.state, FsyncState.idle);
    kept.busy--;
    if (kept.dropped && kept.busy === 0) closeQuietly(kept);
    if (result !== 0) throw new DiskError(FSYNC_ERROR_CODES[result] as 'EIO' | 'ENOENT' | 'EINVAL', `fsync ${file}: failed on the fsync helper`);
  }

  /** The helper thread once it is ready; undefined while it starts (the first call starts it). */
  private startedFsyncHelper(): { worker: Worker; words: Int32Array } | undefined {
    if (this.fsyncHelper === undefined) {
      const shared = new SharedArrayBuffer(FSYNC_WORDS * Int32Array.BYTES_PER_ELEMENT);
      const worker = new Worker(new URL('./fsync-helper.js', import.meta.url), {
        workerData: { fsyncHelperWords: shared, threadName: `fsync ${path.basename(this.root)}` },
        stdout: false,
        stderr: false,
      });
      // Never what keeps a process or thread alive; terminated with the disk's descriptors (closeSyncHandles).
      worker.unref();
      worker.on('error', () => undefined);
      this.fsyncHelper = { worker, words: new Int32Array(shared) };
    }
    return Atomics.load(this.fsyncHelper.words, FsyncWord.state) === FsyncState.booting ? undefined : this.fsyncHelper;
  }

  fsyncDir(dir = ''): void {
    const full = dir === '' ? this.root : this.resolve(dir);
    const fd = fs.openSync(full, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  read(file: string): Uint8Array | undefined {
    const full = this.resolve(file);
    const entry = this.pending.get(file);
    const onDisk = entry?.replace === true ? undefined : readIfExists(full);
    if (entry === undefined) return onDisk;
    return Buffer.concat([...(onDisk === undefined ? [] : [onDisk]), ...entry.chunks]);
  }

  readRange(file: string, offset: number, length: number): Uint8Array | undefined {
    if (this.pending.has(file)) return this.read(file)?.subarray(offset, offset + length);
    let fd: number;
    try {
      fd = fs.openSync(this.resolve(file), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const bytes = Buffer.allocUnsafe(length);
      return bytes.subarray(0, fs.readSync(fd, bytes, 0, length, offset));
    } finally {
      fs.closeSync(fd);
    }
  }

  rename(from: string, to: string): void {
    const fromFull = this.resolve(from);
    const toFull = this.resolve(to);
    this.dropSyncHandle(from);
    this.dropSyncHandle(to);
    const entry = this.pending.get(from);
    if (entry !== undefined) {
      this.pending.delete(from);
      this.pending.set(to, entry);
    }
    if (fs.existsSync(fromFull)) fs.renameSync(fromFull, toFull);
    else if (entry === undefined) throw new DiskError('ENOENT', `rename: no such file ${from}`);
    else if (!entry.replace) throw new DiskError('EIO', `rename ${from}: pending appends to a missing file`);
  }

  list(dir = ''): string[] {
    const full = dir === '' ? this.root : this.resolve(dir);
    const names = new Set<string>();
    if (fs.existsSync(full)) {
      for (const entry of fs.readdirSync(full, { withFileTypes: true })) if (entry.isFile()) names.add(entry.name);
    }
    for (const file of this.pending.keys()) {
      const slash = file.lastIndexOf('/');
      if ((slash < 0 ? '' : file.slice(0, slash)) === dir) names.add(file.slice(slash + 1));
    }
    return [...names].sort();
  }

  remove(file: string): void {
    this.dropSyncHandle(file);
    this.pending.delete(file);
    fs.rmSync(this.resolve(file), { force: true });
  }

  truncate(file: string, length: number): void {
    const full = this.resolve(file);
    if (this.pending.has(file)) {
      const content = this.read(file) ?? new Uint8Array(0);
      this.pending.set(file, { replace: true, chunks: [content.slice(0, length)] });
      return;
    }
    if (!fs.existsSync(full)) throw new DiskError('ENOENT', `truncate: no such file ${file}`);
    fs.truncateSync(full, length);
  }

  size(file: string): number | undefined {
    if (this.pending.has(file)) return this.read(file)?.length;
    const full = this.resolve(file);
    return fs.existsSync(full) ? fs.statSync(full).size : undefined;
  }

  /**
   * Runs on libuv's thread pool (fs.promises), one operation of a lane at a
   * time, so the actor's thread goes on while the disk works; `done` is
   * called from this thread's event loop once the operation is over.
   */
  inBackground(op: BackgroundOp, done: BackgroundDone, lane: BackgroundLane = 'log'): void {
    const path = backgroundOpPath(op);
    if (path !== undefined) this.resolve(path);
    const epoch = this.backgroundEpoch;
    this.backgroundCount++;
    this.backgroundChains[lane] = this.backgroundChains[lane].then(async () => {
      try {
        if (epoch !== this.backgroundEpoch) return;
        let error: DiskError | undefined;
        try {
          await this.runInBackground(op, epoch);
        } catch (caught) {
          error = asDiskError(caught, `${op.type} in the background`);
        }
        if (epoch === this.backgroundEpoch) done(error);
      } finally {
        this.backgroundCount--;
      }
    });
  }

  /** Background operations asked and not yet done (those of an ended incarnation included, until they are passed over). */
  get backgroundPending(): number {
    return this.backgroundCount;
  }

  /**
   * The incarnation that asked for the pending background operations ended:
   * those not yet begun never run, and none reports its end. Called by the
   * runtime before a new incarnation starts, so none of them lands in a file
   * the new one writes.
   */
  dropBackground(): void {
    this.backgroundEpoch++;
  }

  private async runInBackground(op: BackgroundOp, epoch: number): Promise<void> {
    switch (op.type) {
      case 'append':
        if (this.faults.loseUnsyncedOnCrash) {
          // Held in memory until an fsync, as a synchronous append is: a crash before it loses the bytes.
          const entry = this.pending.get(op.path) ?? { replace: false, chunks: [] };
          entry.chunks.push(copyBytes(op.data));
          this.pending.set(op.path, entry);
          return;
        }
        await fs.promises.appendFile(this.resolve(op.path), op.data);
        return;
      case 'fsync':
        await this.fsyncInBackground(op.path, epoch);
        return;
      case 'fsyncDir':
        await syncDirectory(op.dir === '' ? this.root : this.resolve(op.dir));
        return;
      case 'remove':
        this.dropSyncHandle(op.path);
        this.pending.delete(op.path);
        await fs.promises.rm(this.resolve(op.path), { force: true });
        return;
    }
  }

  private async fsyncInBackground(file: string, epoch: number): Promise<void> {
    const full = this.resolve(file);
    if (!this.pending.has(file) && !fs.existsSync(full)) throw new DiskError('ENOENT', `fsync: no such file ${file}`);
    this.fsyncCount++;
    if (this.faults.fsyncDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.faults.fsyncDelayMs));
    // The actor died while the disk was slow: its unsynced bytes went with it.
    if (epoch !== this.backgroundEpoch) return;
    if (this.faults.fsyncFailProbability > 0 && this.random() < this.faults.fsyncFailProbability) {
      throw new DiskError('EIO', `fsync ${file}: injected I/O error`);
    }
    const entry = this.pending.get(file);
    if (entry !== undefined) {
      this.pending.delete(file);
      const bytes = Buffer.concat(entry.chunks);
      if (entry.replace) await fs.promises.writeFile(full, bytes);
      else await fs.promises.appendFile(full, bytes);
    }
    // One trip through the pool: the descriptor is the file's now (checked on this thread), kept open for the next.
    const handle = this.keptSyncHandle(file, full) ?? (await this.openSyncHandle(file, full));
    handle.busy++;
    try {
      this.onKeptFsync?.(file, handle.file.fd);
      await handle.file.sync();
    } finally {
      handle.busy--;
      if (handle.dropped && handle.busy === 0) closeQuietly(handle);
    }
  }

  /**
   * The descriptor kept for `file` if it is still the file the path names
   * (same device and inode: a file renamed over it, or removed and created
   * again, by any means, is caught here and not only through this disk's own
   * `rename` and `remove`); else none, and the stale one is dropped. A stat on
   * this thread: microseconds, against a trip through the pool.
   */
  private keptSyncHandle(file: string, full: string): SyncHandle | undefined {
    const kept = this.syncHandles.get(file);
    if (kept === undefined) return undefined;
    const now = fs.statSync(full, { throwIfNoEntry: false });
    if (now !== undefined && now.ino === kept.ino && now.dev === kept.dev) return kept;
    this.dropSyncHandle(file);
    return undefined;
  }

  /** Opens `file` for its fsyncs and keeps the descriptor (the least recently opened beyond SYNC_HANDLES_MAX is closed). */
  private async openSyncHandle(file: string, full: string): Promise<SyncHandle> {
    let opened: fs.promises.FileHandle;
    try {
      opened = await fs.promises.open(full, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DiskError('ENOENT', `fsync: no such file ${file}`);
      throw error;
    }
    const stat = fs.fstatSync(opened.fd);
    const handle: SyncHandle = { file: opened, dev: stat.dev, ino: stat.ino, busy: 0, dropped: false };
    this.dropSyncHandle(file);
    this.syncHandles.set(file, handle);
    if (this.syncHandles.size > SYNC_HANDLES_MAX) this.dropSyncHandle(this.syncHandles.keys().next().value!);
    return handle;
  }

  /** Closes the descriptor kept for `file`, or marks it to be closed when its fsyncs under way end. */
  private dropSyncHandle(file: string): void {
    const handle = this.syncHandles.get(file);
    if (handle === undefined) return;
    this.syncHandles.delete(file);
    handle.dropped = true;
    if (handle.busy === 0) closeQuietly(handle);
  }

  /** Descriptors kept for fsyncs, open now (tests; at most SYNC_HANDLES_MAX). */
  get syncHandlesOpen(): number {
    return this.syncHandles.size;
  }

  /** Closes every descriptor kept for fsyncs (those under way when their fsync ends): the disk's files are no longer used here. */
  closeSyncHandles(): void {
    for (const file of [...this.syncHandles.keys()]) this.dropSyncHandle(file);
    const helper = this.fsyncHelper;
    this.fsyncHelper = undefined;
    if (helper === undefined) return;
    helper.worker.terminate().catch(() => undefined);
    // An fsync outlasted and still on the helper ends now, as failed: what waits for it is not left waiting forever.
    Atomics.store(helper.words, FsyncWord.result, 1);
    Atomics.compareExchange(helper.words, FsyncWord.state, FsyncState.requested, FsyncState.done);
    Atomics.notify(helper.words, FsyncWord.state);
  }

  /** The actor died but its thread lives on (a co-hosted kill): what was not fsynced is gone, and so are background operations not yet begun. */
  dropUnsynced(): void {
    this.dropBackground();
    if (this.faults.loseUnsyncedOnCrash) this.pending.clear();
  }

  private resolve(file: string): string {
    const full = path.join(this.root, checkPath(file));
    const dir = path.dirname(full);
    // One mkdir per directory, not one per call: a WAL append and its fsync each paid a mkdir syscall (2 % of a loaded
    // etcd leader's thread). Nothing removes a directory under a live disk; the data dir goes only at shutdown.
    if (!this.directoriesMade.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.directoriesMade.add(dir);
    }
    return full;
  }
}

/** fsync(2) of a directory through libuv's thread pool (open, sync, close: rare, a rotation's or a rename's). */
async function syncDirectory(full: string): Promise<void> {
  const handle = await fs.promises.open(full, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Closes a kept descriptor off the thread; a failed close loses nothing (every fsync on it has ended). */
function closeQuietly(handle: SyncHandle): void {
  handle.file.close().catch(() => undefined);
}

function readIfExists(full: string): Uint8Array | undefined {
  try {
    return fs.readFileSync(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Resolves once `words[index]` no longer holds `value` (Atomics.waitAsync: no thread of ours waits for it). */
function waitForChange(words: Int32Array, index: number, value: number): Promise<unknown> {
  // ES2024's, in Node since 16; the project's lib setting predates it.
  const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | string } }).waitAsync;
  const waited = waitAsync(words, index, value);
  if (typeof waited.value === 'string') return Promise.resolve();
  // A pending waitAsync does not keep the event loop alive; the fsync's end must still come (a timer that does).
  const keepAlive = setInterval(() => undefined, 1 << 30);
  return waited.value.finally(() => clearInterval(keepAlive));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the calling thread: a slow disk stalls its actor, as a real one does. */
export function blockFor(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
