import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pack } from 'msgpackr';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { FrameDecoder, FrameEncoder } from '../codec.js';
import { AskTimeoutError } from '../errors.js';
import { createLogger } from '../log.js';
import { Prng } from '../prng.js';
import type { ActorCell } from '../cell.js';
import { REPLY_TYPE, type Envelope } from '../protocol.js';
import { Router, type RouterOptions } from './router.js';

const ME = 1;
const PEER = 2;

/** A router of thread ME with one peer thread, whose port end the test plays by hand; closed after the test. */
function routerWithPeer(t: TestContext) {
  // Rings off: the test reads and writes the frames on the port itself.
  const router = new Router(ME, createLogger({ level: 'fatal' }), new Prng(1), undefined, { ringBytesMax: 0 });
  const { port1: mine, port2: peer } = new MessageChannel();
  router.connect(PEER, mine);
  router.setDirectory([['asker', ME], ['peer', PEER]]);
  t.after(() => {
    router.close();
    peer.close();
  });
  return { router, peer };
}

/** Keeps this thread busy, as a long turn or a GC pause does: nothing else of the event loop runs meanwhile. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

test('a reply that reached the port while the thread was busy past the ask\'s timeout answers the ask: the timer does not win a race it lost', async (t) => {
  const { router, peer } = routerWithPeer(t);
  const answer = router.makeRef('peer', 'asker').ask<number>({ type: 'question', body: null }, { timeoutMs: 20 });
  router.flushOutboxes();
  // The peer's side, synchronously: read the ask, send the reply at once.
  const sent = receiveMessageOnPort(peer);
  assert.ok(sent !== undefined, 'the ask left');
  const decoded = new FrameDecoder().decode(sent.message as Uint8Array);
  assert.ok(decoded.ok);
  const ask = decoded.envelopes[0]!;
  const reply = new FrameEncoder().encode([{ to: 'asker', from: 'peer', type: REPLY_TYPE, corr: ask.corr, body: { ok: true, value: 42 } }]);
  peer.postMessage(reply, [reply.buffer as ArrayBuffer]);
  // The reply now waits in this thread's port; the thread stays busy well past the ask's 20 ms.
  busyFor(200);
  assert.equal(await answer, 42);
});

test('an ask with no reply still times out', async (t) => {
  const { router } = routerWithPeer(t);
  const answer = router.makeRef('peer', 'asker').ask<number>({ type: 'question', body: null }, { timeoutMs: 20 });
  await assert.rejects(answer, AskTimeoutError);
});

test('a reply settled in a turn after its first send leaves in the same flush, and before the frames without a reply', async (t) => {
  const router = new Router(ME, createLogger({ level: 'fatal' }), new Prng(1), undefined);
  const posted: number[] = [];
  const channels = [PEER, 3].map((threadId) => {
    const { port1: mine, port2: theirs } = new MessageChannel();
    // The router's end, recording which thread each frame is posted to, in order.
    const post = mine.postMessage.bind(mine);
    mine.postMessage = (frame: unknown, transfer?: readonly ArrayBuffer[]) => {
      // A frame's ring notice and wake-up are two posts; the order between threads is what counts.
      if (posted.at(-1) !== threadId) posted.push(threadId);
      post(frame, transfer as ArrayBuffer[]);
    };
    router.connect(threadId, mine);
    return { mine, theirs };
  });
  router.setDirectory([['me', ME], ['peer', PEER], ['client', 3]]);
  t.after(() => {
    router.close();
    for (const c of channels) {
      c.mine.close();
      c.theirs.close();
    }
  });
  // One turn, as a Raft leader's drain: a message to a peer, then a put applied whose promise's reaction
  // (one microtask later) sends the client its reply.
  router.route({ to: 'peer', from: 'me', type: 'raft', corr: 0, body: null });
  void Promise.resolve().then(() => router.route({ to: 'client', from: 'me', type: REPLY_TYPE, corr: 7, body: { ok: true, value: 1 } }));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(posted, [3, PEER], 'the reply first, and both in one flush');
});

/**
 * Two routers of this thread joined by a MessageChannel, as two threads' are: `sender` (thread ME) sends to the
 * actor `sink` of `receiver` (thread PEER), whose cell records each body; `onDeliver` runs inside a delivery.
 */
