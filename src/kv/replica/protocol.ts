/**
 * Messages of the etcd replica actor: between replicas (Raft traffic) and
 * between a client and a replica (requests, watches, status).
 *
 * Replies are values, never thrown errors: a store error is an
 * `ErrorResponse`; "ask someone else" is a `NotLeader` or `Unavailable`, which
 * tells the client whether the request may have taken effect.
 */
import type { AutoCompactionConfig } from './auto-compaction.js';
import type { SnapshotChunk, SnapshotChunkAck } from './snapshot-transfer.js';
import type { Message as RaftMessage } from '../../raft/protocol.js';
import type { ConfChange, ConfChangeTransition } from '../../raft/types.js';
import type { RaftRole } from '../../raft/raft.js';
import type {
  ApplyRequest,
  ApplyResponse,
  ErrorResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  WatchCreateRequest,
  WatchResponse,
} from '../protocol.js';

/** A request a client may send to a replica. */
export type ClientRequest = ApplyRequest | LeaseKeepAliveRequest | LeaseTimeToLiveRequest;

/** The request was not proposed: safe to send again elsewhere. `leader` names the replica to try, when known. */
export interface NotLeader {
  type: 'notLeader';
  leader?: string;
}

/**
 * The replica could not finish the request. `proposed: false` — it never
 * entered the log, safe to retry; `proposed: true` — it may still commit
 * (leadership changed after proposing), so its outcome is unknown.
 */
export interface Unavailable {
  type: 'unavailable';
  reason: string;
  proposed: boolean;
  leader?: string;
}

/**
 * A follower relayed the request to the leader (etcd forwards proposals the
 * same way): `reply` is the leader's answer, `leader` where to send the next
 * one directly.
 */
export interface Forwarded {
  type: 'forwarded';
  leader: string;
  reply: ClientReply;
}

export type ClientReply = ApplyResponse | LeaseKeepAliveResponse | LeaseTimeToLiveResponse | ErrorResponse | NotLeader | Unavailable | Forwarded;

/**
 * How a replica may route a client request it cannot serve itself, sent
 * beside the request in the `kv` message. Old senders omit it and get the
 * old answers (NotLeader at once).
 */
export interface KvRouting {
  /**
   * How long the sender waits for this attempt, in ms. A replica that knows
   * no live leader holds the request up to this long for one to be elected,
   * and a follower forwards it to the leader within it, instead of answering
   * NotLeader at once. The reply must leave before it ends, so senders pass
   * less than their own attempt timeout.
   */
  waitMs?: number;
  /** Set by a follower forwarding to the leader: answer, never forward again (one hop, no loops). */
  forwarded?: boolean;
}

export interface ReplicaStatus {
  name: string;
  id: number;
  role: RaftRole;
  term: number;
  /** Name of the replica this one believes leads, or '' when none. */
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  /** The store's revision. */
  revision: number;
  compactRevision: number;
  /** First index still in the Raft log (entries before it are in the snapshot). */
  firstIndex: number;
  /** Last index of the Raft log, and of the part of it on disk (equal between Readies). */
  lastIndex: number;
  durableLastIndex: number;
  snapshotIndex: number;
  /** The longest time between two consecutive Raft ticks since the replica started: how long its thread was held at worst (our replicas only). */
  longestTickGapMs?: number;
  /** Ready drains that stopped at the apply bound (`applyEntriesPerDrainMax`) and left the rest to a later turn. */
  drainsCut?: number;
  /** Compaction steps taken (`ReplicaArgs.compactionStepKeys` keys each), and whether a compaction still has keys to visit. */
  compactionSteps?: number;
  compacting?: boolean;
  /** The last snapshot this replica took: how many steps, the longest step (the most it held the thread), start to durable (our replicas only). */
  /** `bytes`: the snapshot's own file's data (a delta's, not its chain's). */
  lastSnapshot?: { index: number; bytes: number; delta: boolean; steps: number; longestStepMs: number; tookMs: number };
  watchers: number;
  /** A torn WAL tail cut on open, as reported by storage (empty when clean). */
  recoveredFrom: string;
  /** Leaders this incarnation forgot on the notice that their actor ended (`leaderDownFailover`; our replicas only). */
  leadersForgotten?: number;
  /** Ticks this incarnation has taken (its fixed-rate ticker): they go on while an fsync is in flight (async storage writes). */
  ticks?: number;
  /** Readies handed to storage whose writes are not durable yet (async storage writes; 0 inline). */
  writesInFlight?: number;
}

