/**
 * One etcd replica: Raft (src/raft) + the durable log (src/storage, in the
 * actor's own data directory) + the MVCC store, watch hub and lease clock
 * (src/kv/mvcc), driven through its actor context only — time, timers,
 * randomness and disk — so the same code runs in threads and, replayable from a
 * seed, in the simulated runtime.
 *
 * The Ready loop (see src/raft/raw-node.ts), by default with Raft's async
 * storage writes (`asyncStorageWrites`, etcd-io/raft's AsyncStorageWrites):
 * hand hard state, entries and snapshot to the WAL, whose append and fsync run
 * off the thread (`Disk.inBackground`); send at once the messages that promise
 * nothing durable, and hold the acknowledgements (msgAppResp, msgVoteResp,
 * msgPreVoteResp) until their write is durable, when Raft learns it too
 * (`onDurable`); apply committed entries; answer reads whose index is applied;
 * advance. Ticks and heartbeats never wait for an fsync. In the synchronous
 * mode: persist first, and only then send the messages that depend on it
 * (enforced by RaftStorage.persistThenSend) — except a leader's, which go first
 * when its term and vote are already durable (`leaderSendsBeforePersist`). It
 * runs once per turn of the event loop, not per message, so the proposals that
 * arrive together share one fsync.
 *
 * Requests:
 * - writes (put, deleteRange, txn, compact, lease grant / revoke) are proposed
 *   on the leader; a follower forwards them to the leader and relays its
 *   answer (etcd forwards proposals); a replica that knows no live leader holds
 *   them until one is elected, as long as the sender waits (`KvRouting.waitMs`);
 *   senders that give no wait get NotLeader at once, naming the leader only
 *   when it was heard from within an election timeout;
 * - linearizable reads wait for a ReadIndex round (batched: one round serves
 *   every read that arrived before it started) and for the apply index to reach
 *   it, on any replica;
 * - serializable reads are served from the local store at once;
 * - lease keep-alives are served by the leader's lease clock; expiry is decided
 *   by the leader and applied through Raft as a revoke.
 *
 * Failover: besides the election timeout, a replica monitors its peers' actors;
 * when its leader's incarnation ends it forgets that leader (Raft's
 * forgetLeader) and campaigns after a short random delay (`leaderDownFailover`).
 */
import { pack, unpack } from 'msgpackr';
import type { ActorContext, Handlers } from '../../actor/behaviour.js';
import { unhandled } from '../../actor/behaviour.js';
import type { Message as RaftMessage } from '../../raft/protocol.js';
import { RaftNode, type Ready } from '../../raft/raw-node.js';
import type { RaftConfig } from '../../raft/raft.js';
import { NONE, type Entry, type Snapshot } from '../../raft/types.js';
import { RaftStorage, type RaftStorageReport } from '../../storage/raft-storage.js';
import { isError, kvError } from '../mvcc/errors.js';
import { LeaseClock } from '../mvcc/lease-clock.js';
import { checkProposal } from '../mvcc/proposal.js';
import { SnapshotDecoder, storeFromBytes } from '../mvcc/snapshot-codec.js';
import { nextSnapshotIsDelta, SNAPSHOT_KEEP_BYTES_MAX_DEFAULT, SnapshotJob, type SnapshotChainBase, type TakenSnapshot } from './snapshotter.js';
import { AutoCompactor } from './auto-compaction.js';
import { SNAPSHOT_TRANSFER_DEFAULTS, SnapshotReceiver, SnapshotSender, type SnapshotChunk, type SnapshotChunkAck } from './snapshot-transfer.js';
import { SnapshotFileReader, type SnapshotFileLayout, type SnapshotWriter } from '../../storage/snapshot-store.js';
import { COMPACTION_STEP_KEYS_DEFAULT, MvccStore } from '../mvcc/store.js';
import { WatchHub } from '../mvcc/watch-hub.js';
import type { ApplyRequest, ApplyResponse, RangeRequest, WatchResponse } from '../protocol.js';
import { ActorNotFoundError, ActorUnavailableError } from '../../actor/errors.js';
import { ReplicaMetrics } from './metrics.js';
import { secondsBetween } from '../../metrics/index.js';
import { isRaftMessage, isSnapshotChunk } from './raft-message.js';
import { routingWaitMs, withoutRouting, withRouting } from './routing.js';
import type { ClientReply, ClientRequest, KvWatchMsg, MemberChangeReply, MemberInfo, MemberListReply, ReplicaArgs, ReplicaMsg, ReplicaStatus, Unavailable } from './protocol.js';
import type { ConfChange, ConfChangeTransition } from '../../raft/types.js';
// A diagnostic that only reads the clock when KUBETHREADS_TXN_STAMPS is set on threads (ask-stamps.ts); never in the simulation.
import { askStamps } from '../../actor/ask-stamps.js';

/** etcd's defaults: heartbeat 100 ms, election timeout 1,000 ms. */
export const REPLICA_TICK_MS_DEFAULT = 100;
export const REPLICA_HEARTBEAT_TICKS_DEFAULT = 1;
export const REPLICA_ELECTION_TICKS_DEFAULT = 10;
/**
 * Committed entries one Ready drain applies before it yields the thread. The 5,000-node run applied
 * 730-4,700 entries in single drains held 0.5-1.2 s (about 0.25 ms an entry on that loaded machine) and its
 * leader's ticks came 1.3-3.9 s late; 256 is some 65 ms there, under one tick. A count, not a clock: the
 * simulated runtime replays a run from its seed.
 */
export const REPLICA_APPLY_ENTRIES_PER_DRAIN_DEFAULT = 256;
/** Bytes of committed entries one drain applies before it yields (Raft's own default per Ready is 4 MiB). */
export const REPLICA_APPLY_BYTES_PER_DRAIN_DEFAULT = 1024 * 1024;
/**
 * etcd's --snapshot-count (100,000 entries). A snapshot is the whole store, history included, so at 10,000 a
 * 300-node run spent a fifth of its time writing snapshots; the API server's compaction bounds the history.
 */
export const REPLICA_SNAPSHOT_ENTRIES_DEFAULT = 100_000;
/**
 * Between snapshot steps: on threads a timer of 0 waits 1 ms anyway; in the simulated runtime 1 ms spreads the
 * steps over virtual time as they are spread over real time, so writes and ticks interleave with them there too.
 */
const SNAPSHOT_STEP_DELAY_MS = 1;
/** The bytes Raft holds for a snapshot kept only in its file: the replica reads them from the file (`fileSnapshot`). */
const NO_BYTES = new Uint8Array(0);
/** A snapshot step that held the replica's thread this long is logged as a warning. */
const SLOW_SNAPSHOT_MS = 50;
/** etcd keeps 5,000 entries after a snapshot for slow followers. */
export const REPLICA_SNAPSHOT_RETAIN_ENTRIES_DEFAULT = 5_000;
export const REPLICA_WATCH_PROGRESS_MS_DEFAULT = 1_000;
/**
 * Proposals awaiting apply on this leader. Why: each holds a client's reply;
 * past this the leader is not keeping up and new writes are refused
 * (retryable) instead of queueing without bound.
 */
export const PENDING_PROPOSALS_MAX = 10_000;
/** Linearizable reads waiting on this replica, for the same reason. */
export const PENDING_READS_MAX = 10_000;
/** Requests held for want of a live leader (and forwards in flight to it), for the same reason. */
export const HELD_REQUESTS_MAX = 10_000;
/**
 * A follower forwards a request only when the sender waits at least this long
 * more: a leader busy with the writes of an election's backlog takes tens of
 * ms to answer, and a forward that times out is an unknown outcome for the client.
 */
export const FORWARD_WAIT_MIN_MS = 100;
/**
 * The default bound of the random delay before a follower campaigns for a leader whose actor
 * ended: wide against a message's latency on a loaded machine (a few ms), so the two followers
 * of a three-member group seldom campaign at once, and small against an election timeout.
 */
export const LEADER_DOWN_CAMPAIGN_DELAY_MAX_MS_DEFAULT = 30;
/** Campaigns after a leader-down notice before the election timeout is left to finish the job (a split vote, a lost message). */
const FAILOVER_CAMPAIGNS_MAX = 4;
/** Ticks a ReadIndex round may go unanswered before it is retried: a heartbeat round trip takes one or two. */
const READ_ROUND_RETRY_TICKS = 3;
/** Watch responses sent per drain before yielding: one slow catch-up cannot starve Raft. */
const WATCH_PUMPS_PER_DRAIN_MAX = 64;
/**
 * Events of the log the watchers read per drain, all together, before it yields (`WatchHub.pump`): every
 * watcher reads the whole log and keeps what its range matches, so the API server's 28 store watches (one
 * per resource's watch cache) catching up could read 64 pumps x 1,000 events each, 1.8 million events, in
 * one turn (a profiled 2,000-node run: 0.8-1.1 s turns in the hub's matching, issue #16). 16,384 events
 * is a few milliseconds; catching up goes on in the next turn, after the ticks and frames due.
 */
const WATCH_SCAN_EVENTS_PER_DRAIN_MAX = 16_384;

interface PendingProposal {
  index: number;
  resolve(reply: ClientReply): void;
}

