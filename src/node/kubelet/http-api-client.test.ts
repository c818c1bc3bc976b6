import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { startTestCluster, type TestCluster } from '../../api/http/test-server.js';
import { generateTls } from '../../api/http/tls.js';
import type { KubeObject, Node, Pod } from '../../api/types/index.js';
import type { ClientWatchEvent, WatchFailure } from '../../client/list-watch.js';
import { connectionFromKubeconfig } from '../remote/kubeconfig.js';
import { LEASES, NODES, PODS } from './api-client.js';
import { HttpKubeApi, WatchLineDecoder, parseWatchLine, resourcePath, statusOf } from './http-api-client.js';

describe('the HTTPS node client, pure parts', () => {
  test('REST paths: core and named groups, namespaced and cluster-scoped, with a subresource', () => {
    assert.equal(resourcePath(PODS, 'default', 'web-1', 'status'), '/api/v1/namespaces/default/pods/web-1/status');
    assert.equal(resourcePath(NODES, undefined, 'n1'), '/api/v1/nodes/n1');
    assert.equal(resourcePath(LEASES, 'kube-node-lease'), '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases');
  });

  test('watch lines split across chunks are put back together; a last line without newline is kept for the end', () => {
    const decoder = new WatchLineDecoder();
    assert.deepEqual(decoder.push('{"type":"ADD'), []);
    assert.deepEqual(decoder.push('ED","object":{}}\n{"type"'), ['{"type":"ADDED","object":{}}']);
    assert.deepEqual(decoder.push(':"BOOKMARK"}\n\n'), ['{"type":"BOOKMARK"}']);
    assert.deepEqual(decoder.push('{"x":1}'), []);
    assert.deepEqual(decoder.end(), ['{"x":1}']);
  });

  test('an ERROR event is the failure its Status names (410 Gone: relist); garbage is a failure, not a crash', () => {
    const gone = parseWatchLine(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' } }));
    assert.deepEqual(gone, { failure: { code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' } });
    const bookmark = parseWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}');
    assert.ok('event' in bookmark && bookmark.event.type === 'BOOKMARK' && bookmark.event.object.metadata.resourceVersion === '12');
    for (const bad of ['not json', '{"type":"ADDED"}', '{"type":"RENAMED","object":{"metadata":{}}}']) {
      const parsed = parseWatchLine(bad);
      assert.ok('failure' in parsed && parsed.failure.code === 500, bad);
    }
  });

  test('an error body becomes a Status: the server\'s own when it sent one, else made from the code', () => {
    assert.equal(statusOf(409, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: 'changed' })).reason, 'Conflict');
    const made = statusOf(503, '<html>bad gateway</html>');
    assert.equal(made.reason, 'ServiceUnavailable');
    assert.equal(made.code, 503);
  });

  test('only https:// servers are accepted: a kubelet must not send its token in clear text', () => {
    assert.throws(() => new HttpKubeApi({ server: 'http://127.0.0.1:8080' }, 1_000, () => 0.5), /https:\/\//);
  });
});

describe('the HTTPS node client against the API server', () => {
  let cluster: TestCluster;
  let api: HttpKubeApi;
  before(async () => {
    cluster = await startTestCluster();
    const path = join(cluster.dir, 'kubeconfig');
    api = new HttpKubeApi(connectionFromKubeconfig(readFileSync(path, 'utf8'), path, (f) => readFileSync(f, 'utf8')), 5_000, () => 0.5);
  });
  after(async () => {
    api.close();
    await cluster.close();
  });

  test('registers a Node, reads it back, writes its status, and answers a repeated create with AlreadyExists', async () => {
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'remote-a' }, spec: {} };
    const created = await api.create(NODES, undefined, node);
    assert.ok(created.ok, JSON.stringify(created));
    const again = await api.create(NODES, undefined, node);
    assert.ok(!again.ok && again.status.reason === 'AlreadyExists' && again.status.code === 409);
    const read = await api.get<Node>(NODES, undefined, 'remote-a', { resourceVersion: '0' });
    assert.ok(read.ok);
    const status: Node['status'] = { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }] };
    const written = await api.update<Node>(NODES, undefined, 'remote-a', { ...read.body, status }, 'status');
    assert.ok(written.ok, JSON.stringify(written));
    assert.equal(written.body.status?.conditions?.[0]?.status, 'True');
    const missing = await api.get(NODES, undefined, 'no-such-node');
    assert.ok(!missing.ok && missing.status.code === 404 && missing.status.reason === 'NotFound');
  });

  test('a stale resourceVersion on update is a 409 Conflict Status, as the lease renewal expects', async () => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'remote-a', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'remote-a' } } as KubeObject;
    const created = await api.create(LEASES, 'kube-node-lease', lease);
    assert.ok(created.ok, JSON.stringify(created));
    const renew = (from: KubeObject, renewTime: string) => ({ ...from, spec: { holderIdentity: 'remote-a', renewTime } }) as KubeObject;
    const renewed = await api.update(LEASES, 'kube-node-lease', 'remote-a', renew(created.body, '2026-01-01T00:00:10.000000Z'));
    assert.ok(renewed.ok && renewed.body.metadata.resourceVersion !== created.body.metadata.resourceVersion);
    const stale = await api.update(LEASES, 'kube-node-lease', 'remote-a', renew(created.body, '2026-01-01T00:00:20.000000Z'));
    assert.ok(!stale.ok && stale.status.code === 409, JSON.stringify(stale));
  });

  test('lists and watches pods by spec.nodeName: only this node\'s pods, from the list\'s resourceVersion on', async () => {
    const pod = (name: string, nodeName: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'c', image: 'sim/run' }] } });
    assert.ok((await api.create(PODS, 'default', pod('mine-1', 'remote-a'))).ok);
    assert.ok((await api.create(PODS, 'default', pod('theirs-1', 'elsewhere'))).ok);
    const lw = api.listWatcher<Pod>(PODS, { fieldSelector: 'spec.nodeName=remote-a' });
    const listed = await lw.list({ resourceVersion: '0' });
    assert.deepEqual(listed.items.map((p) => p.metadata.name), ['mine-1']);
    const events: ClientWatchEvent<Pod>[] = [];
    const seen = new Promise<void>((resolve, reject) => {
      const handle = lw.watch(listed.resourceVersion, {
        onEvent: (event) => {
          events.push(event);
          if (event.type === 'DELETED') {
            handle.stop();
            resolve();
          }
        },
        onError: (failure) => reject(new Error(JSON.stringify(failure))),
      });
    });
    assert.ok((await api.create(PODS, 'default', pod('theirs-2', 'elsewhere'))).ok);
    assert.ok((await api.create(PODS, 'default', pod('mine-2', 'remote-a'))).ok);
    assert.ok((await api.delete(PODS, 'default', 'mine-2', { gracePeriodSeconds: 0 })).ok);
    await seen;
    const names = events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`);
    assert.equal(names[0], 'ADDED mine-2', names.join(', '));
    assert.equal(names.at(-1), 'DELETED mine-2');
    assert.ok(names.every((n) => n.endsWith('mine-2')), `other nodes' pods stay out of the watch: ${names.join(', ')}`);
  });

  test('a watch the server refuses ends in onError with the server\'s code, never onClose', async () => {
    const failure = await new Promise<WatchFailure>((resolve, reject) => {
      api.listWatcher<Pod>(PODS).watch('not-a-version', { onEvent: () => undefined, onError: resolve, onClose: () => reject(new Error('closed normally')) });
    });
    assert.equal(failure.code, 400, JSON.stringify(failure));
  });

  test('a server that is not there is a 503 Status, not a throw', async () => {
    const nowhere = new HttpKubeApi({ server: 'https://127.0.0.1:1' }, 2_000, () => 0.5);
    try {
      const reply = await nowhere.get(NODES, undefined, 'x');
      assert.ok(!reply.ok && reply.status.code === 503 && reply.status.reason === 'ServiceUnavailable');
      await assert.rejects(nowhere.listWatcher(NODES).list({}), /list nodes: the API server did not answer/);
    } finally {
      nowhere.close();
    }
  });
});

