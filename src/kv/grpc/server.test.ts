import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { LocalKvClient } from '../client/local-client.js';
import { requireTool } from '../../testing/tools.js';
import { KvGrpcServer } from './server.js';

const ETCDCTL = '/usr/bin/etcdctl';

describe('the store over etcd gRPC', () => {
  let server: KvGrpcServer;
  let endpoint: string;
  let etcd: Etcd3;
  let nowMs = 0;

  before(async () => {
    server = new KvGrpcServer({ kv: new LocalKvClient({ now: () => nowMs }) });
    ({ endpoint } = await server.start());
    etcd = new Etcd3({ hosts: endpoint });
  });
  after(() => {
    etcd.close();
    server.close();
  });

  test('the etcd3 client puts, gets, lists a prefix and deletes it; revisions advance as etcd\'s do', async () => {
    const first = await etcd.put('/a/1').value('one').exec();
    const second = await etcd.put('/a/2').value('two').exec();
    assert.equal(Number(second.header.revision), Number(first.header.revision) + 1);
    assert.equal(await etcd.get('/a/1').string(), 'one');
    assert.equal(await etcd.get('/a/missing').string(), null);
    assert.deepEqual(await etcd.getAll().prefix('/a/').strings(), { '/a/1': 'one', '/a/2': 'two' });
    assert.equal(await etcd.getAll().prefix('/a/').count(), 2);
    assert.equal(await etcd.get('/a/1').serializable(true).string(), 'one');
    const deleted = await etcd.delete().prefix('/a/').exec();
    assert.equal(Number(deleted.deleted), 2);
    assert.deepEqual(await etcd.getAll().prefix('/a/').keys(), []);
  });

  test('a compare-and-swap txn swaps when the value matches and runs the failure branch when it does not', async () => {
    await etcd.put('/cas').value('v1').exec();
    const swapped = await etcd.if('/cas', 'Value', '==', 'v1').then(etcd.put('/cas').value('v2')).commit();
    assert.equal(swapped.succeeded, true);
    const refused = await etcd.if('/cas', 'Value', '==', 'v1').then(etcd.put('/cas').value('v3')).else(etcd.get('/cas')).commit();
    assert.equal(refused.succeeded, false);
    assert.equal(refused.responses[0]?.response_range?.kvs[0]?.value.toString(), 'v2');
    const byVersion = await etcd.if('/cas', 'Version', '==', 2).then(etcd.put('/cas').value('v4')).commit();
    assert.equal(byVersion.succeeded, true, 'two puts make version 2');
    assert.equal(await etcd.get('/cas').string(), 'v4');
  });

  test('a read below the compacted revision fails as etcd\'s does: OUT_OF_RANGE with etcd\'s message', async () => {
    const old = Number((await etcd.put('/c').value('1').exec()).header.revision);
    const latest = Number((await etcd.put('/c').value('2').exec()).header.revision);
    await etcd.kv.compact({ revision: latest });
    await assert.rejects(etcd.get('/c').revision(old).string(), (error: Error & { code?: number }) => {
      assert.match(error.message, /required revision has been compacted/);
      return true;
    });
    assert.equal(await etcd.get('/c').revision(latest).string(), '2');
  });

  test('bad input gets a clear INVALID_ARGUMENT: an empty key, a key that is not UTF-8, a sort this store cannot do', async () => {
    await assert.rejects(etcd.put('').value('x').exec(), /key is not provided/);
    await assert.rejects(etcd.put(Buffer.from([0xff, 0xfe])).value('x').exec(), /not valid UTF-8/);
    await assert.rejects(etcd.getAll().prefix('/').sort('Value', 'Descend').keys(), /sort_order Descend by Value not supported/);
    assert.equal(await etcd.put('/still').value('serving').exec().then(() => etcd.get('/still').string()), 'serving', 'the server keeps serving after bad input');
  });

  test('etcdctl reaches the store: put and get --prefix; a service the face does not serve answers Unimplemented', { skip: requireTool('etcdctl', existsSync(ETCDCTL), 'run scripts/install-etcd.sh (Debian: apt-get install etcd-client)') }, async () => {
    const run = promisify(execFile);
    const env = { ...process.env, ETCDCTL_API: '3' };
    const ctl = (...args: string[]) => run(ETCDCTL, ['--endpoints', endpoint, ...args], { env, timeout: 20_000 });
    assert.equal((await ctl('put', '/ctl/a', 'alpha')).stdout.trim(), 'OK');
    await ctl('put', '/ctl/b', 'beta');
    assert.equal((await ctl('get', '--prefix', '/ctl/')).stdout, '/ctl/a\nalpha\n/ctl/b\nbeta\n');
    assert.equal(await etcd.get('/ctl/a').string(), 'alpha', 'what etcdctl wrote, the etcd3 client reads');
    const revision = Number((await etcd.put('/ctl/c').value('gamma').exec()).header.revision);
    assert.equal((await ctl('compaction', '--physical', String(revision))).stdout.trim(), `compacted revision ${revision}`, 'a physical compaction answers as etcd\'s');
    const unimplemented = await ctl('endpoint', 'status').then(() => 'answered', (error: Error) => error.message);
    assert.match(unimplemented, /Unimplemented|unknown service/i, 'a service this face does not serve says so');
  });
});
