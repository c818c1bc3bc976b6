import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FrameEncoder } from '../codec.js';
import { ActorNotFoundError, ActorUnavailableError, AskTimeoutError, UnhandledMessageError } from '../errors.js';
import { defineBehaviour } from '../behaviour.js';
import type { Message } from '../protocol.js';
import { durableCounter, echo, relay, type EchoMsg } from '../testing/fixtures.js';
import { SimulatedSystem } from './sim-system.js';

async function twoEchoes(seed: number): Promise<SimulatedSystem> {
  const sim = new SimulatedSystem({ seed });
  await sim.spawn(echo, { name: 'a', args: { tag: 'A' } });
  await sim.spawn(echo, { name: 'b', args: { tag: 'B' } });
  return sim;
}

/** A scenario with concurrency, timers, randomness, asks and a fault: a trace worth hashing. */
async function scenario(seed: number): Promise<{ hash: string; results: unknown[] }> {
  const sim = new SimulatedSystem({ seed, latencyMinMs: 0.1, latencyMaxMs: 5 });
  await sim.spawn(relay, { name: 'r1', args: { peer: 'r2' } });
  await sim.spawn(relay, { name: 'r2', args: { peer: 'r1' } });
  await sim.spawn(echo, { name: 'e' });
  await sim.faults.link({ from: ['r1'], to: ['r2'], drop: 0.1, duplicate: 0.1, delayMs: 2, jitterMs: 2 });
  sim.ref('r1').tell({ type: 'burst', body: { to: 'r2', count: 50 } });
  sim.ref('r2').tell({ type: 'burst', body: { to: 'r1', count: 50 } });
  const random = sim.ref<EchoMsg>('e').ask({ type: 'random', body: null });
  await sim.runFor(1_000);
  const results = [await sim.settle(random), await sim.settle(sim.ref('r1').ask({ type: 'count', body: null }))];
  return { hash: sim.traceHash(), results };
}

