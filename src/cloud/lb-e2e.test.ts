/**
 * The whole path on a real cluster (`startCluster`, process runtime): a
 * Deployment whose pod is a real `node` HTTP server on its pod IP, a
 * LoadBalancer Service in front of it; the endpoints controller, kube-proxy's
 * NodePort listener, the cloud-controller-manager and the cloud's load
 * balancer listener are all the real components. An HTTP request to the
 * Service's ingress address must reach the pod.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMainThread } from 'node:worker_threads';
import type { ApiServerMsg } from '../api/protocol.js';
import type { Service } from '../api/types/index.js';
import { resolveClusterSpec } from '../cluster/spec.js';
import { startCluster } from '../cluster/start.js';
import { apiMust, eventually, httpGet } from '../cluster/testing.js';

const SERVICE_PORT = 18_090;

test('a real cluster with the process runtime: an HTTP request to a LoadBalancer Service ingress reaches its pod', { skip: !isMainThread ? 'worker thread' : false, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-lb-e2e-'));
  const spec = resolveClusterSpec({ port: 0, nodes: 1, runtime: 'process', allowProcesses: true, profile: 'fast', dataDir: join(dir, 'data'), kubeconfigPath: join(dir, 'kubeconfig') });
  const cluster = await startCluster(spec, { logLevel: 'fatal' });
  try {
    const must = apiMust(cluster.system.ref<ApiServerMsg>('apiserver'));
    const server = "require('http').createServer((q, s) => s.end('pod ' + process.env.POD_NAME + ' at ' + process.env.POD_IP)).listen(8080, process.env.POD_IP)";
    await must({
      type: 'api.create',
      body: {
        group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default',
        object: {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
          spec: {
            replicas: 1, selector: { matchLabels: { app: 'web' } },
            template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'node', command: ['node', '-e', server], ports: [{ containerPort: 8080 }] }] } },
          },
        },
      },
    });
    await must({
      type: 'api.create',
      body: { group: '', version: 'v1', resource: 'services', namespace: 'default', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: SERVICE_PORT, targetPort: 8080 }] } } },
    });
    const ingress = await eventually('the Service ingress', async () => (await must<Service>({ type: 'api.get', body: { group: '', version: 'v1', resource: 'services', namespace: 'default', name: 'web' } })).status?.loadBalancer?.ingress?.[0]?.ip, 60_000);
    assert.match(ingress, /^127\.30\./);
    const reply = await eventually('an answer from the pod through the load balancer', async () => {
      const r = await httpGet(`http://${ingress}:${SERVICE_PORT}/`, 3_000);
      return r.status === 200 ? r : undefined;
    }, 60_000).catch(async (error: Error) => {
      // A failure here once took a CI run; say where the path broke: the pod, its endpoints, kube-proxy or the load balancer.
      const { actors } = await cluster.system.inspect();
      const summaries = actors.filter((a) => /kube-proxy|cloud|kubelet/.test(a.name)).map((a) => ({ name: a.name, state: a.state, restarts: a.restarts, summary: a.summary }));
      const pods = await must<{ items: Array<{ metadata: { name: string }; status?: { phase?: string; podIP?: string } }> }>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: 'default' } }).catch(() => undefined);
      const endpoints = await must({ type: 'api.get', body: { group: '', version: 'v1', resource: 'endpoints', namespace: 'default', name: 'web' } }).catch(() => undefined);
      throw new Error(`${error.message}\n${JSON.stringify({ pods: pods?.items.map((p) => ({ name: p.metadata.name, status: p.status })), endpoints, summaries }, null, 1)}`);
    });
    assert.match(reply.body, /^pod web-[a-z0-9-]+ at 127\.10\.\d+\.\d+$/);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
