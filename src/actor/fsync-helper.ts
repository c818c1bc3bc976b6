/**
 * A thread that does one fsync at a time for one `NodeDisk` (issue #22: a
 * bounded inline fsync). The disk's thread hands it a descriptor through a
 * shared word and waits for the end at most a bound (`Atomics.wait`); a disk
 * slower than that costs the thread the bound, not the whole fsync, and the
 * end is learnt later (`Atomics.waitAsync`). No event loop on either side:
 * libuv's pool would wake a pool thread and then the disk thread's loop, two
 * wake-ups and a turn per fsync. This module is both the thread's program
 * (run as a worker) and the disk side's view of the shared words.
 */
import * as fs from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** Index of each shared word. */
export const FsyncWord = {
  /** FsyncState below; the disk side waits on it changing. */
  state: 0,
  /** The descriptor to fsync. */
  fd: 1,
  /** Milliseconds the helper sleeps before the fsync (`DiskFaults.fsyncDelayMs`: a slowed disk). */
  delayMs: 2,
  /** 0 when the fsync succeeded, else an index into FSYNC_ERROR_CODES. */
  result: 3,
} as const;
export const FSYNC_WORDS = 4;

export const FsyncState = {
  /** Not started yet: the disk side uses the background path meanwhile. */
  booting: 0,
  idle: 1,
  requested: 2,
  done: 3,
} as const;

/** The errno codes a `DiskError` carries; anything else is reported as EIO. */
export const FSYNC_ERROR_CODES = ['', 'EIO', 'ENOENT', 'EINVAL'] as const;

function helperMain(words: Int32Array): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(words, FsyncWord.state, FsyncState.idle);
  Atomics.notify(words, FsyncWord.state);
  for (;;) {
    // Asleep until asked: while idle, and while `done` waits for the disk side to take the result (no spinning).
    const state = Atomics.load(words, FsyncWord.state);
    if (state !== FsyncState.requested) {
      Atomics.wait(words, FsyncWord.state, state);
      continue;
    }
    const delayMs = Atomics.load(words, FsyncWord.delayMs);
    if (delayMs > 0) Atomics.wait(sleeper, 0, 0, delayMs);
    let result = 0;
    try {
      fs.fsyncSync(Atomics.load(words, FsyncWord.fd));
    } catch (error) {
      const index = FSYNC_ERROR_CODES.indexOf((error as NodeJS.ErrnoException).code as (typeof FSYNC_ERROR_CODES)[number]);
      result = index > 0 ? index : 1;
    }
    Atomics.store(words, FsyncWord.result, result);
    Atomics.store(words, FsyncWord.state, FsyncState.done);
    Atomics.notify(words, FsyncWord.state);
  }
}

const data = workerData as { fsyncHelperWords?: SharedArrayBuffer } | undefined;
if (!isMainThread && parentPort !== null && data?.fsyncHelperWords !== undefined) helperMain(new Int32Array(data.fsyncHelperWords));
