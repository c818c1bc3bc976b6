import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProcessPhaseOutcome } from './client-process.js';
import { mergeOutcomes, processSpecs, splitOutstanding, type LoadSpec } from './processes.js';

const spec: LoadSpec = { kind: 'load', op: 'put', prefix: '/p/', outstanding: 64, durationMs: 1_000, valueBytes: 8, keyspace: 100 };

function outcome(startedAtMs: number, endedAtMs: number, ops: number, latenciesUs: number[], errors = 0, firstError?: string): ProcessPhaseOutcome {
  return { startedAtMs, endedAtMs, cpuUs: ops * 10, result: { ops, errors, firstError, elapsedMs: endedAtMs - startedAtMs, latenciesUs } };
}

describe('cross-process load', () => {
  test('the outstanding requests split as evenly as they can, every process with work', () => {
    assert.deepEqual(splitOutstanding(64, 1), [64]);
    assert.deepEqual(splitOutstanding(64, 8), [8, 8, 8, 8, 8, 8, 8, 8]);
    assert.deepEqual(splitOutstanding(10, 4), [3, 3, 2, 2]);
    assert.throws(() => splitOutstanding(2, 4), /cannot split 2 outstanding requests over 4 processes/);
    assert.throws(() => splitOutstanding(64, 0), /cannot split/);
  });

  test('every process records latencies; CAS workers get a prefix per process so no two processes contend for a key', () => {
    const puts = processSpecs(spec, 3);
    assert.deepEqual(puts.map((s) => s.outstanding), [22, 21, 21]);
    assert.ok(puts.every((s) => s.prefix === '/p/' && s.recordLatencies === true));
    const cas = processSpecs({ ...spec, op: 'cas' }, 2);
    assert.deepEqual(cas.map((s) => s.prefix), ['/p/p0/', '/p/p1/']);
  });

  test('merging adds the counts, takes throughput over the window from the first start to the last end, and keeps every sample', () => {
    const merged = mergeOutcomes([
      outcome(1_000, 2_000, 3_000, [100, 200, 300]),
      outcome(1_050, 2_500, 2_000, [400, 500], 2, 'Error: deadline'),
    ]);
    assert.equal(merged.processes, 2);
    assert.equal(merged.ops, 5_000);
    assert.equal(merged.errors, 2);
    assert.equal(merged.firstError, 'Error: deadline');
    assert.equal(merged.windowMs, 1_500);
    assert.equal(Math.round(merged.opsPerS), Math.round(5_000 / 1.5), 'not the sum of per-process rates (3,000 + 1,379): the late finisher stretches the window');
    assert.equal(merged.latencyUs.count, 5, 'no sample dropped');
    assert.equal(merged.clientCpuUs, 50_000, "the client processes' CPU adds up");
    assert.equal(merged.clientSyscalls, undefined, 'no system call counts unless every process had them');
    const counted = mergeOutcomes([
      { ...outcome(1_000, 2_000, 10, [1]), syscalls: { reads: 3, writes: 4 } },
      { ...outcome(1_000, 2_000, 10, [1]), syscalls: { reads: 5, writes: 6 } },
    ]);
    assert.deepEqual(counted.clientSyscalls, { reads: 8, writes: 10 });
    assert.equal(merged.latencyUs.max, 500);
    assert.equal(merged.latencyUs.p50, 300);
    assert.throws(() => mergeOutcomes([]), /no process reported/);
  });
});
