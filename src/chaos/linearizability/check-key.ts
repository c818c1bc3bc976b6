/**
 * Checks one key's register history and, when it is not linearizable, finds
 * the smallest window of operations that cannot be linearized on its own.
 *
 * The window is contiguous in invocation order. It is found by shrinking:
 * first the shortest prefix that fails, then the latest start that still fails,
 * repeated until neither end moves. Inside a small window a greedy pass then
 * drops every operation not needed for the failure, leaving the essential ones
 * (for a stale read: the two writes and the read). Every window is checked in
 * the relaxed context of `windowProblem`, so a failing window is a proof that
 * the whole history fails, not just a suspicious fragment.
 */
import type { Operation, RegisterValue } from '../history.js';
import { compileRegisterHistory, rangeMask, windowProblem, type CompiledRegisterHistory } from './register.js';
import { defaultSearchLimits, searchLinearization, type SearchBudget, type SearchLimits, type SearchOutcome } from './search.js';

export type Verdict = SearchOutcome;

export interface KeyCheckOptions {
  /** The register's value before the history; default `null` (absent). */
  initialValue?: RegisterValue;
  /** Budget of the main search; the window search gets the same again, in total. */
  searchStepsMax?: number;
  cacheBytesMax?: number;
}

export interface KeyFailure {
  /** Operations in the longest partial linearization the search found. */
  longestLinearizedCount: number;
  /** An operation that could not be linearized after that partial linearization. */
  stuckOperationId: number;
  /** The smallest non-linearizable window found, in invocation order. */
  window: Operation[];
  /** Ids of the window's operations that the failure needs (the rest can be removed). */
  essentialIds: number[];
  /** Whether the window starts from an unknown value (earlier writes were elided). */
  windowStartsAnywhere: boolean;
  /** False when the shrinking budget ran out: the window is smaller than the history, but maybe not smallest. */
  windowMinimal: boolean;
  /** Searches run while shrinking. */
  windowSearches: number;
}

export interface KeyCheckResult {
  key: string;
  verdict: Verdict;
  /** Operations checked (failed ones and reads with unknown outcome are dropped). */
  operationCount: number;
  droppedCount: number;
  steps: number;
  /** When unknown: why. */
  reason?: string;
  /** When unknown: what the main search used of its limits. */
  budget?: SearchBudget;
  failure?: KeyFailure;
}

/**
 * Largest window for which the essential operations are computed, one search
 * per operation. Why: beyond this the greedy pass costs more than a person can
 * use; such a window is reported whole.
 */
export const essentialWindowOpsMax = 200;

/**
 * Operations per window when a search out of budget falls back to scanning
 * windows, and the stride between windows (half a window, so that every
 * failure no longer than half a window lies wholly inside one). Why: a window
 * this size checks in milliseconds however contended, and real violations
 * (a stale read, a lost write) span a few operations.
 */
export const scanWindowOps = 256;
const scanWindowStride = scanWindowOps / 2;

/**
 * Rounds of shrinking from both ends. Why: each round only moves the ends
 * inward, and in practice the second round changes nothing; this bounds a
 * pathological history.
 */
const shrinkRoundsMax = 8;

function limitsFrom(options: KeyCheckOptions): SearchLimits {
  return {
    stepsMax: options.searchStepsMax ?? defaultSearchLimits.stepsMax,
    cacheBytesMax: options.cacheBytesMax ?? defaultSearchLimits.cacheBytesMax,
  };
}

/** A key's result in terms of compiled operation indices: what a worker thread sends back. */
export interface CompiledKeyResult {
  verdict: Verdict;
  operationCount: number;
  droppedCount: number;
  steps: number;
  reason?: string;
  budget?: SearchBudget;
  failure?: {
    longestLinearizedCount: number;
    stuckIndex: number;
    windowLo: number;
    windowHi: number;
    essentialIndices: number[];
    windowStartsAnywhere: boolean;
    windowMinimal: boolean;
    windowSearches: number;
  };
}

/** Checks one compiled key history; pure, so it runs the same in this thread or a worker. */
export function checkCompiled(history: CompiledRegisterHistory, options: KeyCheckOptions = {}): CompiledKeyResult {
  const limits = limitsFrom(options);
  const m = history.count;
  const whole = windowProblem(history, rangeMask(m, 0, m - 1));
  const result = searchLinearization(whole, limits);
  const base = { operationCount: m, droppedCount: history.droppedCount, steps: result.steps };
  if (result.outcome === 'linearizable') return { ...base, verdict: 'linearizable' };
  if (result.outcome === 'unknown') return scanWindows(history, limits, base, result.reason ?? 'search gave up', result.budget);
  return violation(history, limits, base, result, whole, 0, m - 1);
}

/** The not-linearizable verdict of a failed search over `problem` (the window [lo, hi]), shrunk to its smallest failing window. */
function violation(
  history: CompiledRegisterHistory,
  limits: SearchLimits,
  base: { operationCount: number; droppedCount: number; steps: number },
  result: ReturnType<typeof searchLinearization>,
  problem: ReturnType<typeof windowProblem>,
  lo: number,
  hi: number,
): CompiledKeyResult {
  if (result.stuckOp === undefined) throw new Error('checkKey: a failed search must name the operation it was stuck on');
  return {
    ...base,
    verdict: 'not-linearizable',
    failure: {
      longestLinearizedCount: result.longest.length,
      stuckIndex: problem.source[result.stuckOp],
      ...smallestWindow(history, limits, lo, hi),
    },
  };
}

