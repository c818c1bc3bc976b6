/**
 * The Raft state machine: one object per node, driven only by `step(message)` and
 * `tick()` (plus the application's requests). It never does I/O; it appends to
 * `msgs` and to the unstable log, and `RaftNode` hands those out in a Ready.
 *
 * Follows the Raft paper and the shape of etcd-io/raft: one step function per role,
 * pre-vote (§9.6 of the thesis), check-quorum, ReadIndex, leadership transfer,
 * snapshots, and membership change with learners: single-server, or any change through a
 * joint configuration (ConfChangeV2, the Raft thesis §4.3).
 */
import { invariant } from './assert.js';
import { RaftLog, cloneConfState, entrySizeBytes, type MemoryStorage } from './log.js';
import { assertNever, isForwardedRequest, type Message, type MsgApp, type MsgHeartbeat, type MsgSnap, type MsgVote } from './protocol.js';
import { Progress, ProgressTracker } from './progress.js';
import { ReadOnly, type ReadOnlyOption, type ReadState } from './read-only.js';
import { applyChange, leavesJoint } from './confchange.js';
import { NONE, type ConfChange, type ConfChangeType, type ConfChangeV2, type ConfState, type Entry, type HardState, type NodeId } from './types.js';

export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/**
 * Deliberately broken rules, for proving that the simulation's checkers bite.
 * Never set in production: each one makes Raft unsafe.
 */
export interface RaftTestingKnobs {
  /** Commit an entry of an earlier term by counting its replicas (the bug of the paper's Figure 8). */
  commitByCountingOldTermEntries?: boolean;
  /** Grant votes without checking that the candidate's log is at least as up to date (§5.4.1). */
  grantVoteWithoutUpToDateCheck?: boolean;
  /** Serve lease reads for as long as check-quorum has not deposed the leader, instead of dating the lease by acked heartbeats. */
  leaseFromCheckQuorumOnly?: boolean;
  /** A leader acknowledges a normal proposal (index and term) and drops it: a liveness bug, for proving the liveness check bites. */
  leaderDropsProposals?: boolean;
  /** In a joint configuration, count only the incoming voters for commit, votes, check-quorum and reads (C_old is ignored). */
  jointQuorumIncomingOnly?: boolean;
  /** forgetLeader() forgets this term's vote with the leader: the follower can then vote twice in one term. */
  forgetLeaderClearsVote?: boolean;
  /** forgetLeader() works under lease-based reads too (etcd refuses): a forgetting follower votes inside the lease it promised. */
  forgetLeaderUnderLeaseReads?: boolean;
}

export interface RaftConfig {
  id: NodeId;
  /** Followers start an election after [electionTicks, electionTicks + electionTimeoutJitterTicks) ticks without a leader. */
  electionTicks: number;
  /**
   * Width of the randomized election timeout's range, in ticks (default electionTicks: the range
   * [electionTicks, 2 * electionTicks) of the paper and etcd). 0 or 1: no randomness at all (split
   * votes repeat; the Raft paper's Figure 16 shows what that costs).
   */
  electionTimeoutJitterTicks?: number;
  /** A leader sends heartbeats every heartbeatTicks ticks. Must be < electionTicks. */
  heartbeatTicks: number;
  /** Uniform in [0, 1): the only source of randomness (the election timeout). */
  random: () => number;
  /** Run a pre-vote round before incrementing the term, so a partitioned node rejoining cannot depose a healthy leader. */
  preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum within an election timeout. */
  checkQuorum?: boolean;
  /** Appends in flight to one follower in replicate state. */
  maxInflightMsgs?: number;
  /** Bytes of entry payload in flight to one follower in replicate state (etcd-io/raft's MaxInflightBytes); default no bound. */
  maxInflightBytes?: number;
  /** Entries in one append message. */
  maxEntriesPerMsg?: number;
  /** Bytes of entries in one append message (at least one entry is always sent). */
  maxSizePerMsgBytes?: number;
  /**
   * Appends to one follower queued in the same Ready go as one message (default true; see
   * `extendQueuedAppend`). false: one append per proposal and per commit advance, as etcd-io/raft's eager appends.
   */
  batchAppends?: boolean;
  /** Bytes of committed entries handed to the application in one Ready. */
  maxCommittedSizePerReadyBytes?: number;
  /**
   * Committed entries handed to the application in one Ready (at least one); default no bound. Applied
   * may lag commit meanwhile, as with the size bound: the rest comes in the next Readies.
   */
  maxCommittedEntriesPerReady?: number;
  /** Proposals a leader accepts beyond its commit index before refusing more (back-pressure). */
  maxUncommittedEntries?: number;
  /**
   * Bytes of payload a leader accepts in proposals of its term beyond its commit
   * index before refusing more as overloaded (etcd-io/raft's MaxUncommittedEntriesSize);
   * one proposal is always accepted when nothing is uncommitted. Default no bound.
   */
  maxUncommittedSizeBytes?: number;
  /**
   * 'safe' confirms leadership with a heartbeat round for every read (batched). 'leaseBased'
   * answers at once while the leader holds a lease — and is only as safe as the bound on
   * clock drift below: see `clockDriftBound`. Outside its lease the leader falls back to 'safe'.
   */
  readOnlyOption?: ReadOnlyOption;
  /**
   * For 'leaseBased' reads: how much faster any node's clock may tick than any other's, as a
   * ratio >= 1 (1.5: one clock ticks at most 1.5 times as fast as another). A follower that
   * acknowledged a heartbeat grants no vote for electionTicks of its own ticks; the leader
   * counts its lease as floor((electionTicks - 1) / clockDriftBound) of its ticks from sending
   * that heartbeat. If clocks drift more than this, or a tick stalls (a paused process), a
   * lease read can be stale.
   */
  clockDriftBound?: number;
  /** The index the application has already applied (its state survives restarts only up to here). */
  applied?: number;
  /**
   * etcd-io/raft's AsyncStorageWrites: a Ready's entries and hard state become durable
   * later, and the caller says when with `RaftNode.onDurable(ready)`. Until then this node
   * counts neither its own entries toward a commit nor its own vote toward an election; the
   * caller must hold the Ready's msgAppResp, msgVoteResp and msgPreVoteResp until then too.
   */
  asyncStorageWrites?: boolean;
  testingKnobs?: RaftTestingKnobs;
}

