/**
 * The per-actor durable directory.
 *
 * The API is synchronous on purpose: an actor owns its thread, so a blocking
 * fsync stalls only that actor (as etcd's WAL fsync stalls its raft loop), and
 * a synchronous disk keeps the simulated runtime free of hidden I/O callbacks
 * that would break replay. Paths are relative to the actor's directory and may
 * contain `/` for sub-directories; `..` is rejected.
 */
export interface Disk {
  /** Append bytes to the end of a file, creating it if missing. Not durable until `fsync`. */
  append(path: string, data: Uint8Array): void;
  /** Replace a file's whole content. Not durable until `fsync`. */
  write(path: string, data: Uint8Array): void;
  /** Make a file's content durable. Throws `DiskError` when the disk fails the fsync. */
  fsync(path: string): void;
  /** Make the directory's entries (creations, renames, removals) durable. */
  fsyncDir(dir?: string): void;
  /** A file's content, or `undefined` when it does not exist. */
  read(path: string): Uint8Array | undefined;
  /** Atomically rename a file (replacing the target). Durable after `fsyncDir`. */
  rename(from: string, to: string): void;
  /** Names of files directly in a directory (default: the root), sorted. */
  list(dir?: string): string[];
  /** Remove a file; missing files are ignored. */
  remove(path: string): void;
  /** Truncate a file to `length` bytes (used to cut a torn WAL tail). */
  truncate(path: string, length: number): void;
  /** Size of a file in bytes, or `undefined` when it does not exist. */
  size(path: string): number | undefined;
}

/** An I/O failure reported by a disk; `code` mirrors the errno a real disk gives. */
export class DiskError extends Error {
  override readonly name = 'DiskError';
  constructor(
    readonly code: 'EIO' | 'ENOENT' | 'EINVAL',
    message: string,
  ) {
    super(message);
  }
}

/** Faults that can be armed on a disk by the host's fault controller. */
export interface DiskFaults {
  /** Probability in [0, 1] that an fsync fails with EIO. */
  fsyncFailProbability: number;
  /** Extra latency of each fsync, in milliseconds. */
  fsyncDelayMs: number;
  /** When the actor crashes, writes not yet fsynced are lost. */
  loseUnsyncedOnCrash: boolean;
}

export const noDiskFaults: DiskFaults = Object.freeze({
  fsyncFailProbability: 0,
  fsyncDelayMs: 0,
  loseUnsyncedOnCrash: false,
});

/** Rejects paths that would escape the actor's directory. */
export function checkPath(path: string): string {
  if (path.length === 0 || path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '')) {
    throw new DiskError('EINVAL', `invalid disk path ${JSON.stringify(path)}: use a relative path without '..'`);
  }
  return path;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function baseOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

interface MemoryFile {
  /**
   * The file's bytes are `buffer[0, length)`; the rest is room to append into,
   * so a WAL's appends cost their own size, not the file's (doubling growth).
   * Bytes below `length` are never written in place: a view taken by `read` or
   * kept as `durable` stays valid, and a truncate or write gets a new buffer.
   */
  buffer: Uint8Array;
  length: number;
  /** What survives a crash that loses unsynced writes; undefined: the file would not exist. */
  durable: Uint8Array | undefined;
}

/** First capacity of a file that is appended to. Why 4 KiB: a page; a WAL grows past it at once, a small file never does. */
const APPEND_CAPACITY_MIN = 4096;

/**
 * An in-memory disk that knows which bytes are durable. Used by the simulated
 * runtime and by tests. `crash()` models a power loss: with
 * `loseUnsyncedOnCrash`, every file reverts to what was last fsynced, and
 * entries created or renamed since the last `fsyncDir` vanish.
 *
 * Randomness for fsync failures comes from the injected `random`, so a seeded
 * run replays exactly.
 */
export class MemoryDisk implements Disk {
  private readonly files = new Map<string, MemoryFile>();
  /** Directory entries that are durable: path → the durable MemoryFile identity at fsyncDir time. */
  private durableEntries = new Map<string, MemoryFile>();
  faults: DiskFaults = { ...noDiskFaults };
  /** Milliseconds of fsync latency owed since the last `takeDelayMs()`; the simulated runtime charges it to the actor. */
  private delayOwedMs = 0;
  fsyncCount = 0;

