/**
 * The Wing–Gong linearizability search with Lowe's memoization, shaped as
 * Porcupine's `checkSingle`:
 *
 * - every operation becomes a call entry and a return entry, sorted by time
 *   (calls before returns at equal times, so touching intervals count as
 *   concurrent), in a doubly linked list;
 * - a configuration is (set of linearized operations, model state); the
 *   operations callable in it are those whose call entry precedes the first
 *   remaining return entry (the deadline): linearizing any other would leave
 *   an operation whose response time has passed unlinearized;
 * - depth first, each configuration's children are tried in turn; when none
 *   leads to a full linearization the search backtracks, and with nothing to
 *   backtrack to the history is not linearizable;
 * - Lowe's cache remembers every configuration reached, so none is explored
 *   twice.
 *
 * Beyond Porcupine, the children are pruned (each reduction is sound and
 * complete; the argument is in docs/linearizability.md and at
 * `searchLinearization`): an operation that leaves the state as it is is
 * forced (no alternatives tried); equivalent operations are tried once; and
 * operations of unknown outcome (optional: no return entry) are tried only when
 * they enable something the current state does not, each class of
 * interchangeable ones in invocation order, and are kept out of the list so
 * hundreds of them pending cost nothing per step.
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
   * Classes of equivalent operations (the same transition in every state), or
   * -1. The search uses the optional members of a class in invocation order
   * only (whatever a later member could do, the earliest unused one can too),
   * and of the callable required members only the one that returns first.
   */
  readonly classOf?: ArrayLike<number>;
  /**
   * 1 for an operation that never changes the state when the model accepts it
   * (a read, a cas that failed): such an operation, callable and accepted, is
   * taken at once with no alternatives tried. Not a write of the current
   * value: later, in another state, that write would change it.
   */
  readonly observesOnly?: ArrayLike<number>;
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

/** What a search used of its limits. */
export interface SearchBudget {
  steps: number;
  stepsMax: number;
  cacheBytes: number;
  cacheBytesMax: number;
}

export interface SearchResult {
  outcome: SearchOutcome;
  steps: number;
  /** The limits and how much of them the search used. */
  budget?: SearchBudget;
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
  /** The required operations linearized, in canonical form (see `LinearizedSet`). */
  fullBelow: number;
  words: Uint32Array;
  /** The optional operations linearized, one bit each in their own numbering. */
  optionalWords: Uint32Array;
  state: number;
}

const allOnes = 0xffffffff;

/**
 * The set of linearized operations, with its Zobrist hash and a short canonical
 * form, so a cache entry costs a handful of words however long the history is
 * (copying the whole bitset for every entry would cost memory quadratic in the
 * history's length).
 *
 * Required operations are numbered in invocation order, so the set of them the
 * search reaches is a full prefix plus a few concurrent operations: the bit
 * words below `fullBelow` are all ones and those from `end` on are all zeros.
 * Optional operations (which never return) would leave permanent holes in that
 * prefix, so their bits are always set there, and the ones actually linearized
 * are kept in a bitset of their own, as long as there are optional operations
 * (a few words: they are rare).
 */
class LinearizedSet {
  readonly words: Uint32Array;
  readonly optionalWords: Uint32Array;
  private readonly keys: Uint32Array;
  /** An optional operation's bit in `optionalWords`, or -1. */
  private readonly optionalBit: Int32Array;
  fullBelow = 0;
  end = 0;
  hash = 0;

