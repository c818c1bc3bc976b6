/**
 * The density probe's own accounting, in the simulated runtime (one store replica, one API server): a
 * burst shorter than one mutating call still yields one call and one LIST, and calls in flight when
 * the burst ends are waited for and counted, not dropped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, createLogger } from '../../src/actor/index.js';
import { spawnEtcdGroup } from '../../src/kv/replica/group.js';
import { apiServer, type KvSource } from '../../src/api/behaviour.js';
import { apiserverName } from '../../src/api/protocol.js';
import { densityProbe, type DensityProbeMsg, type ProbeResult } from './driver.js';

/** One store replica and one API server, simulated. */
async function clusterOfOne(): Promise<{ sim: SimulatedSystem; server: string }> {
  const sim = new SimulatedSystem({ seed: 3, logger: createLogger({ level: 'silent' }) });
  const group = await spawnEtcdGroup(sim, { replicas: 1 });
  const kv: KvSource = { kind: 'replicated', options: { replicas: group.names } };
  const server = apiserverName(0);
  await sim.spawn(apiServer, { name: server, args: { http: false, kv } });
  return { sim, server };
}

test('a burst that ends at once still has one mutating call and one LIST, each answered before the probe reports', async () => {
  const { sim, server } = await clusterOfOne();
  await sim.spawn(densityProbe, { name: 'density-probe', args: { apiserver: server } });
  const probe = sim.ref<DensityProbeMsg>('density-probe');
  await sim.settle(probe.ask({ type: 'probe.start', body: { namespace: 'density', mutatingEveryMs: 100, listPauseMs: 1_000, listPageLimit: 0 } }, { timeoutMs: 30_000 }), { maxMs: 30_000 });
  // Stopped in the same turn as the start answered: no timer of the probe has fired yet.
  const result = await sim.settle(probe.ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 }), { maxMs: 60_000 });
  assert.equal(result.mutatingMs.length, 1, 'the first mutating call left with the start and was waited for');
  assert.equal(result.mutatingErrors, 0);
  assert.equal(result.mutatingInFlight, 0);
  assert.equal(result.listMs.length, 1, 'the first LIST left with the start and was waited for');
  assert.equal(result.listErrors, 0);
  assert.equal(result.listInFlightAtStop, 0);
});

test('split in two, the mutating probe makes no LIST and the LIST probe no mutating call ', async () => {
  const { sim, server } = await clusterOfOne();
  await sim.spawn(densityProbe, { name: 'density-probe', args: { apiserver: server } });
  await sim.spawn(densityProbe, { name: 'density-probe-list', args: { apiserver: server } });
  const mutating = sim.ref<DensityProbeMsg>('density-probe');
  const lister = sim.ref<DensityProbeMsg>('density-probe-list');
  const start = { namespace: 'density', mutatingEveryMs: 100, listPauseMs: 1_000, listPageLimit: 0 };
  await sim.settle(lister.ask({ type: 'probe.start', body: { ...start, calls: 'list' } }, { timeoutMs: 30_000 }), { maxMs: 30_000 });
  await sim.settle(mutating.ask({ type: 'probe.start', body: { ...start, calls: 'mutating' } }, { timeoutMs: 30_000 }), { maxMs: 30_000 });
  const listed = await sim.settle(lister.ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 }), { maxMs: 60_000 });
  const mutated = await sim.settle(mutating.ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 }), { maxMs: 60_000 });
  assert.equal(listed.mutatingMs.length, 0);
  assert.equal(listed.listMs.length, 1);
  assert.equal(mutated.listMs.length, 0);
  assert.equal(mutated.mutatingMs.length, 1);
  assert.equal(mutated.mutatingErrors, 0);
});

test('with listEveryMs the LISTs start that far apart, not a pause after each answer (a faster server is not sent more)', async () => {
  const { sim, server } = await clusterOfOne();
  await sim.spawn(densityProbe, { name: 'paused', args: { apiserver: server } });
  await sim.spawn(densityProbe, { name: 'paced', args: { apiserver: server } });
  const start = { namespace: 'density', mutatingEveryMs: 100, listPauseMs: 1_000, listPageLimit: 0, calls: 'list' as const };
  await sim.settle(sim.ref<DensityProbeMsg>('paused').ask({ type: 'probe.start', body: start }, { timeoutMs: 30_000 }), { maxMs: 30_000 });
  await sim.settle(sim.ref<DensityProbeMsg>('paced').ask({ type: 'probe.start', body: { ...start, listEveryMs: 5_000 } }, { timeoutMs: 30_000 }), { maxMs: 30_000 });
  await sim.runFor(30_000);
  const paused = await sim.settle(sim.ref<DensityProbeMsg>('paused').ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 }), { maxMs: 60_000 });
  const paced = await sim.settle(sim.ref<DensityProbeMsg>('paced').ask<ProbeResult>({ type: 'probe.stop', body: null }, { timeoutMs: 60_000 }), { maxMs: 60_000 });
  // A LIST of an empty namespace answers in milliseconds: 1 s after each answer is ~30 in 30 s; 5 s apart, 7.
  assert.ok(paused.listMs.length >= 25, `paused: ${paused.listMs.length}`);
  assert.ok(paced.listMs.length >= 6 && paced.listMs.length <= 7, `paced: ${paced.listMs.length}`);
  await sim.shutdown();
});
