/**
 * `kubethreads bench snapshot`: how long a replica's thread is held while it
 * snapshots a large store (issue #22: no stall over 50 ms in a replica's
 * tick while a snapshot of 1 GB of history is taken).
 *
 * Three replica threads with the file WAL, as `bench kv` runs them. A driver
 * thread fills the store with `historyMB` of values (no snapshot yet: the
 * threshold is set just past the fill), resets each replica's longest tick
 * gap, then writes small values one at a time — each write timed — which push
 * the log over the threshold: every replica snapshots at about the same index,
 * as they do in a cluster. The window ends when all three have a snapshot.
 * Reported per mode: the longest gap between two Raft ticks on any replica in
 * the window (100 ms when nothing held the thread), the time to snapshot, and
 * the timed writes' percentiles — each sample kept, failures counted.
 *
 * Side by side in one run: `stepped` (what replicas do: steps that encode,
 * the file written and fsynced off the thread) and `whole` (the same code with
 * an unbounded batch, written on the thread: encode and write the store in one
 * turn, as replicas did before). `foreground` (not run by default) is
 * `stepped` with the file written and fsynced in the steps themselves, as
 * before issue #22's last step, to compare the two at the same size.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ThreadedSystem } from '../../src/actor/index.js';
import { guardDir, releaseDir } from '../../src/kv/etcd/exit-guard.js';
import { spawnEtcdGroup } from '../../src/kv/replica/group.js';
import type { ReplicaStatus } from '../../src/kv/replica/protocol.js';
import { renderTable, type Row } from '../lib/report.js';
import { exactPercentile, round } from '../lib/stats.js';
import { kvBenchDriver, type KvBenchDriverMsg } from './driver.js';
import type { PhaseResult, PhaseSpec } from './workload.js';

/**
 * `stepped`: the replicas' default (snapshot and WAL writes off the thread); `inline-wal`: the same with the WAL's
 * append and fsync in the Ready loop (`asyncStorageWrites: false`, as before issue #22's async writes);
 * `foreground`: the snapshot's writes on the thread too; `whole`: one step.
 */
export type SnapshotMode = 'stepped' | 'inline-wal' | 'foreground' | 'whole';

export interface SnapshotStallOptions {
  /** Megabytes of values written before the snapshot. */
  historyMB: number;
  /**
   * The same for the `whole` mode, when smaller: three replicas packing a
   * gigabyte each in one call need minutes and several more gigabytes.
   */
  wholeHistoryMB?: number;
  valueKB: number;
  modes: SnapshotMode[];
  /** Give up on a mode whose replicas have not all snapshotted after this long. */
  timeoutMs: number;
  /** Tick period (ms): a tick gap above it is time the thread was held. */
  tickMs: number;
  /** Timed writes per round between status polls, and entries past the fill at which replicas snapshot (a few rounds in). */
  probeBatch?: number;
  thresholdMargin?: number;
  onProgress?: (line: string) => void;
}

export const defaultSnapshotStallOptions: SnapshotStallOptions = { historyMB: 1024, wholeHistoryMB: 256, valueKB: 64, modes: ['whole', 'stepped'], timeoutMs: 600_000, tickMs: 100 };
export const quickSnapshotStallOptions: SnapshotStallOptions = { ...defaultSnapshotStallOptions, historyMB: 64, wholeHistoryMB: 64 };

export interface SnapshotModeResult {
  mode: SnapshotMode;
  historyMB: number;
  /** All three replicas had a snapshot within the timeout. */
  completed: boolean;
  /** From the first timed write (the threshold is a few writes later) to the last replica's snapshot. */
  snapshotMs: number;
  /** Per replica: the longest time between two Raft ticks during the window. */
  longestTickGapMs: number[];
  /** The worst of them, less the tick period: how long a thread was held at worst, by anything (the machine's load too). */
  stallMs: number;
  /** Per replica: the longest single step of its snapshot — what the snapshot itself held the thread for at most. */
  longestSnapshotStepMs: number[];
  /** Per replica: the snapshot's size and steps. */
  snapshotBytes: number[];
  snapshotSteps: number[];
  writes: number;
  writeErrors: number;
  writeP50Ms: number;
  writeP99Ms: number;
  writeMaxMs: number;
}

export interface SnapshotStallResult {
  modes: SnapshotModeResult[];
  /** The stepped mode's longest snapshot step (ms) on any replica. */
  longest_step_ms_stepped?: number;
  /** The stepped mode's stall (ms), the figure the 50 ms bound is about. */
  stall_ms_stepped?: number;
  stall_ms_whole?: number;
  /** The same with the file written on the replica's thread (`foreground`), when run. */
  stall_ms_foreground?: number;
  /** The same with the WAL appended and fsynced in the Ready loop (`inline-wal`), when run. */
  stall_ms_inline_wal?: number;
}

