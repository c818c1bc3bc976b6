import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { FrameDecoder, FrameEncoder } from '../codec.js';
import { AskTimeoutError } from '../errors.js';
import { createLogger } from '../log.js';
import { Prng } from '../prng.js';
import { REPLY_TYPE } from '../protocol.js';
import { Router } from './router.js';

const ME = 1;
const PEER = 2;

/** A router of thread ME with one peer thread, whose port end the test plays by hand; closed after the test. */
function routerWithPeer(t: TestContext) {
  const router = new Router(ME, createLogger({ level: 'fatal' }), new Prng(1), undefined);
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
      posted.push(threadId);
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
