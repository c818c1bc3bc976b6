/**
 * The deterministic simulation: N real RaftNodes, a seeded network that loses,
 * duplicates, delays and reorders; partitions; crashes that restart from the
 * simulated disk (losing unsynced writes); uneven tick rates. Safety is checked after
 * every step; after the chaos phase the network heals and liveness is required.
 *
 * A run is a pure function of (seed, nodes, knobs): a failing seed replays exactly.
 */
import { RaftInvariantError } from '../assert.js';
import type { Message } from '../protocol.js';
import type { RaftConfig, RaftTestingKnobs } from '../raft.js';
import { entersJoint } from '../confchange.js';
import { RaftNode, type Ready } from '../raw-node.js';
import { NONE, type ConfChange, type ConfChangeTransition, type ConfChangeV2, type ConfState, type NodeId, type Snapshot } from '../types.js';
import { SafetyChecker, SafetyViolation, chainDigest, entryKey } from './checker.js';
import { SimDisk } from './disk.js';
import { HEALTHY_NETWORK, SimNetwork, makePartition, type NetworkFaults } from './network.js';
import { Prng } from './prng.js';

export interface SimKnobs extends RaftTestingKnobs {
  /** Harness bug: send a Ready's messages before its writes are durable (a crash then forgets a vote or an acked entry). */
  skipPersistBeforeSend?: boolean;
  /**
   * Not a bug: etcd's optimization (Raft thesis §10.2.1), which src/kv's
   * replica uses. A leader whose term and vote are already durable sends a
   * Ready's messages before writing it, and until the heal crashes before
   * the fsync in 1 of 10 such Readies, losing what it had not synced. Must
   * stay safe.
   */
  leaderSendsBeforePersist?: boolean;
  /** Harness bug: the same early send and crash for every role, so a follower's ack can outrun its fsync. */
  anyRoleSendsBeforePersist?: boolean;
  /**
   * Harness bug under async storage writes (modes 'async', or 'joint' seeds with them): the
   * acknowledgements (msgAppResp, msgVoteResp, msgPreVoteResp) leave with the Ready instead of
   * waiting for its write to be durable, as a replica with `unsafeAckBeforeDurable` does.
   */
  asyncAcksBeforeDurable?: boolean;
  /**
   * Every seed serves lease-based reads, configured with clockDriftBound 1 while the simulated
   * clocks drift up to 2x: the leader's lease outlives its followers' promise not to vote.
   */
  leaseReadsAssumeNoDrift?: boolean;
}

/**
 * How membership changes during the chaos phase:
 * - 'single': one single-server change at a time (remove a voter, re-add as learner, promote);
 * - 'joint': ConfChangeV2 changes of any size (add learners, promote, replace or demote
 *   voters, several at once), through joint configurations left automatically or explicitly.
 */
export type SimMembership = 'single' | 'joint';

export interface SimOptions {
  seed: number;
  nodes: 3 | 5;
  /** Default 'single' (the scenario every pinned seed was found in); the sweep runs 'joint'. */
  membership?: SimMembership;
  /**
   * etcd-io/raft's AsyncStorageWrites: a Ready's appends and hard state become durable
   * 0..ASYNC_WRITE_TICKS_MAX ticks later, in order; its msgAppResp / msgVoteResp /
   * msgPreVoteResp leave only then, and the node counts its own entries and vote only then.
   * A crash loses what was not yet durable.
   */
  asyncStorageWrites?: boolean;
  /**
   * A failure detector beside the election timer, as src/kv's replica has one: when a node
   * crashes, every live node that follows it learns so at once (its streams closed) and calls
   * forgetLeader, then campaigns 0..FAILOVER_CAMPAIGN_TICKS_MAX ticks later if it still knows
   * no leader. The detector also misfires (a stale report of an earlier incarnation): now and
   * then every follower of a live leader forgets it, and half the partitions that isolate a
   * leader are taken for its death. forgetLeader must be safe whenever it is called; only
   * liveness may gain.
   */
  failureDetector?: boolean;
  /** Ticks of faults before the network heals. */
  chaosTicks?: number;
  knobs?: SimKnobs;
  /** RaftConfig.maxCommittedEntriesPerReady (default no bound): applied trails commit across Readies. */
  maxCommittedEntriesPerReady?: number;
  /** Receives a line per notable event (replay with --seed). */
  trace?: (line: string) => void;
}

export interface SimStats {
  ticks: number;
  leadersElected: number;
  maxTerm: number;
  committedIndex: number;
  crashes: number;
  /** Crashes between a Ready's early send and its fsync (the send-before-persist knobs only). */
  crashesBeforeFsync: number;
  partitions: number;
  messagesSent: number;
  messagesDropped: number;
  snapshotsSent: number;
  compactions: number;
  readsAnswered: number;
  transfers: number;
  /** Membership changes accepted by a leader. */
  confChanges: number;
  /** Ticks from healing to a proposal committed on every node. */
  livenessTicks: number;
  /** Ticks from healing to every node having applied that proposal. */
  convergenceTicks: number;
  /** Whether this run served lease-based reads (on bounded clocks). */
  leaseReads: boolean;
  /** Accepted membership changes that entered a joint configuration. */
  jointConfChanges: number;
  /** Async-writes runs: Readies whose writes completed later (and crashes that lost some still in flight). */
  asyncWrites: number;
  asyncWritesLost: number;
  /** Failure-detector runs: leaders forgotten by their followers (after a crash, or a misfire), and campaigns it started. */
  leadersForgotten: number;
  detectorCampaigns: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  ok: boolean;
  /** The property that broke, or 'liveness'. */
  failure?: { property: string; message: string; tick: number };
  stats: SimStats;
}

