/**
 * The replicated client's attempt timeout, against scripted replicas on a
 * virtual clock: nothing sleeps for real.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AskTimeoutError } from '../../actor/errors.js';
import type { Message } from '../../actor/protocol.js';
import type { WatchResponse } from '../protocol.js';
import type { ClientReply, ClientRequest } from '../replica/protocol.js';
import { KV_ATTEMPT_TIMEOUT_MS_DEFAULT, KvRequestError, ReplicatedKvClient, type KvClientHost } from './replicated-client.js';

/** How a scripted replica treats one request: answer after a delay, or never. */
type Script = (request: ClientRequest) => { afterMs: number; reply: ClientReply | WatchResponse } | 'silent';

/** Replicas and a clock that advances only when nothing else can happen. */
class World {
  nowMs = 0;
  readonly asked: Array<{ to: string; atMs: number; timeoutMs: number }> = [];
  private readonly timers: Array<{ atMs: number; seq: number; fire: () => void }> = [];
  private seq = 0;

  constructor(readonly replicas: Record<string, Script>) {}

  readonly host: KvClientHost = {
    name: 'client',
    ask: <R>(to: string, msg: Message, options: { timeoutMs: number; keepWaiting?: (waitedMs: number) => number }) =>
      new Promise<R>((resolve, reject) => {
        this.asked.push({ to, atMs: this.nowMs, timeoutMs: options.timeoutMs });
        let settled = false;
        let waitedMs = 0;
        // As the actor runtime's ask: at each expiry the asker may keep waiting.
        const expire = (afterMs: number): void =>
          this.at(afterMs, () => {
            if (settled) return;
            waitedMs += afterMs;
            const moreMs = options.keepWaiting?.(waitedMs) ?? 0;
            if (moreMs > 0) return expire(moreMs);
            settled = true;
            reject(new AskTimeoutError(to, msg.type, waitedMs));
          });
        expire(options.timeoutMs);
        const script = this.replicas[to]!((msg.body as ClientRequest));
        if (script === 'silent') return;
        this.at(script.afterMs, () => {
          if (!settled) resolve(script.reply as R);
          settled = true;
        });
      }),
    send: () => undefined,
    now: () => this.nowMs,
    sleep: (ms) => new Promise<void>((resolve) => this.at(ms, resolve)),
    random: () => 0,
  };

  /** Runs the clock until `promise` settles. */
  async settle<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (done) return promise;
      this.timers.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      const next = this.timers.shift();
      assert.ok(next !== undefined, 'the call waits on nothing');
      this.nowMs = next.atMs;
      next.fire();
    }
  }

  /** Calls `fire` every `everyMs` until `untilMs` (a replica's periodic messages). */
  every(everyMs: number, untilMs: number, fire: () => void): void {
    this.at(everyMs, () => {
      fire();
      if (this.nowMs + everyMs <= untilMs) this.every(everyMs, untilMs, fire);
    });
  }

  at(delayMs: number, fire: () => void): void {
    this.timers.push({ atMs: this.nowMs + delayMs, seq: this.seq++, fire });
  }
}

const put = (revision: number): ClientReply => ({ type: 'put', header: { revision } });
const notLeader: Script = () => ({ afterMs: 2, reply: { type: 'notLeader', leader: 'etcd-0' } });

test('a leader that slows down steadily under load is waited on, not abandoned, once the estimate has adapted', async () => {
  let latencyMs = 200;
  let revision = 0;
  const world = new World({ 'etcd-0': () => ({ afterMs: latencyMs, reply: put(++revision) }), 'etcd-1': notLeader, 'etcd-2': notLeader });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  // From 200 ms to 1,800 ms in 20 ms steps: past the 1,000 ms floor that used to turn every such write into a failure.
  for (; latencyMs <= 1_800; latencyMs += 20) {
    const reply = await world.settle(client.put('k', String(latencyMs)));
    assert.equal(reply.type, 'put');
  }
  assert.ok(world.asked.every((a) => a.to === 'etcd-0'), 'every attempt went to the leader: no timeout, no rotation, no NotLeader round trip');
  const last = world.asked.at(-1)!;
  assert.ok(last.timeoutMs > 1_800, `the last attempt was given more than the leader's latency, got ${last.timeoutMs} ms`);
});

/** What a replica's watch progress notification looks like to the client (for a watch it no longer has: only the sender counts). */
const progressFrom = (replica: string): Message => ({ type: 'kvWatch', body: { clientWatchId: 999, replica, seq: 1, response: { type: 'watch', header: { revision: 1 }, watchId: 1, events: [] } } });

