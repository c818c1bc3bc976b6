/**
 * The Wing–Gong linearizability search with Lowe's memoization, shaped as
 * Porcupine's `checkSingle`:
 *
 * - every operation becomes a call entry and a return entry, sorted by time
 *   (calls before returns at equal times, so touching intervals count as
 *   concurrent), in a doubly linked list;
 * - scanning from the head, a call entry whose operation the model accepts in
 *   the current state is linearized: it and its return entry are lifted out of
 *   the list, the choice is pushed on a stack, and the scan restarts;
 * - reaching a return entry means its operation should have been linearized by
 *   now: pop the last choice (unlift it) and try the next call after it;
 *   with nothing to pop the history is not linearizable;
 * - Lowe's cache remembers every (set of linearized operations, model state)
 *   reached, so a configuration seen before is never explored twice.
 *
 * Operations of unknown outcome have no return entry: they are optional, so the
 * search ends when every return has been passed. Two reductions keep many of
 * them from blowing up the search, both sound and complete: an optional
 * operation that would not change the state is never linearized (that is the
 * same as its never happening), and interchangeable ones (`classOf`) are used
 * in invocation order only.
 *
 * The model is reduced to integers: a state is an int (never `stateRejected`),
 * and `step(state, op)` returns the next state or `stateRejected`. That keeps
 * the cache key cheap: an incremental Zobrist hash of the linearized set,
 * mixed with the state, with exact comparison of the bit words on a hit
 * (in a short canonical form, see `LinearizedSet`).
 *
 * Pure and synchronous; bounded by a step budget and a cache memory budget so
 * it never hangs: past either it answers `unknown`, as Porcupine's timeout does.
 */

/** Returned by `SearchProblem.step` when the model does not allow the operation. */
export const stateRejected = -1;

export interface SearchProblem {
  /** Number of operations, indexed 0..count-1. */
  readonly count: number;
  readonly invokeMs: ArrayLike<number>;
  /**
   * `Infinity` for an operation whose outcome is unknown: it is optional (it may
   * never have happened) and, if it happened, it did so at any time after its
   * invocation.
   */
  readonly completeMs: ArrayLike<number>;
  readonly initialState: number;
  /**
   * Classes of interchangeable optional operations (same transition in every
   * state), or -1. The search uses the members of a class in invocation order
   * only: whatever a later member could do, the earliest unused one can too.
   */
  readonly classOf?: ArrayLike<number>;
  /** The model's transition, or `stateRejected`. Must be a pure function of its arguments. */
  step(state: number, op: number): number;
}

export interface SearchLimits {
  /** Most iterations of the search loop before giving up with `unknown`. */
  stepsMax: number;
  /** Most bytes held by the memo cache before giving up with `unknown`. */
  cacheBytesMax: number;
}

/**
 * Default steps per check. Why: a history of a correct register checks in a few
 * steps per operation (about 1e7 steps per second); a search that needs more
 * than this has gone exponential (many long-pending writes), and more steps
 * rarely rescue it. A few seconds of CPU per key at most.
 */
export const searchStepsMaxDefault = 30_000_000;

/**
 * Default memo cache size. Why: the cache dominates the checker's memory (an
 * entry per configuration explored), and a worker thread should stay well
 * under Node's default heap.
 */
export const cacheBytesMaxDefault = 512 * 1024 * 1024;

/** Rough bytes of one cache entry besides its bit words (object, array slot, typed array header). */
const cacheEntryOverheadBytes = 96;

export const defaultSearchLimits: SearchLimits = Object.freeze({
  stepsMax: searchStepsMaxDefault,
  cacheBytesMax: cacheBytesMaxDefault,
});

export type SearchOutcome = 'linearizable' | 'not-linearizable' | 'unknown';

export interface SearchResult {
  outcome: SearchOutcome;
  steps: number;
  /** When linearizable: one linearization, as operation indices in order (optional operations that never happened left out). */
  order?: number[];
  /** The longest partial linearization the search reached, as operation indices in order. */
  longest: number[];
  /**
   * When not linearizable: an operation that had to be linearized (its return
   * was reached) but could not be, at the longest partial linearization.
   */
  stuckOp?: number;
  /** When unknown: which budget ran out. */
  reason?: string;
}