export const DEFAULT_CHAOS_TICKS = 1200;
const ELECTION_TICKS = 10;
/** After healing: enough for several randomized election rounds plus replication and snapshot catch-up. */
export const LIVENESS_TICKS_MAX = 40 * ELECTION_TICKS;
/** After the commit: a node that was down may need its whole backlog at one entry per round trip. */
export const CONVERGENCE_TICKS_MAX = 3000;
/** Back-pressure in the simulation: bounds the backlog a healed follower must catch up on. */
const SIM_MAX_UNCOMMITTED_ENTRIES = 64;
/** Share of seeds that serve lease-based reads (drawn from their own generator, so other seeds are unchanged). */
const LEASE_READ_SEED_SHARE = 0.25;
/**
 * Tick rates are 0.5..1 per step, so one clock runs at most 2x another; lease seeds declare 2.5
 * because ticks fall on whole steps, which adds up to a step of jitter at each end of a lease.
 */
const SIM_CLOCK_DRIFT_BOUND = 2.5;
/** Async storage writes complete 0..this many ticks after their Ready: several election ticks' worth of slow disk. */
export const ASYNC_WRITE_TICKS_MAX = 6;
/** A learner is promoted only when at most this many entries behind its leader. */
const PROMOTE_LAG_ENTRIES_MAX = 16;
/** A follower that forgot its crashed leader campaigns 0..this many ticks later (the replica's random delay, in ticks). */
const FAILOVER_CAMPAIGN_TICKS_MAX = 2;
/** Per step, the chance that the detector misfires on a live leader (its followers all forget it). */
const DETECTOR_MISFIRE_RATE = 0.005;
/** Share of partitions that isolate a leader which the detector also reports dead. */
const DETECTOR_PARTITION_MISFIRE_SHARE = 0.5;
/** Share of sweep seeds that run with async storage writes (drawn from the seed, so a replay gets the same). */
export const ASYNC_WRITES_SEED_SHARE = 1 / 3;

/** A Ready whose writes are in flight (async storage writes): its acknowledgements wait with it. */
interface PendingWrite {
  ready: Ready;
  /** Acknowledgements that may leave only once the writes are durable. */
  held: Message[];
  /** The disk write sequence number that makes this Ready durable. */
  diskSeq: number;
  dueTick: number;
}

/** Messages that promise durable state (etcd-io/raft's msgsAfterAppend). */
function promisesDurability(m: Message): boolean {
  return m.type === 'msgAppResp' || m.type === 'msgVoteResp' || m.type === 'msgPreVoteResp';
}

interface Scenario {
  faults: NetworkFaults;
  crashRate: number;
  restartTicksMax: number;
  partitionRate: number;
  partitionTicksMax: number;
  proposeRate: number;
  readRate: number;
  transferRate: number;
  compactAfterEntries: number;
  loseUnsyncedRate: number;
  /** 'jittery': each node ticks with probability tickRate per step (unbounded drift over short spans); 'bounded': exactly tickRate ticks per step on average, evenly spread. */
  clocks: 'jittery' | 'bounded';
  config: Omit<RaftConfig, 'id' | 'random'>;
}

function drawScenario(prng: Prng): Scenario {
  const base = drawBaseScenario(prng);
  if (!prng.chance(0.5)) return base;
  // A storm: partitions that come and go every few ticks, crashes, one entry per message.
  // Many short terms leave many divergent log tails: the ground the Figure 8 bug needs.
  return {
    ...base,
    faults: { ...base.faults, dropRate: prng.pick([0.05, 0.15]) },
    crashRate: prng.pick([0.01, 0.03]),
    restartTicksMax: prng.pick([5, 15]),
    partitionRate: prng.pick([0.05, 0.2]),
    partitionTicksMax: prng.pick([8, 20]),
    config: { ...base.config, maxEntriesPerMsg: 1, maxInflightMsgs: prng.pick([1, 2]), preVote: prng.chance(0.3) },
  };
}

function drawBaseScenario(prng: Prng): Scenario {
  const lossy = prng.pick([0, 0.02, 0.1, 0.25]);
  return {
    faults: {
      dropRate: lossy,
      duplicateRate: prng.pick([0, 0.02, 0.1]),
      delayTicksMin: 1,
      delayTicksMax: prng.pick([1, 2, 4, 8]),
      reorder: prng.chance(0.8),
    },
    crashRate: prng.pick([0, 0.004, 0.01, 0.02]),
    restartTicksMax: prng.pick([5, 30, 80]),
    partitionRate: prng.pick([0, 0.005, 0.015]),
    partitionTicksMax: prng.pick([20, 60, 150]),
    proposeRate: prng.pick([0.1, 0.3, 0.6]),
    readRate: prng.pick([0, 0.05]),
    transferRate: prng.pick([0, 0.003, 0.01]),
    compactAfterEntries: prng.pick([8, 30, 1_000_000]),
    loseUnsyncedRate: prng.pick([0.5, 1]),
    clocks: 'jittery',
    config: {
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: prng.pick([1, 2, 3]),
      preVote: prng.chance(0.5),
      checkQuorum: prng.chance(0.5),
      maxInflightMsgs: prng.pick([1, 4, 64]),
      maxEntriesPerMsg: prng.pick([1, 3, 100]),
      maxSizePerMsgBytes: prng.pick([64, 1024 * 1024]),
      readOnlyOption: 'safe',
      maxUncommittedEntries: SIM_MAX_UNCOMMITTED_ENTRIES,
    },
  };
}

interface SimNode {
  id: NodeId;
  node: RaftNode | undefined;
  disk: SimDisk;
  random: Prng;
  /** Probability of ticking in a simulation step (clock drift); in (0, 1]. */
  tickRate: number;
  /** Bounded clocks: fractional ticks owed. */
  tickCredit: number;
  restartAtTick: number;
  appliedIndex: number;
  digest: number;
  /** Last commit index the checker saw on this node. */
  commitSeen: number;
  wasLeaderInTerm: number;
  /** Async storage writes: Readies whose writes are not yet durable, oldest first. */
  pendingWrites: PendingWrite[];
}

