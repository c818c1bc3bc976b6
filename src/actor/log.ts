import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LogOptions {
  /** pino level; default `LOG_LEVEL` or `info`. */
  level?: LevelWithSilent;
  /** Pretty lines for a person; default: when stderr is a terminal. */
  pretty?: boolean;
}

function resolveLevel(level?: string): LevelWithSilent {
  const wanted = level ?? process.env.LOG_LEVEL ?? 'info';
  const known = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  return (known.includes(wanted) ? wanted : 'info') as LevelWithSilent;
}

/**
 * The root logger of a thread. Logs go to stderr (stdout belongs to the
 * program's own output, such as a table or JSON), synchronously, so a thread
 * that is killed does not take its last lines with it. Pretty printing runs
 * in-thread rather than as a pino transport, which would cost a thread per thread.
 */
export function createLogger(options: LogOptions = {}): Logger {
  const level = resolveLevel(options.level);
  const wantPretty = options.pretty ?? process.stderr.isTTY === true;
  if (wantPretty) {
    return pino({ level }, pretty({ colorize: true, sync: true, destination: 2, ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
}
