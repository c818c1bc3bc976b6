/**
 * What the kv bench must not leave behind — etcd processes and temporary data
 * directories — is registered here and cleaned up on process exit, Ctrl-C or
 * SIGTERM, even when the normal `finally` never runs. The handlers are
 * installed while anything is registered and removed when nothing is.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let installed = false;

function cleanNow(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone: nothing to clean.
    }
  }
  children.clear();
  for (const dir of dirs) {
    try {
      // Threads may still be writing there while the process goes down: retry, and never let one directory stop the rest.
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (error) {
      process.stderr.write(`bench kv: could not remove ${dir}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  dirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanNow();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function update(): void {
  const wanted = children.size > 0 || dirs.size > 0;
  if (wanted === installed) return;
  installed = wanted;
  if (wanted) {
    process.on('exit', cleanNow);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  } else {
    process.off('exit', cleanNow);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Kill `child` on exit or signal until it is released. */
export function guardChild(child: ChildProcess): void {
  children.add(child);
  update();
}

export function releaseChild(child: ChildProcess): void {
  children.delete(child);
  update();
}

/** Remove `dir` on exit or signal until it is released. */
export function guardDir(dir: string): void {
  dirs.add(dir);
  update();
}

export function releaseDir(dir: string): void {
  dirs.delete(dir);
  update();
}