interface PendingRead {
  node: NodeId;
  committedAtRequest: number;
}

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export class Simulation {
  readonly prng: Prng;
  readonly scenario: Scenario;
  readonly nodes: SimNode[];
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  tick = 0;
  private proposalCounter = 0;
  private readCounter = 0;
  private pendingReads = new Map<string, PendingRead>();
  private partitionHealAtTick = 0;
  readonly stats: SimStats;
  private healed = false;
  /** When checkLiveness last traced the stale leaders it passed over (once per liveness window is enough). */
  private staleLeaderTracedAt = -Infinity;
  /** Membership changes draw from their own generator so enabling them leaves other draws alone. */
  private readonly membershipPrng: Prng;
  private readonly membershipRate: number;
  readonly membership: SimMembership;
  readonly asyncWrites: boolean;
  /** Joint membership changes and async write delays draw from their own generators, for the same reason. */
  private readonly jointPrng: Prng;
  private readonly asyncPrng: Prng;
  /** The failure detector's draws: its own generator, so runs without it draw as before. */
  private readonly detectorPrng: Prng;
  readonly failureDetector: boolean;
  /** Campaigns the failure detector has scheduled: node and tick. */
  private detectorCampaignsDue: Array<{ id: NodeId; atTick: number }> = [];

  constructor(readonly options: SimOptions) {
    this.prng = new Prng(options.seed);
    const drawn = drawScenario(this.prng);
    const leasePrng = new Prng((options.seed ^ 0x6c656173) >>> 0);
    const leaseKnob = options.knobs?.leaseReadsAssumeNoDrift === true || options.knobs?.leaseFromCheckQuorumOnly === true;
    const leaseReads = leaseKnob || leasePrng.chance(LEASE_READ_SEED_SHARE);
    const withLease = leaseReads ? withLeaseReads(drawn, options.knobs?.leaseReadsAssumeNoDrift === true ? 1 : SIM_CLOCK_DRIFT_BOUND) : drawn;
    this.membership = options.membership ?? (options.knobs?.jointQuorumIncomingOnly === true ? 'joint' : 'single');
    // Members removed while cut off never learn it and, with both options off, depose every
    // leader with their campaigns (docs/raft.md, "Removed members"): a group whose membership
    // changes as often as here runs with both on, as etcd does.
    this.scenario = this.membership === 'joint' ? { ...withLease, config: { ...withLease.config, preVote: true, checkQuorum: true } } : withLease;
    this.network = new SimNetwork(this.prng.fork(), this.scenario.faults);
    this.membershipPrng = new Prng((options.seed ^ 0x6d656d62) >>> 0);
    this.jointPrng = new Prng((options.seed ^ 0x6a6f696e) >>> 0);
    this.asyncPrng = new Prng((options.seed ^ 0x6173796e) >>> 0);
    this.detectorPrng = new Prng((options.seed ^ 0x64657465) >>> 0);
    this.failureDetector = options.failureDetector === true;
    this.asyncWrites = options.asyncStorageWrites === true;
    this.membershipRate = this.membership === 'single' ? this.membershipPrng.pick([0, 0, 0.005, 0.02]) : this.jointPrng.pick([0.005, 0.01, 0.02, 0.04]);
    const ids = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.nodes = ids.map((id) => ({
      id,
      node: undefined,
      disk: new SimDisk(),
      random: this.prng.fork(),
      tickRate: this.prng.pick([1, 1, 0.9, 0.7, 0.5]),
      tickCredit: 0,
      restartAtTick: 0,
      appliedIndex: 0,
      digest: 0,
      commitSeen: 0,
      wasLeaderInTerm: 0,
      pendingWrites: [],
    }));
    for (const n of this.nodes) n.node = RaftNode.bootstrap({ config: this.config(n), voters: ids });
    this.stats = {
      ticks: 0, leadersElected: 0, maxTerm: 0, committedIndex: 0, crashes: 0, crashesBeforeFsync: 0, partitions: 0, messagesSent: 0,
      messagesDropped: 0, snapshotsSent: 0, compactions: 0, readsAnswered: 0, transfers: 0, confChanges: 0, livenessTicks: -1, convergenceTicks: -1,
      leaseReads, jointConfChanges: 0, asyncWrites: 0, asyncWritesLost: 0, leadersForgotten: 0, detectorCampaigns: 0,
    };
    this.trace(`membership ${this.membership}${this.asyncWrites ? ', async storage writes' : ''}${this.failureDetector ? ', failure detector' : ''}`);
    this.trace(`scenario ${JSON.stringify({ ...this.scenario, config: this.scenario.config })} tickRates ${this.nodes.map((n) => n.tickRate).join(',')}`);
    for (const n of this.nodes) this.drain(n);
    // Bootstrapping writes the founding configuration before the node runs (as etcd does): a node
    // that lost it would rejoin empty and could win alone under its first one-voter configuration.
    for (const n of this.nodes) this.completeAsyncWrites(n, true);
  }

  private config(n: SimNode): RaftConfig {
    const knobs = this.options.knobs ?? {};
    return {
      ...this.scenario.config,
      id: n.id,
      random: () => n.random.next(),
      asyncStorageWrites: this.asyncWrites,
      ...(this.options.maxCommittedEntriesPerReady === undefined ? {} : { maxCommittedEntriesPerReady: this.options.maxCommittedEntriesPerReady }),
      testingKnobs: {
        jointQuorumIncomingOnly: knobs.jointQuorumIncomingOnly,
        commitByCountingOldTermEntries: knobs.commitByCountingOldTermEntries,
        grantVoteWithoutUpToDateCheck: knobs.grantVoteWithoutUpToDateCheck,
        leaseFromCheckQuorumOnly: knobs.leaseFromCheckQuorumOnly,
        leaderDropsProposals: knobs.leaderDropsProposals,
        forgetLeaderClearsVote: knobs.forgetLeaderClearsVote,
      },
    };
  }

  private trace(line: string): void {
    this.options.trace?.(`[${this.tick}] ${line}`);
  }

  // ----------------------------------------------------------------- ready handling

  /** Process every Ready of a node: persist, send, apply, advance, check. */
  private drain(n: SimNode): void {
    const node = n.node;
    if (!node) return;
    // Check before compaction can hide the terms of newly committed entries.
    this.checkNode(n, node);
    while (node.hasReady()) {
      const rd = node.ready();
      if (this.sendsBeforePersist(n, node, rd)) {
        this.send(rd.messages);
        // The crash this ordering is about: after the messages left, before the fsync (a fault: none after the heal).
        if (!this.healed && this.prng.chance(0.1)) {
          this.trace(`n${n.id} crashed between sending and its fsync`);
          this.stats.crashesBeforeFsync++;
          this.crash(n, true);
          return;
        }
        rd.messages = [];
      }
      this.handleReady(n, node, rd);
      node.advance();
      this.checkNode(n, node);
      this.maybeCompact(n, node);
    }
  }

  /** Whether this Ready's messages go before its writes (the two knobs above; never by default). */
  private sendsBeforePersist(n: SimNode, node: RaftNode, rd: Ready): boolean {
    const knobs = this.options.knobs;
    if (this.asyncWrites || (knobs?.leaderSendsBeforePersist !== true && knobs?.anyRoleSendsBeforePersist !== true)) return false;
    if (rd.messages.length === 0 || rd.snapshot !== undefined) return false;
    if (knobs.anyRoleSendsBeforePersist === true) return true;
    const durable = n.disk.durable.hardState;
    const termOrVoteMoves = rd.hardState !== undefined && (rd.hardState.term !== durable.term || rd.hardState.vote !== durable.vote);
    return node.status().role === 'leader' && !termOrVoteMoves;
  }

  private handleReady(n: SimNode, node: RaftNode, rd: Ready): void {
    const skipPersist = this.options.knobs?.skipPersistBeforeSend === true;
    if (rd.softState) this.trace(`n${n.id} ${rd.softState.role} lead=${rd.softState.lead} term=${node.status().term}`);
    if (skipPersist) this.send(rd.messages);
    if (rd.hardState) n.disk.write({ kind: 'hardState', hardState: rd.hardState });
    if (rd.snapshot) n.disk.write({ kind: 'installSnapshot', snapshot: rd.snapshot });
    if (rd.entries.length > 0) n.disk.write({ kind: 'entries', entries: rd.entries });
    if (this.asyncWrites) this.startAsyncWrite(n, rd);
    else if (rd.mustSync && !skipPersist) n.disk.sync();
    if (rd.entries.length > 0) {
      this.checker.observeAppended(n.id, rd.entries, node);
      this.checkConfChangesCreated(n, node, rd);
    }
    if (!skipPersist && !this.asyncWrites) this.send(rd.messages);
    if (rd.snapshot) this.applySnapshot(n, rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.index <= n.appliedIndex) continue;
      if (e.index !== n.appliedIndex + 1) throw new SafetyViolation('stateMachineSafety', `node ${n.id} applies ${e.index} after ${n.appliedIndex}`);
      n.digest = chainDigest(n.digest, `${e.term}/${entryKey(e)}`, e.index);
      n.appliedIndex = e.index;
      this.checker.observeApplied(n.id, e, n.digest);
    }
    for (const rs of rd.readStates) this.answerRead(n, rs.index, rs.context);
  }

  /** Async writes: send what needs no durability now, hold the acknowledgements with the write. */
  private startAsyncWrite(n: SimNode, rd: Ready): void {
    const early = this.options.knobs?.asyncAcksBeforeDurable === true;
    const held = early ? [] : rd.messages.filter(promisesDurability);
    this.send(early ? rd.messages : rd.messages.filter((m) => !promisesDurability(m)));
    const prevDue = n.pendingWrites[n.pendingWrites.length - 1]?.dueTick ?? 0;
    const dueTick = Math.max(prevDue, this.tick + this.asyncPrng.int(0, ASYNC_WRITE_TICKS_MAX));
    n.pendingWrites.push({ ready: rd, held, diskSeq: n.disk.lastWrite(), dueTick });
    this.stats.asyncWrites++;
  }

  /** Async writes whose time has come become durable in order; their acknowledgements leave and the node learns it. */
  private completeAsyncWrites(n: SimNode, all = false): void {
    const node = n.node;
    if (!node) return;
    while (n.pendingWrites.length > 0 && (all || n.pendingWrites[0]!.dueTick <= this.tick)) {
      const w = n.pendingWrites.shift()!;
      n.disk.syncThrough(w.diskSeq);
      this.send(w.held);
      node.onDurable(w.ready);
    }
  }

  /**
   * A leader created a configuration entry: the configuration before it must be committed
   * (one change at a time; a joint configuration is entered and left by committed entries).
   */
  private checkConfChangesCreated(n: SimNode, node: RaftNode, rd: Ready): void {
    const s = node.status();
    if (s.role !== 'leader') return;
    for (const e of rd.entries) {
      if (e.type !== 'confChange' || e.term !== s.term) continue;
      let prev = 0;
      for (let i = e.index - 1; i >= s.firstIndex; i--) {
        if (node.logEntries(i, i + 1)[0]?.type === 'confChange') {
          prev = i;
          break;
        }
      }
      this.checker.observeConfChangeCreated(n.id, e.index, e.term, prev);
    }
  }

  private applySnapshot(n: SimNode, snap: Snapshot): void {
    const state = decodeAppState(snap.data);
    if (state.index !== snap.metadata.index) throw new SafetyViolation('stateMachineSafety', `snapshot at ${snap.metadata.index} holds state of ${state.index}`);
    n.appliedIndex = state.index;
    n.digest = state.digest;
    this.checker.observeSnapshotApplied(n.id, state.index, state.digest);
    this.trace(`n${n.id} installed snapshot at ${state.index}`);
  }

  private maybeCompact(n: SimNode, node: RaftNode): void {
    const status = node.status();
    if (status.applied !== n.appliedIndex) throw new SafetyViolation('nodeAssertion', `node ${n.id} raft applied ${status.applied}, app applied ${n.appliedIndex}`);
    if (n.appliedIndex - (status.firstIndex - 1) >= this.scenario.compactAfterEntries && n.appliedIndex <= status.lastIndex) {
      const retain = this.prng.int(0, 3);
      const snap = node.compact(n.appliedIndex, encodeAppState(n.appliedIndex, n.digest), retain);
      n.disk.write({ kind: 'compact', snapshot: snap });
      // With async writes the compaction becomes durable with the next write that completes.
      if (!this.options.knobs?.skipPersistBeforeSend && !this.asyncWrites) n.disk.sync();
      this.stats.compactions++;
    }
  }

  private checkNode(n: SimNode, node: RaftNode): void {
    const s = node.status();
    if (s.commit > n.commitSeen) this.checker.observeCommit(n.id, n.commitSeen, s.commit, node);
    n.commitSeen = s.commit;
    if (s.role === 'leader' && n.wasLeaderInTerm !== s.term) {
      n.wasLeaderInTerm = s.term;
      this.stats.leadersElected++;
      this.checker.observeLeader(n.id, s.term, node, s.firstIndex, s.lastIndex);
    } else if (s.role === 'leader') {
      this.checker.observeLeader(n.id, s.term, node, s.firstIndex, s.lastIndex);
    }
    if (s.term > this.stats.maxTerm) this.stats.maxTerm = s.term;
    if (this.checker.maxCommitted > this.stats.committedIndex) this.stats.committedIndex = this.checker.maxCommitted;
  }

  private send(messages: Message[]): void {
    for (const m of messages) {
      if (m.type === 'msgSnap') this.stats.snapshotsSent++;
      this.network.send(m, this.tick);
    }
  }

  private answerRead(n: SimNode, index: number, context: string): void {
    const req = this.pendingReads.get(context);
    if (!req) return;
    this.pendingReads.delete(context);
    this.stats.readsAnswered++;
    // Linearizability of ReadIndex: the read point covers every write committed before the request.
    if (index < req.committedAtRequest) {
      throw new SafetyViolation('linearizableRead', `read ${context} on node ${n.id} got index ${index}, but ${req.committedAtRequest} was committed before it was asked`);
    }
  }

  // ----------------------------------------------------------------- faults

  private crash(n: SimNode, loseUnsynced?: boolean): void {
    const lose = loseUnsynced ?? (this.options.knobs?.skipPersistBeforeSend === true || this.prng.chance(this.scenario.loseUnsyncedRate));
    if (n.pendingWrites.length > 0 && lose) this.stats.asyncWritesLost++;
    n.pendingWrites = [];
    n.disk.crash(lose);
    n.node = undefined;
    n.restartAtTick = this.tick + this.prng.int(1, this.scenario.restartTicksMax);
    this.network.dropTo(n.id);
    for (const [ctx, r] of this.pendingReads) if (r.node === n.id) this.pendingReads.delete(ctx);
    this.stats.crashes++;
    this.trace(`n${n.id} crashed (lose unsynced: ${lose})`);
    if (this.failureDetector) this.detectCrash(n.id);
  }

  /** The crashed node's followers see its streams close: they forget it and campaign soon. */
  private detectCrash(id: NodeId): void {
    for (const m of this.nodes) {
      if (!m.node || m.node.leader() !== id || m.node.isLeader()) continue;
      this.forgetLeaderOf(m, `n${id} crashed`);
    }
  }

  private forgetLeaderOf(m: SimNode, why: string): void {
    if (!m.node) return;
    const lead = m.node.leader();
    const r = m.node.forgetLeader();
    if (!r.forgotten) return;
    this.stats.leadersForgotten++;
    const atTick = this.tick + this.detectorPrng.int(0, FAILOVER_CAMPAIGN_TICKS_MAX);
    this.detectorCampaignsDue.push({ id: m.id, atTick });
    this.trace(`n${m.id} forgot leader n${lead} (${why}); campaigns at tick ${atTick} if still leaderless`);
    this.drain(m);
  }

  /**
   * A detector misfire: a stale report that a live leader's incarnation ended reaches every
   * follower of it, as a real report does; they all forget it and campaign.
   */
  private detectorMisfire(on?: NodeId): void {
    const leaders = this.leaders();
    if (leaders.length === 0) return;
    const leader = on ?? this.detectorPrng.pick(leaders).id;
    for (const m of this.nodes) {
      if (m.node && !m.node.isLeader() && m.node.leader() === leader) this.forgetLeaderOf(m, `detector misfire on live n${leader}`);
    }
  }

  private runDetectorCampaigns(): void {
    if (this.detectorCampaignsDue.length === 0) return;
    const due = this.detectorCampaignsDue.filter((c) => c.atTick <= this.tick);
    this.detectorCampaignsDue = this.detectorCampaignsDue.filter((c) => c.atTick > this.tick);
    for (const c of due) {
      const m = this.nodes[c.id - 1]!;
      if (!m.node || m.node.leader() !== NONE) continue;
      this.stats.detectorCampaigns++;
      this.trace(`n${c.id} campaigns (failure detector)`);
      m.node.campaign();
      this.drain(m);
    }
  }

  private restart(n: SimNode): void {
    const d = n.disk.durable;
    const app = d.snapshot ? decodeAppState(d.snapshot.data) : { index: 0, digest: 0 };
    n.appliedIndex = app.index;
    n.digest = app.digest;
    n.node = RaftNode.restart({ config: { ...this.config(n), applied: app.index }, hardState: d.hardState, snapshot: d.snapshot, entries: d.entries });
    n.commitSeen = n.node.status().commit;
    this.trace(`n${n.id} restarted term=${d.hardState.term} vote=${d.hardState.vote} commit=${d.hardState.commit} entries=${d.entries.length} snap=${d.snapshot?.metadata.index ?? 0}`);
    this.drain(n);
  }

  private leaders(): SimNode[] {
    return this.nodes.filter((n) => n.node?.isLeader());
  }

  /**
   * The leader the group follows: the one of the newest term. Another node may still claim
   * an older term: a member removed while cut off that never received its removal (no
   * member sends to it any more, so without pre-vote or check-quorum nothing tells it), or
   * a leader that has not yet heard the newer term. Neither can commit anything.
   */
  private newestLeader(): SimNode | undefined {
    const leaders = this.leaders().sort((a, b) => b.node!.status().term - a.node!.status().term);
    const newest = leaders[0];
    if (newest?.node && leaders.length > 1 && this.tick - this.staleLeaderTracedAt >= LIVENESS_TICKS_MAX) {
      this.staleLeaderTracedAt = this.tick;
      const cs = newest.node.status().confState;
      const stale = leaders.slice(1).map((n) => {
        const member = memberIds(cs).has(n.id) ? 'in' : 'not in';
        return `n${n.id} (term ${n.node!.status().term}, ${member} n${newest.id}'s configuration)`;
      });
      this.trace(`liveness: stale leaders ignored: ${stale.join(', ')}; proposing to n${newest.id}, leader of term ${newest.node.status().term}`);
    }
    return newest;
  }

  private chaosEvents(): void {
    const sc = this.scenario;
    const alive = this.nodes.filter((n) => n.node);
    if (sc.crashRate > 0 && alive.length > 0 && this.prng.chance(sc.crashRate)) this.crash(this.prng.pick(alive));
    if (this.network.partition && this.tick >= this.partitionHealAtTick) {
      this.network.partition = undefined;
      this.trace('partition healed');
    } else if (!this.network.partition && this.prng.chance(sc.partitionRate)) {
      const kind = this.prng.pick(['isolateLeader', 'minorityMajority', 'bridge'] as const);
      const leader = this.leaders()[0]?.id;
      this.network.partition = makePartition(kind, this.nodes.map((n) => n.id), leader, this.prng);
      this.partitionHealAtTick = this.tick + this.prng.int(5, sc.partitionTicksMax);
      this.stats.partitions++;
      this.trace(`partition: ${this.network.partition.describe}`);
      // A sloppy detector takes the cut for a death (a keepalive that timed out): the worst time to misfire.
      if (this.failureDetector && kind === 'isolateLeader' && leader !== undefined && this.detectorPrng.chance(DETECTOR_PARTITION_MISFIRE_SHARE)) this.detectorMisfire(leader);
    }
    if (this.prng.chance(sc.proposeRate)) this.propose();
    if (sc.readRate > 0 && this.prng.chance(sc.readRate)) {
      const n = this.prng.pick(this.nodes);
      if (n.node) {
        const context = `r${++this.readCounter}`;
        if (n.node.readIndex(context).accepted) this.pendingReads.set(context, { node: n.id, committedAtRequest: this.checker.maxCommitted });
        this.drain(n);
      }
    }
    if (this.membership === 'joint') {
      if (this.jointPrng.chance(this.membershipRate)) this.changeMembershipJoint();
    } else if (this.membershipRate > 0 && this.membershipPrng.chance(this.membershipRate)) this.changeMembership();
    if (sc.transferRate > 0 && this.prng.chance(sc.transferRate)) {
      const n = this.prng.pick(this.nodes);
      if (n.node) {
        const to = this.prng.pick(this.nodes).id;
        if (n.node.transferLeadership(to).accepted) this.stats.transfers++;
        this.drain(n);
      }
    }
  }

  /**
   * One single-server change through the leader: remove a voter (never below 3), or bring
   * a removed node back as a learner, or promote a learner. A removed node keeps its disk,
   * like a member that was partitioned away and is re-added.
   */
  private changeMembership(): void {
    const leader = this.leaders()[0];
    if (!leader?.node) return;
    const cs = leader.node.status().confState;
    const members = new Set([...cs.voters, ...cs.learners]);
    const removed = this.nodes.map((n) => n.id).filter((id) => !members.has(id));
    const p = this.membershipPrng;
    let change: ConfChange | undefined;
    if (cs.learners.length > 0) change = { type: 'addVoter', nodeId: p.pick(cs.learners) };
    else if (removed.length > 0 && p.chance(0.6)) change = { type: 'addLearner', nodeId: p.pick(removed) };
    else if (cs.voters.length > 3) change = { type: 'removeVoter', nodeId: p.pick(cs.voters) };
    if (!change) return;
    const r = leader.node.proposeConfChange(change);
    if (r.accepted) {
      this.stats.confChanges++;
      this.trace(`n${leader.id} proposed ${change.type} ${change.nodeId} at ${r.index}`);
    }
    this.drain(leader);
  }

  /**
   * One ConfChangeV2 through the newest leader: add removed nodes as learners, promote a
   * learner, replace voters by learners, remove or demote a voter, or a random mix; with a
   * random transition (several changes with 'auto' go joint and leave by themselves,
   * 'jointExplicit' waits here for a later event to leave). Invalid mixes are refused by Raft.
   */
  private changeMembershipJoint(): void {
    const leader = this.leaders().sort((a, b) => b.node!.status().term - a.node!.status().term)[0];
    if (!leader?.node) return;
    const cs = leader.node.status().confState;
    const p = this.jointPrng;
    let cc: ConfChangeV2;
    if (cs.votersOutgoing !== undefined) {
      if (cs.autoLeave === true) return; // Raft leaves by itself
      cc = { transition: 'auto', changes: [] };
    } else {
      const changes = this.drawChanges(cs, p, leader.node);
      if (changes.length === 0) return;
      cc = { transition: p.pick<ConfChangeTransition>(['auto', 'auto', 'jointImplicit', 'jointExplicit']), changes };
    }
    const r = leader.node.proposeConfChangeV2(cc);
    if (r.accepted) {
      this.stats.confChanges++;
      if (cc.changes.length > 0 && entersJoint(cc).joint) this.stats.jointConfChanges++;
      this.trace(`n${leader.id} proposed ${describeConfChange(cc)} at ${r.index}`);
    } else {
      this.trace(`n${leader.id} refused ${describeConfChange(cc)}: ${r.reason}${r.message ? ` (${r.message})` : ''}`);
    }
    this.drain(leader);
  }

  /**
   * Learners become voters only once caught up, as etcd's server promotes only a learner in
   * sync with its leader: a far-behind voter stalls every commit of the configuration it
   * enters (seed 5999: one entry per message, one in flight, acks after async writes).
   */
  private drawChanges(cs: ConfState, p: Prng, leader: RaftNode): ConfChange[] {
    const voters = [...cs.voters];
    const lastIndex = leader.status().lastIndex;
    const progress = leader.progress();
    const learners = cs.learners.filter((id) => (progress.get(id)?.match ?? 0) + PROMOTE_LAG_ENTRIES_MAX >= lastIndex);
    const members = memberIds(cs);
    const outside = this.nodes.map((n) => n.id).filter((id) => !members.has(id));
    const changes: ConfChange[] = [];
    switch (p.pick(['addLearners', 'promote', 'replace', 'remove', 'demote', 'mixed'] as const)) {
      case 'addLearners':
        for (const id of outside) if (p.chance(0.7)) changes.push({ type: 'addLearner', nodeId: id });
        break;
      case 'promote':
        if (learners.length > 0) changes.push({ type: 'addVoter', nodeId: p.pick(learners) });
        break;
      case 'replace': {
        if (learners.length === 0) break;
        const k = p.int(1, Math.min(learners.length, voters.length));
        for (const id of p.shuffle(learners).slice(0, k)) changes.push({ type: 'addVoter', nodeId: id });
        for (const id of p.shuffle(voters).slice(0, k)) changes.push({ type: 'removeVoter', nodeId: id });
        break;
      }
      case 'remove':
        if (voters.length > 2) changes.push({ type: 'removeVoter', nodeId: p.pick(voters) });
        break;
      case 'demote':
        if (voters.length > 2) changes.push({ type: 'addLearner', nodeId: p.pick(voters) });
        break;
      case 'mixed':
        for (const n of this.nodes) {
          if (!p.chance(0.4)) continue;
          const type = p.pick(['addVoter', 'addLearner', 'removeVoter'] as const);
          // A voter comes only from a caught-up learner (or already is one).
          if (type !== 'addVoter' || learners.includes(n.id) || voters.includes(n.id)) changes.push({ type, nodeId: n.id });
        }
        break;
    }
    return changes;
  }

  /** Propose a unique payload to a node that believes it leads (or a random one, which refuses). */
  private propose(): number | undefined {
    const leaders = this.leaders();
    const n = leaders.length > 0 ? this.prng.pick(leaders) : this.prng.pick(this.nodes);
    if (!n.node) return undefined;
    const r = n.node.propose(ENCODER.encode(`p${++this.proposalCounter}@n${n.id}`));
    this.drain(n);
    return r.accepted ? r.index : undefined;
  }

  // ----------------------------------------------------------------- the loop

  /** One simulation step: faults, node ticks (uneven), then due messages in random order. */
  step(): void {
    this.tick++;
    for (const n of this.nodes) if (!n.node && this.tick >= n.restartAtTick) this.restart(n);
    if (!this.healed) this.chaosEvents();
    if (this.failureDetector) {
      if (!this.healed && this.detectorPrng.chance(DETECTOR_MISFIRE_RATE)) this.detectorMisfire();
      this.runDetectorCampaigns();
    }
    for (const n of this.prng.shuffle([...this.nodes])) {
      if (!n.node) continue;
      if (this.scenario.clocks === 'bounded' && !this.healed) {
        n.tickCredit += n.tickRate;
        if (n.tickCredit >= 1) {
          n.tickCredit -= 1;
          n.node.tick();
        }
      } else {
        if (this.healed || this.prng.chance(n.tickRate)) n.node.tick();
        // A fast clock sometimes ticks twice.
        if (!this.healed && n.tickRate === 1 && this.prng.chance(0.05)) n.node.tick();
      }
      if (this.asyncWrites) this.completeAsyncWrites(n);
      // Unsynced writes reach the platter eventually (with async writes, only when their write completes).
      else if (n.disk.hasUnsynced() && this.prng.chance(0.2)) n.disk.sync();
      this.drain(n);
    }
    for (const m of this.network.due(this.tick)) {
      const n = this.nodes[m.to - 1]!;
      if (!n.node) continue;
      n.node.step(m);
      this.drain(n);
    }
  }

  /** Nodes that must apply the marker: the members in the configuration of a node that applied it. */
  private membersOf(index: number): SimNode[] {
    const witness = this.nodes.find((n) => n.node && n.appliedIndex >= index);
    if (!witness?.node) return this.nodes;
    const members = memberIds(witness.node.status().confState);
    return this.nodes.filter((n) => members.has(n.id));
  }

  heal(): void {
    this.healed = true;
    this.network.partition = undefined;
    this.network.faults = HEALTHY_NETWORK;
    for (const n of this.nodes) if (!n.node) n.restartAtTick = this.tick + 1;
    this.trace('healed: no faults from here on');
  }

  /**
   * After healing: a leader emerges and a proposal commits within LIVENESS_TICKS_MAX;
   * then every node catches up to it within CONVERGENCE_TICKS_MAX (followers that were
   * down may be far behind, and small message limits make catch-up slow but bounded).
   */
  checkLiveness(): void {
    const start = this.tick;
    let markerIndex: number | undefined;
    let markerKey: string | undefined;
    let proposedAt = 0;
    let committedAt: number | undefined;
    while (this.tick - start < LIVENESS_TICKS_MAX + CONVERGENCE_TICKS_MAX) {
      if (committedAt === undefined && this.tick - start >= LIVENESS_TICKS_MAX) break;
      this.step();
      if (markerIndex !== undefined && markerKey !== undefined && this.checker.appliedKey(markerIndex) === markerKey) {
        if (committedAt === undefined) {
          committedAt = this.tick;
          this.stats.livenessTicks = this.tick - start;
        }
        if (this.membersOf(markerIndex).every((n) => n.appliedIndex >= markerIndex!)) {
          this.stats.convergenceTicks = this.tick - start;
          return;
        }
        continue;
      }
      // (Re)propose when no marker is out or the last one may have been lost with a leader change.
      if (markerIndex === undefined || this.tick - proposedAt > 3 * ELECTION_TICKS) {
        const leader = this.newestLeader();
        if (leader?.node && leader.node.status().leadTransferee === 0) {
          const key = `marker${this.tick}`;
          const r = leader.node.propose(ENCODER.encode(key));
          this.drain(leader);
          if (r.accepted) {
            markerIndex = r.index;
            markerKey = `${r.term}/normal:${key}`;
            proposedAt = this.tick;
          }
        }
      }
    }
    const status = this.nodes.map((n) => (n.node ? `${n.id}:${n.node.status().role}/t${n.node.status().term}/c${n.node.status().commit}/a${n.appliedIndex}` : `${n.id}:down`)).join(' ');
    if (committedAt === undefined) throw new LivenessFailure(`no proposal committed within ${LIVENESS_TICKS_MAX} ticks of healing (${status})`);
    throw new LivenessFailure(`a proposal committed at index ${markerIndex} but not every node applied it within ${CONVERGENCE_TICKS_MAX} more ticks (${status})`);
  }
}

