// Per-thread figures of this process for the kv scripts (kv-thread-cpu.mjs, kv-grpc-get-cpu.mjs, kv-thread-gc.mjs):
// each thread's CPU, sleeps and name, read from Linux's /proc, and the relaunch that makes every thread (worker
// threads inherit `--import`) load a preload before the script runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs `script` again in a child with `scripts/lib/<preload>` loaded first and `env` added, unless `marker` is
 * already in the environment (then this is the child: returns). The parent exits with the child's status after
 * `cleanup`.
 */
export function relaunchWithPreload(script, { preload, marker, env, cleanup = () => {} }) {
  if (process.env[marker] !== undefined) return;
  const href = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), preload)).href;
  const child = spawnSync(process.execPath, ['--import', href, fileURLToPath(script), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', ...env },
  });
  cleanup();
  process.exit(child.status ?? 1);
}

/**
 * In the parent, runs `script` again with the thread-name.mjs preload and a fresh names directory (removed after);
 * in that child, returns the directory where every thread of the process has written its name.
 */
export function relaunchNamingThreads(script) {
  if (process.env.THREAD_NAMES_DIR === undefined) {
    const names = mkdtempSync(join(tmpdir(), 'kubethreads-thread-names-'));
    relaunchWithPreload(script, { preload: 'thread-name.mjs', marker: 'THREAD_NAMES_DIR', env: { THREAD_NAMES_DIR: names }, cleanup: () => rmSync(names, { recursive: true, force: true }) });
  }
  return process.env.THREAD_NAMES_DIR;
}

/** Reads one number per thread of this process from /proc/<pid>/task/<tid>/<file>, by tid. */
function perThread(file, parse) {
  const values = new Map();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      values.set(tid, parse(readFileSync(`/proc/${process.pid}/task/${tid}/${file}`, 'utf8')));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return values;
}

/** Nanoseconds each thread of this process has run, by tid. */
export const threadCpuNs = () => perThread('schedstat', (text) => Number(text.split(' ')[0]));

/** Times each thread of this process has gone to sleep (voluntary context switches: each a wake-up to come), by tid. */
export const threadSleeps = () => perThread('status', (text) => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(text)[1]));

/** Names the threads of this process gave themselves through the thread-name.mjs preload, by tid. */
export function threadNames(namesDir) {
  const names = new Map();
  for (const file of readdirSync(namesDir)) {
    const [pid, tid] = file.split('-');
    if (Number(pid) === process.pid) names.set(tid, readFileSync(join(namesDir, file), 'utf8'));
  }
  return names;
}

/**
 * Each named thread's growth of a per-thread counter (threadCpuNs, threadSleeps) between two readings, times
 * `scale`, per operation; threads that did not name themselves (V8's collector and compilers, libuv's pool) are
 * summed as one.
 */
export function perOpByThread(before, after, names, ops, scale = 1) {
  const out = {};
  for (const [tid, value] of after) {
    const name = names.get(tid) ?? 'v8 and libuv helpers';
    out[name] = (out[name] ?? 0) + ((value - (before.get(tid) ?? 0)) * scale) / ops;
  }
  return out;
}