/**
 * After the whole history's search ran out of budget: looks for a window that
 * cannot be linearized on its own (a proof that the history cannot), with the
 * same budget again in total. Finding none, the verdict stays unknown, with
 * the reason and the budget used.
 */
function scanWindows(
  history: CompiledRegisterHistory,
  limits: SearchLimits,
  base: { operationCount: number; droppedCount: number; steps: number },
  reason: string,
  budget: SearchBudget | undefined,
): CompiledKeyResult {
  const m = history.count;
  let stepsLeft = limits.stepsMax;
  let windows = 0;
  let undecided = 0;
  for (let lo = 0; lo < m && stepsLeft > 0; lo += scanWindowStride) {
    const hi = Math.min(m - 1, lo + scanWindowOps - 1);
    const window = windowProblem(history, rangeMask(m, lo, hi));
    const result = searchLinearization(window, { stepsMax: stepsLeft, cacheBytesMax: limits.cacheBytesMax });
    stepsLeft -= result.steps;
    windows++;
    if (result.outcome === 'unknown') undecided++;
    if (result.outcome === 'not-linearizable') return violation(history, limits, base, result, window, lo, hi);
    if (hi === m - 1) break;
  }
  const scanned = `; then ${windows} windows of ${scanWindowOps} operations scanned with ${limits.stepsMax - Math.max(0, stepsLeft)} of ${limits.stepsMax} more steps, none failing${undecided > 0 ? ` (${undecided} undecided)` : ''}`;
  return { ...base, verdict: 'unknown', reason: reason + scanned, budget };
}

/** Turns compiled indices back into the operations they stand for. */
export function materializeKeyResult(key: string, kept: readonly Operation[], compiled: CompiledKeyResult): KeyCheckResult {
  const { failure, ...rest } = compiled;
  const result: KeyCheckResult = { key, ...rest };
  if (failure === undefined) return result;
  result.failure = {
    longestLinearizedCount: failure.longestLinearizedCount,
    stuckOperationId: kept[failure.stuckIndex].id,
    window: kept.slice(failure.windowLo, failure.windowHi + 1),
    essentialIds: failure.essentialIndices.map((k) => kept[k].id),
    windowStartsAnywhere: failure.windowStartsAnywhere,
    windowMinimal: failure.windowMinimal,
    windowSearches: failure.windowSearches,
  };
  return result;
}

/** Checks the operations of one key (all must be on `key`). */
export function checkKey(key: string, ops: readonly Operation[], options: KeyCheckOptions = {}): KeyCheckResult {
  const { history, kept } = compileRegisterHistory(key, ops, options.initialValue ?? null);
  return materializeKeyResult(key, kept, checkCompiled(history, options));
}

class WindowSearcher {
  searches = 0;
  stepsLeft: number;
  exhausted = false;

  constructor(
    private readonly history: CompiledRegisterHistory,
    private readonly limits: SearchLimits,
  ) {
    this.stepsLeft = limits.stepsMax;
  }

  /** True only when the window is proven not linearizable; a search out of budget counts as false. */
  fails(member: Uint8Array): boolean {
    if (this.stepsLeft <= 0) {
      this.exhausted = true;
      return false;
    }
    this.searches++;
    const result = searchLinearization(windowProblem(this.history, member), {
      stepsMax: this.stepsLeft,
      cacheBytesMax: this.limits.cacheBytesMax,
    });
    this.stepsLeft -= result.steps;
    if (result.outcome === 'unknown') this.exhausted = true;
    return result.outcome === 'not-linearizable';
  }
}

function smallestWindow(
  history: CompiledRegisterHistory,
  limits: SearchLimits,
  failingLo: number,
  failingHi: number,
): Omit<NonNullable<CompiledKeyResult['failure']>, 'longestLinearizedCount' | 'stuckIndex'> {
  const m = history.count;
  const searcher = new WindowSearcher(history, limits);
  let lo = failingLo;
  let hi = failingHi; // [lo, hi] fails
  for (let round = 0; round < shrinkRoundsMax; round++) {
    // Smallest hi with [lo, hi] failing: invariant [lo, okHi] passes (or is empty), [lo, failHi] fails.
    let okHi = lo - 1;
    let failHi = hi;
    while (failHi - okHi > 1) {
      const mid = (okHi + failHi) >>> 1;
      if (searcher.fails(rangeMask(m, lo, mid))) failHi = mid;
      else okHi = mid;
    }
    // Largest lo with [lo, failHi] failing.
    let failLo = lo;
    let okLo = failHi + 1;
    while (okLo - failLo > 1) {
      const mid = (failLo + okLo) >>> 1;
      if (searcher.fails(rangeMask(m, mid, failHi))) failLo = mid;
      else okLo = mid;
    }
    const moved = failLo !== lo || failHi !== hi;
    lo = failLo;
    hi = failHi;
    if (!moved) break;
  }
  const member = rangeMask(m, lo, hi);
  const windowSize = hi - lo + 1;
  if (windowSize <= essentialWindowOpsMax) {
    for (let k = lo; k <= hi; k++) {
      member[k] = 0;
      if (!searcher.fails(member)) member[k] = 1;
    }
  }
  const essentialIndices: number[] = [];
  for (let k = lo; k <= hi; k++) if (member[k] === 1) essentialIndices.push(k);
  if (essentialIndices.length === 0) throw new Error('checkKey: an empty window cannot fail');
  return {
    windowLo: lo,
    windowHi: hi,
    essentialIndices,
    windowStartsAnywhere: windowProblem(history, rangeMask(m, lo, hi)).startsAnywhere,
    windowMinimal: !searcher.exhausted,
    windowSearches: searcher.searches,
  };
}