/**
 * Lease reads need check-quorum and clocks whose drift is bounded: a node paused or ticking
 * in bursts would break any lease, so these seeds tick evenly at their rates.
 */
function withLeaseReads(scenario: Scenario, clockDriftBound: number): Scenario {
  return {
    ...scenario,
    readRate: 0.1,
    clocks: 'bounded',
    config: { ...scenario.config, checkQuorum: true, readOnlyOption: 'leaseBased', clockDriftBound },
  };
}

export class LivenessFailure extends Error {
  override readonly name = 'LivenessFailure';
}

/** Every node a configuration replicates to. */
function memberIds(cs: ConfState): Set<NodeId> {
  return new Set([...cs.voters, ...cs.learners, ...(cs.votersOutgoing ?? []), ...(cs.learnersNext ?? [])]);
}

function describeConfChange(cc: ConfChangeV2): string {
  if (cc.changes.length === 0) return 'leave joint';
  return `${cc.transition} [${cc.changes.map((c) => `${c.type} ${c.nodeId}`).join(', ')}]`;
}

function encodeAppState(index: number, digest: number): Uint8Array {
  return ENCODER.encode(`${index}:${digest}`);
}

function decodeAppState(data: Uint8Array): { index: number; digest: number } {
  const [index, digest] = DECODER.decode(data).split(':').map(Number);
  return { index: index!, digest: digest! };
}