test('a write on a leader slower than the attempt timeout, but heard from meanwhile, is waited on: no failure of unknown outcome', async () => {
  const world = new World({ 'etcd-0': () => ({ afterMs: 3_000, reply: put(1) }), 'etcd-1': notLeader, 'etcd-2': notLeader });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  // The leader is busy, not gone: its watch progress keeps arriving (replicas send it every second).
  world.every(500, 3_000, () => client.handle(progressFrom('etcd-0')));
  const reply = await world.settle(client.put('k', 'slow'));
  assert.equal(reply.type, 'put');
  assert.equal(world.nowMs, 3_000, 'answered when the leader answered');
  assert.deepEqual(world.asked.map((a) => a.to), ['etcd-0'], 'one attempt, on the leader: no rotation, no retry');
});

test('a live but slow leader keeps a write only up to the call deadline', async () => {
  const world = new World({ 'etcd-0': () => ({ afterMs: 60_000, reply: put(1) }), 'etcd-1': notLeader, 'etcd-2': notLeader });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'], requestTimeoutMs: 5_000 });
  world.every(500, 60_000, () => client.handle(progressFrom('etcd-0')));
  await assert.rejects(world.settle(client.put('k', 'too slow')), (error: unknown) => error instanceof KvRequestError && error.indeterminate && error.deadlineExceeded);
  assert.equal(world.nowMs, 5_000, 'given up at the deadline, not before');
});

