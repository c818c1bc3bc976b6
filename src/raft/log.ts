/**
 * The Raft log as the state machine sees it: a stable part (`MemoryStorage`, what
 * the caller has already persisted) and an unstable tail (`Unstable`, what the next
 * Ready hands out for persisting). `RaftLog` joins the two and tracks the commit
 * and applied indexes.
 *
 * Entry objects are shared (between the log, Ready, messages and other nodes in a
 * simulation) and are never mutated.
 */
import { invariant } from './assert.js';
import { isJointConfState, type ConfState, type Entry, type Snapshot } from './types.js';

export function emptySnapshot(confState: ConfState): Snapshot {
  return { metadata: { index: 0, term: 0, confState: cloneConfState(confState) }, data: new Uint8Array(0) };
}

export function cloneConfState(cs: ConfState): ConfState {
  const out: ConfState = { voters: [...cs.voters], learners: [...cs.learners] };
  if (isJointConfState(cs)) {
    out.votersOutgoing = [...cs.votersOutgoing!];
    out.learnersNext = [...(cs.learnersNext ?? [])];
    out.autoLeave = cs.autoLeave === true;
  }
  return out;
}

/** Bytes an entry counts for in size limits: its payload plus a fixed header estimate. */
export const ENTRY_HEADER_BYTES = 24;
export function entrySizeBytes(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.byteLength;
}

