/**
 * The register model (read / write / compare-and-swap) compiled to integers for
 * the search, and the sub-histories ("windows") the failure report is made of.
 *
 * Values are interned per key: state `stateAny` means "some value the register
 * could hold" (used when a window starts after earlier writes),
 * `stateUnobserved` any value nobody observes, every other state is the id of
 * one observed value.
 */
import type { Operation, RegisterValue } from '../history.js';
import { stateRejected, type SearchProblem } from './search.js';

/** The register holds some value that an earlier, elided operation could have left. */
export const stateAny = 0;
/**
 * The register holds a value that no operation observes (no read returns it, no
 * cas expects it). All such values behave alike in every operation, so they
 * share one state and the memo cache treats them as one.
 */
export const stateUnobserved = 1;

/** Operation kinds, compiled. */
export const kindRead = 0;
export const kindWrite = 1;
export const kindCasSwapped = 2;
export const kindCasNotSwapped = 3;
/** A cas that may or may not have happened: it swaps if it matches, else nothing. */
export const kindCasUnknown = 4;

/**
 * The register's transition for one compiled operation.
 * `isCandidate[v]` says whether some operation writes v or v is the initial
 * value: only those can be the unknown value behind `stateAny`.
 */
export function registerStep(state: number, kind: number, a: number, b: number, isCandidate: Uint8Array): number {
  switch (kind) {
    case kindRead:
      if (state === a) return state;
      if (state === stateAny && isCandidate[a] === 1) return a;
      return stateRejected;
    case kindWrite:
      return a;
    case kindCasSwapped:
      if (state === a) return b;
      if (state === stateAny && isCandidate[a] === 1) return b;
      return stateRejected;
    case kindCasNotSwapped:
      return state === a ? stateRejected : state;
    case kindCasUnknown:
      return state === a ? b : state;
    default:
      throw new Error(`register model: unknown operation kind ${kind}`);
  }
}

/**
 * One key's history, ready for the search: the operations that can matter, in
 * invocation order, as typed arrays (so it moves to a worker thread by transfer,
 * not by copying thousands of objects).
 */
export interface CompiledRegisterHistory {
  key: string;
  /** Operations kept. */
  count: number;
  /** Failed operations and reads with unknown outcome: they constrain nothing. */
  droppedCount: number;
  kind: Uint8Array;
  /** read: value read; write: value written; cas: expected. */
  a: Int32Array;
  /** cas: new value. */
  b: Int32Array;
  invokeMs: Float64Array;
  /** `Infinity` for unknown outcomes. */
  completeMs: Float64Array;
  initialState: number;
  isCandidate: Uint8Array;
}

/** The buffers of a compiled history, for a worker's transfer list. */
export function transferablesOf(history: CompiledRegisterHistory): ArrayBuffer[] {
  return [history.kind, history.a, history.b, history.invokeMs, history.completeMs, history.isCandidate].map((array) => array.buffer as ArrayBuffer);
}

/**
 * Compiles the operations of one key (every op must be on `key`). Returns the
 * compiled history and the operations it kept, index for index.
 */
export function compileRegisterHistory(
  key: string,
  ops: readonly Operation[],
  initialValue: RegisterValue,
): { history: CompiledRegisterHistory; kept: Operation[] } {
  // Values some operation observes: only they need a state of their own.
  const observed = new Set<RegisterValue>();
  for (const op of ops) {
    if (op.op === 'read' && op.status === 'ok' && op.value !== undefined) observed.add(op.value);
    if (op.op === 'cas') observed.add(op.expected);
  }
  // Map keys compare as the register does (===): 1 and "1" differ, null is a key.
  const ids = new Map<RegisterValue, number>();
  let idCount = stateUnobserved + 1;
  const intern = (value: RegisterValue): number => {
    if (!observed.has(value)) return stateUnobserved;
    let id = ids.get(value);
    if (id === undefined) {
      id = idCount++;
      ids.set(value, id);
    }
    return id;
  };
  const initialState = intern(initialValue);
  const kept = ops
    .filter((op) => {
      if (op.key !== key) throw new Error(`compileRegisterHistory: operation ${op.id} is on key ${JSON.stringify(op.key)}, not ${JSON.stringify(key)}`);
      return op.status !== 'fail' && !(op.op === 'read' && op.status === 'unknown');
    })
    .sort((x, y) => x.invokeMs - y.invokeMs || x.id - y.id);
  const m = kept.length;
  const kind = new Uint8Array(m);
  const a = new Int32Array(m);
  const b = new Int32Array(m);
  const invokeMs = new Float64Array(m);
  const completeMs = new Float64Array(m);
  const written: number[] = [initialState];
  for (let k = 0; k < m; k++) {
    const op = kept[k];
    invokeMs[k] = op.invokeMs;
    completeMs[k] = op.status === 'unknown' || op.completeMs === null ? Infinity : op.completeMs;
    switch (op.op) {
      case 'read':
        if (op.value === undefined) throw new Error(`compileRegisterHistory: ok read ${op.id} has no value`);
        kind[k] = kindRead;
        a[k] = intern(op.value);
        break;
      case 'write':
        kind[k] = kindWrite;
        a[k] = intern(op.value);
        written.push(a[k]);
        break;
      case 'cas':
        kind[k] = op.status === 'unknown' ? kindCasUnknown : op.swapped === true ? kindCasSwapped : kindCasNotSwapped;
        a[k] = intern(op.expected);
        b[k] = intern(op.value);
        if (kind[k] !== kindCasNotSwapped) written.push(b[k]);
        break;
    }
  }
  const isCandidate = new Uint8Array(idCount);
  for (const id of written) isCandidate[id] = 1;
  const history = { key, count: m, droppedCount: ops.length - m, kind, a, b, invokeMs, completeMs, initialState, isCandidate };
  return { history, kept };
}

