import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requireEtcd } from '../../testing/tools.js';
import { KvError } from '../client/types.js';
import type { Event } from '../protocol.js';
import { prefixEnd } from '../protocol.js';
import { EtcdKvClient, mapEtcdError, parseEtcdEndpoints, progressRequestsSafe } from './client.js';
import { EtcdCluster, etcdVersion } from './cluster.js';
import { KvRequestError } from '../client/replicated-client.js';

const skip = requireEtcd(etcdVersion() !== undefined);
const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };

describe('etcd client: pure parts', () => {
  test('progress requests are trusted only from the etcd versions that order them after pending events', () => {
    const cases: Array<[string, boolean]> = [
      ['3.4.23', false], ['3.4.30', false], ['3.4.31', true], ['3.5.12', false], ['3.5.13', true], ['3.5.17', true], ['3.6.0', true], ['3.7.1', true], ['garbage', false],
    ];
    for (const [version, safe] of cases) assert.equal(progressRequestsSafe(version), safe, version);
  });

  test('--etcd-endpoints accepts comma-separated URLs with ports and says what is wrong otherwise', () => {
    assert.deepEqual(parseEtcdEndpoints('http://127.0.0.1:2379, http://127.0.0.1:22379'), ['http://127.0.0.1:2379', 'http://127.0.0.1:22379']);
    assert.throws(() => parseEtcdEndpoints(''), /at least one URL/);
    assert.throws(() => parseEtcdEndpoints('127.0.0.1:2379'), /http/);
    assert.throws(() => parseEtcdEndpoints('http://127.0.0.1'), /no port/);
  });

  test("etcd's errors map to the store's codes; transport trouble is indeterminate only for writes", () => {
    const compacted = mapEtcdError(new Error('etcdserver: mvcc: required revision has been compacted'), false);
    assert.ok(compacted instanceof KvError && compacted.code === 'compacted');
    const lease = mapEtcdError(new Error('etcdserver: requested lease not found'), true);
    assert.ok(lease instanceof KvError && lease.code === 'leaseNotFound');
    const write = mapEtcdError(new Error('14 UNAVAILABLE: No connection established'), true);
    assert.ok(write instanceof KvRequestError && write.indeterminate);
    const read = mapEtcdError(new Error('14 UNAVAILABLE: No connection established'), false);
    assert.ok(read instanceof KvRequestError && !read.indeterminate);
  });
});

describe('etcd client against a real etcd', { skip }, () => {
  let cluster: EtcdCluster;
  let kv: EtcdKvClient;
  before(async () => {
    cluster = await EtcdCluster.start({ members: 1, heartbeatMs: 100, electionMs: 1000 });
    kv = await EtcdKvClient.connect({ endpoints: cluster.clientUrls(), clock });
  });
  after(async () => {
    kv?.close();
    await cluster?.stop();
  });

  test("puts, ranges and deletes carry etcd's revisions; a txn compares mod revisions as the registry's updates do", async () => {
    const put = await kv.put('/registry/pods/default/a', '{"v":1}');
    const got = await kv.range('/registry/pods/default/a');
    assert.equal(got.kvs[0]!.value, '{"v":1}');
    assert.equal(got.kvs[0]!.modRevision, put.header.revision);
    assert.equal(got.kvs[0]!.version, 1);
    const stale = await kv.txn({
      compare: [{ key: '/registry/pods/default/a', target: 'modRevision', result: 'equal', value: put.header.revision - 1 }],
      success: [{ type: 'put', key: '/registry/pods/default/a', value: '{"v":2}' }],
      failure: [{ type: 'range', key: '/registry/pods/default/a' }],
    });
    assert.equal(stale.succeeded, false);
    const failed = stale.responses[0]!;
    assert.ok(failed.type === 'range' && failed.kvs[0]!.value === '{"v":1}');
    const fresh = await kv.txn({
      compare: [{ key: '/registry/pods/default/a', target: 'modRevision', result: 'equal', value: put.header.revision }],
      success: [{ type: 'put', key: '/registry/pods/default/a', value: '{"v":2}' }],
      failure: [],
    });
    assert.equal(fresh.succeeded, true);
    assert.equal(fresh.header.revision, put.header.revision + 1);
    await kv.put('/registry/pods/default/b', '{}');
    const listed = await kv.range('/registry/pods/', { rangeEnd: prefixEnd('/registry/pods/'), limit: 1 });
    assert.equal(listed.kvs.length, 1);
    assert.equal(listed.more, true);
    assert.equal(listed.count, 2);
    const deleted = await kv.deleteRange('/registry/pods/', { rangeEnd: prefixEnd('/registry/pods/'), prevKv: true });
    assert.equal(deleted.deleted, 2);
    assert.deepEqual(deleted.prevKvs.map((x) => x.key), ['/registry/pods/default/a', '/registry/pods/default/b']);
  });

  test('a watch resumes from a revision, and one from before a compaction ends with compacted and the compact revision', async () => {
    const first = await kv.put('/w/x', '1');
    await kv.put('/w/x', '2');
    await kv.deleteRange('/w/x');
    const seen: Event[] = [];
    await new Promise<void>((resolve) => {
      const w = kv.watch('/w/', { rangeEnd: prefixEnd('/w/'), startRevision: first.header.revision }, {
        onEvents: (events) => {
          seen.push(...events);
          if (seen.length === 3) {
            w.cancel();
            resolve();
          }
        },
      });
    });
    assert.deepEqual(seen.map((e) => [e.type, e.kv.modRevision]), [['put', first.header.revision], ['put', first.header.revision + 1], ['delete', first.header.revision + 2]]);

    const last = await kv.put('/w/y', '3');
    await kv.compact(last.header.revision);
    const ended = await new Promise<KvError | undefined>((resolve) => {
      kv.watch('/w/', { rangeEnd: prefixEnd('/w/'), startRevision: first.header.revision }, { onEvents: () => undefined, onEnd: resolve });
    });
    assert.ok(ended instanceof KvError);
    assert.equal(ended.code, 'compacted');
    assert.equal(ended.compactRevision, last.header.revision);
    await assert.rejects(kv.range('/w/y', { revision: first.header.revision }), (e: unknown) => e instanceof KvError && e.code === 'compacted');
  });

  test('a key on a lease goes when the lease is revoked; keep-alive of an unknown lease is leaseNotFound', async () => {
    const lease = await kv.leaseGrant(60);
    await kv.put('/registry/events/default/e1', '{}', { lease: lease.id });
    const ttl = await kv.leaseTimeToLive(lease.id, { keys: true });
    assert.deepEqual(ttl.keys, ['/registry/events/default/e1']);
    assert.equal(ttl.grantedTtlSeconds, 60);
    const kept = await kv.leaseKeepAlive(lease.id);
    assert.equal(kept.ttlSeconds, 60);
    await kv.leaseRevoke(lease.id);
    assert.equal((await kv.range('/registry/events/default/e1')).kvs.length, 0);
    await assert.rejects(kv.leaseKeepAlive(lease.id), (e: unknown) => e instanceof KvError && e.code === 'leaseNotFound');
  });

  test("progress requests follow the server's version (the installed etcd's says whether they are trusted)", () => {
    assert.equal(kv.supportsProgressRequests, progressRequestsSafe(kv.serverVersion));
    assert.match(kv.serverVersion, /^\d+\.\d+\.\d+/);
  });
});