  constructor(count: number, isOptional: Uint8Array) {
    this.words = new Uint32Array((count + 31) >>> 5);
    this.keys = new Uint32Array(count);
    this.optionalBit = new Int32Array(count).fill(-1);
    let optionalCount = 0;
    for (let op = 0; op < count; op++) {
      this.keys[op] = mix32(op + 1);
      if (isOptional[op] === 1) {
        this.words[op >>> 5] = (this.words[op >>> 5] | (1 << (op & 31))) >>> 0;
        this.optionalBit[op] = optionalCount++;
      }
    }
    this.optionalWords = new Uint32Array((optionalCount + 31) >>> 5);
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
      const bit = this.optionalBit[op];
      this.optionalWords[bit >>> 5] = (this.optionalWords[bit >>> 5] | (1 << (bit & 31))) >>> 0;
      return;
    }
    const w = op >>> 5;
    this.words[w] = (this.words[w] | (1 << (op & 31))) >>> 0;
    if (w >= this.end) this.end = w + 1;
    this.settle();
  }

  remove(op: number, optional: boolean): void {
    this.hash = (this.hash ^ this.keys[op]) >>> 0;
    if (optional) {
      const bit = this.optionalBit[op];
      this.optionalWords[bit >>> 5] = (this.optionalWords[bit >>> 5] & ~(1 << (bit & 31))) >>> 0;
      return;
    }
    const w = op >>> 5;
    this.words[w] = (this.words[w] & ~(1 << (op & 31))) >>> 0;
    if (w < this.fullBelow) this.fullBelow = w;
    while (this.end > this.fullBelow && this.words[this.end - 1] === 0) this.end--;
  }

  snapshot(state: number): CacheEntry {
    return { fullBelow: this.fullBelow, words: this.words.slice(this.fullBelow, this.end), optionalWords: this.optionalWords.slice(), state };
  }

  equals(entry: CacheEntry): boolean {
    if (entry.fullBelow !== this.fullBelow || entry.words.length !== this.end - this.fullBelow) return false;
    for (let i = 0; i < entry.words.length; i++) if (entry.words[i] !== this.words[this.fullBelow + i]) return false;
    for (let i = 0; i < this.optionalWords.length; i++) if (entry.optionalWords[i] !== this.optionalWords[i]) return false;
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
  if (problem.initialState === stateRejected) throw new Error('search: the initial state must not be stateRejected');
  if (!(limits.stepsMax > 0) || !(limits.cacheBytesMax > 0)) throw new Error('search: limits must be positive');
}

/**
 * The optional operations, grouped in classes of interchangeable ones (an
 * operation with no class is a class of its own), members in invocation order.
 * Only a class's earliest unused member can be linearized, so a class is a
 * counter, undone in reverse on backtracking.
 */
class OptionalClasses {
  /** Class ids in order of their first member's invocation. */
  readonly order: number[] = [];
  readonly members: number[][] = [];
  readonly firstInvokeMs: number[] = [];
  readonly used: Int32Array;
  readonly classOfOp: Int32Array;

  constructor(problem: SearchProblem, isOptional: Uint8Array) {
    const n = problem.count;
    this.classOfOp = new Int32Array(n).fill(-1);
    const byProblemClass = new Map<number, number>();
    for (let op = 0; op < n; op++) {
      if (isOptional[op] === 0) continue;
      const given = problem.classOf?.[op] ?? -1;
      let id = given >= 0 ? byProblemClass.get(given) : undefined;
      if (id === undefined) {
        id = this.members.length;
        this.members.push([]);
        this.firstInvokeMs.push(problem.invokeMs[op]);
        this.order.push(id);
        if (given >= 0) byProblemClass.set(given, id);
      }
      this.members[id].push(op);
      this.classOfOp[op] = id;
    }
    // Operations are numbered in invocation order, so classes were created in the order of their first member.
    this.used = new Int32Array(this.members.length);
  }

  /** The class's next usable member if it was invoked by `frontierMs`, else -1. */
  head(id: number, frontierMs: number, invokeMs: ArrayLike<number>): number {
    const members = this.members[id];
    const used = this.used[id];
    if (used >= members.length) return -1;
    const op = members[used];
    return invokeMs[op] <= frontierMs ? op : -1;
  }
}

