/**
 * The API server's handlers on a real etcd: after etcd compacts, a paged
 * list's continue token and a watch resumed from a compacted revision answer
 * 410 Gone as they do on the embedded store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdKvClient } from '../kv/etcd/client.js';
import { EtcdCluster, etcdVersion } from '../kv/etcd/cluster.js';
import { requireEtcd } from '../testing/tools.js';
import { ApiError } from './errors.js';
import { ApiHandlers } from './handlers.js';
import { ADMIN, seededRandom } from './testing.js';
import type { Status, WatchEvent } from './types/index.js';

const skip = requireEtcd(etcdVersion() !== undefined);
const clock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) };
const configmaps = { group: '', version: 'v1', resource: 'configmaps', namespace: 'default' } as const;

describe('the API server on a real etcd', { skip }, () => {
  let cluster: EtcdCluster;
  const open: Array<{ kv: EtcdKvClient; handlers: ApiHandlers }> = [];
  /** An API server's handlers on the cluster (a fresh one is an API server restart: an empty watch cache). */
  const apiServer = async (): Promise<ApiHandlers> => {
    const kv = await EtcdKvClient.connect({ endpoints: cluster.clientUrls(), clock });
    const handlers = new ApiHandlers({ kv, now: clock.now, random: seededRandom(3) });
    open.push({ kv, handlers });
    await handlers.start();
    return handlers;
  };
  const create = async (handlers: ApiHandlers, name: string): Promise<string> => {
    const result = await handlers.handle({ verb: 'create', ...configmaps, body: { metadata: { name }, data: { n: name } } }, ADMIN);
    return (result.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  };

  before(async () => {
    cluster = await EtcdCluster.start({ members: 1, heartbeatMs: 100, electionMs: 1000 });
  });
  after(async () => {
    for (const { kv, handlers } of open) {
      handlers.stop();
      kv.close();
    }
    await cluster?.stop();
  });

  test('a continue token from before a compaction answers 410 Expired; a watch resumed from a compacted revision gets 410 Gone', async () => {
    const first = await apiServer();
    const rv1 = await create(first, 'c1');
    await create(first, 'c2');
    await create(first, 'c3');
    const page = await first.handle({ verb: 'list', ...configmaps, query: { limit: 1 } }, ADMIN);
    const token = (page.body as { metadata: { continue?: string } }).metadata.continue;
    assert.ok(token !== undefined && token !== '', 'a first page of one has a continue token');
    // The resourceVersion kubectl sees is etcd's revision of the write.
    const stored = await open[0]!.kv.range('/registry/configmaps/default/c1');
    assert.equal(String(stored.kvs[0]!.modRevision), rv1);

    const latest = await create(first, 'c4');
    await open[0]!.kv.compact(Number(latest));
    // Another API server has no snapshot of that list (the first serves its own tokens from its cache): etcd answers.
    const other = await apiServer();
    await assert.rejects(
      other.handle({ verb: 'list', ...configmaps, query: { limit: 1, continue: token } }, ADMIN),
      (e: unknown) => e instanceof ApiError && e.code === 410 && e.reason === 'Expired',
    );

    // A restarted API server's cache starts at etcd's current revision: older revisions are gone, as etcd says.
    const restarted = await apiServer();
    const events: WatchEvent[] = [];
    const ended = await new Promise<Status | undefined>((resolve) => {
      restarted.watch({ verb: 'watch', ...configmaps, query: { resourceVersion: rv1 } }, ADMIN, { event: (e) => events.push(e), end: resolve });
    });
    assert.equal(ended?.code, 410);
    assert.equal(ended?.reason, 'Expired');
    assert.deepEqual(events, []);
    // From a revision it still holds, the watch resumes and sees what comes after.
    const resumed: WatchEvent[] = [];
    const watch = restarted.watch({ verb: 'watch', ...configmaps, query: { resourceVersion: latest } }, ADMIN, { event: (e) => resumed.push(e), end: () => undefined });
    await create(first, 'c5');
    const deadline = Date.now() + 10_000;
    while (resumed.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    watch.cancel();
    assert.deepEqual(resumed.map((e) => [e.type, (e.object as { metadata: { name: string } }).metadata.name]), [['ADDED', 'c5']]);
  });
});
