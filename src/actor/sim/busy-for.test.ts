/**
 * `ActorContext.busyFor`: CPU work charged to the simulated clock. A turn takes no virtual time
 * otherwise, so a long apply could never be seen to hold an actor's timers (issue 22's drain test).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineBehaviour, unhandled } from '../behaviour.js';
import type { Message } from '../protocol.js';
import { SimulatedSystem } from './sim-system.js';

type WorkerMsg = Message<'work', number> | Message<'fired', null> | Message<'firedAt', null>;

const worker = defineBehaviour<WorkerMsg>(import.meta.url, 'busy-for-worker', (ctx) => {
  let firedAtMs: number | undefined;
  return {
    receive(msg) {
      switch (msg.type) {
        case 'work':
          // A timer due in 10 ms, then work that takes msg.body ms.
          const startMs = ctx.now();
          ctx.timer('t', 10, { type: 'fired', body: null });
          ctx.busyFor(msg.body);
          return startMs;
        case 'fired':
          firedAtMs = ctx.now();
          return undefined;
        case 'firedAt':
          return firedAtMs;
        default:
          return unhandled;
      }
    },
  };
});

async function timerFiredAfter(workMs: number): Promise<{ startMs: number; firedAtMs: number }> {
  const sim = new SimulatedSystem({ seed: 1 });
  await sim.spawn(worker, { name: 'w' });
  const ref = sim.ref<WorkerMsg>('w');
  const startMs = await sim.settle(ref.ask<number>({ type: 'work', body: workMs }));
  await sim.runFor(200);
  const firedAtMs = await sim.settle(ref.ask<number>({ type: 'firedAt', body: null }));
  await sim.shutdown();
  return { startMs, firedAtMs };
}

describe('ActorContext.busyFor in the simulated runtime', () => {
  test('a timer that falls due while the actor is busy runs when the work is done', async () => {
    const { startMs, firedAtMs } = await timerFiredAfter(50);
    assert.equal(firedAtMs - startMs, 50);
  });

  test('without work the timer runs on time', async () => {
    const { startMs, firedAtMs } = await timerFiredAfter(0);
    assert.equal(firedAtMs - startMs, 10);
  });
});
