/**
 * The simulated durable store of one node: what Raft asked to persist, split into
 * what is synced (survives any crash) and what is only written (a crash may lose it).
 */
import type { Entry, HardState, Snapshot } from '../types.js';
import { emptyHardState } from '../types.js';

export interface PersistedState {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[];
}

export type DiskOp =
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'entries'; entries: Entry[] }
  /** A snapshot from the leader replaces the whole log. */
  | { kind: 'installSnapshot'; snapshot: Snapshot }
  /** A local snapshot: entries up to its index are dropped. */
  | { kind: 'compact'; snapshot: Snapshot };

export class SimDisk {
  durable: PersistedState = { hardState: emptyHardState, snapshot: undefined, entries: [] };
  private unsynced: DiskOp[] = [];
  /** Ops ever written; an op's sequence number is the count after writing it. */
  private writtenOps = 0;

  /** Queue a write; returns its sequence number (for `syncThrough`). */
  write(op: DiskOp): number {
    this.unsynced.push(op);
    return ++this.writtenOps;
  }

  /** The sequence number of the last write. */
  lastWrite(): number {
    return this.writtenOps;
  }

  sync(): void {
    for (const op of this.unsynced) applyOp(this.durable, op);
    this.unsynced = [];
  }

  /** Make writes up to sequence number `seq` durable, in order; later ones stay losable (an async write completing). */
  syncThrough(seq: number): void {
    const firstUnsynced = this.writtenOps - this.unsynced.length + 1;
    const count = Math.max(0, Math.min(this.unsynced.length, seq - firstUnsynced + 1));
    for (const op of this.unsynced.slice(0, count)) applyOp(this.durable, op);
    this.unsynced = this.unsynced.slice(count);
  }

  hasUnsynced(): boolean {
    return this.unsynced.length > 0;
  }

  /** A crash: unsynced writes are lost (or, when the OS got to them first, kept). */
  crash(loseUnsynced: boolean): void {
    if (loseUnsynced) this.unsynced = [];
    else this.sync();
  }
}

function applyOp(state: PersistedState, op: DiskOp): void {
  switch (op.kind) {
    case 'hardState':
      state.hardState = op.hardState;
      return;
    case 'entries': {
      if (op.entries.length === 0) return;
      const first = op.entries[0]!.index;
      const kept = state.entries.filter((e) => e.index < first);
      const base = state.snapshot?.metadata.index ?? 0;
      const expected = (kept.length > 0 ? kept[kept.length - 1]!.index : base) + 1;
      if (first > expected) throw new Error(`sim disk: entries at ${first} leave a gap after ${expected - 1}`);
      state.entries = kept.concat(op.entries.filter((e) => e.index > base));
      return;
    }
    case 'installSnapshot':
      state.snapshot = op.snapshot;
      state.entries = [];
      return;
    case 'compact':
      if (state.snapshot && state.snapshot.metadata.index >= op.snapshot.metadata.index) return;
      state.snapshot = op.snapshot;
      state.entries = state.entries.filter((e) => e.index > op.snapshot.metadata.index);
      return;
  }
}
