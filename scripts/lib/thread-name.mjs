// Preload (`node --import`) for scripts/kv-thread-cpu.mjs: worker threads inherit it, so every thread of the process
// writes its Linux thread id and its name (the worker's `threadName`, or `main`) into $THREAD_NAMES_DIR, where the
// parent finds which /proc/<pid>/task/<tid> is which actor thread. Linux only; does nothing without the variable.
import { readlinkSync, writeFileSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';

const dir = process.env.THREAD_NAMES_DIR;
if (dir !== undefined) {
  const tid = readlinkSync('/proc/thread-self').split('/').pop();
  const name = isMainThread ? 'main' : String(workerData?.threadName ?? 'worker');
  writeFileSync(`${dir}/${process.pid}-${tid}`, name);
}