/** Run one seeded simulation: chaos, heal, liveness. Never throws; the result says what broke. */
export function runSimulation(options: SimOptions): SimResult {
  let sim: Simulation | undefined;
  const fail = (property: string, message: string): SimResult => ({
    seed: options.seed,
    nodes: options.nodes,
    ok: false,
    failure: { property, message, tick: sim?.tick ?? 0 },
    stats: sim ? finishStats(sim) : emptyStats(),
  });
  try {
    sim = new Simulation(options);
    const chaosTicks = options.chaosTicks ?? DEFAULT_CHAOS_TICKS;
    while (sim.tick < chaosTicks) sim.step();
    sim.heal();
    sim.checkLiveness();
    return { seed: options.seed, nodes: options.nodes, ok: true, stats: finishStats(sim) };
  } catch (err) {
    if (err instanceof SafetyViolation) return fail(err.property, err.message);
    if (err instanceof LivenessFailure) return fail('liveness', err.message);
    if (err instanceof RaftInvariantError) return fail('nodeAssertion', err.message);
    return fail('crash', err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err));
  }
}

function finishStats(sim: Simulation): SimStats {
  return { ...sim.stats, ticks: sim.tick, messagesSent: sim.network.sent, messagesDropped: sim.network.dropped };
}

function emptyStats(): SimStats {
  return { ticks: 0, leadersElected: 0, maxTerm: 0, committedIndex: 0, crashes: 0, crashesBeforeFsync: 0, partitions: 0, messagesSent: 0, messagesDropped: 0, snapshotsSent: 0, compactions: 0, readsAnswered: 0, transfers: 0, confChanges: 0, livenessTicks: -1, convergenceTicks: -1, leaseReads: false, jointConfChanges: 0, asyncWrites: 0, asyncWritesLost: 0, leadersForgotten: 0, detectorCampaigns: 0 };
}

