import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { clientBoundNote, p99IntervalNote, runKvBench, signedSummary, type KvBenchRow } from './run.js';
import { round } from '../lib/stats.js';
import { TINY_KV_BENCH, assertOurSideSane, crossProcessRowNames } from './test-support.js';
import { FailoverWriter, longestGapMs, makeValue, runPhase, type BenchClock, type BenchKv } from './workload.js';

describe('bench kv', () => {
  test('makeValue gives exactly the asked bytes and differs per sequence number', () => {
    assert.equal(makeValue(7, 256).length, 256);
    assert.equal(makeValue(123_456, 256).length, 256);
    assert.notEqual(makeValue(1, 256), makeValue(2, 256));
    assert.equal(makeValue(1, 1).length, 1);
  });

  test('an event that beats its put\'s acknowledgement stays a negative ack -> event sample, counted, never clamped to 0', async () => {
    let revision = 0;
    let onPut: ((key: string, revision: number) => void) | undefined;
    const kv = {
      // The store delivers the event before it acknowledges the put, as a leader's own watch may.
      put: async (key: string) => (onPut?.(key, ++revision), revision),
      watchPrefix: async (_prefix: string, f: (key: string, revision: number) => void) => ((onPut = f), () => (onPut = undefined)),
    } as unknown as BenchKv;
    let nowMs = 0;
    const clock: BenchClock = { nowMs: () => (nowMs += 0.25), sleep: async (ms) => void (nowMs += ms) };
    const watch = await runPhase(kv, clock, { kind: 'watchLatency', prefix: '/w/', count: 4, valueBytes: 8 });
    assert.equal(watch.ops, 4);
    assert.equal(watch.eventsBeforeAck, 4);
    assert.ok(watch.latenciesUs.every((us) => us < 0), `ack -> event kept negative: ${watch.latenciesUs}`);
    assert.ok(watch.sentToEventUs!.every((us) => us > 0), `sent -> event stays positive: ${watch.sentToEventUs}`);
    assert.ok(signedSummary(watch.latenciesUs).p99 < 0, 'the summary keeps the sign the histogram would floor');
  });

  test('the note names each side whose figure was its client\'s ceiling, and nothing when none was or none was judged', () => {
    const row = (clientBound?: KvBenchRow['clientBound']): KvBenchRow => ({ name: 'put throughput, 64 outstanding', ours: 1, etcd: 1, ratio: 1, unit: 'ops/s', better: 'higher', clientBound });
    assert.equal(clientBoundNote(row({ ours: null, etcd: true })), '; CLIENT-BOUND: etcd');
    assert.equal(clientBoundNote(row({ ours: true, etcd: true })), '; CLIENT-BOUND: kubethreads, etcd');
    assert.equal(clientBoundNote(row({ ours: false, etcd: null })), '');
    assert.equal(clientBoundNote(row(undefined)), '');
  });

  test('the longest gap is the widest space between consecutive acknowledgements', () => {
    assert.equal(longestGapMs([]), 0);
    assert.equal(longestGapMs([5]), 0);
    assert.equal(longestGapMs([0, 1, 2, 1_002, 1_003]), 1_000);
  });

  test('the workload on a toy store: phases count what they did, CAS swaps every time, a missing key is an error', async () => {
    let nowMs = 0;
    const data = new Map<string, string>();
    let revision = 0;
    const watchers: Array<{ prefix: string; onPut: (key: string, revision: number) => void }> = [];
    /** The clock's reading (not advanced) when each put reached the store. */
    const putAtMs: number[] = [];
    const kv: BenchKv = {
      put: async (key, value) => {
        putAtMs.push(nowMs);
        data.set(key, value);
        revision++;
        const rev = revision;
        // Delivered a turn later, as a real watch would.
        void Promise.resolve().then(() => watchers.filter((w) => key.startsWith(w.prefix)).forEach((w) => w.onPut(key, rev)));
        return rev;
      },
      get: async (key) => data.get(key) ?? null,
      cas: async (key, expected, value) => {
        if (data.get(key) !== expected) return false;
        data.set(key, value);
        return true;
      },
      watchPrefix: async (prefix, onPut) => {
        const w = { prefix, onPut };
        watchers.push(w);
        return () => watchers.splice(watchers.indexOf(w), 1);
      },
      cleanup: async (prefix) => {
        for (const key of [...data.keys()]) if (key.startsWith(prefix)) data.delete(key);
      },
    };
    const clock: BenchClock = { nowMs: () => (nowMs += 0.25), sleep: async (ms) => void (nowMs += ms) };

    const seq = await runPhase(kv, clock, { kind: 'sequentialPuts', prefix: '/s/', count: 10, valueBytes: 32 });
    assert.equal(seq.ops, 10);
    assert.equal(seq.latenciesUs.length, 10);
    // Each put's send time, beside its latency: read just before the put reached the store, not after its answer.
    assert.deepEqual(seq.startsMs, putAtMs.slice(-10));
    assert.ok([...data.values()].every((v) => v.length === 32));

    const cas = await runPhase(kv, clock, { kind: 'load', op: 'cas', prefix: '/c/', outstanding: 4, durationMs: 20, valueBytes: 32, keyspace: 4 });
    assert.ok(cas.ops > 0);
    assert.equal(cas.casFailed, 0);
    assert.equal(cas.errors, 0);

    const missing = await runPhase(kv, clock, { kind: 'load', op: 'get', prefix: '/absent/', outstanding: 2, durationMs: 5, valueBytes: 32, keyspace: 3 });
    assert.equal(missing.ops, 0);
    assert.ok(missing.errors > 0 && /reads as absent/.test(missing.firstError ?? ''), 'a get of a populated key that reads absent is an error');

    const watch = await runPhase(kv, clock, { kind: 'watchLatency', prefix: '/w/', count: 5, valueBytes: 32 });
    assert.equal(watch.ops, 5);
    assert.equal(watch.errors, 0);
    assert.equal(watch.sentToEventUs?.length, 5);
    assert.equal(watchers.length, 0, 'the phase cancels its watch');

    await runPhase(kv, clock, { kind: 'cleanup', prefix: '/s/' });
    assert.ok(![...data.keys()].some((k) => k.startsWith('/s/')));

    // The toy store never yields to the event loop: stop at once, the writer runs while the stop waits.
    const writer = new FailoverWriter(kv, clock, '/f/', 16);
    const w = await writer.stopAfterResume(0, 3, 1_000);
    assert.ok(w.resumed && w.acksMs.length >= 3 && w.errors === 0);
  });

  test('a tiny run of kubethreads alone returns every row, etcd left out, temporary directories removed', async () => {
    // A temporary directory of this test's own: another benchmark running meanwhile leaves its directories in /tmp.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-bench-kv-test-'));
    const savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const { result, table } = await runKvBench({ ...TINY_KV_BENCH, etcd: 'never' });
      assertOurSideSane(result, TINY_KV_BENCH);
      for (const row of result.rows) {
        assert.equal(row.etcd, null);
        assert.equal(row.ratio, null);
      }
      assert.equal(result.etcdDetails, null);
      assert.match(table, /lower is better/);
      assert.match(table, /higher is better/);
      assert.deepEqual(fs.readdirSync(tmp), [], 'the WAL directories are removed');
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('--only failover runs the leader kills at both timings and reports only the failover rows, each kill listed', async () => {
    const { result, table } = await runKvBench({ ...TINY_KV_BENCH, etcd: 'never', only: 'failover' });
    assert.deepEqual(
      result.rows.map((r) => r.name.replace(/, election \d+-\d+ ms/, ', fast')),
      [
        'failover: time to a new leader (median of kills)', 'failover: time to a new leader (p90 of kills)',
        'failover: longest gap between acked writes (median of kills)', 'failover: longest gap between acked writes (p90 of kills)',
        'failover, fast: time to a new leader (median of kills)', 'failover, fast: time to a new leader (p90 of kills)',
        'failover, fast: longest gap between acked writes (median of kills)', 'failover, fast: longest gap between acked writes (p90 of kills)',
      ],
    );
    assert.equal(result.ours.failover.length, 1);
    assert.equal(result.ours.failoverFast.length, 1);
    for (const kill of [...result.ours.failover, ...result.ours.failoverFast]) {
      assert.ok(kill.resumed, 'writes resumed after the kill');
      assert.ok(kill.timeToLeaderMs > 0 && kill.longestGapMs > 0);
    }
    assert.match(table, /kills, ms to leader\/gap: \d+\/\d+; fast-election kills: \d+\/\d+/);
  });

  test('--only sequential runs warm-up then rounds of our side alone, pooled, the two sequential rows only, every put a sample', async () => {
    const { result, table } = await runKvBench({ ...TINY_KV_BENCH, etcd: 'never', only: 'sequential', rounds: 3 });
    assert.deepEqual(result.rows.map((r) => r.name), ['sequential put latency p50', 'sequential put latency p99']);
    const rounds = result.sequentialRounds;
    assert.ok(rounds !== undefined);
    assert.deepEqual(rounds.order, ['kubethreads', 'kubethreads', 'kubethreads']);
    assert.equal(rounds.etcd, null);
    assert.equal(rounds.ours.rounds.length, 3);
    for (const r of rounds.ours.rounds) assert.deepEqual([r.count, r.errors, r.latenciesUs.length], [TINY_KV_BENCH.sequentialOps, 0, TINY_KV_BENCH.sequentialOps]);
    assert.equal(result.ours.putLatencyUs.count, 3 * TINY_KV_BENCH.sequentialOps, 'the row pools every round');
    assert.equal(result.rows[1]!.ours, round(rounds.ours.pooled.p99Us / 1000, 3), 'the p99 row is the pooled p99');
    assert.equal(result.options.rounds, 3);
    assert.deepEqual([result.ours.failover, result.ours.acrossProcesses], [[], null]);
    assert.match(table, /kubethreads rounds \(run position: p50\/p99 ms\): #0 [\d.]+\/[\d.]+, #1 [\d.]+\/[\d.]+, #2 /);
    assert.match(table, /etcd not run/);
  });

  test('--only processes runs the cross-process rows alone, every step answered, and no leader killed', async () => {
    const { result, table } = await runKvBench({ ...TINY_KV_BENCH, etcd: 'never', only: 'processes' });
    assert.deepEqual(result.rows.map((r) => r.name), crossProcessRowNames(TINY_KV_BENCH.outstanding, TINY_KV_BENCH.outstandingHigh, TINY_KV_BENCH.clientProcessesMax));
    for (const row of result.rows) assert.ok(row.ours > 0, `${row.name}: ${row.ours}`);
    const scaling = result.ours.acrossProcesses;
    assert.ok(scaling !== null);
    for (const [op, sc] of Object.entries(scaling)) assert.ok(sc.steps.every((st) => st.errors === 0 && st.ops > 0), `${op}: ${JSON.stringify(sc.steps)}`);
    assert.deepEqual([result.ours.failover, result.ours.failoverFast], [[], []]);
    assert.equal(result.ours.putLatencyUs.count, 0, 'no sequential-put rows were measured');
    assert.match(table, /kubethreads from etcd3 client processes/);
  });
});

test('the sequential put p99 row says whether the two sides\' 95 % intervals tell them apart', () => {
  const ci = (low: number | null, high: number | null) => ({ low, high, coverage: 0.95 });
  assert.equal(p99IntervalNote(ci(3_000, 4_000), ci(4_500, 6_000)), '; p99\'s 95 % CI ours 3-4 ms, etcd 4.5-6 ms: ours lower, told apart');
  assert.equal(p99IntervalNote(ci(5_000, 7_000), ci(2_000, 4_990)), '; p99\'s 95 % CI ours 5-7 ms, etcd 2-4.99 ms: etcd lower, told apart');
  assert.match(p99IntervalNote(ci(3_000, 5_000), ci(4_500, 6_000)), /they overlap: not told apart/);
  // An interval open above never lies wholly below the other.
  assert.match(p99IntervalNote(ci(3_000, null), ci(9_000, 9_500)), /ours 3-beyond the slowest ms.*not told apart/);
  assert.equal(p99IntervalNote(ci(1_000, 2_000), undefined), '; p99\'s 95 % CI 1-2 ms');
  assert.equal(p99IntervalNote(null, ci(1, 2)), '');
});
