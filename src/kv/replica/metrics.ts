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
 */
import type { Disk } from '../../actor/disk.js';
import { Counter, ETCD_DISK_DURATION_BUCKETS, Gauge, Histogram, componentRegistry, secondsBetween, type Registry } from '../../metrics/index.js';

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

  /** The disk the storage writes through: the same, with each fsync of a WAL file timed by `now` (ms). */
  timedDisk(disk: Disk, now: () => number): Disk {
    const walFsync = this.walFsync;
    return {
      append: (path, data) => disk.append(path, data),
      write: (path, data) => disk.write(path, data),
      fsync: (path) => {
        if (!path.startsWith('wal/')) return disk.fsync(path);
        const startMs = now();
        try {
          disk.fsync(path);
        } finally {
          walFsync.observe(secondsBetween(startMs, now()));
        }
      },
      fsyncDir: (dir) => disk.fsyncDir(dir),
      read: (path) => disk.read(path),
      rename: (from, to) => disk.rename(from, to),
      list: (dir) => disk.list(dir),
      remove: (path) => disk.remove(path),
      truncate: (path, length) => disk.truncate(path, length),
      size: (path) => disk.size(path),
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
