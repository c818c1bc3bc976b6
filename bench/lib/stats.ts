import * as hdr from 'hdr-histogram-js';
import { createPrng } from '../../src/chaos/linearizability/random-history.js';

/** Latency samples in microseconds, summarised by an HDR histogram (3 significant digits). */
export class Latencies {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  record(us: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(us)));
  }

  percentile(p: number): number {
    return this.histogram.getValueAtPercentile(p);
  }

  get count(): number {
    return this.histogram.totalCount;
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The nearest-rank percentile of raw samples (no histogram buckets, nothing clamped); NaN when empty. */
export function exactPercentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/**
 * How far a nearest-rank percentile of `n` samples can be trusted: a distribution-free confidence interval
 * for the population's p-th percentile, from the order statistics (the number of samples below the true
 * percentile is Binomial(n, p/100), whatever the distribution). Why: a density run's probe makes ~300
 * mutating calls, and the p99 of 300 samples is the fourth slowest; one slow second moves it by a second, so
 * a bare p99 cannot say whether two builds differ.
 */
export interface PercentileInterval {
  /** The interval's low end (the `lowRank`-th smallest sample), or null when even the smallest is not a bound at this confidence. */
  low: number | null;
  /** The high end (the `highRank`-th smallest), or null when it lies beyond the slowest sample: too few samples to bound the percentile above. */
  high: number | null;
  /** 1-based ranks of the ends in the sorted samples: `lowRank` 0 when `low` is null, `highRank` n + 1 when `high` is. */
  lowRank: number;
  highRank: number;
  /** The interval's exact coverage, P(x(lowRank) <= the true percentile < x(highRank)) for continuous data. */
  coverage: number;
}

/**
 * The confidence interval [x(l), x(u)) of the p-th percentile. With B ~ Binomial(n, p/100) the number of samples
 * below the true percentile, x(l) <= it exactly when B >= l and it < x(u) exactly when B < u, so the coverage is
 * P(B <= u - 1) - P(B <= l - 1). l is the largest rank with P(B <= l - 1) <= (1 - c)/2, u the smallest with
 * P(B <= u - 1) >= 1 - (1 - c)/2 (Hahn & Meeker, Statistical Intervals, 5.2). Undefined when there are no samples.
 */
export function percentileInterval(values: readonly number[], p: number, confidence = 0.95): PercentileInterval | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const tail = (1 - confidence) / 2;
  const cdf = binomialCdf(n, p / 100);
  /** P(B <= r - 1): the chance that x(r) lies above the true percentile. */
  const fewerThan = (r: number): number => (r <= 0 ? 0 : r > n ? 1 : cdf[r - 1]!);
  let lowRank = 0;
  for (let r = n; r >= 1; r--) {
    if (fewerThan(r) <= tail) {
      lowRank = r;
      break;
    }
  }
  let highRank = n + 1;
  for (let r = Math.max(1, lowRank); r <= n; r++) {
    if (fewerThan(r) >= 1 - tail) {
      highRank = r;
      break;
    }
  }
  const sorted = [...values].sort((a, b) => a - b);
  return {
    low: lowRank === 0 ? null : sorted[lowRank - 1]!,
    high: highRank > n ? null : sorted[highRank - 1]!,
    lowRank,
    highRank,
    coverage: fewerThan(highRank) - fewerThan(lowRank),
  };
}

/** P(B <= k) for k = 0..n, B ~ Binomial(n, q); terms in log space, so n of a few hundred thousand neither overflows nor underflows. */
function binomialCdf(n: number, q: number): Float64Array {
  const cdf = new Float64Array(n + 1);
  if (q <= 0) return cdf.fill(1);
  if (q >= 1) {
    cdf[n] = 1;
    return cdf;
  }
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const logNFact = logFactorial(n);
  let sum = 0;
  for (let k = 0; k <= n; k++) {
    sum += Math.exp(logNFact - logFactorial(k) - logFactorial(n - k) + k * logQ + (n - k) * log1mQ);
    cdf[k] = Math.min(1, sum);
  }
  return cdf;
}

/** ln(m!): exactly up to 20, Stirling's series beyond (error below 1e-12 there). */
function logFactorial(m: number): number {
  if (m < 2) return 0;
  if (m <= 20) {
    let f = 0;
    for (let i = 2; i <= m; i++) f += Math.log(i);
    return f;
  }
  return m * Math.log(m) - m + 0.5 * Math.log(2 * Math.PI * m) + 1 / (12 * m) - 1 / (360 * m ** 3) + 1 / (1260 * m ** 5);
}

/**
 * The nearest-rank `p`-th percentile of the groups at `indices` pooled (an index may repeat: a bootstrap draw), each
 * group sorted ascending. Exactly `exactPercentile` of the concatenation, without building it: the pool's k-th largest
 * sample is among each group's k largest, so only those are gathered (for a p99 of 20,000 samples, 201 a group).
 * Why: a bootstrap takes thousands of pooled percentiles, and sorting every pool took seconds.
 */
export function pooledPercentile(sortedGroups: readonly (readonly number[])[], indices: readonly number[], p: number): number {
  let n = 0;
  for (const i of indices) n += sortedGroups[i]!.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  const fromTop = n - rank + 1;
  const tails: number[] = [];
  for (const i of indices) {
    const g = sortedGroups[i]!;
    for (let j = Math.max(0, g.length - fromTop); j < g.length; j++) tails.push(g[j]!);
  }
  tails.sort((a, b) => a - b);
  return tails[tails.length - fromTop]!;
}

/**
 * `draws` resamplings of `clusters` whole clusters (runs, rounds) with replacement, each the drawn clusters' indices, from
 * the project's seeded generator: the same seed gives the same draws, so a re-run of the same samples gives the same
 * interval. Why whole clusters: within a run the slow samples come in bursts (a snapshot, a collection, a disk stall),
 * so samples are not independent and an interval that takes them so is too narrow (scripts/density-pool.mjs).
 */
export function clusterDraws(clusters: number, draws = 4_000, seed = 1): number[][] {
  const prng = createPrng(seed);
  const out: number[][] = [];
  for (let d = 0; d < draws; d++) {
    const indices: number[] = [];
    for (let i = 0; i < clusters; i++) indices.push(Math.floor(prng.next() * clusters));
    out.push(indices);
  }
  return out;
}

/** The central `confidence` interval of a bootstrap's statistics (nearest rank: 2.5th and 97.5th at 95 %). */
export function bootstrapInterval(statistics: readonly number[], confidence = 0.95): { low: number; high: number } {
  // Rounded: (1 - 0.95) / 2 * 100 is 2.5000000000000022 in floating point, which moves the nearest rank up by one.
  const tail = round(((1 - confidence) / 2) * 100, 9);
  return { low: exactPercentile(statistics, tail), high: exactPercentile(statistics, 100 - tail) };
}
