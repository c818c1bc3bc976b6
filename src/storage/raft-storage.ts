/**
 * Raft's durable storage: the WAL and the snapshot files behind one API that
 * enforces the rule that keeps Raft safe across crashes — hard state, entries
 * and snapshot are durable before any message that depends on them is sent.
 *
 * How the API enforces it: messages go *into* `persist` together with the
 * state they depend on, and come back out only on the `Durable` receipt that
 * `persist` returns after the fsync succeeded. A receipt cannot be made
 * anywhere else (its constructor checks a module-private token), so a
 * transport that accepts only `Durable` (see `Outbox`) cannot send a message
 * whose state was never persisted, and a failed fsync (which throws) releases
 * nothing. The alternative — a flag to check or a call to remember — is what
 * the rule looks like when it is forgotten.
 *
 * It also serves the read side Raft needs (like etcd's MemoryStorage): the
 * entries after the snapshot are kept in memory; the disk is read only on open.
 */
import { DiskError, type Disk } from '../actor/disk.js';
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from '../raft/types.js';
import { invariant, StorageError } from './errors.js';
import { LogShape } from './log-shape.js';
import { SnapshotStore, type SnapshotFileLayout, type SnapshotStoreOptions, type SnapshotStoreReport, type SnapshotWriter, type SnapshotWriterOptions } from './snapshot-store.js';
import { Wal, type WalOptions, type WalTruncation } from './wal.js';

const receiptToken = Symbol('Durable');

/** Proof that a unit of Raft state reached stable storage; the only way to get its messages back. */
export class Durable<M> {
  /** @internal Only `RaftStorage.persist` makes receipts. */
  constructor(
    token: symbol,
    /** The messages that may now be sent. */
    readonly messages: readonly M[],
    /** The hard state that is durable with this receipt. */
    readonly hardState: HardState,
    /** The last durable log index with this receipt. */
    readonly lastIndex: number,
  ) {
    invariant(token === receiptToken, 'a Durable receipt can only be made by RaftStorage.persist');
  }
}

/** A sender that only accepts messages released by a `Durable` receipt. */
export class Outbox<M> {
  constructor(private readonly send: (message: M) => void) {}

  release(receipt: Durable<M>): void {
    invariant(receipt instanceof Durable, 'Outbox.release needs a Durable receipt from RaftStorage.persist');
    for (const message of receipt.messages) this.send(message);
  }
}

/** One step's worth of state to make durable, and the messages that wait for it. */
export interface PersistUnit<M> {
  /** Written when it differs from the durable hard state. */
  hardState?: HardState;
  /** New entries; the first may overwrite a conflicting suffix. */
  entries?: readonly Entry[];
  /** A snapshot received from the leader: the log is reset to it. */
  snapshot?: Snapshot;
  /**
   * The same snapshot already written part by part as it arrived
   * (`beginReceivedSnapshot`): finished here instead of written whole.
   * Ignored, and aborted, when it is not `snapshot`'s file.
   */
  snapshotFile?: SnapshotWriter;
  messages: readonly M[];
  /**
   * Raft's `mustSync`. `false` is allowed only when nothing but the commit
   * index moved: the hard state record is written without an fsync (etcd does
   * the same). A crash may lose it, which is safe — the commit index is
   * re-learned from the leader — and any later fsync of the WAL makes it
   * durable. With entries, a snapshot, or a new term or vote, storage always
   * syncs, whatever this says. Default true.
   */
  sync?: boolean;
}

export interface RaftStorageOptions {
  wal?: WalOptions;
  snapshots?: SnapshotStoreOptions;
}

export interface RaftStorageReport {
  /** Set when the WAL had a torn or corrupt tail that was cut. */
  walTruncation: WalTruncation | undefined;
  walSegments: string[];
  snapshots: SnapshotStoreReport;
}

/** The error etcd's Storage gives for indexes before the snapshot. */
export class LogCompactedError extends Error {
  override readonly name = 'LogCompactedError';
  constructor(readonly index: number, readonly firstIndex: number) {
    super(`log index ${index} is compacted; the first available index is ${firstIndex}`);
  }
}

