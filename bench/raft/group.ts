/**
 * A 3-node Raft group driven in one thread for the benchmark: real RaftNodes, an
 * in-memory network (messages delivered in send order, nothing lost), and a pluggable
 * persistence step — nothing at all (the simulated-network figure) or a RaftStorage
 * over NodeDisk per node, each in its own directory (the WAL figure).
 *
 * The Ready loop is the one docs/raft.md describes: persist, then send, then apply,
 * then advance. With the WAL, messages leave only through the `Durable` receipt.
 */
import { RaftNode, type Message, type NodeId, type Ready } from '../../src/raft/index.js';
import { NodeDisk, Outbox, RaftStorage } from '../../src/storage/index.js';
import type { Latencies } from '../lib/stats.js';

export const GROUP_VOTERS: readonly NodeId[] = [1, 2, 3];
/** Compact every node's log once this many entries are applied past its first index: bounds memory in long rounds. */
export const COMPACT_AFTER_ENTRIES = 16_384;
/** Entries kept behind a compaction, so a follower a little behind is caught up by appends, not a snapshot. */
const COMPACT_RETAIN_ENTRIES = 2_048;
/** A loop that makes no progress for this many passes is a bug in the driver or in Raft: stop loudly. */
const IDLE_PASSES_MAX = 1_000;

/** Where a node's Ready state goes before its messages may leave. */
export interface Persistence {
  /** Persist the Ready's state; returns the messages now allowed to leave. */
  persist(rd: Ready): readonly Message[];
  /** Record a compaction at `index` (already applied and durable in the node). */
  compacted(index: number, node: RaftNode, data: Uint8Array): void;
  /** fsyncs done so far (0 without a disk). */
  fsyncs(): number;
  close(): void;
}

/** No disk: the state is "durable" at once. Measures Raft and the driver alone. */
export function noPersistence(): Persistence {
  return { persist: (rd) => rd.messages, compacted: () => {}, fsyncs: () => 0, close: () => {} };
}

/** RaftStorage (WAL + snapshot files) over NodeDisk in `dir`, with real fsyncs. */
export function walPersistence(dir: string): Persistence {
  const disk = new NodeDisk(dir);
  const { storage } = RaftStorage.open(disk);
  let released: Message[] = [];
  const outbox = new Outbox<Message>((m) => released.push(m));
  return {
    persist(rd) {
      released = [];
      outbox.release(storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, messages: rd.messages }));
      return released;
    },
    compacted(index, node, data) {
      storage.createSnapshot(index, node.status().confState, data);
    },
    fsyncs: () => disk.fsyncCount,
    close: () => {},
  };
}

