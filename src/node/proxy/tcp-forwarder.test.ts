import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildRoutingTable } from './routing.js';
import { TcpForwarder } from './tcp-forwarder.js';
import type { EndpointSlice, Service } from './types.js';

/** A TCP server on a pod address that answers each connection with its name and echoes what it gets. */
function echoServer(ip: string, name: string): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.write(`${name}:`);
    socket.pipe(socket);
  });
  return new Promise((resolve) => server.listen(9000, ip, () => resolve(server)));
}

function exchange(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.write(text));
    let got = '';
    socket.on('data', (d) => {
      got += d;
      if (got.endsWith(text)) socket.end();
    });
    socket.on('close', () => resolve(got));
    // Accepted and then cut (no endpoint) reads as an empty answer; never accepted is an error.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? reject(error) : resolve(got)));
  });
}

const service: Service = { metadata: { name: 'echo', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '127.20.0.50', ports: [{ name: 'tcp', port: 7000, nodePort: 31234 }] } };
const slice = (ips: string[]): EndpointSlice => ({
  metadata: { name: 'echo-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'echo' } },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'n1', conditions: { ready: true } })),
  ports: [{ name: 'tcp', port: 9000 }],
});

describe('kube-proxy TCP forwarder', () => {
  const servers: net.Server[] = [];
  const forwarder = new TcpForwarder();

  before(async () => {
    servers.push(await echoServer('127.10.50.1', 'a'), await echoServer('127.10.50.2', 'b'));
  });

  after(async () => {
    await forwarder.close();
    for (const s of servers) s.close();
  });

  test('connections to the ClusterIP and the NodePort reach every ready endpoint in turn', async () => {
    const failures = await forwarder.sync(buildRoutingTable({ services: [service], endpointSlices: [slice(['127.10.50.1', '127.10.50.2'])], node: { nodeName: 'n1' } }));
    assert.deepEqual(failures, []);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await exchange('127.20.0.50', 7000, `ping${i}`));
    assert.deepEqual(answers, ['a:ping0', 'b:ping1', 'a:ping2', 'b:ping3']);
    const viaNodePort = new Set<string>();
    for (let i = 0; i < 4; i++) viaNodePort.add((await exchange('127.0.0.1', 31234, 'x')).slice(0, 1));
    assert.deepEqual([...viaNodePort].sort(), ['a', 'b']);
  });

  test('an endpoint that refuses connections is skipped by retrying on another', async () => {
    // 127.10.50.3 listens on nothing: every connection to it is refused.
    await forwarder.sync(buildRoutingTable({ services: [service], endpointSlices: [slice(['127.10.50.1', '127.10.50.3'])], node: { nodeName: 'n1' } }));
    const retriesBefore = forwarder.stats.retries;
    for (let i = 0; i < 4; i++) assert.equal(await exchange('127.20.0.50', 7000, `r${i}`), `a:r${i}`);
    assert.ok(forwarder.stats.retries > retriesBefore, 'some connections went to the dead endpoint first and were retried');
  });

  test('a Service whose endpoints are gone refuses connections, and a removed Service closes its listeners', async () => {
    await forwarder.sync(buildRoutingTable({ services: [service], endpointSlices: [], node: { nodeName: 'n1' } }));
    assert.equal(await exchange('127.20.0.50', 7000, 'nobody'), '');
    await forwarder.sync(buildRoutingTable({ services: [], node: { nodeName: 'n1' } }));
    await assert.rejects(exchange('127.20.0.50', 7000, 'gone'), /ECONNREFUSED/);
  });
});