test('a silent leader is left after attemptTimeoutMs by an idle client: the write is indeterminate, the next call goes elsewhere', async () => {
  let silent = false;
  let revision = 0;
  const world = new World({
    'etcd-0': () => (silent ? 'silent' : { afterMs: 3, reply: put(++revision) }),
    'etcd-1': () => ({ afterMs: 3, reply: put(++revision) }),
    'etcd-2': notLeader,
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  for (let i = 0; i < 20; i++) await world.settle(client.put('k', String(i)));
  silent = true;
  const startMs = world.nowMs;
  await assert.rejects(world.settle(client.put('k', 'lost?')), (error: unknown) => error instanceof KvRequestError && error.indeterminate);
  assert.equal(world.nowMs - startMs, KV_ATTEMPT_TIMEOUT_MS_DEFAULT, 'abandoned after the floor, as before the timeout adapted');
  const reply = await world.settle(client.put('k', 'again'));
  assert.equal(reply.type, 'put');
  assert.equal(world.asked.at(-1)!.to, 'etcd-1');
});

test('a read on a silent leader fails over after attemptTimeoutMs and completes on another replica', async () => {
  let silent = false;
  const range: ClientReply = { type: 'range', header: { revision: 1 }, kvs: [], more: false, count: 0 };
  const world = new World({
    'etcd-0': () => (silent ? 'silent' : { afterMs: 3, reply: range }),
    'etcd-1': () => ({ afterMs: 3, reply: range }),
    'etcd-2': notLeader,
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  for (let i = 0; i < 20; i++) await world.settle(client.range('k'));
  silent = true;
  const startMs = world.nowMs;
  await world.settle(client.range('k'));
  const elapsedMs = world.nowMs - startMs;
  // The attempt timeout, one backoff (25 ms × 0.5 with this host's random 0), one fast answer.
  assert.ok(elapsedMs >= 1_000 && elapsedMs < 1_100, `failed over in ${elapsedMs} ms`);
});

test('a loaded client waits on a silent leader no longer than the call deadline', async () => {
  let silent = false;
  let latencyMs = 400;
  let revision = 0;
  const world = new World({
    'etcd-0': () => (silent ? 'silent' : { afterMs: latencyMs + (revision % 2 === 0 ? 300 : -300), reply: put(++revision) }),
    'etcd-1': notLeader,
    'etcd-2': notLeader,
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  for (; latencyMs <= 2_000; latencyMs += 50) await world.settle(client.put('k', String(latencyMs)));
  silent = true;
  const startMs = world.nowMs;
  await assert.rejects(world.settle(client.put('k', 'x', { timeoutMs: 3_000 })), (error: unknown) => error instanceof KvRequestError && error.indeterminate);
  assert.equal(world.nowMs - startMs, 3_000, 'the whole deadline, and not a moment more');
});

test('a leader that turns slow all at once, its watch still streaming, costs no write: it is heard from, so every attempt is kept', async () => {
  let latencyMs = 5;
  let revision = 0;
  const watchCreated: WatchResponse = { type: 'watch', header: { revision: 1 }, watchId: 7, created: true, events: [] };
  const world = new World({
    'etcd-0': (request) => ('watcher' in request ? { afterMs: 2, reply: watchCreated } : { afterMs: latencyMs, reply: put(++revision) }),
    'etcd-1': notLeader,
    'etcd-2': notLeader,
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  client.watch('k', { progressNotify: true }, { onEvents: () => undefined });
  // The replica's progress notifications, one a second, as replicas send them: a slow leader is still alive.
  let seq = 1;
  const progress = (): void => {
    client.handle({ type: 'kvWatch', body: { replica: 'etcd-0', clientWatchId: 1, seq: seq++, response: { type: 'watch', header: { revision: 1 }, watchId: 7, events: [] } } });
    void world.host.sleep(1_000).then(progress);
  };
  void world.host.sleep(1_000).then(progress);
  for (let i = 0; i < 50; i++) await world.settle(client.put('k', String(i)));
  // The store now answers writes in 1,500 ms; the client keeps some in flight, a new one sent every 100 ms, as an API server does.
  latencyMs = 1_500;
  const outcomes: Array<'ok' | 'indeterminate'> = [];
  const writes: Array<Promise<unknown>> = [];
  const send = (i: number) =>
    writes.push(client.put('k', String(i)).then(() => outcomes.push('ok'), (error: unknown) => {
      assert.ok(error instanceof KvRequestError && error.indeterminate, String(error));
      outcomes.push('indeterminate');
    }));
  for (let i = 0; i < 200; i++) {
    send(i);
    await world.settle(world.host.sleep(100));
  }
  await world.settle(Promise.all(writes));
  const failed = outcomes.filter((o) => o === 'indeterminate').length;
  // Before attempts were kept on a live replica, the first writes after the step timed out at the floor (up to 20 of 200).
  assert.equal(failed, 0, `no write was abandoned on a leader that was heard from, ${failed} of 200 failed`);
  assert.equal(world.asked.filter((a) => a.to !== 'etcd-0').length, 0, 'and none went elsewhere');
  client.close();
});

test('a leader just slower than the floor does not hold the estimate at the floor', async () => {
  let latencyMs = 950;
  let revision = 0;
  const world = new World({ 'etcd-0': () => ({ afterMs: latencyMs, reply: put(++revision) }), 'etcd-1': notLeader, 'etcd-2': notLeader });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  const outcomes: Array<'ok' | 'indeterminate'> = [];
  const writes: Array<Promise<unknown>> = [];
  // A write every 100 ms, as an API server under load sends them: 10 s at 950 ms, just inside the floor, then 1,050 ms.
  for (let i = 0; i < 400; i++) {
    if (i === 100) latencyMs = 1_050;
    writes.push(client.put('k', String(i)).then(() => outcomes.push('ok'), () => outcomes.push('indeterminate')));
    await world.settle(world.host.sleep(100));
  }
  await world.settle(Promise.all(writes));
  const failed = outcomes.filter((o) => o === 'indeterminate').length;
  assert.ok(failed <= 20, `${failed} of 400 writes failed: the estimate stayed at the floor`);
  assert.deepEqual(outcomes.slice(-200), new Array(200).fill('ok'), 'once the estimate has moved, none fails');
});

test('a forwarded answer is the leader\'s, and the next request goes to the leader directly', async () => {
  let revision = 0;
  const world = new World({
    // The host's random 0 makes etcd-0 the first target.
    'etcd-0': () => ({ afterMs: 4, reply: { type: 'forwarded', leader: 'etcd-2', reply: put(++revision) } }),
    'etcd-1': notLeader,
    'etcd-2': () => ({ afterMs: 2, reply: put(++revision) }),
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  assert.deepEqual(await world.settle(client.put('k', 'a')), put(1));
  assert.deepEqual(await world.settle(client.put('k', 'b')), put(2));
  assert.deepEqual(world.asked.map((a) => a.to), ['etcd-0', 'etcd-2']);
});

test('each attempt tells the replica how long it may hold the request: less than the attempt timeout, so the answer gets back', async () => {
  const waits: unknown[] = [];
  const world = new World({
    'etcd-0': (request) => {
      waits.push((request as { waitMs?: unknown }).waitMs);
      return { afterMs: 2, reply: put(1) };
    },
    'etcd-1': notLeader,
    'etcd-2': notLeader,
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  await world.settle(client.put('k', 'v'));
  const timeoutMs = world.asked[0]!.timeoutMs;
  assert.equal(typeof waits[0], 'number');
  assert.ok((waits[0] as number) > 0 && (waits[0] as number) < timeoutMs, `waitMs ${String(waits[0])} within the attempt timeout ${timeoutMs}`);
});

test('hintless NotLeader answers send the request on at once until every replica was tried, then back off', async () => {
  const hintless: Script = () => ({ afterMs: 2, reply: { type: 'notLeader' } });
  let asksOfLast = 0;
  const world = new World({
    'etcd-0': hintless,
    'etcd-1': hintless,
    // Every replica has held the request as long as it could and knows no leader; the last one learns of a leader by the second round.
    'etcd-2': () => (++asksOfLast > 1 ? { afterMs: 2, reply: put(1) } : { afterMs: 2, reply: { type: 'notLeader' } }),
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  await world.settle(client.put('k', 'v'));
  const times = world.asked.map((a) => a.atMs);
  assert.deepEqual(times.slice(0, 3), [0, 2, 4], 'no backoff inside the first round');
  assert.ok(times[3]! > 6, `after a whole round of misses the client backs off (4th attempt at ${times[3]} ms)`);
});

test('a read\'s first attempt carries the request it made with the routing added, copying nothing; a retry sends a fresh body and leaves the first as it was sent', async () => {
  const range: ClientReply = { type: 'range', header: { revision: 1 }, kvs: [], count: 0, more: false };
  const world = new World({ 'etcd-0': () => 'silent', 'etcd-1': () => ({ afterMs: 2, reply: range }), 'etcd-2': notLeader });
  const bodies: Array<Record<string, unknown>> = [];
  const host: KvClientHost = { ...world.host, ask: (to, msg, options) => (bodies.push(msg.body as Record<string, unknown>), world.host.ask(to, msg, options)) };
  const client = new ReplicatedKvClient(host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'] });
  // Copying every field of each read's body (Object.assign onto a new object) cost a read about 2,700
  // instructions: docs/metrics.md. A copy is what keeps an attempt still in flight from changing, so only retries make one.
  const assign = Object.assign;
  let copies = 0;
  Object.assign = ((target: object, ...sources: object[]) => (copies++, assign(target, ...sources))) as typeof Object.assign;
  let firstWaitMs: unknown;
  try {
    const reply = client.range('/g/1', { serializable: true });
    firstWaitMs = bodies[0]?.waitMs;
    assert.equal(copies, 0, 'the first attempt copied the request');
    assert.equal((await world.settle(reply)).type, 'range');
  } finally {
    Object.assign = assign;
  }
  assert.equal(bodies.length, 2, 'one attempt on the silent replica, one retry');
  assert.notEqual(bodies[1], bodies[0], 'the retry sent a body of its own');
  assert.equal(bodies[0]!.waitMs, firstWaitMs, 'the retry changed the first body after it was sent');
  assert.equal(typeof bodies[1]!.waitMs, 'number');
  assert.deepEqual({ ...bodies[0], waitMs: undefined }, { ...bodies[1], waitMs: undefined }, 'both attempts carry the same request');
});

const range = (revision: number, value: string): ClientReply => ({ type: 'range', header: { revision }, kvs: [{ key: 'k', value, createRevision: 1, modRevision: revision, version: 1, lease: 0 }], more: false, count: 1 });

test('with a local replica, serializable reads are answered by it however stale, linearizable reads and writes by the leader; a silent local replica costs a serializable read one attempt, not the leader hint', async () => {
  // etcd-1 is a follower behind the leader (it has revision 3, the leader 9), as an etcd member a client is connected to may be.
  let localSilent = false;
  const world = new World({
    'etcd-0': (request) => ({ afterMs: 2, reply: request.type === 'range' ? range(9, 'new') : put(10) }),
    'etcd-1': (request) => (localSilent ? 'silent' : request.type === 'range' && request.serializable === true ? { afterMs: 1, reply: range(3, 'old') } : { afterMs: 2, reply: { type: 'notLeader', leader: 'etcd-0' } }),
    'etcd-2': notLeader,
  });
  const client = new ReplicatedKvClient(world.host, { replicas: ['etcd-0', 'etcd-1', 'etcd-2'], localReplica: 'etcd-1' });
  assert.equal(client.leaderHint, 'etcd-1', 'the first call starts at the local replica');
  assert.equal((await world.settle(client.put('k', 'new'))).type, 'put');
  assert.equal(client.leaderHint, 'etcd-0');
  const stale = await world.settle(client.range('k', { serializable: true }));
  assert.equal(stale.kvs[0]!.value, 'old', 'the serializable read is the local replica\'s, stale as it is');
  assert.equal(world.asked.at(-1)!.to, 'etcd-1');
  const fresh = await world.settle(client.range('k'));
  assert.equal(fresh.kvs[0]!.value, 'new', 'a linearizable read is the leader\'s');
  assert.equal(world.asked.at(-1)!.to, 'etcd-0');
  localSilent = true;
  const fallback = await world.settle(client.range('k', { serializable: true }));
  assert.equal(fallback.kvs[0]!.value, 'new', 'the local replica silent: the read is answered elsewhere');
  assert.deepEqual(world.asked.slice(-2).map((a) => a.to), ['etcd-1', 'etcd-0'], 'one attempt on the local replica, then the leader');
  assert.equal(client.leaderHint, 'etcd-0', 'the local replica\'s silence did not move the leader hint');
});
