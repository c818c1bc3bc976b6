/**
 * Live status for long-running commands (`up`, `etcd`): poll, print, repeat
 * until a duration passes, Ctrl-C / SIGTERM arrives, or stdout closes (`| head`
 * ends the run cleanly instead of crashing on EPIPE), or the process that
 * started this one goes away (see parent.ts). On a terminal the lines are
 * redrawn in place and fit its width (resizes included); elsewhere one line
 * is appended per change, so logs stay readable.
 */
import { parentWatch } from './parent.js';

export type Output = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface LiveOptions<T> {
  out: Output;
  /** Stop after this many seconds (0: until a signal). */
  durationS: number;
  intervalMs: number;
  json: boolean;
  poll(): Promise<T>;
  /** The status for a terminal: lines of at most `width` columns. */
  lines(status: T, width: number): string[];
  /** The status for a log (not a terminal): one line, printed again only when it changes. */
  line?(status: T): string;
  toJson(status: T): unknown;
  /** Printed once before the status; repainted above it after a terminal resize. */
  header?: string[];
}

/** Columns assumed when a terminal does not say its width. */
const COLUMNS_DEFAULT = 80;

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
  for (const line of options.header ?? []) out.write(`${line}\n`);
  const tty = out.isTTY === true && !options.json;
  const draw = tty ? terminalFrame(options) : undefined;
  const started = Date.now();
  let last: string | undefined;
  try {
    while (!stop.stopped() && (options.durationS === 0 || Date.now() - started < options.durationS * 1000)) {
      const status = await options.poll();
      if (options.json) out.write(`${JSON.stringify(options.toJson(status))}\n`);
      else if (draw !== undefined) draw.show(status);
      else {
        const line = options.line?.(status) ?? options.lines(status, Infinity).join(' | ');
        if (line !== last) out.write(`${new Date().toISOString()} ${line}\n`);
        last = line;
      }
      await stop.sleep(options.intervalMs);
    }
  } finally {
    draw?.close();
  }
}

/**
 * In-place redraw on a terminal. Every line is kept shorter than the width
 * (so none wraps and the count of rows to go back up is the count of
 * lines); a frame clears what a longer previous one left below it. A resize
 * may have reflowed what is on screen in ways no count can know, so it
 * repaints from the top of the screen: header, then status.
 */
function terminalFrame<T>(options: LiveOptions<T>): { show(status: T): void; close(): void } {
  const out = options.out;
  let rows = 0;
  let latest: T | undefined;
  let resized = false;
  const paint = (status: T) => {
    // One column spare: writing the last column leaves some terminals in a pending wrap.
    const width = Math.max(1, (out.columns ?? COLUMNS_DEFAULT) - 1);
    const lines = options.lines(status, width);
    let text = '';
    if (resized) {
      text += '\x1b[H\x1b[2J';
      for (const line of options.header ?? []) text += `${line}\n`;
      resized = false;
    } else if (rows > 0) text += `\x1b[${rows}A\r`;
    // A caller's line longer than the width is cut here: a wrapped line would throw the count of rows off.
    for (const line of lines) text += `\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}\n`;
    text += '\x1b[J';
    out.write(text);
    rows = lines.length;
  };
  const onResize = () => {
    resized = true;
    if (latest !== undefined) paint(latest);
  };
  out.on('resize', onResize);
  return {
    show(status) {
      latest = status;
      paint(status);
    },
    close() {
      out.off('resize', onResize);
    },
  };
}
