/**
 * `kubethreads bench kv`: kubethreads' replicated store side by side with a
 * real 3-member etcd on the same machine, the same workload on both (see
 * workload.ts), one side after the other so they never compete for the cores.
 */
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { Latencies, exactPercentile, median, percentileInterval, round } from '../lib/stats.js';
import { etcdVersion } from '../../src/kv/etcd/cluster.js';
import { startOurs } from './ours.js';
import { ELECTION_MS, FAST_TIMING, HEARTBEAT_MS, sleepMs, type BenchSide, type RaftTiming } from './side.js';
import { epochNowMs } from './driver.js';
import { longestGapMs, type PhaseResult } from './workload.js';
import { runAcrossProcesses, type CrossProcessResult } from './processes.js';
import { describeScaling, isClientBound, scaleUntilSaturated, type ProcessScaling } from './scaling.js';
import { DEFAULT_SEQUENTIAL_ROUNDS, renderRounds, runSequentialRounds, verdictText, type SequentialRoundsResult } from './rounds.js';

export interface KvBenchOptions {
  valueBytes: number;
  /** Sequential puts for the latency rows (and for the watch rows). */
  sequentialOps: number;
  /** Requests in flight for the throughput rows. */
  outstanding: number;
  /** Requests in flight for the saturation row (puts): enough to saturate etcd, whose own Go client peaks near 1,000. */
  outstandingHigh: number;
  /** Duration of each throughput phase. */
  loadMs: number;
  /** Distinct keys the put phase cycles through. */
  putKeyspace: number;
  /** Keys written before the get phase, and read by it. */
  getKeys: number;
  /**
   * Sequential puts before measuring, per side (JIT, connections, leader discovery)... 6,000 since issue #22's
   * night: after 200, V8 was still optimizing our store's code through the next ~4,000 sequential puts (its
   * compiler threads 350 -> 42 us of CPU per put, the process 1,663 -> 980, docs/kv-bench.md), so the sequential
   * rows measured a store warming up, not a running one. The same count for etcd.
   */
  warmupOps: number;
  /** ...then this long of puts with `outstanding` in flight (the concurrent paths warm up too). */
  warmupLoadMs: number;
  /** Leader kills for the failover rows; the median and p90 are reported. */
  failoverKills: number;
  /** Leader kills with 150–300 ms election timeouts (FAST_TIMING), on a second cluster of each side; 0 leaves those rows out. */
  fastFailoverKills: number;
  /** Steady writing before each kill. */
  failoverSteadyMs: number;
  /**
   * Cross-process rows: `outstanding` requests split over 1, 2, 4 ... up to this many
   * client processes, each with its own etcd3 client, on etcd and on our store's gRPC
   * face, until a doubling stops paying. 0 leaves those rows out.
   */
  clientProcessesMax: number;
  /** Duration of each cross-process step. */
  processLoadMs: number;
  /** `never`: kubethreads alone even when etcd is installed (tests). */
  etcd: 'auto' | 'never';
  /**
   * `failover`: only the failover rows (a short warm-up, then the kills at both timings), for
   * studying failover without the 10 minutes of throughput phases. `processes`: only the
   * cross-process rows (the same warm-up as a whole run, then the etcd3 client processes; no
   * kills). `sequential`: only the sequential put rows, in `rounds` rounds a side alternated A B B A with both sides
   * up together (rounds.ts). Default: every row.
   */
  only?: 'failover' | 'processes' | 'sequential';
  /** `only: 'sequential'`: rounds of `sequentialOps` puts per side (default 10). */
  rounds?: number;
  /**
   * Our replicas' failure detector (ReplicaArgs.leaderDownFailover): followers hear at once that
   * the leader's actor ended. false: the election timeout alone, as etcd. Default true.
   */
  leaderDownFailover?: boolean;
  /** The etcd binary (default: `etcd` on the PATH). */
  etcdBinary?: string;
}

export const defaultKvBenchOptions: KvBenchOptions = {
  valueBytes: 256, sequentialOps: 2_000, outstanding: 64, outstandingHigh: 1_000, loadMs: 10_000, putKeyspace: 10_000, getKeys: 1_000, warmupOps: 6_000, warmupLoadMs: 2_000,
  failoverKills: 10, fastFailoverKills: 10, failoverSteadyMs: 500, clientProcessesMax: 8, processLoadMs: 5_000, etcd: 'auto',
};

export const quickKvBenchOptions: KvBenchOptions = {
  ...defaultKvBenchOptions, sequentialOps: 200, loadMs: 1_000, getKeys: 200, warmupOps: 50, warmupLoadMs: 300, failoverKills: 1, fastFailoverKills: 1, clientProcessesMax: 4, processLoadMs: 1_000,
};

export interface KvBenchRow {
  name: string;
  ours: number;
  /** null when etcd was not run. */
  etcd: number | null;
  /** ours / etcd; null without etcd. */
  ratio: number | null;
  unit: string;
  better: 'higher' | 'lower';
  /**
   * Throughput rows only: whether each side's figure is its client's ceiling
   * rather than the store's (more client processes reached 10 % more); null
   * where not judged (our in-process client is not scaled; etcd not run).
   */
  clientBound?: { ours: boolean | null; etcd: boolean | null };
}

