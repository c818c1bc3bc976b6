/**
 * A replica's snapshot, taken in steps between the turns that tick Raft,
 * send heartbeats and apply entries (issue #22 item 2).
 *
 * Taken whole, inline, a 300 MB store held the replica's thread for 40 s, and
 * all three replicas reach the snapshot threshold at the same index, so the
 * cluster lost its leader on every snapshot. Here each step encodes about one
 * batch (SNAPSHOT_BATCH_BYTES_DEFAULT) from a cursor on the store — a view
 * at the snapshot's revision that later writes and compactions do not change
 * — and appends it to the snapshot file; then the parts are joined into the
 * bytes Raft sends to a lagging follower, a bounded copy per step; the last
 * step makes the file durable and compacts the log. A step's work depends only
 * on the data, never on the clock, so a simulated run replays exactly.
 *
 * With `background` (what replicas do), a step only encodes: the writes and
 * fsyncs go to the disk off the thread (`Disk.inBackground`), at most
 * `inFlightBytesMax` of them at a time — a job that is that far ahead waits,
 * and `onReady` says when to step again — and the last step asks for the
 * finishing fsyncs, whose end calls `onFileDurable` in a later turn: only
 * then does the WAL name the snapshot.
 *
 * With `chain` the snapshot is a link of a chain (issues #16, #22): a whole
 * snapshot that starts one, or a delta that holds only the keys written
 * since the chain's last link (snapshot-codec.ts, format 3) in a file that
 * names that link as its base (snapshot-store.ts). A delta's steps and bytes
 * follow the writes since the last snapshot, not the size of the store.
 */
import type { ConfState, SnapshotMetadata } from '../../raft/types.js';
import type { RaftStorage } from '../../storage/raft-storage.js';
import type { SnapshotFileLayout, SnapshotId, SnapshotWriter, SnapshotWriterOptions } from '../../storage/snapshot-store.js';
import { PackBufferPool, SNAPSHOT_BATCH_BYTES_DEFAULT, SnapshotEncoder } from '../mvcc/snapshot-codec.js';
import type { StoreSnapshotCursor } from '../mvcc/snapshot-cursor.js';
import type { MvccStore } from '../mvcc/store.js';

/** Bytes joined per step once encoding is done: copying into fresh pages costs a page fault per 4 KiB (about 4 ms per MiB on this machine's VM). */
export const SNAPSHOT_JOIN_BYTES_PER_STEP = 2 << 20;

/** What a link of a chain follows: the chain's last link. */
export interface SnapshotChainBase {
  /** The last link's Raft index and term (its file's name). */
  id: SnapshotId;
  /** The store revision it holds. */
  revision: number;
  /** The data bytes of the chain up to and with it. */
  dataBytes: number;
  /** Those bytes, when they are kept in memory (the chain is small): a small delta is kept after them. */
  data?: Uint8Array;
}

/** What decides whether a replica's next snapshot continues its chain (`nextSnapshotIsDelta`). */
export interface SnapshotTurn {
  /** The Raft index the snapshot is taken at. */
  index: number;
  /** The replica's snapshot threshold (entries between two snapshots). */
  snapshotEntries: number;
  /** The voters, in the same order on every replica (sorted ids). */
  voters: readonly number[];
  /** This replica's id. */
  id: number;
  /** Whole snapshots in turn (default true); false: whenever the deltas have outgrown the whole one. */
  inTurn?: boolean;
}

/**
 * Whether a replica's next snapshot is a delta of its chain, or a whole one that starts a new chain. `linkBytes`:
 * the data bytes of the chain's files, its whole snapshot first, then each delta (undefined: no chain).
 *
 * A delta until the chain's deltas outgrow its whole snapshot: then writing the whole store again costs no more
 * than the deltas since did, so per write it costs a bounded amount whatever the store's size. Every replica
 * applies the same log, so all of them reach that point at the same index; at 5,000 nodes the whole store is
 * ~800 MB and 35-75 s of a thread, and three such threads at once on two cores cost the cluster its leases
 * (docs/performance.md). So the whole snapshots go in turn: at the snapshot taken at `index`, only the voter whose
 * rank is `floor(index / snapshotEntries) mod voters` takes its whole one; the others add a delta and wait for
 * their turn, one snapshot threshold later each — at most voters - 1 deltas past due (counted from the chain
 * itself, so a restart keeps the count), so replicas whose snapshot points drifted apart (a restart, a snapshot
 * from the leader, a snapshot that took longer than a threshold's worth of writes) still start again. Pure: the
 * same on every run of a seed. A learner or a lone voter takes its whole snapshot when due.
 */
export function nextSnapshotIsDelta(linkBytes: readonly number[] | undefined, turn: SnapshotTurn): boolean {
  if (linkBytes === undefined || linkBytes.length === 0) return false;
  const wholeBytes = linkBytes[0]!;
  let deltaBytes = 0;
  let pastDue = 0;
  for (let i = 1; i < linkBytes.length; i++) {
    if (deltaBytes >= wholeBytes) pastDue++;
    deltaBytes += linkBytes[i]!;
  }
  if (deltaBytes < wholeBytes) return true;
  const rank = turn.voters.indexOf(turn.id);
  if (turn.inTurn === false || rank < 0 || pastDue >= turn.voters.length - 1) return false;
  return Math.floor(turn.index / turn.snapshotEntries) % turn.voters.length !== rank;
}

