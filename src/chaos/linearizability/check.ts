/**
 * Checks a whole history: partitions it by key (registers are independent, so
 * the history is linearizable exactly when every key's history is), then checks
 * each key, in this thread or spread over a Piscina pool of worker threads.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { validateOperation, type Operation } from '../history.js';
import { checkKey, materializeKeyResult, type CompiledKeyResult, type KeyCheckOptions, type KeyCheckResult, type Verdict } from './check-key.js';
import { compileRegisterHistory, transferablesOf } from './register.js';
import type { KeyCheckTask } from './worker.js';

export interface HistoryCheckOptions extends KeyCheckOptions {
  /** Check keys on a pool of worker threads. Default false: in this thread, one key after another. */
  parallel?: boolean;
  /** Worker threads for the parallel check; default: the machine's parallelism. */
  threads?: number;
}

export interface HistoryCheckResult {
  verdict: Verdict;
  operationCount: number;
  /** One result per key, sorted by key. */
  keys: KeyCheckResult[];
}

/** The operations of each key, keys sorted. Validates every operation and the uniqueness of ids. */
export function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const ids = new Set<number>();
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    validateOperation(op);
    if (ids.has(op.id)) throw new Error(`history: operation id ${op.id} appears twice`);
    ids.add(op.id);
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }
  return new Map([...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function combine(ops: readonly Operation[], keys: KeyCheckResult[]): HistoryCheckResult {
  let verdict: Verdict = 'linearizable';
  for (const result of keys) {
    if (result.verdict === 'not-linearizable') verdict = 'not-linearizable';
    else if (result.verdict === 'unknown' && verdict === 'linearizable') verdict = 'unknown';
  }
  return { verdict, operationCount: ops.length, keys };
}

function keyOptions(options: HistoryCheckOptions): KeyCheckOptions {
  const { initialValue, searchStepsMax, cacheBytesMax } = options;
  return { initialValue, searchStepsMax, cacheBytesMax };
}

/** Checks `ops` in this thread. */
export function checkHistorySync(ops: readonly Operation[], options: HistoryCheckOptions = {}): HistoryCheckResult {
  const perKey = keyOptions(options);
  const keys = [...partitionByKey(ops)].map(([key, keyOps]) => checkKey(key, keyOps, perKey));
  return combine(ops, keys);
}

/** Checks `ops`; with `parallel`, keys are checked on a pool of worker threads, created and destroyed here. */
export async function checkHistory(ops: readonly Operation[], options: HistoryCheckOptions = {}): Promise<HistoryCheckResult> {
  if (options.parallel !== true) return checkHistorySync(ops, options);
  const partitions = partitionByKey(ops);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), partitions.size));
  const pool = new Piscina<KeyCheckTask, CompiledKeyResult>({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
  });
  try {
    const perKey = keyOptions(options);
    const keys = await Promise.all(
      [...partitions].map(async ([key, keyOps]) => {
        const { history, kept } = compileRegisterHistory(key, keyOps, options.initialValue ?? null);
        const compiled = await pool.run({ history, options: perKey }, { transferList: transferablesOf(history) });
        return materializeKeyResult(key, kept, compiled);
      }),
    );
    return combine(ops, keys);
  } finally {
    await pool.destroy();
  }
}
