import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger, defineBehaviour, unhandled, type Message } from '../actor/index.js';
import { ApiClient, CONFIGMAPS } from '../client/api-client.js';
import { ActorClock, type ClientTimerMsg } from '../client/clock.js';
import { apiServer } from './behaviour.js';
import type { ApiListSliceMsg, ApiReply, ApiServerMsg } from './protocol.js';
import type { ConfigMap, List } from './types/index.js';

/**
 * Lists in slices (`ApiListSlicing`, behaviour.ts): the API server answers a large list over several of its
 * turns, one slice a turn, and the client puts it together. What must hold: every slice from the one list
 * the handler built (one resourceVersion, whatever is written between slices), none lost unnoticed, and
 * what arrives at the server between slices served between them.
 */

const NAMESPACE = 'default';
const cmTarget = { group: '', version: 'v1', resource: 'configmaps', namespace: NAMESPACE };

type SliceClientMsg =
  | ClientTimerMsg
  | ApiListSliceMsg
  | Message<'c.list', { sliceItems: number; writeOnFirstSlice?: boolean }>
  | Message<'c.rawList', { id: string; sliceItems: number; updateOnFirstSlice: string }>
  | Message<'c.log', null>;

/** The test's hands in an actor: lists through an ApiClient with slices, or raw, logging what arrives in which order. */
export const sliceClient = defineBehaviour<SliceClientMsg>(import.meta.url, 'slice-client', (ctx) => {
  const clock = new ActorClock(ctx);
  let api: ApiClient | undefined;
  let writeOnFirstSlice = false;
  let updateOnFirstSlice: string | undefined;
  const log: string[] = [];
  async function writeEverything(): Promise<void> {
    // The objects of the slices still to come: rewritten, one deleted, one added after them all.
    const writer = new ApiClient(ctx, { clock });
    const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE }, data: { v: 'after' } }) as ConfigMap;
    await Promise.all([
      ...Array.from({ length: 9 }, (_, i) => writer.update(CONFIGMAPS, cm(`cm-0${15 + i}`))),
      writer.delete(CONFIGMAPS, NAMESPACE, 'cm-024'),
      writer.create(CONFIGMAPS, cm('cm-new')),
    ]);
    log.push('writes done');
  }
  return {
    async receive(msg) {
      if (msg.type === 'api.listSlice') {
        log.push(`slice ${msg.body.index}/${msg.body.count}`);
        if (writeOnFirstSlice && msg.body.index === 1) {
          writeOnFirstSlice = false;
          void writeEverything();
        }
        const name = updateOnFirstSlice;
        if (name !== undefined && msg.body.index === 1) {
          updateOnFirstSlice = undefined;
          void ctx.ask<ApiReply>('apiserver', { type: 'api.update', body: { ...cmTarget, name, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE }, data: { v: 'updated' } } } } satisfies ApiServerMsg)
            .then((r) => log.push(`update ${r.ok ? r.code : 'failed'}`));
        }
      }
      if (api?.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'c.list': {
          api = new ApiClient(ctx, { clock, listSliceItems: msg.body.sliceItems });
          writeOnFirstSlice = msg.body.writeOnFirstSlice === true;
          const list = await api.list(CONFIGMAPS, { namespace: NAMESPACE });
          return { resourceVersion: list.resourceVersion, items: list.items.map((cm) => ({ name: cm.metadata.name, rv: cm.metadata.resourceVersion, v: cm.data?.v })), sliced: api.stats.listsSliced };
        }
        case 'c.rawList': {
          updateOnFirstSlice = msg.body.updateOnFirstSlice;
          const reply = await ctx.ask<ApiReply<List<ConfigMap>>>('apiserver', { type: 'api.list', body: { ...cmTarget, slices: { id: msg.body.id, items: msg.body.sliceItems } } } satisfies ApiServerMsg);
          log.push(`reply ${reply.ok ? `${reply.body.items.length} items, ${reply.slices ?? 1} slices` : 'failed'}`);
          return undefined;
        }
        case 'c.log':
          return [...log];
        default:
          return unhandled;
      }
    },
  };
});

test('a list of more than 32 slices of the size asked comes in 32 at most, each larger: a slice waits a turn of a busy server, so the count sets the list\'s latency', async () => {
  await withConfigMaps(100, async (sim) => {
    const client = sim.ref<SliceClientMsg>('client');
    await sim.settle(client.ask({ type: 'c.rawList', body: { id: 'raw-cap', sliceItems: 1, updateOnFirstSlice: 'cm-005' } }));
    await sim.runFor(200);
    const log = await sim.settle(client.ask<string[]>({ type: 'c.log', body: null }));
    assert.equal(log[0], 'reply 4 items, 25 slices', 'a hundred items in slices of at least 100 / 32, rounded up');
    assert.deepEqual(log.filter((l) => l.startsWith('slice')), Array.from({ length: 24 }, (_, i) => `slice ${i + 1}/25`), 'every slice, in order');
  });
});

