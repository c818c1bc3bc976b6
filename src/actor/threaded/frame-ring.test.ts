// test-lane: threads-only (no listener, no child process: safe beside another io test)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
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

/**
 * The writer in a thread of its own, writing as fast as it can in bursts; this thread reads only when woken. A
 * wake-up lost in a race (the reader going idle just as a record lands) leaves the ring unread for good: the writer
 * finds it full and gives up after its bound, and fewer records arrive than were written.
 */
test('a writer and a reader on two threads: every record read, woken only by the writes that found the ring empty', async () => {
  const recordsTotal = 20_000;
  const ring = FrameRing.create(4096);
  const reader = FrameRing.reader(ring.buffer);
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.module).then(({ FrameRing }) => {
      const writer = FrameRing.writer(workerData.buffer);
      let wakes = 0;
      for (let i = 0; i < workerData.recordsTotal; i++) {
        const frame = new Uint8Array(1 + (i * 61) % 700).fill(i & 0xff);
        let outcome = writer.write(frame, 0);
        // The reader is behind: wait for room, for at most a bound (a lost wake-up never makes room).
        const giveUpAt = Date.now() + 5000;
        while (outcome === 'full' && Date.now() < giveUpAt) outcome = writer.write(frame, 0);
        if (outcome === 'full') { parentPort.postMessage({ stuckAt: i, wakes }); return; }
        if (outcome === 'wake') { wakes++; parentPort.postMessage('wake'); }
      }
      parentPort.postMessage({ done: workerData.recordsTotal, wakes });
    });`,
    { eval: true, workerData: { module: new URL('./frame-ring.js', import.meta.url).href, buffer: ring.buffer, recordsTotal } },
  );
  const scratch = { bytes: new Uint8Array(1) };
  let read = 0;
  let mismatches = 0;
  const outcome = await new Promise<{ done?: number; stuckAt?: number; wakes: number }>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: unknown) => {
      if (message !== 'wake') {
        resolve(message as { done?: number; stuckAt?: number; wakes: number });
        return;
      }
      for (;;) {
        const record = reader.read(0, scratch);
        if (record.kind !== 'frame') break;
        if (record.bytes.length !== 1 + ((read * 61) % 700) || record.bytes[0] !== (read & 0xff)) mismatches++;
        read++;
      }
    });
  });
  await worker.terminate();
  assert.equal(outcome.stuckAt, undefined, `the writer found the ring full for good at record ${outcome.stuckAt}: a wake-up was lost`);
  // Every wake was posted before "done", and each drain read until it found the ring empty: nothing may be left.
  assert.equal(read, recordsTotal);
  assert.equal(mismatches, 0);
  assert.ok(outcome.wakes < recordsTotal, `not every write woke the reader (${outcome.wakes} wakes)`);
});
