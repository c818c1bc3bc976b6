import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Event } from '../protocol.js';
import { prefixEnd } from '../protocol.js';
import { LocalKvClient } from './local-client.js';
import { KvError } from './types.js';

function clock() {
  let nowMs = 1_000_000;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a watch from a past revision replays history, then follows new writes in revision order', async () => {
  const client = new LocalKvClient(clock());
  const first = await client.put('/registry/pods/a', '1');
  await client.put('/registry/pods/b', '2');
  await client.put('/other', 'x');
  const seen: Event[] = [];
  const watch = client.watch('/registry/pods/', { rangeEnd: prefixEnd('/registry/pods/'), startRevision: first.header.revision }, {
    onEvents: (events) => seen.push(...events),
  });
  await tick();
  await client.deleteRange('/registry/pods/a');
  await tick();
  assert.deepEqual(seen.map((e) => [e.type, e.kv.key]), [['put', '/registry/pods/a'], ['put', '/registry/pods/b'], ['delete', '/registry/pods/a']]);
  assert.equal(watch.nextRevision, seen[2]!.kv.modRevision + 1);
  watch.cancel();
  await client.put('/registry/pods/c', '3');
  await tick();
  assert.equal(seen.length, 3, 'a canceled watch hears nothing more');
});

test('a watch older than the compaction ends with a compacted error carrying the compact revision', async () => {
  const client = new LocalKvClient(clock());
  await client.put('k', '1');
  const second = await client.put('k', '2');
  await client.compact(second.header.revision);
  const ended = await new Promise<KvError | undefined>((resolve) => client.watch('k', { startRevision: 1 }, { onEvents: () => undefined, onEnd: resolve }));
  assert.ok(ended instanceof KvError);
  assert.equal(ended.code, 'compacted');
  assert.equal(ended.compactRevision, second.header.revision);
});

test('a lease not kept alive expires and takes its keys with it in one revision', async () => {
  const time = clock();
  const client = new LocalKvClient(time);
  const lease = await client.leaseGrant(10);
  await client.put('/registry/leases/n1', 'x', { lease: lease.id });
  await client.put('/registry/leases/n2', 'y', { lease: lease.id });
  time.advance(9_000);
  await client.leaseKeepAlive(lease.id);
  time.advance(9_000);
  assert.equal((await client.range('/registry/leases/', { rangeEnd: prefixEnd('/registry/leases/') })).count, 2, 'kept alive in time');
  time.advance(2_000);
  const after = await client.range('/registry/leases/', { rangeEnd: prefixEnd('/registry/leases/') });
  assert.equal(after.count, 0);
  await assert.rejects(client.leaseKeepAlive(lease.id), (e: unknown) => e instanceof KvError && e.code === 'leaseNotFound');
});

test('store errors reject with etcd-shaped KvErrors, and a closed client rejects everything', async () => {
  const client = new LocalKvClient(clock());
  await assert.rejects(client.put('', 'v'), (e: unknown) => e instanceof KvError && e.code === 'emptyKey');
  client.close();
  await assert.rejects(client.range('k'), /closed/);
});
