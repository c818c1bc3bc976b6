import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem } from './sim/sim-system.js';
import { ticking, type TickingMsg } from './testing/fixtures.js';
import { defineBehaviour, type Behaviour } from './behaviour.js';
import { ActorCell, AskRegistry, type CellHost } from './cell.js';
import { MemoryDisk } from './disk.js';
import { ActorUnavailableError, toErrorValue } from './errors.js';
import { createLogger } from './log.js';
import { Prng } from './prng.js';
import { REPLY_TYPE, type Envelope, type Message } from './protocol.js';

const PERIOD_MS = 100;
const TICKS = 50;
/** Each fsync of the busy actor costs this much virtual time: ticks fall due while it is busy. */
const FSYNC_DELAY_MS = 30;

interface TickLog {
  startedAtMs: number;
  tickTimesMs: number[];
}

/** A ticking actor kept busy by a slow fsync every 40 ms, run for TICKS periods (and half one more). */
async function busyTicker(mode: 'ticker' | 'rearm'): Promise<{ log: TickLog; sim: SimulatedSystem }> {
  const sim = new SimulatedSystem({ seed: 11 });
  await sim.spawn(ticking, { name: 't', args: { periodMs: PERIOD_MS, mode, workEveryMs: 40 } });
  await sim.faults.disk('t', { fsyncDelayMs: FSYNC_DELAY_MS });
  await sim.runFor(TICKS * PERIOD_MS + PERIOD_MS / 2);
  const log = await sim.settle(sim.ref<TickingMsg>('t').ask<TickLog>({ type: 'ticks', body: null }));
  return { log, sim };
}

describe('fixed-rate ticker', () => {
  test('N ticks fire within N periods of virtual time while slow fsyncs keep the actor busy', async () => {
    const { log } = await busyTicker('ticker');
    assert.equal(log.tickTimesMs.length, TICKS);
    log.tickTimesMs.forEach((atMs, i) => {
      const dueMs = log.startedAtMs + (i + 1) * PERIOD_MS;
      // Late by at most the fsync in progress when it fell due, never early, never carried over to the next.
      assert.ok(atMs >= dueMs && atMs <= dueMs + FSYNC_DELAY_MS, `tick ${i + 1} at +${atMs - log.startedAtMs} ms, due at +${dueMs - log.startedAtMs} ms`);
    });
  });

  test('a timer re-armed from its own handler drifts under the same load (what the ticker replaces)', async () => {
    const { log } = await busyTicker('rearm');
    assert.ok(log.tickTimesMs.length < TICKS, `re-armed ticks kept pace (${log.tickTimesMs.length}): the busy actor no longer delays timers in the simulation`);
  });

  test('ticks that fall due while the actor is paused are dropped, not burst: one waits, the schedule stays on its grid', async () => {
    const sim = new SimulatedSystem({ seed: 12 });
    await sim.spawn(ticking, { name: 't', args: { periodMs: PERIOD_MS, mode: 'ticker' } });
    await sim.runFor(3 * PERIOD_MS + PERIOD_MS / 2);
    await sim.faults.pause('t');
    await sim.runFor(10 * PERIOD_MS);
    const resumedAtMs = sim.now();
    await sim.faults.resume('t');
    await sim.runFor(3 * PERIOD_MS);
    const log = await sim.settle(sim.ref<TickingMsg>('t').ask<TickLog>({ type: 'ticks', body: null }));
    const afterPause = log.tickTimesMs.filter((t) => t >= resumedAtMs);
    assert.equal(log.tickTimesMs.length - afterPause.length, 3, 'three ticks before the pause');
    assert.equal(afterPause.filter((t) => t === resumedAtMs).length, 1, 'exactly one tick waited through the pause');
    for (const t of afterPause.slice(1)) assert.equal((t - log.startedAtMs) % PERIOD_MS, 0, 'later ticks stay on the grid');
    const { actors } = await sim.inspect();
    assert.equal(actors.find((a) => a.name === 't')?.ticksDropped, 9, 'ten ticks fell due during the pause; nine were dropped');
  });

  test('a clock-offset fault moves the actor\'s now(), not its ticks', async () => {
    const sim = new SimulatedSystem({ seed: 13 });
    await sim.spawn(ticking, { name: 't', args: { periodMs: PERIOD_MS, mode: 'ticker' } });
    await sim.runFor(3 * PERIOD_MS + PERIOD_MS / 2);
    await sim.faults.clockOffset('t', -10_000);
    await sim.runFor(10 * PERIOD_MS);
    const log = await sim.settle(sim.ref<TickingMsg>('t').ask<TickLog>({ type: 'ticks', body: null }));
    assert.equal(log.tickTimesMs.length, 13, 'ticks went on at the same rate after the clock was set back 10 s');
  });
});

describe('an incarnation that ends with asks it has not answered', () => {
  test('answers each of them, to its own asker and correlation, with ActorUnavailableError', () => {
    const routed: Envelope[] = [];
    const host = {
      seed: 1,
      now: () => 0,
      route: (envelope: Envelope) => void routed.push(envelope),
      schedule: () => () => undefined,
      asks: new AskRegistry(() => () => undefined),
    } as unknown as CellHost;
    const cell = new ActorCell('slow', host, new MemoryDisk(), createLogger({ level: 'silent' }), new Prng(1));
    // Every ask is handled asynchronously and never finishes: all stay open until the cell ends.
    cell.start(defineBehaviour<Message<'wait', null>>(import.meta.url, 'never-answers', () => ({ receive: () => new Promise<never>(() => undefined) })) as unknown as Behaviour, undefined);
    cell.deliver({ to: 'slow', from: 'x', type: 'wait', corr: 7, body: null });
    cell.deliver({ to: 'slow', from: 'y', type: 'wait', corr: 9, body: null });
    cell.deliver({ to: 'slow', from: 'x', type: 'wait', corr: 0, body: null });
    cell.halt('stopped');
    assert.deepEqual(routed.map((e) => [e.to, e.from, e.type, e.corr]), [['x', 'slow', REPLY_TYPE, 7], ['y', 'slow', REPLY_TYPE, 9]]);
    for (const e of routed) assert.deepEqual(e.body, { ok: false, error: toErrorValue(new ActorUnavailableError('slow', 'stopped')) });
    // Nothing is owed any more: a second end sends nothing.
    cell.halt('crashed');
    assert.equal(routed.length, 2);
  });
});
