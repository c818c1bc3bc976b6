/**
 * The per-actor durable directory.
 *
 * The API is synchronous, but for `inBackground`: an actor owns its thread,
 * so a blocking fsync stalls only that actor (as etcd's WAL fsync stalls its
 * raft loop), and a synchronous disk keeps the simulated runtime free of
 * hidden I/O callbacks that would break replay. What must not hold the thread
 * (a gigabyte snapshot's writes and fsyncs, issue #22) goes through
 * `inBackground`, whose completion the runtime delivers to the actor as a
 * turn of its own — in the simulated runtime at a scheduled virtual instant,
 * so a run still replays from its seed. Paths are relative to the actor's
 * directory and may contain `/` for sub-directories; `..` is rejected.
 */
export interface Disk {
  /**
   * Append bytes to the end of a file, creating it if missing. Not durable until `fsync`. `data` is the
   * caller's again once this returns (written or copied, never kept): the WAL builds every append in one buffer.
   */
  append(path: string, data: Uint8Array): void;
  /** Replace a file's whole content. Not durable until `fsync`. */
  write(path: string, data: Uint8Array): void;
  /** Make a file's content durable. Throws `DiskError` when the disk fails the fsync. */
  fsync(path: string): void;
  /** Make the directory's entries (creations, renames, removals) durable. */
  fsyncDir(dir?: string): void;
  /** A file's content, or `undefined` when it does not exist. */
  read(path: string): Uint8Array | undefined;
  /**
   * Up to `length` bytes of a file's content from `offset` (fewer at its end),
   * or `undefined` when it does not exist: a part of a large file without
   * reading the whole of it (a snapshot streamed to a follower).
   */
  readRange(path: string, offset: number, length: number): Uint8Array | undefined;
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
  /**
   * Does `op` off the actor's thread and calls `done` when it is done (with
   * the `DiskError` it failed with, if it failed), never inside this call:
   * in an actor, as a turn of its own, held while the actor is paused and
   * dropped once the incarnation that asked has ended. Operations of one
   * `lane` run one at a time in the order asked and complete in that order,
   * so an fsync asked after appends makes them durable; the two lanes run
   * independently of each other, so a WAL's fsync (`log`, the default) never
   * queues behind a snapshot's writeback (`bulk`). Nothing orders one lane's
   * operations against the other's: a caller that needs it waits for `done`.
   * An operation takes effect when it runs,
   * not when asked: a crash before `done` may lose it (an fsync not done is
   * not durable). Until `done`, leave the path to the background: no
   * synchronous call on it, and no change to an append's `data` — but for
   * synchronous appends to a file with an fsync in the background (a WAL
   * with async writes): that fsync makes durable at least what was appended
   * before it was asked (maybe more), as an fsync racing a write does.
   */
  inBackground(op: BackgroundOp, done: BackgroundDone, lane?: BackgroundLane): void;
  /**
   * Optional (a real disk's; the simulated runtime's disks leave it out): an
   * fsync of `path` that holds the caller's thread at most `waitMs`. Returns
   * `durable` when it ended within the wait (a failure is thrown, as
   * `fsync`'s); `outlasted` when it goes on off the thread, then `done` is
   * called as `inBackground`'s on the `log` lane (later operations of the lane
   * wait for it); `queued` when it could not start at once (no descriptor
   * kept for the file yet, the helper busy or starting): then it is an
   * ordinary `inBackground` fsync, `done` likewise. For a lone write's WAL
   * fsync (issue #22): no round trip through a thread pool and back when the
   * disk is fast, and no longer than `waitMs` on the thread when it is not.
   */
  fsyncWithin?(path: string, waitMs: number, done: BackgroundDone): FsyncWithinResult;
}

/** How `Disk.fsyncWithin` went: durable on return, or `done` is still to come. */
export type FsyncWithinResult = 'durable' | 'outlasted' | 'queued';

/**
 * A queue of `Disk.inBackground`: `log` for what the write path waits on (a
 * WAL's fsyncs, its segment releases), `bulk` for large writes nobody acks
 * on (a snapshot's appends and fsyncs: hundreds of megabytes of writeback,
 * behind which a WAL fsync waited tens of milliseconds, issue #22).
 */
export type BackgroundLane = 'log' | 'bulk';

