import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ThreadedSystem } from '../../actor/index.js';
import { groupStatus, spawnEtcdGroup } from '../replica/group.js';
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

describe('a gRPC gateway attached to a replica (in its thread, that replica local)', () => {
  let system: ThreadedSystem;
  let etcd: Etcd3;

  before(async () => {
    system = new ThreadedSystem({ seed: 11, logLevel: 'fatal' });
    await spawnEtcdGroup(system, { replicas: 3, replica: { tickMs: 20 } });
  });
  after(async () => {
    etcd?.close();
    await system.shutdown();
  });

  test('answers serializable reads from its replica, stale as etcd\'s may be, while linearizable reads and writes are the leader\'s', async () => {
    const names = ['etcd-0', 'etcd-1', 'etcd-2'];
    let leader: string | undefined;
    for (let i = 0; i < 500 && leader === undefined; i++) {
      leader = (await groupStatus(system, names)).find((s) => s?.role === 'leader')?.name;
      if (leader === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(leader !== undefined, 'a leader was elected');
    const follower = names.find((n) => n !== leader)!;
    const gateway = await system.spawn(kvGrpcGateway, { name: 'kv-grpc-attached', placement: follower, args: { replicas: names, localReplica: follower } });
    const { endpoint } = await gateway.ask<KvGrpcGatewayInfo>({ type: 'grpc.info', body: null }, { timeoutMs: 30_000 });
    etcd = new Etcd3({ hosts: endpoint });
    await etcd.put('/att/k').value('before').exec();
    // The follower applies it a heartbeat or so later.
    for (let i = 0; i < 500 && (await etcd.get('/att/k').serializable(true).string()) !== 'before'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // Cut the follower off from the other replicas (not from the gateway beside it): it falls behind.
    await system.faults.partition([follower], names.filter((n) => n !== follower));
    await etcd.put('/att/k').value('after').exec();
    assert.equal(await etcd.get('/att/k').string(), 'after', 'a linearizable read sees the write');
    assert.equal(await etcd.get('/att/k').serializable(true).string(), 'before', 'a serializable read is the attached replica\'s, which has not heard of the write');
    await system.faults.heal();
  });
});
