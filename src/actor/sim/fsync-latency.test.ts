import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineBehaviour, unhandled } from '../behaviour.js';
import type { Message } from '../protocol.js';
import { durableCounter } from '../testing/fixtures.js';
import { SimulatedSystem } from './sim-system.js';

type GroupLogMsg =
  | Message<'write', number>
  | Message<'stats', null>;

interface WriteReceipt {
  /** The writer's clock when the write's fsync had returned. */
  durableAtMs: number;
}

interface GroupLogStats {
  fsyncs: number;
  /** How many writes each fsync made durable, in order. */
  batchSizes: number[];
}

/**
 * A log that group-commits as the replicas' Ready loop does: writes that
 * arrive together are appended and fsynced once, in `afterArrivals`, and each
 * is answered after that fsync.
 */
const groupLog = defineBehaviour<GroupLogMsg>(import.meta.url, 'group-log', (ctx) => {
  let pending: Array<{ value: number; answer: (receipt: WriteReceipt) => void }> = [];
  let fsyncs = 0;
  const batchSizes: number[] = [];
  const flush = (): void => {
    const batch = pending;
    pending = [];
    const record = new Uint8Array(4 * batch.length);
    batch.forEach((w, i) => new DataView(record.buffer).setInt32(4 * i, w.value, true));
    ctx.disk.append('log', record);
    ctx.disk.fsync('log');
    fsyncs++;
    batchSizes.push(batch.length);
    const durableAtMs = ctx.now();
    for (const w of batch) w.answer({ durableAtMs });
  };
  return {
    receive(msg) {
      switch (msg.type) {
        case 'write':
          return new Promise<WriteReceipt>((answer) => {
            if (pending.length === 0) ctx.afterArrivals(flush);
            pending.push({ value: msg.body, answer });
          });
        case 'stats':
          return { fsyncs, batchSizes: [...batchSizes] } satisfies GroupLogStats;
        default:
          return unhandled;
      }
    },
  };
});

const WRITES = 10;
/** The writes go out this far apart, more than the network's jitter (none: a fixed 0.1 ms), so each arrives alone. */
const WRITE_SPACING_MS = 0.2;

/** WRITES writes to a group log, one every WRITE_SPACING_MS; its stats once all are answered. */
async function spacedWrites(fsyncLatencyMs: number): Promise<GroupLogStats> {
  const sim = new SimulatedSystem({ seed: 31, latencyMinMs: 0.1, latencyMaxMs: 0.1, fsyncLatencyMs });
  await sim.spawn(groupLog, { name: 'log' });
  const receipts: Promise<WriteReceipt>[] = [];
  for (let i = 0; i < WRITES; i++) {
    receipts.push(sim.ref<GroupLogMsg>('log').ask<WriteReceipt>({ type: 'write', body: i }));
    await sim.runFor(WRITE_SPACING_MS);
  }
  await sim.settle(Promise.all(receipts));
  return sim.settle(sim.ref<GroupLogMsg>('log').ask<GroupLogStats>({ type: 'stats', body: null }));
}