/** Every lane, in a fixed order (a crash drops them all; the simulated runtime walks them in this order). */
export const BACKGROUND_LANES: readonly BackgroundLane[] = ['log', 'bulk'];

/** One operation `Disk.inBackground` does off the actor's thread. */
export type BackgroundOp =
  | { type: 'append'; path: string; data: Uint8Array }
  | { type: 'fsync'; path: string }
  | { type: 'fsyncDir'; dir: string }
  | { type: 'remove'; path: string };

/** The end of a background operation: `undefined` when it succeeded. */
export type BackgroundDone = (error: DiskError | undefined) => void;

/** The path a background operation checks, for validation when it is asked. */
export function backgroundOpPath(op: BackgroundOp): string | undefined {
  return op.type === 'fsyncDir' ? (op.dir === '' ? undefined : op.dir) : op.path;
}

/** Any failure of a background operation as a `DiskError` (a real disk's errno when it has one). */
export function asDiskError(error: unknown, what: string): DiskError {
  if (error instanceof DiskError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return new DiskError(code === 'ENOENT' ? 'ENOENT' : code === 'EINVAL' ? 'EINVAL' : 'EIO', `${what}: ${String((error as Error | undefined)?.message ?? error)}`);
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
  /** Extra latency of each fsync, in milliseconds, on top of the disk's own (`MemoryDisk.fsyncLatencyMs`). */
  fsyncDelayMs: number;
  /** When the actor crashes, writes not yet fsynced are lost. */
  loseUnsyncedOnCrash: boolean;
}

export const noDiskFaults: DiskFaults = Object.freeze({
  fsyncFailProbability: 0,
  fsyncDelayMs: 0,
  loseUnsyncedOnCrash: false,
});

/**
 * A copy of `data` that the caller may then change or reuse. Not `data.slice()`:
 * on a Node Buffer that is a view of the same memory, and a snapshot's pooled
 * buffers are reused once written.
 */
export function copyBytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

/** Rejects paths that would escape the actor's directory. */
export function checkPath(path: string): string {
  // Scanned, not split: every WAL append checks its path, and a split allocated an array each time.
  if (!validPath(path)) {
    throw new DiskError('EINVAL', `invalid disk path ${JSON.stringify(path)}: use a relative path without '..'`);
  }
  return path;
}

/** Non-empty, relative, and no part empty or `..`. */
function validPath(path: string): boolean {
  const n = path.length;
  if (n === 0) return false;
  let partStart = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && path.charCodeAt(i) !== 0x2f) continue;
    const partLength = i - partStart;
    if (partLength === 0) return false;
    if (partLength === 2 && path.charCodeAt(partStart) === 0x2e && path.charCodeAt(partStart + 1) === 0x2e) return false;
    partStart = i + 1;
  }
  return true;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function baseOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

/**
 * A file's bytes are its chunks' bytes in order: every chunk but the last is
 * full, the last holds `tailUsed` bytes and has room to append into. Chunks
 * are at most CHUNK_BYTES_MAX (unless one append is larger), so a growing WAL
 * costs its own size and never re-copies what it holds: the doubling buffer
 * this replaced re-allocated and copied up to 64 MiB at a time, and those
 * large allocations cost a 100-node run more than its appends did.
 *
 * Bytes below `length` are never written in place: a durable image (a chunk
 * list and a length) or an earlier read stays valid however the file grows;
 * a truncate or a write starts a new chunk list.
 */
interface MemoryFile {
  chunks: Uint8Array[];
  tailUsed: number;
  length: number;
  /** What survives a crash that loses unsynced writes; undefined: the file would not exist. */
  durable: DurableImage | undefined;
}

/** The first `count` chunks of `chunks` (which may have grown since), cut at `length` bytes. */
interface DurableImage {
  chunks: Uint8Array[];
  count: number;
  length: number;
}

/** Virtual time a background operation takes in the simulated runtime, before any injected fsync delay: never the same instant it was asked. */
const BACKGROUND_OP_MS = 1;

/** First chunk of a file that is appended to. Why 4 KiB: a page; a WAL grows past it at once, a small file never does. */
const CHUNK_BYTES_MIN = 4096;
/** Chunks double in size up to this: 1 MiB, large enough that a WAL segment has few, small enough to allocate cheaply. */
const CHUNK_BYTES_MAX = 1024 * 1024;