interface HeldRequest {
  request: ClientRequest;
  /** When the sender stops waiting (this replica's clock): what is left of it goes with the request when it is released. */
  deadlineMs: number;
  resolve(reply: ClientReply | Promise<ClientReply>): void;
}

interface PendingRead {
  request: RangeRequest;
  resolve(reply: ClientReply): void;
}

interface WatchTarget {
  watcher: string;
  clientWatchId: number;
  /** Sequence number of the last message sent on this stream. */
  seq: number;
}

/** The replica's entry payload: [proposal id ('' for the leader's own, such as lease expiry), request]. */
type EntryPayload = [string, ApplyRequest];

export function createReplica(ctx: ActorContext<ReplicaMsg>, args: ReplicaArgs): Handlers<ReplicaMsg> {
  const tickMs = args.tickMs ?? REPLICA_TICK_MS_DEFAULT;
  const electionTicks = args.electionTicks ?? REPLICA_ELECTION_TICKS_DEFAULT;
  const snapshotEntries = args.snapshotEntries ?? REPLICA_SNAPSHOT_ENTRIES_DEFAULT;
  const leaderSendsBeforePersist = args.leaderSendsBeforePersist !== false;
  const asyncWrites = args.asyncStorageWrites !== false;
  const unsafeAckBeforeDurable = args.unsafeAckBeforeDurable === true;
  const retainEntries = args.snapshotRetainEntries ?? REPLICA_SNAPSHOT_RETAIN_ENTRIES_DEFAULT;
  const watchProgressTicks = Math.max(1, Math.round((args.watchProgressMs ?? REPLICA_WATCH_PROGRESS_MS_DEFAULT) / tickMs));
  const leaderDownFailover = args.leaderDownFailover !== false;
  const campaignDelayMaxMs = args.leaderDownCampaignDelayMaxMs ?? LEADER_DOWN_CAMPAIGN_DELAY_MAX_MS_DEFAULT;
  if (!(Number.isFinite(campaignDelayMaxMs) && campaignDelayMaxMs >= 0)) {
    throw new Error(`replica ${ctx.name}: leaderDownCampaignDelayMaxMs must be a number of ms >= 0, got ${String(args.leaderDownCampaignDelayMaxMs)}`);
  }
  const applyEntriesPerDrainMax = args.applyEntriesPerDrainMax ?? REPLICA_APPLY_ENTRIES_PER_DRAIN_DEFAULT;
  const applyBytesPerDrainMax = args.applyBytesPerDrainMax ?? REPLICA_APPLY_BYTES_PER_DRAIN_DEFAULT;
  if (!(applyEntriesPerDrainMax >= 1) || !(applyBytesPerDrainMax >= 1)) {
    throw new Error(`replica ${ctx.name}: applyEntriesPerDrainMax and applyBytesPerDrainMax must be >= 1, got ${String(args.applyEntriesPerDrainMax)}, ${String(args.applyBytesPerDrainMax)}`);
  }
  const applyCostMsPerEntry = args.applyCostMsPerEntry ?? 0;
  /** Keys a compaction step visits; 0 compacts the whole store in the turn that applies the compaction. */
  const compactionStepKeysArg = args.compactionStepKeys ?? COMPACTION_STEP_KEYS_DEFAULT;
  if (!(Number.isInteger(compactionStepKeysArg) && compactionStepKeysArg >= 0)) {
    throw new Error(`replica ${ctx.name}: compactionStepKeys must be an integer >= 0, got ${String(args.compactionStepKeys)}`);
  }
  const compactionStepKeys = compactionStepKeysArg === 0 ? undefined : compactionStepKeysArg;
  const compactionCostMsPerKey = args.compactionCostMsPerKey ?? 0;
  const memberIds = Object.keys(args.members).map(Number).sort((a, b) => a - b);
  if (!memberIds.includes(args.id)) throw new Error(`replica ${ctx.name}: id ${args.id} is not among the members ${memberIds.join(', ')}`);
  const nameOf = (id: number): string => args.members[id] ?? (args.namePrefix !== undefined && id > 0 ? `${args.namePrefix}-${id - 1}` : '');
  /** The inverse of `nameOf`, for members added after this replica started too. */
  const idOf = (name: string): number | undefined => {
    const known = memberIds.find((id) => args.members[id] === name);
    if (known !== undefined || args.namePrefix === undefined || !name.startsWith(`${args.namePrefix}-`)) return known;
    const n = Number(name.slice(args.namePrefix.length + 1));
    return Number.isInteger(n) && n >= 0 ? n + 1 : undefined;
  };

  const config: RaftConfig = {
    id: args.id,
    electionTicks,
    heartbeatTicks: args.heartbeatTicks ?? REPLICA_HEARTBEAT_TICKS_DEFAULT,
    electionTimeoutJitterTicks: args.electionTimeoutJitterTicks,
    random: () => ctx.random(),
    preVote: args.preVote ?? true,
    checkQuorum: args.checkQuorum ?? true,
    asyncStorageWrites: asyncWrites,
    // One Ready never carries more than one drain applies: the drain yields between Readies only.
    maxCommittedEntriesPerReady: applyEntriesPerDrainMax,
    maxCommittedSizePerReadyBytes: applyBytesPerDrainMax,
  };

  // ---------------------------------------------------------------- metrics
  // Read only when scraped; `node`, `store` and `proposals` are bound below, before any scrape can arrive.
  const metrics = new ReplicaMetrics(ctx.name, {
    hasLeader: () => node.leader() !== NONE,
    isLeader: () => node.isLeader(),
    commitIndex: () => node.status().commit,
    appliedIndex: () => appliedIndex,
    pendingProposals: () => proposals.size,
    liveKeys: () => store.liveKeyCount(),
  }, ctx.disk);
  let leaderSeen = NONE;
  /** The role the last Ready's soft state named, to tell a deposed leader apart in the log. */
  let roleSeen = 'follower';

  // ---------------------------------------------------------------- recovery
  const storageDisk = metrics.timedDisk(ctx.disk, () => ctx.now());
  // Before an inline fsync the turn's sends leave (on threads they would at its end, after the fsync): a leader's
  // appends reach the followers, which fsync beside it, not after it.
  // On by default where the disk bounds the thread's wait (`Disk.fsyncWithin`: threads); the simulated disks do not.
  const inlineFsyncWanted = args.inlineFsyncWhenIdle ?? storageDisk.fsyncWithin !== undefined;
  // Only a lone write (nothing else of the log uncommitted: a sequential put, on the leader and on each follower);
  // under load the fsyncs stay in the background, where they group and the thread goes on taking proposals.
  const inlineFsync = asyncWrites && inlineFsyncWanted
    ? { nowMs: () => ctx.now(), beforeFsync: () => ctx.flushSends(), lone: () => { const status = (node as RaftNode | undefined)?.status(); return status === undefined || storage.lastIndex() - status.commit <= 1; } }
    : undefined;
  const opened = RaftStorage.open(storageDisk, { wal: { background: asyncWrites, inlineFsyncWhenIdle: inlineFsync } });
  const storage = opened.storage;
  const recoveredFrom = describeRecovery(opened.report);
  if (recoveredFrom !== '') ctx.log.warn({ recovery: recoveredFrom }, 'storage repaired a damaged log tail on open');
  const initial = storage.initialState();
  const snapshot = storage.snapshot();
  let store = snapshot === undefined ? new MvccStore() : storeFromBytes(snapshot.data);
  // A compaction drops old versions in steps (stepCompaction, at the end of a drain), never inside the apply.
  store.compactInSteps = true;
  const snapshotDeltas = args.snapshotDeltas ?? true;
  if (snapshotDeltas) store.trackSnapshotChanges();
  let hub = new WatchHub(store);
  let leases = new LeaseClock(store);
  let node: RaftNode;
  const fresh = initial.hardState.term === 0 && snapshot === undefined && storage.lastIndex() === 0;
  if (fresh && args.join === true) {
    node = RaftNode.join({ config });
  } else if (fresh) {
    node = RaftNode.bootstrap({ config, voters: memberIds });
  } else {
    const entries = storage.lastIndex() >= storage.firstIndex() ? storage.entries(storage.firstIndex(), storage.lastIndex() + 1) : [];
    node = RaftNode.restart({ config: { ...config, applied: snapshot?.metadata.index ?? 0 }, hardState: initial.hardState, snapshot, entries });
  }
  let snapshotIndex = snapshot?.metadata.index ?? 0;
  /** The last log index applied to the store; kept here so the Ready loop need not build a status (a copy) per turn. */
  let appliedIndex = snapshotIndex;
  ctx.log.info({ fresh, term: initial.hardState.term, commit: initial.hardState.commit, snapshotIndex, lastIndex: storage.lastIndex() }, 'replica started');

  // ---------------------------------------------------------------- volatile state
  // Proposal ids must not collide with a previous incarnation's entries still in the log.
  const incarnation = Math.floor(ctx.random() * 2 ** 32).toString(36);
  let nextProposal = 0;
  const proposals = new Map<string, PendingProposal>();
  /** Membership changes proposed here, by log index: answered once applied. */
  const memberChanges = new Map<number, (reply: MemberChangeReply) => void>();
  let readsQueued: PendingRead[] = [];
  /** The ReadIndex round in flight: its context and the reads it answers. */
  let readRound: { context: string; reads: PendingRead[]; startedTick: number } | undefined;
  let nextReadRound = 0;
  /** Reads whose read index is known, waiting for apply to reach it. */
  const readsAwaitingApply: Array<{ index: number; reads: PendingRead[] }> = [];
  const watchTargets = new Map<number, WatchTarget>();
  const watchedActors = new Set<string>();
  const revokesInFlight = new Set<number>();
  let leaderlessTicks = 0;
  let ticks = 0;
  /** The tick at which the leader was last heard from: one silent for an election timeout is presumed down. */
  let leaderHeardTick = 0;
  const held = new Map<number, HeldRequest>();
  let nextHeld = 0;
  let forwardsInFlight = 0;
  let drainScheduled = false;
  /** Drains that stopped at the apply bound with committed entries left (ReplicaStatus.drainsCut). */
  let drainsCut = 0;
  /** Compaction steps taken (ReplicaStatus.compactionSteps). */
  let compactionSteps = 0;
  /** Answers of `physical` compactions, held until the compaction in steps is done (etcd's physical compaction). */
  let physicalCompactions: Array<() => void> = [];
  /** The last drainReadies stopped at the apply bound with a Ready left. */
  let drainCut = false;
  let draining = false;
  /**
   * Async storage writes: every Ready handed to storage, oldest first, with the acknowledgements it holds
   * back until its writes (and all before them) are durable. Completed strictly in order.
   */
  const writes: Array<{ rd: Ready; held: RaftMessage[]; durable: boolean }> = [];
  let stopped = false;
  /** The snapshot being taken in steps, if any, and how its steps went. */
  let snapshotJob: SnapshotJob | undefined;
  let snapshotStats: { startedMs: number; longestStepMs: number } | undefined;
  let lastSnapshot: ReplicaStatus['lastSnapshot'];
  /** What the last snapshot's log line says, but for its longest step (known once its last turn is over). */
  let takenFields: { index: number; revision: number; bytes: number; delta: boolean; inMemory: boolean; steps: number; tookMs: number; longestStepMs: number } | undefined;
  /** A snapshot received in chunks being decoded in steps before Raft sees it, and the store it decoded to. */
  let receivedDecode: { message: Extract<RaftMessage, { type: 'msgSnap' }>; decoder: SnapshotDecoder } | undefined;
  let decodedSnapshot: { index: number; term: number; store: MvccStore } | undefined;
  /** The local snapshot Raft holds without its bytes (too large to keep): where to read them for a follower. */
  let fileSnapshot: { index: number; term: number; reader: SnapshotFileReader } | undefined;
  /**
   * The chain of snapshots the store was restored from at start, and the links this replica added: its files,
   * oldest first (the whole snapshot, then its deltas). Undefined (a fresh store, or one a
   * leader's snapshot replaced): the next snapshot is whole, the keys written before are unknown to the store.
   */
  let chain: { last: SnapshotChainBase; files: SnapshotFileLayout[] } | undefined;
  // Restarted from a snapshot on disk: its chain goes on (the store counts its writes from that snapshot's revision).
  if (snapshotDeltas && snapshot !== undefined && storage.openedSnapshotFiles !== undefined) {
    const files = [...storage.openedSnapshotFiles];
    const last: SnapshotChainBase = { id: { index: snapshot.metadata.index, term: snapshot.metadata.term }, revision: store.revision, dataBytes: snapshot.data.byteLength };
    if (snapshot.data.byteLength <= (args.snapshotKeepBytesMax ?? SNAPSHOT_KEEP_BYTES_MAX_DEFAULT)) last.data = snapshot.data;
    chain = { last, files };
  }
  /** The file of a snapshot arriving in chunks, written as they come. */
  let receivedFile: { transfer: string; writer: SnapshotWriter } | undefined;
  const transferOptions = { ...SNAPSHOT_TRANSFER_DEFAULTS, ...(args.snapshotChunkBytes === undefined ? {} : { chunkBytes: args.snapshotChunkBytes }) };
  const snapshotSender = new SnapshotSender((to, chunk) => ctx.send(nameOf(to), { type: 'snapChunk', body: chunk }), transferOptions);
  const snapshotReceiver = new SnapshotReceiver();
  const autoCompactor = args.autoCompaction === undefined ? undefined : new AutoCompactor(args.autoCompaction);
  let lastTickMs: number | undefined;
  let longestTickGapMs = 0;
  /** Peers whose actors this replica monitors (leaderDownFailover). */
  const monitoredPeers = new Set<string>();
  /**
   * The leader whose actor ended, the term it led and the tick we heard it. Its appends and heartbeats
   * of that term still in flight are dropped for an election timeout: they come from the dead
   * incarnation (a restarted one never leads that term again) and would bring its lease back.
   */
  let deadLeader: { id: number; term: number; tick: number } | undefined;
  let failoverCampaigns = 0;
  let leadersForgotten = 0;
  const snapshotJobOptions = { batchBytes: args.snapshotBatchBytes, keepBytesMax: args.snapshotKeepBytesMax, background: args.snapshotInBackground ?? true };

  for (const id of memberIds) if (id !== args.id) monitorPeer(nameOf(id));
  // Peers' Raft messages (a follower's acknowledgement commits what the clients wait on) before new client requests.
  // The members at start: one added later is read in the order its frames wake the thread, as any client's.
  ctx.readFirstFrom(memberIds.filter((id) => id !== args.id).map(nameOf).filter((name) => name !== ''));

  // Fixed-rate, as etcd's ticker: re-arming from the handler made each tick a period plus timer lateness
  // plus whatever fsync, apply or snapshot ran before it, and stretched every election and heartbeat timeout.
  ctx.ticker('tick', tickMs, { type: 'tick', body: null });
  scheduleDrain();

  // ---------------------------------------------------------------- the Ready loop
  function scheduleDrain(): void {
    if (drainScheduled) return;
    drainScheduled = true;
    // One drain for everything that arrived together (on threads, every frame already waiting,
    // not one per frame): one Ready, one fsync — etcd's group commit. A throw crashes the actor.
    ctx.afterArrivals(() => {
      drainScheduled = false;
      if (!stopped) drain();
    });
  }

  function drain(): void {
    draining = true;
    const startedMs = ctx.now();
    const appliedBefore = appliedIndex;
    let readies = 0;
    try {
      readies = drainReadies();
    } finally {
      draining = false;
    }
    // Cut short with Readies left (a backlog of committed entries): the rest is a later turn. On threads
    // afterArrivals is a setImmediate queued from the check phase, so it runs in the next loop iteration,
    // after the timers due (the tick) and the frames waiting; in the simulated runtime, after the events
    // due now and the busy time this slice charged. Applied lags commit meanwhile, as Raft allows.
    if (drainCut) {
      drainsCut++;
      scheduleDrain();
    }
    const readiesMs = ctx.now() - startedMs;
    // A store decoded for a snapshot is installed by the first drain after its msgSnap is stepped; if Raft took
    // no snapshot there (it was stale), drop it rather than hold a copy of the whole store until the next one.
    decodedSnapshot = undefined;
    serveAppliedReads();
    releaseHeld();
    maybeSnapshot();
    const watchStartedMs = ctx.now();
    pumpWatches();
    const watchesMs = ctx.now() - watchStartedMs;
    stepCompaction();
    const tookMs = ctx.now() - startedMs;
    // As the late tick: a drain this long held ticks and heartbeats; what it applied says whether it was the work or the machine.
    if (tookMs >= (tickMs * electionTicks) / 2) {
      ctx.log.warn({ tookMs, readiesMs, watchesMs, readies, entriesApplied: appliedIndex - appliedBefore, role: roleSeen, term: node.status().term }, 'a Ready drain held the replica\'s thread');
    }
  }

  /**
   * One step of a compaction in progress; the next in a turn of its own (a drain: afterArrivals), after the
   * ticks and frames waiting. With `compactionStepKeys` 0, the whole store in the turn that applied it.
   */
  function stepCompaction(): void {
    if (!store.compacting) {
      // A store replaced by a snapshot has no compaction left: nothing is to wait for.
      if (physicalCompactions.length > 0) answerPhysicalCompactions();
      return;
    }
    const keys = store.compactStep(compactionStepKeys ?? Number.POSITIVE_INFINITY);
    compactionSteps++;
    if (compactionCostMsPerKey > 0) ctx.busyFor(compactionCostMsPerKey * keys);
    if (store.compacting) scheduleDrain();
    else answerPhysicalCompactions();
  }

  function answerPhysicalCompactions(): void {
    const answers = physicalCompactions;
    physicalCompactions = [];
    for (const answer of answers) answer();
  }

  /**
   * Returns how many Readies it handled; sets `drainCut` when it stopped with a Ready left because this
   * drain applied its bound of entries or bytes (`applyEntriesPerDrainMax`): only between Readies, after
   * advance(), so what a Ready persists is still handled before its advance() exactly as before.
   */
  function drainReadies(): number {
    drainCut = false;
    let readies = 0;
    let entries = 0;
    let bytes = 0;
    while (node.hasReady()) {
      if (entries >= applyEntriesPerDrainMax || bytes >= applyBytesPerDrainMax) {
        drainCut = true;
        return readies;
      }
      readies++;
      const rd = node.ready();
      if (rd.softState !== undefined) onRoleChange(rd);
      if (asyncWrites) writeInBackground(rd);
      else persistInline(rd);
      if (rd.snapshot !== undefined) restoreFromSnapshot(rd.snapshot);
      // Committed means durable on a quorum: applied here even before this replica's own copy is (etcd does the same).
      if (rd.committedEntries.length > 0) askStamps()?.committed(rd.committedEntries[0]!.index, rd.committedEntries[rd.committedEntries.length - 1]!.index);
      applyEntries(rd.committedEntries);
      entries += rd.committedEntries.length;
      for (const e of rd.committedEntries) bytes += e.data.byteLength;
      if (applyCostMsPerEntry > 0) ctx.busyFor(applyCostMsPerEntry * rd.committedEntries.length);
      for (const rs of rd.readStates) onReadState(rs.index, rs.context);
      node.advance();
      // Raft applies configuration entries in advance(): only now does the reply show the change.
      if (memberChanges.size > 0) answerMemberChanges();
      // Writes that were durable at once (nothing to write, nothing queued before them) complete before the next Ready.
      if (asyncWrites) completeWrites();
    }
    return readies;
  }

  /**
   * Async storage writes (etcd-io/raft's AsyncStorageWrites): the Ready's WAL
   * records and fsync go to the disk off the thread (`RaftStorage.persistInBackground`),
   * its messages that promise nothing durable leave now — a leader's appends and
   * heartbeats, a candidate's vote requests, heartbeat answers — and the ones that
   * do (append and vote acknowledgements) wait with the write, as etcd's
   * msgsAfterAppend: a follower acknowledges nothing it could forget in a crash,
   * and answers a vote only once the term and vote it grants are on disk. When the
   * write is durable, Raft learns it (`onDurable`: a leader counts its own copy, a
   * candidate its own vote). Ticks, heartbeats and applies go on meanwhile.
   */
  function writeInBackground(rd: Ready): void {
    const held: RaftMessage[] = [];
    const now: RaftMessage[] = [];
    for (const m of rd.messages) (!unsafeAckBeforeDurable && promisesDurability(m) ? held : now).push(m);
    sendRaft(now);
    // A leader's new entries leave now, not at the end of the turn (a no-op in the simulation): the followers start
    // on their fsyncs while this thread asks for its own, and under load they no longer wait behind this Ready's
    // apply (up to a drain of store writes, watch events and answers), which held every commit behind it
    // (docs/performance.md, "A leader's appends posted before its apply"). etcd's leader sends before it persists.
    // Only the followers' frames: the answers and watch events for the API server still leave as one frame.
    if (now.some(carriesLog)) ctx.flushSends(now.filter(carriesLog).map((m) => nameOf(m.to)));
    const write = { rd, held, durable: false };
    writes.push(write);
    const snapshotFile = rd.snapshot === undefined ? undefined : receivedFile?.writer;
    if (snapshotFile !== undefined) receivedFile = undefined;
    // KUBETHREADS_TXN_STAMPS only: nothing is read or kept per Ready when off.
    const stamps = rd.entries.length === 0 ? undefined : askStamps();
    const firstEntry = stamps === undefined ? 0 : rd.entries[0]!.index;
    const lastEntry = stamps === undefined ? 0 : rd.entries[rd.entries.length - 1]!.index;
    stamps?.raft('handed', ctx.name, firstEntry, lastEntry);
    storage.persistInBackground({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot, snapshotFile, messages: [], sync: rd.mustSync }, () => {
      stamps?.raft('durable', ctx.name, firstEntry, lastEntry);
      write.durable = true;
      if (!draining && !stopped) completeWrites();
    });
  }

  /** The writes durable so far, in order: their acknowledgements leave and Raft learns what is on disk. */
  function completeWrites(): void {
    let completed = false;
    while (writes.length > 0 && writes[0]!.durable) {
      const write = writes.shift()!;
      sendRaft(write.held);
      node.onDurable(write.rd);
      const stamps = askStamps();
      if (stamps !== undefined) stampCommitAdvance(stamps);
      completed = true;
    }
    // A commit the leader could count only now, or an election won by a vote now durable, shows in the next Ready.
    if (completed && !draining) scheduleDrain();
  }

  /** The synchronous mode (`asyncStorageWrites: false`): persist on the thread, then send what depends on it. */
  function persistInline(rd: Ready): void {
    const hs = rd.hardState;
    const durable = storage.durableHardState();
    // A leader's Ready that moves neither its term nor its vote on disk may send before its fsync.
    const termOrVoteMoves = hs !== undefined && (hs.term !== durable.term || hs.vote !== durable.vote);
    if (leaderSendsBeforePersist && node.isLeader() && rd.snapshot === undefined && !termOrVoteMoves) {
      // A leader's appends promise nothing about its own disk: it counts itself toward a commit
      // only after advance() in drainReadies, once persist has returned. Its other messages (heartbeats,
      // read-index answers, vote refusals) promise nothing durable either. A vote it grants moves
      // its term, and then everything waits for the fsync as usual.
      sendRaft(rd.messages);
      // On threads a turn's sends leave at its end, after this fsync: post them now so the
      // followers write to their disks while this one does (the simulated runtime sends at once).
      ctx.flushSends();
      storage.persist({ hardState: hs, entries: rd.entries, messages: [], sync: rd.mustSync });
    } else {
      // A snapshot from the leader was written as it arrived: persist finishes that file (or aborts it if Raft took another).
      const snapshotFile = rd.snapshot === undefined ? undefined : receivedFile?.writer;
      if (snapshotFile !== undefined) receivedFile = undefined;
      storage.persistThenSend({ hardState: hs, entries: rd.entries, snapshot: rd.snapshot, snapshotFile, messages: [rd.messages], sync: rd.mustSync }, sendRaft);
    }
  }

  function sendRaft(msgs: readonly RaftMessage[]): void {
    // Most Readies of a follower and many of a leader send nothing: no grouping to build then.
    if (msgs.length === 0) return;
    // Batched per peer, the peers in the order they first appear (as a Map's keys were): two parallel arrays,
    // searched by index, rather than a Map and its iterator per Ready (a Ready names at most the other members).
    const peers: number[] = [];
    const batches: RaftMessage[][] = [];
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      // A large snapshot goes in chunks beside the Raft traffic, not in it (snapshot-transfer.ts); one kept only
      // in its file is read from there. A snapshot without its bytes is never sent: the follower would install nothing.
      if (m.type === 'msgSnap' && (m.snapshot.data.byteLength === 0 || snapshotSender.chunked(m))) {
        const { index, term } = m.snapshot.metadata;
        const fromFile = fileSnapshot !== undefined && fileSnapshot.index === index && fileSnapshot.term === term ? fileSnapshot.reader : undefined;
        if (m.snapshot.data.byteLength > 0) snapshotSender.start(m, ticks);
        else if (fromFile !== undefined) snapshotSender.start(m, ticks, fromFile);
        else ctx.log.error({ index, term, to: nameOf(m.to) }, 'a snapshot without its bytes and not in a file this replica knows: not sent');
        continue;
      }
      const at = peers.indexOf(m.to);
      if (at < 0) {
        peers.push(m.to);
        batches.push([m]);
      } else {
        batches[at]!.push(m);
      }
    }
    for (let p = 0; p < peers.length; p++) {
      const peer = nameOf(peers[p]!);
      const batch = batches[p]!;
      if (carriesHeartbeat(batch)) metrics.heartbeatSent(peer, ctx.now());
      ctx.send(peer, { type: 'raft', body: { msgs: batch } });
    }
  }

  /** The commit index the stamps last saw (KUBETHREADS_TXN_STAMPS only). */
  let commitStamped = 0;
  /** KUBETHREADS_TXN_STAMPS: the leader's commit index moved (an acknowledgement, or its own write durable). */
  function stampCommitAdvance(stamps: NonNullable<ReturnType<typeof askStamps>>): void {
    if (!node.isLeader()) return;
    const commit = node.status().commit;
    if (commit > commitStamped) stamps.raft('commitAdv', ctx.name, commitStamped + 1, commit);
    commitStamped = Math.max(commitStamped, commit);
  }

  /** KUBETHREADS_TXN_STAMPS: a follower's receipt of entries, a leader's of an acknowledgement (ask-stamps.ts). */
  function stampRaftStep(stamps: NonNullable<ReturnType<typeof askStamps>>, m: RaftMessage, from: string): void {
    if (m.type === 'msgApp' && m.entries.length > 0) stamps.raft('appRecv', ctx.name, m.entries[0]!.index, m.entries[m.entries.length - 1]!.index, from);
    else if (m.type === 'msgAppResp' && !m.reject) stamps.raft('ackStep', ctx.name, m.index, m.index, from);
  }

  function onRoleChange(rd: Ready): void {
    const soft = rd.softState!;
    const was = roleSeen;
    roleSeen = soft.role;
    const fields = { role: soft.role, was, leader: nameOf(soft.lead), term: node.status().term, longestTickGapMs };
    // A leader deposed, or a follower that stopped hearing one: what a lost term is diagnosed from (issue #22's 5,000-node run).
    const notable = (was === 'leader' && soft.role !== 'leader') || (leaderSeen !== NONE && (soft.role === 'preCandidate' || soft.role === 'candidate'));
    if (notable) ctx.log.warn(fields, 'raft role changed');
    else ctx.log.info(fields, 'raft role changed');
    // As etcd: a change is counted when a leader is known and differs from the last one seen.
    if (soft.lead !== NONE && soft.lead !== leaderSeen) {
      leaderSeen = soft.lead;
      metrics.leaderChanged();
    }
    if (soft.role === 'leader') leases.promote(ctx.now());
    else {
      revokesInFlight.clear();
      snapshotSender.clear();
    }
    // A read round started under another leader may never be answered; its reads are safe to retry.
    if (readRound !== undefined) {
      failReads(readRound.reads, 'leadership changed during the read');
      readRound = undefined;
    }
    if (soft.role !== 'leader' && soft.role !== 'follower') {
      failReads(readsQueued, 'no leader');
      readsQueued = [];
    }
    // A leader that lost its quorum (check-quorum) or its term knows no leader to learn the fate of its proposals from:
    // answer them now, outcome unknown (an entry may still commit under the next leader), as etcd's "leader changed",
    // rather than keep their clients until their deadlines. Under a known new leader they stay: applying or
    // overwriting them answers them exactly.
    if (soft.role !== 'leader' && soft.lead === NONE && proposals.size > 0) {
      for (const pending of proposals.values()) {
        metrics.proposalFailed();
        pending.resolve(unavailable('the leader lost its quorum or its term while the proposal was in flight', true));
      }
      proposals.clear();
    }
    if (soft.role !== 'leader' && memberChanges.size > 0) {
      for (const resolve of memberChanges.values()) resolve({ ok: false, error: 'leadership changed while the change was in flight; list the members to see whether it applied', leader: nameOf(soft.lead) });
      memberChanges.clear();
    }
  }

  function members(): MemberInfo[] {
    const cs = node.status().confState;
    const voters = new Set([...cs.voters, ...(cs.votersOutgoing ?? [])]);
    const all = [...new Set([...voters, ...cs.learners, ...(cs.learnersNext ?? [])])].sort((a, b) => a - b);
    return all.map((id) => ({ id, name: nameOf(id), isLearner: !voters.has(id) }));
  }

  function answerMemberChanges(): void {
    for (const [index, resolve] of memberChanges) {
      if (index > appliedIndex) continue;
      memberChanges.delete(index);
      resolve({ ok: true, members: members() });
    }
  }

  /**
   * A membership change on the leader. Like etcd's server, a learner is promoted only once in
   * sync (its match at least 90 % of the leader's last index): a voter far behind would hold
   * back every commit until it caught up.
   */
  function changeMembers(body: { changes: ConfChange[]; transition?: ConfChangeTransition }): MemberChangeReply | Promise<MemberChangeReply> {
    if (!Array.isArray(body.changes) || body.changes.some((c) => !Number.isInteger(c.nodeId) || c.nodeId <= 0)) return { ok: false, error: 'changes must name positive integer member ids', leader: '' };
    if (!node.isLeader()) return { ok: false, error: 'not the leader', leader: nameOf(node.leader()) };
    const progress = node.progress();
    const last = node.status().lastIndex;
    for (const c of body.changes) {
      const pr = progress.get(c.nodeId);
      const learner = members().find((m) => m.id === c.nodeId)?.isLearner === true;
      if (c.type === 'addVoter' && learner && (pr?.match ?? 0) < Math.floor(last * 0.9)) {
        return { ok: false, error: `can only promote a learner member which is in sync with leader (member ${c.nodeId} at ${pr?.match ?? 0} of ${last})`, leader: ctx.name };
      }
    }
    const result = node.proposeConfChangeV2({ transition: body.transition ?? 'auto', changes: body.changes });
    if (!result.accepted) return { ok: false, error: result.message ?? result.reason, leader: nameOf(result.leader) };
    scheduleDrain();
    return new Promise<MemberChangeReply>((resolve) => memberChanges.set(result.index, resolve));
  }

  function applyEntries(entries: Entry[]): void {
    if (entries.length === 0) return;
    appliedIndex = entries[entries.length - 1]!.index;
    for (const entry of entries) {
      if (entry.type !== 'normal' || entry.data.byteLength === 0) continue;
      const [proposalId, request] = decodeEntry(entry.data);
      const response = store.apply(request);
      if (request.type === 'leaseRevoke') revokesInFlight.delete(request.id);
      if (response.type === 'leaseGrant' && node.isLeader()) leases.keepAlive(response.id, ctx.now());
      const pending = proposalId === '' ? undefined : proposals.get(proposalId);
      if (pending !== undefined) {
        proposals.delete(proposalId);
        // A physical compaction is answered when its last step is done (stepCompaction), not when it is applied.
        if (request.type === 'compact' && request.physical === true && store.compacting) physicalCompactions.push(() => pending.resolve(response));
        else pending.resolve(response);
        askStamps()?.applied(entry.index);
      }
    }
    // A proposal whose index is applied but that was not found there lost its place to another leader's entry.
    const applied = entries[entries.length - 1]!.index;
    for (const [id, pending] of proposals) {
      if (pending.index <= applied) {
        proposals.delete(id);
        metrics.proposalFailed();
        pending.resolve(unavailable('the proposal was overwritten by another leader', false));
      }
    }
  }

  /**
   * Writes an arriving snapshot's file as its chunks come in, so the turn that
   * persists it only finishes the file (the CRC and the write of a gigabyte
   * were seconds in one turn).
   */
  function writeReceivedSnapshot(chunk: SnapshotChunk, bytes: Uint8Array): void {
    if (chunk.offset === 0) {
      dropReceivedFile();
      receivedFile = { transfer: chunk.transfer, writer: storage.beginReceivedSnapshot(chunk.header.snapshot.metadata) };
    }
    if (receivedFile?.transfer !== chunk.transfer) return;
    storage.appendSnapshot(receivedFile.writer, bytes);
  }

  function stepReceivedDecode(): void {
    const job = receivedDecode;
    if (job === undefined) return;
    const decoded = job.decoder.step();
    if (decoded === undefined) {
      ctx.timer('snapshotDecodeStep', SNAPSHOT_STEP_DELAY_MS, { type: 'snapshotDecodeStep', body: null });
      return;
    }
    receivedDecode = undefined;
    const { index, term } = job.message.snapshot.metadata;
    decodedSnapshot = { index, term, store: decoded };
    node.step(job.message);
    if (job.message.from === node.leader()) leaderHeardTick = ticks;
    scheduleDrain();
  }

  function dropReceivedFile(): void {
    if (receivedFile !== undefined) storage.abortSnapshot(receivedFile.writer);
    receivedFile = undefined;
  }

  function restoreFromSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    // The leader's snapshot replaces the store and covers the log a local snapshot in progress would name.
    if (snapshotJob !== undefined) {
      ctx.log.info({ index: snapshotJob.index, restoredIndex: index }, 'snapshot in progress abandoned: a snapshot from the leader replaced the store');
      snapshotJob.abandon();
      snapshotJob = undefined;
      ctx.cancelTimer('snapshotStep');
    }
    const decoded = decodedSnapshot !== undefined && decodedSnapshot.index === index && decodedSnapshot.term === term ? decodedSnapshot.store : undefined;
    decodedSnapshot = undefined;
    store = decoded ?? storeFromBytes(snapshot.data);
    store.compactInSteps = true;
    if (snapshotDeltas) store.trackSnapshotChanges();
    fileSnapshot = undefined;
    chain = undefined;
    ctx.log.info({ index, term, bytes: snapshot.data.byteLength, decodedInSteps: decoded !== undefined }, 'restored a snapshot from the leader');
    // Watchers cannot follow a jump: tell their clients to resume (they will resume here or elsewhere).
    for (const [watchId, target] of watchTargets) {
      sendWatch(target, { type: 'watch', header: { revision: store.revision }, watchId, canceled: true, cancelReason: 'replica restored a snapshot', events: [] });
    }
    watchTargets.clear();
    hub = new WatchHub(store);
    leases = new LeaseClock(store);
    if (node.isLeader()) leases.promote(ctx.now());
    snapshotIndex = index;
    appliedIndex = index;
  }

  function maybeSnapshot(): void {
    if (snapshotJob !== undefined || appliedIndex - snapshotIndex < snapshotEntries) return;
    const status = node.status();
    if (status.applied > storage.lastIndex()) return;
    if (status.applied > storage.initialState().hardState.commit) return;
    // A received snapshot Raft did not take (it was stale) would share a temporary file name with one of ours.
    dropReceivedFile();
    // A delta until the chain's deltas outgrow its whole snapshot, and then until it is this replica's turn.
    const voters = [...status.confState.voters].sort((a, b) => a - b);
    const delta = nextSnapshotIsDelta(chain?.files.map((f) => f.dataBytes), { index: status.applied, snapshotEntries, voters, id: args.id, inTurn: args.wholeSnapshotsInTurn });
    const base = delta ? chain!.last : undefined;
    const chainOption = snapshotDeltas ? { chain: base === undefined ? {} : { base } } : {};
    const job = new SnapshotJob(store, storage, status.applied, status.confState, { ...snapshotJobOptions, ...chainOption }, {
      // Both come in a turn of their own, when the disk is done with what the job asked of it.
      onReady: () => {
        if (snapshotJob === job) ctx.timer('snapshotStep', SNAPSHOT_STEP_DELAY_MS, { type: 'snapshotStep', body: null });
      },
      onFileDurable: (take) => {
        if (snapshotJob !== job) return;
        const turnStartedMs = ctx.now();
        snapshotTaken(job, take());
        // The turn that names the snapshot in the WAL and compacts the log is a step too.
        snapshotStats!.longestStepMs = Math.max(snapshotStats!.longestStepMs, ctx.now() - turnStartedMs);
        logSnapshotTaken();
      },
    });
    snapshotJob = job;
    snapshotStats = { startedMs: ctx.now(), longestStepMs: 0 };
    ctx.timer('snapshotStep', SNAPSHOT_STEP_DELAY_MS, { type: 'snapshotStep', body: null });
  }

  /** One step of the snapshot in progress; the turns between steps tick, heartbeat and apply as usual. */
  function stepSnapshot(): void {
    const job = snapshotJob;
    if (job === undefined || !job.canStep) return;
    const stepStartedMs = ctx.now();
    const taken = job.step();
    const stats = snapshotStats!;
    stats.longestStepMs = Math.max(stats.longestStepMs, ctx.now() - stepStartedMs);
    if (taken === undefined) {
      // Otherwise the job waits for the disk (onReady) or for its finishing fsyncs (onFileDurable).
      if (job.canStep) ctx.timer('snapshotStep', SNAPSHOT_STEP_DELAY_MS, { type: 'snapshotStep', body: null });
      return;
    }
    snapshotTaken(job, taken);
    stats.longestStepMs = Math.max(stats.longestStepMs, ctx.now() - stepStartedMs);
    logSnapshotTaken();
  }

  /** The snapshot is durable and the WAL names it: compact Raft's log to it. */
  function snapshotTaken(job: SnapshotJob, taken: TakenSnapshot): void {
    snapshotJob = undefined;
    node.compactAt(taken.metadata.index, taken.metadata.confState, taken.data ?? NO_BYTES, retainEntries);
    const ownBytes = taken.file.dataBytes;
    const files = taken.delta && chain !== undefined ? [...chain.files, taken.file] : [taken.file];
    if (snapshotDeltas) {
      const last: SnapshotChainBase = { id: { index: taken.metadata.index, term: taken.metadata.term }, revision: job.revision, dataBytes: files.reduce((sum, f) => sum + f.dataBytes, 0) };
      if (taken.data !== undefined) last.data = taken.data;
      chain = { last, files };
    }
    fileSnapshot = taken.data !== undefined ? undefined : { index: taken.metadata.index, term: taken.metadata.term, reader: new SnapshotFileReader(storageDisk, files) };
    snapshotIndex = taken.metadata.index;
    const stats = snapshotStats!;
    metrics.snapshotSaved(secondsBetween(stats.startedMs, ctx.now()));
    takenFields = {
      index: snapshotIndex, revision: job.revision, bytes: ownBytes, delta: taken.delta, inMemory: taken.data !== undefined, steps: taken.steps,
      tookMs: Math.round(ctx.now() - stats.startedMs), longestStepMs: 0,
    };
  }

  function logSnapshotTaken(): void {
    const stats = snapshotStats!;
    const fields = { ...takenFields!, longestStepMs: Math.round(stats.longestStepMs) };
    lastSnapshot = { index: fields.index, bytes: fields.bytes, delta: fields.delta, steps: fields.steps, longestStepMs: fields.longestStepMs, tookMs: fields.tookMs };
    // A step is meant to take milliseconds; say when one held the thread long enough to matter, as etcd warns when an apply took too long.
    if (stats.longestStepMs >= SLOW_SNAPSHOT_MS) ctx.log.warn(fields, 'snapshot taken, log compacted; one step stalled the replica');
    else ctx.log.info(fields, 'snapshot taken, log compacted');
  }

  // ---------------------------------------------------------------- reads
  function startReadRound(): void {
    if (readRound !== undefined || readsQueued.length === 0) return;
    const context = `${incarnation}.${nextReadRound++}`;
    const result = node.readIndex(context);
    if (!result.accepted) {
      failReads(readsQueued, result.reason === 'noLeader' ? 'no leader' : `read refused: ${result.reason}`);
      readsQueued = [];
      return;
    }
    readRound = { context, reads: readsQueued, startedTick: ticks };
    readsQueued = [];
  }

  function onReadState(index: number, context: string): void {
    if (readRound === undefined || readRound.context !== context) return;
    readsAwaitingApply.push({ index, reads: readRound.reads });
    readRound = undefined;
  }

  function serveAppliedReads(): void {
    const applied = appliedIndex;
    while (readsAwaitingApply.length > 0 && readsAwaitingApply[0]!.index <= applied) {
      for (const read of readsAwaitingApply.shift()!.reads) read.resolve(store.range(read.request));
    }
    startReadRound();
  }

  function failReads(reads: PendingRead[], reason: string): void {
    for (const read of reads) read.resolve(unavailable(reason, false));
  }

  function pendingReadCount(): number {
    let n = readsQueued.length + (readRound?.reads.length ?? 0);
    for (const r of readsAwaitingApply) n += r.reads.length;
    return n;
  }

  // ---------------------------------------------------------------- writes
  function propose(request: ApplyRequest, proposalId: string): ClientReply | number {
    const data = encodeEntry([proposalId, withoutRouting(request)]);
    const problem = checkProposal(request, data.byteLength);
    if (problem !== undefined) return problem;
    const result = node.propose(data);
    if (!result.accepted) {
      metrics.proposalFailed();
      if (result.reason === 'notLeader') return { type: 'notLeader', leader: leaderName() };
      return unavailable(`proposal refused: ${result.reason}`, false);
    }
    askStamps()?.proposed(result.index, ctx.name);
    scheduleDrain();
    return result.index;
  }

  function handleClient(request: ClientRequest): ClientReply | Promise<ClientReply> {
    switch (request.type) {
      case 'range': {
        if (request.serializable === true || args.unsafeLocalReads === true) return store.range(request);
        if (pendingReadCount() >= PENDING_READS_MAX) return unavailable('too many reads in flight', false);
        return new Promise<ClientReply>((resolve) => {
          readsQueued.push({ request, resolve });
          scheduleDrain();
          startReadRound();
        });
      }
      case 'leaseKeepAlive': {
        if (!node.isLeader()) return { type: 'notLeader', leader: leaderName() };
        const ttlSeconds = leases.keepAlive(request.id, ctx.now());
        if (ttlSeconds === undefined) return kvError.leaseNotFound();
        return { type: 'leaseKeepAlive', header: { revision: store.revision }, id: request.id, ttlSeconds };
      }
      case 'leaseTimeToLive': {
        if (!node.isLeader()) return { type: 'notLeader', leader: leaderName() };
        const lease = store.lease(request.id);
        const remaining = leases.remainingSeconds(request.id, ctx.now());
        if (lease === undefined || remaining === undefined) return kvError.leaseNotFound();
        return {
          type: 'leaseTimeToLive', header: { revision: store.revision }, id: request.id, ttlSeconds: remaining, grantedTtlSeconds: lease.ttlSeconds,
          keys: request.keys === true ? [...lease.keys].sort() : [],
        };
      }
      default: {
        if (!node.isLeader()) return { type: 'notLeader', leader: leaderName() };
        if (proposals.size >= PENDING_PROPOSALS_MAX) return unavailable('too many proposals in flight', false);
        const proposalId = `${incarnation}.${nextProposal++}`;
        const outcome = propose(request, proposalId);
        if (typeof outcome !== 'number') return outcome;
        return new Promise<ClientReply>((resolve) => proposals.set(proposalId, { index: outcome, resolve }));
      }
    }
  }

  /**
   * The leader as far as this replica can vouch for it: itself when it leads,
   * else the one Raft follows if heard from within an election timeout. A
   * leader killed a moment ago stays Raft's `lead` until the next election;
   * naming it sent clients to a dead replica for a whole attempt timeout.
   */
  function liveLeader(): number {
    const lead = node.leader();
    if (lead === NONE) return NONE;
    if (lead === args.id) return node.isLeader() ? lead : NONE;
    return ticks - leaderHeardTick < electionTicks ? lead : NONE;
  }

  function leaderName(): string | undefined {
    const lead = liveLeader();
    return lead === NONE ? undefined : nameOf(lead);
  }

  // ---------------------------------------------------------------- routing: forward, hold
  /**
   * `request` may still carry the routing it came with (`KvRouting`): reads and
   * the rest ignore it, and `propose` leaves it out of the log, so the hot path
   * makes no copy of the body.
   */
  function routeClient(request: ClientRequest, waitForMs: number): ClientReply | Promise<ClientReply> {
    if (!needsLeader(request) || node.isLeader()) return handleClient(request);
    if (waitForMs <= 0) return handleClient(request);
    const lead = liveLeader();
    if (lead !== NONE) {
      if (request.type === 'range') return handleClient(request);
      // Too little wait left for the leader to answer a forward (a request held through an election): redirect
      // instead. A forward that timed out would leave the client with an unknown outcome.
      if (waitForMs < FORWARD_WAIT_MIN_MS) return { type: 'notLeader', leader: nameOf(lead) };
      return forward(lead, request, waitForMs);
    }
    return hold(request, waitForMs);
  }

  /** Linearizable reads need a leader for their ReadIndex round; everything but serializable reads needs one. */
  function needsLeader(request: ClientRequest): boolean {
    return !(request.type === 'range' && (request.serializable === true || args.unsafeLocalReads === true));
  }

  function hold(request: ClientRequest, waitMs: number): ClientReply | Promise<ClientReply> {
    if (held.size + forwardsInFlight >= HELD_REQUESTS_MAX) return unavailable('too many requests waiting for a leader', false);
    const id = nextHeld++;
    return new Promise<ClientReply>((resolve) => {
      held.set(id, { request, deadlineMs: ctx.now() + waitMs, resolve });
      ctx.timer(`hold.${id}`, waitMs, { type: 'holdExpired', body: { id } });
    });
  }

  function onHoldExpired(id: number): void {
    const request = held.get(id);
    if (request === undefined) return;
    held.delete(id);
    request.resolve({ type: 'notLeader', leader: leaderName() });
  }

  /** A live leader is known again: serve, forward or read what was held for one. */
  function releaseHeld(): void {
    if (held.size === 0 || liveLeader() === NONE) return;
    const nowMs = ctx.now();
    const released = [...held];
    held.clear();
    for (const [id, request] of released) {
      ctx.cancelTimer(`hold.${id}`);
      request.resolve(routeClient(request.request, request.deadlineMs - nowMs));
    }
  }

  /**
   * Send the request to the leader and relay its answer, naming the leader so
   * the client goes there directly next time. One hop: the leader answers
   * NotLeader rather than forwarding again.
   */
  function forward(lead: number, request: ClientRequest, waitMs: number): ClientReply | Promise<ClientReply> {
    if (held.size + forwardsInFlight >= HELD_REQUESTS_MAX) return unavailable('too many requests waiting for a leader', false);
    const leader = nameOf(lead);
    const deadlineMs = ctx.now() + waitMs;
    forwardsInFlight++;
    return ctx.ask<ClientReply>(leader, { type: 'kv', body: withRouting(request, { forwarded: true }) }, { timeoutMs: waitMs }).then(
      (reply): ClientReply | Promise<ClientReply> => {
        forwardsInFlight--;
        if (reply === null || typeof reply !== 'object') return unavailable(`${leader} sent a malformed reply to a forwarded request`, true);
        if (reply.type !== 'notLeader') return { type: 'forwarded', leader, reply };
        // It no longer leads (a restarted incarnation, or deposed): vouch for it no more, and wait for the next leader.
        if (node.leader() === lead) leaderHeardTick = ticks - electionTicks;
        const leftMs = deadlineMs - ctx.now();
        return leftMs > 0 ? routeClient(request, leftMs) : { type: 'notLeader', leader: reply.leader };
      },
      (error: unknown): ClientReply | Promise<ClientReply> => {
        forwardsInFlight--;
        // Not delivered (the leader's actor is gone or restarting): it never saw the request. Its successor
        // is being elected: stop vouching for it and hold the request for the new one.
        const notDelivered = error instanceof ActorNotFoundError || (error instanceof ActorUnavailableError && !/crash|kill/.test(error.reason));
        // Down either way: forward nothing more to it.
        if (error instanceof ActorNotFoundError || error instanceof ActorUnavailableError) {
          if (node.leader() === lead) leaderHeardTick = ticks - electionTicks;
        }
        if (notDelivered) {
          const leftMs = deadlineMs - ctx.now();
          return leftMs > 0 ? routeClient(request, leftMs) : { type: 'notLeader' };
        }
        // It may have been proposed there: the outcome is unknown, as if the client had timed out on the leader.
        return unavailable(`forwarded to ${leader}: ${error instanceof Error ? error.message : String(error)}`, true);
      },
    );
  }

  // ---------------------------------------------------------------- watches
  function sendWatch(target: WatchTarget, response: WatchResponse): void {
    const msg: KvWatchMsg = { type: 'kvWatch', body: { replica: ctx.name, clientWatchId: target.clientWatchId, seq: ++target.seq, response } };
    ctx.send(target.watcher, msg);
  }

  function pumpWatches(): void {
    if (watchTargets.size === 0) return;
    let scanBudget = WATCH_SCAN_EVENTS_PER_DRAIN_MAX;
    for (let i = 0; i < WATCH_PUMPS_PER_DRAIN_MAX && scanBudget > 0; i++) {
      const responses = hub.pump(scanBudget);
      scanBudget -= hub.lastPumpScanned;
      if (responses.length === 0 && hub.lastPumpScanned === 0) return;
      for (const response of responses) {
        const target = watchTargets.get(response.watchId);
        if (target === undefined) continue;
        if (response.canceled) watchTargets.delete(response.watchId);
        sendWatch(target, response);
      }
    }
    scheduleDrain();
  }

  function cancelWatchesOf(watcher: string, reason: string): void {
    for (const [watchId, target] of watchTargets) {
      if (target.watcher !== watcher && watcher !== '') continue;
      hub.cancel(watchId);
      watchTargets.delete(watchId);
      if (watcher === '') {
        sendWatch(target, { type: 'watch', header: { revision: store.revision }, watchId, canceled: true, cancelReason: reason, events: [] });
      }
    }
  }

  // ---------------------------------------------------------------- failover on a leader's end
  function monitorPeer(name: string): void {
    if (!leaderDownFailover || name === '' || name === ctx.name || monitoredPeers.has(name)) return;
    monitoredPeers.add(name);
    ctx.monitor(name);
  }

  /** The leader's actor ended: its peers learn it at once, as the peers of a killed process see its streams close. */
  function onLeaderDown(id: number): void {
    const term = node.status().term;
    const forgot = node.forgetLeader();
    if (!forgot.forgotten) {
      ctx.log.info({ leader: nameOf(id), reason: forgot.reason }, 'leader down: not forgotten');
      return;
    }
    ctx.log.info({ leader: nameOf(id), term }, 'leader down: forgot it; campaigning after a random delay');
    deadLeader = { id, term, tick: ticks };
    leadersForgotten++;
    failoverCampaigns = 0;
    ctx.timer('failoverCampaign', ctx.random() * campaignDelayMaxMs, { type: 'failoverCampaign', body: null });
    scheduleDrain();
  }

  function onFailoverCampaign(): void {
    // A leader is known (this one, or the other follower won): done. After a few tries the election timeout takes over.
    if (node.leader() !== NONE || node.status().removed || failoverCampaigns >= FAILOVER_CAMPAIGNS_MAX) return;
    failoverCampaigns++;
    node.campaign();
    scheduleDrain();
    // Both followers campaigning at once split the vote and would wait out the election timeout: try again soon.
    ctx.timer('failoverCampaign', campaignDelayMaxMs * (2 + ctx.random()), { type: 'failoverCampaign', body: null });
  }

  /** An append, heartbeat or snapshot sent by the dead leader's incarnation that arrived after the notice of its end. */
  function fromDeadLeader(m: RaftMessage): boolean {
    if (deadLeader === undefined) return false;
    if (ticks - deadLeader.tick >= electionTicks) {
      deadLeader = undefined;
      return false;
    }
    return m.from === deadLeader.id && m.term <= deadLeader.term && (m.type === 'msgApp' || m.type === 'msgHeartbeat' || m.type === 'msgSnap');
  }

  // ---------------------------------------------------------------- time
  function onTick(): void {
    ticks++;
    snapshotSender.onTick(ticks);
    storage.releaseStep();
    const nowMs = ctx.now();
    const compactTo = autoCompactor?.onTick(nowMs, node.isLeader(), store.revision, store.compactRevision);
    if (compactTo !== undefined) {
      const proposed = propose({ type: 'compact', revision: compactTo }, '');
      ctx.log.info({ revision: compactTo, mode: autoCompactor!.config.mode, proposed: typeof proposed === 'number' }, 'auto-compaction');
    }
    if (lastTickMs !== undefined) {
      const gapMs = nowMs - lastTickMs;
      // Half an election timeout without a tick: the thread was held (a long turn, a blocking disk call), and peers may campaign.
      if (gapMs >= (tickMs * electionTicks) / 2) ctx.log.warn({ gapMs, tickMs, electionTicks, role: roleSeen, term: node.status().term }, 'replica ticked late: its thread was held');
      longestTickGapMs = Math.max(longestTickGapMs, gapMs);
      metrics.ticked(secondsBetween(lastTickMs, nowMs));
    }
    lastTickMs = nowMs;
    node.tick();
    // A ReadIndex round whose heartbeats or answer were lost is never answered: start a new one for
    // the same reads (a late answer to the old context is ignored), instead of leaving them to time out.
    if (readRound !== undefined && ticks - readRound.startedTick >= READ_ROUND_RETRY_TICKS) {
      readsQueued = [...readRound.reads, ...readsQueued];
      readRound = undefined;
      startReadRound();
    }
    if (node.leader() === NONE) leaderlessTicks++;
    else leaderlessTicks = 0;
    // etcd's WithRequireLeader: a replica cut off from the leader stops serving watches, so clients resume elsewhere.
    if (leaderlessTicks === electionTicks && watchTargets.size > 0) cancelWatchesOf('', 'no leader');
    if (ticks % watchProgressTicks === 0) {
      for (const response of hub.progress(false)) {
        const target = watchTargets.get(response.watchId);
        if (target !== undefined) sendWatch(target, response);
      }
    }
    if (node.isLeader()) {
      for (const id of leases.expired(ctx.now())) {
        if (revokesInFlight.has(id)) continue;
        if (typeof propose({ type: 'leaseRevoke', id }, '') === 'number') revokesInFlight.add(id);
      }
    }
    scheduleDrain();
  }

  function status(): ReplicaStatus {
    const s = node.status();
    return {
      name: ctx.name, id: args.id, role: s.role, term: s.term, leader: nameOf(s.lead), commitIndex: s.commit, appliedIndex: s.applied,
      revision: store.revision, compactRevision: store.compactRevision, firstIndex: s.firstIndex, lastIndex: s.lastIndex, durableLastIndex: storage.durableLastIndex(),
      snapshotIndex, longestTickGapMs: Math.round(longestTickGapMs), drainsCut, compactionSteps, compacting: store.compacting, lastSnapshot, watchers: watchTargets.size, recoveredFrom, leadersForgotten,
      ticks, writesInFlight: writes.length,
    };
  }

  return {
    receive(msg, meta) {
      switch (msg.type) {
        case 'raft': {
          const msgs = (msg.body as { msgs?: unknown } | null)?.msgs;
          if (!Array.isArray(msgs)) return unhandled;
          // Members added later are monitored from their first message.
          if (leaderDownFailover && !monitoredPeers.has(meta.from) && idOf(meta.from) !== undefined) monitorPeer(meta.from);
          for (const m of msgs) {
            if (!isRaftMessage(m) || m.to !== args.id) {
              ctx.log.warn({ from: meta.from }, 'dropped a malformed raft message');
              continue;
            }
            if (fromDeadLeader(m)) continue;
            if (m.type === 'msgHeartbeatResp') metrics.heartbeatAnswered(meta.from, ctx.now());
            const stamps = askStamps();
            if (stamps !== undefined) stampRaftStep(stamps, m, meta.from);
            node.step(m);
            if (stamps !== undefined) stampCommitAdvance(stamps);
            // Only a leader sends these; a deposed one campaigning again is not a live leader.
            if (m.from === node.leader() && (m.type === 'msgApp' || m.type === 'msgHeartbeat' || m.type === 'msgSnap')) leaderHeardTick = ticks;
          }
          scheduleDrain();
          return undefined;
        }
        case 'snapChunk': {
          const from = idOf(meta.from);
          if (from === undefined || !isSnapshotChunk(msg.body) || msg.body.header.to !== args.id || msg.body.header.from !== from) {
            ctx.log.warn({ from: meta.from }, 'dropped a malformed snapshot chunk');
            return undefined;
          }
          const { ack, accepted, complete } = snapshotReceiver.onChunk(from, msg.body);
          ctx.send(meta.from, { type: 'snapChunkAck', body: ack });
          if (accepted !== undefined) writeReceivedSnapshot(msg.body, accepted);
          if (complete !== undefined) {
            ctx.log.info({ from: meta.from, index: complete.snapshot.metadata.index, bytes: complete.snapshot.data.byteLength, chunks: ack.next }, 'snapshot received in chunks');
            // Decoded in steps before Raft sees it, so restoring does not hold the thread for the whole store.
            receivedDecode = { message: complete, decoder: new SnapshotDecoder(complete.snapshot.data) };
            ctx.timer('snapshotDecodeStep', SNAPSHOT_STEP_DELAY_MS, { type: 'snapshotDecodeStep', body: null });
          }
          return undefined;
        }
        case 'snapshotDecodeStep':
          stepReceivedDecode();
          return undefined;
        case 'snapChunkAck': {
          const from = idOf(meta.from);
          const body = msg.body as Partial<SnapshotChunkAck> | null;
          if (from !== undefined && typeof body?.transfer === 'string' && Number.isInteger(body.next)) snapshotSender.onAck(from, body as SnapshotChunkAck, ticks);
          return undefined;
        }
        case 'kv':
          if (typeof msg.body !== 'object' || msg.body === null || typeof msg.body.type !== 'string') return unhandled;
          return routeClient(msg.body, routingWaitMs(msg.body));
        case 'watchCreate': {
          const { watcher, clientWatchId, ...request } = msg.body;
          if (watcher === ctx.name || watcher.startsWith('$')) return kvError.watchNotFound();
          const created = hub.create({ type: 'watchCreate', ...request });
          if (isError(created)) return created;
          watchTargets.set(created.watchId, { watcher, clientWatchId, seq: 0 });
          if (!watchedActors.has(watcher)) {
            watchedActors.add(watcher);
            ctx.watch(watcher);
          }
          scheduleDrain();
          return created;
        }
        case 'watchCancel':
          if (watchTargets.delete(msg.body.watchId)) hub.cancel(msg.body.watchId);
          return undefined;
        case 'watchProgress': {
          const asked = new Set(msg.body.watchIds);
          for (const response of hub.progress(false)) {
            const target = watchTargets.get(response.watchId);
            if (target !== undefined && asked.has(response.watchId)) sendWatch(target, response);
          }
          return undefined;
        }
        case 'status': {
          const current = status();
          if (msg.body?.resetLongestTickGap === true) longestTickGapMs = 0;
          return current;
        }
        case 'metrics':
          return metrics.text().then((text) => ({ text }));
        case 'campaign':
          node.campaign();
          scheduleDrain();
          return undefined;
        case 'transferLeadership': {
          const to = memberIds.find((id) => nameOf(id) === msg.body.to);
          if (to === undefined) return { accepted: false, reason: `no member named ${msg.body.to}` };
          const result = node.transferLeadership(to);
          scheduleDrain();
          return result.accepted ? { accepted: true } : { accepted: false, reason: result.reason };
        }
        case 'tick':
          onTick();
          return undefined;
        case 'snapshotStep':
          stepSnapshot();
          return undefined;
        case 'holdExpired':
          onHoldExpired(msg.body.id);
          return undefined;
        case 'failoverCampaign':
          onFailoverCampaign();
          return undefined;
        case 'memberChange':
          if (typeof msg.body !== 'object' || msg.body === null) return unhandled;
          return changeMembers(msg.body);
        case 'memberList': {
          const cs = node.status().confState;
          const reply: MemberListReply = { members: members(), leader: nameOf(node.leader()), joint: (cs.votersOutgoing?.length ?? 0) > 0 };
          return reply;
        }
        default:
          return unhandled;
      }
    },
    onDown(event) {
      watchedActors.delete(event.name);
      cancelWatchesOf(event.name, 'watcher stopped');
    },
    onPeerDown(event) {
      const id = idOf(event.name);
      if (leaderDownFailover && id !== undefined && id === node.leader() && !node.isLeader()) onLeaderDown(id);
    },
    onStop() {
      stopped = true;
      snapshotJob?.abandon();
      snapshotJob = undefined;
      dropReceivedFile();
    },
    metrics: () => metrics.text(),
    inspect: status,
  };
}

