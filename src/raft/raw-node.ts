/**
 * `RaftNode`: the application's handle on one Raft member. It wraps the state
 * machine and hands out, in a `Ready`, everything the caller must do; the caller
 * does it and calls `advance()`.
 *
 * The durability rule, made explicit: for each Ready the caller
 *   1. persists `hardState`, `entries` and `snapshot` (fsync when `mustSync`),
 *   2. only then sends `messages`,
 *   3. applies `snapshot` (if any) and `committedEntries` to its state machine,
 *      and answers `readStates` once it has applied up to their index,
 *   4. calls `advance()`.
 * A vote or an append acknowledgement that leaves before the state it promises is
 * durable can be forgotten by a crash, and then two leaders or a lost commit follow.
 * (etcd lets a leader send in parallel with its own fsync; persisting first is simpler
 * and costs one fsync of latency.)
 */
import { invariant } from './assert.js';
import { MemoryStorage, cloneConfState } from './log.js';
import type { Message } from './protocol.js';
import { Raft, decodeConfChangeV2, type ForgetLeaderResult, type ProposalResult, type RaftConfig, type RaftRole, type RequestResult, type SoftState } from './raft.js';
import type { ReadState } from './read-only.js';
import { NONE, emptyHardState, type ConfChange, type ConfChangeV2, type ConfState, type Entry, type HardState, type NodeId, type Snapshot } from './types.js';

export interface Ready {
  /** Set when leader or role changed since the last Ready. Volatile: never persist it. */
  softState?: SoftState;
  /** Set when term, vote or commit changed: persist it. */
  hardState?: HardState;
  /** Entries to append to the durable log (replacing any durable suffix from entries[0].index on). */
  entries: Entry[];
  /** A snapshot received from the leader: persist it, then restore the state machine from it. */
  snapshot?: Snapshot;
  /** To send after persisting. */
  messages: Message[];
  /** Committed entries to apply, in order. */
  committedEntries: Entry[];
  /** Answered ReadIndex requests: serve each once the state machine has applied `index`. */
  readStates: ReadState[];
  /** Whether the writes must be fsynced before messages go (false when only the commit index moved). */
  mustSync: boolean;
}

export interface NodeStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  lead: NodeId;
  role: RaftRole;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  confState: ConfState;
  leadTransferee: NodeId;
  /** This node applied its own removal: it refuses proposals, reads and transfers with reason 'removed'; stop it. */
  removed: boolean;
}

export interface StartOptions {
  config: RaftConfig;
}

export interface BootstrapOptions extends StartOptions {
  /** The founding voters (including this node). Every founder must be given the same list. */
  voters: NodeId[];
}