const PROBE_BATCH_DEFAULT = 100;
const THRESHOLD_MARGIN_DEFAULT = 200;
const STATUS_TIMEOUT_MS = 120_000;

export async function runSnapshotStallBench(options: SnapshotStallOptions): Promise<{ result: SnapshotStallResult; table: string }> {
  const modes: SnapshotModeResult[] = [];
  for (const mode of options.modes) modes.push(await runMode(mode, options));
  const stepped = modes.find((m) => m.mode === 'stepped');
  const whole = modes.find((m) => m.mode === 'whole');
  const foreground = modes.find((m) => m.mode === 'foreground');
  const inlineWal = modes.find((m) => m.mode === 'inline-wal');
  const result: SnapshotStallResult = {
    modes, stall_ms_stepped: stepped?.stallMs, stall_ms_whole: whole?.stallMs, stall_ms_foreground: foreground?.stallMs, stall_ms_inline_wal: inlineWal?.stallMs,
    longest_step_ms_stepped: stepped === undefined ? undefined : Math.max(...stepped.longestSnapshotStepMs),
  };
  return { result, table: renderSnapshotTable(result, options) };
}

async function runMode(mode: SnapshotMode, options: SnapshotStallOptions): Promise<SnapshotModeResult> {
  const progress = options.onProgress ?? (() => {});
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-bench-snapshot-'));
  guardDir(dataDir);
  const system = new ThreadedSystem({ seed: 1, logLevel: process.env.LOG_LEVEL ?? 'error', dataDir });
  try {
    const valueBytes = options.valueKB * 1024;
    const historyMB = mode === 'whole' ? Math.min(options.historyMB, options.wholeHistoryMB ?? options.historyMB) : options.historyMB;
    const fill = Math.ceil((historyMB * 1024 * 1024) / valueBytes);
    const group = await spawnEtcdGroup(system, {
      replicas: 3,
      replica: {
        tickMs: options.tickMs,
        snapshotEntries: fill + (options.thresholdMargin ?? THRESHOLD_MARGIN_DEFAULT),
        snapshotBatchBytes: mode === 'whole' ? Number.POSITIVE_INFINITY : undefined,
        snapshotInBackground: mode === 'stepped' || mode === 'inline-wal',
        asyncStorageWrites: mode !== 'inline-wal',
      },
    });
    // A floor of 10 s per attempt: 64 KiB values under a loaded machine took over 1 s to commit, and the fill must not fail.
    const driver = await system.spawn(kvBenchDriver, { name: 'snapshot-bench-driver', args: { replicas: group.names, attemptTimeoutMs: 10_000 } });
    const phase = (spec: PhaseSpec): Promise<PhaseResult> => driver.ask<PhaseResult>({ type: 'phase', body: spec } satisfies KvBenchDriverMsg, { timeoutMs: options.timeoutMs });
    const status = (reset = false): Promise<Array<ReplicaStatus | undefined>> =>
      Promise.all(group.names.map((name) => system.ref(name).ask<ReplicaStatus>({ type: 'status', body: { resetLongestTickGap: reset } }, { timeoutMs: STATUS_TIMEOUT_MS }).catch(() => undefined)));

    progress(`${mode}: writing ${historyMB} MB of history (${fill} values of ${options.valueKB} KiB)`);
    const filled = await phase({ kind: 'populate', prefix: 'history/', count: fill, valueBytes, outstanding: 16 });
    if (filled.errors > 0) throw new Error(`bench snapshot: ${filled.errors} of ${fill} history writes failed (${filled.firstError ?? ''})`);
    const before = await status(true);
    if (before.some((s) => s === undefined || s.snapshotIndex > 0)) throw new Error(`bench snapshot: a replica snapshotted during the fill or did not answer: ${JSON.stringify(before)}`);

    progress(`${mode}: timed writes until all three replicas have snapshotted`);
    const startedMs = performance.now();
    const latenciesUs: number[] = [];
    let writes = 0;
    let writeErrors = 0;
    let last: Array<ReplicaStatus | undefined> = before;
    let completed = false;
    while (performance.now() - startedMs < options.timeoutMs) {
      const probe = await phase({ kind: 'sequentialPuts', prefix: 'probe/', count: options.probeBatch ?? PROBE_BATCH_DEFAULT, valueBytes: 64 });
      latenciesUs.push(...probe.latenciesUs);
      writes += probe.ops;
      writeErrors += probe.errors;
      last = await status();
      if (last.every((s) => s !== undefined && s.snapshotIndex > 0)) {
        completed = true;
        break;
      }
    }
    const snapshotMs = performance.now() - startedMs;
    const gaps = last.map((s) => s?.longestTickGapMs ?? Number.NaN);
    const ms = latenciesUs.map((us) => us / 1000);
    progress(`${mode}: ${completed ? 'done' : 'timed out'} in ${Math.round(snapshotMs)} ms, longest tick gaps ${gaps.join(', ')} ms`);
    return {
      mode, historyMB, completed, snapshotMs: round(snapshotMs, 0), longestTickGapMs: gaps,
      stallMs: round(Math.max(...gaps) - options.tickMs, 0),
      longestSnapshotStepMs: last.map((s) => s?.lastSnapshot?.longestStepMs ?? Number.NaN),
      snapshotBytes: last.map((s) => s?.lastSnapshot?.bytes ?? Number.NaN),
      snapshotSteps: last.map((s) => s?.lastSnapshot?.steps ?? Number.NaN),
      writes, writeErrors,
      writeP50Ms: round(exactPercentile(ms, 50)), writeP99Ms: round(exactPercentile(ms, 99)), writeMaxMs: round(exactPercentile(ms, 100)),
    };
  } finally {
    await system.shutdown();
    fs.rmSync(dataDir, { recursive: true, force: true });
    releaseDir(dataDir);
  }
}