export class RaftStorage {
  private readonly log: LogShape<Entry>;
  private hardState: HardState;
  private snapshotHeld: Snapshot | undefined;
  /** The current snapshot's metadata, also when its data is only in its file. */
  private snapshotHeldMetadata: SnapshotMetadata | undefined;
  /** A stepped snapshot's index whose obsolete WAL segments `releaseStep` is still removing. */
  private releasePending: number | undefined;
  /** Whether `releaseStep` unlinks off the thread: a snapshot written in the background is released in the background too. */
  private releaseInBackground = false;
  private failure: Error | undefined;
  /** What is durable: with a WAL that writes in the background, behind what the read side describes. */
  private durable: { hardState: HardState; lastIndex: number };

  private constructor(
    private readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
    hardState: HardState,
    snapshot: Snapshot | undefined,
    entries: Entry[],
    /**
     * The files the snapshot found on open lies in, oldest first (a chain's, or one): for an application
     * that goes on with the chain (a replica's next snapshot a delta after it). Undefined without one.
     */
    readonly openedSnapshotFiles: readonly SnapshotFileLayout[] | undefined,
  ) {
    this.hardState = hardState;
    this.snapshotHeld = snapshot;
    this.snapshotHeldMetadata = snapshot?.metadata;
    this.log = new LogShape<Entry>(0);
    if (snapshot !== undefined) this.log.applySnapshot({ metadata: snapshot.metadata, retainLog: false });
    for (const entry of entries) this.log.appendEntry(entry);
    this.durable = { hardState: { ...hardState }, lastIndex: this.log.lastIndex() };
    // Background writes release in the background too: a synchronous unlink beside queued appends would race them.
    this.releaseInBackground = wal.inBackground;
  }

  /**
   * Opens the node's storage, repairing a torn or corrupt WAL tail (reported in
   * `report.walTruncation`) and skipping unusable snapshot files (reported in
   * `report.snapshots.skipped`).
   */
  static open(disk: Disk, options: RaftStorageOptions = {}): { storage: RaftStorage; report: RaftStorageReport } {
    const { store, report: snapshotReport } = SnapshotStore.open(disk, options.snapshots);
    const { wal, recovery } = Wal.open(disk, options.wal);
    let snapshot: Snapshot | undefined;
    let snapshotFiles: SnapshotFileLayout[] | undefined;
    if (recovery.snapshot !== undefined) {
      const loaded = store.loadNewest({ match: recovery.snapshot });
      snapshotReport.skipped.push(...loaded.skipped);
      if (loaded.snapshot === undefined) {
        throw new StorageError(
          'snapshot-missing',
          `the WAL records a snapshot at index ${recovery.snapshot.index} term ${recovery.snapshot.term} but no valid file ` +
            `${store.dir}/… holds it (skipped: ${loaded.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ') || 'none'}); ` +
            'this node cannot rebuild its state alone — replace its data from a peer',
        );
      }
      snapshot = loaded.snapshot;
      snapshotFiles = loaded.files;
    }
    const storage = new RaftStorage(wal, store, recovery.hardState, snapshot, recovery.entries, snapshotFiles);
    return {
      storage,
      report: { walTruncation: recovery.truncation, walSegments: recovery.segments, snapshots: snapshotReport },
    };
  }

  /**
   * Makes the unit durable (snapshot file, WAL records, one fsync) and returns
   * the receipt that releases its messages. Throws `StorageError` when the
   * disk fails; storage is then unusable until reopened, and the messages are
   * never released.
   */
  persist<M>(unit: PersistUnit<M>): Durable<M> {
    invariant(!this.wal.inBackground, 'persist on a WAL that writes in the background: use persistInBackground');
    let receipt: Durable<M> | undefined;
    this.write(unit, (r) => (receipt = r));
    return receipt!;
  }

  /**
   * Raft's async storage writes (etcd-io/raft's AsyncStorageWrites): writes
   * the unit's snapshot file now (a different path from the WAL's), queues its
   * WAL records and fsync off the thread, and calls `done` with the receipt
   * in a later turn once they are durable — in the order the units were
   * given, and at once for a unit that writes nothing. The read side
   * (`lastIndex`, `entries`, `term`) describes what was written at once; what
   * is durable is `durableLastIndex` and `durableHardState`. A disk failure
   * poisons the storage and is thrown from the turn that reports it.
   * Needs `RaftStorageOptions.wal.background`.
   */
  persistInBackground<M>(unit: PersistUnit<M>, done: (receipt: Durable<M>) => void): void {
    invariant(this.wal.inBackground, 'persistInBackground needs a WAL opened with background: true');
    this.write(unit, done);
  }