export interface RestartOptions extends StartOptions {
  /** What the caller had persisted before the crash. */
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export class RaftNode {
  private readonly raft: Raft;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  /** The Ready handed out and not yet advanced. */
  private inProgress: Ready | undefined = undefined;

  private constructor(raft: Raft) {
    this.raft = raft;
    this.prevHardState = raft.hardState();
    this.prevSoftState = raft.softState();
  }

  /**
   * Start a new group. Like etcd, the founding membership is written as committed
   * conf-change entries at indexes 1..n (term 1), so a node that joins later learns it
   * by replaying the log. Every founder must be given the same `voters` list.
   */
  static bootstrap(options: BootstrapOptions): RaftNode {
    invariant(options.voters.includes(options.config.id), 'a founder must be among the voters');
    invariant(new Set(options.voters).size === options.voters.length, 'duplicate voter ids');
    const storage = new MemoryStorage(undefined, { voters: [], learners: [] });
    const raft = new Raft(options.config, storage, emptyHardState);
    raft.bootstrap([...options.voters].sort((a, b) => a - b));
    const node = new RaftNode(raft);
    // The first Ready must persist the bootstrap entries and hard state.
    node.prevHardState = emptyHardState;
    return node;
  }

  /**
   * Start a node that will join an existing group: no membership, no log. It waits
   * for the leader, which brings it up to date by snapshot. Add it with
   * proposeConfChange({type: 'addLearner'}) (then 'addVoter' once caught up).
   */
  static join(options: StartOptions): RaftNode {
    const storage = new MemoryStorage(undefined, { voters: [], learners: [] });
    return new RaftNode(new Raft(options.config, storage, emptyHardState));
  }

  /** Restart from persisted state after a crash or a clean stop. */
  static restart(options: RestartOptions): RaftNode {
    const confState = options.snapshot?.metadata.confState ?? { voters: [], learners: [] };
    const storage = MemoryStorage.fromPersisted(options.snapshot, options.entries, confState);
    return new RaftNode(new Raft(options.config, storage, options.hardState));
  }

  // ------------------------------------------------------------- inputs

  /** Advance logical time by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Deliver a message from a peer. Messages addressed elsewhere are a caller bug. */
  step(message: Message): void {
    this.raft.step(message);
  }

  /** Propose an entry; only a leader accepts. Committed only once it shows up in committedEntries. */
  propose(data: Uint8Array): ProposalResult {
    return this.raft.propose(data);
  }

  /** Propose a single-server membership change. One at a time: refused while another is unapplied. */
  proposeConfChange(change: ConfChange): ProposalResult {
    return this.raft.proposeConfChange(change);
  }

  /**
   * Propose a membership change of any size (etcd's ConfChangeV2): several changes at
   * once go through a joint configuration, left automatically unless the transition is
   * 'jointExplicit' (then propose `{transition: 'auto', changes: []}` to leave). Refused
   * with reason 'invalidConfChange' and a message when etcd would refuse it.
   */
  proposeConfChangeV2(change: ConfChangeV2): ProposalResult {
    return this.raft.proposeConfChangeV2(change);
  }

  /** Request a linearizable read point; the answer is a ReadState with this `context` (unique per request). */
  readIndex(context: string): RequestResult {
    return this.raft.readIndex(context);
  }

  /** Campaign now instead of waiting for the election timeout (tests, benchmarks, operators). */
  campaign(): void {
    this.raft.startElection();
  }

  /**
   * Forget the current leader without campaigning (etcd-io/raft's ForgetLeader): for a
   * failure detector that knows the leader died (its process exited) before the election
   * timeout would tell. Once a quorum of followers forgot it, the next campaign — `campaign()`,
   * or the election timeout — wins at once. No-op (with the reason) on a leader or a
   * candidate, without a known leader, and under lease-based reads, as in etcd.
   */
  forgetLeader(): ForgetLeaderResult {
    return this.raft.forgetLeader();
  }

  /** Ask the leader to hand leadership to `to` (a voter). */
  transferLeadership(to: NodeId): RequestResult {
    return this.raft.transferLeadership(to);
  }

  // ------------------------------------------------------------- outputs

  hasReady(): boolean {
    invariant(this.inProgress === undefined, 'hasReady() while a Ready is outstanding: call advance() first');
    const r = this.raft;
    const soft = r.softState();
    if (soft.lead !== this.prevSoftState.lead || soft.role !== this.prevSoftState.role) return true;
    if (!sameHardState(r.hardState(), this.prevHardState)) return true;
    if (r.log.unstable.snapshot || r.log.hasUnstableEntries()) return true;
    return r.msgs.length > 0 || r.readStates.length > 0 || r.log.hasNextCommittedEntries();
  }

  /** What the caller must do now. Call advance() after doing it and before calling ready() again. */
  ready(): Ready {
    invariant(this.inProgress === undefined, 'ready() called twice without advance()');
    const r = this.raft;
    const hs = r.hardState();
    const soft = r.softState();
    const entries = r.log.unstableEntries();
    const snapshot = r.log.unstable.snapshot;
    const rd: Ready = {
      entries,
      messages: r.msgs,
      committedEntries: r.log.nextCommittedEntries(r.maxCommittedSizePerReadyBytes, r.maxCommittedEntriesPerReady),
      readStates: r.readStates,
      mustSync: false,
    };
    r.msgs = [];
    r.readStates = [];
    if (!sameHardState(hs, this.prevHardState)) rd.hardState = hs;
    if (soft.lead !== this.prevSoftState.lead || soft.role !== this.prevSoftState.role) rd.softState = soft;
    if (snapshot) rd.snapshot = snapshot;
    // The commit index alone may be lost in a crash (it is re-learned); term, vote and log may not.
    rd.mustSync = entries.length > 0 || snapshot !== undefined || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
    if (r.asyncStorageWrites) {
      if (snapshot) r.lowerDurableIndex(0);
      if (entries.length > 0) r.lowerDurableIndex(entries[0]!.index - 1);
    }
    this.inProgress = rd;
    return rd;
  }

  /** The caller has persisted, sent and applied the last Ready. */
  advance(): void {
    const rd = this.inProgress;
    invariant(rd !== undefined, 'advance() without a Ready');
    this.inProgress = undefined;
    const r = this.raft;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.softState) this.prevSoftState = rd.softState;
    if (rd.snapshot) {
      r.log.storage.applySnapshot(rd.snapshot);
      r.log.unstable.stableSnapTo(rd.snapshot.metadata.index);
      r.log.appliedTo(Math.max(r.log.applied, rd.snapshot.metadata.index));
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.log.storage.append(rd.entries);
      r.log.unstable.stableTo(last.index, last.term);
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange' && e.data.byteLength > 0) r.applyConfChangeV2(decodeConfChangeV2(e.data));
    }
    if (rd.committedEntries.length > 0) r.log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
    r.maybeAutoLeave();
    // Our own log is durable now: as leader, we count as a replica. (Async writes: onDurable says when.)
    if (!r.asyncStorageWrites) r.selfPersistedTo(r.log.lastStableIndex());
  }

