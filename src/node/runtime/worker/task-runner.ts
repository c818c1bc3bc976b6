/**
 * Runs inside a Piscina worker thread: imports a task module and calls its
 * default export with a small context. Console output of the task is sent to
 * the runtime over the task's MessagePort, line by line, so `kubectl logs -f`
 * sees it as it happens. The result becomes the container's exit code:
 * a number is the code; `{ exitCode }` too; anything else is 0; a throw is 1.
 *
 * A task module:
 *   export default async function (ctx) {
 *     console.log('working on', ctx.env.POD_NAME, ctx.args);
 *     while (!ctx.signal.aborted) { ... }      // SIGTERM: the runtime's stop request
 *     return 0;
 *   }
 */
import type { MessagePort } from 'node:worker_threads';
import { format } from 'node:util';

export interface TaskInput {
  moduleUrl: string;
  args: string[];
  env: Record<string, string>;
  port: MessagePort;
}

/** What the runtime receives over the port. */
/** `done` is the last message: every log line before it has been delivered. */
export type TaskPortMessage = { kind: 'log'; text: string } | { kind: 'done' };

export interface TaskContext {
  args: string[];
  env: Record<string, string>;
  /** Aborted when the runtime asks the container to stop (the SIGTERM of a worker task). */
  signal: AbortSignal;
  log(...values: unknown[]): void;
}

export default async function runTask(input: TaskInput): Promise<number> {
  const stop = new AbortController();
  input.port.on('message', (msg: unknown) => {
    if (msg === 'stop') stop.abort();
  });
  const write = (text: string): void => input.port.postMessage({ kind: 'log', text } satisfies TaskPortMessage);
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  // Piscina runs one task at a time per thread (our pool's concurrency is 1), so the console is ours until we restore it.
  console.log = console.info = console.debug = (...values: unknown[]) => write(format(...values) + '\n');
  console.warn = console.error = (...values: unknown[]) => write(format(...values) + '\n');
  const ctx: TaskContext = { args: input.args, env: input.env, signal: stop.signal, log: (...values) => write(format(...values) + '\n') };
  try {
    const mod = (await import(input.moduleUrl)) as { default?: unknown };
    if (typeof mod.default !== 'function') {
      write(`${input.moduleUrl} has no default export function; export default async function (ctx) { ... }\n`);
      return 1;
    }
    const result: unknown = await (mod.default as (ctx: TaskContext) => unknown)(ctx);
    if (typeof result === 'number') return exitCodeOf(result);
    if (typeof result === 'object' && result !== null && typeof (result as { exitCode?: unknown }).exitCode === 'number') return exitCodeOf((result as { exitCode: number }).exitCode);
    return 0;
  } catch (error) {
    write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    Object.assign(console, original);
    input.port.postMessage({ kind: 'done' } satisfies TaskPortMessage);
    input.port.close();
  }
}

function exitCodeOf(n: number): number {
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 1;
}
