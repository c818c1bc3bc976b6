/**
 * I/O EDGE of the worker runtime: the Piscina pool and the file checks. The
 * pool's threads are real threads, so the worker runtime runs in the threaded
 * runtime only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { TaskInput, TaskPortMessage } from './task-runner.js';

export interface TaskHandle {
  /** Ask the task to stop (its ctx.signal aborts). */
  requestStop(): void;
  /** Terminate its thread now: the SIGKILL of a task. */
  kill(): void;
}

export interface WorkerIo {
  /** The module's file URL when it exists, else undefined. */
  resolveModule(spec: string): string | undefined;
  run(input: Omit<TaskInput, 'port'>, onLog: (text: string) => void, onExit: (exitCode: number, message: string) => void): TaskHandle;
  destroy(): Promise<void>;
}

/** `js:/abs/path/task.mjs`, `file:///abs/path/task.mjs` or `/abs/path/task.mjs` to a file URL (undefined for anything else). */
export function moduleUrlOf(image: string): string | undefined {
  const spec = image.startsWith('js:') ? image.slice(3) : image;
  if (spec.startsWith('file://')) return spec;
  if (spec.startsWith('/')) return pathToFileURL(spec).href;
  return undefined;
}

export function defaultCpus(): number {
  return os.availableParallelism();
}

export class PiscinaWorkerIo implements WorkerIo {
  private readonly pool: Piscina<TaskInput, number>;

  constructor(cpus: number) {
    this.pool = new Piscina({
      filename: new URL('./task-runner.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: cpus,
      concurrentTasksPerWorker: 1,
      idleTimeout: 30_000,
    });
  }

  resolveModule(image: string): string | undefined {
    const url = moduleUrlOf(image);
    if (url === undefined) return undefined;
    try {
      return fs.statSync(fileURLToPath(url)).isFile() ? url : undefined;
    } catch {
      return undefined;
    }
  }

  run(input: Omit<TaskInput, 'port'>, onLog: (text: string) => void, onExit: (exitCode: number, message: string) => void): TaskHandle {
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    // The task's last message is `done`; lines it wrote arrive before it, so wait for both it and the result.
    let exitCode: number | undefined;
    let doneSeen = false;
    let done = false;
    const finish = (code: number, message: string): void => {
      if (done) return;
      done = true;
      port1.close();
      onExit(code, message);
    };
    port1.on('message', (msg: TaskPortMessage) => {
      if (msg?.kind === 'log' && typeof msg.text === 'string') onLog(msg.text);
      if (msg?.kind === 'done') {
        doneSeen = true;
        if (exitCode !== undefined) finish(exitCode, '');
      }
    });
    this.pool.run({ ...input, port: port2 }, { transferList: [port2], signal: abort.signal }).then(
      (code) => {
        exitCode = code;
        if (doneSeen) finish(code, '');
      },
      (error: unknown) => {
        const killed = abort.signal.aborted;
        finish(killed ? 137 : 1, killed ? 'killed' : `the task's thread failed: ${String(error)}`);
      },
    );
    return {
      requestStop: () => port1.postMessage('stop'),
      kill: () => abort.abort(),
    };
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}