/** The fixed seed set of `npm test`: seeds 1..count, odd seeds with 3 nodes, even with 5. */
export function nodesForSeed(seed: number): 3 | 5 {
  return seed % 2 === 1 ? 3 : 5;
}

/** The one command that replays a run (`classic`: a run of the single-server, sync-writes modes). */
export function replayCommand(seed: number, nodes: number, knobs?: SimKnobs, modes: SweepModes = 'classic'): string {
  const flags = Object.entries(knobs ?? {}).filter(([, v]) => v).map(([k]) => ` --knob ${k}`).join('');
  return `npm run test:sweep -- --seed ${seed} --nodes ${nodes}${modes === 'classic' ? '' : ` --modes ${modes}`}${flags}`;
}

/**
 * What the sweep runs: 'classic' is the scenario the pinned seeds were found in (single-server
 * membership, sync writes); 'joint' sweeps ConfChangeV2 membership on every seed and async
 * storage writes on ASYNC_WRITES_SEED_SHARE of them; 'detector' is 'classic' with the failure
 * detector (forgetLeader on crashes, and misfires) on every seed; 'async' is 'joint' with async
 * storage writes on every seed (the replicas' default since issue #22).
 */
export type SweepModes = 'classic' | 'joint' | 'detector' | 'async';

/** The options of one seed under `modes`: a pure function of the seed, so a replay runs the same. */
export function sweepOptions(seed: number, nodes: 3 | 5, modes: SweepModes, knobs?: SimKnobs): SimOptions {
  if (modes === 'classic') return { seed, nodes, knobs };
  if (modes === 'detector') return { seed, nodes, knobs, failureDetector: true };
  const asyncStorageWrites = modes === 'async' || new Prng((seed ^ 0x77726974) >>> 0).chance(ASYNC_WRITES_SEED_SHARE);
  return { seed, nodes, knobs, membership: 'joint', asyncStorageWrites };
}
