/**
 * `Disk.inBackground` as an actor sees it, in both runtimes: the end of each
 * operation arrives as a turn of the actor, in the order asked; what was
 * answered after its fsync's end survives a kill that loses unsynced writes,
 * and what was not yet done does not.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { SimulatedSystem } from './sim/sim-system.js';
import { ThreadedSystem } from './threaded/threaded-system.js';
import { backgroundCounter, type BackgroundCounterMsg } from './testing/fixtures.js';

async function getWhenBack(ask: () => Promise<unknown>): Promise<unknown> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      return await ask();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error('the counter did not come back after its kill');
}

describe('background disk operations in the simulated runtime', () => {
  /** Three increments in flight together, then a kill while a fourth's fsync is slow; the trace of the run. */
  async function scenario(seed: number): Promise<{ answers: unknown[]; completions: unknown; afterKill: unknown; hash: string }> {
    const sim = new SimulatedSystem({ seed });
    await sim.spawn(backgroundCounter, { name: 'c' });
    await sim.faults.disk('c', { loseUnsyncedOnCrash: true });
    const ref = sim.ref<BackgroundCounterMsg>('c');
    const answers = await sim.settle(Promise.all([1, 2, 3].map((n) => ref.ask({ type: 'inc', body: n }))));
    const completions = await sim.settle(ref.ask({ type: 'completions', body: null }));
    await sim.faults.disk('c', { fsyncDelayMs: 500 });
    const slow = ref.ask({ type: 'inc', body: 100 }, { timeoutMs: 60_000 }).catch((error: unknown) => error);
    await sim.runFor(100);
    await sim.faults.kill('c');
    await sim.runFor(1_000);
    assert.ok((await sim.settle(slow)) instanceof Error, 'the slow increment was never answered');
    const afterKill = await sim.settle(ref.ask({ type: 'get', body: null }));
    return { answers, completions, afterKill, hash: sim.traceHash() };
  }

  test('ends arrive as turns in the order asked, and a kill before the fsync ends loses its data', async () => {
    const run = await scenario(21);
    assert.deepEqual(run.answers, [1, 3, 6]);
    assert.deepEqual(run.completions, ['append 1', 'fsync 1', 'append 2', 'fsync 2', 'append 3', 'fsync 3']);
    assert.equal(run.afterKill, 6, 'the answered increments survived, the one whose fsync had not ended did not');
  });

  test('a run replays exactly from its seed', async () => {
    const first = await scenario(22);
    const second = await scenario(22);
    assert.equal(first.hash, second.hash);
  });
});

describe('background disk operations in threads', () => {
  let system: ThreadedSystem | undefined;
  afterEach(async () => {
    await system?.shutdown();
    system = undefined;
  });

  test('ends arrive in order; an answered increment survives a kill, one whose fsync had not ended does not', async () => {
    system = new ThreadedSystem({ seed: 23, logLevel: 'fatal' });
    await system.spawn(backgroundCounter, { name: 'c', supervision: { backoffMinMs: 5 } });
    await system.faults.disk('c', { loseUnsyncedOnCrash: true });
    const ref = system.ref<BackgroundCounterMsg>('c');
    assert.deepEqual(await Promise.all([1, 2, 3].map((n) => ref.ask({ type: 'inc', body: n }))), [1, 3, 6]);
    assert.deepEqual(await ref.ask({ type: 'completions', body: null }), ['append 1', 'fsync 1', 'append 2', 'fsync 2', 'append 3', 'fsync 3']);
    // Answered at once after its fsync's end, then killed: it must be there after the restart.
    assert.equal(await ref.ask({ type: 'inc', body: 10 }), 16);
    await system.faults.kill('c');
    assert.equal(await getWhenBack(() => ref.ask({ type: 'get', body: null }, { timeoutMs: 500 })), 16);
    // A slow disk: the thread is killed while the fsync is still to come.
    await system.faults.disk('c', { fsyncDelayMs: 3_000 });
    const slow = ref.ask({ type: 'inc', body: 100 }, { timeoutMs: 30_000 }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await system.faults.kill('c');
    assert.ok((await slow) instanceof Error, 'the slow increment was never answered');
    await system.faults.disk('c', { fsyncDelayMs: 0 });
    assert.equal(await getWhenBack(() => ref.ask({ type: 'get', body: null }, { timeoutMs: 500 })), 16);
  });
});