  private write<M>(unit: PersistUnit<M>, done: (receipt: Durable<M>) => void): void {
    this.checkUsable();
    const hardStateChanged = unit.hardState !== undefined && !sameHardState(unit.hardState, this.hardState);
    const entries = unit.entries ?? [];
    const writes = unit.snapshot !== undefined || entries.length > 0 || hardStateChanged;
    const needsSync = writes && (unit.sync !== false || !this.onlyCommitMoved(unit));
    if (writes) {
      const file = unit.snapshotFile;
      const prewritten = file !== undefined && unit.snapshot !== undefined && sameSnapshotFile(file, unit.snapshot);
      this.guard(() => {
        if (file !== undefined && !prewritten) file.abort();
        if (prewritten) file.finish();
        else if (unit.snapshot !== undefined) this.snapshots.save(unit.snapshot);
        this.wal.append({
          snapshot: unit.snapshot === undefined ? undefined : { metadata: unit.snapshot.metadata, retainLog: false },
          entries,
          hardState: hardStateChanged ? unit.hardState : undefined,
        });
      });
      if (unit.snapshot !== undefined) {
        this.log.applySnapshot({ metadata: unit.snapshot.metadata, retainLog: false });
        this.snapshotHeld = unit.snapshot;
        this.snapshotHeldMetadata = unit.snapshot.metadata;
      }
      for (const entry of entries) this.log.appendEntry(entry);
      if (hardStateChanged) this.hardState = { ...unit.hardState! };
    }
    invariant(
      this.hardState.commit <= this.log.lastIndex(),
      () => `durable commit ${this.hardState.commit} beyond the durable last index ${this.log.lastIndex()}`,
    );
    const hardState = { ...this.hardState };
    const lastIndex = this.log.lastIndex();
    const snapshotIndex = unit.snapshot?.metadata.index;
    const durable = (): void => {
      this.durable = { hardState, lastIndex };
      if (snapshotIndex !== undefined) this.releaseBefore(snapshotIndex);
      done(new Durable(receiptToken, unit.messages, hardState, lastIndex));
    };
    // Only the commit index moved: written without an fsync (a crash may lose it; it is re-learned).
    this.guard(() => (needsSync ? this.wal.sync(durable) : this.wal.afterWrites(durable)));
  }

  /** True when the unit changes nothing durable but the commit index. */
  private onlyCommitMoved(unit: PersistUnit<unknown>): boolean {
    if (unit.snapshot !== undefined || (unit.entries?.length ?? 0) > 0) return false;
    const h = unit.hardState;
    return h === undefined || (h.term === this.hardState.term && h.vote === this.hardState.vote);
  }

  /** `persist`, then hand each released message to `send`: the whole rule in one call. */
  persistThenSend<M>(unit: PersistUnit<M>, send: (message: M) => void): Durable<M> {
    const receipt = this.persist(unit);
    for (const message of receipt.messages) send(message);
    return receipt;
  }

  /**
   * Takes a snapshot of the applied state at `index` (a local compaction):
   * saves it, records it in the WAL, and releases the WAL segments and entries
   * it covers. `index` must be in the log and at most the commit index.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): SnapshotMetadata {
    this.checkUsable();
    const snapshot: Snapshot = { metadata: this.localSnapshotMetadata(index, confState), data };
    this.guard(() => {
      this.snapshots.save(snapshot);
      this.wal.append({ snapshot: { metadata: snapshot.metadata, retainLog: true } });
      this.wal.sync();
    });
    this.recordLocalSnapshot(snapshot);
    return snapshot.metadata;
  }

  /**
   * `createSnapshot` in steps, for a state too large to encode and write in
   * one turn: begin, append the data part by part (`appendSnapshot`) while the
   * log goes on, then `finishSnapshot`. Until the finish nothing is released
   * and the WAL names the older snapshot, so a crash midway loses only the
   * unfinished file (removed on open).
   */
  beginSnapshot(index: number, confState: ConfState, options?: SnapshotWriterOptions): SnapshotWriter {
    this.checkUsable();
    const metadata = this.localSnapshotMetadata(index, confState);
    let writer: SnapshotWriter | undefined;
    this.guard(() => (writer = this.snapshots.beginSave(metadata, options)));
    return writer!;
  }

  /**
   * Starts writing a snapshot that is arriving from the leader in parts, so
   * the file is written as it comes rather than all at once when Raft hands
   * it over; pass the writer to `persist` with the snapshot (`snapshotFile`).
   * Nothing changes until then.
   */
  beginReceivedSnapshot(metadata: SnapshotMetadata, options?: SnapshotWriterOptions): SnapshotWriter {
    this.checkUsable();
    let writer: SnapshotWriter | undefined;
    this.guard(() => (writer = this.snapshots.beginSave(metadata, options)));
    return writer!;
  }