function carriesHeartbeat(batch: readonly RaftMessage[]): boolean {
  for (let i = 0; i < batch.length; i++) if (batch[i]!.type === 'msgHeartbeat') return true;
  return false;
}

/** A message that carries log entries or a snapshot to a follower (what replication waits on). */
function carriesLog(m: RaftMessage): boolean {
  return (m.type === 'msgApp' && m.entries.length > 0) || m.type === 'msgSnap';
}

/** The messages that promise what is on the sender's disk: held back until its write is durable (async storage writes). */
function promisesDurability(m: RaftMessage): boolean {
  return m.type === 'msgAppResp' || m.type === 'msgVoteResp' || m.type === 'msgPreVoteResp';
}

function unavailable(reason: string, proposed: boolean): Unavailable {
  return { type: 'unavailable', reason, proposed };
}

function encodeEntry(payload: EntryPayload): Uint8Array {
  return pack(payload);
}

function decodeEntry(data: Uint8Array): EntryPayload {
  const decoded = unpack(data) as unknown;
  // Entries were checked before they were proposed and are checksummed on disk: a bad one is a bug, not input.
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'string' || typeof decoded[1] !== 'object' || decoded[1] === null) {
    throw new Error(`kv replica: undecodable log entry ${JSON.stringify(decoded)?.slice(0, 200)}`);
  }
  return decoded as EntryPayload;
}

function describeRecovery(report: RaftStorageReport): string {
  const parts: string[] = [];
  if (report.walTruncation !== undefined) parts.push(`WAL tail cut: ${JSON.stringify(report.walTruncation)}`);
  for (const s of report.snapshots.skipped) parts.push(`snapshot ${s.name} skipped: ${s.reason}`);
  return parts.join('; ');
}

export type { ApplyResponse };