/** Murmur3's 32-bit finalizer: a cheap, well-mixed hash of an int. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

interface CacheEntry {
  /** The linearized set's canonical form (see `LinearizedSet`). */
  fullBelow: number;
  words: Uint32Array;
  /** Optional operations linearized, sorted. */
  optional: Int32Array;
  state: number;
}

const allOnes = 0xffffffff;

/**
 * The set of linearized operations, with its Zobrist hash and a short canonical
 * form, so a cache entry costs a handful of words however long the history is
 * (copying the whole bitset for every entry would cost memory quadratic in the
 * history's length).
 *
 * Operations are numbered in invocation order, so a set the search reaches is a
 * full prefix plus a few concurrent operations: the bit words below `fullBelow`
 * are all ones and those from `end` on are all zeros. Optional operations (those
 * that never return) would leave permanent holes in the prefix, so their bits
 * are always set, and the ones actually linearized are listed apart.
 */
class LinearizedSet {
  readonly words: Uint32Array;
  private readonly keys: Uint32Array;
  fullBelow = 0;
  end = 0;
  hash = 0;
  private readonly optionalUsed: Int32Array;
  optionalCount = 0;

  constructor(count: number, isOptional: Uint8Array) {
    this.words = new Uint32Array((count + 31) >>> 5);
    this.keys = new Uint32Array(count);
    this.optionalUsed = new Int32Array(count);
    for (let op = 0; op < count; op++) {
      this.keys[op] = mix32(op + 1);
      if (isOptional[op] === 1) this.words[op >>> 5] = (this.words[op >>> 5] | (1 << (op & 31))) >>> 0;
    }
    this.settle();
  }

  private settle(): void {
    while (this.fullBelow < this.words.length && this.words[this.fullBelow] === allOnes) this.fullBelow++;
    if (this.end < this.fullBelow) this.end = this.fullBelow;
    while (this.end > this.fullBelow && this.words[this.end - 1] === 0) this.end--;
  }

  add(op: number, optional: boolean): void {
    this.hash = (this.hash ^ this.keys[op]) >>> 0;
    if (optional) {
      this.optionalUsed[this.optionalCount++] = op;
      return;
    }
    const w = op >>> 5;
    this.words[w] = (this.words[w] | (1 << (op & 31))) >>> 0;
    if (w >= this.end) this.end = w + 1;
    this.settle();
  }

  /** Undoes the latest `add` of an optional operation, or removes a required one. */
  remove(op: number, optional: boolean): void {
    this.hash = (this.hash ^ this.keys[op]) >>> 0;
    if (optional) {
      if (this.optionalUsed[this.optionalCount - 1] !== op) throw new Error('search: optional operations must be removed in reverse order');
      this.optionalCount--;
      return;
    }
    const w = op >>> 5;
    this.words[w] = (this.words[w] & ~(1 << (op & 31))) >>> 0;
    if (w < this.fullBelow) this.fullBelow = w;
    while (this.end > this.fullBelow && this.words[this.end - 1] === 0) this.end--;
  }

  snapshot(state: number): CacheEntry {
    return { fullBelow: this.fullBelow, words: this.words.slice(this.fullBelow, this.end), optional: this.sortedOptional(), state };
  }

  private sortedOptional(): Int32Array {
    return this.optionalUsed.slice(0, this.optionalCount).sort();
  }

  equals(entry: CacheEntry): boolean {
    if (entry.fullBelow !== this.fullBelow || entry.words.length !== this.end - this.fullBelow) return false;
    if (entry.optional.length !== this.optionalCount) return false;
    for (let i = 0; i < entry.words.length; i++) if (entry.words[i] !== this.words[this.fullBelow + i]) return false;
    if (this.optionalCount === 0) return true;
    const mine = this.sortedOptional();
    for (let i = 0; i < mine.length; i++) if (entry.optional[i] !== mine[i]) return false;
    return true;
  }
}

