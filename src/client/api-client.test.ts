import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedSystem, createLogger, defineBehaviour, unhandled, type Message } from '../actor/index.js';
import { apiServer } from '../api/behaviour.js';
import type { KubeObject, Pod, Status } from '../api/types/index.js';
import { ApiClient, ApiStatusError, PODS, type ApiClientHost, type ResourceType } from './api-client.js';
import { ActorClock, VirtualClock, type ClientTimerMsg } from './clock.js';
import { Informer } from './informer.js';
import { isConflict, isNotFound } from './list-watch.js';

/**
 * The test's hands inside an actor: the ApiClient only works inside one, so
 * the test sends it operations by message and reads what its informer saw.
 */
type ProbeMsg =
  | ClientTimerMsg
  | Message<'probe.call', { op: 'get' | 'create' | 'update' | 'updateStatus' | 'patch' | 'delete' | 'list'; args: unknown[] }>
  | Message<'probe.inform', { watchRestartMs?: number }>
  | Message<'probe.seen', null>
  | Message<'probe.watchFrom', { resourceVersion: string }>
  | Message<'probe.bind', { pod: string; node: string }>;

interface ProbeSeen {
  synced: boolean;
  names: string[];
  events: string[];
  watchErrors: number[];
  watchesStarted: number;
  activeWatches: number;
}

export const apiProbe = defineBehaviour<ProbeMsg, { watchRestartMs?: number }>(import.meta.url, 'api-client-probe', (ctx, args) => {
  const clock = new ActorClock(ctx);
  const api = new ApiClient(ctx, { clock, watchRestartMs: args.watchRestartMs ?? 0 });
  let informer: Informer<Pod> | undefined;
  const events: string[] = [];
  const watchErrors: number[] = [];
  return {
    async receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'probe.call': {
          const method = (api as unknown as Record<string, (type: ResourceType<KubeObject>, ...rest: unknown[]) => Promise<unknown>>)[msg.body.op]!;
          try {
            return { ok: await method.call(api, PODS, ...msg.body.args) };
          } catch (error) {
            if (!(error instanceof ApiStatusError)) throw error;
            return { error: { code: error.code, reason: error.reason, conflict: isConflict(error), notFound: isNotFound(error) } };
          }
        }
        case 'probe.inform':
          informer = new Informer<Pod>({ name: 'pods', clock, listWatcher: api.listWatcher(PODS, { namespace: 'default' }) });
          informer.addEventHandler({
            onAdd: (p) => events.push(`add ${p.metadata.name}`),
            onUpdate: (o, n) => events.push(`update ${n.metadata.name} ${o.metadata.labels?.v ?? ''}->${n.metadata.labels?.v ?? ''}`),
            onDelete: (p) => events.push(`delete ${p.metadata.name}`),
          });
          informer.start();
          return undefined;
        case 'probe.bind':
          try {
            await api.bind('default', msg.body.pod, msg.body.node);
            return { ok: true };
          } catch (error) {
            if (!(error instanceof ApiStatusError)) throw error;
            return { error: { code: error.code, reason: error.reason } };
          }
        case 'probe.watchFrom':
          api.watch(PODS, msg.body.resourceVersion, { onEvent: () => undefined, onError: (f) => watchErrors.push(f.code) });
          return undefined;
        case 'probe.seen':
          return {
            synced: informer?.hasSynced() ?? false,
            names: (informer?.store.list() ?? []).map((p) => p.metadata.name!).sort(),
            events: [...events],
            watchErrors: [...watchErrors],
            watchesStarted: api.stats.watchesStarted,
            activeWatches: api.activeWatches,
          } satisfies ProbeSeen;
        default:
          return unhandled;
      }
    },
  };
});

const pod = (name: string, labels: Record<string, string> = {}): Pod => ({
  metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
});

