/**
 * An in-memory Raft group for unit tests and benchmarks: real RaftNodes, messages
 * delivered synchronously in send order, persistence into plain arrays, a filter to
 * drop or isolate. No randomness beyond the seeded election timeouts.
 */
import type { Message } from '../protocol.js';
import type { RaftConfig } from '../raft.js';
import { RaftNode, type Ready } from '../raw-node.js';
import type { ReadState } from '../read-only.js';
import type { Entry, NodeId } from '../types.js';
import { SimDisk } from './disk.js';
import { Prng } from './prng.js';

export interface GroupOptions {
  /** Founding voters, default [1, 2, 3]. */
  voters?: NodeId[];
  seed?: number;
  /** Overrides applied to every node's config. */
  config?: Partial<Omit<RaftConfig, 'id' | 'random'>>;
}

/** Bound on delivery rounds in one stabilize(): a protocol that never quiesces is a bug. */
export const STABILIZE_ROUNDS_MAX = 10_000;

export class InMemoryGroup {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, SimDisk>();
  /** Applied entries per node, in order. */
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Return false to drop a message (partitions, targeted loss). */
  filter: (m: Message) => boolean = () => true;
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = [];
  private queue: Message[] = [];
  private readonly prng: Prng;
  private readonly baseConfig: Omit<RaftConfig, 'id' | 'random'>;

  constructor(options: GroupOptions = {}) {
    this.prng = new Prng(options.seed ?? 1);
    this.baseConfig = { electionTicks: 10, heartbeatTicks: 1, ...options.config };
    const voters = options.voters ?? [1, 2, 3];
    for (const id of voters) this.add(id, RaftNode.bootstrap({ config: this.configFor(id), voters }));
    this.stabilize();
  }

  configFor(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
    const random = this.prng.fork();
    return { ...this.baseConfig, id, random: () => random.next(), ...overrides };
  }

  /** Add a running node (bootstrapped elsewhere, joining, or restarted). */
  add(id: NodeId, node: RaftNode): void {
    this.nodes.set(id, node);
    if (!this.disks.has(id)) this.disks.set(id, new SimDisk());
    if (!this.applied.has(id)) this.applied.set(id, []);
    if (!this.readStates.has(id)) this.readStates.set(id, []);
  }

  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  leader(): RaftNode | undefined {
    const leaders = [...this.nodes.values()].filter((n) => n.isLeader());
    // Several nodes may think they lead (in different terms); the highest term wins.
    return leaders.sort((a, b) => b.status().term - a.status().term)[0];
  }

  /** Isolate nodes from everyone else (both directions). */
  isolate(...ids: NodeId[]): void {
    const cut = new Set(ids);
    this.filter = (m) => cut.has(m.from) === cut.has(m.to);
  }

  heal(): void {
    this.filter = () => true;
  }

  /** Stop a node: it keeps its synced disk, loses its memory. */
  crash(id: NodeId): void {
    this.disks.get(id)!.crash(true);
    this.nodes.delete(id);
  }

  restart(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftNode {
    const d = this.disks.get(id)!.durable;
    const node = RaftNode.restart({ config: this.configFor(id, overrides), hardState: d.hardState, snapshot: d.snapshot, entries: d.entries });
    this.applied.set(id, []);
    this.add(id, node);
    this.stabilize();
    return node;
  }

  tick(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.nodes.values()) n.tick();
      this.stabilize();
    }
  }

  /** Process readies and deliver messages until nothing moves. */
  stabilize(): void {
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round++) {
      let moved = false;
      for (const [id, n] of this.nodes) {
        while (n.hasReady()) {
          this.handleReady(id, n, n.ready());
          n.advance();
          moved = true;
        }
      }
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const to = this.nodes.get(m.to);
        if (!to || !this.filter(m)) continue;
        this.delivered.push(m);
        to.step(m);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error(`group did not quiesce within ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  private handleReady(id: NodeId, n: RaftNode, rd: Ready): void {
    const disk = this.disks.get(id)!;
    if (rd.hardState) disk.write({ kind: 'hardState', hardState: rd.hardState });
    if (rd.snapshot) disk.write({ kind: 'installSnapshot', snapshot: rd.snapshot });
    if (rd.entries.length > 0) disk.write({ kind: 'entries', entries: rd.entries });
    disk.sync();
    this.queue.push(...rd.messages);
    const applied = this.applied.get(id)!;
    if (rd.snapshot) applied.length = 0;
    applied.push(...rd.committedEntries.filter((e) => e.data.byteLength > 0 || e.type === 'confChange'));
    this.readStates.get(id)!.push(...rd.readStates);
    void n;
  }

  /** Compact a node's log at its applied index with `data` as the application snapshot, and persist it. */
  compact(id: NodeId, data: Uint8Array | string, retainEntries = 0): void {
    const n = this.node(id);
    const snap = n.compact(n.status().applied, typeof data === 'string' ? new TextEncoder().encode(data) : data, retainEntries);
    const disk = this.disks.get(id)!;
    disk.write({ kind: 'compact', snapshot: snap });
    disk.sync();
  }

  /** Propose through the current leader and stabilize; returns the entry's index. */
  propose(data: Uint8Array | string): number {
    const leader = this.leader();
    if (!leader) throw new Error('no leader');
    const r = leader.propose(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    if (!r.accepted) throw new Error(`proposal refused: ${r.reason}`);
    this.stabilize();
    return r.index;
  }

  /** Campaign on `id` and deliver until quiet; returns whether it won. */
  elect(id: NodeId): boolean {
    this.node(id).campaign();
    this.stabilize();
    return this.node(id).isLeader();
  }

  /** Decoded payloads of normal entries a node applied. */
  appliedData(id: NodeId): string[] {
    return this.applied.get(id)!.filter((e) => e.type === 'normal').map((e) => new TextDecoder().decode(e.data));
  }
}