/** What one measured run of commits produced. */
export interface CommitRun {
  commits: number;
  elapsedMs: number;
  /** Entries handed to persistence by all three nodes (each node persists each entry once). */
  entriesPersisted: number;
  fsyncs: number;
}

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class BenchGroup {
  readonly nodes = new Map<NodeId, RaftNode>();
  private readonly persistence = new Map<NodeId, Persistence>();
  private queue: Message[] = [];
  /** Proposal wall-clock start by log index, for the leader's commit latency. */
  private readonly proposedAtMs = new Map<number, number>();
  private appliedPayloads = 0;
  private entriesPersisted = 0;
  private readonly payload: Uint8Array;

  constructor(makePersistence: (id: NodeId) => Persistence, payloadBytes: number) {
    for (const id of GROUP_VOTERS) {
      const random = seededRandom(id);
      const node = RaftNode.bootstrap({ config: { id, electionTicks: 10, heartbeatTicks: 1, random, preVote: true, checkQuorum: true }, voters: [...GROUP_VOTERS] });
      this.nodes.set(id, node);
      this.persistence.set(id, makePersistence(id));
    }
    this.payload = new Uint8Array(payloadBytes);
    for (let i = 0; i < payloadBytes; i++) this.payload[i] = (i * 31 + 7) & 0xff;
    // The founding membership is applied by the first Ready; a node with unapplied conf changes does not campaign.
    this.pump();
    this.nodes.get(1)!.campaign();
    for (let pass = 0; !this.leader() && pass < IDLE_PASSES_MAX; pass++) this.pump();
    if (!this.leader()) throw new Error('bench raft: no leader elected in an undisturbed in-memory group');
  }

  leader(): RaftNode | undefined {
    for (const n of this.nodes.values()) if (n.isLeader()) return n;
    return undefined;
  }

  fsyncs(): number {
    let total = 0;
    for (const p of this.persistence.values()) total += p.fsyncs();
    return total;
  }

  /**
   * Commit `count` proposals of the payload with up to `outstandingMax` uncommitted at
   * a time; record each one's propose-to-applied-on-the-leader latency in `latencies`.
   */
  runCommits(count: number, outstandingMax: number, latencies?: Latencies): CommitRun {
    const leader = this.leader();
    if (!leader) throw new Error('bench raft: the group lost its leader');
    const fsyncsBefore = this.fsyncs();
    const entriesBefore = this.entriesPersisted;
    const appliedBefore = this.appliedPayloads;
    const target = appliedBefore + count;
    let proposed = 0;
    let idlePasses = 0;
    const started = performance.now();
    while (this.appliedPayloads < target) {
      const outstanding = appliedBefore + proposed - this.appliedPayloads;
      const room = Math.min(outstandingMax - outstanding, count - proposed);
      const now = performance.now();
      for (let i = 0; i < room; i++) {
        const r = leader.propose(this.payload);
        if (!r.accepted) throw new Error(`bench raft: proposal refused (${r.reason}); lower the outstanding limit`);
        if (latencies) this.proposedAtMs.set(r.index, now);
        proposed++;
      }
      const appliedBeforePass = this.appliedPayloads;
      this.pump(latencies);
      idlePasses = this.appliedPayloads === appliedBeforePass ? idlePasses + 1 : 0;
      if (idlePasses > IDLE_PASSES_MAX) throw new Error(`bench raft: no commit in ${IDLE_PASSES_MAX} passes`);
    }
    const elapsedMs = performance.now() - started;
    return { commits: this.appliedPayloads - appliedBefore, elapsedMs, entriesPersisted: this.entriesPersisted - entriesBefore, fsyncs: this.fsyncs() - fsyncsBefore };
  }

  /** One pass: every node's Readys (persist, send, apply, advance), then deliver what was sent. */
  private pump(latencies?: Latencies): void {
    for (const [id, node] of this.nodes) {
      const persistence = this.persistence.get(id)!;
      while (node.hasReady()) {
        const rd = node.ready();
        this.entriesPersisted += rd.entries.length;
        for (const m of persistence.persist(rd)) this.queue.push(m);
        if (node.isLeader() || rd.softState?.role === 'leader') this.applyOnLeader(rd, latencies);
        node.advance();
      }
      this.maybeCompact(node, persistence);
    }
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) this.nodes.get(m.to)!.step(m);
  }

  private applyOnLeader(rd: Ready, latencies: Latencies | undefined): void {
    const now = performance.now();
    for (const e of rd.committedEntries) {
      if (e.type !== 'normal' || e.data.byteLength === 0) continue;
      this.appliedPayloads++;
      const at = this.proposedAtMs.get(e.index);
      if (at !== undefined) {
        latencies?.record((now - at) * 1000);
        this.proposedAtMs.delete(e.index);
      }
    }
  }

  private maybeCompact(node: RaftNode, persistence: Persistence): void {
    const s = node.status();
    if (s.applied - (s.firstIndex - 1) < COMPACT_AFTER_ENTRIES) return;
    const data = new TextEncoder().encode(`applied ${s.applied}`);
    node.compact(s.applied, data, COMPACT_RETAIN_ENTRIES);
    persistence.compacted(s.applied, node, data);
  }

  close(): void {
    for (const p of this.persistence.values()) p.close();
  }
}