async function cluster(seed: number, probeArgs: { watchRestartMs?: number } = {}) {
  const sim = new SimulatedSystem({ seed, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
  await sim.spawn(apiProbe, { name: 'probe', args: probeArgs });
  const probe = sim.ref<ProbeMsg>('probe');
  type Result<T> = { ok?: T; error?: { code: number; reason: string; conflict: boolean; notFound: boolean } };
  const call = <T = Pod>(op: Extract<ProbeMsg, { type: 'probe.call' }>['body']['op'], ...args: unknown[]) =>
    sim.settle(probe.ask<Result<T>>({ type: 'probe.call', body: { op, args } }));
  const seen = () => sim.settle(probe.ask<ProbeSeen>({ type: 'probe.seen', body: null }));
  return { sim, probe, call, seen };
}

test('typed requests against the real apiserver: create, get, update with CAS, updateStatus, patch, list, delete; errors carry the Status reason', async () => {
  const { sim, probe, call } = await cluster(21);
  try {
    const created = await call('create', pod('a', { app: 'web' }));
    assert.equal(created.ok?.metadata.name, 'a');
    assert.equal(created.ok?.kind, 'Pod');
    const again = await call('create', pod('a'));
    assert.deepEqual(again.error, { code: 409, reason: 'AlreadyExists', conflict: true, notFound: false });

    const got = await call('get', 'default', 'a');
    assert.equal(got.ok?.metadata.uid, created.ok?.metadata.uid);

    const relabelled = { ...got.ok!, metadata: { ...got.ok!.metadata, labels: { app: 'web', v: '2' } } };
    const updated = await call('update', relabelled);
    assert.equal(updated.ok?.metadata.labels?.v, '2');
    const stale = await call('update', { ...relabelled, metadata: { ...relabelled.metadata, labels: { v: '3' } } });
    assert.equal(stale.error?.reason, 'Conflict', 'an update from a stale resourceVersion is a 409 Conflict');

    const withStatus = await call('updateStatus', { ...updated.ok!, status: { phase: 'Running' } });
    assert.equal(withStatus.ok?.status?.phase, 'Running');
    const patched = await call('patch', 'default', 'a', 'merge', { metadata: { labels: { extra: 'yes' } } });
    assert.equal(patched.ok?.metadata.labels?.extra, 'yes');
    assert.equal(patched.ok?.status?.phase, 'Running', 'the status written through /status is kept');

    await call('create', pod('b', { app: 'db' }));
    const listed = await call<{ items: Pod[]; resourceVersion: string }>('list', { namespace: 'default', labelSelector: 'app=web' });
    assert.deepEqual(listed.ok?.items.map((p) => p.metadata.name), ['a']);
    assert.ok(Number(listed.ok?.resourceVersion) > 0, 'a list carries its resourceVersion');

    const bound = await sim.settle(probe.ask<{ ok?: boolean }>({ type: 'probe.bind', body: { pod: 'b', node: 'node-1' } }));
    assert.deepEqual(bound, { ok: true });
    assert.equal((await call('get', 'default', 'b')).ok?.spec?.nodeName, 'node-1', 'bind sets spec.nodeName through pods/binding');
    const rebound = await sim.settle(probe.ask<{ error?: { code: number } }>({ type: 'probe.bind', body: { pod: 'b', node: 'node-2' } }));
    assert.equal(rebound.error?.code, 409, 'a bound pod cannot be bound again');
    await call('delete', 'default', 'a');
    const deleted = await call<KubeObject | Status>('delete', 'default', 'b', { gracePeriodSeconds: 0 });
    assert.ok(deleted.ok !== undefined);
    const gone = await call('get', 'default', 'b');
    assert.deepEqual(gone.error, { code: 404, reason: 'NotFound', conflict: false, notFound: true });
  } finally {
    await sim.shutdown();
  }
});

test('an informer over the actor ListWatcher lists, then follows creates, updates and deletes', async () => {
  const { sim, probe, call, seen } = await cluster(22);
  try {
    await call('create', pod('before'));
    await sim.settle(probe.ask({ type: 'probe.inform', body: {} }));
    await sim.runUntil(() => false, { maxMs: 100 });
    assert.deepEqual((await seen()).names, ['before']);
    assert.equal((await seen()).synced, true);

    await call('create', pod('x', { v: '1' }));
    await call('patch', 'default', 'x', 'merge', { metadata: { labels: { v: '2' } } });
    await call('delete', 'default', 'before');
    await sim.runFor(100);
    const state = await seen();
    assert.deepEqual(state.names, ['x']);
    assert.deepEqual(state.events, ['add before', 'add x', 'update x 1->2', 'delete before']);
  } finally {
    await sim.shutdown();
  }
});

test('a watch is restarted from its last resourceVersion after watchRestartMs without losing or repeating events', async () => {
  const { sim, probe, call, seen } = await cluster(23, { watchRestartMs: 1_000 });
  try {
    await sim.settle(probe.ask({ type: 'probe.inform', body: {} }));
    for (let i = 0; i < 6; i++) {
      await call('create', pod(`p${i}`));
      await sim.runFor(900);
    }
    const state = await seen();
    assert.ok(state.watchesStarted >= 3, `watches restarted (${state.watchesStarted} started)`);
    assert.equal(state.activeWatches, 1, 'the old watches were ended');
    assert.deepEqual(state.events, ['add p0', 'add p1', 'add p2', 'add p3', 'add p4', 'add p5']);
  } finally {
    await sim.shutdown();
  }
});

test('a watch the server ends with a Status reaches onError with its code (the path a 410 takes; the informer relists on 410)', async () => {
  const { sim, probe, call, seen } = await cluster(24);
  try {
    for (let i = 0; i < 3; i++) await call('create', pod(`p${i}`));
    // The watch cache keeps 10,000 events, so a 410 needs more writes than a unit test should make; a malformed RV ends the same way.
    await sim.settle(probe.ask({ type: 'probe.watchFrom', body: { resourceVersion: 'not-a-number' } }));
    await sim.runFor(100);
    const state = await seen();
    assert.deepEqual(state.watchErrors, [400]);
    assert.equal(state.activeWatches, 0);
  } finally {
    await sim.shutdown();
  }
});

test('a watch that lost messages (a dropped link, no broken connection) is noticed by its sequence numbers and watched again: the informer misses nothing', async () => {
  const { sim, probe, call, seen } = await cluster(25);
  const api = sim.ref('apiserver');
  const write = async (type: 'api.create' | 'api.delete', name: string) => {
    const body = type === 'api.create'
      ? { group: '', version: 'v1', resource: 'pods', namespace: 'default', object: pod(name) }
      : { group: '', version: 'v1', resource: 'pods', namespace: 'default', name, options: { gracePeriodSeconds: 0 } };
    const reply = await sim.settle(api.ask<{ ok: boolean }>({ type, body }));
    assert.ok(reply.ok, JSON.stringify(reply));
  };
  try {
    await call('create', pod('p0'));
    await sim.settle(probe.ask({ type: 'probe.inform', body: {} }));
    await sim.runFor(500);
    assert.deepEqual((await seen()).names, ['p0']);
    // Everything the API server tells the probe is lost for a while; nothing else is.
    const cut = await sim.faults.link({ from: ['apiserver'], to: ['probe'], drop: 1 });
    await write('api.create', 'p1');
    await write('api.delete', 'p0');
    await sim.runFor(500);
    await sim.faults.heal(cut);
    await write('api.create', 'p2');
    await sim.runFor(2_000);
    const state = await seen();
    assert.deepEqual(state.names, ['p1', 'p2'], `the informer's cache after the gap: ${JSON.stringify(state)}`);
    assert.deepEqual(state.events, ['add p0', 'add p1', 'delete p0', 'add p2']);
    assert.ok(state.watchesStarted >= 2, 'the broken watch was replaced');
  } finally {
    await sim.shutdown();
  }
});

// ---------- lists in slices: the client's side ----------

/** A stand-in host whose one `api.list` is answered with the first of `count` slices; the test then hands the client the other slices. */
function slicedListHost(count: number): { host: ApiClientHost; listId: () => string } {
  let listId = '';
  const host: ApiClientHost = {
    name: 'slices-test',
    random: () => 0.5,
    send: () => undefined,
    ask: (async (_to: string, msg: Message) => {
      const body = msg.body as { slices?: { id: string } };
      listId = body.slices!.id;
      return { ok: true, code: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '42' }, items: [podNamed('p0')] }, slices: count };
    }) as ApiClientHost['ask'],
  };
  return { host, listId: () => listId };
}

