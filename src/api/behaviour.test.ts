import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { KUBECTL, requireKubectl } from '../testing/tools.js';
import { test } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import { SimulatedSystem, ThreadedSystem, createLogger, defineBehaviour, unhandled, type Message } from '../actor/index.js';
import { apiServer } from './behaviour.js';
import type { ApiReply, ApiServerInfo, ApiServerMsg, ApiWatchMsg } from './protocol.js';
import type { KubeObject, Status, WatchEvent } from './types/index.js';

type CollectorMsg = ApiWatchMsg | Message<'start', { resource: string; watchId?: string }> | Message<'seen', null>;

/** A component stand-in: watches pods through the actor protocol and remembers what it saw. */
export const podWatcher = defineBehaviour<CollectorMsg>(import.meta.url, 'pod-watcher', (ctx) => {
  const seen: string[] = [];
  return {
    async receive(msg) {
      switch (msg.type) {
        case 'start':
          return ctx.ask<ApiReply>('apiserver', { type: 'api.watch', body: { group: '', version: 'v1', resource: msg.body.resource, watchId: msg.body.watchId ?? 'w1', query: { resourceVersion: '0' } } } satisfies ApiServerMsg);
        case 'api.watchEvents':
          for (const e of msg.body.events as WatchEvent[]) seen.push(`${e.type} ${(e.object as KubeObject).metadata.name}`);
          return undefined;
        case 'api.watchEnd':
          seen.push(`END ${msg.body.status?.code ?? ''}`);
          return undefined;
        case 'seen':
          return seen;
        default:
          return unhandled;
      }
    },
  };
});

const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } });
const podTarget = { group: '', version: 'v1', resource: 'pods', namespace: 'default' };

test('over actor messages (simulated runtime): create, get, list, patch, delete, watch, and errors as Status values', async () => {
  const sim = new SimulatedSystem({ seed: 11, logger: createLogger({ level: 'silent' }) });
  try {
    await sim.spawn(apiServer, { name: 'apiserver', args: { http: false } });
    await sim.spawn(podWatcher, { name: 'watcher' });
    const api = sim.ref<ApiServerMsg>('apiserver');
    const ask = <T = KubeObject>(msg: ApiServerMsg) => sim.settle(api.ask<ApiReply<T>>(msg));
    const started = await sim.settle(sim.ref<CollectorMsg>('watcher').ask<ApiReply>({ type: 'start', body: { resource: 'pods' } }));
    assert.equal(started.ok, true);

    const created = await ask({ type: 'api.create', body: { ...podTarget, object: pod('a') } });
    assert.ok(created.ok && created.code === 201);
    const got = await ask({ type: 'api.get', body: { ...podTarget, name: 'a' } });
    assert.ok(got.ok);
    assert.equal(got.body.metadata.uid, created.ok ? created.body.metadata.uid : '');
    await ask({ type: 'api.patch', body: { ...podTarget, name: 'a', patchType: 'merge', patch: { metadata: { labels: { x: 'y' } } } } });
    const listed = await ask<{ items: KubeObject[] }>({ type: 'api.list', body: { ...podTarget, query: { labelSelector: 'x=y' } } });
    assert.ok(listed.ok);
    assert.deepEqual(listed.body.items.map((p) => p.metadata.name), ['a']);
    const deleted = await ask({ type: 'api.delete', body: { ...podTarget, name: 'a' } });
    assert.ok(deleted.ok && deleted.code === 200, 'an unscheduled pod goes at once');

    const missing = await ask({ type: 'api.get', body: { ...podTarget, name: 'a' } });
    assert.equal(missing.ok, false);
    assert.equal((missing as { status: Status }).status.reason, 'NotFound');
    const forbidden = await ask({ type: 'api.delete', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default', name: 'x', as: { name: 'system:kube-scheduler', groups: [] } } });
    assert.equal(forbidden.ok, false);
    assert.equal((forbidden as { status: Status }).status.code, 403);

    await sim.settle(Promise.resolve(), { maxMs: 100 });
    const seen = await sim.settle(sim.ref<CollectorMsg>('watcher').ask<string[]>({ type: 'seen', body: null }));
    assert.deepEqual(seen, ['ADDED a', 'MODIFIED a', 'DELETED a']);
  } finally {
    await sim.shutdown();
  }
});


test('a watcher that goes down ends its own watches only: the others keep theirs and their events', async () => {
  const sim = new SimulatedSystem({ seed: 12, logger: createLogger({ level: 'silent' }) });
  try {
    await sim.spawn(apiServer, { name: 'apiserver', args: { http: false } });
    for (const name of ['watcher-1', 'watcher-2', 'watcher-3']) {
      await sim.spawn(podWatcher, { name });
      for (const resource of ['pods', 'configmaps']) {
        const started = await sim.settle(sim.ref<CollectorMsg>(name).ask<ApiReply>({ type: 'start', body: { resource, watchId: `${name}-${resource}` } }));
        assert.equal(started.ok, true);
      }
    }
    const watches = async () => ((await sim.inspect()).actors.find((a) => a.name === 'apiserver')?.summary as { watches: number }).watches;
    assert.equal(await watches(), 6);
    await sim.stop('watcher-2');
    await sim.runFor(100);
    assert.equal(await watches(), 4, 'watcher-2\'s two watches ended with it');
    await sim.settle(sim.ref<ApiServerMsg>('apiserver').ask<ApiReply>({ type: 'api.create', body: { ...podTarget, object: pod('b') } }));
    await sim.runFor(100);
    for (const name of ['watcher-1', 'watcher-3']) {
      assert.deepEqual(await sim.settle(sim.ref<CollectorMsg>(name).ask<string[]>({ type: 'seen', body: null })), ['ADDED b'], name);
    }
  } finally {
    await sim.shutdown();
  }
});

test('in its own thread, the actor serves HTTPS for kubectl with the kubeconfig it hands out', { skip: !isMainThread ? 'worker thread' : requireKubectl() }, async () => {
  const system = new ThreadedSystem({ seed: 5, logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-apiserver-actor-'));
  try {
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: { port: 0 } } });
    const info = await system.ref<ApiServerMsg>('apiserver').ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 20_000 });
    assert.match(info.url!, /^https:\/\/127\.0\.0\.1:\d+$/);
    writeFileSync(join(dir, 'kubeconfig'), info.kubeconfig!);
    const run = (args: string[]) => new Promise<string>((resolve, reject) => {
      execFile(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)));
    });
    await run(['create', 'configmap', 'from-kubectl', '--from-literal=k=v']);
    const reply = await system.ref<ApiServerMsg>('apiserver').ask<ApiReply>({ type: 'api.get', body: { group: '', version: 'v1', resource: 'configmaps', namespace: 'default', name: 'from-kubectl' } });
    assert.ok(reply.ok, 'what kubectl created is visible over actor messages');
    assert.match(await run(['get', 'configmaps']), /^from-kubectl\s+1\s+/m);
  } finally {
    await system.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