export type ReplicaMsg =
  /** Raft traffic from a peer, batched per destination and per Ready. */
  | { type: 'raft'; body: { msgs: RaftMessage[] } }
  /** A part of a large Raft snapshot from the leader, and the follower's acknowledgement (snapshot-transfer.ts). */
  | { type: 'snapChunk'; body: SnapshotChunk }
  | { type: 'snapChunkAck'; body: SnapshotChunkAck }
  /** Ask: a client request; the reply is a `ClientReply`. */
  | { type: 'kv'; body: ClientRequest & KvRouting }
  /**
   * Ask: open a watch whose events are told to `watcher` as `kvWatch`
   * messages tagged with `clientWatchId`. Reply: the created `WatchResponse`
   * (its `watchId` is the replica's) or an `ErrorResponse` or `NotLeader`-free
   * `Unavailable`.
   */
  | { type: 'watchCreate'; body: Omit<WatchCreateRequest, 'type'> & { watcher: string; clientWatchId: number } }
  | { type: 'watchCancel'; body: { watchId: number } }
  /** etcd's RequestProgress for the sender's watches on this replica: a progress notification for each that is synced. */
  | { type: 'watchProgress'; body: { watchIds: number[] } }
  /** Ask: this replica's `ReplicaStatus`; with `resetLongestTickGap`, `longestTickGapMs` then starts again from 0 (benchmarks time a window). */
  | { type: 'status'; body: { resetLongestTickGap?: boolean } | null }
  /** Ask: this replica's Prometheus series as text exposition (`ReplicaMetricsReply`). */
  | { type: 'metrics'; body: null }
  /** Ask (operators, benchmarks): start an election on this replica now. */
  | { type: 'campaign'; body: null }
  /** Ask: hand leadership to the named replica. */
  | { type: 'transferLeadership'; body: { to: string } }
  | { type: 'tick'; body: null }
  /** Self: take the next step of the snapshot in progress. */
  | { type: 'snapshotStep'; body: null }
  /** Self: decode the next part of a snapshot received in chunks. */
  | { type: 'snapshotDecodeStep'; body: null }
  /** Self: a request held for want of a leader waited as long as its sender allowed. */
  | { type: 'holdExpired'; body: { id: number } }
  /** Timer: campaign now if the leader whose actor ended has no successor yet (`leaderDownFailover`). */
  | { type: 'failoverCampaign'; body: null }
  /**
   * Ask the leader: a membership change (etcd's member add --learner / promote / remove; several at
   * once go through a joint configuration). Reply: `MemberChangeReply`, once the change is applied here.
   */
  | { type: 'memberChange'; body: { changes: ConfChange[]; transition?: ConfChangeTransition } }
  /** Ask: the membership as this replica has applied it (`MemberListReply`). */
  | { type: 'memberList'; body: null };

/** One member, as etcd's member list shows it. */
export interface MemberInfo {
  id: number;
  name: string;
  isLearner: boolean;
}

export type MemberChangeReply = { ok: true; members: MemberInfo[] } | { ok: false; error: string; leader: string };

export interface MemberListReply {
  members: MemberInfo[];
  leader: string;
  /** Whether the configuration is joint (a multi-member change in progress). */
  joint: boolean;
}

/**
 * Told to a watcher. `canceled` without `compactRevision` means "resume
 * elsewhere", not "the watch is over". `seq` numbers the messages of one
 * watch stream from 1: the actor transport may drop or reorder under faults
 * (it is not a TCP stream), so the client checks contiguity and resumes from
 * its last delivered revision on any gap.
 */
export interface KvWatchMsg {
  type: 'kvWatch';
  body: { replica: string; clientWatchId: number; seq: number; response: WatchResponse };
}

export interface ReplicaMetricsReply {
  text: string;
}

