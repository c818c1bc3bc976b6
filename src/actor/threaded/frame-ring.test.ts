import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameRing, recordBytes } from './frame-ring.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

test('a ring hands records back in order across many wrap-arounds, byte for byte', () => {
  const buffer = FrameRing.create(256).buffer;
  const writer = FrameRing.writer(buffer);
  const reader = FrameRing.reader(buffer);
  const scratch = { bytes: new Uint8Array(1) };
  let written = 0;
  let read = 0;
  let wrappedBytes = 0;
  for (let round = 0; round < 200; round++) {
    // Sizes that do not divide the capacity, so records straddle the end and a wrap marker is written.
    for (let k = 0; k < 1 + (round % 4); k++) {
      const size = 1 + ((written * 37) % 90);
      const outcome = writer.write(bytes(size, written & 0xff), 0);
      if (outcome === 'full') break;
      wrappedBytes += recordBytes(size);
      written++;
    }
    for (;;) {
      const record = reader.read(0, scratch);
      if (record.kind === 'empty') break;
      assert.equal(record.kind, 'frame');
      if (record.kind !== 'frame') return;
      assert.deepEqual(record.bytes, bytes(1 + ((read * 37) % 90), read & 0xff), `record ${read}`);
      read++;
    }
  }
  assert.equal(read, written);
  assert.ok(wrappedBytes > 20 * 256, `the ring went round ${Math.floor(wrappedBytes / 256)} times`);
});

test('a write says to wake the reader only when the reader had read everything before it', () => {
  const buffer = FrameRing.create(256).buffer;
  const writer = FrameRing.writer(buffer);
  const reader = FrameRing.reader(buffer);
  const scratch = { bytes: new Uint8Array(1) };
  assert.equal(writer.write(bytes(10, 1), 0), 'wake');
  assert.equal(writer.write(bytes(10, 2), 0), 'written', 'the first is unread: the reader will come to the second');
  assert.equal(reader.read(0, scratch).kind, 'frame');
  assert.equal(writer.write(bytes(10, 3), 0), 'written', 'the second is still unread');
  assert.equal(reader.read(0, scratch).kind, 'frame');
  assert.equal(reader.read(0, scratch).kind, 'frame');
  assert.equal(reader.read(0, scratch).kind, 'empty');
  assert.equal(writer.write(bytes(10, 4), 0), 'wake', 'all read: the reader may be idle');
});

test('a record that does not fit is refused whole, and fits once the reader has made room', () => {
  const buffer = FrameRing.create(128).buffer;
  const writer = FrameRing.writer(buffer);
  const reader = FrameRing.reader(buffer);
  const scratch = { bytes: new Uint8Array(1) };
  assert.equal(writer.write(bytes(100, 1), 0), 'wake');
  assert.equal(writer.write(bytes(40, 2), 0), 'full');
  assert.equal(writer.write(bytes(200, 3), 0), 'full', 'larger than the ring');
  assert.equal(reader.read(0, scratch).kind, 'frame');
  assert.equal(writer.write(bytes(40, 2), 0), 'wake');
  const record = reader.read(0, scratch);
  assert.ok(record.kind === 'frame');
  assert.deepEqual(record.bytes, bytes(40, 2));
});

test('a record written after a port frame waits until the reader has read that many port frames', () => {
  const buffer = FrameRing.create(256).buffer;
  const writer = FrameRing.writer(buffer);
  const reader = FrameRing.reader(buffer);
  const scratch = { bytes: new Uint8Array(1) };
  writer.write(bytes(8, 1), 0);
  writer.write(bytes(8, 2), 1);
  assert.equal(reader.read(0, scratch).kind, 'frame');
  assert.deepEqual(reader.read(0, scratch), { kind: 'barrier', portFramesBefore: 1 });
  assert.equal(reader.read(0, scratch).kind, 'barrier', 'still waiting: nothing was consumed');
  const after = reader.read(1, scratch);
  assert.ok(after.kind === 'frame');
  assert.deepEqual(after.bytes, bytes(8, 2));
});