/**
 * The operations the cross-process rows run; `putHigh` is a put at `outstandingHigh` in flight (the saturation row:
 * one etcd3 client process cannot keep 1,000 puts moving, so the in-process row at 1,000 judged a client, not a store).
 */
export const CROSS_PROCESS_OPS = ['put', 'putHigh', 'get', 'serializableGet', 'cas'] as const;
export type CrossProcessOp = (typeof CROSS_PROCESS_OPS)[number];

/** Everything measured on one side, beyond the rows: for reading a surprising figure. */
export interface SideDetails {
  putLatencyUs: { p50: number; p90: number; p99: number; max: number; count: number };
  /**
   * The sequential put p99's 95 % confidence interval from the raw samples (bench/lib/stats.ts; `high` null:
   * beyond the slowest put); null when not measured. Why: the p99 of 2,000 puts is the 20th slowest, set by a
   * few disk stalls, and the row has read 0.54-1.19x across quiet runs: the two sides' intervals say whether
   * one run told them apart.
   */
  putLatencyP99CiUs: { low: number | null; high: number | null; coverage: number } | null;
  watchLatencyUs: { p50: number; p90: number; p99: number; max: number; count: number; eventsBeforeAck: number };
  /** Put sent → event received: the watch path including the put itself. */
  watchFromSendUs: { p50: number; p90: number; p99: number; max: number; count: number };
  /** `serializableGet`: reads with no consensus and no disk, run like the get phase: roughly the client's ceiling on this machine. */
  throughputOpsPerS: { put: number; putHigh: number; get: number; cas: number; serializableGet: number };
  /** Errors per phase (all expected to be 0 outside failover) and the first error seen. */
  errors: Record<string, { count: number; first?: string }>;
  casFailed: number;
  failover: FailoverKill[];
  /** The same kills on a second cluster with 150–300 ms election timeouts (empty when not run). */
  failoverFast: FailoverKill[];
  /**
   * Each operation at `outstanding` in flight from 1, 2, 4 ... etcd3 client processes over
   * gRPC (ours through its gRPC face); null when not run.
   */
  acrossProcesses: Record<CrossProcessOp, ProcessScaling> | null;
}

/** One leader kill, as the failover writer lived it. */
export interface FailoverKill {
  timeToLeaderMs: number;
  longestGapMs: number;
  acks: number;
  writeErrors: number;
  resumed: boolean;
  /** The first few failed puts, as `+ms after the kill: error`. */
  firstErrors: string[];
}

export interface KvBenchResult {
  rows: KvBenchRow[];
  etcd: { version: string | null; skipped?: string };
  options: KvBenchOptions;
  ours: SideDetails;
  etcdDetails: SideDetails | null;
  /** `only: 'sequential'`: every round, the pooled p99s with their intervals, the ratio's interval and the verdict. */
  sequentialRounds?: SequentialRoundsResult;
}

/** Three replica threads and a driver, or three etcd processes and a leader: seconds normally, even on a loaded machine. */
const SIDE_START_TIMEOUT_MS = 120_000;
/** Waits generous enough for a loaded 2-core machine; they only catch a wedged side. */
const HEALTHY_TIMEOUT_MS = 60_000;
const NEW_LEADER_TIMEOUT_MS = 30_000;
/** The writer stops once this many writes are acknowledged after the new leader was seen... */
const RESUMED_ACKS = 20;
/** Failed puts shown per kill in the details. */
const FAILOVER_ERRORS_SHOWN = 5;
/** ...or this long after, whichever first. */
const RESUME_TIMEOUT_MS = 15_000;

export const INSTALL_HINT = 'etcd is not installed: run scripts/install-etcd.sh (Debian: apt-get install etcd-server) to measure it side by side';

function summary(samplesUs: readonly number[]): { p50: number; p90: number; p99: number; max: number; count: number } {
  const h = new Latencies();
  for (const us of samplesUs) h.record(us);
  return { p50: h.percentile(50), p90: h.percentile(90), p99: h.percentile(99), max: h.percentile(100), count: h.count };
}

/** Percentiles of raw samples that may be negative (the histogram would floor them at 1 µs). */
export function signedSummary(samplesUs: readonly number[]): { p50: number; p90: number; p99: number; max: number; count: number } {
  const at = (p: number) => exactPercentile(samplesUs, p);
  return { p50: at(50), p90: at(90), p99: at(99), max: at(100), count: samplesUs.length };
}

function p99Ci(samplesUs: readonly number[]): SideDetails['putLatencyP99CiUs'] {
  const interval = percentileInterval(samplesUs, 99);
  return interval === undefined ? null : { low: interval.low, high: interval.high, coverage: round(interval.coverage, 3) };
}

/**
 * The sequential put p99 row's note: each side's 95 % interval, and whether they overlap (then this run did not
 * tell the two p99s apart, whatever the ratio).
 */
export function p99IntervalNote(ours: SideDetails['putLatencyP99CiUs'], etcd: SideDetails['putLatencyP99CiUs'] | undefined): string {
  if (ours === null) return '';
  const ms = (us: number | null) => (us === null ? 'beyond the slowest' : `${round(us / 1000, 2)}`);
  const span = (ci: NonNullable<SideDetails['putLatencyP99CiUs']>) => `${ms(ci.low)}-${ms(ci.high)} ms`;
  if (etcd === undefined || etcd === null) return `; p99's 95 % CI ${span(ours)}`;
  const apart = (a: NonNullable<SideDetails['putLatencyP99CiUs']>, b: NonNullable<SideDetails['putLatencyP99CiUs']>) => a.high !== null && b.low !== null && a.high < b.low;
  const verdict = apart(ours, etcd) ? 'ours lower, told apart' : apart(etcd, ours) ? 'etcd lower, told apart' : 'they overlap: not told apart in this run (`--only sequential` pools 10 rounds a side)';
  return `; p99's 95 % CI ours ${span(ours)}, etcd ${span(etcd)}: ${verdict}`;
}