describe('fsync latency in the simulated disk', () => {
  test('writes that arrive while an fsync runs wait for it and share the next one (group commit)', async () => {
    const instant = await spacedWrites(0);
    const slow = await spacedWrites(2);
    // Without a latency each write, arriving alone, has an fsync of its own.
    assert.deepEqual(instant.batchSizes, Array.from({ length: WRITES }, () => 1));
    // With 2 ms, the first write's fsync (0.1 to 2.1 ms) is still running when the others arrive (0.3 to 1.9 ms): they share the next.
    assert.deepEqual(slow.batchSizes, [1, WRITES - 1]);
  });

  test('what an actor sends after an fsync leaves when the fsync ends, and its clock has moved past it', async () => {
    const sim = new SimulatedSystem({ seed: 32, latencyMinMs: 1, latencyMaxMs: 1, fsyncLatencyMs: 5 });
    await sim.spawn(groupLog, { name: 'log' });
    const t0 = sim.now();
    const receipt = await sim.settle(sim.ref<GroupLogMsg>('log').ask<WriteReceipt>({ type: 'write', body: 1 }));
    // 1 ms to arrive, 5 ms of fsync, 1 ms back.
    assert.equal(receipt.durableAtMs - t0, 6);
    assert.equal(sim.now() - t0, 7);
  });

  test("a disk fault's fsyncDelayMs adds to the disk's own latency", async () => {
    const sim = new SimulatedSystem({ seed: 33, latencyMinMs: 1, latencyMaxMs: 1, fsyncLatencyMs: 2 });
    await sim.spawn(groupLog, { name: 'log' });
    await sim.faults.disk('log', { fsyncDelayMs: 10 });
    const t0 = sim.now();
    const receipt = await sim.settle(sim.ref<GroupLogMsg>('log').ask<WriteReceipt>({ type: 'write', body: 1 }));
    assert.equal(receipt.durableAtMs - t0, 1 + 2 + 10);
  });

  test('messages already due when an actor asks for afterArrivals are all handled before it runs', async () => {
    // A paused actor's mail is delivered at one instant when it resumes, as frames waiting on a port are.
    const sim = new SimulatedSystem({ seed: 34 });
    await sim.spawn(groupLog, { name: 'log' });
    await sim.faults.pause('log');
    const receipts = Array.from({ length: 5 }, (_, i) => sim.ref<GroupLogMsg>('log').ask<WriteReceipt>({ type: 'write', body: i }, { timeoutMs: 60_000 }));
    await sim.runFor(10);
    await sim.faults.resume('log');
    await sim.settle(Promise.all(receipts));
    const stats = await sim.settle(sim.ref<GroupLogMsg>('log').ask<GroupLogStats>({ type: 'stats', body: null }));
    assert.deepEqual(stats.batchSizes, [5]);
  });

  test('an actor killed inside its fsync sends nothing after it; what it synced survives a crash that loses unsynced writes', async () => {
    const sim = new SimulatedSystem({ seed: 35, latencyMinMs: 1, latencyMaxMs: 1, fsyncLatencyMs: 5 });
    await sim.spawn(durableCounter, { name: 'c' });
    assert.equal(await sim.settle(sim.ref('c').ask({ type: 'inc', body: 5 })), 5);
    await sim.faults.disk('c', { loseUnsyncedOnCrash: true });
    const droppedBefore = sim.dropped;
    const late = sim.ref('c').ask({ type: 'inc', body: 7 }, { timeoutMs: 60_000 });
    late.catch(() => undefined);
    // The increment arrives after 1 ms and is fsynced until 6 ms: kill the counter at 3 ms.
    await sim.runFor(3);
    await sim.faults.restart('c');
    await assert.rejects(sim.settle(late));
    await sim.runFor(10);
    assert.equal(sim.dropped - droppedBefore, 1, 'the answer the dead incarnation would have sent after its fsync never left');
    // The fsync had been issued: its write is on the disk (a real one may or may not have kept it; keeping it is allowed).
    assert.equal(await sim.settle(sim.ref('c').ask({ type: 'get', body: null })), 12);
  });

  test('the same seed replays the same trace with fsync latency', async () => {
    const trace = async (): Promise<string> => {
      const sim = new SimulatedSystem({ seed: 36, latencyMinMs: 0.05, latencyMaxMs: 3, fsyncLatencyMs: 2 });
      await sim.spawn(groupLog, { name: 'log' });
      const receipts = Array.from({ length: 50 }, (_, i) => sim.ref<GroupLogMsg>('log').ask<WriteReceipt>({ type: 'write', body: i }));
      await sim.settle(Promise.all(receipts));
      return sim.traceHash();
    };
    assert.equal(await trace(), await trace());
  });

  test('a negative or infinite latency is refused', () => {
    assert.throws(() => new SimulatedSystem({ seed: 1, fsyncLatencyMs: -1 }), /fsyncLatencyMs/);
    assert.throws(() => new SimulatedSystem({ seed: 1, fsyncLatencyMs: Infinity }), /fsyncLatencyMs/);
  });
});
