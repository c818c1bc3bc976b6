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
