import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'msgpackr';
import { FrameDecoder, FrameEncoder } from './codec.js';
import { StoredJsonEvent, StoredJsonReply } from './json-event.js';
import type { Envelope } from './protocol.js';

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

test('a watch event carrying its object\'s stored JSON arrives as the plain event, its object parsed and given the resourceVersion', () => {
  const object = { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' }, resourceVersion: '42' }, spec: { nodeName: 'node-7', n: 1.5 } };
  const { resourceVersion: _, ...metadata } = object.metadata;
  const stored = JSON.stringify({ ...object, metadata });
  const event = new StoredJsonEvent('MODIFIED', object, stored, '42');
  assert.deepEqual(Object.keys(event), ['type', 'object'], 'within a thread it is the plain event');
  const batch: Envelope[] = [{ to: 'b', from: 'a', type: 'api.watchEvents', corr: 0, body: { events: [event, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '43' } } }] } }];
  const result = new FrameDecoder().decode(new FrameEncoder().encode(batch));
  assert.ok(result.ok);
  const events = (result.envelopes[0]!.body as { events: unknown[] }).events;
  assert.deepEqual(events[0], { type: 'MODIFIED', object });
  assert.equal(JSON.stringify(events[0]), JSON.stringify({ type: 'MODIFIED', object }));
  assert.deepEqual(events[1], { type: 'BOOKMARK', object: { metadata: { resourceVersion: '43' } } });
});

test('a malformed stored-JSON watch event fails its frame, not the thread', () => {
  const bad = new StoredJsonEvent('ADDED', {}, '{"metadata": ', '1');
  const result = new FrameDecoder().decode(new FrameEncoder().encode([{ to: 'b', from: 'a', type: 'api.watchEvents', corr: 0, body: { events: [bad] } }]));
  assert.equal(result.ok, false);
  const noMetadata = new StoredJsonEvent('ADDED', {}, '[1]', '1');
  assert.equal(new FrameDecoder().decode(new FrameEncoder().encode([{ to: 'b', from: 'a', type: 't', corr: 0, body: noMetadata }])).ok, false);
});

test('the answer to a write carrying the stored JSON arrives as the plain reply, its body parsed and given the resourceVersion', () => {
  const body = { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'web-1', namespace: 'default', resourceVersion: '9' }, status: { phase: 'Running' } };
  const reply = new StoredJsonReply(201, body, '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1","namespace":"default"},"status":{"phase":"Running"}}', '9');
  assert.deepEqual(Object.keys(reply), ['ok', 'code', 'body'], 'within a thread it is the plain reply');
  const result = new FrameDecoder().decode(new FrameEncoder().encode([{ to: 'b', from: 'a', type: '$reply', corr: 3, body: reply }]));
  assert.ok(result.ok);
  assert.equal(JSON.stringify(result.envelopes[0]!.body), JSON.stringify({ ok: true, code: 201, body }));
  assert.equal(Object.getPrototypeOf(result.envelopes[0]!.body), Object.prototype);
});

test('a binary value is decoded as a copy: the frame\'s buffer can be reused at once', () => {
  const body = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const scratch = new Uint8Array(new FrameEncoder().encode([{ to: 'b', from: 'a', type: 'blob', corr: 0, body }]));
  const result = new FrameDecoder().decode(scratch);
  assert.ok(result.ok);
  scratch.fill(0); // the router copies the next ring record over it
  assert.deepEqual(result.envelopes[0]!.body, body);
});

test('frames are encoded in one reused buffer: no new ArrayBuffer per few frames', () => {
  const encoder = new FrameEncoder();
  const body = { pod: 'default/web-1', text: 'x'.repeat(1500) };
  const buffers = new Set<ArrayBufferLike>();
  for (let i = 0; i < 1_000; i++) buffers.add(encoder.encodeView([{ to: 'b', from: 'a', type: 'bind', corr: i, body }]).buffer);
  // msgpackr's default leaves each result in place: a new 8 KiB buffer every five frames of this size.
  assert.ok(buffers.size <= 2, `${buffers.size} buffers for 1,000 frames`);
});
