// test-lane: threads-only (no listener, no child process: safe beside another io test)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameEncoder } from '../codec.js';
import { ActorNotFoundError, ActorUnavailableError, AskTimeoutError, UnhandledMessageError } from '../errors.js';
import { batcher, durableCounter, echo, heapLimits, sink, slicer, slowRestart, ticking, type EchoMsg, type SlicerMsg, type TickingMsg } from '../testing/fixtures.js';
import { ThreadedSystem } from './threaded-system.js';

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('threaded runtime', () => {
  let system: ThreadedSystem;

  before(async () => {
    system = new ThreadedSystem({ seed: 7, logLevel: 'fatal' });
    await system.spawn(echo, { name: 'a', args: { tag: 'A' }, supervision: { backoffMinMs: 5 } });
    await system.spawn(echo, { name: 'b', args: { tag: 'B' }, supervision: { backoffMinMs: 5 } });
  });

  after(async () => {
    await system.shutdown();
  });

  test('an actor spawned with youngGenerationMb gets a thread with that young generation, again after its thread is killed; a bad size is refused', async () => {
    await system.spawn(heapLimits, { name: 'young-big', youngGenerationMb: 96, supervision: { backoffMinMs: 5 } });
    await system.spawn(heapLimits, { name: 'young-default' });
    const ask = (name: string) => system.ref(name).ask<number | null>({ type: 'young-generation-mb', body: null }, { timeoutMs: 5_000 });
    assert.equal(await ask('young-big'), 96);
    assert.notEqual(await ask('young-default'), 96);
    await system.faults.kill('young-big');
    await eventually(async () => (await ask('young-big').catch(() => null)) === 96, 'the restarted thread to have the same young generation');
    await assert.rejects(system.spawn(heapLimits, { name: 'young-bad', youngGenerationMb: 0 }), /youngGenerationMb must be a positive number/);
    await system.stop('young-big');
    await system.stop('young-default');
  });

  test('an actor spawned with cpuNiceIncrement starts its thread that much lower in the CPU scheduler, its own thread or a shared one, again after a kill; others keep the process\'s', { skip: process.platform !== 'linux' }, async () => {
    await system.spawn(heapLimits, { name: 'nice-own', cpuNiceIncrement: 3, supervision: { backoffMinMs: 5 } });
    await system.spawn(heapLimits, { name: 'nice-shared', cpuNiceIncrement: 3, placement: 'nice-pool' });
    await system.spawn(heapLimits, { name: 'nice-default' });
    const ask = (name: string) => system.ref(name).ask<{ thread: number; process: number }>({ type: 'thread-nice', body: null }, { timeoutMs: 5_000 });
    const lowered = (p: { thread: number; process: number }) => p.thread === Math.min(19, p.process + 3);
    assert.ok(lowered(await ask('nice-own')), JSON.stringify(await ask('nice-own')));
    assert.ok(lowered(await ask('nice-shared')), JSON.stringify(await ask('nice-shared')));
    const plain = await ask('nice-default');
    assert.equal(plain.thread, plain.process, 'an actor without it runs at the process\'s priority');
    await system.faults.kill('nice-own');
    await eventually(async () => lowered(await ask('nice-own').catch(() => ({ thread: -100, process: 0 }))), 'the restarted thread to be lowered again');
    await assert.rejects(system.spawn(heapLimits, { name: 'nice-bad', cpuNiceIncrement: 20 }), /cpuNiceIncrement must be an integer from 0 to 19/);
    for (const name of ['nice-own', 'nice-shared', 'nice-default']) await system.stop(name);
  });

  test('each actor runs in its own thread, and co-hosted actors share one', async () => {
    await system.spawn(sink, { name: 'light-1', placement: 'pool' });
    await system.spawn(sink, { name: 'light-2', placement: 'pool' });
    const { actors } = await system.inspect();
    const threadOf = (name: string) => actors.find((a) => a.name === name)?.thread;
    assert.notEqual(threadOf('a'), threadOf('b'));
    assert.equal(threadOf('light-1'), 'pool');
    assert.equal(threadOf('light-2'), 'pool');
  });

  test('ask from the host and tell between actors in two threads', async () => {
    assert.deepEqual(await system.ref<EchoMsg>('a').ask({ type: 'echo', body: [1, 'x'] }), { tag: 'A', from: 'a', value: [1, 'x'] });
    const viaPeer = await system.ref('a').ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'echo', body: 'hi' }, timeoutMs: 1_000 } });
    assert.deepEqual(viaPeer, { ok: true, value: { tag: 'B', from: 'b', value: 'hi' } });
  });

  test('many tells in one turn arrive in order, batched into few frames', async () => {
    await system.spawn(sink, { name: 'counter-sink' });
    const before = (await system.inspect()).threads.find((t) => t.thread === 'counter-sink');
    const ref = system.ref('counter-sink');
    for (let i = 0; i < 5_000; i++) ref.tell({ type: 'bind', body: { pod: `default/web-${i}`, node: 'node-7' } });
    assert.equal(await ref.ask({ type: 'count', body: null }), 5_000);
    const afterStats = (await system.inspect()).threads.find((t) => t.thread === 'counter-sink');
    const frames = afterStats!.framesReceived - (before?.framesReceived ?? 0);
    assert.ok(frames < 50, `5,000 envelopes should travel in few frames, took ${frames}`);
  });

  test('a partition gives a typed timeout; heal restores', async () => {
    const ids = await system.faults.partition(['a'], ['b']);
    const cut = await system.ref('a').ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'echo', body: 1 }, timeoutMs: 100 } });
    assert.deepEqual(cut, { ok: false, error: 'AskTimeoutError' });
    await system.faults.heal(ids);
    const healed = await system.ref('a').ask({ type: 'ask-peer', body: { to: 'b', msg: { type: 'echo', body: 2 }, timeoutMs: 1_000 } });
    assert.deepEqual(healed, { ok: true, value: { tag: 'B', from: 'b', value: 2 } });
    const hostCut = await system.faults.partition(['$host'], ['a']);
    await assert.rejects(system.ref('a').ask({ type: 'echo', body: 1 }, { timeoutMs: 100 }), AskTimeoutError);
    await system.faults.heal(hostCut);
  });

  test('a throwing handler crashes only its actor; the supervisor restarts it with fresh memory', async () => {
    system.ref('b').tell({ type: 'tick', body: 1 });
    await eventually(async () => (await system.ref('b').ask({ type: 'ticks', body: null })) === 1, 'the tick');
    await assert.rejects(system.ref('b').ask({ type: 'crash', body: 'boom' }), ActorUnavailableError);
    await eventually(async () => {
      try {
        return (await system.ref('b').ask({ type: 'ticks', body: null }, { timeoutMs: 500 })) === 0;
      } catch {
        return false;
      }
    }, 'b to restart');
    assert.deepEqual(await system.ref('a').ask({ type: 'echo', body: 'still here' }), { tag: 'A', from: 'a', value: 'still here' });
  });

  test('killing a thread fails waiting asks fast, and the actor comes back with its disk', async () => {
    await system.spawn(durableCounter, { name: 'ctr', supervision: { backoffMinMs: 5 } });
    assert.equal(await system.ref('ctr').ask({ type: 'inc', body: 7 }), 7);
    await system.spawn(echo, { name: 'waiter', supervision: { backoffMinMs: 5 } });
    const pending = system.ref('waiter').ask({ type: 'never', body: null }, { timeoutMs: 30_000 });
    const started = Date.now();
    // Watched before the kill: the ask now fails as the kill begins, before the thread is gone.
    const rejected = assert.rejects(pending, ActorUnavailableError);
    await system.faults.kill('waiter');
    await rejected;
    assert.ok(Date.now() - started < 5_000);
    await system.faults.kill('ctr');
    await eventually(async () => {
      try {
        return (await system.ref('ctr').ask({ type: 'get', body: null }, { timeoutMs: 500 })) === 7;
      } catch {
        return false;
      }
    }, 'the counter to recover its total from disk');
  });

  test('a kill with unsynced-loss armed loses exactly the writes not yet fsynced', async () => {
    await system.spawn(durableCounter, { name: 'lossy', supervision: { backoffMinMs: 5 } });
    await system.faults.disk('lossy', { loseUnsyncedOnCrash: true });
    assert.equal(await system.ref('lossy').ask({ type: 'inc', body: 3 }), 3);
    await system.faults.disk('lossy', { fsyncFailProbability: 1 });
    await assert.rejects(system.ref('lossy').ask({ type: 'inc', body: 100 }), ActorUnavailableError);
    await system.faults.disk('lossy', { fsyncFailProbability: 0 });
    await system.faults.kill('lossy');
    await eventually(async () => {
      try {
        return (await system.ref('lossy').ask({ type: 'get', body: null }, { timeoutMs: 500 })) === 3;
      } catch {
        return false;
      }
    }, 'the counter to come back with only the synced increment');
  });

  test('pause blocks the thread (messages queue); resume drains them', async () => {
    await system.spawn(echo, { name: 'sleepy' });
    await system.faults.pause('sleepy');
    for (let i = 0; i < 3; i++) system.ref('sleepy').tell({ type: 'tick', body: i });
    await assert.rejects(system.ref('sleepy').ask({ type: 'ticks', body: null }, { timeoutMs: 150 }), AskTimeoutError);
    await system.faults.resume('sleepy');
    assert.equal(await system.ref('sleepy').ask({ type: 'ticks', body: null }), 3);
  });

  test('clock offset shifts one actor’s now()', async () => {
    await system.faults.clockOffset('a', 60_000);
    const a = (await system.ref('a').ask({ type: 'now', body: null })) as number;
    const b = (await system.ref('b').ask({ type: 'now', body: null })) as number;
    assert.ok(a - b > 59_000 && a - b < 61_000, `offset seen: ${a - b}`);
    await system.faults.clockOffset('a', 0);
  });

  test('garbage frames and unknown message types are counted and dropped; the thread keeps serving', async () => {
    await system.faults.injectFrame('a', new Uint8Array([0xc1, 0x00, 0xff, 0x13]));
    await system.faults.injectFrame('a', new FrameEncoder().encode([{ junk: true } as never]));
    system.ref('a').tell({ type: 'no-such-type', body: null } as never);
    await assert.rejects(system.ref('a').ask({ type: 'also-unknown', body: null } as never), UnhandledMessageError);
    const { threads, actors } = await system.inspect();
    assert.equal(threads.find((t) => t.thread === 'a')?.decodeFailures, 2);
    assert.equal(actors.find((x) => x.name === 'a')?.unhandled, 2);
    assert.deepEqual(await system.ref('a').ask({ type: 'echo', body: 'ok' }), { tag: 'A', from: 'a', value: 'ok' });
  });

  test('an ask to a name nobody has fails with ActorNotFoundError', async () => {
    await assert.rejects(system.ref('nobody').ask({ type: 'echo', body: 1 }), ActorNotFoundError);
  });

  test('the restart budget stops the actor for good and tells its watchers', async () => {
    await system.spawn(echo, { name: 'fragile', supervision: { maxRestarts: 1, backoffMinMs: 5 } });
    await system.spawn(echo, { name: 'observer' });
    await system.ref('observer').ask({ type: 'watch', body: 'fragile' });
    const hostSaw: string[] = [];
    system.onDown('fragile', (event) => hostSaw.push(event.reason));
    await assert.rejects(system.ref('fragile').ask({ type: 'crash', body: '1' }));
    await eventually(async () => {
      try {
        await system.ref('fragile').ask({ type: 'echo', body: 0 }, { timeoutMs: 300 });
        return true;
      } catch {
        return false;
      }
    }, 'the first restart');
    await assert.rejects(system.ref('fragile').ask({ type: 'crash', body: '2' }));
    await eventually(async () => hostSaw.length === 1, 'the down notice');
    assert.deepEqual(hostSaw, ['restart-budget-exhausted']);
    await eventually(async () => ((await system.ref('observer').ask({ type: 'downs', body: null })) as unknown[]).length === 1, 'the watcher notice');
    assert.equal(system.lookup('fragile'), undefined);
  });

  test('afterArrivals runs once for every frame that reached a blocked thread, not once per frame (group commit)', async () => {
    await system.spawn(batcher, { name: 'batcher', placement: 'batcher-thread' });
    const stalled = system.ref('batcher').ask({ type: 'stall', body: 1_000 });
    // Five host turns, five frames, all arriving while the batcher's thread is blocked.
    for (let i = 0; i < 5; i++) {
      system.ref('batcher').tell({ type: 'item', body: i });
      await sleep(20);
    }
    await stalled;
    await eventually(async () => ((await system.ref('batcher').ask({ type: 'batches', body: null })) as number[]).length > 0, 'a batch');
    assert.deepEqual(await system.ref('batcher').ask({ type: 'batches', body: null }), [5]);
  });

  test('afterArrivals asked from inside an afterArrivals callback runs after a timer that fell due meanwhile (the replicas\' drain slices)', async () => {
    const orderWith = async (continuation: 'afterArrivals' | 'microtask'): Promise<string[]> => {
      const name = `slicer-${continuation}`;
      await system.spawn(slicer, { name });
      const ref = system.ref<SlicerMsg>(name);
      // Each slice blocks 20 ms: the 1 ms timer is due before the first one ends.
      await ref.ask({ type: 'run', body: { slices: 3, sliceMs: 20, continuation } });
      await eventually(async () => (await ref.ask<string[]>({ type: 'events', body: null })).length === 4, 'three slices and the tick');
      const events = await ref.ask<string[]>({ type: 'events', body: null });
      await system.stop(name);
      return events;
    };
    assert.deepEqual(await orderWith('afterArrivals'), ['slice', 'tick', 'slice', 'slice']);
    // What a drain that never yields does: the tick waits for every slice.
    assert.deepEqual(await orderWith('microtask'), ['slice', 'slice', 'slice', 'tick']);
  });

  test('a fixed-rate ticker on a blocked thread drops the ticks that fell due, then keeps ticking', async () => {
    const periodMs = 20;
    const stallMs = 200;
    await system.spawn(ticking, { name: 'ticker', args: { periodMs, mode: 'ticker' } });
    const ticker = system.ref<TickingMsg>('ticker');
    await ticker.ask({ type: 'stall', body: stallMs });
    const droppedOf = async (): Promise<number> => (await system.inspect()).actors.find((a) => a.name === 'ticker')?.ticksDropped ?? 0;
    // Ten due times passed during the block; at most one of them is delivered (a busier machine only drops more).
    await eventually(async () => (await droppedOf()) >= stallMs / periodMs - 2, 'the missed ticks to be counted as dropped');
    const { tickTimesMs } = await ticker.ask<{ tickTimesMs: number[] }>({ type: 'ticks', body: null });
    await eventually(async () => (await ticker.ask<{ tickTimesMs: number[] }>({ type: 'ticks', body: null })).tickTimesMs.length > tickTimesMs.length + 2, 'ticks after the block');
    await system.stop('ticker');
  });

  test('asks to an actor between incarnations fail at once, from the host and from other threads, until it runs again', async () => {
    // The new incarnation blocks its thread for 3 s while starting; each ask gives up after 2 s. Waiting for the
    // actor to answer, an ask sent as the restart begins would time out; knowing it restarts, the runtime fails it at once.
    await system.spawn(slowRestart, { name: 'slow', args: { restartBlockMs: 3_000 }, supervision: { backoffMinMs: 5 } });
    assert.equal(await system.ref('slow').ask({ type: 'echo', body: 'first' }), 'first');
    await system.faults.kill('slow');
    const failures: string[] = [];
    let answered = false;
    for (let i = 0; i < 400 && !answered; i++) {
      const fromHost = system.ref('slow').ask({ type: 'echo', body: i }, { timeoutMs: 2_000 });
      const fromPeer = system.ref<EchoMsg>('b').ask<{ ok: boolean; error?: string }>({ type: 'ask-peer', body: { to: 'slow', msg: { type: 'echo', body: i }, timeoutMs: 2_000 } }, { timeoutMs: 5_000 });
      const [host, peer] = await Promise.all([
        fromHost.then(() => 'ok', (error: Error) => {
          // Sent after the kill: never delivered, so the reason must not read as "it may have been handled".
          if (error instanceof ActorUnavailableError) assert.doesNotMatch(error.reason, /crash|kill/);
          return error.name;
        }),
        fromPeer.then((r) => (r.ok ? 'ok' : r.error!)),
      ]);
      for (const outcome of [host, peer]) if (outcome !== 'ok') failures.push(outcome);
      answered = host === 'ok' && peer === 'ok';
      await sleep(20);
    }
    assert.ok(answered, 'the new incarnation answers once it has started');
    assert.ok(failures.length > 0, 'some asks fell between incarnations');
    assert.deepEqual([...new Set(failures)].filter((name) => name !== ActorUnavailableError.name && name !== ActorNotFoundError.name), [], `every ask during the restart failed at once: ${failures.join(', ')}`);
  });

  test('a monitor in another thread hears a kill and a crash, once each, never a partition or a pause', async () => {
    await system.spawn(echo, { name: 'mon' });
    await system.spawn(echo, { name: 'mon-target', supervision: { backoffMinMs: 5 } });
    await system.ref<EchoMsg>('mon').ask({ type: 'monitor', body: 'mon-target' });
    const peerDowns = async (): Promise<Array<{ name: string; reason: string; atMs: number }>> =>
      system.ref<EchoMsg>('mon').ask({ type: 'peer-downs', body: null });

    const ids = await system.faults.partition(['mon'], ['mon-target']);
    await sleep(200);
    await system.faults.heal(ids);
    await system.faults.pause('mon-target');
    await sleep(200);
    await system.faults.resume('mon-target');
    await sleep(50);
    assert.deepEqual(await peerDowns(), []);

    await system.faults.kill('mon-target');
    await eventually(async () => (await peerDowns()).length === 1, 'the kill to be reported');
    await eventually(async () => (await system.inspect()).actors.some((a) => a.name === 'mon-target' && a.state === 'running'), 'the restart');
    await assert.rejects(system.ref<EchoMsg>('mon-target').ask({ type: 'crash', body: 'boom' }));
    await eventually(async () => (await peerDowns()).length === 2, 'the crash to be reported');
    await sleep(100);
    assert.deepEqual((await peerDowns()).map((d) => `${d.name} ${d.reason}`), ['mon-target killed', 'mon-target crashed'], 'each incarnation told once');
  });

  test('a child spawned by an actor stops with its parent', async () => {
    await system.spawn(echo, { name: 'parent' });
    await system.ref('parent').ask({ type: 'spawn-child', body: { name: 'parent-kid' } });
    await eventually(async () => {
      try {
        await system.ref('parent-kid').ask({ type: 'echo', body: 1 }, { timeoutMs: 300 });
        return true;
      } catch {
        return false;
      }
    }, 'the child to start');
    await system.stop('parent');
    assert.equal(system.lookup('parent-kid'), undefined);
  });
});
