import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'msgpackr';
import { FrameDecoder, FrameEncoder } from './codec.js';
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
