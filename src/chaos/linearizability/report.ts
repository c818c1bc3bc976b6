/** Human-readable text for a check result; the structured result is the `HistoryCheckResult` itself. */
import type { Operation } from '../history.js';
import type { HistoryCheckResult } from './check.js';
import type { KeyCheckResult } from './check-key.js';

function formatValue(value: unknown): string {
  return value === null ? 'nil' : JSON.stringify(value);
}

/** One operation as a person reads it: `write 3`, `read -> 3`, `cas 3 -> 4 swapped`, with its status when not ok. */
export function describeOperation(op: Operation): string {
  let text: string;
  switch (op.op) {
    case 'read':
      text = op.status === 'ok' ? `read -> ${formatValue(op.value)}` : 'read';
      break;
    case 'write':
      text = `write ${formatValue(op.value)}`;
      break;
    case 'cas':
      text = `cas ${formatValue(op.expected)} -> ${formatValue(op.value)}`;
      if (op.status === 'ok') text += op.swapped === true ? ' swapped' : ' not swapped';
      break;
  }
  if (op.status !== 'ok') text += ` (${op.status}${op.error === undefined ? '' : `: ${op.error}`})`;
  return text;
}

function formatTime(ms: number | null): string {
  return ms === null ? '-' : String(ms);
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** A table of operations; ids in `marked` get a `*`. */
export function formatOperations(ops: readonly Operation[], marked: ReadonlySet<number> = new Set()): string[] {
  const rows = ops.map((op) => [String(op.id), op.process, formatTime(op.invokeMs), op.status === 'unknown' ? 'never' : formatTime(op.completeMs), describeOperation(op)]);
  const header = ['id', 'process', 'invoke ms', 'complete ms', 'operation'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], mark: string): string =>
    `  ${mark} ${pad(cells[0], widths[0], true)}  ${pad(cells[1], widths[1])}  ${pad(cells[2], widths[2], true)}  ${pad(cells[3], widths[3], true)}  ${cells[4]}`;
  return [line(header, ' '), ...rows.map((r, i) => line(r, marked.has(ops[i].id) ? '*' : ' '))];
}

export function formatKeyResult(result: KeyCheckResult): string[] {
  const counts = `${result.operationCount} operations${result.droppedCount > 0 ? `, ${result.droppedCount} dropped (failed, or reads with unknown outcome)` : ''}, ${result.steps} search steps`;
  const title = `key ${JSON.stringify(result.key)}: ${result.verdict} (${counts})`;
  if (result.verdict === 'unknown') {
    const budget = result.budget;
    const used = budget === undefined ? [] : [`  budget: ${budget.steps} of ${budget.stepsMax} steps, ${budget.cacheBytes} of ${budget.cacheBytesMax} cache bytes`];
    return [title, `  ${result.reason ?? 'search gave up'}`, ...used];
  }
  if (result.verdict === 'linearizable' || result.failure === undefined) return [title];
  const failure = result.failure;
  const essential = new Set(failure.essentialIds);
  return [
    title,
    `  longest partial linearization: ${failure.longestLinearizedCount} of ${result.operationCount} operations; operation ${failure.stuckOperationId} could not be linearized after it`,
    `  smallest window that cannot be linearized: ${failure.window.length} operations (${essential.size} essential, marked *)` +
      (failure.windowMinimal ? '' : ' [shrinking ran out of budget: may not be the smallest]'),
    ...formatOperations(failure.window, essential),
    failure.windowStartsAnywhere
      ? '  the register may hold any written value before the window; writes overlapping it may take effect any time after their invocation, or not at all'
      : '  the register starts at its initial value; writes overlapping the window may take effect any time after their invocation, or not at all',
  ];
}

/** The whole report: a verdict line, then failing and unknown keys in detail, linearizable keys summarized. */
export function formatCheckResult(result: HistoryCheckResult): string {
  const failing = result.keys.filter((k) => k.verdict === 'not-linearizable');
  const unknown = result.keys.filter((k) => k.verdict === 'unknown');
  const lines = [
    `${result.verdict.toUpperCase()}: ${result.operationCount} operations on ${result.keys.length} keys; ` +
      `${failing.length} not linearizable, ${unknown.length} unknown, ${result.keys.length - failing.length - unknown.length} linearizable`,
  ];
  for (const key of [...failing, ...unknown]) lines.push('', ...formatKeyResult(key));
  return lines.join('\n') + '\n';
}