function sortedEntries(problem: SearchProblem, isOptional: Uint8Array): Int32Array {
  const n = problem.count;
  // Node k < n is the call of operation k; node n + k is its return (optional operations have none).
  const nodes: number[] = [];
  for (let k = 0; k < n; k++) {
    nodes.push(k);
    if (isOptional[k] === 0) nodes.push(n + k);
  }
  const timeOf = (node: number): number => (node < n ? problem.invokeMs[node] : problem.completeMs[node - n]);
  nodes.sort((a, b) => {
    const ta = timeOf(a);
    const tb = timeOf(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    const kindA = a < n ? 0 : 1;
    const kindB = b < n ? 0 : 1;
    if (kindA !== kindB) return kindA - kindB;
    return a - b;
  });
  return Int32Array.from(nodes);
}

function checkProblem(problem: SearchProblem, limits: SearchLimits): void {
  const n = problem.count;
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`search: count ${n} must be a non-negative integer`);
  if (problem.invokeMs.length < n || problem.completeMs.length < n) throw new Error('search: fewer times than operations');
  for (let op = 0; op < n; op++) {
    const invoke = problem.invokeMs[op];
    const complete = problem.completeMs[op];
    if (!Number.isFinite(invoke)) throw new Error(`search: operation ${op} has invocation time ${invoke}`);
    if (!(complete >= invoke)) throw new Error(`search: operation ${op} completes at ${complete}, before its invocation at ${invoke}`);
    if (op > 0 && invoke < problem.invokeMs[op - 1]) throw new Error('search: operations must be numbered in invocation order');
  }
  if (problem.classOf !== undefined) {
    for (let op = 0; op < n; op++) {
      if (problem.classOf[op] >= 0 && problem.completeMs[op] !== Infinity) {
        throw new Error(`search: operation ${op} is in a class of interchangeable operations but returns`);
      }
    }
  }
  if (problem.initialState === stateRejected) throw new Error('search: the initial state must not be stateRejected');
  if (!(limits.stepsMax > 0) || !(limits.cacheBytesMax > 0)) throw new Error('search: limits must be positive');
}