  constructor(private readonly random: () => number = () => 0.5) {}

  append(path: string, data: Uint8Array): void {
    const file = this.open(checkPath(path));
    const needed = file.length + data.length;
    if (needed > file.buffer.length) {
      const grown = new Uint8Array(Math.max(needed, file.buffer.length * 2, APPEND_CAPACITY_MIN));
      grown.set(file.buffer.subarray(0, file.length), 0);
      file.buffer = grown;
    }
    file.buffer.set(data, file.length);
    file.length = needed;
  }

  write(path: string, data: Uint8Array): void {
    const file = this.open(checkPath(path));
    file.buffer = data.slice();
    file.length = data.length;
  }

  fsync(path: string): void {
    const file = this.files.get(checkPath(path));
    if (file === undefined) throw new DiskError('ENOENT', `fsync: no such file ${path}`);
    this.fsyncCount++;
    this.delayOwedMs += this.faults.fsyncDelayMs;
    if (this.faults.fsyncFailProbability > 0 && this.random() < this.faults.fsyncFailProbability) {
      throw new DiskError('EIO', `fsync ${path}: injected I/O error`);
    }
    file.durable = file.buffer.subarray(0, file.length);
  }

  fsyncDir(dir = ''): void {
    const prefix = dir === '' ? '' : `${checkPath(dir)}/`;
    for (const [path] of this.durableEntries) {
      if (path.startsWith(prefix) && dirOf(path) === dir && !this.files.has(path)) this.durableEntries.delete(path);
    }
    for (const [path, file] of this.files) {
      if (dirOf(path) === dir) this.durableEntries.set(path, file);
    }
  }

  read(path: string): Uint8Array | undefined {
    const file = this.files.get(checkPath(path));
    return file === undefined ? undefined : file.buffer.subarray(0, file.length);
  }

  rename(from: string, to: string): void {
    const file = this.files.get(checkPath(from));
    if (file === undefined) throw new DiskError('ENOENT', `rename: no such file ${from}`);
    this.files.delete(from);
    this.files.set(checkPath(to), file);
  }

  list(dir = ''): string[] {
    const names: string[] = [];
    for (const path of this.files.keys()) if (dirOf(path) === dir) names.push(baseOf(path));
    return names.sort();
  }

  remove(path: string): void {
    this.files.delete(checkPath(path));
  }

  truncate(path: string, length: number): void {
    const file = this.files.get(checkPath(path));
    if (file === undefined) throw new DiskError('ENOENT', `truncate: no such file ${path}`);
    file.buffer = file.buffer.slice(0, Math.min(length, file.length));
    file.length = file.buffer.length;
  }

  size(path: string): number | undefined {
    return this.files.get(checkPath(path))?.length;
  }

  /** Latency owed by slow fsyncs since the last call; resets to zero. */
  takeDelayMs(): number {
    const owed = this.delayOwedMs;
    this.delayOwedMs = 0;
    return owed;
  }

  /**
   * The process holding this disk died. Without `loseUnsyncedOnCrash` the
   * page cache survives (a process crash, not a power loss) and nothing changes.
   */
  crash(): void {
    if (!this.faults.loseUnsyncedOnCrash) return;
    const survivors = new Map<string, MemoryFile>();
    for (const [path, file] of this.durableEntries) {
      if (file.durable !== undefined) survivors.set(path, { buffer: file.durable, length: file.durable.length, durable: file.durable });
    }
    // A file whose entry was never made durable but whose data was fsynced keeps
    // its data only if its directory entry is durable: that is the POSIX rule.
    this.files.clear();
    this.durableEntries = new Map();
    for (const [path, file] of survivors) {
      this.files.set(path, file);
      this.durableEntries.set(path, file);
    }
  }

  private open(path: string): MemoryFile {
    let file = this.files.get(path);
    if (file === undefined) {
      file = { buffer: new Uint8Array(0), length: 0, durable: undefined };
      this.files.set(path, file);
    }
    return file;
  }
}
