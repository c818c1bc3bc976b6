/**
 * Service traffic to sim pods, in the simulated runtime: requests routed by
 * kube-proxy's table to the pods' runtimes, answered while a pod runs, and
 * retried on another endpoint when a node dies — what service availability
 * under chaos is measured with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../src/actor/index.js';
import { apiServer } from '../src/api/behaviour.js';
import type { ApiReply, ApiServerMsg } from '../src/api/protocol.js';
import { timingFor } from '../src/cluster/spec.js';
import type { ProxyRequestReply } from '../src/node/proxy/kube-proxy.js';
import { spawnControllerManagers } from './controller-manager.js';
import { spawnNode } from './node.js';

test('requests through a Service reach every running sim pod, and keep being answered when a node dies', async () => {
  const sim = new SimulatedSystem({ seed: 5, logger: createLogger({ level: 'silent' }) });
  const timing = timingFor('fast');
  await sim.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
  await spawnControllerManagers(sim, { timing });
  const nodes = [];
  for (let index = 0; index < 2; index++) nodes.push(await spawnNode(sim, { index, runtime: 'sim', allowProcesses: false, timing, dataDir: undefined }));
  const api = sim.ref<ApiServerMsg>('apiserver');
  const create = async (resource: string, object: unknown) => {
    const r = await sim.settle(api.ask<ApiReply>({ type: 'api.create', body: { group: '', version: 'v1', resource, namespace: 'default', object } }, { timeoutMs: 10_000 }));
    assert.ok(r.ok, JSON.stringify(r));
  };
  await sim.runFor(2_000);
  for (let i = 0; i < 4; i++) {
    await create('pods', { metadata: { name: `web-${i}`, labels: { app: 'web' } }, spec: { nodeName: `node-${i % 2}`, containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } });
  }
  await create('services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] } });
  await sim.runFor(5_000);

  const proxy = sim.ref(nodes[0]!.kubeProxy);
  const send = async (n: number) => {
    const replies: ProxyRequestReply[] = [];
    for (let i = 0; i < n; i++) replies.push(await sim.settle(proxy.ask<ProxyRequestReply>({ type: 'proxy.request', body: { namespace: 'default', name: 'web' } }, { timeoutMs: 10_000 })));
    return replies;
  };
  const before = await send(20);
  assert.ok(before.every((r) => r.ok), JSON.stringify(before.filter((r) => !r.ok)));
  assert.deepEqual([...new Set(before.map((r) => (r.ok ? r.pod : '')))].sort(), ['web-0', 'web-1', 'web-2', 'web-3'], 'round robin reaches every pod');

  // node-1 dies (its runtime with it): its endpoints stay listed until the node lifecycle controller acts,
  // and every request still gets an answer by retrying on a pod of node-0.
  for (const name of [nodes[1]!.kubelet, nodes[1]!.kubeProxy, ...Object.values(nodes[1]!.runtimes)]) await sim.stop(name);
  const during = await send(20);
  assert.ok(during.every((r) => r.ok && /^web-[02]$/.test(r.pod)), JSON.stringify(during));
  assert.ok(during.some((r) => r.attempts > 1), 'some requests first hit the dead node and were retried');
  await sim.shutdown();
});
