/**
 * The load balancer's real data plane, end to end on threads: a
 * LoadBalancer Service → the cloud-controller-manager → a cloud load
 * balancer listening on 127.30.x.y → the node's NodePort, served by the real
 * kube-proxy actor's TCP forwarder → a real HTTP server standing in for the
 * pod (no kubelet: the "pod" is a server this test starts on a pod address,
 * and its EndpointSlice is written by hand, as the endpoints controller would).
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import { ThreadedSystem } from '../actor/index.js';
import { apiServer } from '../api/behaviour.js';
import type { ApiServerMsg } from '../api/protocol.js';
import { apiMust } from '../cluster/testing.js';
import type { Service } from '../api/types/index.js';
import { kubeProxy } from '../node/proxy/kube-proxy.js';
import { UNINITIALIZED_TAINT_KEY } from './ccm/desired.js';
import { CLOUD_NAME, type CloudMsg, type DataPlaneStatus } from './provider/protocol.js';
import { spawnCloudComponents } from './setup.js';
import { NODES_TARGET, servicesTarget } from './testing.js';

const POD_IP = '127.10.77.5';
const POD_PORT = 18_081;
/** Above 1024, so the load balancer's listener needs no privileges. */
const SERVICE_PORT = 18_080;

async function poll<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await f().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 3_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

test('process runtime: an HTTP request to the load balancer address reaches the pod through the NodePort', { skip: !isMainThread ? 'worker thread' : false, timeout: 60_000 }, async () => {
  const pod = http.createServer((req, res) => res.end(`hello from the pod at ${POD_IP}, path ${req.url}`));
  await new Promise<void>((resolve, reject) => pod.once('error', reject).listen(POD_PORT, POD_IP, () => resolve()));
  const system = new ThreadedSystem({ seed: 9, logLevel: 'silent' });
  try {
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
    const must = apiMust(system.ref<ApiServerMsg>('apiserver'));
    await spawnCloudComponents(system, {
      cloud: { config: { latency: { minMs: 5, maxMs: 20 } }, dataPlane: 'tcp' },
      ccm: { leaderElection: { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 }, retry: { baseMs: 100, maxMs: 1_000 }, nodeMonitorPeriodMs: 500 },
      // The node's NodePorts are on 127.0.0.1, where kube-proxy listens: that is the instance's InternalIP.
      nodes: [{ name: 'node-0', internalIP: '127.0.0.1' }],
    });
    await system.spawn(kubeProxy, { name: 'kube-proxy-0', args: { nodeName: 'node-0', forward: true, nodeIP: '127.0.0.1', listenRetryMs: 200 } });
    await must({ type: 'api.create', body: { ...NODES_TARGET, object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, spec: { taints: [{ key: UNINITIALIZED_TAINT_KEY, value: 'true', effect: 'NoSchedule' }] }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } } });
    await must({
      type: 'api.create',
      body: { ...servicesTarget(), object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: SERVICE_PORT, targetPort: POD_PORT }] } } },
    });
    await must({
      type: 'api.create',
      body: {
        group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'default',
        object: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-0', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: [POD_IP], conditions: { ready: true }, nodeName: 'node-0' }], ports: [{ name: 'http', port: POD_PORT, protocol: 'TCP' }] },
      },
    });
    const ingress = await poll('the Service ingress', async () => {
      const s = await must<Service>({ type: 'api.get', body: { ...servicesTarget(), name: 'web' } });
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    assert.match(ingress, /^127\.30\./);
    const plane = await poll('the load balancer listener', async () => {
      const status = await system.ref<CloudMsg>(CLOUD_NAME).ask<DataPlaneStatus>({ type: 'cloud.dataPlane', body: null });
      return status.listeners.includes(`${ingress}:${SERVICE_PORT}`) ? status : undefined;
    });
    assert.deepEqual(plane.failures, []);
    const reply = await poll('an answer through the load balancer', async () => {
      const r = await get(`http://${ingress}:${SERVICE_PORT}/through-the-lb`);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(reply.body, `hello from the pod at ${POD_IP}, path /through-the-lb`);

    // Deleting the Service closes the listener: nothing answers at the address afterwards.
    await must({ type: 'api.delete', body: { ...servicesTarget(), name: 'web' } });
    await poll('the listener closed', async () => {
      const status = await system.ref<CloudMsg>(CLOUD_NAME).ask<DataPlaneStatus>({ type: 'cloud.dataPlane', body: null });
      return status.listeners.length === 0 ? true : undefined;
    });
    await assert.rejects(get(`http://${ingress}:${SERVICE_PORT}/`), /ECONNREFUSED|timeout|socket hang up/);
  } finally {
    await system.shutdown();
    await new Promise<void>((resolve) => pod.close(() => resolve()));
  }
});