  /** The next part of a snapshot being written (`SnapshotWriter.append`: `data` unchanged until `written`). */
  appendSnapshot(writer: SnapshotWriter, data: Uint8Array, written?: () => void): void {
    this.checkUsable();
    this.guard(() => writer.append(data, written));
  }

  /**
   * Makes the part-written snapshot durable and current. `data` is the whole
   * of what was appended (after the data of the chain before it, for a link of
   * a chain), when the caller kept it for Raft to send; without
   * it the snapshot lives only in its file (`snapshot()` reads it back). A
   * writer already finished in the background (`finishSnapshotInBackground`)
   * only gets its WAL marker here.
   */
  finishSnapshot(writer: SnapshotWriter, data?: Uint8Array): SnapshotMetadata {
    this.checkUsable();
    // A link of a chain is kept in memory as the whole chain's data: what Raft sends a follower.
    invariant(data === undefined || data.length === writer.baseDataBytes + writer.dataBytes, () => `finishing a snapshot of ${writer.baseDataBytes} + ${writer.dataBytes} bytes with ${data?.length}`);
    invariant(writer.metadata.index > this.log.snapshotIndex, () => `snapshot at ${writer.metadata.index} overtaken by the one at ${this.log.snapshotIndex}; abort it`);
    this.guard(() => {
      if (!writer.isFinished) writer.finish();
      this.wal.append({ snapshot: { metadata: writer.metadata, retainLog: true } });
      this.wal.sync();
    });
    this.releaseInBackground = writer.writesInBackground || this.wal.inBackground;
    this.recordLocalSnapshot({ metadata: writer.metadata, data }, true);
    return writer.metadata;
  }

  /**
   * The file part of `finishSnapshot` for a writer begun with `background`:
   * its fsync, rename and directory fsync run off the thread, and `done` is
   * called in a later turn once the file is whole and durable; the caller
   * then calls `finishSnapshot`, which only writes the WAL's marker. Until
   * then nothing changes: a crash meanwhile leaves the older snapshot named
   * by the WAL and an unfinished file removed on open, as a crash mid-way
   * through the steps does. A disk error makes the storage unusable and is
   * thrown from that later turn (the actor crashes, as a failed fsync makes
   * it crash in the foreground). Not called if the writer is aborted first.
   */
  finishSnapshotInBackground(writer: SnapshotWriter, done: () => void): void {
    this.checkUsable();
    this.guard(() =>
      writer.finishInBackground((error) => {
        if (error !== undefined) this.guard(() => { throw error; });
        done();
      }),
    );
  }

  /**
   * Removes one more WAL segment a stepped snapshot made obsolete, then the
   * older snapshot files; false once nothing is left. Unlinking a gigabyte of
   * segments at once held the thread for a third of a second, and even one
   * 64 MiB segment 60-76 ms on a loaded machine: after a snapshot written in
   * the background, the unlinks run in the background too.
   */
  releaseStep(): boolean {
    if (this.releasePending === undefined || this.failure !== undefined) return false;
    const index = this.releasePending;
    // Background writes: the WAL's marker of the snapshot is still on its way to the disk.
    if (index > this.wal.durableSnapshotIndex) return true;
    let removed = 0;
    this.guard(() => {
      removed = this.wal.releaseBefore(index, 1, this.releaseInBackground).length;
      if (removed === 0) this.snapshots.purge(this.releaseInBackground);
    });
    if (removed === 0) this.releasePending = undefined;
    return removed > 0;
  }

  abortSnapshot(writer: SnapshotWriter): void {
    this.guard(() => writer.abort());
  }

  private localSnapshotMetadata(index: number, confState: ConfState): SnapshotMetadata {
    invariant(index <= this.hardState.commit, () => `snapshot at ${index} beyond the durable commit index ${this.hardState.commit}`);
    const term = this.log.termAt(index);
    invariant(term !== undefined, () => `snapshot at ${index}: no entry there (log holds ${this.log.firstIndex()}..${this.log.lastIndex()})`);
    invariant(index > this.log.snapshotIndex, () => `snapshot at ${index} does not advance past ${this.log.snapshotIndex}`);
    return { index, term, confState: cloneConfState(confState) };
  }

