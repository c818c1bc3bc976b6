import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SimulatedSystem } from './sim/sim-system.js';
import { ThreadedSystem } from './threaded/threaded-system.js';
import { echo, type EchoMsg } from './testing/fixtures.js';
import type { ActorSystem } from './system.js';

/** The value of one sample, by its name and component; undefined when the exposition lacks it. */
function sample(text: string, name: string, component: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{component="${component}"}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** a asks b something b does not handle, times out once on a never-answered ask, and ticks once. */
async function exercise(system: ActorSystem, settle: <T>(p: Promise<T>) => Promise<T>): Promise<void> {
  await system.spawn(echo, { name: 'a' });
  await system.spawn(echo, { name: 'b' });
  const a = system.ref<EchoMsg>('a');
  await settle(a.ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'no-such-type', body: null }, timeoutMs: 1_000 } }));
  await settle(a.ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'never', body: null }, timeoutMs: 50 } }));
  await settle(a.ask({ type: 'later', body: { ms: 1, value: null } }));
}

function assertRuntimeSeries(text: string): void {
  assert.equal(sample(text, 'kubethreads_actor_messages_sent_total', 'a'), 2, 'a sent two asks');
  assert.equal(sample(text, 'kubethreads_actor_messages_received_total', 'b'), 2);
  assert.equal(sample(text, 'kubethreads_actor_messages_dropped_total', 'b'), 1, 'the unhandled type is dropped');
  assert.equal(sample(text, 'kubethreads_actor_ask_timeouts_total', 'a'), 1);
  assert.equal(sample(text, 'kubethreads_actor_ask_timeouts_total', 'b'), 0);
  assert.equal(sample(text, 'kubethreads_actor_mailbox_depth', 'a'), 0);
  assert.equal(sample(text, 'kubethreads_actor_restarts_total', 'a'), 0);
  assert.equal(sample(text, 'kubethreads_actor_up', 'b'), 1);
  assert.equal(sample(text, 'echo_ticks_total', 'a'), 1, "the behaviour's own series are merged in");
  assert.equal(text.match(/^# TYPE kubethreads_actor_messages_sent_total /gm)?.length, 1, 'one family header for all actors');
}

describe('actor runtime metrics', () => {
  test('the simulated runtime reports messages, drops, ask timeouts and behaviour series per actor', async () => {
    const sim = new SimulatedSystem({ seed: 5 });
    await exercise(sim, (p) => sim.settle(p));
    assertRuntimeSeries(await sim.metrics());
  });

  test('the threaded runtime gathers the same series from its threads', async () => {
    const system = new ThreadedSystem({ seed: 5 });
    after(() => system.shutdown());
    await exercise(system, (p) => p);
    assertRuntimeSeries(await system.metrics());
  });

  test('an actor restarted by its supervisor counts its restart and starts its message counters again', async () => {
    const sim = new SimulatedSystem({ seed: 6 });
    await sim.spawn(echo, { name: 'a' });
    await sim.settle(sim.ref<EchoMsg>('a').ask({ type: 'echo', body: 1 }));
    await sim.faults.kill('a');
    await sim.runFor(1_000);
    const text = await sim.metrics();
    assert.equal(sample(text, 'kubethreads_actor_restarts_total', 'a'), 1);
    assert.equal(sample(text, 'kubethreads_actor_messages_received_total', 'a'), 0);
  });
});