/** Defaults; each limit bounds memory or message size. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
export const DEFAULT_MAX_ENTRIES_PER_MSG = 1024;
/** 1 MiB: etcd's default order of magnitude, and well under our transport's frame size. */
export const DEFAULT_MAX_SIZE_PER_MSG_BYTES = 1024 * 1024;
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_UNCOMMITTED_ENTRIES = 10_000;
/** Read requests a leader holds while it has not yet committed an entry of its term. */
export const PENDING_READ_INDEX_MAX = 1024;
/** Default clock drift bound for lease reads: generous for NTP-synced hosts, and it still leaves a lease of several ticks. */
export const DEFAULT_CLOCK_DRIFT_BOUND = 1.5;

export type ProposalResult =
  | { accepted: true; index: number; term: number }
  | { accepted: false; reason: 'notLeader' | 'transferring' | 'confChangePending' | 'overloaded' | 'invalidConfChange' | 'removed'; leader: NodeId; /** Why, for invalidConfChange. */ message?: string };

/**
 * The outcome of `forgetLeader`. Refused, as etcd-io/raft ignores MsgForgetLeader, by a
 * node that is not a follower (a leader or a candidate has no leader to forget), by one
 * that knows no leader, and under lease-based reads (the lease rests on followers not
 * voting for an election timeout after hearing from the leader).
 */
export type ForgetLeaderResult = { forgotten: true } | { forgotten: false; reason: 'notFollower' | 'noLeader' | 'leaseBasedReads' };

/** 'removed': this node applied its own removal from the group; it serves nothing until a later configuration adds it back. */
export type RequestResult = { accepted: true } | { accepted: false; reason: 'noLeader' | 'notLeader' | 'overloaded' | 'invalidTarget' | 'removed'; leader: NodeId };

export interface SoftState {
  lead: NodeId;
  role: RaftRole;
}

const CONF_CHANGE_ENCODER = new TextEncoder();
const CONF_CHANGE_DECODER = new TextDecoder();

const CONF_CHANGE_TYPES: readonly ConfChangeType[] = ['addVoter', 'removeVoter', 'addLearner'];
const CONF_CHANGE_TRANSITIONS: readonly ConfChangeV2['transition'][] = ['auto', 'jointImplicit', 'jointExplicit'];

