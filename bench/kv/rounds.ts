/**
 * `bench kv --only sequential`: the sequential put rows measured in rounds, both sides up together, alternated in an
 * A B B A order, every sample kept. Why: the p99 of one row of 2,000 puts is the 20th slowest, set by a handful of disk
 * stalls and collections; across quiet whole runs our p99 has read 0.54-1.19x etcd's, and one run's 95 % intervals
 * overlap (docs/kv-bench.md). Rounds pooled bound the p99 more tightly, and resampling whole rounds says how much of
 * that is real once the bursts within a round are taken into account.
 */
import type { Progress } from '../lib/progress.js';
import { bootstrapInterval, clusterDraws, exactPercentile, percentileInterval, pooledPercentile, round } from '../lib/stats.js';
import type { BenchSide } from './side.js';

export type RoundSide = 'kubethreads' | 'etcd';

export const DEFAULT_SEQUENTIAL_ROUNDS = 10;
/** As scripts/density-pool.mjs: enough draws that the interval's ends move by well under a sample between seeds. */
export const BOOTSTRAP_DRAWS = 4_000;
export const BOOTSTRAP_SEED = 1;
/**
 * Fewer rounds a side than this and there is no verdict: with n rounds the bootstrap draws from at most C(2n-1, n)
 * distinct pools (35 at n = 4), and a percentile bootstrap's interval runs narrow with few clusters, so it would call
 * differences it cannot support. The intervals are still given.
 */
export const MIN_ROUNDS_FOR_VERDICT = 5;
/** Under this prefix each round writes its own keys (`r<position>/<n>`), removed once after the last round. */
export const ROUNDS_PREFIX = '/bench/seq/';

/**
 * The run order: ours, etcd, etcd, ours, ours, etcd, ... (A B B A), so a drift of the machine (load, the disk's state,
 * page cache) falls on both sides alike; positions 2j and 2j + 1 always hold one round of each side, the j-th of each
 * (a pair, resampled together). Without etcd: our rounds alone.
 */
export function roundOrder(roundsPerSide: number, withEtcd: boolean): RoundSide[] {
  if (!withEtcd) return Array.from({ length: roundsPerSide }, () => 'kubethreads');
  return Array.from({ length: 2 * roundsPerSide }, (_, i) => (i % 4 === 0 || i % 4 === 3 ? 'kubethreads' : 'etcd'));
}

export interface SequentialRound {
  /** Where the round ran in `order` (0-based, over both sides). */
  position: number;
  /** Puts acknowledged; with `errors`, the round's `sequentialOps`. */
  count: number;
  errors: number;
  firstError?: string;
  p50Us: number;
  p99Us: number;
  /** Every acknowledged put's latency in the order sent: kept whole, nothing clamped or dropped. */
  latenciesUs: number[];
}

export interface SequentialRoundsSide {
  rounds: SequentialRound[];
  pooled: {
    count: number;
    p50Us: number;
    p99Us: number;
    /** 95 % interval taking every put as independent (stats.ts `percentileInterval`); `high` null: beyond the slowest. */
    p99CiUs: { low: number | null; high: number | null; coverage: number } | null;
    /** 95 % interval over draws of whole rounds (the same draws as the ratio's); null with fewer than two rounds. */
    p99RoundsResampledUs: { low: number; high: number } | null;
  };
}

/** Lower is better: `ahead` when our p99 is told lower than etcd's. */
export type SequentialVerdict = 'ahead' | 'behind' | 'not told apart';

export interface SequentialRoundsResult {
  roundsPerSide: number;
  order: RoundSide[];
  ours: SequentialRoundsSide;
  etcd: SequentialRoundsSide | null;
  /** Pooled p99, ours / etcd; null without etcd. */
  p99Ratio: number | null;
  /** 95 % interval of that ratio over draws of whole pairs of rounds; null without etcd or with fewer than two rounds. */
  p99RatioRoundsResampled: { low: number; high: number } | null;
  /** From `p99RatioRoundsResampled` (sequentialVerdict); null without it or with under MIN_ROUNDS_FOR_VERDICT rounds a side. */
  verdict: SequentialVerdict | null;
  bootstrap: { draws: number; seed: number };
}