const podNamed = (name: string) => ({ metadata: { name, namespace: 'default' } }) as Pod;
const sliceMsg = (id: string, index: number, count: number) => ({ type: 'api.listSlice', body: { id, index, count, items: [podNamed(`p${index}`)] } }) as Message;

test('a list in slices is put together in order, at the reply resourceVersion', async () => {
  const clock = new VirtualClock();
  const { host, listId } = slicedListHost(3);
  const api = new ApiClient(host, { clock, listSliceItems: 1 });
  const listed = api.list(PODS, { namespace: 'default' });
  await clock.advance(0);
  assert.equal(api.handle(sliceMsg(listId(), 1, 3)), true);
  assert.equal(api.handle(sliceMsg(listId(), 2, 3)), true);
  const list = await listed;
  assert.deepEqual(list.items.map((p) => p.metadata.name), ['p0', 'p1', 'p2']);
  assert.equal(list.resourceVersion, '42');
  assert.equal(api.stats.listsSliced, 1);
});

test("a client takes the slices of its own lists only: another client's in the same actor are left to it", async () => {
  const clock = new VirtualClock();
  const { host, listId } = slicedListHost(2);
  const first = new ApiClient({ ...host, random: () => 0.1 }, { clock });
  const lister = new ApiClient({ ...host, random: () => 0.9 }, { clock, listSliceItems: 1 });
  const listed = lister.list(PODS, { namespace: 'default' });
  await clock.advance(0);
  const slice = sliceMsg(listId(), 1, 2);
  assert.equal(first.handle(slice), false);
  assert.equal(lister.handle(slice), true);
  assert.equal((await listed).items.length, 2);
});

