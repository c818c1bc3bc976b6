/**
 * Many sim nodes in one SimulatedSystem: every kubelet and runtime on one
 * thread, pods created already bound (no scheduler needed), until all are
 * Running. npm test runs a small size; the 100 nodes × 2,000 pods:
 *   KUBELET_SCALE_NODES=100 KUBELET_SCALE_PODS=2000 node --test dist/src/node/kubelet/kubelet-scale.test.js
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../../actor/index.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiReply, ApiServerMsg } from '../../api/protocol.js';
import type { List, Pod } from '../../api/types/index.js';
import { simRuntime } from '../runtime/sim/sim-runtime.js';
import { kubelet } from './kubelet.js';

const NODES = Number(process.env.KUBELET_SCALE_NODES ?? 10);
const PODS = Number(process.env.KUBELET_SCALE_PODS ?? 200);

test(`${NODES} sim nodes run ${PODS} pods to Running`, async () => {
  const sim = new SimulatedSystem({ seed: 5, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { http: false } });
  for (let i = 0; i < NODES; i++) {
    await sim.spawn(simRuntime, { name: `runtime-node-${i}`, args: { podCidr: `10.${244 + Math.floor(i / 256)}.${i % 256}.0/24`, defaults: { pullMs: 500, startMs: 200, stopMs: 0, jitter: 0.5 } } });
    await sim.spawn(kubelet, { name: `kubelet-node-${i}`, args: { nodeName: `node-${i}`, defaultRuntime: 'sim', runtimes: { sim: `runtime-node-${i}` }, nodeIP: `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}` } });
  }
  const api = sim.ref<ApiServerMsg>('apiserver');
  const wallStart = performance.now();
  const virtualStart = sim.now();
  await sim.settle(Promise.all(Array.from({ length: PODS }, (_, i) => api.ask<ApiReply>({
    type: 'api.create',
    body: { group: '', version: 'v1', resource: 'pods', namespace: 'default', object: { metadata: { name: `p-${i}` }, spec: { nodeName: `node-${i % NODES}`, containers: [{ name: 'c', image: `sim/run:${i % 7}` }] } } },
  }, { timeoutMs: 120_000 }))), { maxMs: 300_000 });
  let running = 0;
  for (let step = 0; step < 600 && running < PODS; step++) {
    await sim.runFor(1_000);
    const list = await sim.settle(api.ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', query: { fieldSelector: 'status.phase=Running' } } }, { timeoutMs: 60_000 }), { maxMs: 120_000 });
    assert.ok(list.ok);
    running = list.body.items.length;
  }
  const wallMs = performance.now() - wallStart;
  const virtualMs = sim.now() - virtualStart;
  console.log(`scale: ${NODES} nodes, ${PODS} pods Running after ${(virtualMs / 1000).toFixed(1)} s virtual, ${(wallMs / 1000).toFixed(1)} s wall`);
  assert.equal(running, PODS);
  await sim.shutdown();
});
