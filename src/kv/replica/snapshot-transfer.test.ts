import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message as RaftMessage } from '../../raft/protocol.js';
import { SnapshotReceiver, SnapshotSender, type SnapshotChunk, type SnapshotTransferOptions } from './snapshot-transfer.js';

type SnapMessage = Extract<RaftMessage, { type: 'msgSnap' }>;
const OPTIONS: SnapshotTransferOptions = { chunkBytes: 10, window: 3, resendAfterTicks: 5, abandonAfterTicks: 50 };

function snap(index: number, size: number): SnapMessage {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + index) & 0xff);
  return { type: 'msgSnap', from: 1, to: 2, term: 3, snapshot: { metadata: { index, term: 3, confState: { voters: [1, 2, 3], learners: [] } }, data } };
}

/** A link from a sender (id 1) to a receiver (id 2) that loses the chunks `lose` says to. */
function link(lose: (chunk: SnapshotChunk, n: number) => boolean = () => false) {
  const wire: SnapshotChunk[] = [];
  let n = 0;
  const sender = new SnapshotSender((to, chunk) => {
    assert.equal(to, 2);
    if (!lose(chunk, n++)) wire.push(chunk);
  }, OPTIONS);
  const receiver = new SnapshotReceiver();
  const delivered: SnapMessage[] = [];
  const pump = (tick: number): void => {
    while (wire.length > 0) {
      const { ack, complete } = receiver.onChunk(1, wire.shift()!);
      if (complete !== undefined) delivered.push(complete);
      sender.onAck(2, ack, tick);
    }
  };
  return { sender, receiver, wire, delivered, pump, sent: () => n };
}

describe('snapshot transfer in chunks', () => {
  test('a snapshot arrives whole, in order, never more than the window ahead of the acknowledgements', () => {
    const l = link();
    const msg = snap(100, 95);
    assert.ok(l.sender.chunked(msg));
    l.sender.start(msg, 0);
    assert.equal(l.wire.length, 3, 'the window: three chunks before any acknowledgement');
    l.pump(0);
    assert.equal(l.delivered.length, 1);
    assert.deepEqual(l.delivered[0], msg);
    assert.equal(l.sent(), 10, 'ten chunks of 10 bytes for 95 bytes, each sent once');
    assert.deepEqual(l.sender.inFlight(), []);
  });

  test('lost chunks are sent again after the resend timeout, and the snapshot still arrives exactly', () => {
    const l = link((_, n) => n === 4 || n === 5);
    const msg = snap(100, 95);
    l.sender.start(msg, 0);
    l.pump(0);
    assert.equal(l.delivered.length, 0, 'stalled at the lost chunk: the ones after it were refused, not kept out of order');
    for (let tick = 1; tick <= 10 && l.delivered.length === 0; tick++) {
      l.sender.onTick(tick);
      l.pump(tick);
    }
    assert.deepEqual(l.delivered, [msg]);
  });

  test('Raft sending the same snapshot again does not restart it; a newer one replaces it', () => {
    const l = link();
    l.sender.start(snap(100, 95), 0);
    const before = l.sent();
    l.sender.start(snap(100, 95), 1);
    assert.equal(l.sent(), before, 'the same snapshot: nothing new sent');
    l.sender.start(snap(200, 35), 2);
    assert.equal(l.sender.inFlight()[0]!.transfer, '1-3-200');
    l.wire.splice(0, l.wire.length - 3);
    l.pump(2);
    assert.deepEqual(l.delivered, [snap(200, 35)]);
  });

  test('a follower that lost a partial transfer (it restarted) is sent it again from the start', () => {
    const l = link();
    const msg = snap(100, 95);
    l.sender.start(msg, 0);
    l.pump(0);
    const fresh = new SnapshotReceiver();
    const wire: SnapshotChunk[] = [];
    const sender = new SnapshotSender((_, chunk) => wire.push(chunk), OPTIONS);
    sender.start(msg, 0);
    const first = wire.splice(0, wire.length);
    for (const chunk of first) sender.onAck(2, fresh.onChunk(1, chunk).ack, 0);
    // The receiver restarts: a new one, which has nothing. The sender's next chunks are answered "from 0".
    const restarted = new SnapshotReceiver();
    let delivered: SnapMessage | undefined;
    for (let tick = 1; tick < 40 && delivered === undefined; tick++) {
      sender.onTick(tick);
      while (wire.length > 0) {
        const { ack, complete } = restarted.onChunk(1, wire.shift()!);
        delivered ??= complete;
        sender.onAck(2, ack, tick);
      }
    }
    assert.deepEqual(delivered, msg);
  });

  test('a lost last acknowledgement: the resent chunk is answered as complete, and the sender stops', () => {
    const l = link();
    const msg = snap(100, 25);
    l.sender.start(msg, 0);
    const chunks = l.wire.splice(0, l.wire.length);
    for (const chunk of chunks) l.receiver.onChunk(1, chunk);
    assert.equal(l.sender.inFlight().length, 1, 'no acknowledgement reached the sender');
    l.sender.onTick(5);
    l.pump(5);
    assert.deepEqual(l.sender.inFlight(), []);
  });

  test('a silent follower is given up on after the abandon timeout', () => {
    const l = link(() => true);
    l.sender.start(snap(100, 95), 0);
    for (let tick = 1; tick <= 50; tick++) l.sender.onTick(tick);
    assert.deepEqual(l.sender.inFlight(), []);
  });
});