function throughput(r: PhaseResult): number {
  return r.ops / (r.elapsedMs / 1000);
}

const NOT_MEASURED = { p50: 0, p90: 0, p99: 0, max: 0, count: 0 };

/** `only: 'failover'`: a warm-up, then the kills; the other figures stay zero and their rows are left out. */
async function measureFailoverOnly(side: BenchSide, o: KvBenchOptions, progress: Progress): Promise<SideDetails> {
  await side.waitHealthy(HEALTHY_TIMEOUT_MS);
  await side.runPhase({ kind: 'sequentialPuts', prefix: '/bench/warmup/', count: o.warmupOps, valueBytes: o.valueBytes });
  await side.runPhase({ kind: 'cleanup', prefix: '/bench/warmup/' });
  progress.step(`${side.label} warm-up`);
  const failover = await measureFailover(side, o.failoverKills, o, progress);
  return {
    putLatencyUs: NOT_MEASURED, putLatencyP99CiUs: null, watchLatencyUs: { ...NOT_MEASURED, eventsBeforeAck: 0 }, watchFromSendUs: NOT_MEASURED,
    throughputOpsPerS: { put: 0, putHigh: 0, get: 0, cas: 0, serializableGet: 0 }, errors: {}, casFailed: 0, failover, failoverFast: [], acrossProcesses: null,
  };
}

/** Records each phase's errors in `errors`, and says so on stderr when there were any. */
function errorNoter(side: BenchSide, errors: SideDetails['errors']): (phase: string, r: PhaseResult) => PhaseResult {
  return (phase, r) => {
    errors[phase] = { count: r.errors, first: r.firstError };
    if (r.errors > 0) process.stderr.write(`bench kv: ${side.label} ${phase}: ${r.errors} errors (first: ${r.firstError})\n`);
    return r;
  };
}

/**
 * The whole run's warm-up, before its sequential row: `warmupOps` sequential puts, `warmupLoadMs` of puts at
 * `outstanding`, then the cleanup (the keys deleted, the store compacted).
 */
async function warmUp(side: BenchSide, o: KvBenchOptions, progress: Progress, note: (phase: string, r: PhaseResult) => PhaseResult): Promise<void> {
  await side.waitHealthy(HEALTHY_TIMEOUT_MS);
  await side.runPhase({ kind: 'sequentialPuts', prefix: '/bench/warmup/', count: o.warmupOps, valueBytes: o.valueBytes });
  note('warm-up', await side.runPhase({ kind: 'load', op: 'put', prefix: '/bench/warmup/', outstanding: o.outstanding, durationMs: o.warmupLoadMs, valueBytes: o.valueBytes, keyspace: o.putKeyspace }));
  await side.runPhase({ kind: 'cleanup', prefix: '/bench/warmup/' });
  progress.step(`${side.label} warm-up`);
}

const NOT_MEASURED_THROUGHPUT = { put: 0, putHigh: 0, get: 0, cas: 0, serializableGet: 0 };

/** `only: 'processes'`: the warm-up of a whole run, then the cross-process rows; the other figures stay zero and their rows are left out. */
async function measureProcessesOnly(side: BenchSide, o: KvBenchOptions, progress: Progress): Promise<SideDetails> {
  const errors: SideDetails['errors'] = {};
  const note = errorNoter(side, errors);
  await warmUp(side, o, progress, note);
  const acrossProcesses = await measureAcrossProcesses(side, o, progress, note);
  return {
    putLatencyUs: NOT_MEASURED, putLatencyP99CiUs: null, watchLatencyUs: { ...NOT_MEASURED, eventsBeforeAck: 0 }, watchFromSendUs: NOT_MEASURED,
    throughputOpsPerS: NOT_MEASURED_THROUGHPUT, errors, casFailed: 0, failover: [], failoverFast: [], acrossProcesses,
  };
}

/** `only: 'sequential'`: a side's details from its rounds pooled (exact nearest-rank percentiles, as the rounds' own). */
function sequentialDetails(pooled: SequentialRoundsResult['ours'], errors: SideDetails['errors']): SideDetails {
  const all = pooled.rounds.flatMap((r) => r.latenciesUs);
  const errorCount = pooled.rounds.reduce((sum, r) => sum + r.errors, 0);
  return {
    putLatencyUs: { p50: pooled.pooled.p50Us, p90: exactPercentile(all, 90), p99: pooled.pooled.p99Us, max: exactPercentile(all, 100), count: all.length },
    putLatencyP99CiUs: pooled.pooled.p99CiUs, watchLatencyUs: { ...NOT_MEASURED, eventsBeforeAck: 0 }, watchFromSendUs: NOT_MEASURED,
    throughputOpsPerS: NOT_MEASURED_THROUGHPUT,
    errors: { ...errors, 'sequential rounds': { count: errorCount, first: pooled.rounds.find((r) => r.firstError !== undefined)?.firstError } },
    casFailed: 0, failover: [], failoverFast: [], acrossProcesses: null,
  };
}

