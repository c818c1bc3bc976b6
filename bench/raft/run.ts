/**
 * `kubethreads bench raft`: commits per second of a 3-node Raft group, first over an
 * in-memory network with no disk, then with each node's log in a file WAL (RaftStorage
 * over NodeDisk, real fsyncs) on this machine's disk, shown beside the raw fsyncs per
 * second the disk gives, so the batching factor (entries made durable per fsync) is
 * visible. The three nodes are driven in one thread, one after another: their fsyncs
 * never overlap, as they would on three machines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { Latencies, median, round } from '../lib/stats.js';
import { probeNodeDiskFsyncs, probeRawFsyncs } from './disk-probe.js';
import { BenchGroup, noPersistence, walPersistence, type CommitRun } from './group.js';

export interface RaftBenchOptions {
  /** Measured rounds per figure; medians are reported. */
  rounds: number;
  /** Bytes of each proposal. */
  payloadBytes: number;
  /** Proposals the leader keeps uncommitted at once: what lets appends and fsyncs batch. */
  outstandingMax: number;
  /** Commits per round without disk. */
  simCommitsPerRound: number;
  /** Commits per round with the WAL. */
  walCommitsPerRound: number;
  /** Commits per round with the WAL and one proposal at a time (no batching). */
  unbatchedCommitsPerRound: number;
  /** Duration of each raw fsync probe round. */
  diskProbeMs: number;
  /** Parent of the temporary data directories; default os.tmpdir(). */
  dataDir?: string;
}

export const defaultRaftBenchOptions: RaftBenchOptions = {
  rounds: 5,
  payloadBytes: 256,
  outstandingMax: 1024,
  simCommitsPerRound: 200_000,
  walCommitsPerRound: 100_000,
  unbatchedCommitsPerRound: 400,
  diskProbeMs: 1_000,
};

export const quickRaftBenchOptions: RaftBenchOptions = {
  rounds: 3,
  payloadBytes: 256,
  outstandingMax: 1024,
  simCommitsPerRound: 30_000,
  walCommitsPerRound: 20_000,
  unbatchedCommitsPerRound: 100,
  diskProbeMs: 300,
};

/** JSON fields are an interface: the first four are named by issue 4. */
export interface RaftBenchResult {
  sim_commits_per_s: number;
  wal_commits_per_s: number;
  disk_fsyncs_per_s: number;
  entries_per_fsync: number;
  nodedisk_fsyncs_per_s: number;
  wal_unbatched_commits_per_s: number;
  wal_unbatched_entries_per_fsync: number;
  sim_commit_p50_us: number;
  sim_commit_p99_us: number;
  wal_commit_p50_us: number;
  wal_commit_p99_us: number;
  wal_unbatched_commit_p50_us: number;
  wal_unbatched_commit_p99_us: number;
  sim_rounds_commits_per_s: number[];
  wal_rounds_commits_per_s: number[];
  disk_rounds_fsyncs_per_s: number[];
  wal_fsyncs: number;
  wal_entries_persisted: number;
  nodes: number;
  driven_in_one_thread: true;
  payload_bytes: number;
  outstanding_max: number;
  sim_commits_per_round: number;
  wal_commits_per_round: number;
  rounds: number;
  data_dir: string;
}

const perSecond = (count: number, elapsedMs: number): number => count / (elapsedMs / 1000);

interface Figure {
  rounds: number[];
  latencies: Latencies;
  runs: CommitRun[];
}

function newFigure(): Figure {
  return { rounds: [], latencies: new Latencies(), runs: [] };
}

function measureRound(group: BenchGroup, figure: Figure, commits: number, outstandingMax: number): void {
  const run = group.runCommits(commits, outstandingMax, figure.latencies);
  figure.runs.push(run);
  figure.rounds.push(perSecond(run.commits, run.elapsedMs));
}

function walGroup(parent: string, name: string, payloadBytes: number): BenchGroup {
  return new BenchGroup((id) => walPersistence(path.join(parent, name, `node-${id}`)), payloadBytes);
}