  /**
   * Async storage writes (config.asyncStorageWrites): the writes of `rd`, an earlier Ready,
   * are durable now. Call it once per Ready, in the order the Readies were handed out, and
   * release that Ready's held acknowledgements (msgAppResp, msgVoteResp, msgPreVoteResp) too.
   */
  onDurable(rd: Ready): void {
    const r = this.raft;
    invariant(r.asyncStorageWrites, 'onDurable() needs config.asyncStorageWrites');
    let last: { index: number; term: number } | undefined;
    if (rd.entries.length > 0) last = rd.entries[rd.entries.length - 1]!;
    else if (rd.snapshot) last = { index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term };
    // A later Ready may have replaced these entries: then they prove nothing about the log we have now.
    if (last && r.log.term(last.index) === last.term) r.markDurable(last.index);
    if (rd.hardState && rd.hardState.vote === r.id) r.selfVoteDurable(rd.hardState.term);
  }

  /**
   * Compact the log: record the application's snapshot at `appliedIndex` (which must be
   * the applied index right now, so the membership recorded with it is right) and drop
   * the entries before it, keeping `retainEntries` for slow followers. Persist the
   * returned snapshot, then the durable log may drop entries up to its index.
   */
  compact(appliedIndex: number, data: Uint8Array, retainEntries = 0): Snapshot {
    const r = this.raft;
    invariant(appliedIndex === r.log.applied, () => `compact at ${appliedIndex} but applied is ${r.log.applied}`);
    return this.compactAt(appliedIndex, r.confState(), data, retainEntries);
  }

  /**
   * `compact` with a snapshot the application began at an earlier applied
   * index and finished since (it encoded the state in steps while applying went
   * on): `confState` is the membership as it was at `index`, which the caller
   * read from `status()` when it began.
   */
  compactAt(index: number, confState: ConfState, data: Uint8Array, retainEntries = 0): Snapshot {
    invariant(this.inProgress === undefined, 'compact() while a Ready is outstanding');
    const r = this.raft;
    invariant(index <= r.log.applied, () => `compact at ${index} beyond the applied index ${r.log.applied}`);
    invariant(index <= r.log.lastStableIndex(), 'compact beyond the persisted log');
    const snap = r.log.storage.createSnapshot(index, confState, data);
    r.log.storage.compact(Math.max(r.log.storage.firstIndex() - 1, index - retainEntries));
    return snap;
  }

  // ------------------------------------------------------------- introspection

  status(): NodeStatus {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      role: r.role,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      confState: cloneConfState(r.confState()),
      leadTransferee: r.leaderTransferee(),
      removed: r.removed(),
    };
  }

  get id(): NodeId {
    return this.raft.id;
  }

  isLeader(): boolean {
    return this.raft.role === 'leader';
  }

  leader(): NodeId {
    return this.raft.lead;
  }

  /** Term of the entry at `index` in this node's log (undefined if compacted or absent). */
  logTerm(index: number): number | undefined {
    return this.raft.log.term(index);
  }

  /** Entries [lo, hi) of this node's log, for checkers and debugging. */
  logEntries(lo: number, hi: number): Entry[] {
    return this.raft.log.slice(lo, hi);
  }

  /** The snapshot the leader would send (the latest compaction point). */
  latestSnapshot(): Snapshot {
    return this.raft.log.snapshot();
  }

  /** Progress of followers as seen by this (leader) node, for tests and debugging. */
  progress(): Map<NodeId, { match: number; next: number; state: string; inflight: number }> {
    const out = new Map<NodeId, { match: number; next: number; state: string; inflight: number }>();
    for (const [id, pr] of this.raft.tracker.progress) out.set(id, { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflights.count() });
    return out;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export { NONE };