/** Arguments of one replica actor. */
export interface ReplicaArgs {
  /** This replica's Raft id (1-based). */
  id: number;
  /** Every member's actor name by Raft id, this one included. */
  members: Record<number, string>;
  /**
   * Names of members added later: Raft id `i` is the actor `${namePrefix}-${i - 1}` (the group's
   * naming), so every replica, restarted or not, can reach a member it was not started with.
   */
  namePrefix?: string;
  /** Start empty and wait to be added (`memberChange` addLearner on the leader), instead of founding the group. */
  join?: boolean;
  /** One Raft tick. etcd: heartbeat 100 ms = 1 tick, election 1,000 ms = 10 ticks. */
  tickMs?: number;
  /**
   * Committed entries one Ready drain applies before it yields its thread (and Raft's bound on one Ready's
   * committed entries): the rest is applied in later turns, after the timers and messages due meanwhile, so a
   * backlog of thousands cannot hold the ticks and heartbeats past an election timeout (issue #22). Default
   * `REPLICA_APPLY_ENTRIES_PER_DRAIN_DEFAULT`.
   */
  applyEntriesPerDrainMax?: number;
  /** Bytes of committed entries one drain applies before it yields (and Raft's bound on one Ready's); default `REPLICA_APPLY_BYTES_PER_DRAIN_DEFAULT`. */
  applyBytesPerDrainMax?: number;
  /** Tests, simulated runtime: virtual ms each applied entry keeps the replica busy (`ActorContext.busyFor`), so a long drain shows. */
  applyCostMsPerEntry?: number;
  /** Tests, simulated runtime: virtual ms each key a compaction visits keeps the replica busy, as `applyCostMsPerEntry`. */
  compactionCostMsPerKey?: number;
  /**
   * Keys one compaction step visits (`MvccStore.compactStep`): a compaction drops old versions this many
   * keys a turn, as etcd compacts in batches in the background, rather than the whole keyspace in the turn
   * that applies it (seconds at 100,000 pods, on every replica at once). 0: all in that turn, as before.
   * Default `COMPACTION_STEP_KEYS_DEFAULT` (1,000).
   */
  compactionStepKeys?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  /** Width of the randomized election timeout's range in ticks (see RaftConfig; default electionTicks). */
  electionTimeoutJitterTicks?: number;
  /** Raft's pre-vote round and check-quorum (default both on, as etcd runs them). */
  preVote?: boolean;
  checkQuorum?: boolean;
  /**
   * A failure detector beside the election timer: when the actor of this replica's leader
   * ends (killed, crashed, restarted — what a TCP peer sees as its stream closing), forget
   * that leader (Raft's forgetLeader, so this replica grants votes at once) and campaign
   * after a random delay of at most `leaderDownCampaignDelayMaxMs`, instead of waiting out
   * the election timeout. Partitions and pauses close no stream: there the election
   * timeout stays the only detector. Default true; false behaves as etcd does (studies
   * that compare election timeouts alone).
   */
  leaderDownFailover?: boolean;
  /** The random delay's upper bound, in ms (default 30): wide enough that two followers rarely campaign at once. */
  leaderDownCampaignDelayMaxMs?: number;
  /** Take a snapshot and compact the log once this many entries are applied past the last one (etcd: --snapshot-count). */
  snapshotEntries?: number;
  /** Entries kept behind a snapshot so slow followers catch up from the log rather than a snapshot. */
  snapshotRetainEntries?: number;
  /** etcd's --auto-compaction-mode and --auto-compaction-retention (default: none, as etcd). */
  autoCompaction?: AutoCompactionConfig;
  /** A Raft snapshot larger than this goes to a follower in chunks of this size (default 4 MiB; smaller in tests). */
  snapshotChunkBytes?: number;
  /** A snapshot larger than this lives only in its file, read back for followers (default 4 MiB; smaller in tests). */
  snapshotKeepBytesMax?: number;
  /** Estimated bytes a snapshot step encodes (default 1 MiB; smaller in tests, to make many steps). */
  snapshotBatchBytes?: number;
  /**
   * Write and fsync a snapshot's file off the replica's thread (default true;
   * false writes in the steps themselves, as before issue #22's last step:
   * kept for `bench snapshot` to compare).
   */
  snapshotInBackground?: boolean;
  /**
   * Snapshots as chains (default true, issues #16, #22): a delta of the keys written since the last snapshot,
   * in a file of its own, until the chain's deltas outgrow its whole snapshot, then a whole one again. false
   * writes the whole store every time, as before: kept to compare.
   */
  snapshotDeltas?: boolean;
  /**
   * The replicas take their chains' whole snapshots in turn, one snapshot threshold apart, not all at the same
   * index (default true; snapshotter.ts `nextSnapshotIsDelta`). false: each when its deltas outgrow its whole one.
   */
  wholeSnapshotsInTurn?: boolean;
  /** Every this many ms, a progress notification to every synced watcher (liveness for resuming clients). */
  watchProgressMs?: number;
  /**
   * A leader sends its appends before its own fsync, and the fsync overlaps
   * the followers' (Raft thesis §10.2.1; etcd does this). Safe because the
   * leader counts itself toward a commit only once its entries are durable.
   * Default true; false persists before every send (one fsync more latency).
   */
  leaderSendsBeforePersist?: boolean;
  /**
   * Raft's async storage writes (etcd-io/raft's AsyncStorageWrites, issue #22):
   * the WAL append and fsync of each Ready run off the replica's thread
   * (`Disk.inBackground`), so ticks, heartbeats and applies never wait for an
   * fsync; acknowledgements wait for their write. Default true; false appends
   * and fsyncs inline in the Ready loop (kept to compare, and for tests that
   * pin the inline ordering; `leaderSendsBeforePersist` applies only then).
   */
  asyncStorageWrites?: boolean;
  /**
   * With async storage writes, fsync the WAL on the replica's thread when
   * nothing of it is in flight (a lone write), and in the background only
   * when there is a group to commit together or the disk proved slow
   * (`WalOptions.inlineFsyncWhenIdle`): a lone put skips the fsync's round
   * trip through libuv's pool (p99 1.8-2.5 ms against 0.16 ms inline on this
   * machine, issue #22). On a disk that bounds the wait (`Disk.fsyncWithin`,
   * the threaded runtime's) the thread waits `WAL_FSYNC_WAIT_MS` at most, then
   * the fsync ends in the background: default true there. On the simulated
   * runtime's disks an inline fsync holds the actor for all of it (a disk
   * slower than an election timeout costs the leader its term once): default
   * false there, and true asks for that unbounded wait.
   */
  inlineFsyncWhenIdle?: boolean;
  /**
   * Deliberately broken, for proving the tests bite: with async storage writes,
   * send append and vote acknowledgements before their write is durable.
   * Never set outside tests.
   */
  unsafeAckBeforeDurable?: boolean;
  /**
   * Deliberately broken, for proving the chaos checks bite: serve every read
   * from the local state without ReadIndex (stale reads from a deposed leader or
   * a lagging follower). Never set outside tests.
   */
  unsafeLocalReads?: boolean;
}
