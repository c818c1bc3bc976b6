/**
 * A leader's new entries leave its thread before it applies what the same Ready committed. On threads a turn's
 * sends go out as one frame per thread at the turn's end; a leader that applied up to a drain's worth of entries
 * (each a store write, its watch events and its answer) before that end held its followers' appends — and so every
 * commit — behind the apply (docs/performance.md, "A leader's appends posted before its apply"). Only the
 * followers' threads are posted early: the turn's answers and watch events for other threads keep their one frame.
 *
 * The simulated runtime has no frames to post (`flushSends` is the threaded router's); a test host that records
 * it beside every routed envelope shows the order the replica asks for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Envelope } from '../../actor/protocol.js';
import { REPLY_TYPE } from '../../actor/protocol.js';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import { kvClientActor, type KvClientActorMsg, type KvOpResult } from '../client/client-actor.js';
import { groupStatus, spawnEtcdGroup } from './group.js';
import type { ReplicaStatus } from './protocol.js';

type Event = { kind: 'append'; from: string; to: string } | { kind: 'reply'; from: string } | { kind: 'flush'; to: readonly string[] | undefined };

/** A simulated runtime that logs the replicas' appends, every answer and every `flushSends`, in order. */
class SendLog extends SimulatedSystem {
  readonly events: Event[] = [];
  override route(envelope: Envelope, answering?: string): void {
    if (envelope.type === 'raft') {
      const msgs = (envelope.body as { msgs: { type: string; entries?: unknown[] }[] }).msgs;
      if (msgs.some((m) => m.type === 'msgApp' && (m.entries?.length ?? 0) > 0)) this.events.push({ kind: 'append', from: envelope.from, to: envelope.to });
    } else if (envelope.type === REPLY_TYPE) {
      this.events.push({ kind: 'reply', from: envelope.from });
    }
    super.route(envelope, answering);
  }
  flushSends(to?: readonly string[]): void {
    this.events.push({ kind: 'flush', to });
  }
}

test('a leader under load posts its appends to its followers, and only those, before it answers anything the same Ready applied', async () => {
  const sim = new SendLog({ seed: 7 });
  const group = await spawnEtcdGroup(sim, { replicas: 3 });
  const clients = ['c0', 'c1', 'c2', 'c3'];
  for (const name of clients) await sim.spawn(kvClientActor, { name, args: { replicas: group.names } });
  let leader: ReplicaStatus | undefined;
  for (let i = 0; i < 100 && leader === undefined; i++) {
    leader = (await sim.settle(groupStatus(sim, group.names), { maxMs: 60_000 })).find((s): s is ReplicaStatus => s?.role === 'leader');
    if (leader === undefined) await sim.runFor(200);
  }
  assert.ok(leader !== undefined, 'a leader within 20 s of virtual time');
  sim.events.length = 0;
  // Many puts outstanding at once: fsyncs in flight while more entries come, and Readies that both append and commit.
  const puts: Promise<KvOpResult>[] = [];
  for (let i = 0; i < 400; i++) {
    const client = sim.ref<KvClientActorMsg>(clients[i % clients.length]!);
    puts.push(client.ask<KvOpResult>({ type: 'op', body: { op: 'put', key: `k${i % 50}`, value: `${i}` } }, { timeoutMs: 60_000 }));
  }
  const results = await sim.settle(Promise.all(puts), { maxMs: 120_000 });
  assert.equal(results.filter((r) => r.ok).length, 400);

  // Every append of the leader is followed by a flush before the leader's next answer.
  let appends = 0;
  let appendsThenAnswers = 0;
  for (let i = 0; i < sim.events.length; i++) {
    const e = sim.events[i]!;
    if (e.kind !== 'append' || e.from !== leader.name) continue;
    appends++;
    for (let j = i + 1; j < sim.events.length; j++) {
      const next = sim.events[j]!;
      // A flush of every outbox, or of the follower's: the append leaves now. Of other threads only: it waits.
      if (next.kind === 'flush' && (next.to === undefined || next.to.includes(e.to))) break;
      if (next.kind === 'reply' && next.from === leader.name) {
        appendsThenAnswers++;
        break;
      }
    }
  }
  assert.ok(appends >= 10, `the leader sent appends under load (${appends})`);
  // The early post names the followers: the answers and watch events for other threads keep their one frame a turn.
  const flushes = sim.events.filter((e): e is Extract<Event, { kind: 'flush' }> => e.kind === 'flush');
  assert.ok(flushes.length > 0 && flushes.every((f) => f.to !== undefined && f.to.length > 0 && f.to.every((name) => name !== leader.name && name.startsWith('etcd-'))), `every early post names followers only: ${JSON.stringify(flushes.slice(0, 5))}`);
  assert.equal(appendsThenAnswers, 0, `${appendsThenAnswers} of ${appends} appends of the leader waited behind its answers for the turn's end`);
  await sim.shutdown();
});