/**
 * `only: 'sequential'`: both sides started once and up together, each warmed as a whole run warms its sequential row
 * (ours first, then etcd), then the rounds alternated (rounds.ts).
 */
async function runSequentialOnly(o: KvBenchOptions, version: string | undefined): Promise<{ result: KvBenchResult; table: string }> {
  const roundsPerSide = o.rounds ?? DEFAULT_SEQUENTIAL_ROUNDS;
  if (!Number.isInteger(roundsPerSide) || roundsPerSide < 1) throw new Error(`bench kv: rounds must be a positive integer (got ${roundsPerSide})`);
  const progress = new Progress((1 + roundsPerSide) * (version === undefined ? 1 : 2), 'bench kv');
  const oursErrors: SideDetails['errors'] = {};
  const etcdErrors: SideDetails['errors'] = {};
  const measure = async (ours: BenchSide, etcd: BenchSide | null): Promise<SequentialRoundsResult> => {
    await warmUp(ours, o, progress, errorNoter(ours, oursErrors));
    if (etcd !== null) await warmUp(etcd, o, progress, errorNoter(etcd, etcdErrors));
    return runSequentialRounds({ ours, etcd }, { roundsPerSide, sequentialOps: o.sequentialOps, valueBytes: o.valueBytes }, progress);
  };
  const startOursSide = () => startOurs(undefined, { leaderDownFailover: o.leaderDownFailover !== false });
  let rounds: SequentialRoundsResult;
  if (version === undefined) {
    if (o.etcd !== 'never') process.stderr.write(`bench kv: ${INSTALL_HINT}\n`);
    rounds = await withSide(startOursSide, (ours) => measure(ours, null));
  } else {
    const { startEtcd } = await import('./etcd-side.js');
    rounds = await withSide(startOursSide, (ours) => withSide(() => startEtcd(o.etcdBinary), (etcd) => measure(ours, etcd)));
  }
  const ours = sequentialDetails(rounds.ours, oursErrors);
  const etcdDetails = rounds.etcd === null ? null : sequentialDetails(rounds.etcd, etcdErrors);
  const skipped = version !== undefined ? undefined : o.etcd === 'never' ? 'etcd not run (--etcd never)' : INSTALL_HINT;
  const result: KvBenchResult = {
    rows: rowsOf(ours, etcdDetails, o),
    etcd: { version: version ?? null, ...(skipped === undefined ? {} : { skipped }) },
    options: { ...o, rounds: roundsPerSide },
    ours,
    etcdDetails,
    sequentialRounds: rounds,
  };
  return { result, table: renderKvTable(result) };
}

async function measureSide(side: BenchSide, o: KvBenchOptions, progress: Progress): Promise<SideDetails> {
  if (o.only === 'failover') return measureFailoverOnly(side, o, progress);
  if (o.only === 'processes') return measureProcessesOnly(side, o, progress);
  const errors: SideDetails['errors'] = {};
  const note = errorNoter(side, errors);
  const phase = async (name: string, prefix: string, run: () => Promise<PhaseResult>): Promise<PhaseResult> => {
    const r = note(name, await run());
    // etcd 3.4 slows down after a large delete until it compacts: every phase leaves the store as it found it.
    await side.runPhase({ kind: 'cleanup', prefix });
    progress.step(`${side.label} ${name}`);
    return r;
  };
  const v = o.valueBytes;
  await warmUp(side, o, progress, note);
  const seq = await phase('sequential puts', '/bench/seq/', () => side.runPhase({ kind: 'sequentialPuts', prefix: '/bench/seq/', count: o.sequentialOps, valueBytes: v }));
  const load = (op: 'put' | 'get' | 'serializableGet' | 'cas', prefix: string, keyspace: number) =>
    side.runPhase({ kind: 'load', op, prefix, outstanding: o.outstanding, durationMs: o.loadMs, valueBytes: v, keyspace });
  const put = await phase('put throughput', '/bench/put/', () => load('put', '/bench/put/', o.putKeyspace));
  const putHigh = await phase(`put throughput at ${o.outstandingHigh} outstanding`, '/bench/puthigh/', () =>
    side.runPhase({ kind: 'load', op: 'put', prefix: '/bench/puthigh/', outstanding: o.outstandingHigh, durationMs: o.loadMs, valueBytes: v, keyspace: o.putKeyspace }));
  const get = await phase('get throughput', '/bench/get/', async () => {
    await side.runPhase({ kind: 'populate', prefix: '/bench/get/', count: o.getKeys, valueBytes: v, outstanding: o.outstanding });
    return load('get', '/bench/get/', o.getKeys);
  });
  const serializableGet = await phase('serializable get throughput', '/bench/sget/', async () => {
    await side.runPhase({ kind: 'populate', prefix: '/bench/sget/', count: o.getKeys, valueBytes: v, outstanding: o.outstanding });
    return load('serializableGet', '/bench/sget/', o.getKeys);
  });
  const cas = await phase('cas throughput', '/bench/cas/', () => load('cas', '/bench/cas/', o.outstanding));
  const watch = await phase('watch latency', '/bench/watch/', () => side.runPhase({ kind: 'watchLatency', prefix: '/bench/watch/', count: o.sequentialOps, valueBytes: v }));

  const acrossProcesses = o.clientProcessesMax > 0 ? await measureAcrossProcesses(side, o, progress, note) : null;
  const failover = await measureFailover(side, o.failoverKills, o, progress);
  return {
    putLatencyUs: summary(seq.latenciesUs),
    putLatencyP99CiUs: p99Ci(seq.latenciesUs),
    watchLatencyUs: { ...signedSummary(watch.latenciesUs), eventsBeforeAck: watch.eventsBeforeAck ?? 0 },
    watchFromSendUs: summary(watch.sentToEventUs ?? []),
    throughputOpsPerS: {
      put: Math.round(throughput(put)), putHigh: Math.round(throughput(putHigh)), get: Math.round(throughput(get)), cas: Math.round(throughput(cas)), serializableGet: Math.round(throughput(serializableGet)),
    },
    errors,
    casFailed: cas.casFailed ?? 0,
    failover,
    failoverFast: [],
    acrossProcesses,
  };
}

