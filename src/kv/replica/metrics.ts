/**
 * One etcd replica's series, under etcd's names (etcdserver, wal, mvcc), in
 * the replica actor's own registry (src/metrics). State gauges are read from
 * the replica when scraped; counters move where the event happens; the WAL
 * fsync is timed with the actor's clock around the disk's fsync.
 *
 * etcd_mvcc_db_total_size_in_bytes: etcd reports its bbolt file (the whole
 * key space with its uncompacted history). Ours lives in memory and is made
 * durable as the WAL plus snapshots, so the honest equivalent is the bytes
 * of the replica's `wal/` and `snap/` files: what the store occupies on disk.
 *
 * etcd_disk_backend_commit_duration_seconds: etcd times bbolt's commit, where
 * applied state reaches disk. Ours reaches disk only as a snapshot, so the
 * equivalent is the fsync of a snapshot file.
 *
 * etcd_network_peer_round_trip_time_seconds{To}: etcd's prober pings peers
 * over a side channel; ours is timed on Raft's own heartbeats, from a
 * leader's heartbeat to a peer until that peer's first answer (one in flight
 * per peer), on the actor's clock.
 */
import type { BackgroundDone, Disk } from '../../actor/disk.js';
import { Counter, ETCD_DISK_DURATION_BUCKETS, Gauge, Histogram, componentRegistry, exponentialBuckets, secondsBetween, TallyHistogram, type Registry } from '../../metrics/index.js';

/** Directories of the replica's durable state (src/storage's defaults). */
const STORE_DIRS = ['wal', 'snap'] as const;

export interface ReplicaState {
  hasLeader(): boolean;
  isLeader(): boolean;
  commitIndex(): number;
  appliedIndex(): number;
  pendingProposals(): number;
  liveKeys(): number;
}

export class ReplicaMetrics {
  readonly registry: Registry;
  private readonly leaderChanges: Counter;
  private readonly proposalsFailed: Counter;
  private readonly walFsync: Histogram;
  private readonly backendCommit: Histogram;
  private readonly peerRoundTrip: TallyHistogram;
  private readonly snapSave: Histogram;
  private readonly tickGap: Histogram;
  /** Per peer: when the heartbeat being timed left, or absent when none is in flight. */
  private readonly heartbeatSentMs = new Map<string, number>();

