/**
 * What a run must not leave behind — etcd processes and temporary data
 * directories — is registered here and cleaned up on process exit, and, for
 * owners that ask for it, on Ctrl-C or SIGTERM even when the normal `finally`
 * never runs. Owners with their own signal handling (`kubethreads up`, which
 * drains the cluster first) register without signals. The handlers are
 * installed while anything is registered and removed when nothing is.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/** Each guarded thing, and whether its owner wants it cleaned on a signal too. */
const children = new Map<ChildProcess, boolean>();
const dirs = new Map<string, boolean>();
let exitInstalled = false;
let signalsInstalled = false;

function cleanNow(): void {
  for (const child of children.keys()) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone: nothing to clean.
    }
  }
  children.clear();
  for (const dir of dirs.keys()) {
    try {
      // Threads may still be writing there while the process goes down: retry, and never let one directory stop the rest.
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (error) {
      process.stderr.write(`kubethreads: could not remove ${dir}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  dirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanNow();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function update(): void {
  const wantExit = children.size > 0 || dirs.size > 0;
  if (wantExit !== exitInstalled) {
    exitInstalled = wantExit;
    if (wantExit) process.on('exit', cleanNow);
    else process.off('exit', cleanNow);
  }
  const wantSignals = [...children.values(), ...dirs.values()].some((s) => s);
  if (wantSignals !== signalsInstalled) {
    signalsInstalled = wantSignals;
    if (wantSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    } else {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** Kill `child` on exit (and on Ctrl-C / SIGTERM when `onSignals`) until it is released. */
export function guardChild(child: ChildProcess, onSignals = true): void {
  children.set(child, onSignals);
  update();
}

export function releaseChild(child: ChildProcess): void {
  children.delete(child);
  update();
}

/** Remove `dir` on exit (and on Ctrl-C / SIGTERM when `onSignals`) until it is released. */
export function guardDir(dir: string, onSignals = true): void {
  dirs.set(dir, onSignals);
  update();
}

export function releaseDir(dir: string): void {
  dirs.delete(dir);
  update();
}