export async function runRaftBench(options: RaftBenchOptions = defaultRaftBenchOptions): Promise<{ result: RaftBenchResult; table: string }> {
  const progress = new Progress(options.rounds * 4, 'bench raft');
  const parent = fs.mkdtempSync(path.join(options.dataDir ?? os.tmpdir(), 'kubethreads-bench-raft-'));
  const groups: BenchGroup[] = [];
  try {
    const simGroup = new BenchGroup(() => noPersistence(), options.payloadBytes);
    groups.push(simGroup);
    simGroup.runCommits(Math.ceil(options.simCommitsPerRound / 4), options.outstandingMax); // warm-up: JIT, structures
    const sim = newFigure();
    for (let r = 0; r < options.rounds; r++) {
      measureRound(simGroup, sim, options.simCommitsPerRound, options.outstandingMax);
      progress.step(`simulated network round ${r + 1}`);
    }

    const batchedGroup = walGroup(parent, 'batched', options.payloadBytes);
    const unbatchedGroup = walGroup(parent, 'unbatched', options.payloadBytes);
    groups.push(batchedGroup, unbatchedGroup);
    batchedGroup.runCommits(Math.ceil(options.walCommitsPerRound / 4), options.outstandingMax);
    unbatchedGroup.runCommits(Math.ceil(options.unbatchedCommitsPerRound / 4), 1);
    // The disk is shared with other work: each round probes it right beside the WAL rounds, so they see the same disk.
    const wal = newFigure();
    const unbatched = newFigure();
    const diskRounds: number[] = [];
    const nodeDiskRounds: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const raw = probeRawFsyncs(parent, options.payloadBytes, options.diskProbeMs);
      diskRounds.push(perSecond(raw.fsyncs, raw.elapsedMs));
      const viaNodeDisk = probeNodeDiskFsyncs(parent, options.payloadBytes, options.diskProbeMs / 2);
      nodeDiskRounds.push(perSecond(viaNodeDisk.fsyncs, viaNodeDisk.elapsedMs));
      progress.step(`disk fsync probe round ${r + 1}`);
      measureRound(batchedGroup, wal, options.walCommitsPerRound, options.outstandingMax);
      progress.step(`file WAL round ${r + 1}`);
      measureRound(unbatchedGroup, unbatched, options.unbatchedCommitsPerRound, 1);
      progress.step(`file WAL, one at a time, round ${r + 1}`);
    }

    const entriesPerFsync = (f: Figure): number[] => f.runs.map((run) => run.entriesPersisted / Math.max(1, run.fsyncs));
    const result: RaftBenchResult = {
      sim_commits_per_s: Math.round(median(sim.rounds)),
      wal_commits_per_s: Math.round(median(wal.rounds)),
      disk_fsyncs_per_s: Math.round(median(diskRounds)),
      entries_per_fsync: round(median(entriesPerFsync(wal))),
      nodedisk_fsyncs_per_s: Math.round(median(nodeDiskRounds)),
      wal_unbatched_commits_per_s: Math.round(median(unbatched.rounds)),
      wal_unbatched_entries_per_fsync: round(median(entriesPerFsync(unbatched))),
      sim_commit_p50_us: sim.latencies.percentile(50),
      sim_commit_p99_us: sim.latencies.percentile(99),
      wal_commit_p50_us: wal.latencies.percentile(50),
      wal_commit_p99_us: wal.latencies.percentile(99),
      wal_unbatched_commit_p50_us: unbatched.latencies.percentile(50),
      wal_unbatched_commit_p99_us: unbatched.latencies.percentile(99),
      sim_rounds_commits_per_s: sim.rounds.map(Math.round),
      wal_rounds_commits_per_s: wal.rounds.map(Math.round),
      disk_rounds_fsyncs_per_s: diskRounds.map(Math.round),
      wal_fsyncs: wal.runs.reduce((s, run) => s + run.fsyncs, 0),
      wal_entries_persisted: wal.runs.reduce((s, run) => s + run.entriesPersisted, 0),
      nodes: 3,
      driven_in_one_thread: true,
      payload_bytes: options.payloadBytes,
      outstanding_max: options.outstandingMax,
      sim_commits_per_round: options.simCommitsPerRound,
      wal_commits_per_round: options.walCommitsPerRound,
      rounds: options.rounds,
      data_dir: parent,
    };
    return { result, table: renderRaftTable(result, options) };
  } finally {
    for (const g of groups) g.close();
    fs.rmSync(parent, { recursive: true, force: true });
  }
}

function renderRaftTable(result: RaftBenchResult, options: RaftBenchOptions): string {
  const rows: Row[] = [
    { name: 'simulated network, no disk (median)', ours: result.sim_commits_per_s, unit: 'commits/s', note: 'Raft + driver alone' },
    { name: 'file WAL + fsync (median)', ours: result.wal_commits_per_s, baseline: result.disk_fsyncs_per_s, ratio: round(result.wal_commits_per_s / result.disk_fsyncs_per_s), unit: 'commits/s vs fsyncs/s', note: 'ratio: commits per raw fsync' },
    { name: 'entries made durable per fsync', ours: result.entries_per_fsync, unit: 'entries/fsync', note: 'measured: entries persisted / fsyncs, 3 nodes' },
    { name: 'file WAL, one proposal at a time', ours: result.wal_unbatched_commits_per_s, baseline: result.disk_fsyncs_per_s, ratio: round(result.wal_unbatched_commits_per_s / result.disk_fsyncs_per_s), unit: 'commits/s vs fsyncs/s', note: `${result.wal_unbatched_entries_per_fsync} entries/fsync` },
    { name: 'disk: append + fsync via NodeDisk', ours: result.nodedisk_fsyncs_per_s, baseline: result.disk_fsyncs_per_s, ratio: round(result.nodedisk_fsyncs_per_s / result.disk_fsyncs_per_s), unit: 'fsyncs/s', note: 'NodeDisk opens the file per call' },
    { name: 'commit latency p50 / p99, no disk', ours: `${result.sim_commit_p50_us} / ${result.sim_commit_p99_us}`, unit: 'us', note: `${options.outstandingMax} outstanding` },
    { name: 'commit latency p50 / p99, WAL', ours: `${result.wal_commit_p50_us} / ${result.wal_commit_p99_us}`, unit: 'us', note: `${options.outstandingMax} outstanding` },
    { name: 'commit latency p50 / p99, WAL, one at a time', ours: `${result.wal_unbatched_commit_p50_us} / ${result.wal_unbatched_commit_p99_us}`, unit: 'us', note: 'propose to applied on the leader' },
  ];
  return renderTable(
    `raft: 3-node group driven in one thread (fsyncs of the three nodes run one after another), ${options.payloadBytes}-byte proposals, ` +
      `${options.outstandingMax} outstanding, median of ${options.rounds} rounds (${options.simCommitsPerRound.toLocaleString('en-US')} commits no disk, ` +
      `${options.walCommitsPerRound.toLocaleString('en-US')} with WAL); WALs in ${path.dirname(result.data_dir)}; baseline = raw ${options.payloadBytes}-byte append + fsync on a held fd`,
    rows,
    'raw disk',
  );
}