/** Each cross-process operation, scaled over client processes; keys are written first for the reads and removed after. */
async function measureAcrossProcesses(side: BenchSide, o: KvBenchOptions, progress: Progress, note: (phase: string, r: PhaseResult) => PhaseResult): Promise<Record<CrossProcessOp, ProcessScaling>> {
  const endpoint = await side.grpcEndpoint();
  const scalings: Partial<Record<CrossProcessOp, ProcessScaling>> = {};
  for (const op of CROSS_PROCESS_OPS) {
    const prefix = `/bench/procs-${op}/`;
    const reads = op === 'get' || op === 'serializableGet';
    if (reads) await side.runPhase({ kind: 'populate', prefix, count: o.getKeys, valueBytes: o.valueBytes, outstanding: o.outstanding });
    const keyspace = reads ? o.getKeys : op === 'cas' ? o.outstanding : o.putKeyspace;
    const outstanding = op === 'putHigh' ? o.outstandingHigh : o.outstanding;
    const scaling = await scaleUntilSaturated(async (processes) => {
      const spec = { kind: 'load', op: op === 'putHigh' ? 'put' : op, prefix, outstanding, durationMs: o.processLoadMs, valueBytes: o.valueBytes, keyspace } as const;
      const step = await runAcrossProcesses(endpoint, spec, processes);
      note(`${op} from ${processes} client processes`, asPhase(step));
      return step;
    }, Math.min(o.clientProcessesMax, outstanding));
    scalings[op] = scaling;
    await side.runPhase({ kind: 'cleanup', prefix });
    progress.step(`${side.label} ${op} across processes`);
  }
  await side.grpcDone?.();
  return scalings as Record<CrossProcessOp, ProcessScaling>;
}

/** A merged cross-process step in the shape the error bookkeeping reads. */
function asPhase(step: CrossProcessResult): PhaseResult {
  return { ops: step.ops, errors: step.errors, firstError: step.firstError, elapsedMs: step.windowMs, latenciesUs: [] };
}

/** `kills` leader kills under a steady writer: how long until a new leader, and the longest gap between acknowledged writes. */
async function measureFailover(side: BenchSide, kills: number, o: KvBenchOptions, progress: Progress, label = 'failover'): Promise<FailoverKill[]> {
  const failover: FailoverKill[] = [];
  for (let k = 0; k < kills; k++) {
    await side.waitHealthy(HEALTHY_TIMEOUT_MS);
    const leader = await side.leader(HEALTHY_TIMEOUT_MS);
    await side.writerStart('/bench/failover/', o.valueBytes);
    await sleepMs(o.failoverSteadyMs);
    const killedAtMs = epochNowMs();
    await side.kill(leader);
    const leaderAtMs = await side.waitNewLeader(leader.term, NEW_LEADER_TIMEOUT_MS);
    const w = await side.writerStop(leaderAtMs, RESUMED_ACKS, RESUME_TIMEOUT_MS);
    failover.push({
      timeToLeaderMs: leaderAtMs - killedAtMs, longestGapMs: longestGapMs(w.acksMs), acks: w.acksMs.length, writeErrors: w.errors, resumed: w.resumed,
      firstErrors: w.errorLog.slice(0, FAILOVER_ERRORS_SHOWN).map((e) => `+${Math.round(e.atMs - killedAtMs)} ms: ${e.message.slice(0, 200)}`),
    });
    if (!w.resumed) process.stderr.write(`bench kv: ${side.label} kill ${k + 1}: writes had not resumed ${RESUME_TIMEOUT_MS} ms after the new leader (${w.firstError ?? 'no error'})\n`);
    await side.waitHealthy(HEALTHY_TIMEOUT_MS);
    await side.runPhase({ kind: 'cleanup', prefix: '/bench/failover/' });
    progress.step(`${side.label} ${label} ${k + 1}/${kills}`);
  }
  return failover;
}

