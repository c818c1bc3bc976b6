/**
 * Safety invariants of Raft, checked incrementally after every simulation step.
 * Each check throws a `SafetyViolation` naming the broken property.
 */
import type { Entry, NodeId } from '../types.js';

export type SafetyProperty =
  | 'electionSafety'
  | 'logMatching'
  | 'leaderCompleteness'
  | 'stateMachineSafety'
  | 'committedEntryLost'
  | 'linearizableRead'
  | 'configChangeUncommitted'
  | 'nodeAssertion';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
  constructor(
    readonly property: SafetyProperty,
    message: string,
  ) {
    super(`${property}: ${message}`);
  }
}

const DECODER = new TextDecoder();

/** Identity of an entry's content (term and index are compared separately). */
export function entryKey(e: Entry): string {
  return `${e.type}:${DECODER.decode(e.data)}`;
}

/** The view of a node the checker needs. */
export interface LogView {
  logTerm(index: number): number | undefined;
}

export class SafetyChecker {
  /** Election safety: at most one leader per term. */
  private leaderOfTerm = new Map<number, NodeId>();
  /** Log matching: (index, term) identifies content and the term before it. */
  private entryAt = new Map<string, { key: string; prevTerm: number | undefined }>();
  /** Every index ever committed anywhere, with its term. */
  private committedTerm: number[] = [];
  maxCommitted = 0;
  /** State machine safety: what was applied at each index, and the state digest after it. */
  private appliedKeyAt: string[] = [];
  private digestAt: number[] = [];

  observeLeader(id: NodeId, term: number, log: LogView, firstIndex: number, lastIndex: number): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) throw new SafetyViolation('electionSafety', `nodes ${prev} and ${id} both leader in term ${term}`);
    if (prev === id) return;
    this.leaderOfTerm.set(term, id);
    // Leader completeness: a new leader holds every entry committed so far.
    if (lastIndex < this.maxCommitted) {
      throw new SafetyViolation('leaderCompleteness', `leader ${id} of term ${term} ends at ${lastIndex} but ${this.maxCommitted} is committed`);
    }
    for (let i = Math.max(1, firstIndex); i <= this.maxCommitted; i++) {
      const t = log.logTerm(i);
      if (t !== this.committedTerm[i]) {
        throw new SafetyViolation('leaderCompleteness', `leader ${id} of term ${term} has term ${t} at ${i}, committed term ${this.committedTerm[i]}`);
      }
    }
  }

  /** A node persisted `entries`; `log` already contains them. */
  observeAppended(id: NodeId, entries: Entry[], log: LogView): void {
    for (const e of entries) {
      const k = `${e.index}:${e.term}`;
      const prevTerm = log.logTerm(e.index - 1);
      const key = entryKey(e);
      const seen = this.entryAt.get(k);
      if (!seen) {
        this.entryAt.set(k, { key, prevTerm });
        continue;
      }
      if (seen.key !== key) throw new SafetyViolation('logMatching', `node ${id} has different content at index ${e.index} term ${e.term}`);
      if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        throw new SafetyViolation('logMatching', `node ${id}: entry ${e.index}/${e.term} follows term ${prevTerm}, elsewhere term ${seen.prevTerm}`);
      }
    }
  }

  /** A node's commit index moved from `from` to `to`: those entries are committed for ever. */
  observeCommit(id: NodeId, from: number, to: number, log: LogView): void {
    for (let i = from + 1; i <= to; i++) {
      const t = log.logTerm(i);
      if (t === undefined) continue; // compacted: covered by a snapshot, checked when applied
      const known = this.committedTerm[i];
      if (known === undefined) this.committedTerm[i] = t;
      else if (known !== t) throw new SafetyViolation('committedEntryLost', `node ${id} committed term ${t} at ${i}, but term ${known} was committed there`);
    }
    // The contiguous prefix whose terms are known (a snapshot install skips over compacted terms).
    while (this.maxCommitted < to && this.committedTerm[this.maxCommitted + 1] !== undefined) this.maxCommitted++;
  }

  /** A node applied `e` at `e.index`, its state digest is now `digest`. */
  observeApplied(id: NodeId, e: Entry, digest: number): void {
    const key = `${e.term}/${entryKey(e)}`;
    const known = this.appliedKeyAt[e.index];
    if (known === undefined) {
      this.appliedKeyAt[e.index] = key;
      this.digestAt[e.index] = digest;
      return;
    }
    if (known !== key) throw new SafetyViolation('stateMachineSafety', `node ${id} applied ${key} at ${e.index}, another node applied ${known}`);
    if (this.digestAt[e.index] !== digest) throw new SafetyViolation('stateMachineSafety', `node ${id} state differs after applying index ${e.index}`);
  }

  /** A node restored its state machine from a snapshot at `index`. */
  observeSnapshotApplied(id: NodeId, index: number, digest: number): void {
    const known = this.digestAt[index];
    if (known === undefined) this.digestAt[index] = digest;
    else if (known !== digest) throw new SafetyViolation('stateMachineSafety', `node ${id} restored a snapshot at ${index} whose state differs from what was applied there`);
  }

  /**
   * A leader created a configuration entry at `index` (term `term`) whose log holds the
   * previous configuration entry at `prevIndex` (0: none): that one must be committed,
   * or two configurations could each gather a quorum (Raft thesis §4.1; and a joint
   * configuration is left only once entering it is committed).
   */
  observeConfChangeCreated(id: NodeId, index: number, term: number, prevIndex: number): void {
    if (prevIndex > this.maxCommitted) {
      throw new SafetyViolation('configChangeUncommitted', `leader ${id} of term ${term} created a configuration at ${index} while the one at ${prevIndex} is not committed (committed: ${this.maxCommitted})`);
    }
  }

  appliedKey(index: number): string | undefined {
    return this.appliedKeyAt[index];
  }
}

/** FNV-1a over the entry's identity, chained: the digest of an applied prefix. */
export function chainDigest(digest: number, key: string, index: number): number {
  let h = (digest ^ index) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