function routerPair(t: TestContext, options: RouterOptions, onDeliver?: (body: unknown) => void) {
  const log = createLogger({ level: 'fatal' });
  const sender = new Router(ME, log, new Prng(1), undefined, options);
  const receiver = new Router(PEER, log, new Prng(2), undefined, options);
  const channels: MessageChannel[] = [];
  const join = () => {
    const channel = new MessageChannel();
    channels.push(channel);
    sender.connect(PEER, channel.port1);
    receiver.connect(ME, channel.port2);
  };
  join();
  for (const router of [sender, receiver]) router.setDirectory([['src', ME], ['sink', PEER]]);
  const got: unknown[] = [];
  const cell = { state: 'running', deliver: (envelope: Envelope) => (got.push(envelope.body), onDeliver?.(envelope.body)) };
  receiver.local.set('sink', { cell: cell as unknown as ActorCell, paused: false, held: [] });
  const send = (body: unknown) => {
    sender.route({ to: 'sink', from: 'src', type: 'n', corr: 0, body });
    sender.flushOutboxes(); // one frame each
  };
  /** Let the event loop deliver what is on the port until `got` has `count` bodies (bounded: a lost frame fails, not hangs). */
  const received = async (count: number) => {
    for (let turn = 0; turn < 10_000 && got.length < count; turn++) await new Promise((resolve) => setImmediate(resolve));
    return got;
  };
  t.after(() => {
    sender.close();
    receiver.close();
    for (const c of channels) c.port1.close();
  });
  return { sender, receiver, got, send, received, rejoin: () => (sender.disconnect(PEER), receiver.disconnect(ME), join()) };
}

test('frames arrive in order across ring wrap-arounds, ring growth and frames that found no room and went transferred', async (t) => {
  const { sender, send, received } = routerPair(t, { ringBytesMin: 256, ringBytesMax: 1024 });
  let sent = 0;
  for (let round = 0; round < 60; round++) {
    // A burst the receiver cannot read until we yield: the ring fills, grows, then overflows to the port.
    for (let k = 0; k < 1 + ((round * 7) % 40); k++) send({ i: sent++, pad: 'x'.repeat((sent * 13) % 70) });
    if (round % 3 !== 0) await received(sent);
  }
  const got = await received(sent);
  assert.deepEqual(got.map((b) => (b as { i: number }).i), Array.from({ length: sent }, (_, i) => i));
  assert.ok(sender.stats.framesSentTransferred > 0, 'some frames found the ring full');
  // A record here is at least 24 bytes (header, the envelope's strings and record definitions): 10 KB is ten rounds.
  assert.ok(sender.stats.framesSentViaRing * 24 > 10 * 1024, `the ring went round many times (${sender.stats.framesSentViaRing} frames)`);
  assert.equal(sender.stats.ringBytes, 1024, 'grown from 256 to its largest, 1,024');
  assert.equal(sender.stats.framesSentViaRing + sender.stats.framesSentTransferred, sent);
});

test('a frame larger than the largest ring goes as a transferred buffer, counted, in its place', async (t) => {
  const { sender, receiver, send, received } = routerPair(t, { ringBytesMin: 256, ringBytesMax: 1024 });
  // Bytes msgpackr packed elsewhere in this thread (as the store packs its entries): a view into the buffer every
  // Packr of the thread shares, the one the frame encoder packs into too.
  const packedElsewhere = pack({ entry: 1 });
  send('small-1');
  send('big'.repeat(500));
  // The transferred frame must be a copy, not a view of that shared buffer (a Node Buffer's slice() is a view):
  // transferring the view detached the buffer, and the next frame holding bytes packed in it threw (a store
  // leader's appends, in the first density run).
  send({ small: 2, bytes: packedElsewhere });
  send('big'.repeat(501));
  send('small-3');
  const got = await received(5);
  assert.deepEqual(got.map((b) => (typeof b === 'object' ? JSON.stringify({ ...b, bytes: [...(b as { bytes: Uint8Array }).bytes] }) : b)), [
    'small-1',
    'big'.repeat(500),
    JSON.stringify({ small: 2, bytes: [...unpackedCopy(packedElsewhere)] }),
    'big'.repeat(501),
    'small-3',
  ]);
  assert.equal(sender.stats.framesSentTransferred, 2);
  assert.equal(sender.stats.framesSentViaRing, 3);
  assert.equal(receiver.stats.framesReceived, 5);
});

test('a frame written while the receiver reads earlier records is read too: no lost wake-up', async (t) => {
  let sendFromInside: ((body: unknown) => void) | undefined;
  const { sender, send, received } = routerPair(t, { ringBytesMin: 1024 }, (body) => {
    // Inside the first delivery the second record is written and unread: this write wakes nobody.
    if (body === 'first') sendFromInside?.('third');
  });
  sendFromInside = send;
  // The ring made and announced first: its notice, read before the first wake, would read the ring too.
  send('zero');
  assert.deepEqual(await received(1), ['zero']);
  send('first'); // wakes the receiver
  send('second'); // the first is unread: no wake
  assert.deepEqual(await received(4), ['zero', 'first', 'second', 'third']);
  assert.equal(sender.stats.ringWakesSent, 2, 'one wake-up for the last three');
});

test('a thread connected again gets fresh rings: nothing of the old link is read on the new one', async (t) => {
  const { sender, receiver, send, received, rejoin } = routerPair(t, { ringBytesMin: 1024 });
  send('before-1');
  assert.deepEqual(await received(1), ['before-1']);
  // Written, woken, never read: the receiving thread dies before it gets to them.
  send('lost-1');
  send('lost-2');
  rejoin();
  send('after-1');
  send('after-2');
  const got = await received(3);
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(got, ['before-1', 'after-1', 'after-2']);
  assert.equal(sender.stats.ringBytes, 1024, 'the old link\'s ring dropped, a new one made');
  assert.equal(receiver.stats.framesReceived, 3);
  assert.equal(receiver.stats.decodeFailures, 0);
});