/** Decides whether the operations of `problem` can be linearized. */
export function searchLinearization(problem: SearchProblem, limits: SearchLimits = defaultSearchLimits): SearchResult {
  checkProblem(problem, limits);
  const n = problem.count;
  if (n === 0) return { outcome: 'linearizable', steps: 0, order: [], longest: [] };

  const isOptional = new Uint8Array(n);
  for (let op = 0; op < n; op++) isOptional[op] = problem.completeMs[op] === Infinity ? 1 : 0;

  // Classes of interchangeable operations: only the earliest-invoked unused member may be linearized.
  const classOf = problem.classOf;
  const classUsed = new Map<number, number>();
  const classMembers = new Map<number, number[]>();
  if (classOf !== undefined) {
    for (let op = 0; op < n; op++) {
      const c = classOf[op];
      if (c < 0) continue;
      const members = classMembers.get(c);
      if (members === undefined) classMembers.set(c, [op]);
      else members.push(op);
      classUsed.set(c, 0);
    }
  }
  const eligible = (op: number): boolean => {
    if (classOf === undefined || classOf[op] < 0) return true;
    const c = classOf[op];
    return classMembers.get(c)![classUsed.get(c)!] === op;
  };
  const useClass = (op: number, delta: number): void => {
    if (classOf !== undefined && classOf[op] >= 0) classUsed.set(classOf[op], classUsed.get(classOf[op])! + delta);
  };

  // Doubly linked list over nodes 0..2n-1 with a head sentinel at 2n; -1 ends it.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  const sorted = sortedEntries(problem, isOptional);
  let last = head;
  for (let i = 0; i < sorted.length; i++) {
    const node = sorted[i];
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = -1;
  prev[head] = -1;
  let returnsLeft = sorted.length - n;

  // Remove a call and its return from the list; their own links stay, so unlift can restore them.
  const lift = (call: number): void => {
    next[prev[call]] = next[call];
    if (next[call] !== -1) prev[next[call]] = prev[call];
    if (isOptional[call] === 1) return;
    const ret = call + n;
    next[prev[ret]] = next[ret];
    if (next[ret] !== -1) prev[next[ret]] = prev[ret];
    returnsLeft--;
  };
  const unlift = (call: number): void => {
    if (isOptional[call] === 0) {
      const ret = call + n;
      next[prev[ret]] = ret;
      if (next[ret] !== -1) prev[next[ret]] = ret;
      returnsLeft++;
    }
    next[prev[call]] = call;
    if (next[call] !== -1) prev[next[call]] = call;
  };

  const linearized = new LinearizedSet(n, isOptional);
  const cache = new Map<number, CacheEntry[]>();
  let cacheBytes = 0;
  const cacheKey = (hash: number, state: number): number => (hash ^ mix32(state ^ 0x5bd1e995)) >>> 0;
  const cached = (bucket: CacheEntry[] | undefined, state: number): boolean => {
    if (bucket === undefined) return false;
    for (const entry of bucket) if (entry.state === state && linearized.equals(entry)) return true;
    return false;
  };

  const stackOp = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let state = problem.initialState;
  let longest: number[] = [];
  let longestDepth = 0;
  let longestPending = false; // a new deepest point was reached and not yet recorded
  let stuckOp = -1;
  let steps = 0;
  let entry = next[head];
  // Children of a configuration are tried required operations first, then
  // optional ones: most histories never need an unknown operation to happen.
  let optionalPass = false;

  while (returnsLeft > 0) {
    steps++;
    if (steps > limits.stepsMax) {
      return { outcome: 'unknown', steps: steps - 1, longest, reason: `gave up after ${limits.stepsMax} search steps (stepsMax)` };
    }
    if (entry === -1) throw new Error('search: ran off the end of the list with returns left');
    if (entry < n) {
      const op = entry;
      const optional = isOptional[op] === 1;
      if (optional !== optionalPass) {
        entry = next[entry];
        continue;
      }
      const nextState = eligible(op) ? problem.step(state, op) : stateRejected;
      // An optional operation that changes nothing is the same as one that never happened.
      if (nextState !== stateRejected && !(optional && nextState === state)) {
        linearized.add(op, optional);
        const key = cacheKey(linearized.hash, nextState);
        const bucket = cache.get(key);
        if (!cached(bucket, nextState)) {
          const record = linearized.snapshot(nextState);
          if (bucket === undefined) cache.set(key, [record]);
          else bucket.push(record);
          cacheBytes += (record.words.length + record.optional.length) * 4 + cacheEntryOverheadBytes;
          if (cacheBytes > limits.cacheBytesMax) {
            return { outcome: 'unknown', steps, longest, reason: `gave up with the memo cache over ${limits.cacheBytesMax} bytes (cacheBytesMax)` };
          }
          stackOp[depth] = op;
          stackState[depth] = state;
          depth++;
          state = nextState;
          lift(op);
          useClass(op, 1);
          if (depth > longestDepth) {
            longestDepth = depth;
            longestPending = true;
          }
          entry = next[head];
          optionalPass = false;
          continue;
        }
        linearized.remove(op, optional);
      }
      entry = next[entry];
      continue;
    }
    // A return entry: its operation should have been linearized by now.
    if (!optionalPass) {
      optionalPass = true;
      entry = next[head];
      continue;
    }
    if (longestPending && depth === longestDepth) {
      longest = Array.from(stackOp.subarray(0, depth));
      stuckOp = entry - n;
      longestPending = false;
    }
    if (depth === 0) {
      if (stuckOp === -1) stuckOp = entry - n;
      return { outcome: 'not-linearizable', steps, longest, stuckOp };
    }
    depth--;
    const op = stackOp[depth];
    state = stackState[depth];
    linearized.remove(op, isOptional[op] === 1);
    useClass(op, -1);
    unlift(op);
    entry = next[op];
    optionalPass = isOptional[op] === 1;
  }
  const order = Array.from(stackOp.subarray(0, depth));
  const required = isOptional.reduce((sum, optional) => sum + (optional === 1 ? 0 : 1), 0);
  const requiredInOrder = order.reduce((sum, op) => sum + (isOptional[op] === 1 ? 0 : 1), 0);
  if (requiredInOrder !== required) throw new Error(`search: finished with ${requiredInOrder} of ${required} required operations linearized`);
  return { outcome: 'linearizable', steps, order, longest: order };
}
