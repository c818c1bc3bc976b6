/**
 * `bench kv --only sequential` without a cluster: sides that answer from a script, so the order of the rounds, the
 * samples kept and the verdict are checked in milliseconds (the real runs are in run.test.ts and etcd.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPrng } from '../../src/chaos/linearizability/random-history.js';
import { MIN_ROUNDS_FOR_VERDICT, ROUNDS_PREFIX, roundOrder, runSequentialRounds, sequentialVerdict, summarizeRounds, type RoundSide, type SequentialRound } from './rounds.js';
import type { BenchSide } from './side.js';
import type { PhaseResult, PhaseSpec } from './workload.js';

test('the rounds run ours, etcd, etcd, ours, ours, etcd ...: each adjacent pair one round of each side', () => {
  const k = 'kubethreads';
  const e = 'etcd';
  assert.deepEqual(roundOrder(1, true), [k, e]);
  assert.deepEqual(roundOrder(3, true), [k, e, e, k, k, e]);
  assert.deepEqual(roundOrder(4, true), [k, e, e, k, k, e, e, k]);
  assert.deepEqual(roundOrder(2, false), [k, k]);
  const order = roundOrder(10, true);
  for (let j = 0; j < 10; j++) assert.notEqual(order[2 * j], order[2 * j + 1], `pair ${j}`);
});

/** A side that records every phase asked of it into `log` and answers a round with latencies that name it. */
function scriptedSide(label: RoundSide, log: string[], errorsAt: Map<string, number>): BenchSide {
  const runPhase = async (spec: PhaseSpec): Promise<PhaseResult> => {
    log.push(`${label} ${spec.kind} ${spec.prefix}`);
    if (spec.kind !== 'sequentialPuts') return { ops: 1, errors: 0, elapsedMs: 1, latenciesUs: [] };
    const position = Number(/r(\d+)\/$/.exec(spec.prefix)![1]);
    const errors = errorsAt.get(spec.prefix) ?? 0;
    // Latencies that say which round they came from (position * 10,000 + n), so a sample moved or lost shows.
    const latenciesUs = Array.from({ length: spec.count - errors }, (_, n) => position * 10_000 + n + 1);
    return { ops: latenciesUs.length, errors, ...(errors > 0 ? { firstError: 'timed out' } : {}), elapsedMs: 1, latenciesUs };
  };
  const never = () => Promise.reject(new Error('not used by the rounds'));
  return { label, runPhase, writerStart: never, writerStop: never, leader: never, kill: never, waitNewLeader: never, grpcEndpoint: never, waitHealthy: never, close: async () => undefined };
}

test('the rounds are run in the stated order, each on keys of its own, every sample kept, and the keys removed once after', async () => {
  const log: string[] = [];
  const errorsAt = new Map([[`${ROUNDS_PREFIX}r2/`, 3]]);
  const result = await runSequentialRounds({ ours: scriptedSide('kubethreads', log, errorsAt), etcd: scriptedSide('etcd', log, errorsAt) }, { roundsPerSide: 3, sequentialOps: 50, valueBytes: 8 });
  assert.deepEqual(log, [
    ...roundOrder(3, true).map((side, position) => `${side} sequentialPuts ${ROUNDS_PREFIX}r${position}/`),
    `kubethreads cleanup ${ROUNDS_PREFIX}`, `etcd cleanup ${ROUNDS_PREFIX}`,
  ]);
  assert.deepEqual(result.order, roundOrder(3, true));
  assert.deepEqual(result.ours.rounds.map((r) => r.position), [0, 3, 4]);
  assert.deepEqual(result.etcd!.rounds.map((r) => r.position), [1, 2, 5]);
  for (const side of [result.ours, result.etcd!]) {
    for (const r of side.rounds) {
      assert.equal(r.count + r.errors, 50, `round ${r.position}: puts acknowledged and failed add up to the round`);
      assert.equal(r.latenciesUs.length, r.count);
      assert.ok(r.latenciesUs.every((us) => Math.floor(us / 10_000) === r.position), `round ${r.position} holds its own samples only`);
    }
    assert.equal(side.pooled.count, side.rounds.reduce((sum, r) => sum + r.count, 0), 'the pool is every round\'s samples');
  }
  assert.equal(result.ours.pooled.count, 150);
  assert.equal(result.etcd!.pooled.count, 147, 'the 3 failed puts of etcd\'s round at position 2 are not samples');
  assert.equal(result.etcd!.rounds[1]!.errors, 3);
  assert.equal(result.verdict, null, `3 rounds a side, under ${MIN_ROUNDS_FOR_VERDICT}: no verdict`);
  assert.ok(result.p99RatioRoundsResampled !== null, 'the interval is still given');
});