function emptyFile(): MemoryFile {
  return { chunks: [], tailUsed: 0, length: 0, durable: undefined };
}

/** One buffer holding the first `length` bytes of `chunks` (a view when one chunk holds them all). */
function joined(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 0) return new Uint8Array(0);
  if (chunks[0]!.length >= length) return chunks[0]!.subarray(0, length);
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    if (at >= length) break;
    const n = Math.min(chunk.length, length - at);
    out.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
    at += n;
  }
  return out;
}

/** A file whose content is `bytes` (owned by the file from now on). */
function fileOf(bytes: Uint8Array, durable: DurableImage | undefined): MemoryFile {
  return { chunks: bytes.length === 0 ? [] : [bytes], tailUsed: bytes.length, length: bytes.length, durable };
}

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
  /**
   * What every fsync takes, in ms, before a fault's `fsyncDelayMs` adds to
   * it: part of the disk's model, not a fault (a real WAL fsync takes about a
   * millisecond, and what arrives meanwhile shares the next one).
   */
  fsyncLatencyMs = 0;
  /** Milliseconds of fsync latency owed since the last `takeDelayMs()`, when no `onFsyncDelay` takes them as they fall. */
  private delayOwedMs = 0;
  fsyncCount = 0;
  /** Per lane, background operations asked and not yet run, oldest first; each lane's head is the one scheduled. */
  private readonly background: Record<BackgroundLane, Array<{ op: BackgroundOp; done: BackgroundDone }>> = { log: [], bulk: [] };
  /** Bumped by a crash: a scheduled run of an older epoch finds its operation gone with the thread. */
  private backgroundEpoch = 0;

  /**
   * @param random fsync failures draw from it, so a seeded run replays.
   * @param onFsyncDelay called with each fsync's latency at the fsync itself (the simulated runtime keeps the actor busy from that instant); without it the latency is owed until `takeDelayMs()`.
   * @param schedule runs a background operation after a delay of virtual time
   *   (the simulated runtime's event queue). Without it, background operations
   *   wait for `settleBackground`, which tests call.
   */
  constructor(
    private readonly random: () => number = () => 0.5,
    private readonly onFsyncDelay?: (delayMs: number) => void,
    private readonly schedule?: (ms: number, run: () => void) => void,
  ) {}

  append(path: string, data: Uint8Array): void {
    const file = this.open(checkPath(path));
    let at = 0;
    while (at < data.length) {
      let tail = file.chunks[file.chunks.length - 1];
      if (tail === undefined || file.tailUsed === tail.length) {
        const previous = tail?.length ?? 0;
        const capacity = Math.max(Math.min(CHUNK_BYTES_MAX, Math.max(CHUNK_BYTES_MIN, previous * 2)), Math.min(data.length - at, CHUNK_BYTES_MAX * 4));
        tail = new Uint8Array(capacity);
        file.chunks.push(tail);
        file.tailUsed = 0;
      }
      const n = Math.min(tail.length - file.tailUsed, data.length - at);
      tail.set(n === data.length && at === 0 ? data : data.subarray(at, at + n), file.tailUsed);
      file.tailUsed += n;
      at += n;
    }
    file.length += data.length;
  }

  write(path: string, data: Uint8Array): void {
    const file = this.open(checkPath(path));
    const copy = copyBytes(data);
    file.chunks = copy.length === 0 ? [] : [copy];
    file.tailUsed = copy.length;
    file.length = copy.length;
  }

  fsync(path: string): void {
    this.syncFile(path, true);
  }

  private syncFile(path: string, owesDelay: boolean): void {
    const file = this.files.get(checkPath(path));
    if (file === undefined) throw new DiskError('ENOENT', `fsync: no such file ${path}`);
    this.fsyncCount++;
    // A background fsync's latency passes off the actor's thread: it delays the completion, not the actor.
    const delayMs = owesDelay ? this.fsyncLatencyMs + this.faults.fsyncDelayMs : 0;
    if (delayMs > 0) {
      if (this.onFsyncDelay !== undefined) this.onFsyncDelay(delayMs);
      else this.delayOwedMs += delayMs;
    }
    if (this.faults.fsyncFailProbability > 0 && this.random() < this.faults.fsyncFailProbability) {
      throw new DiskError('EIO', `fsync ${path}: injected I/O error`);
    }
    // The chunk list is shared, not copied: chunks are only ever pushed, and bytes below `length` never rewritten.
    file.durable = { chunks: file.chunks, count: file.chunks.length, length: file.length };
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
    if (file === undefined) return undefined;
    if (file.chunks.length <= 1) return joined(file.chunks, file.length);
    // Reads are rare (opening a WAL, a snapshot): join the chunks once and keep the joined copy as the file.
    const bytes = joined(file.chunks, file.length);
    file.chunks = [bytes];
    file.tailUsed = bytes.length;
    return bytes;
  }

  readRange(path: string, offset: number, length: number): Uint8Array | undefined {
    return this.read(path)?.subarray(offset, offset + length);
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
    const bytes = joined(file.chunks, Math.min(length, file.length)).slice();
    file.chunks = bytes.length === 0 ? [] : [bytes];
    file.tailUsed = bytes.length;
    file.length = bytes.length;
  }

  size(path: string): number | undefined {
    return this.files.get(checkPath(path))?.length;
  }

  inBackground(op: BackgroundOp, done: BackgroundDone, lane: BackgroundLane = 'log'): void {
    const path = backgroundOpPath(op);
    if (path !== undefined) checkPath(path);
    const queue = this.background[lane];
    queue.push({ op: op.type === 'append' ? { ...op, data: copyBytes(op.data) } : op, done });
    if (queue.length === 1) this.scheduleHead(lane);
  }

  /** Background operations asked and not yet done (of one lane, or of both). */
  backgroundPendingIn(lane?: BackgroundLane): number {
    return lane === undefined ? this.background.log.length + this.background.bulk.length : this.background[lane].length;
  }

  /** Background operations asked and not yet done, in both lanes. */
  get backgroundPending(): number {
    return this.backgroundPendingIn();
  }

  /**
   * The incarnation that asked for the pending background operations ended
   * (crashed or stopped with its thread alive): they never run and report
   * nothing, so none lands in a file the next incarnation writes.
   */
  dropBackground(): void {
    for (const lane of BACKGROUND_LANES) this.background[lane].length = 0;
    this.backgroundEpoch++;
  }

  /**
   * Runs up to `count` pending background operations now, in order, calling
   * their `done`: how a test without a scheduler decides when the disk
   * finishes them (a crash before this loses them). Without `lane`, the log
   * lane's first, then the bulk lane's (each lane keeps its own order).
   * Returns how many ran.
   */
  settleBackground(count = Number.POSITIVE_INFINITY, lane?: BackgroundLane): number {
    let ran = 0;
    for (const each of lane === undefined ? BACKGROUND_LANES : [lane]) {
      while (ran < count && this.background[each].length > 0) {
        this.runHead(each);
        ran++;
      }
    }
    return ran;
  }

  private scheduleHead(lane: BackgroundLane): void {
    const head = this.background[lane][0];
    if (head === undefined || this.schedule === undefined) return;
    const epoch = this.backgroundEpoch;
    const slow = head.op.type === 'fsync' || head.op.type === 'fsyncDir';
    this.schedule(BACKGROUND_OP_MS + (slow ? this.fsyncLatencyMs + this.faults.fsyncDelayMs : 0), () => {
      if (epoch === this.backgroundEpoch && this.background[lane][0] === head) this.runHead(lane);
    });
  }

  private runHead(lane: BackgroundLane): void {
    const { op, done } = this.background[lane].shift()!;
    let error: DiskError | undefined;
    try {
      switch (op.type) {
        case 'append':
          this.append(op.path, op.data);
          break;
        case 'fsync':
          this.syncFile(op.path, false);
          break;
        case 'fsyncDir':
          this.fsyncDir(op.dir);
          break;
        case 'remove':
          this.remove(op.path);
          break;
      }
    } catch (caught) {
      error = asDiskError(caught, `${op.type} in the background`);
    }
    this.scheduleHead(lane);
    done(error);
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
    // Operations not yet run die with the thread that held them.
    this.dropBackground();
    if (!this.faults.loseUnsyncedOnCrash) return;
    const survivors = new Map<string, MemoryFile>();
    for (const [path, file] of this.durableEntries) {
      const image = file.durable;
      if (image !== undefined) survivors.set(path, fileOf(joined(image.chunks.slice(0, image.count), image.length).slice(), image));
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
      file = emptyFile();
      this.files.set(path, file);
    }
    return file;
  }
}