/**
 * Ahead when the whole interval of ours / etcd lies below 1, behind when above, else not told apart. Why the ratio's
 * interval rather than whether the two sides' intervals overlap: two 95 % intervals can overlap while the difference is
 * clear (the overlap test is far stricter than 95 %), and resampling the ratio from the same pairs of rounds keeps what
 * two adjacent rounds share (the machine's state then), which two separate intervals throw away.
 */
export function sequentialVerdict(ratio: { low: number; high: number } | null, roundsPerSide: number): SequentialVerdict | null {
  if (ratio === null || roundsPerSide < MIN_ROUNDS_FOR_VERDICT) return null;
  if (ratio.high < 1) return 'ahead';
  if (ratio.low > 1) return 'behind';
  return 'not told apart';
}

function roundOf(position: number, r: { ops: number; errors: number; firstError?: string; latenciesUs: number[] }): SequentialRound {
  return {
    position, count: r.latenciesUs.length, errors: r.errors, ...(r.firstError === undefined ? {} : { firstError: r.firstError }),
    p50Us: exactPercentile(r.latenciesUs, 50), p99Us: exactPercentile(r.latenciesUs, 99), latenciesUs: r.latenciesUs,
  };
}

function pooledOf(rounds: SequentialRound[], p99Resampled: { low: number; high: number } | null): SequentialRoundsSide['pooled'] {
  const all = rounds.flatMap((r) => r.latenciesUs);
  const ci = percentileInterval(all, 99);
  return {
    count: all.length, p50Us: exactPercentile(all, 50), p99Us: exactPercentile(all, 99),
    p99CiUs: ci === undefined ? null : { low: ci.low, high: ci.high, coverage: round(ci.coverage, 3) },
    p99RoundsResampledUs: p99Resampled,
  };
}

/**
 * Pool each side's rounds and bootstrap the p99s and their ratio: each draw picks `roundsPerSide` pair indices with
 * replacement and takes both sides' j-th rounds for each j drawn (the pairs ran back to back).
 */
export function summarizeRounds(order: RoundSide[], roundsBySide: { ours: SequentialRound[]; etcd: SequentialRound[] | null }): SequentialRoundsResult {
  const { ours, etcd } = roundsBySide;
  const sorted = (rounds: SequentialRound[]) => rounds.map((r) => [...r.latenciesUs].sort((a, b) => a - b));
  const oursSorted = sorted(ours);
  const etcdSorted = etcd === null ? null : sorted(etcd);
  let oursResampled: { low: number; high: number } | null = null;
  let etcdResampled: { low: number; high: number } | null = null;
  let ratioResampled: { low: number; high: number } | null = null;
  if (ours.length >= 2 && (etcd === null || etcd.length === ours.length)) {
    const draws = clusterDraws(ours.length, BOOTSTRAP_DRAWS, BOOTSTRAP_SEED);
    const oursP99 = draws.map((indices) => pooledPercentile(oursSorted, indices, 99));
    oursResampled = bootstrapInterval(oursP99);
    if (etcdSorted !== null) {
      const etcdP99 = draws.map((indices) => pooledPercentile(etcdSorted, indices, 99));
      etcdResampled = bootstrapInterval(etcdP99);
      const ratio = bootstrapInterval(oursP99.map((us, d) => us / etcdP99[d]!));
      ratioResampled = { low: round(ratio.low, 3), high: round(ratio.high, 3) };
    }
  }
  const oursSide: SequentialRoundsSide = { rounds: ours, pooled: pooledOf(ours, oursResampled) };
  const etcdSide: SequentialRoundsSide | null = etcd === null ? null : { rounds: etcd, pooled: pooledOf(etcd, etcdResampled) };
  return {
    roundsPerSide: ours.length, order, ours: oursSide, etcd: etcdSide,
    p99Ratio: etcdSide === null || etcdSide.pooled.p99Us === 0 ? null : round(oursSide.pooled.p99Us / etcdSide.pooled.p99Us, 3),
    p99RatioRoundsResampled: ratioResampled,
    verdict: sequentialVerdict(ratioResampled, ours.length),
    bootstrap: { draws: BOOTSTRAP_DRAWS, seed: BOOTSTRAP_SEED },
  };
}

/**
 * The rounds, on sides already started and warmed: each round `sequentialOps` sequential puts with keys of its own
 * (no cleanup between rounds: a cleanup's compaction would then precede every round, not only the first as in a whole
 * run), in `roundOrder`; then each side's keys removed.
 */
