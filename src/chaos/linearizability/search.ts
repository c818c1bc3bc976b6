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
 * The model is reduced to integers: a state is an int (never `stateRejected`),
 * and `step(state, op)` returns the next state or `stateRejected`. That keeps
 * the cache key cheap: an incremental Zobrist hash of the linearized set,
 * mixed with the state, with exact comparison of the bit words on a hit.
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
  /** `Infinity` for an operation whose outcome is unknown. */
  readonly completeMs: ArrayLike<number>;
  readonly initialState: number;
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
 * Default memo cache size. Why: each entry copies the linearized bitset
 * (count/8 bytes); the cache dominates the checker's memory, and a worker
 * thread should stay well under Node's default heap.
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
  /** When linearizable: one linearization, as operation indices in order. */
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
  words: Uint32Array;
  state: number;
}

function sortedEntries(problem: SearchProblem): Int32Array {
  const n = problem.count;
  // Node k < n is the call of operation k; node n + k is its return.
  const nodes = Array.from({ length: 2 * n }, (_, k) => k);
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
  }
  if (problem.initialState === stateRejected) throw new Error('search: the initial state must not be stateRejected');
  if (!(limits.stepsMax > 0) || !(limits.cacheBytesMax > 0)) throw new Error('search: limits must be positive');
}

/** Decides whether the operations of `problem` can be linearized. */
export function searchLinearization(problem: SearchProblem, limits: SearchLimits = defaultSearchLimits): SearchResult {
  checkProblem(problem, limits);
  const n = problem.count;
  if (n === 0) return { outcome: 'linearizable', steps: 0, order: [], longest: [] };

  // Doubly linked list over nodes 0..2n-1 with a head sentinel at 2n; -1 ends it.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  const sorted = sortedEntries(problem);
  let last = head;
  for (let i = 0; i < sorted.length; i++) {
    const node = sorted[i];
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = -1;
  prev[head] = -1;

  // Remove a call and its return from the list; their own links stay, so unlift can restore them.
  const lift = (call: number): void => {
    next[prev[call]] = next[call];
    prev[next[call]] = prev[call]; // next[call] is never -1: the call's return follows it
    const ret = call + n;
    next[prev[ret]] = next[ret];
    if (next[ret] !== -1) prev[next[ret]] = prev[ret];
  };
  const unlift = (call: number): void => {
    const ret = call + n;
    next[prev[ret]] = ret;
    if (next[ret] !== -1) prev[next[ret]] = ret;
    next[prev[call]] = call;
    prev[next[call]] = call;
  };

  const wordCount = (n + 31) >>> 5;
  const words = new Uint32Array(wordCount);
  const opKeys = new Uint32Array(n);
  for (let op = 0; op < n; op++) opKeys[op] = mix32(op + 1);
  let setHash = 0;

  const cache = new Map<number, CacheEntry[]>();
  const entryBytes = wordCount * 4 + cacheEntryOverheadBytes;
  let cacheBytes = 0;
  const cacheKey = (hash: number, state: number): number => (hash ^ mix32(state ^ 0x5bd1e995)) >>> 0;
  // Is (words with `op` added, state) in the cache?
  const cached = (bucket: CacheEntry[] | undefined, op: number, state: number): boolean => {
    if (bucket === undefined) return false;
    const opWord = op >>> 5;
    const opBit = (1 << (op & 31)) >>> 0;
    for (const entry of bucket) {
      if (entry.state !== state) continue;
      let same = true;
      for (let w = 0; w < wordCount; w++) {
        const mine = w === opWord ? (words[w] | opBit) >>> 0 : words[w];
        if (entry.words[w] !== mine) {
          same = false;
          break;
        }
      }
      if (same) return true;
    }
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

  while (next[head] !== -1) {
    steps++;
    if (steps > limits.stepsMax) {
      return { outcome: 'unknown', steps: steps - 1, longest, reason: `gave up after ${limits.stepsMax} search steps (stepsMax)` };
    }
    if (entry < n) {
      const op = entry;
      const nextState = problem.step(state, op);
      if (nextState !== stateRejected) {
        const hash = (setHash ^ opKeys[op]) >>> 0;
        const key = cacheKey(hash, nextState);
        const bucket = cache.get(key);
        if (!cached(bucket, op, nextState)) {
          words[op >>> 5] = (words[op >>> 5] | (1 << (op & 31))) >>> 0;
          setHash = hash;
          const record: CacheEntry = { words: words.slice(), state: nextState };
          if (bucket === undefined) cache.set(key, [record]);
          else bucket.push(record);
          cacheBytes += entryBytes;
          if (cacheBytes > limits.cacheBytesMax) {
            return { outcome: 'unknown', steps, longest, reason: `gave up with the memo cache over ${limits.cacheBytesMax} bytes (cacheBytesMax)` };
          }
          stackOp[depth] = op;
          stackState[depth] = state;
          depth++;
          state = nextState;
          lift(op);
          if (depth > longestDepth) {
            longestDepth = depth;
            longestPending = true;
          }
          entry = next[head];
          continue;
        }
      }
      entry = next[entry];
      continue;
    }
    // A return entry: its operation should have been linearized by now.
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
    words[op >>> 5] = (words[op >>> 5] & ~(1 << (op & 31))) >>> 0;
    setHash = (setHash ^ opKeys[op]) >>> 0;
    unlift(op);
    entry = next[op];
  }
  const order = Array.from(stackOp.subarray(0, depth));
  if (order.length !== n) throw new Error(`search: finished with ${order.length} of ${n} operations linearized`);
  return { outcome: 'linearizable', steps, order, longest: order };
}