test('a slice lost on the way fails the list when a later one comes (never a short list)', async () => {
  const clock = new VirtualClock();
  const { host, listId } = slicedListHost(4);
  const api = new ApiClient(host, { clock, listSliceItems: 1 });
  const listed = api.list(PODS, { namespace: 'default' });
  await clock.advance(0);
  api.handle(sliceMsg(listId(), 1, 4));
  api.handle(sliceMsg(listId(), 3, 4)); // slice 2 never came
  await assert.rejects(listed, (error: unknown) => error instanceof ApiStatusError && error.code === 500 && /lost a slice/.test(error.message));
  assert.equal(api.stats.listSliceGaps, 1);
  assert.equal(api.handle(sliceMsg(listId(), 2, 4)), true, 'a straggler of the failed list is taken and dropped');
});

test('a list whose last slices never come fails after requestTimeoutMs', async () => {
  const clock = new VirtualClock();
  const { host, listId } = slicedListHost(3);
  const api = new ApiClient(host, { clock, listSliceItems: 1, requestTimeoutMs: 1_000 });
  const listed = api.list(PODS, { namespace: 'default' });
  let outcome: string | undefined;
  listed.then(() => (outcome = 'resolved'), (error: unknown) => (outcome = error instanceof ApiStatusError ? String(error.code) : 'other'));
  await clock.advance(500);
  api.handle(sliceMsg(listId(), 1, 3));
  await clock.advance(999);
  assert.equal(outcome, undefined, 'each slice gives the next one the whole timeout');
  await clock.advance(1);
  assert.equal(outcome, '504');
});

// ---------- client-side rate limit (client-go's QPS / Burst) ----------

/** A stand-in host that answers every ask at once and notes when (virtual ms) each was sent, and what. */
function recordingHost(clock: VirtualClock): { host: ApiClientHost; sent: Array<{ atMs: number; type: string; resource: string }> } {
  const sent: Array<{ atMs: number; type: string; resource: string }> = [];
  const host: ApiClientHost = {
    name: 'qps-test',
    random: () => 0.5,
    send: () => undefined,
    ask: (async (_to: string, msg: Message) => {
      const body = msg.body as { resource: string; object?: KubeObject; name?: string };
      sent.push({ atMs: clock.now(), type: msg.type, resource: body.resource });
      return { ok: true, code: 200, body: body.object ?? { metadata: { name: body.name, namespace: 'kube-system' } } };
    }) as ApiClientHost['ask'],
  };
  return { host, sent };
}

test('with qps and burst, requests past the burst wait for the bucket: 10 qps, burst 2 sends 6 creates over 400 ms, lease requests beside them at once', async () => {
  const clock = new VirtualClock(0);
  const { host, sent } = recordingHost(clock);
  const api = new ApiClient(host, { clock, qps: 10, burst: 2 });
  const creates = Array.from({ length: 6 }, (_, i) => api.create(PODS, podNamed(`p${i}`)));
  const lease = api.leaseClient().update({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'kube-controller-manager', namespace: 'kube-system' }, spec: {} });
  await clock.advance(0);
  await lease;
  assert.deepEqual(sent.filter((s) => s.resource === 'leases').map((s) => s.atMs), [0], 'the lease request did not wait');
  await clock.advanceBy(1_000, 50, () => {});
  await Promise.all(creates);
  assert.deepEqual(sent.filter((s) => s.resource === 'pods').map((s) => s.atMs), [0, 0, 100, 200, 300, 400]);
  assert.equal(api.stats.throttled, 4);
});

test('without qps no request waits; qps without a clock is refused', async () => {
  const clock = new VirtualClock(0);
  const { host, sent } = recordingHost(clock);
  const api = new ApiClient(host, { clock });
  await Promise.all(Array.from({ length: 50 }, (_, i) => api.create(PODS, podNamed(`p${i}`))));
  assert.ok(sent.every((s) => s.atMs === 0));
  assert.throws(() => new ApiClient(host, { qps: 5 }), /qps needs a clock/);
});
