/**
 * Piscina worker: checks one key's compiled history. Compiled to
 * dist/src/chaos/linearizability/worker.js; `checkHistory` finds it beside
 * itself with `new URL('./worker.js', import.meta.url)`. The history arrives
 * as transferred typed arrays; the answer goes back as compiled indices, which
 * the main thread turns into operations.
 */
import { checkCompiled, type CompiledKeyResult, type KeyCheckOptions } from './check-key.js';
import type { CompiledRegisterHistory } from './register.js';

export interface KeyCheckTask {
  history: CompiledRegisterHistory;
  options: KeyCheckOptions;
}

export default function checkKeyTask(task: KeyCheckTask): CompiledKeyResult {
  return checkCompiled(task.history, task.options);
}
