/**
 * A cluster with several API servers (`apiservers` in the spec), in the simulated runtime: the components are
 * spread over them in spawn order and each keeps talking to its own, and the cluster works as one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../actor/index.js';
import type { ApiMetricsReply, ApiReply, ApiServerMsg } from '../api/protocol.js';
import type { KubeObject, List, Pod } from '../api/types/index.js';
import { ApiServerSpread, ClusterSpecError, resolveClusterSpec } from './spec.js';
import { startCluster } from './start.js';

test('clients are given the API servers in turn, the first keeping the default name', () => {
  const spread = new ApiServerSpread(3);
  assert.deepEqual(spread.names, ['apiserver', 'apiserver-1', 'apiserver-2']);
  assert.deepEqual(Array.from({ length: 7 }, () => spread.take()), ['apiserver', 'apiserver-1', 'apiserver-2', 'apiserver', 'apiserver-1', 'apiserver-2', 'apiserver']);
  const replicas = new ApiServerSpread(2);
  assert.deepEqual([replicas.takeReplicas(2), replicas.takeReplicas(2), replicas.takeReplicas(1)], [['apiserver', 'apiserver-1'], ['apiserver-1', 'apiserver'], ['apiserver']], 'each component\'s first replica on the next server');
  assert.deepEqual([replicas.take(), replicas.take()], ['apiserver', 'apiserver-1'], 'single clients in turn, apart');
  const one = new ApiServerSpread(1);
  assert.deepEqual([one.take(), one.take()], ['apiserver', 'apiserver']);
});

test('the spec takes 1 to 8 API servers, 1 by default', () => {
  assert.equal(resolveClusterSpec({}).apiservers, 1);
  assert.equal(resolveClusterSpec({ apiservers: 3 }).apiservers, 3);
  assert.throws(() => resolveClusterSpec({ apiservers: 0 }), (e: unknown) => e instanceof ClusterSpecError && /apiservers must be an integer from 1 to 8/.test(e.message));
  assert.throws(() => resolveClusterSpec({ apiservers: 9 }), ClusterSpecError);
});

/** Checks `holds` every 500 ms of virtual time, up to two minutes. */
async function until(sim: SimulatedSystem, holds: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 240; i++) {
    if (await sim.settle(holds())) return true;
    await sim.runFor(500);
  }
  return false;
}

/** The one sample of `name` whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

test('with two API servers, each node registers through its own one, and a Deployment created through the second runs', async () => {
  const sim = new SimulatedSystem({ seed: 3, logger: createLogger({ level: 'silent' }) });
  try {
    const spec = resolveClusterSpec({ nodes: 2, profile: 'fast', apiservers: 2 });
    const cluster = await sim.settle(startCluster(spec, { system: sim, writeKubeconfig: false }), { maxMs: 120_000 });
    assert.deepEqual(cluster.apiservers, ['apiserver', 'apiserver-1']);
    const ask = <T>(to: string, msg: ApiServerMsg) => sim.settle(sim.ref<ApiServerMsg>(to).ask<T>(msg, { timeoutMs: 30_000 }), { maxMs: 30_000 });
    const ready = await until(sim, async () => (await cluster.nodesReady())?.ready === 2);
    assert.ok(ready, 'both Nodes Ready, as the first API server lists them');
    // The nodes in turn: node 0's kubelet has the first, node 1's the second.
    for (const name of cluster.apiservers) {
      const text = (await ask<ApiMetricsReply>(name, { type: 'api.metrics', body: null })).text;
      assert.equal(sample(text, 'apiserver_request_total', { verb: 'POST', resource: 'nodes', code: '201', component: name }), 1, `${name} registered one Node: its own kubelet's`);
    }
    const deployment = {
      metadata: { name: 'web' },
      spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    const created = await ask<ApiReply<KubeObject>>('apiserver-1', { type: 'api.create', body: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default', object: deployment } });
    assert.ok(created.ok, 'created through the second API server');
    const running = await until(sim, async () => {
      const pods = await sim.ref<ApiServerMsg>('apiserver').ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: 'default' } });
      return pods.ok && pods.body.items.filter((p) => p.status?.phase === 'Running').length === 4;
    });
    assert.ok(running, 'its 4 pods Running, as the first API server lists them');
    await sim.settle(cluster.stop(), { maxMs: 30_000 });
  } finally {
    await sim.shutdown();
  }
});
