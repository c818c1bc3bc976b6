import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CrossProcessResult } from './processes.js';
import { describeScaling, isClientBound, processCounts, scaleUntilSaturated } from './scaling.js';

function step(processes: number, opsPerS: number): CrossProcessResult {
  return { processes, opsPerS, ops: opsPerS, errors: 0, windowMs: 1_000, clientCpuUs: 0, latencyUs: { p50: 1, p90: 2, p99: 3, max: 4, count: opsPerS } };
}

/** A store whose throughput is the client's until `limit`: each process adds `perClient`. */
function store(perClient: number, limit: number): { run: (p: number) => Promise<CrossProcessResult>; asked: number[] } {
  const asked: number[] = [];
  return { asked, run: async (p) => (asked.push(p), step(p, Math.min(limit, p * perClient))) };
}

describe('client process scaling', () => {
  test('process counts double up to the cap, and the cap itself is always tried', () => {
    assert.deepEqual(processCounts(1), [1]);
    assert.deepEqual(processCounts(8), [1, 2, 4, 8]);
    assert.deepEqual(processCounts(6), [1, 2, 4, 6]);
    assert.throws(() => processCounts(0), /positive integer/);
  });

  test('doubling stops once it gains under 10 %: the store, not the client, is then the limit', async () => {
    const s = store(2_000, 4_200);
    const scaling = await scaleUntilSaturated(s.run, 8);
    assert.deepEqual(s.asked, [1, 2, 4], 'four processes gained 5 % over two, so eight were not tried');
    assert.equal(scaling.saturated, true);
    assert.equal(scaling.best.opsPerS, 4_200);
    assert.equal(scaling.steps[0]!.opsPerS, 2_000, 'the first step is the single-client ceiling');
  });

  test('a store still rising at the cap is not called saturated', async () => {
    const s = store(1_000, 1_000_000);
    const scaling = await scaleUntilSaturated(s.run, 4);
    assert.deepEqual(s.asked, [1, 2, 4]);
    assert.equal(scaling.saturated, false);
    assert.match(describeScaling(scaling), /^1p 1,000 · 2p 2,000 · 4p 4,000 ops\/s \(still rising at 4 processes\)$/);
  });

  test('a step that falls back under the best so far ends the scaling, and the best step is kept', async () => {
    const figures: Record<number, number> = { 1: 3_000, 2: 4_000, 4: 3_500 };
    const scaling = await scaleUntilSaturated(async (p) => step(p, figures[p]!), 8);
    assert.equal(scaling.steps.length, 3);
    assert.equal(scaling.best.processes, 2);
    assert.equal(scaling.saturated, true);
  });

  test('a figure is client-bound when more client processes did at least 10 % better', async () => {
    const scaling = await scaleUntilSaturated(store(2_000, 4_200).run, 8);
    assert.equal(isClientBound(2_000, scaling), true, 'one client at 2,000 against 4,200 from four');
    assert.equal(isClientBound(4_000, scaling), false, 'within 10 % of the saturated figure');
    assert.equal(isClientBound(5_000, scaling), false);
  });
});