describe('the HTTPS node client: how a watch ends', () => {
  /** What the hand-made server does after one ADDED event: end the stream, cut the connection, or send a 410 ERROR. */
  let ending: 'end' | 'cut' | 'gone' = 'end';
  let server: Server;
  let api: HttpKubeApi;
  before(async () => {
    const tls = generateTls();
    server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'p', resourceVersion: '7' } } })}\n`);
      if (ending === 'end') res.end();
      else if (ending === 'gone') res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 7 (9)' } })}\n`);
      else setTimeout(() => req.socket.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    api = new HttpKubeApi({ server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: tls.caPem }, 5_000, () => 0.5);
  });
  after(async () => {
    api.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const outcome = () => new Promise<{ events: string[]; end: string }>((resolve) => {
    const events: string[] = [];
    api.listWatcher(PODS).watch('5', {
      onEvent: (e) => events.push(`${e.type} ${e.object.metadata.name}`),
      onError: (f) => resolve({ events, end: `error ${f.code}` }),
      onClose: () => resolve({ events, end: 'close' }),
    });
  });

  test('the server ending the stream (its timeoutSeconds) is a normal close: the informer watches on from there', async () => {
    ending = 'end';
    assert.deepEqual(await outcome(), { events: ['ADDED p'], end: 'close' });
  });

  test('a connection cut mid-stream is an error, not a normal close', async () => {
    ending = 'cut';
    assert.deepEqual(await outcome(), { events: ['ADDED p'], end: 'error 503' });
  });

  test('a 410 ERROR event ends the watch as Gone: the informer lists again', async () => {
    ending = 'gone';
    assert.deepEqual(await outcome(), { events: ['ADDED p'], end: 'error 410' });
  });
});
