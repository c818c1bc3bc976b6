import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ThreadedSystem } from '../../actor/index.js';
import { spawnEtcdGroup } from '../replica/group.js';
import { kvGrpcGateway, type KvGrpcGatewayInfo } from './behaviour.js';

describe('the gRPC gateway actor', () => {
  let system: ThreadedSystem;
  let etcd: Etcd3;
  let endpoint: string;

  before(async () => {
    system = new ThreadedSystem({ seed: 7, logLevel: 'fatal' });
    const group = await spawnEtcdGroup(system, { replicas: 3, replica: { tickMs: 20 } });
    const gateway = await system.spawn(kvGrpcGateway, { name: 'kv-grpc', args: { replicas: group.names } });
    ({ endpoint } = await gateway.ask<KvGrpcGatewayInfo>({ type: 'grpc.info', body: null }, { timeoutMs: 30_000 }));
    etcd = new Etcd3({ hosts: endpoint });
  });
  after(async () => {
    etcd?.close();
    await system.shutdown();
  });

  test('serves the three replicas to an etcd client on loopback: writes go through Raft, linearizable reads see them', async () => {
    assert.match(endpoint, /^127\.0\.0\.1:\d+$/);
    const puts = await Promise.all(Array.from({ length: 20 }, (_, i) => etcd.put(`/gw/${i}`).value(`v${i}`).exec()));
    const revisions = puts.map((p) => Number(p.header.revision)).sort((a, b) => a - b);
    assert.equal(new Set(revisions).size, 20, 'every put made its own revision');
    assert.equal(await etcd.getAll().prefix('/gw/').count(), 20);
    assert.equal(await etcd.get('/gw/7').string(), 'v7');
    const cas = await etcd.if('/gw/7', 'Value', '==', 'v7').then(etcd.put('/gw/7').value('swapped')).commit();
    assert.equal(cas.succeeded, true);
    assert.equal(await etcd.get('/gw/7').string(), 'swapped');
  });
});