function changesState(kind: number): boolean {
  return kind === kindWrite || kind === kindCasSwapped || kind === kindCasUnknown;
}

/** A search problem plus the map from its operations back to the compiled ones. */
export interface WindowProblem extends SearchProblem {
  /** Compiled index of each problem operation. */
  source: Int32Array;
  /** Whether the problem starts from `stateAny` (some writes before the window were elided). */
  startsAnywhere: boolean;
}

/**
 * The search problem for a window: the compiled operations with `member[k]`
 * set, kept exactly, in the context of the rest of the history, relaxed so that
 * "the window cannot be linearized" implies "the history cannot":
 *
 * - writes (and cas that may have swapped) that overlap the window's span in
 *   time stay, as operations of unknown outcome: they may take effect at any
 *   time after their invocation, or not at all;
 * - writes that completed before the window's first invocation are replaced by
 *   an unknown starting value (`stateAny`);
 * - writes invoked after the window's last completion, and all reads and
 *   failed cas outside the window, are dropped: nothing in the window sees them.
 *
 * With every operation a member this is exactly the history's own problem.
 */
export function windowProblem(history: CompiledRegisterHistory, member: Uint8Array): WindowProblem {
  const m = history.count;
  let spanStartMs = Infinity;
  let spanEndMs = -Infinity;
  for (let k = 0; k < m; k++) {
    if (member[k] !== 1) continue;
    spanStartMs = Math.min(spanStartMs, history.invokeMs[k]);
    spanEndMs = Math.max(spanEndMs, history.completeMs[k]);
  }
  const source: number[] = [];
  const relaxed: boolean[] = [];
  let startsAnywhere = false;
  for (let k = 0; k < m; k++) {
    if (member[k] === 1) {
      source.push(k);
      relaxed.push(false);
      continue;
    }
    if (!changesState(history.kind[k])) continue;
    if (history.completeMs[k] < spanStartMs) {
      startsAnywhere = true;
    } else if (history.invokeMs[k] <= spanEndMs) {
      source.push(k);
      relaxed.push(true);
    }
  }
  const count = source.length;
  const kind = new Uint8Array(count);
  const a = new Int32Array(count);
  const b = new Int32Array(count);
  const invokeMs = new Float64Array(count);
  const completeMs = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const k = source[i];
    const compiledKind = history.kind[k];
    kind[i] = relaxed[i] && compiledKind === kindCasSwapped ? kindCasUnknown : compiledKind;
    a[i] = history.a[k];
    b[i] = history.b[k];
    invokeMs[i] = history.invokeMs[k];
    completeMs[i] = relaxed[i] ? Infinity : history.completeMs[k];
  }
  // Writes of the same (interned) value have the same transition: their class is the value.
  const classOf = new Int32Array(count).fill(-1);
  for (let i = 0; i < count; i++) if (kind[i] === kindWrite) classOf[i] = a[i];
  const observesOnly = new Uint8Array(count);
  for (let i = 0; i < count; i++) if (kind[i] === kindRead || kind[i] === kindCasNotSwapped) observesOnly[i] = 1;
  const isCandidate = history.isCandidate;
  return {
    count,
    observesOnly,
    invokeMs,
    completeMs,
    classOf,
    initialState: startsAnywhere ? stateAny : history.initialState,
    step: (state, op) => registerStep(state, kind[op], a[op], b[op], isCandidate),
    source: Int32Array.from(source),
    startsAnywhere,
  };
}

/** A membership mask with compiled operations lo..hi (inclusive) set. */
export function rangeMask(count: number, lo: number, hi: number): Uint8Array {
  const member = new Uint8Array(count);
  member.fill(1, Math.max(0, lo), Math.min(count, hi + 1));
  return member;
}