export function renderSnapshotTable(result: SnapshotStallResult, options: Pick<SnapshotStallOptions, 'tickMs'>): string {
  const stepped = result.modes.find((m) => m.mode === 'stepped');
  // The baseline column: the whole-store mode, or else the stepped one written on the thread.
  const whole = result.modes.find((m) => m.mode === 'whole') ?? result.modes.find((m) => m.mode === 'foreground');
  const pick = (f: (m: SnapshotModeResult) => number | string): Pick<Row, 'ours' | 'baseline'> => ({
    ours: stepped === undefined ? '' : f(stepped),
    baseline: whole === undefined ? '' : f(whole),
  });
  const ratio = (f: (m: SnapshotModeResult) => number): number | undefined =>
    stepped !== undefined && whole !== undefined && f(whole) > 0 ? round(f(stepped) / f(whole), 3) : undefined;
  const history = [stepped, whole].filter((m) => m !== undefined).map((m) => `${m.historyMB} MB ${m.mode}`).join(', ');
  const rows: Row[] = [
    { name: 'history', ...pick((m) => m.historyMB), unit: 'MB' },
    { name: 'longest thread stall (tick gap - period)', ...pick((m) => m.stallMs), ratio: ratio((m) => m.stallMs), unit: 'ms', note: `tick period ${options.tickMs} ms; worst of 3 replicas` },
    { name: 'longest tick gap, per replica', ...pick((m) => m.longestTickGapMs.join(' / ')), unit: 'ms' },
    { name: 'longest snapshot step, per replica', ...pick((m) => m.longestSnapshotStepMs.join(' / ')), unit: 'ms', note: 'the snapshot\'s own share of the stall' },
    { name: 'snapshot size / steps', ...pick((m) => `${round(Math.max(...m.snapshotBytes) / 1e6, 0)} MB / ${Math.max(...m.snapshotSteps)}`), unit: '' },
    { name: 'all three snapshotted after', ...pick((m) => (m.completed ? m.snapshotMs : `not in ${m.snapshotMs}`)), unit: 'ms' },
    { name: 'timed writes during it', ...pick((m) => `${m.writes} (${m.writeErrors} failed)`), unit: 'ops' },
    { name: 'write p50', ...pick((m) => m.writeP50Ms), ratio: ratio((m) => m.writeP50Ms), unit: 'ms' },
    { name: 'write p99', ...pick((m) => m.writeP99Ms), ratio: ratio((m) => m.writeP99Ms), unit: 'ms' },
    { name: 'write max', ...pick((m) => m.writeMaxMs), ratio: ratio((m) => m.writeMaxMs), unit: 'ms' },
  ];
  const baseline = whole?.mode === 'foreground' ? 'on the thread' : 'whole (before)';
  return renderTable(`kubethreads bench snapshot — a snapshot of history (${history}), taken in steps vs ${whole?.mode === 'foreground' ? 'the same steps writing on the thread' : 'whole'}`, rows, baseline);
}