/**
 * Decides whether the operations of `problem` can be linearized.
 *
 * A depth-first search over configurations (linearized set, state). At each
 * configuration the children are computed once (see docs/linearizability.md
 * for why each reduction keeps the search complete):
 *
 * - callable operations are the required ones whose call comes before the
 *   first remaining return (the earliest deadline): any other one would
 *   leave that return behind, a "starved" configuration;
 * - forced: a callable required operation that only observes (a read, a cas
 *   that failed; `observesOnly`) and that the model accepts now is taken
 *   alone: moved to the front of any linearization it still sees the same
 *   state, and every other operation sees the states it saw;
 * - equivalent required operations (same `classOf`, so the same transition)
 *   are tried once, the one with the earliest return;
 * - the operation whose return is the deadline is tried first;
 * - optional operations are tried only after the required ones, only when they
 *   change the state, and only when the new state enables a callable operation
 *   the current state rejects: an optional operation that enables nothing can
 *   be moved later in any linearization, up to where it enables something or
 *   to the end, where it can be dropped.
 */
export function searchLinearization(problem: SearchProblem, limits: SearchLimits = defaultSearchLimits): SearchResult {
  checkProblem(problem, limits);
  const n = problem.count;
  const budget = (steps: number, cacheBytes: number): SearchBudget => ({ steps, stepsMax: limits.stepsMax, cacheBytes, cacheBytesMax: limits.cacheBytesMax });
  if (n === 0) return { outcome: 'linearizable', steps: 0, order: [], longest: [], budget: budget(0, 0) };

  const isOptional = new Uint8Array(n);
  for (let op = 0; op < n; op++) isOptional[op] = problem.completeMs[op] === Infinity ? 1 : 0;
  const invokeMs = problem.invokeMs;
  const completeMs = problem.completeMs;
  const classOf = problem.classOf;
  const observesOnly = problem.observesOnly;
  const optional = new OptionalClasses(problem, isOptional);

  // Doubly linked list of the required operations' calls (node op) and returns
  // (node n + op) in time order, head sentinel at 2n; -1 ends it.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  const sorted = sortedEntries(problem, isOptional);
  let last = head;
  for (let i = 0; i < sorted.length; i++) {
    const node = sorted[i];
    if (node < n && isOptional[node] === 1) continue;
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = -1;
  prev[head] = -1;
  let returnsLeft = 0;
  for (let op = 0; op < n; op++) returnsLeft += 1 - isOptional[op];

  // Lifting removes a call and its return; their own links stay, so unlifting in reverse restores them.
  const lift = (call: number): void => {
    const ret = call + n;
    next[prev[call]] = next[call];
    if (next[call] !== -1) prev[next[call]] = prev[call];
    next[prev[ret]] = next[ret];
    if (next[ret] !== -1) prev[next[ret]] = prev[ret];
    returnsLeft--;
  };
  const unlift = (call: number): void => {
    const ret = call + n;
    next[prev[ret]] = ret;
    if (next[ret] !== -1) prev[next[ret]] = ret;
    next[prev[call]] = call;
    if (next[call] !== -1) prev[next[call]] = call;
    returnsLeft++;
  };

  const linearized = new LinearizedSet(n, isOptional);
  const cache = new Map<number, CacheEntry[]>();
  let cacheBytes = 0;
  const cacheKey = (hash: number, state: number): number => (hash ^ mix32(state ^ 0x5bd1e995)) >>> 0;
  /** Records the configuration just reached; false if it was seen before. */
  const remember = (state: number): boolean => {
    const key = cacheKey(linearized.hash, state);
    const bucket = cache.get(key);
    if (bucket !== undefined) {
      for (const entry of bucket) if (entry.state === state && linearized.equals(entry)) return false;
    }
    const record = linearized.snapshot(state);
    if (bucket === undefined) cache.set(key, [record]);
    else bucket.push(record);
    cacheBytes += (record.words.length + record.optionalWords.length) * 4 + cacheEntryOverheadBytes;
    return true;
  };

  // One frame per depth: the state there, its candidate children (a slice of
  // `pool`), which one is next, and the operation whose return is the deadline.
  const frameState = new Int32Array(n + 1);
  const frameOp = new Int32Array(n); // the operation linearized from frame d to frame d + 1
  const candStart = new Int32Array(n + 1);
  const candEnd = new Int32Array(n + 1);
  const candNext = new Int32Array(n + 1);
  const framePhase = new Uint8Array(n + 1); // 0: required children; 1: optional ones added
  const frameDeadlineOp = new Int32Array(n + 1);
  const frameForced = new Uint8Array(n + 1);
  let pool = new Int32Array(Math.max(64, 4 * n));
  let poolTop = 0;
  const poolPush = (op: number): void => {
    if (poolTop === pool.length) {
      const grown = new Int32Array(pool.length * 2);
      grown.set(pool);
      pool = grown;
    }
    pool[poolTop++] = op;
  };
  const callable: number[] = [];

  /** Fills `callable` with the required operations callable now; returns the deadline operation. */
  const collectCallable = (): number => {
    callable.length = 0;
    let node = next[head];
    while (node !== -1 && node < n) {
      callable.push(node);
      node = next[node];
    }
    if (node === -1) throw new Error('search: ran off the end of the list with returns left');
    return node - n;
  };

  /** Computes frame d's required children (the state is already in frameState[d]). */
  const openFrame = (d: number): void => {
    const state = frameState[d];
    const deadlineOp = collectCallable();
    frameDeadlineOp[d] = deadlineOp;
    framePhase[d] = 0;
    frameForced[d] = 0;
    candStart[d] = poolTop;
    candNext[d] = poolTop;
    for (const op of callable) {
      if (observesOnly === undefined || observesOnly[op] !== 1) continue;
      if (problem.step(state, op) === state) {
        // Forced: doing this now dominates every other child.
        poolTop = candStart[d];
        poolPush(op);
        frameForced[d] = 1;
        candEnd[d] = poolTop;
        return;
      }
    }
    if (problem.step(state, deadlineOp) !== stateRejected) poolPush(deadlineOp);
    for (const op of callable) {
      if (op === deadlineOp || problem.step(state, op) === stateRejected) continue;
      const c = classOf === undefined ? -1 : classOf[op];
      if (c >= 0) {
        // Equivalent operations: only the one with the earliest return (and, at a tie, the earliest call).
        let best = true;
        for (const other of callable) {
          if (other === op || classOf![other] !== c) continue;
          if (completeMs[other] < completeMs[op] || (completeMs[other] === completeMs[op] && other < op)) {
            best = false;
            break;
          }
        }
        if (!best) continue;
        if (c === classOf![deadlineOp] && problem.step(state, deadlineOp) !== stateRejected) continue;
      }
      poolPush(op);
    }
    candEnd[d] = poolTop;
  };

  /**
   * Whether state `after`, reached from `state` by an optional operation,
   * leads through optional operations alone to a state in which a callable
   * required operation that `state` rejects is accepted. In a linearization
   * pushed into the normal form where every optional operation sits as late as
   * it can, each run of optional operations ends just before such an operation
   * (or at the end, where it can be dropped), so any other run can be skipped.
   */
  const rejected: number[] = [];
  const leadsToEnabling = (state: number, after: number, frontierMs: number): boolean => {
    // A state and the state before it: an optional operation in a run whose
    // result does not depend on the operation before it makes that one
    // droppable, so only operations whose result differs are followed.
    const seen = new Set<number>();
    const queueState = [after];
    const queueBefore = [state];
    for (let i = 0; i < queueState.length; i++) {
      const t = queueState[i];
      const before = queueBefore[i];
      for (const op of rejected) if (problem.step(t, op) !== stateRejected) return true;
      for (const id of optional.order) {
        if (optional.firstInvokeMs[id] > frontierMs) break;
        const head = optional.head(id, frontierMs, invokeMs);
        if (head === -1) continue;
        const then = problem.step(t, head);
        if (then === stateRejected || then === t || then === problem.step(before, head)) continue;
        const pair = then * 4_194_304 + t;
        if (seen.has(pair)) continue;
        seen.add(pair);
        queueState.push(then);
        queueBefore.push(t);
      }
    }
    return false;
  };

  /** Appends frame d's optional children. */
  const addOptionalChildren = (d: number): void => {
    framePhase[d] = 1;
    if (frameForced[d] === 1) return;
    const state = frameState[d];
    const frontierMs = completeMs[frameDeadlineOp[d]];
    collectCallable();
    rejected.length = 0;
    for (const op of callable) if (problem.step(state, op) === stateRejected) rejected.push(op);
    if (rejected.length === 0) return;
    for (const id of optional.order) {
      if (optional.firstInvokeMs[id] > frontierMs) break;
      const op = optional.head(id, frontierMs, invokeMs);
      if (op === -1) continue;
      const after = problem.step(state, op);
      // An optional operation that changes nothing is the same as one that never happened.
      if (after === stateRejected || after === state) continue;
      if (leadsToEnabling(state, after, frontierMs)) poolPush(op);
    }
    candEnd[d] = poolTop;
  };

  let depth = 0;
  let steps = 0;
  let longest: number[] = [];
  let longestDepth = -1;
  let stuckOp = -1;
  frameState[0] = problem.initialState;
  if (returnsLeft > 0) openFrame(0);

  while (returnsLeft > 0) {
    steps++;
    if (steps > limits.stepsMax) {
      return {
        outcome: 'unknown',
        steps: steps - 1,
        longest,
        reason: `gave up after ${limits.stepsMax} search steps (stepsMax), the longest partial linearization ${Math.max(longestDepth, depth)} of ${n} operations`,
        budget: budget(steps - 1, cacheBytes),
      };
    }
    const d = depth;
    if (candNext[d] < candEnd[d]) {
      const op = pool[candNext[d]++];
      const state = frameState[d];
      const after = problem.step(state, op);
      if (after === stateRejected) throw new Error(`search: candidate ${op} is rejected in state ${state}`);
      const isOpt = isOptional[op] === 1;
      linearized.add(op, isOpt);
      if (!remember(after)) {
        linearized.remove(op, isOpt);
        continue;
      }
      if (cacheBytes > limits.cacheBytesMax) {
        return {
          outcome: 'unknown',
          steps,
          longest,
          reason: `gave up with the memo cache over ${limits.cacheBytesMax} bytes (cacheBytesMax) after ${steps} search steps`,
          budget: budget(steps, cacheBytes),
        };
      }
      if (isOpt) optional.used[optional.classOfOp[op]]++;
      else lift(op);
      frameOp[d] = op;
      depth = d + 1;
      frameState[depth] = after;
      if (returnsLeft > 0) openFrame(depth);
      continue;
    }
    if (framePhase[d] === 0) {
      addOptionalChildren(d);
      continue;
    }
    // Every child failed: the deadline operation cannot be linearized after this prefix.
    if (d > longestDepth) {
      longestDepth = d;
      longest = Array.from(frameOp.subarray(0, d));
      stuckOp = frameDeadlineOp[d];
    }
    if (d === 0) return { outcome: 'not-linearizable', steps, longest, stuckOp, budget: budget(steps, cacheBytes) };
    poolTop = candStart[d];
    depth = d - 1;
    const op = frameOp[depth];
    const isOpt = isOptional[op] === 1;
    linearized.remove(op, isOpt);
    if (isOpt) optional.used[optional.classOfOp[op]]--;
    else unlift(op);
  }
  const order = Array.from(frameOp.subarray(0, depth));
  const required = n - isOptional.reduce((sum, x) => sum + x, 0);
  const requiredInOrder = order.reduce((sum, op) => sum + (isOptional[op] === 1 ? 0 : 1), 0);
  if (requiredInOrder !== required) throw new Error(`search: finished with ${requiredInOrder} of ${required} required operations linearized`);
  return { outcome: 'linearizable', steps, order, longest: order, budget: budget(steps, cacheBytes) };
}