export async function runSequentialRounds(
  sides: { ours: BenchSide; etcd: BenchSide | null },
  o: { roundsPerSide: number; sequentialOps: number; valueBytes: number },
  progress?: Progress,
): Promise<SequentialRoundsResult> {
  const order = roundOrder(o.roundsPerSide, sides.etcd !== null);
  const rounds: Record<RoundSide, SequentialRound[]> = { kubethreads: [], etcd: [] };
  for (const [position, label] of order.entries()) {
    const side = label === 'kubethreads' ? sides.ours : sides.etcd!;
    const r = await side.runPhase({ kind: 'sequentialPuts', prefix: `${ROUNDS_PREFIX}r${position}/`, count: o.sequentialOps, valueBytes: o.valueBytes });
    if (r.errors > 0) process.stderr.write(`bench kv: ${side.label} sequential round ${position}: ${r.errors} errors (first: ${r.firstError})\n`);
    const round = roundOf(position, r);
    rounds[label].push(round);
    progress?.step(`${side.label} sequential round ${rounds[label].length}/${o.roundsPerSide}: p50 ${(round.p50Us / 1000).toFixed(2)} ms, p99 ${(round.p99Us / 1000).toFixed(2)} ms`);
  }
  await sides.ours.runPhase({ kind: 'cleanup', prefix: ROUNDS_PREFIX });
  if (sides.etcd !== null) await sides.etcd.runPhase({ kind: 'cleanup', prefix: ROUNDS_PREFIX });
  return summarizeRounds(order, { ours: rounds.kubethreads, etcd: sides.etcd === null ? null : rounds.etcd });
}

/** The verdict in words, or why there is none. */
export function verdictText(r: SequentialRoundsResult): string {
  if (r.verdict !== null) return r.verdict.toUpperCase();
  if (r.etcd === null) return 'no verdict (etcd not run)';
  return `no verdict (${r.roundsPerSide} rounds a side, under the ${MIN_ROUNDS_FOR_VERDICT} a resampled interval needs)`;
}

/** The lines below the table: each round, the pooled figures with both intervals, the ratio and the verdict. */
export function renderRounds(r: SequentialRoundsResult, etcdLabel: string): string[] {
  const ms = (us: number | null) => (us === null ? 'beyond the slowest' : `${round(us / 1000, 2)}`);
  const lines: string[] = [];
  const sides: Array<[string, SequentialRoundsSide]> = [['kubethreads', r.ours]];
  if (r.etcd !== null) sides.push([etcdLabel, r.etcd]);
  for (const [label, s] of sides) {
    const each = s.rounds.map((x) => `#${x.position} ${ms(x.p50Us)}/${ms(x.p99Us)}${x.errors > 0 ? ` (${x.errors} errors)` : ''}`).join(', ');
    lines.push(`${label} rounds (run position: p50/p99 ms): ${each}`);
    const p = s.pooled;
    const ci = p.p99CiUs === null ? '-' : `${ms(p.p99CiUs.low)}-${ms(p.p99CiUs.high)}`;
    const resampled = p.p99RoundsResampledUs === null ? 'not resampled (fewer than 2 rounds)' : `${ms(p.p99RoundsResampledUs.low)}-${ms(p.p99RoundsResampledUs.high)}`;
    lines.push(`${label} pooled over ${s.rounds.length} rounds, ${p.count.toLocaleString('en-US')} puts: p50 ${ms(p.p50Us)} ms, p99 ${ms(p.p99Us)} ms; p99 95 % interval, puts independent ${ci} ms, rounds resampled ${resampled} ms`);
  }
  if (r.p99Ratio !== null) {
    const interval = r.p99RatioRoundsResampled === null ? 'no interval (fewer than 2 rounds a side)' : `95 % interval ${r.p99RatioRoundsResampled.low}-${r.p99RatioRoundsResampled.high}, pairs of rounds resampled (${r.bootstrap.draws} draws, seed ${r.bootstrap.seed})`;
    lines.push(`p99 ours/etcd ${r.p99Ratio} (${interval}): ${verdictText(r)}`);
  }
  lines.push(`order ${r.order.map((s) => (s === 'kubethreads' ? 'A' : 'B')).join('')} (A kubethreads, B etcd); both sides up the whole time, on the same cores and disk`);
  return lines;
}
