/**
 * Live status for long-running commands (`up`, `etcd`): poll, print, repeat
 * until a duration passes, Ctrl-C / SIGTERM arrives, or stdout closes (`| head`
 * ends the run cleanly instead of crashing on EPIPE), or the process that
 * started this one goes away (see parent.ts). On a terminal the lines
 * are redrawn in place; elsewhere they are appended, so logs stay readable.
 */
import { parentWatch } from './parent.js';

export type Output = NodeJS.WritableStream & { isTTY?: boolean };

export interface LiveOptions<T> {
  out: Output;
  /** Stop after this many seconds (0: until a signal). */
  durationS: number;
  intervalMs: number;
  json: boolean;
  poll(): Promise<T>;
  lines(status: T): string[];
  toJson(status: T): unknown;
}

/** How often the parent is checked: a stop within half a second of the starter going away, for one small read. */
export const PARENT_CHECK_INTERVAL_MS = 500;

/** Why and whether a long-running command should stop; `sleep` wakes at once when it should. */
export interface Stop {
  stopped(): boolean;
  sleep(ms: number): Promise<void>;
}

export interface StopOptions {
  /** Stop when the process that started this one goes away (default: yes). */
  watchParent?: boolean;
  /** For tests: whether the parent is still there (default: parentWatch()). */
  parentAlive?: () => boolean;
  /** Where to say why we stop when the parent went (default: stderr). */
  err?: Output;
}

/**
 * Runs `body` with SIGINT, SIGTERM, a closed `out` and (unless told not to)
 * the death of our parent process wired to `stop`; always unhooks.
 */
export async function withStopSignals<R>(out: Output, body: (stop: Stop) => Promise<R>, options: StopOptions = {}): Promise<R> {
  let stopping = false;
  const wakers = new Set<() => void>();
  const stop = () => {
    stopping = true;
    for (const wake of wakers) wake();
    wakers.clear();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  out.on('error', stop);
  let parentTimer: NodeJS.Timeout | undefined;
  if (options.watchParent !== false) {
    const alive = options.parentAlive ?? parentWatch();
    parentTimer = setInterval(() => {
      if (alive()) return;
      clearInterval(parentTimer);
      const err = options.err ?? process.stderr;
      if (err.writable) err.write('kubethreads: the process that started this one is gone; stopping\n');
      stop();
    }, PARENT_CHECK_INTERVAL_MS);
    parentTimer.unref();
  }
  const handle: Stop = {
    stopped: () => stopping,
    sleep: (ms) => stopping ? Promise.resolve() : new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wakers.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      wakers.add(wake);
    }),
  };
  try {
    return await body(handle);
  } finally {
    if (parentTimer !== undefined) clearInterval(parentTimer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    out.off('error', stop);
  }
}

export async function runLive<T>(options: LiveOptions<T>, stop: Stop): Promise<void> {
  const { out } = options;
  const started = Date.now();
  let drawn = 0;
  while (!stop.stopped() && (options.durationS === 0 || Date.now() - started < options.durationS * 1000)) {
    const status = await options.poll();
    if (options.json) {
      out.write(`${JSON.stringify(options.toJson(status))}\n`);
    } else {
      const lines = options.lines(status);
      if (out.isTTY === true && drawn > 0) out.write(`\x1b[${drawn}A`);
      for (const line of lines) out.write(out.isTTY === true ? `\x1b[2K${line}\n` : `${line}\n`);
      drawn = lines.length;
    }
    await stop.sleep(options.intervalMs);
  }
}
