/**
 * Piscina worker: checks one key's history. Compiled to
 * dist/src/chaos/linearizability/worker.js; `checkHistory` finds it beside
 * itself with `new URL('./worker.js', import.meta.url)`.
 */
import type { Operation } from '../history.js';
import { checkKey, type KeyCheckOptions, type KeyCheckResult } from './check-key.js';

export interface KeyCheckTask {
  key: string;
  ops: Operation[];
  options: KeyCheckOptions;
}

export default function checkKeyTask(task: KeyCheckTask): KeyCheckResult {
  return checkKey(task.key, task.ops, task.options);
}
