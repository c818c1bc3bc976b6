import * as fs from 'node:fs';
import * as path from 'node:path';
import { asDiskError, backgroundOpPath, checkPath, copyBytes, DiskError, noDiskFaults, type BackgroundDone, type BackgroundLane, type BackgroundOp, type Disk, type DiskFaults } from './disk.js';

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
    const fd = fs.openSync(full, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
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
        await syncPath(op.dir === '' ? this.root : this.resolve(op.dir), 'r');
        return;
      case 'remove':
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
    await syncPath(full, 'r+');
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

/** fsync(2) of a file or directory through libuv's thread pool. */
async function syncPath(full: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await fs.promises.open(full, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function readIfExists(full: string): Uint8Array | undefined {
  try {
    return fs.readFileSync(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the calling thread: a slow disk stalls its actor, as a real one does. */
export function blockFor(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