async function withSide<T>(start: () => Promise<BenchSide>, use: (side: BenchSide) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const side = await Promise.race([
    start(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bench kv: a side did not start within ${SIDE_START_TIMEOUT_MS} ms`)), SIDE_START_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  try {
    return await use(side);
  } finally {
    await side.close();
  }
}

const SEQUENTIAL_P99_ROW = 'sequential put latency p99';

function rowsOf(ours: SideDetails, etcd: SideDetails | null, o: KvBenchOptions): KvBenchRow[] {
  const ms = (us: number) => round(us / 1000, 3);
  const pick: Array<[string, (d: SideDetails) => number, string, 'higher' | 'lower']> = [
    ['sequential put latency p50', (d) => ms(d.putLatencyUs.p50), 'ms', 'lower'],
    [SEQUENTIAL_P99_ROW, (d) => ms(d.putLatencyUs.p99), 'ms', 'lower'],
    [`put throughput, ${o.outstanding} outstanding`, (d) => d.throughputOpsPerS.put, 'ops/s', 'higher'],
    [`put throughput, ${o.outstandingHigh} outstanding`, (d) => d.throughputOpsPerS.putHigh, 'ops/s', 'higher'],
    [`linearizable get throughput, ${o.outstanding} outstanding`, (d) => d.throughputOpsPerS.get, 'ops/s', 'higher'],
    [`compare-and-swap txn throughput, ${o.outstanding} outstanding`, (d) => d.throughputOpsPerS.cas, 'ops/s', 'higher'],
    // From the put's send: an event may beat its put's acknowledgement, so ack -> event can be negative (reported below the table).
    ['watch delivery latency p50 (put sent -> event)', (d) => ms(d.watchFromSendUs.p50), 'ms', 'lower'],
    ['watch delivery latency p99 (put sent -> event)', (d) => ms(d.watchFromSendUs.p99), 'ms', 'lower'],
    ['failover: time to a new leader (median of kills)', (d) => round(median(d.failover.map((f) => f.timeToLeaderMs)), 1), 'ms', 'lower'],
    ['failover: time to a new leader (p90 of kills)', (d) => round(exactPercentile(d.failover.map((f) => f.timeToLeaderMs), 90), 1), 'ms', 'lower'],
    ['failover: longest gap between acked writes (median of kills)', (d) => round(median(d.failover.map((f) => f.longestGapMs)), 1), 'ms', 'lower'],
    ['failover: longest gap between acked writes (p90 of kills)', (d) => round(exactPercentile(d.failover.map((f) => f.longestGapMs), 90), 1), 'ms', 'lower'],
  ];
  if (o.fastFailoverKills > 0) {
    const fast = `election ${FAST_TIMING.electionMs}-${2 * FAST_TIMING.electionMs} ms`;
    pick.push(
      [`failover, ${fast}: time to a new leader (median of kills)`, (d) => round(median(d.failoverFast.map((f) => f.timeToLeaderMs)), 1), 'ms', 'lower'],
      [`failover, ${fast}: time to a new leader (p90 of kills)`, (d) => round(exactPercentile(d.failoverFast.map((f) => f.timeToLeaderMs), 90), 1), 'ms', 'lower'],
      [`failover, ${fast}: longest gap between acked writes (median of kills)`, (d) => round(median(d.failoverFast.map((f) => f.longestGapMs)), 1), 'ms', 'lower'],
      [`failover, ${fast}: longest gap between acked writes (p90 of kills)`, (d) => round(exactPercentile(d.failoverFast.map((f) => f.longestGapMs), 90), 1), 'ms', 'lower'],
    );
  }
  /**
   * Which in-process row each cross-process operation judges: etcd's in-process client is
   * one etcd3 client like a child's, so its rows are client-bound when more processes did
   * better; ours goes through another client (the actor one), which is not scaled: null.
   */
  const judgedBy: Record<string, CrossProcessOp> = {
    [`put throughput, ${o.outstanding} outstanding`]: 'put',
    [`put throughput, ${o.outstandingHigh} outstanding`]: 'putHigh',
    [`linearizable get throughput, ${o.outstanding} outstanding`]: 'get',
    [`compare-and-swap txn throughput, ${o.outstanding} outstanding`]: 'cas',
  };
  const bound = new Map<string, (d: SideDetails, figure: number, side: 'ours' | 'etcd') => boolean | null>();
  for (const [name, op] of Object.entries(judgedBy)) {
    bound.set(name, (d, figure, side) => (side === 'ours' || d.acrossProcesses === null ? null : isClientBound(figure, d.acrossProcesses[op])));
  }
  if (o.clientProcessesMax > 0 && o.only !== 'failover') {
    const labels: Record<CrossProcessOp, string> = { put: 'put', putHigh: 'put', get: 'linearizable get', serializableGet: 'serializable get', cas: 'compare-and-swap txn' };
    const scalingOf = (d: SideDetails, op: CrossProcessOp): ProcessScaling => {
      if (d.acrossProcesses === null) throw new Error(`bench kv: the cross-process rows were asked for but ${op} was not run`);
      return d.acrossProcesses[op];
    };
    for (const op of CROSS_PROCESS_OPS) {
      const outstanding = op === 'putHigh' ? o.outstandingHigh : o.outstanding;
      const single = `${labels[op]} throughput, ${outstanding} outstanding, one etcd3 client process (gRPC)`;
      const best = `${labels[op]} throughput, ${outstanding} outstanding, best of 1-${o.clientProcessesMax} etcd3 client processes (gRPC)`;
      pick.push([single, (d) => Math.round(scalingOf(d, op).steps[0]!.opsPerS), 'ops/s', 'higher'], [best, (d) => Math.round(scalingOf(d, op).best.opsPerS), 'ops/s', 'higher']);
      bound.set(single, (d, figure) => isClientBound(figure, scalingOf(d, op)));
      // The best step is still the client's ceiling when the steps stopped at the cap while rising.
      bound.set(best, (d) => !scalingOf(d, op).saturated);
    }
    for (const op of ['put', 'get'] as const) {
      for (const p of [50, 99] as const) {
        pick.push([`${labels[op]} latency p${p}, best of 1-${o.clientProcessesMax} etcd3 client processes (gRPC)`, (d) => ms(scalingOf(d, op).best.latencyUs[`p${p}`]), 'ms', 'lower']);
      }
    }
  }
  const picked =
    o.only === 'failover' ? pick.filter(([name]) => name.startsWith('failover'))
    : o.only === 'processes' ? pick.filter(([name]) => name.includes('etcd3 client process'))
    : o.only === 'sequential' ? pick.filter(([name]) => name.startsWith('sequential put'))
    : pick;
  return picked.map(([name, get, unit, better]) => {
    const oursValue = get(ours);
    const etcdValue = etcd === null ? null : get(etcd);
    const ratio = etcdValue === null || etcdValue === 0 ? null : round(oursValue / etcdValue, 2);
    const row: KvBenchRow = { name, ours: oursValue, etcd: etcdValue, ratio, unit, better };
    const judge = bound.get(name);
    if (judge !== undefined) row.clientBound = { ours: judge(ours, oursValue, 'ours'), etcd: etcd === null || etcdValue === null ? null : judge(etcd, etcdValue, 'etcd') };
    return row;
  });
}

/** `; CLIENT-BOUND: etcd` when a side's figure is its client's ceiling (the scaling lines below the table say by how much). */
export function clientBoundNote(row: KvBenchRow): string {
  const sides = [row.clientBound?.ours === true ? 'kubethreads' : undefined, row.clientBound?.etcd === true ? 'etcd' : undefined].filter((x) => x !== undefined);
  return sides.length === 0 ? '' : `; CLIENT-BOUND: ${sides.join(', ')}`;
}

/** `only: 'sequential'`: the p99 row's note is the rounds' verdict (below the table: each round and both intervals). */
function roundsNote(r: SequentialRoundsResult): string {
  if (r.etcd === null) return `; ${r.roundsPerSide} rounds pooled`;
  const interval = r.p99RatioRoundsResampled === null ? '' : `, ratio's 95 % interval ${r.p99RatioRoundsResampled.low}-${r.p99RatioRoundsResampled.high} (pairs of rounds resampled)`;
  return `; ${r.roundsPerSide} rounds a side pooled${interval}: ${verdictText(r)}`;
}

function sequentialTitle(o: KvBenchOptions): string {
  return `kv store: 3 replicas, fsync'd WAL, heartbeat ${HEARTBEAT_MS} ms / election ${ELECTION_MS} ms; ${o.valueBytes}-byte values; ` +
    `sequential puts only: ${o.rounds ?? DEFAULT_SEQUENTIAL_ROUNDS} rounds a side of ${o.sequentialOps.toLocaleString('en-US')} puts, alternated A B B A, rounds pooled; ratio = kubethreads / etcd`;
}

export function renderKvTable(result: KvBenchResult): string {
  const o = result.options;
  const rows: Row[] = result.rows.map((r) => ({
    name: r.name,
    ours: r.ours,
    baseline: r.etcd ?? '-',
    ratio: r.ratio ?? '-',
    unit: r.unit,
    note: (r.better === 'higher' ? 'higher is better (target ratio >= 1)' : 'lower is better (target ratio <= 1)') + clientBoundNote(r) +
      (r.name !== SEQUENTIAL_P99_ROW ? '' : result.sequentialRounds !== undefined ? roundsNote(result.sequentialRounds) : p99IntervalNote(result.ours.putLatencyP99CiUs, result.etcdDetails?.putLatencyP99CiUs)),
  }));
  const etcdLabel = result.etcd.version === null ? 'etcd' : `etcd ${result.etcd.version}`;
  const title = o.only === 'sequential' ? sequentialTitle(o) :
    `kv store: 3 replicas, fsync'd WAL, heartbeat ${HEARTBEAT_MS} ms / election ${ELECTION_MS} ms; ${o.valueBytes}-byte values, ` +
    `${o.sequentialOps.toLocaleString('en-US')} sequential ops, ${o.outstanding} (and ${o.outstandingHigh}) outstanding for ${o.loadMs / 1000} s, ${o.failoverKills} leader kill(s)` +
    (o.clientProcessesMax > 0 ? `, ${o.outstanding} outstanding from up to ${o.clientProcessesMax} etcd3 client processes for ${o.processLoadMs / 1000} s a step` : '') +
    (o.fastFailoverKills > 0 ? `, ${o.fastFailoverKills} more on a cluster with heartbeat ${FAST_TIMING.heartbeatMs} ms / election ${FAST_TIMING.electionMs} ms` : '') +
    (o.leaderDownFailover === false ? '; our failure detector off (election timeout only, as etcd)' : '') +
    '; ratio = kubethreads / etcd';
  const lines = [renderTable(title, rows, etcdLabel), ''];
  const ms = (us: number) => `${round(us / 1000, 2)} ms`;
  const sides: Array<[string, SideDetails]> = [['kubethreads', result.ours]];
  if (result.etcdDetails !== null) sides.push([etcdLabel, result.etcdDetails]);
  for (const [label, d] of sides) {
    const killsOf = (list: FailoverKill[]) => list.map((f) => `${Math.round(f.timeToLeaderMs)}/${Math.round(f.longestGapMs)}`).join(' ');
    const kills = killsOf(d.failover) + (d.failoverFast.length > 0 ? `; fast-election kills: ${killsOf(d.failoverFast)}` : '');
    const errors = Object.entries(d.errors).filter(([, e]) => e.count > 0).map(([phase, e]) => `${phase}: ${e.count}`);
    if (o.only === 'failover') {
      lines.push(`${label}: kills, ms to leader/gap: ${kills}`);
      continue;
    }
    if (o.only === 'sequential') {
      if (errors.length > 0) lines.push(`${label}: errors: ${errors.join(', ')}`);
      continue;
    }
    if (o.only === 'processes') {
      if (errors.length > 0) lines.push(`${label}: errors: ${errors.join(', ')}`);
    } else {
    lines.push(
      `${label}: watch events before their put's ack ${d.watchLatencyUs.eventsBeforeAck}/${d.watchLatencyUs.count}; ` +
        `put acked -> event (negative when the event came first) p50 ${ms(d.watchLatencyUs.p50)}, p99 ${ms(d.watchLatencyUs.p99)}; ` +
        `serializable gets (no consensus: the client's ceiling) ${d.throughputOpsPerS.serializableGet.toLocaleString('en-US')} ops/s; ` +
        `kills, ms to leader/gap: ${kills}${errors.length > 0 ? `; errors: ${errors.join(', ')}` : ''}`,
    );
    }
    if (d.acrossProcesses !== null) {
      const scaling = d.acrossProcesses;
      lines.push(
        `${label} from etcd3 client processes (${o.outstanding} outstanding split over them, putHigh ${o.outstandingHigh}; 1p = the single-client ceiling): ` +
          CROSS_PROCESS_OPS.map((op) => {
            const best = scaling[op].best.latencyUs;
            return `${op} ${describeScaling(scaling[op])}, at the best p50/p90/p99 ${ms(best.p50)}/${ms(best.p90)}/${ms(best.p99)} over ${best.count.toLocaleString('en-US')} samples`;
          }).join('; '),
      );
    }
  }
  if (result.sequentialRounds !== undefined) lines.push(...renderRounds(result.sequentialRounds, etcdLabel));
  if (result.etcd.skipped !== undefined) lines.push(`(${result.etcd.skipped})`);
  return lines.join('\n');
}

export async function runKvBench(options: KvBenchOptions = defaultKvBenchOptions): Promise<{ result: KvBenchResult; table: string }> {
  if (options.only === 'processes' && options.clientProcessesMax < 1) throw new Error('bench kv: only the cross-process rows, with clientProcessesMax 0: nothing to run');
  const version = options.etcd === 'never' ? undefined : etcdVersion(options.etcdBinary);
  if (options.only === 'sequential') return runSequentialOnly(options, version);
  const stepsPerSide =
    options.only === 'failover' ? 1 + options.failoverKills + options.fastFailoverKills
    : options.only === 'processes' ? 1 + CROSS_PROCESS_OPS.length
    : 8 + options.failoverKills + options.fastFailoverKills + (options.clientProcessesMax > 0 ? CROSS_PROCESS_OPS.length : 0);
  const progress = new Progress(stepsPerSide * (version === undefined ? 1 : 2), 'bench kv');
  /** The fast-election kills run on a second cluster of the side, started with FAST_TIMING. */
  const startOursWith = (timing?: RaftTiming) => startOurs(timing, { leaderDownFailover: options.leaderDownFailover !== false });
  const withFastFailover = async (start: (timing?: RaftTiming) => Promise<BenchSide>, details: SideDetails): Promise<SideDetails> => {
    if (options.fastFailoverKills === 0 || options.only === 'processes') return details;
    const failoverFast = await withSide(() => start(FAST_TIMING), (side) => measureFailover(side, options.fastFailoverKills, options, progress, 'fast-election failover'));
    return { ...details, failoverFast };
  };
  const ours = await withFastFailover(startOursWith, await withSide(() => startOursWith(), (side) => measureSide(side, options, progress)));
  let etcdDetails: SideDetails | null = null;
  let skipped: string | undefined;
  if (version !== undefined) {
    // Loaded only when used: the etcd3 client pulls in gRPC, which the rest of the CLI does not need.
    const { startEtcd } = await import('./etcd-side.js');
    const startEtcdWith = (timing?: RaftTiming) => startEtcd(options.etcdBinary, timing);
    etcdDetails = await withFastFailover(startEtcdWith, await withSide(() => startEtcdWith(), (side) => measureSide(side, options, progress)));
  } else {
    skipped = options.etcd === 'never' ? 'etcd not run (--etcd never)' : INSTALL_HINT;
    if (options.etcd !== 'never') process.stderr.write(`bench kv: ${INSTALL_HINT}\n`);
  }
  const result: KvBenchResult = {
    rows: rowsOf(ours, etcdDetails, options),
    etcd: { version: version ?? null, ...(skipped === undefined ? {} : { skipped }) },
    options,
    ours,
    etcdDetails,
  };
  return { result, table: renderKvTable(result) };
}
