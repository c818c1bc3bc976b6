/**
 * The percentile's confidence interval: the ranks match an exact computation (Python's fractions and
 * math.comb, by hand, not this code), and on data drawn from a known distribution the interval holds the
 * true percentile as often as it claims.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPrng } from '../../src/chaos/linearizability/random-history.js';
import { bootstrapInterval, clusterDraws, exactPercentile, percentileInterval, pooledPercentile } from './stats.js';

const ascending = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('the p99 of 300 samples is bounded below by the 293rd and not at all above: its interval runs past the slowest sample', () => {
  const interval = percentileInterval(ascending(300), 99)!;
  assert.deepEqual([interval.lowRank, interval.highRank, interval.low, interval.high], [293, 301, 293, null]);
  assert.ok(Math.abs(interval.coverage - 0.98853) < 1e-4, `coverage ${interval.coverage}`);
});

test('the ranks of the interval match an exact binomial computation for small and large sample counts', () => {
  // [n, p, lowRank, highRank, coverage], computed with exact rational arithmetic.
  const expected: Array<[number, number, number, number, number]> = [
    [300, 50, 133, 168, 0.95687],
    [32, 99, 30, 33, 0.99601],
    [1000, 99, 983, 997, 0.97609],
    [3000, 99, 2959, 2981, 0.95707],
    [10, 50, 2, 9, 0.97852],
  ];
  for (const [n, p, low, high, coverage] of expected) {
    const interval = percentileInterval(ascending(n), p)!;
    assert.deepEqual([interval.lowRank, interval.highRank], [low, high], `n ${n}, p${p}`);
    assert.ok(Math.abs(interval.coverage - coverage) < 1e-4, `n ${n}, p${p}: coverage ${interval.coverage}, expected ${coverage}`);
  }
});

test('with too few samples for either bound both ends are open and the coverage is whole', () => {
  const interval = percentileInterval([5, 1, 4, 2, 3], 50)!;
  assert.deepEqual(interval, { low: null, high: null, lowRank: 0, highRank: 6, coverage: 1 });
  assert.equal(percentileInterval([], 99), undefined);
});

test('the interval is read off the sorted samples and holds the nearest-rank percentile', () => {
  const samples = [900, 12, 450, 3_000, 75, 31, 2_200, 640, 18, 1_100, 260, 87];
  const interval = percentileInterval(samples, 50)!;
  const sorted = [...samples].sort((a, b) => a - b);
  assert.equal(interval.low, sorted[interval.lowRank - 1]);
  assert.equal(interval.high, sorted[interval.highRank - 1]);
  const median = exactPercentile(samples, 50);
  assert.ok(interval.low! <= median && median <= interval.high!, `${median} outside [${interval.low}, ${interval.high}]`);
});

test('on exponential samples the interval holds the true p99 as often as its coverage says (4,000 draws of 600)', () => {
  // A fixed generator, so the test is the same every run.
  const prng = createPrng(0x9e3779b9);
  const uniform = (): number => prng.next();
  const trueP99 = -Math.log(0.01);
  const draws = 4_000;
  let held = 0;
  let claimed = 0;
  for (let d = 0; d < draws; d++) {
    const samples = Array.from({ length: 600 }, () => -Math.log(1 - uniform()));
    const interval = percentileInterval(samples, 99)!;
    claimed = interval.coverage;
    if ((interval.low ?? -Infinity) <= trueP99 && trueP99 < (interval.high ?? Infinity)) held++;
  }
  // Binomial(4000, ~0.96) has a standard deviation of ~0.003: 0.015 is five of them.
  assert.ok(claimed >= 0.95, `claimed coverage ${claimed}`);
  assert.ok(Math.abs(held / draws - claimed) < 0.015, `held the true p99 in ${held} of ${draws} (${(held / draws).toFixed(3)}), claimed ${claimed.toFixed(3)}`);
});

test('a pooled percentile of resampled groups is exactly the percentile of the groups concatenated, repeats included', () => {
  const prng = createPrng(7);
  const groups = Array.from({ length: 6 }, (_, g) => Array.from({ length: 50 + g * 37 }, () => Math.round(prng.next() * 1_000) + (prng.next() < 0.02 ? 50_000 : 0)));
  const sorted = groups.map((g) => [...g].sort((a, b) => a - b));
  for (const indices of [[0], [5, 5, 5], [0, 1, 2, 3, 4, 5], [3, 1, 3, 0, 2, 2], ...clusterDraws(6, 50, 3)]) {
    const pooled = indices.flatMap((i) => groups[i]!);
    for (const p of [1, 50, 90, 99, 99.9, 100]) assert.equal(pooledPercentile(sorted, indices, p), exactPercentile(pooled, p), `${indices} p${p}`);
  }
  assert.ok(Number.isNaN(pooledPercentile([[]], [0], 99)));
});

test('cluster draws are the seeded generator\'s, the same for the same seed, and the interval takes the central share', () => {
  assert.deepEqual(clusterDraws(4, 3, 1), clusterDraws(4, 3, 1));
  assert.notDeepEqual(clusterDraws(4, 20, 1), clusterDraws(4, 20, 2));
  const prng = createPrng(1);
  assert.deepEqual(clusterDraws(3, 1, 1)[0], [0, 1, 2].map(() => Math.floor(prng.next() * 3)));
  assert.deepEqual(bootstrapInterval(ascending(1_000)), { low: 25, high: 975 });
});