  constructor(component: string, state: ReplicaState, disk: Disk) {
    const registers = [(this.registry = componentRegistry(component))];
    new Gauge({
      name: 'etcd_server_has_leader', registers, help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      collect() { this.set(state.hasLeader() ? 1 : 0); },
    });
    new Gauge({
      name: 'etcd_server_is_leader', registers, help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      collect() { this.set(state.isLeader() ? 1 : 0); },
    });
    this.leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', registers, help: 'The number of leader changes seen.' });
    // etcd exposes these two as gauges holding the commit and apply indexes (names ending in _total notwithstanding).
    new Gauge({
      name: 'etcd_server_proposals_committed_total', registers, help: 'The total number of consensus proposals committed.',
      collect() { this.set(state.commitIndex()); },
    });
    new Gauge({
      name: 'etcd_server_proposals_applied_total', registers, help: 'The total number of consensus proposals applied.',
      collect() { this.set(state.appliedIndex()); },
    });
    new Gauge({
      name: 'etcd_server_proposals_pending', registers, help: 'The current number of pending proposals to commit.',
      collect() { this.set(state.pendingProposals()); },
    });
    this.proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', registers, help: 'The total number of failed proposals seen.' });
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds', registers, buckets: [...ETCD_DISK_DURATION_BUCKETS],
      help: 'The latency distributions of fsync called by WAL.',
    });
    this.backendCommit = new Histogram({
      name: 'etcd_disk_backend_commit_duration_seconds', registers, buckets: [...ETCD_DISK_DURATION_BUCKETS],
      help: 'The latency distributions of commit called by backend (here: the fsync of a snapshot file).',
    });
    this.peerRoundTrip = new TallyHistogram({
      name: 'etcd_network_peer_round_trip_time_seconds', registers, labelNames: ['To'], buckets: [...exponentialBuckets(0.0001, 2, 16)],
      help: 'Round-Trip-Time histogram between peers (here: a leader\'s Raft heartbeat to its answer).',
    });
    this.snapSave = new Histogram({
      name: 'etcd_debugging_snap_save_total_duration_seconds', registers, buckets: [...exponentialBuckets(0.001, 2, 16)],
      help: 'The total latency distributions of save called by snapshot (here: from the first step to the durable file).',
    });
    this.tickGap = new Histogram({
      name: 'kubethreads_replica_tick_interval_seconds', registers, buckets: [0.05, 0.1, 0.11, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10],
      help: 'Time between consecutive Raft ticks handled; above the tick period when the thread was held (fsync, apply, a snapshot step).',
    });
    new Gauge({
      name: 'etcd_mvcc_db_total_size_in_bytes', registers,
      help: 'Total size of the underlying database physically allocated in bytes (here: the replica\'s WAL and snapshot files).',
      collect() { this.set(storeBytesOnDisk(disk)); },
    });
    new Gauge({
      name: 'etcd_debugging_mvcc_keys_total', registers, help: 'Total number of keys.',
      collect() { this.set(state.liveKeys()); },
    });
    // Present from the start at 0, as etcd's are.
    this.leaderChanges.inc(0);
    this.proposalsFailed.inc(0);
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  proposalFailed(): void {
    this.proposalsFailed.inc();
  }

  /** A snapshot became durable `seconds` after its first step. */
  snapshotSaved(seconds: number): void {
    this.snapSave.observe(seconds);
  }

  /** A Raft tick was handled `seconds` after the previous one. */
  ticked(seconds: number): void {
    this.tickGap.observe(seconds);
  }

  /** A heartbeat left for `peer` at `nowMs`; timed only if none to that peer is in flight. */
  heartbeatSent(peer: string, nowMs: number): void {
    if (!this.heartbeatSentMs.has(peer)) this.heartbeatSentMs.set(peer, nowMs);
  }

  /** `peer` answered a heartbeat at `nowMs`. */
  heartbeatAnswered(peer: string, nowMs: number): void {
    const sentMs = this.heartbeatSentMs.get(peer);
    if (sentMs === undefined) return;
    this.heartbeatSentMs.delete(peer);
    this.peerRoundTrip.child(peer).observe(secondsBetween(sentMs, nowMs));
  }

  /** The disk the storage writes through: the same, with each fsync of a WAL or snapshot file timed by `now` (ms). */
  timedDisk(disk: Disk, now: () => number): Disk {
    const walFsync = this.walFsync;
    const backendCommit = this.backendCommit;
    const fsyncWithin = disk.fsyncWithin?.bind(disk);
    return {
      // Timed as the two paths it stands for: to its return when durable then, else to `done`.
      ...(fsyncWithin === undefined ? {} : {
        fsyncWithin: (path: string, waitMs: number, done: BackgroundDone) => {
          const histogram = path.startsWith('wal/') ? walFsync : path.startsWith('snap/') ? backendCommit : undefined;
          const startMs = now();
          const timedDone: BackgroundDone = (error) => {
            histogram?.observe(secondsBetween(startMs, now()));
            done(error);
          };
          const result = fsyncWithin(path, waitMs, timedDone);
          if (result === 'durable') histogram?.observe(secondsBetween(startMs, now()));
          return result;
        },
      }),
      append: (path, data) => disk.append(path, data),
      write: (path, data) => disk.write(path, data),
      fsync: (path) => {
        const histogram = path.startsWith('wal/') ? walFsync : path.startsWith('snap/') ? backendCommit : undefined;
        if (histogram === undefined) return disk.fsync(path);
        const startMs = now();
        try {
          disk.fsync(path);
        } finally {
          histogram.observe(secondsBetween(startMs, now()));
        }
      },
      fsyncDir: (dir) => disk.fsyncDir(dir),
      read: (path) => disk.read(path),
      readRange: (path, offset, length) => disk.readRange(path, offset, length),
      rename: (from, to) => disk.rename(from, to),
      list: (dir) => disk.list(dir),
      remove: (path) => disk.remove(path),
      truncate: (path, length) => disk.truncate(path, length),
      size: (path) => disk.size(path),
      inBackground: (op, done, lane) => {
        const histogram = op.type !== 'fsync' ? undefined : op.path.startsWith('wal/') ? walFsync : op.path.startsWith('snap/') ? backendCommit : undefined;
        if (histogram === undefined) return disk.inBackground(op, done, lane);
        // From asking to done: the fsync's time on the disk, which the thread no longer waits out.
        const startMs = now();
        disk.inBackground(op, (error) => {
          histogram.observe(secondsBetween(startMs, now()));
          done(error);
        }, lane);
      },
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

function storeBytesOnDisk(disk: Disk): number {
  let bytes = 0;
  for (const dir of STORE_DIRS) for (const name of disk.list(dir)) bytes += disk.size(`${dir}/${name}`) ?? 0;
  return bytes;
}
