import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../../actor/index.js';
import { cloudProvider } from './behaviour.js';
import { ActorCloudClient } from './client.js';
import { CLOUD_NAME, type CloudMsg } from './protocol.js';
import { CloudApiError, type CloudSnapshot, type FaultOutcome } from './types.js';

function simCloud(seed: number, latency = { minMs: 100, maxMs: 100 }) {
  const sim = new SimulatedSystem({ seed, logger: createLogger({ level: 'silent' }) });
  const ask = <R>(to: string, msg: CloudMsg, options?: { timeoutMs?: number }) => sim.ref<CloudMsg>(to).ask<R>(msg, options);
  const client = (timeoutMs?: number) => new ActorCloudClient({ ask: ask as never }, CLOUD_NAME, timeoutMs);
  const snapshot = () => sim.settle(ask<CloudSnapshot>(CLOUD_NAME, { type: 'cloud.snapshot', body: null }));
  return { sim, client, snapshot, ask, spawn: () => sim.spawn(cloudProvider, { name: CLOUD_NAME, args: { config: { latency } } }) };
}

test('a cloud call answers after its latency; a caller that gives up first still finds the work done (the ambiguity idempotency is for)', async () => {
  const { sim, client, snapshot, spawn } = simCloud(3);
  try {
    await spawn();
    const start = sim.now();
    const instance = await sim.settle(client().call({ op: 'instances.create', name: 'n0' }));
    assert.ok(sim.now() - start >= 100, `answered after ${sim.now() - start} ms of virtual time`);
    assert.equal(instance.state, 'running');

    const impatient = client(50);
    await assert.rejects(sim.settle(impatient.call({ op: 'lb.create', name: 'x', listeners: [{ protocol: 'TCP', port: 80, targetPort: 30080 }], targets: [instance.id] })), (error: unknown) => error instanceof CloudApiError && error.code === 'Timeout');
    await sim.runFor(200);
    assert.equal((await snapshot()).loadBalancers.length, 1, 'the call was applied after its caller stopped waiting');
  } finally {
    await sim.shutdown();
  }
});

test('faults arrive as messages: an API outage fails calls with Unavailable until healed; a terminated instance is reported', async () => {
  const { sim, client, ask, spawn } = simCloud(4, { minMs: 10, maxMs: 30 });
  try {
    await spawn();
    const instance = await sim.settle(client().call({ op: 'instances.create', name: 'n0' }));
    await sim.settle(ask(CLOUD_NAME, { type: 'cloud.fault', body: { kind: 'api-outage' } }));
    await assert.rejects(sim.settle(client().call({ op: 'instances.list' })), (error: unknown) => error instanceof CloudApiError && error.code === 'Unavailable' && error.retryable);
    await sim.settle(ask(CLOUD_NAME, { type: 'cloud.heal', body: { kind: 'api-outage' } }));
    assert.equal((await sim.settle(client().call({ op: 'instances.list' }))).length, 1);
    const outcome = await sim.settle(ask<FaultOutcome>(CLOUD_NAME, { type: 'cloud.fault', body: { kind: 'terminate-instance' } }));
    assert.deepEqual(outcome.instances.map((i) => i.id), [instance.id]);
    assert.equal((await sim.settle(client().call({ op: 'instances.get', id: instance.id }))).state, 'terminated');
  } finally {
    await sim.shutdown();
  }
});

test('the cloud keeps its instances and load balancers across a restart of its actor (state on its disk)', async () => {
  const { sim, client, snapshot, spawn } = simCloud(5, { minMs: 10, maxMs: 10 });
  try {
    await spawn();
    const a = await sim.settle(client().call({ op: 'instances.create', name: 'a' }));
    await sim.settle(client().call({ op: 'lb.create', name: 'x', listeners: [{ protocol: 'TCP', port: 80, targetPort: 30080 }], targets: [a.id], clientToken: 't' }));
    const before = await snapshot();
    await sim.faults.kill(CLOUD_NAME);
    await sim.runFor(1_000);
    const after = await snapshot();
    assert.deepEqual(after.instances, before.instances);
    assert.deepEqual(after.loadBalancers, before.loadBalancers);
    const replay = await sim.settle(client().call({ op: 'lb.create', name: 'x', listeners: [{ protocol: 'TCP', port: 80, targetPort: 30080 }], targets: [], clientToken: 't' }));
    assert.equal(replay.id, before.loadBalancers[0]!.id);
  } finally {
    await sim.shutdown();
  }
});