/** Take a prefix of `entries` within both limits; always at least one entry so progress is made. */
export function limitEntries(entries: Entry[], countMax: number, bytesMax: number): Entry[] {
  if (entries.length === 0) return entries;
  let bytes = entrySizeBytes(entries[0]!);
  let n = 1;
  while (n < entries.length && n < countMax) {
    bytes += entrySizeBytes(entries[n]!);
    if (bytes > bytesMax) break;
    n++;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/**
 * The persisted log in memory, shaped like etcd's MemoryStorage: `ents[0]` is a dummy
 * entry at the compaction point carrying its term, so term(firstIndex - 1) is known.
 */
export class MemoryStorage {
  private snap: Snapshot;
  private ents: Entry[];

  constructor(snapshot?: Snapshot, confState: ConfState = { voters: [], learners: [] }) {
    this.snap = snapshot ?? emptySnapshot(confState);
    this.ents = [dummy(this.snap.metadata.index, this.snap.metadata.term)];
  }

  /** Rebuild from what a crash left on disk: a snapshot and the entries after it. */
  static fromPersisted(snapshot: Snapshot | undefined, entries: Entry[], confState: ConfState): MemoryStorage {
    const s = new MemoryStorage(snapshot, confState);
    const after = entries.filter((e) => e.index > s.snap.metadata.index);
    if (after.length > 0) s.append(after);
    return s;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  /** Term at `index`, or undefined when compacted away or beyond the last index. */
  term(index: number): number | undefined {
    const offset = this.ents[0]!.index;
    if (index < offset || index > this.lastIndex()) return undefined;
    return this.ents[index - offset]!.term;
  }

  /** Entries [lo, hi). The caller guarantees firstIndex <= lo <= hi <= lastIndex + 1. */
  slice(lo: number, hi: number): Entry[] {
    const offset = this.ents[0]!.index;
    invariant(lo > offset && hi <= this.lastIndex() + 1 && lo <= hi, () => `storage slice [${lo},${hi}) outside (${offset},${this.lastIndex()}]`);
    return this.ents.slice(lo - offset, hi - offset);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Append persisted entries; a conflicting suffix is replaced, a compacted prefix ignored. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!.index;
    if (lastNew < first) return;
    if (entries[0]!.index < first) entries = entries.slice(first - entries[0]!.index);
    const offset = entries[0]!.index - this.ents[0]!.index;
    invariant(offset <= this.ents.length, () => `storage append leaves a gap: last ${this.lastIndex()}, appending at ${entries[0]!.index}`);
    // In place: the array is this storage's own (entries() hands out slices), and copying the whole log on
    // every append made appends quadratic in the entries kept between snapshots (etcd keeps 100,000).
    this.ents.length = offset;
    for (const entry of entries) this.ents.push(entry);
  }

  /** Replace everything with a snapshot received from the leader. Older snapshots are ignored. */
  applySnapshot(snapshot: Snapshot): boolean {
    if (snapshot.metadata.index <= this.snap.metadata.index) return false;
    this.snap = snapshot;
    this.ents = [dummy(snapshot.metadata.index, snapshot.metadata.term)];
    return true;
  }

  /** Record a snapshot of the application at `index` (which must be in the log). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    invariant(index > this.snap.metadata.index, () => `snapshot at ${index} is not newer than ${this.snap.metadata.index}`);
    const term = this.term(index);
    invariant(term !== undefined, () => `snapshot index ${index} is not in the log`);
    this.snap = { metadata: { index, term, confState: cloneConfState(confState) }, data };
    return this.snap;
  }

  /** Drop entries up to and including `index`. */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) return;
    invariant(index <= this.lastIndex(), () => `compact ${index} beyond last index ${this.lastIndex()}`);
    const kept = this.ents.slice(index - offset);
    kept[0] = dummy(index, kept[0]!.term);
    this.ents = kept;
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}

/** Entries and a snapshot not yet persisted by the caller. `offset` is the index of entries[0]. */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  /**
   * `entries` was handed out whole (a Ready holds it until persisted): the next append copies it once instead of
   * changing it under its holder. Until then appends push in place: copying the tail on every proposal was
   * quadratic in the proposals between two Readies (a leader's drain proposes hundreds), the largest allocation
   * of a store leader at 1,000 × 20,000 (issue #16).
   */
  private handedOut = false;

  constructor(public offset: number) {}

  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.metadata.index : undefined;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot && this.snapshot.metadata.index === index ? this.snapshot.metadata.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** The caller persisted entries up to (index, term); drop them unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    if (this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.handedOut = false;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.handedOut = false;
    this.snapshot = snapshot;
  }

  truncateAndAppend(entries: Entry[]): void {
    const after = entries[0]!.index;
    if (after === this.offset + this.entries.length) {
      if (this.handedOut) {
        this.entries = this.entries.concat(entries);
        this.handedOut = false;
      } else {
        for (const entry of entries) this.entries.push(entry);
      }
    } else if (after <= this.offset) {
      // Replaces the whole unstable tail (and, once persisted, a suffix of storage).
      this.offset = after;
      this.entries = entries.slice();
      this.handedOut = false;
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries);
      this.handedOut = false;
    }
  }

  /** The whole tail, for a Ready to hold: it never changes afterwards (later appends go to a copy). */
  handOut(): Entry[] {
    this.handedOut = true;
    return this.entries;
  }

  slice(lo: number, hi: number): Entry[] {
    invariant(lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi, () => `unstable slice [${lo},${hi}) outside [${this.offset},${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be on a quorum. Never decreases. */
  committed: number;
  /** Highest index the application has applied. applied <= committed. */
  applied: number;

  constructor(
    readonly storage: MemoryStorage,
    applied = 0,
  ) {
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = Math.max(first - 1, applied);
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term at `index`; undefined when compacted or beyond the log. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    return this.storage.term(index);
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(t !== undefined, 'the last entry always has a known term');
    return t;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The last index that is persisted (stable), used for the leader's own match. */
  lastStableIndex(): number {
    if (this.unstable.snapshot) return 0;
    if (this.unstable.entries.length > 0) return this.unstable.offset - 1;
    return this.lastIndex();
  }

  /**
   * Follower side of AppendEntries: if our log has (index, logTerm), append what is new
   * and advance commit. Returns the index of the last new entry, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    invariant(after >= this.committed, () => `append after ${after} would overwrite committed ${this.committed}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 if all match. */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (or that is compacted, which
   * is committed and so certainly shared). Used by both sides of fast backtracking.
   */
  findConflictByTerm(index: number, term: number): number {
    for (let i = Math.min(index, this.lastIndex()); i > 0; i--) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
    }
    return 0;
  }

  /** Entries from `lo` to the end within the limits; undefined when `lo` is compacted. */
  entriesFrom(lo: number, countMax: number, bytesMax: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    const last = this.lastIndex();
    if (lo > last) return [];
    const hi = Math.min(last + 1, lo + countMax);
    return limitEntries(this.slice(lo, hi), countMax, bytesMax);
  }

  /** Entries [lo, hi), joining storage and unstable. */
  slice(lo: number, hi: number): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, () => `log slice [${lo},${hi}) outside [${this.firstIndex()},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const offset = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < offset) out = this.storage.slice(lo, Math.min(hi, offset));
    if (hi > offset) {
      const tail = this.unstable.slice(Math.max(lo, offset), hi);
      out = out.length === 0 ? tail : out.concat(tail);
    }
    return out;
  }

  /** The unstable tail for a Ready: the array is the Ready's from now on and never changes (see `Unstable.handOut`). */
  unstableEntries(): Entry[] {
    return this.unstable.handOut();
  }

  hasUnstableEntries(): boolean {
    return this.unstable.entries.length > 0;
  }

  /** Committed entries the application has not applied yet, within a size bound and a count bound. */
  nextCommittedEntries(bytesMax: number, countMax = Number.MAX_SAFE_INTEGER): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    // Sliced to the count first: a backlog of thousands is not copied to hand out a few hundred.
    return limitEntries(this.slice(lo, Math.min(this.committed, lo + countMax - 1) + 1), countMax, bytesMax);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed >= Math.max(this.applied + 1, this.firstIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** The Raft paper's §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(index <= this.lastIndex(), () => `commit ${index} is beyond the last index ${this.lastIndex()} (log lost or corrupt?)`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    invariant(index <= this.committed && index >= this.applied, () => `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