async function withConfigMaps(count: number, run: (sim: SimulatedSystem) => Promise<void>): Promise<void> {
  // A fixed link latency below the slices' 1 ms spacing: messages between two actors arrive in the order sent.
  const sim = new SimulatedSystem({ seed: 7, latencyMinMs: 0.3, latencyMaxMs: 0.3, logger: createLogger({ level: 'silent' }) });
  try {
    await sim.spawn(apiServer, { name: 'apiserver', args: { http: false } });
    const api = sim.ref<ApiServerMsg>('apiserver');
    for (let i = 0; i < count; i++) {
      const name = `cm-${String(i).padStart(3, '0')}`;
      const created = await sim.settle(api.ask<ApiReply>({ type: 'api.create', body: { ...cmTarget, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE }, data: { v: 'before' } } } }));
      assert.ok(created.ok, `create ${name}`);
    }
    await sim.spawn(sliceClient, { name: 'client' });
    await run(sim);
  } finally {
    await sim.shutdown();
  }
}

test('a list asked for in slices comes whole and in order, every item at its one resourceVersion, though everything is rewritten between its slices', async () => {
  await withConfigMaps(25, async (sim) => {
    const client = sim.ref<SliceClientMsg>('client');
    const whole = await sim.settle(client.ask<{ resourceVersion: string; items: { name: string; rv: string; v: string }[] }>({ type: 'c.list', body: { sliceItems: 0 } }));
    const sliced = await sim.settle(client.ask<{ resourceVersion: string; items: { name: string; rv: string; v: string }[]; sliced: number }>({ type: 'c.list', body: { sliceItems: 1, writeOnFirstSlice: true } }));
    await sim.runFor(200);
    const log = await sim.settle(client.ask<string[]>({ type: 'c.log', body: null }));
    assert.equal(sliced.sliced, 1, 'the list came in slices');
    assert.ok(log.includes('slice 24/25'), 'twenty-five slices');
    assert.ok(log.includes('writes done') && log.indexOf('writes done') < log.indexOf('slice 15/25'), `the writes were made before the slices of what they wrote were sent (${log.join(', ')})`);
    // The list is still the one taken before the writes.
    assert.equal(sliced.resourceVersion, whole.resourceVersion);
    assert.deepEqual(sliced.items, whole.items);
    assert.equal(sliced.items.length, 25);
    for (const item of sliced.items) {
      assert.equal(item.v, 'before', `${item.name} as of the list's revision`);
      assert.ok(Number(item.rv) <= Number(sliced.resourceVersion));
    }
    const after = await sim.settle(client.ask<{ items: { name: string; v: string }[] }>({ type: 'c.list', body: { sliceItems: 4 } }));
    assert.deepEqual(after.items.slice(15).map((cm) => `${cm.name} ${cm.v}`), [...Array.from({ length: 9 }, (_, i) => `cm-0${15 + i} after`), 'cm-new after'], 'the next list sees the writes');
  });
});

test('a list no larger than a slice is answered whole, with no slices', async () => {
  await withConfigMaps(4, async (sim) => {
    const listed = await sim.settle(sim.ref<SliceClientMsg>('client').ask<{ items: unknown[]; sliced: number }>({ type: 'c.list', body: { sliceItems: 4 } }));
    assert.equal(listed.items.length, 4);
    assert.equal(listed.sliced, 0);
  });
});

test('the server sends one slice a turn: a write sent on the first slice is answered before the last slice goes, not behind the whole list', async () => {
  await withConfigMaps(40, async (sim) => {
    const client = sim.ref<SliceClientMsg>('client');
    await sim.settle(client.ask({ type: 'c.rawList', body: { id: 'raw-1', sliceItems: 2, updateOnFirstSlice: 'cm-005' } }));
    await sim.runFor(200);
    const log = await sim.settle(client.ask<string[]>({ type: 'c.log', body: null }));
    assert.equal(log[0], 'reply 2 items, 20 slices');
    assert.deepEqual(log.filter((l) => l.startsWith('slice')), Array.from({ length: 19 }, (_, i) => `slice ${i + 1}/20`), 'every slice, in order');
    assert.ok(log.indexOf('update 200') > log.indexOf('slice 1/20'));
    const update = log.indexOf('update 200');
    assert.ok(update > 0, 'the update was answered');
    assert.ok(update < log.indexOf('slice 19/20'), `the update waited for no more than the slice in hand (${log.join(', ')})`);
  });
});