export interface SnapshotJobOptions {
  /**
   * A link of a chain (the store must track its changes, `MvccStore.trackSnapshotChanges`): `{}` starts a
   * chain with a whole snapshot, `{ base }` is a delta after `base`. Without it, a whole snapshot of no chain.
   */
  chain?: { base?: SnapshotChainBase };
  batchBytes?: number;
  joinBytesPerStep?: number;
  /**
   * A snapshot larger than this is not kept in memory: it lives in its file,
   * read back a range at a time when a follower needs it. Keeping a gigabyte
   * of parts (and their joined copy) made V8 collect the whole heap again and
   * again while the snapshot was taken.
   */
  keepBytesMax?: number;
  writer?: SnapshotWriterOptions;
  /** Write and fsync off the thread; `step` then never returns the snapshot (see `SnapshotJobEvents`). */
  background?: boolean;
  /** With `background`: bytes asked of the disk and not yet written, beyond which the job waits. */
  inFlightBytesMax?: number;
}

/** What a job in the background says, each in a turn of its own. */
export interface SnapshotJobEvents {
  /** The disk caught up with a job that was waiting for it (`canStep` is true again). */
  onReady(): void;
  /**
   * The snapshot's file is whole and durable: `take()` writes the WAL's
   * marker and returns the snapshot, which the caller compacts Raft's log to.
   */
  onFileDurable(take: () => TakenSnapshot): void;
}

/**
 * Default `inFlightBytesMax`: four batches. Enough that encoding never waits
 * on a disk that keeps up; little enough that a slow one holds only a few
 * megabytes of the job's output in memory.
 */
export const SNAPSHOT_IN_FLIGHT_BYTES_MAX_DEFAULT = 4 << 20;

/** Default `keepBytesMax`: what goes to a follower as one message anyway (snapshot-transfer.ts). */
export const SNAPSHOT_KEEP_BYTES_MAX_DEFAULT = 4 << 20;

/** A finished snapshot: what was made durable, and either its bytes or where they lie in its file. */
export interface TakenSnapshot {
  metadata: SnapshotMetadata;
  /** The snapshot's whole data (for a delta, the chain's), when it is small enough to keep. */
  data?: Uint8Array;
  /** Where this snapshot's own file's data lies in it (for a delta, only the delta's). */
  file: SnapshotFileLayout;
  /** Whether it is a delta after a chain's last link. */
  delta: boolean;
  steps: number;
}

export class SnapshotJob {
  private readonly cursor: StoreSnapshotCursor;
  private readonly encoder: SnapshotEncoder;
  private readonly writer: SnapshotWriter;
  private readonly joinBytesPerStep: number;
  private readonly keepBytesMax: number;
  /** The parts, while the snapshot is small enough to keep in memory. */
  private parts: Uint8Array[] | undefined = [];
  private encoded = false;
  private joined: Uint8Array | undefined;
  private joinPart = 0;
  private joinAt = 0;
  private stepCount = 0;
  private finished = false;
  private readonly background: boolean;
  private readonly inFlightBytesMax: number;
  private waiting = false;
  /** Buffers batches are packed into and reused once written (none for an unbounded batch). */
  private readonly pool: PackBufferPool | undefined;
  private finishingInBackground = false;
  /** A delta's chain before it, kept in memory: the joined data begins with it. */
  private readonly prefix: Uint8Array | undefined;
  /** Whether this is a delta after a chain's last link. */
  readonly delta: boolean;

  /**
   * Begins the snapshot of `store` as it is now, at Raft index `index` with
   * membership `confState` (both as they are now: the caller's applied index).
   */
  constructor(
    store: MvccStore,
    private readonly storage: RaftStorage,
    readonly index: number,
    confState: ConfState,
    options: SnapshotJobOptions = {},
    private readonly events?: SnapshotJobEvents,
  ) {
    this.joinBytesPerStep = options.joinBytesPerStep ?? SNAPSHOT_JOIN_BYTES_PER_STEP;
    this.keepBytesMax = options.keepBytesMax ?? SNAPSHOT_KEEP_BYTES_MAX_DEFAULT;
    this.background = options.background ?? false;
    this.inFlightBytesMax = options.inFlightBytesMax ?? SNAPSHOT_IN_FLIGHT_BYTES_MAX_DEFAULT;
    if (this.background && events === undefined) throw new Error('a snapshot job in the background needs events to report to');
    const base = options.chain?.base;
    this.delta = base !== undefined;
    this.writer = storage.beginSnapshot(index, confState, { ...options.writer, background: this.background, ...(base === undefined ? {} : { base: base.id, baseDataBytes: base.dataBytes }) });
    this.writer.onWritten = () => this.written();
    this.cursor = store.openSnapshotCursor(options.chain === undefined ? undefined : base === undefined ? 'full' : { deltaAfter: base.revision });
    const batchBytes = options.batchBytes ?? SNAPSHOT_BATCH_BYTES_DEFAULT;
    this.encoder = new SnapshotEncoder(this.cursor, batchBytes);
    // A delta is kept in memory only after a chain that is: Raft sends the whole chain.
    this.prefix = base?.data;
    if (base !== undefined && (base.data === undefined || base.dataBytes > this.keepBytesMax)) this.parts = undefined;
    if (Number.isFinite(batchBytes)) {
      const batchesInFlight = this.background ? Math.ceil(this.inFlightBytesMax / batchBytes) + 1 : 0;
      this.pool = new PackBufferPool(Math.max(2 * batchBytes, 64 << 10), batchesInFlight + 2);
    }
    this.add(this.encoder.header());
  }

