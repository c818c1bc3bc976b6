import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack, unpack } from 'msgpackr';
import { FrameDecoder, FrameEncoder, SHARED_FRAME_TAG, SHARED_SEARCH_DEPTH } from './codec.js';
import type { Envelope } from './protocol.js';
import { markShared } from './shared.js';

const envelope = (i: number): Envelope => ({ to: 'b', from: 'a', type: 'bind', corr: i % 3, body: { pod: `default/web-${i}`, node: 'node-7' } });

test('a batch round-trips through one frame', () => {
  const batch = Array.from({ length: 300 }, (_, i) => envelope(i));
  const result = new FrameDecoder().decode(new FrameEncoder().encode(batch));
  assert.ok(result.ok);
  assert.deepEqual(result.envelopes, batch);
});

test('each frame decodes on its own, so a bad frame does not poison the next', () => {
  const encoder = new FrameEncoder();
  const decoder = new FrameDecoder();
  const first = encoder.encode([envelope(1)]);
  const second = encoder.encode([envelope(2)]);
  assert.equal(decoder.decode(new Uint8Array([0xc1])).ok, false);
  const truncated = decoder.decode(second.subarray(0, second.length - 3));
  assert.equal(truncated.ok, false);
  const fresh = new FrameDecoder().decode(second);
  assert.ok(fresh.ok && fresh.envelopes[0]!.body !== undefined);
  const again = decoder.decode(first);
  assert.ok(again.ok);
  assert.deepEqual(again.envelopes, [envelope(1)]);
});

test('envelopes of the wrong shape are counted, the rest delivered', () => {
  const frame = new FrameEncoder().encode([envelope(1), { to: 5 } as never, envelope(2)]);
  const result = new FrameDecoder().decode(frame);
  assert.ok(result.ok);
  assert.equal(result.rejected, 1);
  assert.equal(result.envelopes.length, 2);
});

test('a frame that is not an array is refused', () => {
  const result = new FrameDecoder().decode(new Uint8Array(pack({ to: 'x' })));
  assert.equal(result.ok, false);
});

// ---------- shared objects: encoded once per sending thread, decoded once per frame ----------

const pod = (name: string) => markShared({ kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'node-3' } });
const watchEvents = (to: string, objects: object[]): Envelope => ({ to, from: 'apiserver', type: 'api.watchEvents', corr: 0, body: { watchId: `w-${to}`, events: objects.map((object) => ({ type: 'MODIFIED', object })), seq: 1 } });
const listReply = (to: string, items: object[]): Envelope => ({ to, from: 'apiserver', type: '$reply', corr: 7, body: { ok: true, value: { ok: true, code: 200, body: { kind: 'PodList', items } } } });

test('a shared object is encoded once and its bytes reused by every frame that carries it', () => {
  const encoder = new FrameEncoder();
  const decoder = new FrameDecoder();
  const objects = [pod('web-1'), pod('web-2')];
  const frames = ['scheduler-0', 'scheduler-1', 'controller-manager-0'].map((to) => encoder.encode([watchEvents(to, objects)]));
  frames.push(encoder.encode([listReply('probe', objects)]));
  assert.deepEqual(encoder.stats, { sharedEncoded: 2, sharedReused: 6 });
  for (const [i, frame] of frames.entries()) {
    const result = decoder.decode(frame);
    assert.ok(result.ok);
    assert.deepEqual(result.envelopes, [i < 3 ? watchEvents(['scheduler-0', 'scheduler-1', 'controller-manager-0'][i]!, objects) : listReply('probe', objects)]);
  }
});

test('the receivers of one frame share one decoded copy of a shared object', () => {
  const object = pod('web-1');
  const result = new FrameDecoder().decode(new FrameEncoder().encode([watchEvents('kube-proxy-1', [object]), watchEvents('kube-proxy-2', [object])]));
  assert.ok(result.ok);
  const got = result.envelopes.map((e) => (e.body as { events: { object: unknown }[] }).events[0]!.object);
  assert.equal(got[0], got[1]);
  assert.notEqual(got[0], object);
  assert.deepEqual(got[0], object);
});

test('what the sender passed is left as it was: only the containers on the way to a shared object are copied', () => {
  const object = pod('web-1');
  const envelope = watchEvents('scheduler-0', [object]);
  const events = (envelope.body as { events: { object: unknown }[] }).events;
  new FrameEncoder().encode([envelope]);
  assert.equal(events[0]!.object, object);
  assert.deepEqual(envelope, watchEvents('scheduler-0', [object]));
});

test('a shared object deeper than the search depth is encoded in place, and round-trips the same', () => {
  let body: unknown = pod('deep');
  for (let i = 0; i < SHARED_SEARCH_DEPTH + 2; i++) body = { wrapped: body };
  const encoder = new FrameEncoder();
  const result = new FrameDecoder().decode(encoder.encode([{ to: 'b', from: 'a', type: 'deep', corr: 0, body }]));
  assert.ok(result.ok);
  assert.deepEqual(result.envelopes[0]!.body, body);
  assert.equal(encoder.stats.sharedEncoded, 0);
});

test('frames of shared objects that are malformed or refer to no blob are refused, never thrown', () => {
  const frame = new FrameEncoder().encode([watchEvents('scheduler-0', [pod('web-1')])]);
  const decoder = new FrameDecoder();
  const [, , envelopes] = unpack(frame) as [string, Uint8Array[], Uint8Array];
  // The envelopes alone, or with fewer blobs than they refer to; blobs not bytes; a truncated blob.
  assert.equal(decoder.decode(new Uint8Array(pack([SHARED_FRAME_TAG, [], envelopes]))).ok, false);
  assert.equal(decoder.decode(new Uint8Array(envelopes)).ok, false);
  assert.equal(decoder.decode(new Uint8Array(pack([SHARED_FRAME_TAG, 'not blobs', envelopes]))).ok, false);
  assert.equal(decoder.decode(new Uint8Array(pack([SHARED_FRAME_TAG, [new Uint8Array([0x92, 0x01])], envelopes]))).ok, false);
  // The decoder is not left in a bad state: the whole frame still decodes.
  assert.ok(decoder.decode(frame).ok);
});
