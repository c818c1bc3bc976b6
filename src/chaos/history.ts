/**
 * Histories of client operations on registers, as Jepsen, Knossos and
 * Porcupine record them: every operation has an invocation and a completion.
 *
 * - `ok`: the operation happened, somewhere between its invocation and its completion.
 * - `fail`: the operation definitely did not happen (the checker removes it).
 * - `unknown` (Jepsen's `info`): it may or may not have happened; if it did, it
 *   took effect at some time after its invocation, so the checker treats its
 *   completion as +infinity. An unknown read constrains nothing and is dropped.
 *
 * On disk a history is JSON lines of events, one per invocation or completion,
 * written as they happen so a crash of the recording process loses nothing
 * already written; an invocation with no completion reads back as `unknown`.
 *
 * Pure: no clock, no file system. Time comes from an injected `now()`, lines
 * leave through an injected sink (see `diskSink` for a `Disk`, and
 * `history-file.ts` for plain files).
 */
import type { Disk } from '../actor/disk.js';

/** A register's value; `null` is "absent" (the key was never written, or was deleted). */
export type RegisterValue = string | number | null;

export type OperationStatus = 'ok' | 'fail' | 'unknown';

/** What a client asked for. */
export type RegisterInvocation =
  | { op: 'read' }
  | { op: 'write'; value: RegisterValue }
  /** Compare-and-swap: set to `value` only if the register holds `expected`. */
  | { op: 'cas'; expected: RegisterValue; value: RegisterValue };

interface OperationCommon {
  /** Unique within one history. */
  id: number;
  /** The client (Jepsen's process) that issued the operation. */
  process: string;
  key: string;
  status: OperationStatus;
  invokeMs: number;
  /** When the client saw the outcome; `null` when it never did (status `unknown`). */
  completeMs: number | null;
  /** Why the operation failed or its outcome is unknown, for people. */
  error?: string;
}

export interface ReadOperation extends OperationCommon {
  op: 'read';
  /** The value read; present exactly when status is `ok`. */
  value?: RegisterValue;
}

export interface WriteOperation extends OperationCommon {
  op: 'write';
  value: RegisterValue;
}

export interface CasOperation extends OperationCommon {
  op: 'cas';
  expected: RegisterValue;
  value: RegisterValue;
  /** Whether the swap happened; present exactly when status is `ok`. */
  swapped?: boolean;
}

export type Operation = ReadOperation | WriteOperation | CasOperation;

/** How an operation ended, as the client reports it. */
export type Completion =
  | { status: 'ok'; /** read: the value read */ value?: RegisterValue; /** cas: whether it swapped */ swapped?: boolean }
  | { status: 'fail'; error?: string }
  | { status: 'unknown'; error?: string };

/** One line of a history file. */
export type HistoryEvent =
  | ({ type: 'invoke'; id: number; process: string; key: string; timeMs: number } & RegisterInvocation)
  | { type: 'ok'; id: number; timeMs: number; value?: RegisterValue; swapped?: boolean }
  | { type: 'fail' | 'unknown'; id: number; timeMs: number; error?: string };

/**
 * Largest number of operations one recorder or one parsed file may hold.
 * Why: a history lives in memory while it is checked; past this a run has a
 * runaway client loop, and it is better to stop than to exhaust the heap.
 */
export const historyOperationsMax = 5_000_000;

/** Longest line accepted in a history file; a longer one is corrupt, not a big value. */
export const historyLineCharsMax = 1_000_000;

export class HistoryError extends Error {
  override readonly name = 'HistoryError';
}

/** A history file that cannot be read; `line` is 1-based. */
export class HistoryParseError extends HistoryError {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`history line ${line}: ${message}`);
  }
}

