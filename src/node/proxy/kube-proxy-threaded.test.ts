/**
 * kube-proxy's TCP forwarder on real threads and sockets, when syncs overlap.
 * The actor runtime does not wait for one message's promise before handling
 * the next, so two `proxy.sync` messages that arrive together run at once.
 * Before syncs were serialized, each created its own forwarder while the
 * first awaited the forwarder module: the first one kept the NodePort with
 * the table of that moment (no endpoints yet) and refused every connection
 * for good, while the second retried its binds forever. That is how a
 * loaded CI machine saw `socket hang up` from a LoadBalancer for a whole
 * minute (src/cloud/lb-e2e.test.ts).
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import { ThreadedSystem } from '../../actor/index.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiServerMsg } from '../../api/protocol.js';
import { apiMust, eventually } from '../../cluster/testing.js';
import type { Service } from '../../api/types/index.js';
import { kubeProxy, type KubeProxyMsg } from './kube-proxy.js';

const POD_IP = '127.10.88.7';
const POD_PORT = 18_187;

function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (d) => {
      got += d;
      if (got.endsWith(text)) socket.end();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => resolve(got));
  });
}

interface ProxySummary {
  syncs: number;
  forwarders: number;
  listenFailures: number;
}

test('two kube-proxy syncs at once leave one forwarder, and its NodePort follows endpoints added afterwards', { skip: !isMainThread ? 'worker thread' : false, timeout: 60_000 }, async () => {
  const pod = net.createServer((socket) => {
    socket.write('pod:');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => pod.once('error', reject).listen(POD_PORT, POD_IP, () => resolve()));
  const system = new ThreadedSystem({ seed: 4, logLevel: 'silent' });
  try {
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
    const must = apiMust(system.ref<ApiServerMsg>('apiserver'));
    const service = await must<Service>({
      type: 'api.create',
      body: { group: '', version: 'v1', resource: 'services', namespace: 'default', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' }, spec: { type: 'NodePort', selector: { app: 'echo' }, ports: [{ port: 7000, targetPort: POD_PORT }] } } },
    });
    const nodePort = service.spec?.ports?.[0]?.nodePort;
    assert.ok(nodePort !== undefined, 'the API server allocates a NodePort');
    // Automatic syncs are a minute away: the test decides when syncs run.
    const proxy = await system.spawn(kubeProxy, { name: 'kube-proxy-0', args: { nodeName: 'node-0', forward: true, nodeIP: '127.0.0.1', syncDelayMs: 60_000, listenRetryMs: 60_000 } });
    const summary = async (): Promise<ProxySummary> => (await system.inspect()).actors.find((a) => a.name === 'kube-proxy-0')?.summary as ProxySummary;
    // Two syncs sent together, until the informers have listed and the pair ran past the early return.
    await eventually('the first syncs with the Service listed', async () => {
      proxy.tell({ type: 'proxy.sync', body: null } satisfies KubeProxyMsg);
      proxy.tell({ type: 'proxy.sync', body: null } satisfies KubeProxyMsg);
      await proxy.ask({ type: 'proxy.table', body: null });
      const s = await summary();
      return s.syncs >= 2 ? s : undefined;
    });
    await eventually('the NodePort listening', async () => {
      const answer = await new Promise<boolean>((resolve) => {
        const socket = net.connect(nodePort, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      return answer ? true : undefined;
    });
    // No endpoint yet: the forwarder accepts and cuts.
    assert.equal(await exchange(nodePort, 'hello'), '');

    await must({
      type: 'api.create',
      // What the controller-manager would write (kube-proxy reads EndpointSlices only, as Kubernetes' does).
      body: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'default', object: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'echo-0', namespace: 'default', labels: { 'kubernetes.io/service-name': 'echo' } }, addressType: 'IPv4', endpoints: [{ addresses: [POD_IP], conditions: { ready: true }, nodeName: 'node-0' }], ports: [{ name: '', port: POD_PORT, protocol: 'TCP' }] } },
    });
    await eventually('the endpoints in the table', async () => {
      await proxy.ask({ type: 'proxy.sync', body: null } satisfies KubeProxyMsg);
      const table = await proxy.ask<Array<{ backends: string[] }>>({ type: 'proxy.table', body: null });
      return table[0]?.backends.length === 1 ? true : undefined;
    });
    const after = await summary();
    assert.equal(after.forwarders, 1, 'one forwarder however many syncs overlapped');
    assert.equal(after.listenFailures, 0, 'no sync found its own NodePort held by an orphaned forwarder');
    assert.equal(await exchange(nodePort, 'hello'), 'pod:hello', 'the NodePort reaches the endpoint added after the first syncs');
  } finally {
    await system.shutdown();
    await new Promise<void>((resolve) => pod.close(() => resolve()));
  }
});
