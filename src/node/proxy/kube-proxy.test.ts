import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../../actor/index.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiReply, ApiServerMsg } from '../../api/protocol.js';
import type { Service } from '../../api/types/index.js';
import { kubeProxy, type ProxyRouteReply } from './kube-proxy.js';

test('kube-proxy (simulated): watches Services and EndpointSlices, routes to ready endpoints, prefers its own node when asked, follows changes', async () => {
  const sim = new SimulatedSystem({ seed: 3, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { http: false } });
  await sim.spawn(kubeProxy, { name: 'kube-proxy-node-0', args: { nodeName: 'node-0' } });
  const api = sim.ref<ApiServerMsg>('apiserver');
  const ask = <T>(msg: ApiServerMsg) => sim.settle(api.ask<ApiReply<T>>(msg, { timeoutMs: 10_000 }));
  const route = async (name: string) => sim.settle(sim.ref('kube-proxy-node-0').ask<ProxyRouteReply>({ type: 'proxy.route', body: { namespace: 'default', name } }));
  const core = { group: '', version: 'v1', namespace: 'default' };
  const slices = { group: 'discovery.k8s.io', version: 'v1', namespace: 'default', resource: 'endpointslices' };
  const endpoint = (ip: string, node: string, ready = true) => ({ addresses: [ip], nodeName: node, conditions: { ready }, targetRef: { kind: 'Pod', name: `pod-${ip}` } });

  const svc = await ask<Service>({ type: 'api.create', body: { ...core, resource: 'services', object: { metadata: { name: 'db', annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } }, spec: { selector: { app: 'db' }, ports: [{ port: 5432 }] } } } });
  assert.ok(svc.ok, JSON.stringify(svc));
  await ask({ type: 'api.create', body: { ...slices, object: {
    metadata: { name: 'db-1', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4',
    endpoints: [endpoint('10.244.0.5', 'node-0'), endpoint('10.244.1.5', 'node-1'), endpoint('10.244.0.6', 'node-0', false)],
    ports: [{ port: 5432, protocol: 'TCP' }],
  } } });
  await sim.runFor(1_000);
  const picks = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await route('db');
    assert.ok(r.ok, JSON.stringify(r));
    picks.add(r.backend.ip);
  }
  assert.deepEqual([...picks], ['10.244.0.5'], 'PreferClose: only the ready endpoint on this node');

  // The local endpoint goes unready: traffic falls back to the other node.
  await ask({ type: 'api.update', body: { ...slices, name: 'db-1', object: {
    metadata: { name: 'db-1', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4',
    endpoints: [endpoint('10.244.0.5', 'node-0', false), endpoint('10.244.1.5', 'node-1')], ports: [{ port: 5432, protocol: 'TCP' }],
  } } });
  await sim.runFor(1_000);
  const after = await route('db');
  assert.ok(after.ok && after.backend.ip === '10.244.1.5', JSON.stringify(after));

  const missing = await route('nope');
  assert.ok(!missing.ok && /no service default\/nope/.test(missing.reason));
  await sim.shutdown();
});
