/**
 * Live status for long-running commands (`up`, `etcd`): poll, print, repeat
 * until a duration passes, Ctrl-C / SIGTERM arrives, or stdout closes (`| head`
 * ends the run cleanly instead of crashing on EPIPE). On a terminal the lines
 * are redrawn in place; elsewhere they are appended, so logs stay readable.
 */
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

/** Runs `body` with SIGINT, SIGTERM and a closed `out` wired to `stopped()`; always unhooks. */
export async function withStopSignals<R>(out: Output, body: (stopped: () => boolean) => Promise<R>): Promise<R> {
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  out.on('error', stop);
  try {
    return await body(() => stopping);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    out.off('error', stop);
  }
}

export async function runLive<T>(options: LiveOptions<T>, stopped: () => boolean): Promise<void> {
  const { out } = options;
  const started = Date.now();
  let drawn = 0;
  while (!stopped() && (options.durationS === 0 || Date.now() - started < options.durationS * 1000)) {
    const status = await options.poll();
    if (options.json) {
      out.write(`${JSON.stringify(options.toJson(status))}\n`);
    } else {
      const lines = options.lines(status);
      if (out.isTTY === true && drawn > 0) out.write(`\x1b[${drawn}A`);
      for (const line of lines) out.write(out.isTTY === true ? `\x1b[2K${line}\n` : `${line}\n`);
      drawn = lines.length;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