test('our rounds alone: no etcd column, no ratio, no verdict, every round ours', async () => {
  const log: string[] = [];
  const result = await runSequentialRounds({ ours: scriptedSide('kubethreads', log, new Map()), etcd: null }, { roundsPerSide: 2, sequentialOps: 10, valueBytes: 8 });
  assert.deepEqual(log, [`kubethreads sequentialPuts ${ROUNDS_PREFIX}r0/`, `kubethreads sequentialPuts ${ROUNDS_PREFIX}r1/`, `kubethreads cleanup ${ROUNDS_PREFIX}`]);
  assert.equal(result.etcd, null);
  assert.equal(result.p99Ratio, null);
  assert.equal(result.verdict, null);
  assert.ok(result.ours.pooled.p99RoundsResampledUs !== null);
});

test('the verdict: ahead or behind only when the ratio\'s whole interval lies on one side of 1, and only from enough rounds', () => {
  assert.equal(sequentialVerdict({ low: 0.7, high: 0.95 }, 10), 'ahead');
  assert.equal(sequentialVerdict({ low: 1.02, high: 1.4 }, 10), 'behind');
  assert.equal(sequentialVerdict({ low: 0.8, high: 1.2 }, 10), 'not told apart');
  assert.equal(sequentialVerdict({ low: 0.8, high: 1 }, 10), 'not told apart', 'an interval reaching 1 does not exclude a tie');
  assert.equal(sequentialVerdict({ low: 1, high: 1.3 }, 10), 'not told apart');
  assert.equal(sequentialVerdict({ low: 0.7, high: 0.95 }, MIN_ROUNDS_FOR_VERDICT - 1), null);
  assert.equal(sequentialVerdict({ low: 0.7, high: 0.95 }, MIN_ROUNDS_FOR_VERDICT), 'ahead');
  assert.equal(sequentialVerdict(null, 10), null);
});

/** `rounds` rounds of `n` samples, mostly near `p50Us` with a 2 % tail near `tailUs` (a disk stall). */
function syntheticRounds(seed: number, rounds: number, n: number, p50Us: number, tailUs: number): SequentialRound[] {
  const prng = createPrng(seed);
  return Array.from({ length: rounds }, (_, position) => {
    const latenciesUs = Array.from({ length: n }, () => (prng.next() < 0.02 ? tailUs * (0.8 + 0.4 * prng.next()) : p50Us * (0.7 + 0.6 * prng.next())));
    return { position, count: n, errors: 0, p50Us: 0, p99Us: 0, latenciesUs };
  });
}

test('from rounds: a clearly lower tail is ahead, a clearly higher one behind, the same distribution not told apart', () => {
  const order = roundOrder(10, true);
  const summarize = (oursTailUs: number, etcdTailUs: number, seed: number) =>
    summarizeRounds(order, { ours: syntheticRounds(seed, 10, 1_000, 1_000, oursTailUs), etcd: syntheticRounds(seed + 100, 10, 1_000, 1_600, etcdTailUs) });
  const ahead = summarize(3_000, 6_000, 1);
  assert.equal(ahead.verdict, 'ahead', JSON.stringify(ahead.p99RatioRoundsResampled));
  assert.ok(ahead.p99Ratio! > ahead.p99RatioRoundsResampled!.low && ahead.p99Ratio! < ahead.p99RatioRoundsResampled!.high);
  assert.equal(summarize(6_000, 3_000, 2).verdict, 'behind');
  assert.equal(summarize(5_000, 5_000, 3).verdict, 'not told apart');
  // The pooled figures are the pool's own: every sample of every round in them.
  assert.equal(ahead.ours.pooled.count, 10_000);
  const again = summarize(3_000, 6_000, 1);
  assert.deepEqual(again.p99RatioRoundsResampled, ahead.p99RatioRoundsResampled, 'seeded: the same samples give the same interval');
});

test('the pairs are resampled together: a drift of the machine shared by the two rounds of a pair does not hide a steady lead', () => {
  // Each pair's tail set by the machine at the time (2-20 ms) and the two rounds of a pair alike in shape, ours 0.8x
  // etcd's put by put (the extreme of what pairing is for): resampled apart, the drift between pairs swamps the lead;
  // resampled as pairs, the lead stands.
  const drift = [2_000, 20_000, 5_000, 12_000, 3_000, 16_000, 8_000, 4_000, 18_000, 6_000];
  const side = (scale: number) => drift.flatMap((tailUs, j) => syntheticRounds(10 + j, 1, 1_000, 1_000 * scale, tailUs * scale).map((r) => ({ ...r, position: j })));
  const result = summarizeRounds(roundOrder(10, true), { ours: side(0.8), etcd: side(1) });
  assert.ok(result.p99RatioRoundsResampled!.high < 0.9, JSON.stringify(result.p99RatioRoundsResampled));
  assert.equal(result.verdict, 'ahead');
  // Each side's own interval spans the drift: the two overlap, which alone would not have told them apart.
  assert.ok(result.ours.pooled.p99RoundsResampledUs!.high > result.etcd!.pooled.p99RoundsResampledUs!.low);
});
