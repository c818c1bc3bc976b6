import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineBehaviour, unhandled } from '../actor/behaviour.js';
import type { Message } from '../actor/protocol.js';
import { SimulatedSystem } from '../actor/sim/sim-system.js';
import { describeActivityProblem, judgeLeaderActivity, leaderActivitySender, type LeaderActivity, type LeaderActivityMsg } from './leader-activity.js';

const at = (identity: string, atMs: number, what: LeaderActivity['what'], detail?: string): LeaderActivity => ({
  component: 'kube-scheduler', actor: identity.split('_')[0]!, identity, atMs, what, ...(detail !== undefined ? { detail } : {}),
});

describe('judgeLeaderActivity', () => {
  test('a clean handover (stop, then the other starts) has two terms and no problem', () => {
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 5, 'write'), at('a', 10, 'stopped'), at('b', 20, 'started'), at('b', 25, 'write')]);
    assert.deepEqual(j.problems, []);
    assert.equal(j.terms.length, 2);
    assert.equal(j.writes, 2);
  });

  test('a write inside the other replica\'s active span is an overlap', () => {
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 10, 'write'), at('b', 20, 'started'), at('a', 25, 'write', 'bind p n'), at('b', 30, 'write')]);
    assert.equal(j.problems.length, 1);
    assert.equal(describeActivityProblem(j.problems[0]!), 'a wrote at 25 ms (bind p n) while b was acting as leader');
  });

  test('a write with no term of its own is reported', () => {
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 5, 'stopped'), at('a', 7, 'write')]);
    assert.deepEqual(j.problems.map((p) => p.kind), ['outside-term']);
  });

  test('a paused leader that wakes believing it leads but writes nothing is not an overlap (activity, not belief)', () => {
    // a leads, is paused at 10; b takes over at 40 and writes; a wakes at 60 and only then says it stopped.
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 5, 'write'), at('b', 40, 'started'), at('b', 45, 'write'), at('a', 60, 'stopped')]);
    assert.deepEqual(j.problems, []);
  });

  test('a killed incarnation (no stop) ends at its last write; its successor under a new identity starts clean', () => {
    const j = judgeLeaderActivity([at('a_1', 0, 'started'), at('a_1', 8, 'write'), at('b_1', 30, 'started'), at('b_1', 31, 'write'), at('a_2', 50, 'started')]);
    assert.deepEqual(j.problems, []);
    assert.equal(j.terms.find((t) => t.identity === 'a_1')!.activeUntilMs, 8);
  });
});

type WriterMsg = Message<'go', number>;
type SinkMsg = LeaderActivityMsg | Message<'write', string> | Message<'seen', null>;

/**
 * Makes `n` writes in one turn, each recorded first as a leader does: one in the turn's synchronous part, the rest
 * each one await after the one before (a scheduler's cycles), then one more after a pause of several awaits.
 */
const writer = defineBehaviour<WriterMsg, { batched: boolean }>(import.meta.url, 'activity-writer', (ctx, args) => {
  const send = leaderActivitySender((msg) => ctx.send('sink', msg), args!.batched);
  const write = (detail: string): void => {
    send({ component: 'kube-scheduler', actor: ctx.name, identity: `${ctx.name}_1`, atMs: ctx.now(), what: 'write', detail });
    ctx.send('sink', { type: 'write', body: detail });
  };
  return {
    async receive(msg) {
      if (msg.type !== 'go') return unhandled;
      for (let i = 0; i < msg.body - 1; i++) {
        write(`w${i}`);
        await Promise.resolve();
      }
      for (let i = 0; i < 4; i++) await Promise.resolve();
      write(`w${msg.body - 1}`);
      return undefined;
    },
  };
});

const sink = defineBehaviour<SinkMsg>(import.meta.url, 'activity-sink', () => {
  const batches: string[][] = [];
  const writes: string[] = [];
  /** Every message in arrival order: `record w0` / `write w0`. */
  const order: string[] = [];
  return {
    receive(msg) {
      switch (msg.type) {
        case 'leader.activity':
          batches.push(msg.body.map((r) => r.detail ?? ''));
          order.push(...msg.body.map((r) => `record ${r.detail ?? ''}`));
          return undefined;
        case 'write':
          writes.push(msg.body);
          order.push(`write ${msg.body}`);
          return undefined;
        case 'seen':
          return { batches, writes, order };
        default:
          return unhandled;
      }
    },
  };
});

describe('leaderActivitySender', () => {
  test('records made one await apart leave in one message, in order; one after a pause in the next; none is lost when the writer is killed right after the turn', async () => {
    const sim = new SimulatedSystem({ seed: 7, latencyMinMs: 1, latencyMaxMs: 1 });
    await sim.spawn(sink, { name: 'sink' });
    await sim.spawn(writer, { name: 'writer', args: { batched: true } });
    sim.ref<WriterMsg>('writer').tell({ type: 'go', body: 4 });
    // The go arrives at 1 ms; this kill is the next event at that instant, right after the go's turn.
    sim.schedule(1, () => void sim.faults.kill('writer'));
    await sim.runFor(10);
    const seen = await sim.settle(sim.ref<SinkMsg>('sink').ask<{ batches: string[][]; writes: string[] }>({ type: 'seen', body: null }));
    assert.deepEqual(seen.writes, ['w0', 'w1', 'w2', 'w3'], 'the writes left before the kill');
    assert.deepEqual(seen.batches, [['w0', 'w1', 'w2'], ['w3']], 'every write that left has its record, the first three in one message');
  });

  test('unbatched (threads), each record leaves at once, before the write made after it, in a message of its own', async () => {
    const sim = new SimulatedSystem({ seed: 7, latencyMinMs: 1, latencyMaxMs: 1 });
    await sim.spawn(sink, { name: 'sink' });
    await sim.spawn(writer, { name: 'writer', args: { batched: false } });
    sim.ref<WriterMsg>('writer').tell({ type: 'go', body: 3 });
    await sim.runFor(10);
    const seen = await sim.settle(sim.ref<SinkMsg>('sink').ask<{ batches: string[][]; order: string[] }>({ type: 'seen', body: null }));
    assert.deepEqual(seen.order, ['record w0', 'write w0', 'record w1', 'write w1', 'record w2', 'write w2'], 'a record ahead of its write: one frame on threads holds both, or the record alone');
    assert.deepEqual(seen.batches, [['w0'], ['w1'], ['w2']]);
  });
});