describe('simulated runtime', () => {
  test('the census reports the deliveries so far under its label when asked, and only with KUBETHREADS_SIM_CENSUS set', async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const saved = process.env.KUBETHREADS_SIM_CENSUS;
    process.stderr.write = ((chunk: string | Uint8Array): boolean => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      delete process.env.KUBETHREADS_SIM_CENSUS;
      const quiet = await twoEchoes(1);
      await quiet.settle(quiet.ref<EchoMsg>('a').ask({ type: 'echo', body: { n: 1 } }));
      quiet.reportCensus('of the set-up');
      assert.deepEqual(written, []);
      process.env.KUBETHREADS_SIM_CENSUS = '1';
      const sim = await twoEchoes(1);
      await sim.settle(sim.ref<EchoMsg>('a').ask({ type: 'echo', body: { n: 1 } }));
      sim.reportCensus('of the set-up');
      await sim.settle(sim.ref<EchoMsg>('b').ask({ type: 'echo', body: { n: 2 } }));
      await sim.shutdown();
    } finally {
      process.stderr.write = write;
      if (saved === undefined) delete process.env.KUBETHREADS_SIM_CENSUS;
      else process.env.KUBETHREADS_SIM_CENSUS = saved;
    }
    // The set-up's census: the ask and its reply, and nothing of what came after it.
    assert.equal(written.length, 2, written.join(''));
    assert.match(written[0]!, /^message census of the set-up \(2 delivered\):\n\s+1\s+50\.0 %\s+\$host > a echo\n\s+1\s+50\.0 %\s+a > \$host \(reply\)\n$/);
    // The whole run's at shutdown, unlabelled, counts on from there.
    assert.match(written[1]!, /^message census \(4 delivered\):\n/);
    assert.match(written[1]!, /\$host > b echo/);
  });

  test('ask returns the handler result and tell is delivered', async () => {
    const sim = await twoEchoes(1);
    const reply = await sim.settle(sim.ref<EchoMsg>('a').ask({ type: 'echo', body: { n: 1 } }));
    assert.deepEqual(reply, { tag: 'A', from: 'a', value: { n: 1 } });
  });

  test('the same seed replays the same trace; another seed gives another', async () => {
    const first = await scenario(42);
    const second = await scenario(42);
    const other = await scenario(43);
    assert.equal(first.hash, second.hash);
    assert.deepEqual(first.results, second.results);
    assert.notEqual(first.hash, other.hash);
  });

  test('every continuation an event starts runs at its instant, however long the chain, before the next event', async () => {
    // A handler that starts a long chain of awaits and nested thens without returning it: the
    // loop's next turn must wait for the whole chain, not for one round of microtasks.
    type ChainMsg = Message<'start', number> | Message<'probe', null> | Message<'log', null>;
    const chain = defineBehaviour<ChainMsg>(import.meta.url, 'chain', (ctx) => {
      const log: string[] = [];
      const run = async (steps: number): Promise<void> => {
        for (let i = 0; i < steps; i++) {
          await Promise.resolve();
          await new Promise<void>((resolve) => void Promise.resolve().then(() => Promise.resolve()).then(() => resolve()));
        }
        log.push(`chain done at ${ctx.now()}`);
      };
      return {
        receive(msg) {
          if (msg.type === 'start') {
            log.push(`start at ${ctx.now()}`);
            void run(msg.body);
            ctx.send(ctx.name, { type: 'probe', body: null });
            return null;
          }
          if (msg.type === 'probe') {
            log.push(`probe at ${ctx.now()}`);
            return null;
          }
          return [...log];
        },
      };
    });
    const sim = new SimulatedSystem({ seed: 5, latencyMinMs: 1, latencyMaxMs: 1 });
    await sim.spawn(chain, { name: 'c' });
    sim.ref('c').tell({ type: 'start', body: 200 });
    await sim.runFor(10);
    const log = await sim.settle(sim.ref('c').ask<string[]>({ type: 'log', body: null }));
    const start = Number(log[0]!.split(' at ')[1]);
    assert.deepEqual(log, [`start at ${start}`, `chain done at ${start}`, `probe at ${start + 1}`]);
  });

  test('virtual time jumps: an hour of timers takes no real time', async () => {
    const sim = await twoEchoes(2);
    const started = Date.now();
    const reply = sim.ref<EchoMsg>('a').ask({ type: 'later', body: { ms: 3_600_000, value: 'done' } }, { timeoutMs: 4_000_000 });
    assert.equal(await sim.settle(reply, { maxMs: 4_000_000 }), 'done');
    assert.ok(sim.now() - 1_700_000_000_000 >= 3_600_000);
    assert.ok(Date.now() - started < 5_000, 'an hour of virtual time should take well under 5 s of real time');
  });

  test('an ask kept by keepWaiting outlives its timeout; one given up on rejects with the whole time waited', async () => {
    const sim = await twoEchoes(5);
    const a = sim.ref<EchoMsg>('a');
    const waits: number[] = [];
    const kept = a.ask({ type: 'later', body: { ms: 2_500, value: 'slow' } }, { timeoutMs: 1_000, keepWaiting: (waitedMs) => (waits.push(waitedMs), 1_000) });
    assert.equal(await sim.settle(kept), 'slow', 'answered after more than twice its timeout');
    assert.deepEqual(waits, [1_000, 2_000], 'asked at each expiry, with the time waited so far');
    const started = sim.now();
    const dropped = a.ask({ type: 'later', body: { ms: 3_000, value: 'too slow' } }, { timeoutMs: 1_000, keepWaiting: (waitedMs) => (waitedMs < 2_000 ? 500 : 0) });
    await assert.rejects(sim.settle(dropped), (error: unknown) => error instanceof AskTimeoutError && /within 2000 ms/.test(error.message));
    assert.equal(sim.now() - started, 2_000);
  });

  test('a paused actor\'s timers wait for its resume, as a blocked thread\'s would', async () => {
    const sim = await twoEchoes(3);
    const a = sim.ref<EchoMsg>('a');
    // 'later' arms a 1 s timer whose tick counts in 'ticks'.
    const reply = a.ask({ type: 'later', body: { ms: 1_000, value: 'fired' } }, { timeoutMs: 60_000 });
    await sim.runFor(10);
    await sim.faults.pause('a');
    await sim.runFor(5_000);
    let settled = false;
    void reply.then(() => (settled = true));
    await sim.runFor(1);
    assert.equal(settled, false, 'no timer fired while paused');
    await sim.faults.resume('a');
    assert.equal(await sim.settle(reply), 'fired', 'the timer fires once the actor resumes');
    assert.equal(await sim.settle(a.ask({ type: 'ticks', body: null })), 1);
  });

  test('an ask to a partitioned actor fails with a typed timeout, and works again after heal', async () => {
    const sim = await twoEchoes(3);
    const ids = await sim.faults.partition(['$host'], ['a']);
    await assert.rejects(sim.settle(sim.ref('a').ask({ type: 'echo', body: 1 }, { timeoutMs: 100 })), AskTimeoutError);
    await sim.faults.heal(ids);
    assert.deepEqual(await sim.settle(sim.ref('a').ask({ type: 'echo', body: 2 })), { tag: 'A', from: 'a', value: 2 });
  });

  test('a throwing handler crashes the actor; the asker fails fast; the supervisor restarts it with fresh memory', async () => {
    const sim = await twoEchoes(4);
    sim.ref('a').tell({ type: 'tick', body: 1 });
    await sim.runFor(10);
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 1);
    await assert.rejects(sim.settle(sim.ref('a').ask({ type: 'crash', body: 'boom' })), ActorUnavailableError);
    await sim.runFor(1_000);
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 0, 'memory does not survive a restart');
    const { actors } = await sim.inspect();
    assert.equal(actors.find((a) => a.name === 'a')?.restarts, 1);
  });

  test('an async handler that rejects crashes the actor too', async () => {
    const sim = await twoEchoes(5);
    await assert.rejects(sim.settle(sim.ref('a').ask({ type: 'crash-async', body: 'late boom' })), ActorUnavailableError);
    const { actors } = await sim.inspect();
    assert.equal(actors.find((a) => a.name === 'a')?.state, 'restarting');
  });

  test('asks waiting on an actor that is killed fail fast instead of timing out', async () => {
    const sim = await twoEchoes(6);
    const pending = sim.ref('a').ask({ type: 'never', body: null }, { timeoutMs: 60_000 });
    await sim.runFor(5);
    await sim.faults.kill('a');
    const startedMs = sim.now();
    await assert.rejects(sim.settle(pending), ActorUnavailableError);
    assert.ok(sim.now() - startedMs < 1_000);
  });

  test('asks to an actor waiting out its restart backoff fail at once, from the host and from another actor', async () => {
    const sim = new SimulatedSystem({ seed: 61 });
    await sim.spawn(echo, { name: 'a', supervision: { backoffMinMs: 5_000 } });
    await sim.spawn(echo, { name: 'b' });
    await sim.faults.kill('a');
    const startedMs = sim.now();
    const fromHost = sim.ref('a').ask({ type: 'echo', body: 1 }, { timeoutMs: 2_000 });
    await assert.rejects(sim.settle(fromHost), (error: unknown) => error instanceof ActorUnavailableError && error.reason === 'restarting');
    const fromPeer = await sim.settle(sim.ref<EchoMsg>('b').ask({ type: 'ask-peer', body: { to: 'a', msg: { type: 'echo', body: 2 }, timeoutMs: 2_000 } }));
    assert.deepEqual(fromPeer, { ok: false, error: ActorUnavailableError.name });
    // One message latency each way, not the asks' 2 s timeout.
    assert.ok(sim.now() - startedMs < 10, `failed after ${sim.now() - startedMs} ms of virtual time`);
  });

  test('a monitor hears each ended incarnation (kill, restart, crash, stop) once, and never a partition or a pause', async () => {
    const sim = new SimulatedSystem({ seed: 62 });
    await sim.spawn(echo, { name: 'm' });
    await sim.spawn(echo, { name: 't', supervision: { backoffMinMs: 1 } });
    await sim.settle(sim.ref('m').ask({ type: 'monitor', body: 't' }));
    const peerDowns = async (): Promise<string[]> =>
      ((await sim.settle(sim.ref('m').ask({ type: 'peer-downs', body: null }))) as { name: string; reason: string }[]).map((d) => `${d.name} ${d.reason}`);

    const ids = await sim.faults.partition(['m'], ['t']);
    await sim.runFor(1_000);
    await sim.faults.heal(ids);
    await sim.faults.pause('t');
    await sim.runFor(1_000);
    await sim.faults.resume('t');
    await sim.runFor(10);
    assert.deepEqual(await peerDowns(), [], 'the target never ended: nothing to report');

    const killedAtMs = sim.now();
    await sim.faults.kill('t');
    await sim.runFor(100);
    const [first] = (await sim.settle(sim.ref('m').ask({ type: 'peer-downs', body: null }))) as { atMs: number }[];
    assert.ok(first !== undefined && first.atMs - killedAtMs < 1, 'heard within the turn of the kill, not after a timeout');
    await sim.faults.restart('t');
    await sim.runFor(100);
    await assert.rejects(sim.settle(sim.ref('t').ask({ type: 'crash', body: 'boom' })));
    await sim.runFor(100);
    await sim.stop('t');
    await sim.runFor(100);
    assert.deepEqual(await peerDowns(), ['t killed', 't killed', 't crashed', 't stopped']);
  });

  test('monitors replay: the same seed with kills gives the same trace', async () => {
    const run = async (): Promise<string> => {
      const sim = new SimulatedSystem({ seed: 63, latencyMinMs: 0.1, latencyMaxMs: 3 });
      await sim.spawn(echo, { name: 'm1' });
      await sim.spawn(echo, { name: 'm2' });
      await sim.spawn(echo, { name: 't', supervision: { backoffMinMs: 1 } });
      for (const m of ['m1', 'm2']) await sim.settle(sim.ref(m).ask({ type: 'monitor', body: 't' }));
      for (let i = 0; i < 3; i++) {
        sim.ref('m1').tell({ type: 'forward', body: { to: 't', msg: { type: 'echo', body: i } } });
        await sim.faults.kill('t');
        await sim.runFor(50);
      }
      const heard = await sim.settle(sim.ref('m2').ask({ type: 'peer-downs', body: null }));
      return `${sim.traceHash()} ${JSON.stringify(heard)}`;
    };
    assert.equal(await run(), await run());
  });

  test('the restart budget stops the actor for good and tells its watchers', async () => {
    const sim = new SimulatedSystem({ seed: 7 });
    await sim.spawn(echo, { name: 'watcher' });
    await sim.spawn(echo, { name: 'fragile', supervision: { maxRestarts: 2, windowMs: 60_000, backoffMinMs: 1 } });
    await sim.settle(sim.ref('watcher').ask({ type: 'watch', body: 'fragile' }));
    const downs: string[] = [];
    sim.onDown('fragile', (event) => downs.push(event.reason));
    for (let i = 0; i < 3; i++) {
      await assert.rejects(sim.settle(sim.ref('fragile').ask({ type: 'crash', body: `crash ${i}` })));
      await sim.runFor(1_000);
    }
    assert.deepEqual(downs, ['restart-budget-exhausted']);
    const seen = (await sim.settle(sim.ref('watcher').ask({ type: 'downs', body: null }))) as { name: string; reason: string }[];
    assert.deepEqual(
      seen.map((d) => [d.name, d.reason]),
      [['fragile', 'restart-budget-exhausted']],
    );
    await assert.rejects(sim.settle(sim.ref('fragile').ask({ type: 'echo', body: 1 })), ActorNotFoundError);
  });

  test('a temporary actor is not restarted; a transient one is not restarted after a normal stop', async () => {
    const sim = new SimulatedSystem({ seed: 8 });
    await sim.spawn(echo, { name: 'temp', supervision: { restart: 'temporary' } });
    await sim.spawn(echo, { name: 'trans', supervision: { restart: 'transient', backoffMinMs: 1 } });
    await assert.rejects(sim.settle(sim.ref('temp').ask({ type: 'crash', body: 'x' })));
    await sim.settle(sim.ref('trans').ask({ type: 'stop', body: null }));
    await sim.runFor(1_000);
    assert.equal(sim.lookup('temp'), undefined);
    assert.equal(sim.lookup('trans'), undefined);
    await sim.spawn(echo, { name: 'trans2', supervision: { restart: 'transient', backoffMinMs: 1 } });
    await assert.rejects(sim.settle(sim.ref('trans2').ask({ type: 'crash', body: 'x' })));
    await sim.runFor(1_000);
    assert.ok(sim.lookup('trans2'), 'a transient actor is restarted after a crash');
  });

  test('an unknown message type is counted and dropped, and an ask for it gets a typed error', async () => {
    const sim = await twoEchoes(9);
    sim.ref('a').tell({ type: 'no-such-type', body: 1 });
    await assert.rejects(sim.settle(sim.ref('a').ask({ type: 'also-unknown', body: 1 })), UnhandledMessageError);
    const { actors } = await sim.inspect();
    assert.equal(actors.find((a) => a.name === 'a')?.unhandled, 2);
    assert.deepEqual(await sim.settle(sim.ref('a').ask({ type: 'echo', body: 3 })), { tag: 'A', from: 'a', value: 3 });
  });

  test('an undecodable frame is counted and dropped; a well-formed injected frame is delivered', async () => {
    const sim = await twoEchoes(10);
    await sim.faults.injectFrame('a', new Uint8Array([0xc1, 0xff, 0x00]));
    const encoder = new FrameEncoder();
    await sim.faults.injectFrame('a', encoder.encode([{ not: 'an envelope' } as never]));
    await sim.faults.injectFrame('a', encoder.encode([{ to: 'a', from: 'x', type: 'tick', corr: 0, body: 1 }]));
    await sim.runFor(10);
    const { threads } = await sim.inspect();
    assert.equal(threads[0]!.decodeFailures, 2);
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 1);
  });

  test('a paused actor queues its messages and handles them after resume', async () => {
    const sim = await twoEchoes(11);
    await sim.faults.pause('a');
    for (let i = 0; i < 5; i++) sim.ref('a').tell({ type: 'tick', body: i });
    await sim.runFor(100);
    const { actors } = await sim.inspect();
    assert.equal(actors.find((a) => a.name === 'a')?.mailboxDepth, 5);
    await sim.faults.resume('a');
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 5);
  });

  test('clock offset shifts only that actor’s now()', async () => {
    const sim = await twoEchoes(12);
    await sim.faults.clockOffset('a', 10_000);
    const a = (await sim.settle(sim.ref('a').ask({ type: 'now', body: null }))) as number;
    const b = (await sim.settle(sim.ref('b').ask({ type: 'now', body: null }))) as number;
    assert.ok(a - b >= 9_990 && a - b <= 10_010, `offset seen: ${a - b}`);
  });

  test('the disk survives a restart; unsynced writes are lost only when the fault is armed', async () => {
    const sim = new SimulatedSystem({ seed: 13 });
    await sim.spawn(durableCounter, { name: 'c' });
    await sim.settle(sim.ref('c').ask({ type: 'inc', body: 5 }));
    await sim.faults.kill('c');
    await sim.runFor(1_000);
    assert.equal(await sim.settle(sim.ref('c').ask({ type: 'get', body: null })), 5);
    // fsync failures surface as a crash of the handler (the counter does not catch them).
    await sim.faults.disk('c', { fsyncFailProbability: 1 });
    await assert.rejects(sim.settle(sim.ref('c').ask({ type: 'inc', body: 1 })), ActorUnavailableError);
    await sim.faults.disk('c', { fsyncFailProbability: 0, loseUnsyncedOnCrash: true });
    await sim.runFor(1_000);
    // The failed increment was appended but never synced: a crash that loses unsynced writes drops it.
    await sim.faults.kill('c');
    await sim.runFor(1_000);
    assert.equal(await sim.settle(sim.ref('c').ask({ type: 'get', body: null })), 5);
  });

  test('a slow fsync delays the actor in virtual time', async () => {
    const sim = new SimulatedSystem({ seed: 14 });
    await sim.spawn(durableCounter, { name: 'c' });
    await sim.faults.disk('c', { fsyncDelayMs: 250 });
    const t0 = sim.now();
    await sim.settle(sim.ref('c').ask({ type: 'inc', body: 1 }));
    await sim.settle(sim.ref('c').ask({ type: 'get', body: null }));
    assert.ok(sim.now() - t0 >= 250, `elapsed ${sim.now() - t0} ms`);
  });

  test('children stop with their parent; watch reports a stop', async () => {
    const sim = await twoEchoes(15);
    await sim.settle(sim.ref('a').ask({ type: 'spawn-child', body: { name: 'a-child' } }));
    assert.deepEqual(await sim.settle(sim.ref('a-child').ask({ type: 'echo', body: 1 })), { tag: 'child', from: 'a-child', value: 1 });
    await sim.settle(sim.ref('b').ask({ type: 'watch', body: 'a' }));
    await sim.stop('a');
    await sim.runFor(10);
    assert.equal(sim.lookup('a-child'), undefined);
    const downs = (await sim.settle(sim.ref('b').ask({ type: 'downs', body: null }))) as { reason: string }[];
    assert.deepEqual(downs.map((d) => d.reason), ['stopped']);
  });

  test('duplicated messages arrive twice and dropped ones never', async () => {
    const sim = await twoEchoes(16);
    const dup = await sim.faults.link({ from: '*', to: ['a'], duplicate: 1 });
    for (let i = 0; i < 10; i++) sim.ref('a').tell({ type: 'tick', body: i });
    await sim.runFor(10);
    await sim.faults.heal(dup);
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 20);
    const drop = await sim.faults.link({ from: '*', to: ['b'], drop: 1 });
    for (let i = 0; i < 10; i++) sim.ref('b').tell({ type: 'tick', body: i });
    await sim.runFor(10);
    await sim.faults.heal(drop);
    assert.equal(await sim.settle(sim.ref('b').ask({ type: 'ticks', body: null })), 0);
  });

  test('a duplicating link duplicates tells and replies but never an ask: a request over a connection arrives once', async () => {
    const sim = await twoEchoes(18);
    const dup = await sim.faults.link({ from: '*', to: '*', duplicate: 1 });
    for (let i = 0; i < 5; i++) sim.ref('a').tell({ type: 'tick', body: i });
    const asked = Array.from({ length: 5 }, (_, i) => sim.ref('a').ask({ type: 'tick', body: i }));
    await sim.runFor(10);
    for (const reply of asked) assert.equal(await sim.settle(reply), null, 'each ask answered once (its duplicated reply dropped)');
    await sim.faults.heal(dup);
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 5 * 2 + 5, 'five tells twice, five asks once');
    // Between actors too: b asks a through the duplicating link.
    const again = await sim.faults.link({ from: '*', to: '*', duplicate: 1 });
    assert.deepEqual(await sim.settle(sim.ref('b').ask({ type: 'ask-peer', body: { to: 'a', msg: { type: 'tick', body: 0 }, timeoutMs: 100 } })), { ok: true, value: null });
    await sim.faults.heal(again);
    assert.equal(await sim.settle(sim.ref('a').ask({ type: 'ticks', body: null })), 16);
  });

  test('an actor asks another; a partition between them gives the asker a timeout', async () => {
    const sim = await twoEchoes(17);
    const ok = await sim.settle(sim.ref('a').ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'echo', body: 'hi' }, timeoutMs: 100 } }));
    assert.deepEqual(ok, { ok: true, value: { tag: 'B', from: 'b', value: 'hi' } });
    await sim.faults.partition(['a'], ['b']);
    const cut = await sim.settle(sim.ref('a').ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'echo', body: 'hi' }, timeoutMs: 100 } }));
    assert.deepEqual(cut, { ok: false, error: 'AskTimeoutError' });
  });
});

describe('a cancelled timer in the simulated runtime', () => {
  test('lets go of its callback at once, not when its virtual time comes', async () => {
    // An answered ask cancels its timeout; what the timeout's callback holds (the asker's closures) must not stay
    // in the heap for the timeout's whole delay (docs/metrics.md, "The leader's read, counted").
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sim = new SimulatedSystem({ seed: 1 });
    let held: WeakRef<object> | undefined;
    let cancel: (() => void) | undefined;
    (() => {
      const big = { payload: new Array(1000).fill(0) };
      held = new WeakRef(big);
      cancel = sim.schedule(60_000, () => void big.payload.length);
    })();
    cancel!();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(held!.deref(), undefined, 'the cancelled callback (and what it closes over) was collected');
    await sim.runFor(61_000);
    await sim.shutdown();
  });
});