function unpackedCopy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}

/**
 * A router of thread `hubId` linked to one router per spoke thread (ports connected in the spokes' order), every
 * router given `directory`; all closed after the test.
 */
function hubAndSpokes(t: TestContext, hubId: number, spokeIds: readonly number[], directory: [string, number][]) {
  const log = createLogger({ level: 'fatal' });
  const hub = new Router(hubId, log, new Prng(1), undefined);
  const spokes = spokeIds.map((threadId) => {
    const router = new Router(threadId, log, new Prng(threadId), undefined);
    const channel = new MessageChannel();
    router.connect(hubId, channel.port1);
    hub.connect(threadId, channel.port2);
    t.after(() => (router.close(), channel.port1.close()));
    return router;
  });
  t.after(() => hub.close());
  for (const router of [hub, ...spokes]) router.setDirectory(directory);
  return { hub, spokes };
}

/** Puts an actor `name` on `router` that records every message it gets as `${label(envelope)}` in `got`. */
function recorder(router: Router, name: string, got: string[], label: (envelope: Envelope) => string): void {
  const cell = { state: 'running', deliver: (envelope: Envelope) => got.push(label(envelope)) };
  router.local.set(name, { cell: cell as unknown as ActorCell, paused: false, held: [] });
}

test('a thread that reads its store first handles the store\'s frames before the clients\' that woke it earlier (readFirstFrom)', async (t) => {
  const STORE = 3;
  const CLIENT = 4;
  /** One run: a client thread and a store thread each send to `sink` on thread ME, the client first; the order `sink` got them. */
  const run = async (readFirst: readonly string[]) => {
    // The client's port connected first: here Node reads the ports with messages waiting in the order they were
    // connected, so without readFirstFrom the client's frames are read first (the second run pins it).
    const { hub: receiver, spokes } = hubAndSpokes(t, ME, [CLIENT, STORE], [['sink', ME], ['store', STORE], ['client', CLIENT]]);
    const got: string[] = [];
    recorder(receiver, 'sink', got, (envelope) => `${envelope.from} ${String(envelope.body)}`);
    receiver.readFirstFrom('sink', readFirst);
    const [client, store] = spokes as [Router, Router];
    const send = (router: Router, from: string, body: string) => {
      router.route({ to: 'sink', from, type: 'n', corr: 0, body });
      router.flushOutboxes();
    };
    const settle = async (count: number) => {
      for (let turn = 0; turn < 10_000 && got.length < count; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    // Each pair's ring made and announced (its notice reads the ring too), then emptied.
    send(client, 'client', 'hello');
    send(store, 'store', 'hello');
    await settle(2);
    got.length = 0;
    // Two frames from the client, then two from the store, all before the receiving thread gets to read any.
    send(client, 'client', '1');
    send(client, 'client', '2');
    send(store, 'store', '1');
    send(store, 'store', '2');
    await settle(4);
    return got;
  };
  assert.deepEqual(await run(['store']), ['store 1', 'store 2', 'client 1', 'client 2']);
  assert.deepEqual(await run([]), ['client 1', 'client 2', 'store 1', 'store 2'], 'without it, in the order the frames woke the thread');
});

test('flushOutboxesOf posts only the named actors\' threads; the rest waits for the turn\'s flush', async (t) => {
  const FOLLOWER = 3;
  const API = 4;
  const { hub: leader, spokes } = hubAndSpokes(t, ME, [FOLLOWER, API], [['leader', ME], ['follower', FOLLOWER], ['api', API]]);
  const got: string[] = [];
  recorder(spokes[0]!, 'follower', got, (envelope) => `follower ${String(envelope.body)}`);
  recorder(spokes[1]!, 'api', got, (envelope) => `api ${String(envelope.body)}`);
  const settle = async (count: number) => {
    for (let turn = 0; turn < 10_000 && got.length < count; turn++) await new Promise((resolve) => setImmediate(resolve));
  };
  // Both queued in one turn; the follower's posted at once, the API server's still queued when the turn goes on.
  const queued = (leader as unknown as { outboxes: Map<number, Envelope[]> }).outboxes;
  leader.route({ to: 'api', from: 'leader', type: 'n', corr: 0, body: 'answer' });
  leader.route({ to: 'follower', from: 'leader', type: 'n', corr: 0, body: 'append' });
  leader.flushOutboxesOf(['follower']);
  assert.equal(queued.get(FOLLOWER)?.length ?? 0, 0, 'the follower\'s frame has left');
  assert.equal(queued.get(API)?.length, 1, 'the API server\'s answer waits for the turn\'s flush');
  leader.flushOutboxes();
  await settle(2);
  assert.deepEqual(got.sort(), ['api answer', 'follower append']);
});