/** A single change, encoded as it always was (logs written before ConfChangeV2 still decode). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return CONF_CHANGE_ENCODER.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

export function encodeConfChangeV2(cc: ConfChangeV2): Uint8Array {
  return CONF_CHANGE_ENCODER.encode(JSON.stringify({ transition: cc.transition, changes: cc.changes.map((c) => ({ type: c.type, nodeId: c.nodeId })) }));
}

function checkSingle(v: unknown): ConfChange {
  const c = v as ConfChange;
  invariant(typeof c === 'object' && c !== null && CONF_CHANGE_TYPES.includes(c.type), () => `bad conf change ${JSON.stringify(v)}`);
  invariant(Number.isInteger(c.nodeId) && c.nodeId > 0, () => `bad conf change node ${JSON.stringify(v)}`);
  return { type: c.type, nodeId: c.nodeId };
}

/** Decode a single change; a V2 entry decodes only if it is one change with transition 'auto'. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const v2 = decodeConfChangeV2(data);
  invariant(v2.transition === 'auto' && v2.changes.length === 1, () => `conf change ${JSON.stringify(v2)} is not a single change`);
  return v2.changes[0]!;
}

/** Decode either encoding as a V2 change (a single change is V2 with one element, transition 'auto'). */
export function decodeConfChangeV2(data: Uint8Array): ConfChangeV2 {
  const v = JSON.parse(CONF_CHANGE_DECODER.decode(data)) as { transition?: unknown; changes?: unknown };
  if (!('changes' in v)) return { transition: 'auto', changes: [checkSingle(v)] };
  invariant(CONF_CHANGE_TRANSITIONS.includes(v.transition as ConfChangeV2['transition']) && Array.isArray(v.changes), () => `bad conf change ${JSON.stringify(v)}`);
  return { transition: v.transition as ConfChangeV2['transition'], changes: (v.changes as unknown[]).map(checkSingle) };
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: RaftRole = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readOnly: ReadOnly;
  /** Outgoing messages, handed out by the next Ready. */
  msgs: Message[] = [];
  /** Answered reads, handed out by the next Ready. */
  readStates: ReadState[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NONE;
  /** Index of the last conf change appended by this leader; a new one waits until it is applied. */
  private pendingConfIndex = 0;
  /** Reads that arrived before this leader committed an entry of its own term. */
  private pendingReadIndex: { from: NodeId; context: string }[] = [];
  /** Leader: ticks since it became leader; heartbeats carry it so their acks date the read lease. */
  private leaderTicks = 0;
  /** Leader: per peer, the `sentTick` of the newest heartbeat it acknowledged. */
  private heartbeatAckTicks = new Map<NodeId, number>();
  /** Leader: a msgTimeoutNow left in this term; its target campaigns through the followers' leases. */
  private timeoutNowSent = false;
  /** Restarted with lease reads: the heartbeats we acked before the crash are forgotten, so honour them for one election timeout. */
  private leaseHeldAfterRestart = false;
  /**
   * This node applied a change that removed it (etcd's "the member has been permanently
   * removed"): it neither campaigns nor serves proposals, reads or transfers. Cleared if a
   * later configuration adds it back. Volatile: a restarted node learns it again by
   * re-applying the entry (an application that must remember across compaction keeps its
   * own record of removed ids, as etcd's membership store does).
   */
  private removedFromGroup = false;

  private readonly electionTicks: number;
  private readonly electionTimeoutJitterTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: () => number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxEntriesPerMsg: number;
  private readonly maxSizePerMsgBytes: number;
  private readonly batchAppends: boolean;
  /**
   * Entry bytes of each append `extendQueuedAppend` grew, so that growing it again adds only the new entries' bytes:
   * summing the whole message on each extension was quadratic in the proposals of one Ready (up to 1,024 entries).
   */
  private readonly queuedAppendBytes = new WeakMap<MsgApp, number>();
  private readonly maxUncommittedEntries: number;
  private readonly maxUncommittedSizeBytes: number;
  /** Payload bytes this leader proposed in its term and has not yet committed. */
  private uncommittedSizeBytes = 0;
  /** Leader ticks a lease read may rely on after the heartbeat a quorum acknowledged was sent. */
  private readonly leaseTicks: number;
  readonly maxCommittedSizePerReadyBytes: number;
  readonly maxCommittedEntriesPerReady: number;
  private readonly knobs: RaftTestingKnobs;
  readonly asyncStorageWrites: boolean;
  /** Async writes: the last index known durable on this node's own disk (lowered when a Ready replaces entries from below it). */
  durableIndex = 0;

  constructor(config: RaftConfig, storage: MemoryStorage, hardState: HardState) {
    invariant(config.id > 0, 'node id must be positive');
    invariant(config.heartbeatTicks > 0 && config.electionTicks > config.heartbeatTicks, 'need 0 < heartbeatTicks < electionTicks');
    const readOnlyOption = config.readOnlyOption ?? 'safe';
    // Followers honour a leader's lease (ignore campaigns) only under check-quorum.
    invariant(readOnlyOption === 'safe' || config.checkQuorum === true, 'leaseBased reads need checkQuorum: followers keep the lease only under check-quorum');
    const clockDriftBound = config.clockDriftBound ?? DEFAULT_CLOCK_DRIFT_BOUND;
    invariant(clockDriftBound >= 1, () => `clockDriftBound is a ratio >= 1, got ${clockDriftBound}`);
    this.leaseTicks = Math.floor((config.electionTicks - 1) / clockDriftBound);
    invariant(readOnlyOption === 'safe' || this.leaseTicks >= 1, () => `leaseBased reads with electionTicks ${config.electionTicks} and clockDriftBound ${clockDriftBound} leave no lease`);
    this.id = config.id;
    this.electionTicks = config.electionTicks;
    this.electionTimeoutJitterTicks = config.electionTimeoutJitterTicks ?? config.electionTicks;
    invariant(Number.isInteger(this.electionTimeoutJitterTicks) && this.electionTimeoutJitterTicks >= 0, () => `electionTimeoutJitterTicks must be a non-negative integer, got ${this.electionTimeoutJitterTicks}`);
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.preVote = config.preVote ?? false;
    this.checkQuorum = config.checkQuorum ?? false;
    this.maxEntriesPerMsg = config.maxEntriesPerMsg ?? DEFAULT_MAX_ENTRIES_PER_MSG;
    this.maxSizePerMsgBytes = config.maxSizePerMsgBytes ?? DEFAULT_MAX_SIZE_PER_MSG_BYTES;
    this.batchAppends = config.batchAppends ?? true;
    this.maxCommittedSizePerReadyBytes = config.maxCommittedSizePerReadyBytes ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES;
    this.maxCommittedEntriesPerReady = Math.max(1, config.maxCommittedEntriesPerReady ?? Number.MAX_SAFE_INTEGER);
    this.maxUncommittedEntries = config.maxUncommittedEntries ?? DEFAULT_MAX_UNCOMMITTED_ENTRIES;
    this.maxUncommittedSizeBytes = config.maxUncommittedSizeBytes ?? Number.POSITIVE_INFINITY;
    invariant(this.maxUncommittedSizeBytes > 0, 'maxUncommittedSizeBytes must be positive');
    this.knobs = config.testingKnobs ?? {};
    this.asyncStorageWrites = config.asyncStorageWrites === true;
    this.log = new RaftLog(storage, config.applied ?? 0);
    this.tracker = new ProgressTracker(config.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS, config.maxInflightBytes ?? Number.POSITIVE_INFINITY, this.knobs.jointQuorumIncomingOnly === true);
    this.readOnly = new ReadOnly(readOnlyOption);
    this.tracker.setConf(storage.snapshot().metadata.confState, this.log.lastIndex() + 1);
    if (hardState.term > 0 || hardState.commit > 0) {
      invariant(hardState.commit >= this.log.committed || hardState.commit === 0, 'hard state commit below the snapshot');
      invariant(hardState.commit <= this.log.lastIndex(), () => `hard state commit ${hardState.commit} beyond last index ${this.log.lastIndex()}`);
      this.log.commitTo(hardState.commit);
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    // Whatever storage held at start was persisted before.
    this.durableIndex = this.log.lastStableIndex();
    this.becomeFollower(this.term, NONE);
    this.leaseHeldAfterRestart = readOnlyOption === 'leaseBased' && hardState.term > 0;
  }

  // ---------------------------------------------------------------- state

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  confState(): ConfState {
    return this.tracker.confState();
  }

  /** A voter in the current configuration: only voters campaign. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  /** Whether this node has applied its own removal (and no later re-addition). */
  removed(): boolean {
    return this.removedFromGroup;
  }

  leaderTransferee(): NodeId {
    return this.leadTransferee;
  }

  private send(m: Message): void {
    invariant(m.to !== this.id, 'a node never sends to itself');
    this.msgs.push(m);
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    invariant(r >= 0 && r < 1, `random() must return [0, 1), got ${r}`);
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(r * this.electionTimeoutJitterTicks);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      invariant(term > this.term, () => `term went backwards: ${this.term} -> ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.tracker.resetVotes();
    const next = this.log.lastIndex() + 1;
    for (const [id, old] of this.tracker.progress) {
      const pr = new Progress(next, this.tracker.maxInflightMsgs, old.isLearner, this.tracker.maxInflightBytes);
      if (id === this.id) pr.match = this.selfDurableIndex();
      this.tracker.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.pendingReadIndex = [];
    this.readOnly.reset();
    this.leaderTicks = 0;
    this.heartbeatAckTicks = new Map();
    this.timeoutNowSent = false;
    this.leaseHeldAfterRestart = false;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    // Pre-vote changes neither term nor vote: a failed pre-vote leaves no trace.
    this.tracker.resetVotes();
    this.lead = NONE;
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    // Only this term's proposals count against maxUncommittedSizeBytes.
    this.uncommittedSizeBytes = 0;
    const self = this.tracker.progress.get(this.id);
    invariant(self !== undefined, 'a leader is in its own configuration');
    self.becomeReplicate();
    self.match = this.selfDurableIndex();
    // Conservatively: any conf change in the log may be unapplied.
    this.pendingConfIndex = this.log.lastIndex();
    // The no-op of the new term: committing it commits everything before it (§5.4.2).
    this.appendEntries([{ term: this.term, index: 0, type: 'normal', data: new Uint8Array(0) }]);
  }

  /** What this node may count as its own replica: handed to storage (sync writes) or known durable (async). */
  private selfDurableIndex(): number {
    if (!this.asyncStorageWrites) return this.log.lastStableIndex();
    return Math.min(this.durableIndex, this.log.lastIndex());
  }

  /** Async writes: entries up to `index` (still in the log with the term that was written) are durable. */
  markDurable(index: number): void {
    this.durableIndex = Math.max(this.durableIndex, index);
    this.selfPersistedTo(index);
  }

  /** Async writes: a Ready rewrites the log from `firstIndex` on (or installs a snapshot: 0), so nothing from there on is durable yet. */
  lowerDurableIndex(below: number): void {
    this.durableIndex = Math.min(this.durableIndex, below);
  }

  /** Async writes: our vote for ourselves in `term` is durable; only now does it count. */
  selfVoteDurable(term: number): void {
    if (this.role !== 'candidate' || this.term !== term || this.vote !== this.id) return;
    this.tracker.recordVote(this.id, true);
    this.afterVote();
  }

  private appendEntries(entries: Entry[]): number {
    let index = this.log.lastIndex();
    const stamped = entries.map((e) => ({ ...e, term: this.term, index: ++index }));
    return this.log.append(stamped);
  }

  // ---------------------------------------------------------------- time

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) this.leaseHeldAfterRestart = false;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.leaderTicks++;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.tracker.quorumActive(this.id)) {
          this.becomeFollower(this.term, NONE);
          return;
        }
        for (const [id, pr] of this.tracker.progress) pr.recentActive = id === this.id;
      }
      // A transfer that did not finish within an election timeout is abandoned (a removed leader tries again).
      if (this.leadTransferee !== NONE) this.leadTransferee = NONE;
      if (!this.tracker.isVoter(this.id)) this.handOffLeadership();
    }
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id || pr.state !== 'snapshot') continue;
      // The snapshot (or its answer) may have been lost: fall back to probing.
      if (++pr.snapshotTicks >= this.electionTicks) {
        pr.becomeProbe();
        this.maybeSendAppend(id, true);
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastPendingContext());
    }    // An auto-leave refused earlier (e.g. during a transfer) is retried.
    this.maybeAutoLeave();
  }

  // ---------------------------------------------------------------- elections

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (lo > this.log.committed) return false;
    return this.log.slice(lo, this.log.committed + 1).some((e) => e.type === 'confChange');
  }

  /** Start an election (or a pre-vote). `transfer` skips pre-vote and others' leases. */
  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // Our configuration may be about to change; campaigning under the old one could split the group.
    if (this.hasUnappliedConfChanges()) return;
    if (this.preVote && !transfer) this.campaign('msgPreVote', false);
    else this.campaign('msgVote', transfer);
  }

  private campaign(type: 'msgVote' | 'msgPreVote', transfer: boolean): void {
    let term: number;
    if (type === 'msgPreVote') {
      this.becomePreCandidate();
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    // With async writes our vote counts once it is durable (selfVoteDurable); a pre-vote binds nothing and counts at once.
    if (!this.asyncStorageWrites || type === 'msgPreVote') {
      this.tracker.recordVote(this.id, true);
      if (this.tracker.voteResult() === 'won') {
        if (type === 'msgPreVote') this.campaign('msgVote', transfer);
        else this.becomeLeader();
        return;
      }
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.tracker.allVoters()) {
      if (id === this.id) continue;
      this.send({ type, from: this.id, to: id, term, index, logTerm, transfer });
    }
  }

  /** Our commit index and the term there, for a rejected candidate (see MsgVoteResp.commit). */
  private commitHint(): { commit: number; commitTerm: number } | Record<string, never> {
    const commitTerm = this.log.term(this.log.committed);
    return commitTerm === undefined || this.log.committed === 0 ? {} : { commit: this.log.committed, commitTerm };
  }

  /** A peer committed up to `commit`, where its entry has term `commitTerm`: if ours matches, so is our prefix. */
  private learnCommit(commit: number | undefined, commitTerm: number | undefined): void {
    if (commit === undefined || commitTerm === undefined || commit <= this.log.committed) return;
    if (this.log.term(commit) === commitTerm) this.log.commitTo(commit);
  }

  private handleVoteRequest(m: MsgVote): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      // A pre-vote for a future term does not bind us to anything.
      (m.type === 'msgPreVote' && m.term > this.term);
    const upToDate = this.knobs.grantVoteWithoutUpToDateCheck === true || this.log.isUpToDate(m.index, m.logTerm);
    const respType = m.type === 'msgVote' ? 'msgVoteResp' : 'msgPreVoteResp';
    if (canVote && upToDate) {
      // Answer in the candidate's term so a pre-candidate counts it.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'msgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true, ...this.commitHint() });
    }
  }

  // ---------------------------------------------------------------- step

  step(m: Message): void {
    invariant(m.to === this.id, () => `message for ${m.to} delivered to ${this.id}`);
    if ((m.type === 'msgVoteResp' || m.type === 'msgPreVoteResp') && m.reject) this.learnCommit(m.commit, m.commitTerm);
    if (isForwardedRequest(m)) {
      this.stepForwarded(m);
      return;
    }
    if (m.term > this.term) {
      if (m.type === 'msgVote' || m.type === 'msgPreVote') {
        const inLease = this.checkQuorum && (this.lead !== NONE || this.leaseHeldAfterRestart) && this.electionElapsed < this.electionTicks;
        // Within a leader lease we ignore campaigns: the leader is alive, the candidate is disruptive.
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'msgPreVote') {
        // Never change term for a pre-vote request.
      } else if (m.type === 'msgPreVoteResp' && !m.reject) {
        // The pre-vote was granted for the term we will campaign in.
      } else if (m.type === 'msgApp' || m.type === 'msgHeartbeat' || m.type === 'msgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'msgHeartbeat' || m.type === 'msgApp')) {
        // A stale leader (e.g. healed from a partition) learns our term and steps down;
        // without this it would keep its followers' pre-votes failing forever.
        this.send({ type: 'msgAppResp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'msgPreVote') {
        this.send({ type: 'msgPreVoteResp', from: this.id, to: m.from, term: this.term, reject: true, ...this.commitHint() });
      }
      return;
    }

    if (m.type === 'msgVote' || m.type === 'msgPreVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
      default:
        assertNever(this.role);
    }
  }

  private stepForwarded(m: Message): void {
    if (this.role !== 'leader') return;
    switch (m.type) {
      case 'msgReadIndex':
        this.leaderReadIndex(m.from, m.context);
        return;
      case 'msgTransferLeader':
        this.leaderTransfer(m.transferee);
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'msgAppResp':
        this.handleAppendResponse(m.from, m.index, m.reject, m.rejectHint, m.logTerm);
        return;
      case 'msgHeartbeatResp':
        this.handleHeartbeatResponse(m.from, m.context, m.sentTick);
        return;
      case 'msgApp':
      case 'msgHeartbeat':
      case 'msgSnap':
        // Two leaders in one term would break election safety.
        invariant(false, () => `leader ${this.id} got ${m.type} from ${m.from} in its own term ${this.term}`);
        return;
      case 'msgVoteResp':
      case 'msgPreVoteResp':
      case 'msgTimeoutNow':
      case 'msgReadIndexResp':
      case 'msgVote':
      case 'msgPreVote':
      case 'msgReadIndex':
      case 'msgTransferLeader':
        return;
      default:
        assertNever(m);
    }
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === 'preCandidate' ? 'msgPreVoteResp' : 'msgVoteResp';
    switch (m.type) {
      case 'msgApp':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'msgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'msgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'msgVoteResp':
      case 'msgPreVoteResp': {
        if (m.type !== myVoteResp) return;
        this.tracker.recordVote(m.from, !m.reject);
        this.afterVote();
        return;
      }
      case 'msgAppResp':
      case 'msgHeartbeatResp':
      case 'msgTimeoutNow':
      case 'msgReadIndexResp':
      case 'msgVote':
      case 'msgPreVote':
      case 'msgReadIndex':
      case 'msgTransferLeader':
        return;
      default:
        assertNever(m);
    }
  }

  private afterVote(): void {
    const result = this.tracker.voteResult();
    if (result === 'won') {
      if (this.role === 'preCandidate') {
        this.campaign('msgVote', false);
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === 'lost') {
      this.becomeFollower(this.term, NONE);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'msgApp':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'msgHeartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'msgSnap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'msgTimeoutNow':
        // Our leader asks us to take over now: no pre-vote, and voters ignore their lease.
        this.hup(true);
        return;
      case 'msgReadIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      case 'msgAppResp':
      case 'msgHeartbeatResp':
      case 'msgVoteResp':
      case 'msgPreVoteResp':
      case 'msgVote':
      case 'msgPreVote':
      case 'msgReadIndex':
      case 'msgTransferLeader':
        return;
      default:
        assertNever(m);
    }
  }

  // ---------------------------------------------------------------- follower side

  private handleAppend(m: MsgApp): void {
    if (m.index < this.log.committed) {
      this.send({ type: 'msgAppResp', from: this.id, to: m.from, term: this.term, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: 'msgAppResp', from: this.id, to: m.from, term: this.term, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    // Fast backtracking: skip every index whose term cannot match (term > m.logTerm).
    const hintIndex = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    const hintTerm = this.log.term(hintIndex) ?? 0;
    this.send({ type: 'msgAppResp', from: this.id, to: m.from, term: this.term, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm });
  }

  private handleHeartbeat(m: MsgHeartbeat): void {
    this.log.commitTo(m.commit);
    this.send({ type: 'msgHeartbeatResp', from: this.id, to: m.from, term: this.term, context: m.context, sentTick: m.sentTick });
  }

  private handleSnapshot(m: MsgSnap): void {
    if (this.restore(m)) {
      this.send({ type: 'msgAppResp', from: this.id, to: m.from, term: this.term, index: this.log.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 });
    } else {
      this.send({ type: 'msgAppResp', from: this.id, to: m.from, term: this.term, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
    }
  }

  /** Install a leader's snapshot. Returns false when it brings nothing new. */
  private restore(m: MsgSnap): boolean {
    const s = m.snapshot.metadata;
    if (s.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.index, s.term)) {
      // We already have the entries: just fast-forward the commit index.
      this.log.commitTo(s.index);
      return false;
    }
    this.log.restore(m.snapshot);
    this.tracker.setConf(s.confState, this.log.lastIndex() + 1);
    // A leader sends snapshots only to its members; a snapshot older than our addition may not list us yet.
    if (this.tracker.progress.has(this.id)) this.removedFromGroup = false;
    return true;
  }

  // ---------------------------------------------------------------- leader side

  private handleAppendResponse(from: NodeId, index: number, reject: boolean, rejectHint: number, logTerm: number): void {
    const pr = this.tracker.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    if (reject) {
      let nextProbe = rejectHint;
      if (logTerm > 0) nextProbe = this.log.findConflictByTerm(rejectHint, logTerm);
      if (pr.maybeDecrTo(index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.maybeSendAppend(from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(index);
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else if (wasPaused) {
      this.maybeSendAppend(from, false);
    }
    // Stream on while the window allows.
    while (this.maybeSendAppend(from, false)) {
      /* keep filling the inflight window */
    }
    if (from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(from);
      this.stepDownIfRemoved();
    }
  }

  private handleHeartbeatResponse(from: NodeId, context: string, sentTick: number): void {
    const pr = this.tracker.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    invariant(sentTick <= this.leaderTicks, () => `heartbeat ack from ${from} for tick ${sentTick}, but this leader is at tick ${this.leaderTicks}`);
    if (sentTick > (this.heartbeatAckTicks.get(from) ?? -1)) this.heartbeatAckTicks.set(from, sentTick);
    pr.probeSent = false;
    // A lost append must not stall a full window forever.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.maybeSendAppend(from, true);
    if (context === '') return;
    const acks = this.readOnly.recvAck(from, context);
    if (!acks) return;
    if (!this.tracker.hasQuorum(acks)) return;
    for (const req of this.readOnly.advance(context)) this.answerRead(req.from, req.index, req.context);
  }

  /** Advance commit by counting replicas; only entries of the current term are counted (Figure 8). */
  private maybeCommit(): boolean {
    const index = this.tracker.committed();
    if (index <= this.log.committed) return false;
    if (!this.knobs.commitByCountingOldTermEntries && this.log.term(index) !== this.term) return false;
    this.releaseUncommittedSize(this.log.committed, index);
    this.log.commitTo(index);
    this.releasePendingReads();
    return true;
  }

  /** Entries (from, to] are committing: their payload no longer counts against maxUncommittedSizeBytes. */
  private releaseUncommittedSize(from: number, to: number): void {
    if (this.uncommittedSizeBytes === 0) return;
    let bytes = 0;
    for (const e of this.log.slice(Math.max(from + 1, this.log.firstIndex()), to + 1)) bytes += e.data.byteLength;
    // Entries of earlier terms were never counted: floor at zero, as etcd does.
    this.uncommittedSizeBytes = Math.max(0, this.uncommittedSizeBytes - bytes);
  }

  /** Leader: our own entries became durable up to `index`. */
  selfPersistedTo(index: number): void {
    if (this.role !== 'leader') return;
    const pr = this.tracker.progress.get(this.id);
    if (!pr) return;
    if (pr.maybeUpdate(index) && this.maybeCommit()) this.bcastAppend();
  }

  /** Send an append (or a snapshot) to `to` if flow control allows. Returns whether something was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.entriesFrom(pr.next, this.maxEntriesPerMsg, this.maxSizePerMsgBytes);
    if (prevTerm === undefined || entries === undefined) {
      // The follower needs entries we compacted: send the snapshot.
      const snapshot = this.log.snapshot();
      invariant(snapshot.metadata.index > 0, () => `entries at ${pr.next} compacted but no snapshot to send`);
      pr.becomeSnapshot(snapshot.metadata.index);
      this.send({ type: 'msgSnap', from: this.id, to, term: this.term, snapshot });
      return true;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    if (!this.extendQueuedAppend(to, prevIndex, prevTerm, entries)) {
      this.send({ type: 'msgApp', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    }
    let bytes = 0;
    for (const e of entries) bytes += e.data.byteLength;
    pr.sentEntries(entries.length, entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex, bytes);
    return entries.length > 0;
  }

  /**
   * One append per follower per Ready, not one per proposal: when the last message queued for `to` (not yet
   * handed out in a Ready) is an append of this term that ends where this one starts, this one's entries and
   * commit index go into it instead of a message of their own (what raft-rs and CockroachDB's raft call lazy or
   * batched appends; etcd-io/raft sends eagerly, one per MsgProp). The follower sees the same log and commit
   * index as after the separate appends, and answers once; the sender's Progress is updated exactly as for
   * separate appends (its inflight window counts each, so flow control is never looser). Within the message
   * bounds only; a message to `to` queued after the append (a heartbeat) keeps it from being extended, so the
   * order of what `to` receives is unchanged.
   */
  private extendQueuedAppend(to: NodeId, prevIndex: number, prevTerm: number, entries: Entry[]): boolean {
    if (!this.batchAppends) return false;
    const msgs = this.msgs;
    // The last message to `to` is a few back at most (each broadcast queues one per peer): a bounded look.
    const lookMax = 2 * this.tracker.progress.size;
    for (let i = msgs.length - 1, looked = 0; i >= 0 && looked < lookMax; i--, looked++) {
      const q = msgs[i]!;
      if (q.to !== to) continue;
      if (q.type !== 'msgApp' || q.term !== this.term) return false;
      const queued = q.entries;
      const last = queued.length > 0 ? queued[queued.length - 1]! : { index: q.index, term: q.logTerm };
      if (last.index !== prevIndex || last.term !== prevTerm) return false;
      if (queued.length + entries.length > this.maxEntriesPerMsg) return false;
      if (entries.length > 0) {
        let bytes = this.queuedAppendBytes.get(q);
        if (bytes === undefined) {
          bytes = 0;
          for (const e of queued) bytes += entrySizeBytes(e);
        }
        for (const e of entries) bytes += entrySizeBytes(e);
        if (bytes > this.maxSizePerMsgBytes) return false;
        this.queuedAppendBytes.set(q, bytes);
      }
      // The queued array was made for that message alone (RaftLog.slice copies): extended in place.
      for (const e of entries) queued.push(e);
      q.commit = this.log.committed;
      return true;
    }
    return false;
  }

  private bcastAppend(): void {
    for (const id of this.tracker.progress.keys()) {
      if (id !== this.id) this.maybeSendAppend(id, true);
    }
  }

  private bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to have.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'msgHeartbeat', from: this.id, to: id, term: this.term, commit, context, sentTick: this.leaderTicks });
    }
  }

  // ---------------------------------------------------------------- application requests

  propose(data: Uint8Array): ProposalResult {
    return this.proposeEntry({ term: 0, index: 0, type: 'normal', data });
  }

  /**
   * A single-server change, with the checks this API always made: adding a member that
   * already is one, or removing the last voter, is refused. Goes through as a V2 change
   * with one element (no joint configuration).
   */
  proposeConfChange(cc: ConfChange): ProposalResult {
    if (this.role === 'leader') {
      const voters = this.tracker.voters;
      const learners = this.tracker.learners;
      const valid =
        (cc.type === 'addVoter' && !voters.has(cc.nodeId)) ||
        (cc.type === 'addLearner' && !learners.has(cc.nodeId) && !voters.has(cc.nodeId)) ||
        // Never remove the last voter: nobody could ever commit again.
        (cc.type === 'removeVoter' && (learners.has(cc.nodeId) || (voters.has(cc.nodeId) && voters.size > 1)));
      if (!valid && this.pendingConfIndex <= this.log.applied) return { accepted: false, reason: 'invalidConfChange', leader: this.lead, message: `${cc.type} ${cc.nodeId} changes nothing or removes the last voter` };
    }
    return this.proposeConfChangeV2({ transition: 'auto', changes: [cc] }, encodeConfChange(cc));
  }

  /**
   * Propose a ConfChangeV2. Refused, as etcd refuses it, while another change is not yet
   * applied, when it would enter a joint configuration from a joint one (leave first),
   * when it asks to leave a configuration that is not joint, or when the change itself
   * is invalid against the current configuration (e.g. it removes every voter).
   */
  proposeConfChangeV2(cc: ConfChangeV2, data: Uint8Array = encodeConfChangeV2(cc)): ProposalResult {
    if (this.role === 'leader') {
      if (this.pendingConfIndex > this.log.applied) return { accepted: false, reason: 'confChangePending', leader: this.lead };
      const refusal = this.confChangeRefusal(cc);
      if (refusal !== undefined) return { accepted: false, reason: 'invalidConfChange', leader: this.lead, message: refusal };
    }
    const result = this.proposeEntry({ term: 0, index: 0, type: 'confChange', data });
    if (result.accepted) this.pendingConfIndex = result.index;
    return result;
  }

  private confChangeRefusal(cc: ConfChangeV2): string | undefined {
    const joint = this.tracker.isJoint();
    if (joint && !leavesJoint(cc)) return 'possible unapplied conf change: must transition out of joint config first';
    if (!joint && leavesJoint(cc)) return 'not in joint state; refusing empty conf change';
    const next = applyChange(this.tracker.config, cc);
    return next.ok ? undefined : next.error;
  }

  private proposeEntry(e: Entry): ProposalResult {
    if (this.removedFromGroup) return { accepted: false, reason: 'removed', leader: NONE };
    if (this.role !== 'leader') return { accepted: false, reason: 'notLeader', leader: this.lead };
    if (this.leadTransferee !== NONE) return { accepted: false, reason: 'transferring', leader: this.lead };
    if (this.log.lastIndex() - this.log.committed >= this.maxUncommittedEntries) return { accepted: false, reason: 'overloaded', leader: this.lead };
    const sizeBytes = e.data.byteLength;
    if (this.uncommittedSizeBytes > 0 && this.uncommittedSizeBytes + sizeBytes > this.maxUncommittedSizeBytes) return { accepted: false, reason: 'overloaded', leader: this.lead };
    if (this.knobs.leaderDropsProposals === true && e.type === 'normal') return { accepted: true, index: this.log.lastIndex() + 1, term: this.term };
    const index = this.appendEntries([e]);
    this.uncommittedSizeBytes += sizeBytes;
    this.bcastAppend();
    // Commit also waits for our own persistence: see selfPersistedTo.
    return { accepted: true, index, term: this.term };
  }

  /**
   * etcd-io/raft's ForgetLeader: a follower forgets its leader (lead becomes NONE) and stays
   * a follower in the same term, with the same vote, without campaigning. Its leader lease
   * ends with it: with check-quorum it now grants pre-votes and votes at once instead of
   * ignoring them for an election timeout, so when a quorum of followers learn by a side
   * channel that the leader died, an election can finish without waiting out the timeout.
   * Only liveness changes: a vote is still granted once per term and only to an up-to-date
   * log, and a leader that is in fact alive is heard again with its next heartbeat.
   */
  forgetLeader(): ForgetLeaderResult {
    if (this.role !== 'follower') return { forgotten: false, reason: 'notFollower' };
    if (this.readOnly.option === 'leaseBased' && this.knobs.forgetLeaderUnderLeaseReads !== true) return { forgotten: false, reason: 'leaseBasedReads' };
    if (this.lead === NONE) return { forgotten: false, reason: 'noLeader' };
    this.lead = NONE;
    if (this.knobs.forgetLeaderClearsVote === true) this.vote = NONE;
    return { forgotten: true };
  }

  /** Start an election now (pre-vote first when enabled), as if the election timeout fired. */
  startElection(): void {
    this.hup(false);
  }

  /** Ask for a linearizable read point; the answer arrives as a ReadState with the same context. */
  readIndex(context: string): RequestResult {
    // The leader no longer sends us entries: a read point we could never reach would hang.
    if (this.removedFromGroup) return { accepted: false, reason: 'removed', leader: NONE };
    if (this.role === 'leader') return this.leaderReadIndex(this.id, context);
    if (this.lead === NONE || this.role !== 'follower') return { accepted: false, reason: 'noLeader', leader: NONE };
    this.send({ type: 'msgReadIndex', from: this.id, to: this.lead, term: 0, context });
    return { accepted: true };
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private leaderReadIndex(from: NodeId, context: string): RequestResult {
    // Until an entry of our term commits, our commit index may lag the previous leader's, or, for
    // a sole voter, its own before a crash (a commit index write is not synced): found by the sweep.
    if (!this.committedEntryInCurrentTerm()) {
      if (this.pendingReadIndex.length >= PENDING_READ_INDEX_MAX) return { accepted: false, reason: 'overloaded', leader: this.id };
      this.pendingReadIndex.push({ from, context });
      return { accepted: true };
    }
    return this.serveRead(from, context);
  }

  private serveRead(from: NodeId, context: string): RequestResult {
    // Alone, there is nobody whose acknowledgement could confirm anything.
    if (this.tracker.isSoleVoter(this.id)) {
      this.answerRead(from, this.log.committed, context);
      return { accepted: true };
    }
    if (this.readOnly.option === 'leaseBased' && this.holdsLease()) {
      this.answerRead(from, this.log.committed, context);
      return { accepted: true };
    }
    if (!this.readOnly.addRequest(this.log.committed, context, from)) return { accepted: false, reason: 'overloaded', leader: this.id };
    this.readOnly.recvAck(this.id, context);
    this.bcastHeartbeat(context);
    return { accepted: true };
  }

  /**
   * The read lease (Raft thesis §6.4.1): a quorum of voters acknowledged a heartbeat sent at
   * leader tick S, and each of them grants no vote for electionTicks of its own ticks after
   * receiving it; so no other leader can exist before S + leaseTicks leader ticks, given the
   * clock drift bound. A transfer ends it: its target campaigns through those leases.
   */
  private holdsLease(): boolean {
    if (this.knobs.leaseFromCheckQuorumOnly) return this.role === 'leader';
    if (this.role !== 'leader' || this.timeoutNowSent || this.leadTransferee !== NONE) return false;
    const leaseStart = this.tracker.quorumValue((id) => (id === this.id ? this.leaderTicks : (this.heartbeatAckTicks.get(id) ?? -Infinity)));
    return this.leaderTicks - leaseStart < this.leaseTicks;
  }

  private releasePendingReads(): void {
    if (this.pendingReadIndex.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const r of pending) this.serveRead(r.from, r.context);
  }

  private answerRead(from: NodeId, index: number, context: string): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: 'msgReadIndexResp', from: this.id, to: from, term: this.term, index, context });
  }

  /** Hand leadership to `to`: catch it up, then tell it to campaign at once (msgTimeoutNow). */
  transferLeadership(to: NodeId): RequestResult {
    if (this.removedFromGroup) return { accepted: false, reason: 'removed', leader: NONE };
    if (this.role === 'leader') return this.leaderTransfer(to);
    if (this.lead === NONE) return { accepted: false, reason: 'noLeader', leader: NONE };
    this.send({ type: 'msgTransferLeader', from: this.id, to: this.lead, term: 0, transferee: to });
    return { accepted: true };
  }

  private leaderTransfer(to: NodeId): RequestResult {
    if (to === this.id || !this.tracker.isVoter(to)) return { accepted: false, reason: 'invalidTarget', leader: this.id };
    if (this.leadTransferee === to) return { accepted: true };
    // Give the transfer one election timeout to finish.
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.tracker.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.maybeSendAppend(to, true);
    return { accepted: true };
  }

  private sendTimeoutNow(to: NodeId): void {
    // For the rest of this term the target may win a vote inside the followers' leases.
    this.timeoutNowSent = true;
    this.send({ type: 'msgTimeoutNow', from: this.id, to, term: this.term });
  }

  // ---------------------------------------------------------------- membership

  /** Founding membership: committed addVoter entries at 1..n in term 1, applied to the tracker now. */
  bootstrap(voters: NodeId[]): void {
    invariant(this.log.lastIndex() === 0 && this.term === 0, 'bootstrap needs an empty node');
    this.becomeFollower(1, NONE);
    const entries: Entry[] = voters.map((id, i) => ({ term: 1, index: i + 1, type: 'confChange', data: encodeConfChange({ type: 'addVoter', nodeId: id }) }));
    this.log.append(entries);
    this.log.commitTo(entries.length);
    for (const id of voters) this.applyConfChange({ type: 'addVoter', nodeId: id });
  }

  /** Apply a committed single-server change (as the application applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    return this.applyConfChangeV2({ transition: 'auto', changes: [cc] });
  }

  /**
   * Apply a committed change (as the application applies the entry). A change the
   * changer refuses (e.g. one that would remove every voter) leaves the configuration as
   * it is: every node refuses it alike, since every node applies the same log.
   */
  applyConfChangeV2(cc: ConfChangeV2): ConfState {
    const wasMember = this.tracker.progress.has(this.id);
    const next = applyChange(this.tracker.config, cc);
    if (next.ok) this.tracker.switchTo(next.config, this.log.lastIndex() + 1);
    const member = this.tracker.progress.has(this.id);
    // Removed by a change naming us, or by leaving a joint configuration whose incoming half dropped us.
    if (cc.changes.some((c) => c.nodeId === this.id)) this.removedFromGroup = !member;
    else if (leavesJoint(cc) && wasMember && !member) this.removedFromGroup = true;
    // A candidate that learned (from a vote rejection) of a committed change removing it stops campaigning.
    if ((this.role === 'candidate' || this.role === 'preCandidate') && !this.tracker.isVoter(this.id)) this.becomeFollower(this.term, NONE);
    if (this.role === 'leader') {
      if (!this.tracker.isVoter(this.id)) {
        // Removed or demoted, and in neither half (in a joint configuration it still leads through the outgoing half).
        if (this.maybeCommit()) this.bcastAppend();
        this.handOffLeadership();
      } else {
        if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = NONE;
        // A smaller quorum may commit more; new members need the log.
        if (this.maybeCommit()) this.bcastAppend();
        else for (const c of cc.changes) if (c.type !== 'removeVoter') this.maybeSendAppend(c.nodeId, true);
      }
    }
    return this.confState();
  }

  /**
   * A leader that applied its own removal (or demotion) steps down by handing leadership to
   * the most caught-up voter of the new configuration: it first brings that voter's log up
   * to its own, then sends msgTimeoutNow and becomes a follower. Stepping down at once could
   * strand the new configuration: its voters may not yet hold the change (or know it
   * committed), while the nodes that do (the removed ones, other leaders' followers) hold a
   * longer log and refuse them their votes. A voter with the whole log wins, with or without
   * the msgTimeoutNow. Retried every election timeout; meanwhile no proposal is accepted.
   */
  private handOffLeadership(): void {
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of this.tracker.allVoters()) {
      const match = this.tracker.progress.get(id)?.match ?? 0;
      if (id !== this.id && match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    if (best === NONE) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    this.leadTransferee = best;
    const pr = this.tracker.progress.get(best)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(best);
    else this.maybeSendAppend(best, true);
    this.stepDownIfRemoved();
  }

  /** A removed leader whose successor holds its whole log has nothing left to do. */
  private stepDownIfRemoved(): void {
    if (this.role === 'leader' && !this.tracker.isVoter(this.id) && this.timeoutNowSent) this.becomeFollower(this.term, NONE);
  }

  /**
   * Leader: a joint configuration with autoLeave is left as soon as it is applied (etcd's
   * ConfChangeTransitionAuto): propose the empty change. Retried on every call until it goes.
   */
  maybeAutoLeave(): void {
    if (this.role !== 'leader' || !this.tracker.isJoint() || !this.tracker.autoLeave()) return;
    if (this.pendingConfIndex > this.log.applied) return;
    this.proposeConfChangeV2({ transition: 'auto', changes: [] });
  }

  /** For tests and the simulator: the role's elapsed counters. */
  debugTimers(): { electionElapsed: number; randomizedElectionTimeout: number } {
    return { electionElapsed: this.electionElapsed, randomizedElectionTimeout: this.randomizedElectionTimeout };
  }
}
