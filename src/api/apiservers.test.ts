/**
 * Several API servers over one store (kube-apiserver HA), in the simulated runtime with three store
 * replicas: each serves from its own watch cache, fed by the store's watch, so a write through one is seen by
 * a watch on another, in resourceVersion order; the second is spawned with the first's secrets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger, defineBehaviour, unhandled, type Message } from '../actor/index.js';
import { spawnEtcdGroup } from '../kv/replica/group.js';
import { apiServer, type KvSource } from './behaviour.js';
import { apiserverName, type ApiReply, type ApiServerMsg, type ApiServerSecrets, type ApiWatchMsg } from './protocol.js';
import type { KubeObject, WatchEvent } from './types/index.js';

type WatcherMsg = ApiWatchMsg | Message<'start', { apiserver: string }> | Message<'seen', null>;

/** Watches configmaps in `default` through the API server it is told, and remembers each event with its resourceVersion. */
const configMapWatcher = defineBehaviour<WatcherMsg>(import.meta.url, 'configmap-watcher', (ctx) => {
  const seen: Array<{ event: string; rv: number }> = [];
  return {
    async receive(msg) {
      switch (msg.type) {
        case 'start':
          return ctx.ask<ApiReply>(msg.body.apiserver, { type: 'api.watch', body: { group: '', version: 'v1', resource: 'configmaps', namespace: 'default', watchId: 'w', query: { resourceVersion: '0' } } } satisfies ApiServerMsg);
        case 'api.watchEvents':
          for (const e of msg.body.events as WatchEvent[]) {
            const o = e.object as KubeObject;
            seen.push({ event: `${e.type} ${o.metadata.name} ${JSON.stringify((o as { data?: unknown }).data ?? null)}`, rv: Number(o.metadata.resourceVersion) });
          }
          return undefined;
        case 'api.watchEnd':
          seen.push({ event: `END ${msg.body.status?.code ?? ''}`, rv: Number.NaN });
          return undefined;
        case 'seen':
          return seen;
        default:
          return unhandled;
      }
    },
  };
});

/** Two API servers as `startCluster` spawns them: the second after the first, with its secrets, no HTTPS face. */
async function twoApiServers(seed: number, secondKv?: KvSource) {
  const sim = new SimulatedSystem({ seed, logger: createLogger({ level: 'silent' }) });
  const group = await spawnEtcdGroup(sim, { replicas: 3 });
  const kv: KvSource = { kind: 'replicated', options: { replicas: group.names } };
  const [first, second] = [apiserverName(0), apiserverName(1)];
  const ask = <T>(to: string, msg: ApiServerMsg) => sim.settle(sim.ref<ApiServerMsg>(to).ask<T>(msg, { timeoutMs: 30_000 }), { maxMs: 30_000 });
  await sim.spawn(apiServer, { name: first, args: { http: false, kv } });
  await ask(first, { type: 'api.info', body: null });
  const secrets = await ask<ApiServerSecrets>(first, { type: 'api.secrets', body: null });
  await sim.spawn(apiServer, { name: second, args: { http: false, kv: secondKv ?? kv, secrets } });
  await ask(second, { type: 'api.info', body: null });
  return { sim, first, second, ask, secrets };
}

const put = (name: string, value: string, resourceVersion?: string): ApiServerMsg => ({
  type: resourceVersion === undefined ? 'api.create' : 'api.update',
  body: { group: '', version: 'v1', resource: 'configmaps', namespace: 'default', name, object: { metadata: { name, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, data: { v: value } } },
});

async function writesThroughBothSeenByEach(secondKv?: KvSource): Promise<{ seenFirst: Array<{ event: string; rv: number }>; seenSecond: Array<{ event: string; rv: number }> }> {
  const { sim, first, second, ask } = await twoApiServers(5, secondKv);
  try {
    await sim.spawn(configMapWatcher, { name: 'watch-first' });
    await sim.spawn(configMapWatcher, { name: 'watch-second' });
    await sim.settle(sim.ref<WatcherMsg>('watch-first').ask({ type: 'start', body: { apiserver: first } }));
    await sim.settle(sim.ref<WatcherMsg>('watch-second').ask({ type: 'start', body: { apiserver: second } }));
    // Interleaved through both servers: the second update of `a` goes through the other server, on the first's answer.
    const a = await ask<ApiReply<KubeObject>>(first, put('a', '1'));
    assert.ok(a.ok, 'create through the first');
    const b = await ask<ApiReply<KubeObject>>(second, put('b', '1'));
    assert.ok(b.ok, 'create through the second');
    const a2 = await ask<ApiReply<KubeObject>>(second, put('a', '2', a.body.metadata.resourceVersion));
    assert.ok(a2.ok, 'an update through the second, on the resourceVersion the first answered');
    const stale = await ask<ApiReply<KubeObject>>(first, put('a', '3', a.body.metadata.resourceVersion));
    assert.ok(!stale.ok && stale.status.code === 409, 'the first refuses a stale resourceVersion the second moved on: one store, compare-and-swap');
    const deleted = await ask<ApiReply>(first, { type: 'api.delete', body: { group: '', version: 'v1', resource: 'configmaps', namespace: 'default', name: 'b' } });
    assert.ok(deleted.ok);
    await sim.settle(Promise.resolve(), { maxMs: 2_000 });
    const seenFirst = await sim.settle(sim.ref<WatcherMsg>('watch-first').ask<Array<{ event: string; rv: number }>>({ type: 'seen', body: null }));
    const seenSecond = await sim.settle(sim.ref<WatcherMsg>('watch-second').ask<Array<{ event: string; rv: number }>>({ type: 'seen', body: null }));
    return { seenFirst, seenSecond };
  } finally {
    await sim.shutdown();
  }
}

const EXPECTED = ['ADDED a {"v":"1"}', 'ADDED b {"v":"1"}', 'MODIFIED a {"v":"2"}', 'DELETED b {"v":"1"}'];

test('with two API servers, writes through either are seen by a watch on each, in the same resourceVersion order', async () => {
  const { seenFirst, seenSecond } = await writesThroughBothSeenByEach();
  assert.deepEqual(seenFirst.map((s) => s.event), EXPECTED);
  assert.deepEqual(seenSecond.map((s) => s.event), EXPECTED);
  assert.deepEqual(seenSecond.map((s) => s.rv), seenFirst.map((s) => s.rv), 'the same revisions: both caches follow the one store');
  for (let i = 1; i < seenFirst.length; i++) assert.ok(seenFirst[i]!.rv > seenFirst[i - 1]!.rv, 'resourceVersions increase');
});

test('a second API server that does not follow the shared store fails the check (broken variant: its own embedded store)', async () => {
  await assert.rejects(writesThroughBothSeenByEach({ kind: 'embedded' }));
});

test('the second API server shares the first one\'s tokens and service account signing key', async () => {
  const { sim, second, ask, secrets } = await twoApiServers(9);
  try {
    const its = await ask<ApiServerSecrets>(second, { type: 'api.secrets', body: null });
    assert.deepEqual(its.tokens, secrets.tokens);
    assert.deepEqual([...its.serviceAccountSigningKey], [...secrets.serviceAccountSigningKey]);
  } finally {
    await sim.shutdown();
  }
});