function isRegisterValue(value: unknown): value is RegisterValue {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function describeValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Throws `HistoryError` unless `op` is well formed: outputs present exactly
 * when the status is ok, times ordered, values JSON scalars.
 */
export function validateOperation(op: Operation): void {
  // A function, not a string: validation runs per operation on histories of millions.
  const where = (): string => `operation ${op.id} (${op.op} on ${JSON.stringify(op.key)})`;
  if (!Number.isSafeInteger(op.id) || op.id < 0) throw new HistoryError(`${where()}: id must be a non-negative integer`);
  if (typeof op.process !== 'string' || op.process.length === 0) throw new HistoryError(`${where()}: process must be a non-empty string`);
  if (typeof op.key !== 'string') throw new HistoryError(`${where()}: key must be a string`);
  if (!Number.isFinite(op.invokeMs)) throw new HistoryError(`${where()}: invokeMs must be a finite number`);
  if (op.completeMs !== null) {
    if (!Number.isFinite(op.completeMs)) throw new HistoryError(`${where()}: completeMs must be a finite number or null`);
    if (op.completeMs < op.invokeMs) {
      throw new HistoryError(`${where()}: completes at ${op.completeMs} ms, before its invocation at ${op.invokeMs} ms`);
    }
  } else if (op.status !== 'unknown') {
    throw new HistoryError(`${where()}: status ${op.status} needs a completion time`);
  }
  switch (op.op) {
    case 'read':
      if (op.status === 'ok' && !isRegisterValue(op.value)) throw new HistoryError(`${where()}: an ok read needs the value it read`);
      if (op.status !== 'ok' && op.value !== undefined) throw new HistoryError(`${where()}: only an ok read has a value`);
      break;
    case 'write':
      if (!isRegisterValue(op.value)) throw new HistoryError(`${where()}: value ${describeValue(op.value)} is not a string, number or null`);
      break;
    case 'cas':
      if (!isRegisterValue(op.expected)) throw new HistoryError(`${where()}: expected ${describeValue(op.expected)} is not a string, number or null`);
      if (!isRegisterValue(op.value)) throw new HistoryError(`${where()}: value ${describeValue(op.value)} is not a string, number or null`);
      if (op.status === 'ok' && typeof op.swapped !== 'boolean') throw new HistoryError(`${where()}: an ok cas needs swapped true or false`);
      if (op.status !== 'ok' && op.swapped !== undefined) throw new HistoryError(`${where()}: only an ok cas has swapped`);
      break;
    default: {
      const never: never = op;
      throw new HistoryError(`unknown operation kind in ${JSON.stringify(never)}`);
    }
  }
}

/** A sink receives one JSON line at a time, without the trailing newline. */
export type LineSink = (line: string) => void;

/** A sink that appends lines to `path` on an actor's disk; the caller decides when to fsync. */
export function diskSink(disk: Disk, path: string): LineSink {
  const encoder = new TextEncoder();
  return (line) => disk.append(path, encoder.encode(line + '\n'));
}

/**
 * Records client operations as they are invoked and completed.
 *
 * Operations still pending when the run ends are reported as `unknown` by
 * `operations()`: the client never learned whether they happened.
 */
export class HistoryRecorder {
  private readonly now: () => number;
  private readonly sink: LineSink | undefined;
  private readonly ops: Operation[] = [];
  private readonly pending = new Map<number, Operation>();

  constructor(options: { now: () => number; sink?: LineSink }) {
    this.now = options.now;
    this.sink = options.sink;
  }

  /** Records an invocation and returns the operation's id, to pass to `complete`. */
  invoke(process: string, key: string, invocation: RegisterInvocation): number {
    if (this.ops.length >= historyOperationsMax) {
      throw new HistoryError(`history holds ${historyOperationsMax} operations already (historyOperationsMax); stop the workload sooner`);
    }
    const id = this.ops.length;
    const invokeMs = this.now();
    const common = { id, process, key, status: 'unknown' as const, invokeMs, completeMs: null };
    let op: Operation;
    switch (invocation.op) {
      case 'read':
        op = { ...common, op: 'read' };
        break;
      case 'write':
        op = { ...common, op: 'write', value: invocation.value };
        break;
      case 'cas':
        op = { ...common, op: 'cas', expected: invocation.expected, value: invocation.value };
        break;
    }
    validateOperation(op);
    this.ops.push(op);
    this.pending.set(id, op);
    this.emit({ type: 'invoke', id, process, key, timeMs: invokeMs, ...invocation });
    return id;
  }

  /** Records how operation `id` ended. Each operation completes at most once. */
  complete(id: number, completion: Completion): void {
    const op = this.pending.get(id);
    if (op === undefined) {
      throw new HistoryError(`operation ${id} is not pending: it was never invoked or has already completed`);
    }
    const timeMs = this.now();
    if (completion.status === 'ok') {
      if (op.op !== 'read' && completion.value !== undefined) {
        throw new HistoryError(`operation ${id}: only a read completes with a value`);
      }
      if (op.op !== 'cas' && completion.swapped !== undefined) {
        throw new HistoryError(`operation ${id}: only a cas completes with swapped`);
      }
    }
    const updated: Operation = { ...op, status: completion.status, completeMs: timeMs };
    if (completion.status === 'ok') {
      if (updated.op === 'read') updated.value = completion.value;
      if (updated.op === 'cas') updated.swapped = completion.swapped;
    } else if (completion.error !== undefined) {
      updated.error = completion.error;
    }
    validateOperation(updated);
    this.ops[id] = updated;
    this.pending.delete(id);
    if (completion.status === 'ok') {
      const event: HistoryEvent = { type: 'ok', id, timeMs };
      if (updated.op === 'read') event.value = updated.value;
      if (updated.op === 'cas') event.swapped = updated.swapped;
      this.emit(event);
    } else {
      this.emit(completion.error === undefined ? { type: completion.status, id, timeMs } : { type: completion.status, id, timeMs, error: completion.error });
    }
  }

  ok(id: number, output: { value?: RegisterValue; swapped?: boolean } = {}): void {
    this.complete(id, { status: 'ok', ...output });
  }

  fail(id: number, error?: string): void {
    this.complete(id, error === undefined ? { status: 'fail' } : { status: 'fail', error });
  }

  unknown(id: number, error?: string): void {
    this.complete(id, error === undefined ? { status: 'unknown' } : { status: 'unknown', error });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Every operation recorded so far (copies); pending ones have status `unknown` and `completeMs` null. */
  operations(): Operation[] {
    return this.ops.map((op) => ({ ...op }));
  }

  private emit(event: HistoryEvent): void {
    if (this.sink !== undefined) this.sink(JSON.stringify(event));
  }
}

/** The events of a history in time order (invocations before completions at equal times). */
export function historyToEvents(ops: readonly Operation[]): HistoryEvent[] {
  const timed: { timeMs: number; order: number; id: number; event: HistoryEvent }[] = [];
  for (const op of ops) {
    validateOperation(op);
    const { id, process, key, invokeMs } = op;
    let invoke: HistoryEvent;
    switch (op.op) {
      case 'read':
        invoke = { type: 'invoke', id, process, key, timeMs: invokeMs, op: 'read' };
        break;
      case 'write':
        invoke = { type: 'invoke', id, process, key, timeMs: invokeMs, op: 'write', value: op.value };
        break;
      case 'cas':
        invoke = { type: 'invoke', id, process, key, timeMs: invokeMs, op: 'cas', expected: op.expected, value: op.value };
        break;
    }
    timed.push({ timeMs: invokeMs, order: 0, id, event: invoke });
    if (op.completeMs === null) continue;
    let completion: HistoryEvent;
    if (op.status === 'ok') {
      completion = { type: 'ok', id, timeMs: op.completeMs };
      if (op.op === 'read') completion.value = op.value;
      if (op.op === 'cas') completion.swapped = op.swapped;
    } else {
      completion = { type: op.status, id, timeMs: op.completeMs };
      if (op.error !== undefined) completion.error = op.error;
    }
    timed.push({ timeMs: op.completeMs, order: 1, id, event: completion });
  }
  timed.sort((a, b) => a.timeMs - b.timeMs || a.order - b.order || a.id - b.id);
  return timed.map((t) => t.event);
}

/** A history as JSON lines, each ending in a newline. */
export function historyToJsonl(ops: readonly Operation[]): string {
  return historyToEvents(ops)
    .map((event) => JSON.stringify(event) + '\n')
    .join('');
}

function requireField<T>(line: number, record: Record<string, unknown>, field: string, check: (v: unknown) => v is T, what: string): T {
  const value = record[field];
  if (!check(value)) {
    throw new HistoryParseError(line, `field ${JSON.stringify(field)} must be ${what}, got ${describeValue(value)}`);
  }
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

/**
 * Parses a history written as JSON lines of events into operations, in order
 * of invocation. Blank lines are skipped. Throws `HistoryParseError` naming the
 * line for malformed JSON, unknown event types, missing or mistyped fields,
 * duplicate ids, completions without an invocation, and time running backwards
 * within one operation.
 */
export function parseHistoryJsonl(text: string): Operation[] {
  const ops: Operation[] = [];
  const byId = new Map<number, Operation>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const raw = lines[index].trim();
    if (raw.length === 0) continue;
    if (raw.length > historyLineCharsMax) {
      throw new HistoryParseError(lineNumber, `line is ${raw.length} characters, more than historyLineCharsMax (${historyLineCharsMax})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new HistoryParseError(lineNumber, `not JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HistoryParseError(lineNumber, 'expected a JSON object');
    }
    const record = parsed as Record<string, unknown>;
    const type = record.type;
    const id = requireField(lineNumber, record, 'id', isId, 'a non-negative integer');
    const timeMs = requireField(lineNumber, record, 'timeMs', isFiniteNumber, 'a finite number');
    if (type === 'invoke') {
      if (byId.has(id)) throw new HistoryParseError(lineNumber, `operation ${id} is invoked twice`);
      if (ops.length >= historyOperationsMax) {
        throw new HistoryParseError(lineNumber, `more than historyOperationsMax (${historyOperationsMax}) operations`);
      }
      const process = requireField(lineNumber, record, 'process', isNonEmptyString, 'a non-empty string');
      const key = requireField(lineNumber, record, 'key', isString, 'a string');
      const common = { id, process, key, status: 'unknown' as const, invokeMs: timeMs, completeMs: null };
      let op: Operation;
      switch (record.op) {
        case 'read':
          op = { ...common, op: 'read' };
          break;
        case 'write':
          op = { ...common, op: 'write', value: requireField(lineNumber, record, 'value', isRegisterValue, 'a string, number or null') };
          break;
        case 'cas':
          op = {
            ...common,
            op: 'cas',
            expected: requireField(lineNumber, record, 'expected', isRegisterValue, 'a string, number or null'),
            value: requireField(lineNumber, record, 'value', isRegisterValue, 'a string, number or null'),
          };
          break;
        default:
          throw new HistoryParseError(lineNumber, `field "op" must be "read", "write" or "cas", got ${describeValue(record.op)}`);
      }
      ops.push(op);
      byId.set(id, op);
      continue;
    }
    if (type !== 'ok' && type !== 'fail' && type !== 'unknown') {
      throw new HistoryParseError(lineNumber, `field "type" must be "invoke", "ok", "fail" or "unknown", got ${describeValue(type)}`);
    }
    const op = byId.get(id);
    if (op === undefined) throw new HistoryParseError(lineNumber, `completion of operation ${id}, which was never invoked`);
    if (op.completeMs !== null) throw new HistoryParseError(lineNumber, `operation ${id} completes twice`);
    if (timeMs < op.invokeMs) {
      throw new HistoryParseError(lineNumber, `operation ${id} completes at ${timeMs} ms, before its invocation at ${op.invokeMs} ms`);
    }
    op.status = type;
    op.completeMs = timeMs;
    if (type === 'ok') {
      if (op.op === 'read') op.value = requireField(lineNumber, record, 'value', isRegisterValue, 'a string, number or null (the value read)');
      if (op.op === 'cas') op.swapped = requireField(lineNumber, record, 'swapped', isBoolean, 'true or false');
    } else if (record.error !== undefined) {
      op.error = requireField(lineNumber, record, 'error', isString, 'a string');
    }
    try {
      validateOperation(op);
    } catch (error) {
      throw new HistoryParseError(lineNumber, (error as Error).message);
    }
  }
  return ops;
}