  /** The store revision the snapshot holds. */
  get revision(): number {
    return this.cursor.header.revision;
  }

  /** Bytes encoded so far. */
  get bytes(): number {
    return this.writer.dataBytes;
  }

  /** The last step asked for the finishing fsyncs, whose end has not come yet. */
  get isFinishing(): boolean {
    return this.finishingInBackground;
  }

  /** Whether `step` may be called now: not finished or finishing, and (in the background) not waiting for the disk. */
  get canStep(): boolean {
    return !this.finished && !this.finishingInBackground && !this.waiting;
  }

  /**
   * One bounded piece of work. Returns the snapshot once it is durable and the
   * WAL names it (the caller then compacts Raft's log), undefined while more
   * steps remain — and always undefined in the background, where
   * `onFileDurable` brings it. Call only while `canStep`.
   */
  step(): TakenSnapshot | undefined {
    if (!this.canStep) throw new Error(`snapshot job stepped ${this.finished ? 'after it finished or was abandoned' : this.finishingInBackground ? 'while it finishes' : 'while it waits for the disk'}`);
    this.stepCount++;
    if (!this.encoded) {
      const batch = this.pool === undefined ? { bytes: this.encoder.nextBatch(), buffer: undefined } : this.encoder.nextBatchPooled(this.pool);
      if (batch?.bytes !== undefined) {
        this.add(batch.bytes, batch.buffer);
        return undefined;
      }
      this.encoded = true;
      this.cursor.close();
      if (this.parts !== undefined) {
        const prefixBytes = this.prefix?.byteLength ?? 0;
        this.joined = new Uint8Array(prefixBytes + this.writer.dataBytes);
        // At most `keepBytesMax` in all: a bounded copy, like a step's join.
        if (this.prefix !== undefined) this.joined.set(this.prefix);
        this.joinAt = prefixBytes;
      }
    }
    if (this.parts !== undefined && this.joinPart < this.parts.length) {
      // The last copy and the finishing fsyncs each get a step of their own.
      this.join();
      return undefined;
    }
    const data = this.joined;
    this.parts = undefined;
    if (this.background) {
      this.finishingInBackground = true;
      this.storage.finishSnapshotInBackground(this.writer, () => {
        if (this.finished) return;
        this.finishingInBackground = false;
        this.events!.onFileDurable(() => this.finish(data));
      });
      return undefined;
    }
    return this.finish(data);
  }

  private finish(data: Uint8Array | undefined): TakenSnapshot {
    this.finished = true;
    const metadata = this.storage.finishSnapshot(this.writer, data);
    const taken: TakenSnapshot = { metadata, file: this.writer.layout(), delta: this.delta, steps: this.stepCount };
    if (data !== undefined) taken.data = data;
    return taken;
  }

  /** A background write ended: a job that waited for room may go on. */
  private written(): void {
    if (!this.waiting || this.finished || this.writer.bytesInFlight >= this.inFlightBytesMax) return;
    this.waiting = false;
    this.events!.onReady();
  }

  /** Stops the job and removes its unfinished file (a snapshot from the leader replaced the store, or the replica stops). */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    // The keys it would have held count as written again: the next delta holds them.
    this.cursor.abandon();
    this.parts = undefined;
    this.storage.abortSnapshot(this.writer);
  }

  private add(bytes: Uint8Array, buffer?: Buffer): void {
    const pool = this.pool;
    // Reused only if no part kept for Raft still points into it.
    const written = pool === undefined || buffer === undefined ? undefined : () => void (this.parts === undefined && pool.give(buffer));
    this.storage.appendSnapshot(this.writer, bytes, written);
    if (this.background && this.writer.bytesInFlight >= this.inFlightBytesMax) this.waiting = true;
    if (this.parts === undefined) return;
    if ((this.prefix?.byteLength ?? 0) + this.writer.dataBytes > this.keepBytesMax) this.parts = undefined;
    else this.parts.push(bytes);
  }

  /** Copies parts into the joined buffer up to the step's budget. */
  private join(): void {
    const parts = this.parts!;
    let budget = this.joinBytesPerStep;
    while (this.joinPart < parts.length && budget > 0) {
      const part = parts[this.joinPart]!;
      this.joined!.set(part, this.joinAt);
      this.joinAt += part.length;
      budget -= part.length;
      parts[this.joinPart++] = EMPTY;
    }
  }
}

const EMPTY = new Uint8Array(0);