  private recordLocalSnapshot(snapshot: { metadata: SnapshotMetadata; data: Uint8Array | undefined }, releaseInSteps = false): void {
    this.log.applySnapshot({ metadata: snapshot.metadata, retainLog: true });
    this.snapshotHeld = snapshot.data === undefined ? undefined : { metadata: snapshot.metadata, data: snapshot.data };
    this.snapshotHeldMetadata = snapshot.metadata;
    // Background writes: the marker just queued is not durable yet, and nothing may be released before it is.
    if (!releaseInSteps && !this.wal.inBackground) {
      this.releaseBefore(snapshot.metadata.index);
      return;
    }
    // Not even one here: the finishing turn has the fsyncs and the WAL marker already.
    this.releasePending = snapshot.metadata.index;
  }

  // ---- the read side Raft needs (etcd's Storage interface) ----

  /** The hard state on disk now, fsynced (not a copy: read it, do not keep it). */
  durableHardState(): Readonly<HardState> {
    return this.durable.hardState;
  }

  /** The last log index fsynced (`lastIndex` but for background writes still in flight). */
  durableLastIndex(): number {
    return this.durable.lastIndex;
  }

  /** Whether the WAL writes in the background (`persistInBackground`). */
  get writesInBackground(): boolean {
    return this.wal.inBackground;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const confState = this.snapshotHeldMetadata?.confState ?? { voters: [], learners: [] };
    return { hardState: { ...this.hardState }, confState: cloneConfState(confState) };
  }

  /** Entries in [lo, hi). Throws `LogCompactedError` below `firstIndex()`. */
  entries(lo: number, hi: number): Entry[] {
    invariant(lo <= hi && hi <= this.lastIndex() + 1, () => `entries [${lo}, ${hi}) outside the log ending at ${this.lastIndex()}`);
    if (lo < this.firstIndex()) throw new LogCompactedError(lo, this.firstIndex());
    const offset = this.firstIndex();
    return this.log.entries.slice(lo - offset, hi - offset);
  }

  /** The term at `index`, which may be the snapshot's index. */
  term(index: number): number {
    const term = this.log.termAt(index);
    if (term !== undefined) return term;
    if (index < this.firstIndex()) throw new LogCompactedError(index, this.firstIndex());
    if (index === 0) return 0;
    throw new RangeError(`term(${index}): beyond the last index ${this.lastIndex()}`);
  }

  firstIndex(): number {
    return this.log.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  snapshot(): Snapshot | undefined {
    // A snapshot kept only in its file is read back whole here (a restart does the same).
    if (this.snapshotHeld === undefined && this.snapshotHeldMetadata !== undefined) {
      return this.snapshots.loadNewest({ match: this.snapshotHeldMetadata }).snapshot;
    }
    return this.snapshotHeld;
  }

  /** Names of the live WAL segments (for tests and diagnostics). */
  walSegments(): string[] {
    return this.wal.segmentNames();
  }

  private releaseBefore(index: number): void {
    this.guard(() => {
      this.wal.releaseBefore(index, Number.POSITIVE_INFINITY, this.releaseInBackground);
      this.snapshots.purge(this.releaseInBackground);
    });
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      throw new StorageError('wal-failed', `storage failed earlier (${this.failure.message}); reopen it to learn what is durable`, {
        cause: this.failure,
      });
    }
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      // A broken invariant is a bug, not a disk failure: let it stop the caller as it is.
      if (error instanceof StorageError || !(error instanceof DiskError)) throw error;
      throw new StorageError('wal-failed', `storage write failed: ${this.failure.message}; reopen to learn what is durable`, { cause: error });
    }
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Whether `file` holds exactly `snapshot`: the same metadata and as many bytes (the bytes themselves were written as they arrived). */
function sameSnapshotFile(file: SnapshotWriter, snapshot: Snapshot): boolean {
  const a = file.metadata;
  const b = snapshot.metadata;
  return a.index === b.index && a.term === b.term && file.dataBytes === snapshot.data.byteLength && JSON.stringify(a.confState) === JSON.stringify(b.confState);
}

function cloneConfState(confState: ConfState): ConfState {
  const out: ConfState = { voters: [...confState.voters], learners: [...confState.learners] };
  // A joint configuration (ConfChangeV2) must survive a restart whole.
  if ((confState.votersOutgoing?.length ?? 0) > 0) {
    out.votersOutgoing = [...confState.votersOutgoing!];
    out.learnersNext = [...(confState.learnersNext ?? [])];
    out.autoLeave = confState.autoLeave === true;
  }
  return out;
}
