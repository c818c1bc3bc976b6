import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem } from '../actor/sim/sim-system.js';
import { apiServer } from '../api/behaviour.js';
import type { ApiReply, ApiServerMsg } from '../api/protocol.js';
import type { Event, List, Node, Pod } from '../api/types/index.js';
import { spawnSchedulers } from '../../actors/scheduler.js';
import type { SchedulerComponentStatus } from './component.js';

const node = (name: string, cpu: string): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  status: { capacity: { cpu, memory: '8Gi', pods: '110' }, allocatable: { cpu, memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
} as Node);

const pod = (name: string, cpu: string): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'sim/app', resources: { requests: { cpu } } }] },
} as Pod);

async function setup(seed: number) {
  const sim = new SimulatedSystem({ seed });
  await sim.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
  const api = sim.ref<ApiServerMsg>('apiserver');
  const call = <T>(body: ApiServerMsg) => sim.settle(api.ask<ApiReply<T>>(body, { timeoutMs: 30_000 }), { maxMs: 60_000 });
  const create = async (resource: string, object: unknown) => {
    const r = await call({ type: 'api.create', body: { group: '', version: 'v1', resource, namespace: resource === 'nodes' ? undefined : 'default', object } });
    assert.ok(r.ok, JSON.stringify(r));
  };
  const pods = async () => {
    const r = await call<List<Pod>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods', namespace: 'default' } });
    assert.ok(r.ok);
    return r.body.items;
  };
  const names = await spawnSchedulers(sim, { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 });
  const statuses = async () =>
    sim.settle(Promise.all(names.map((n) => sim.ref(n).ask<SchedulerComponentStatus>({ type: 'scheduler.status', body: null }, { timeoutMs: 1_000 }).catch(() => undefined))), { maxMs: 10_000 });
  return { sim, create, pods, call, names, statuses };
}

test('two scheduler replicas: one leads, pods are bound where they fit best, and a pod that fits nowhere gets FailedScheduling', async () => {
  const c = await setup(1);
  await c.create('nodes', node('node-0', '4'));
  await c.create('nodes', node('node-1', '4'));
  await c.create('nodes', node('node-2', '4'));
  await c.sim.runFor(3_000);
  for (let i = 0; i < 6; i++) await c.create('pods', pod(`web-${i}`, '500m'));
  await c.create('pods', pod('huge', '64'));
  await c.sim.runFor(3_000);
  const pods = await c.pods();
  const bound = pods.filter((p) => p.spec?.nodeName);
  assert.equal(bound.length, 6, JSON.stringify(pods.map((p) => [p.metadata.name, p.spec?.nodeName])));
  const perNode = new Map<string, number>();
  for (const p of bound) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
  assert.deepEqual([...perNode.values()].sort(), [2, 2, 2], 'least-allocated scoring spreads equal pods evenly');
  const leaders = (await c.statuses()).filter((s) => s?.leader);
  assert.equal(leaders.length, 1, 'exactly one active scheduler');
  const events = await c.call<List<Event>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'events', namespace: 'default' } });
  assert.ok(events.ok);
  assert.ok(events.body.items.some((e) => e.reason === 'FailedScheduling' && e.message === '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..'), 'Kubernetes\' own words');
  assert.ok(events.body.items.some((e) => e.reason === 'Scheduled' && /^Successfully assigned default\/web-\d to node-\d$/.test(e.message ?? '')));
  await c.sim.shutdown();
});

test('killing the active scheduler: a new leader takes over within the lease duration, and never are both active', async () => {
  const c = await setup(2);
  await c.create('nodes', node('node-0', '8'));
  await c.sim.runFor(3_000);
  const first = (await c.statuses()).find((s) => s?.leader)!;
  assert.ok(first, 'a leader');
  await c.sim.faults.kill(first.name);
  let bothActive = 0;
  let takeoverMs = -1;
  const t0 = c.sim.now();
  for (let i = 0; i < 40; i++) {
    await c.sim.runFor(100);
    const s = await c.statuses();
    if (s.filter((x) => x?.leader).length > 1) bothActive++;
    if (takeoverMs < 0 && s.some((x) => x?.leader && x.identity !== first.identity)) takeoverMs = c.sim.now() - t0;
  }
  assert.equal(bothActive, 0);
  // A Lease stores whole seconds: 1.5 s is written as 2 s, which is what a candidate waits out.
  assert.ok(takeoverMs >= 0 && takeoverMs <= 2_000 + 2 * 200 + 500, `a new leader took over in ${takeoverMs} ms`);
  await c.create('pods', pod('after-failover', '100m'));
  await c.sim.runFor(2_000);
  assert.ok((await c.pods()).find((p) => p.metadata.name === 'after-failover')?.spec?.nodeName, 'the new leader binds');
  await c.sim.shutdown();
});

test('simulated cluster: a high-priority pod preempts on a full cluster, its victim marked, deleted gracefully, and it is bound where it was nominated', async () => {
  const c = await setup(3);
  const createClass = async (name: string, value: number) => {
    const r = await c.call({ type: 'api.create', body: { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', object: { metadata: { name }, value } } });
    assert.ok(r.ok, JSON.stringify(r));
  };
  await createClass('batch', 10);
  await createClass('critical', 1_000);
  await c.create('nodes', node('node-0', '2'));
  await c.create('nodes', node('node-1', '2'));
  await c.sim.runFor(3_000);
  for (let i = 0; i < 4; i++) await c.create('pods', { ...pod(`batch-${i}`, '1'), spec: { ...pod(`batch-${i}`, '1').spec, priorityClassName: 'batch' } });
  await c.sim.runFor(3_000);
  assert.equal((await c.pods()).filter((p) => p.spec?.nodeName).length, 4, 'the cluster is full');
  await c.create('pods', { ...pod('urgent', '1'), spec: { ...pod('urgent', '1').spec, priorityClassName: 'critical' } });
  await c.sim.runFor(2_000);
  let pods = await c.pods();
  const urgent = pods.find((p) => p.metadata.name === 'urgent')!;
  assert.equal(urgent.spec?.priority, 1_000, 'the Priority admission plugin set it');
  const nominated = urgent.status?.nominatedNodeName;
  assert.ok(nominated, 'nominated');
  assert.equal(urgent.spec?.nodeName, undefined, 'not bound while the victim terminates');
  const victims = pods.filter((p) => p.metadata.deletionTimestamp !== undefined);
  assert.equal(victims.length, 1, 'one victim is enough');
  assert.equal(victims[0]!.spec?.nodeName, nominated);
  const condition = victims[0]!.status?.conditions?.find((x) => x.type === 'DisruptionTarget');
  assert.deepEqual([condition?.status, condition?.reason, condition?.message], ['True', 'PreemptionByScheduler', 'default-scheduler: preempting to accommodate a higher priority pod']);
  const events = await c.call<List<Event>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'events', namespace: 'default' } });
  assert.ok(events.ok);
  assert.ok(events.body.items.some((e) => e.reason === 'Preempted' && e.involvedObject.name === victims[0]!.metadata.name
    && e.message === `Preempted by pod ${urgent.metadata.uid} on node ${nominated}`), 'the Preempted event names the preemptor by uid');
  // The victim's grace period (30 s by default) runs out; the API server removes it; the preemptor is bound.
  await c.sim.runFor(35_000);
  pods = await c.pods();
  assert.equal(pods.find((p) => p.metadata.name === victims[0]!.metadata.name), undefined, 'the victim is gone');
  assert.equal(pods.find((p) => p.metadata.name === 'urgent')!.spec?.nodeName, nominated);
  assert.equal(pods.filter((p) => p.spec?.nodeName).length, 4);
  const leader = (await c.statuses()).find((s) => s?.leader)!;
  assert.equal(leader.preemptions, 1);
  await c.sim.shutdown();
});

test('simulated cluster: preemption picks victims no PodDisruptionBudget protects, even over lower-priority ones that are protected', async () => {
  const c = await setup(3);
  for (const [name, value] of [['batch', 10], ['normal', 100], ['critical', 1_000]] as const) {
    const r = await c.call({ type: 'api.create', body: { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', object: { metadata: { name }, value } } });
    assert.ok(r.ok, JSON.stringify(r));
  }
  await c.create('nodes', node('node-0', '2'));
  await c.create('nodes', node('node-1', '2'));
  // node-0 holds the cheapest victims (priority 10), but a budget allows none of them to go.
  const placed = (name: string, nodeName: string, app: string, priorityClassName: string): Pod => {
    const p = pod(name, '1');
    return { ...p, metadata: { ...p.metadata, labels: { app } }, spec: { ...p.spec!, nodeName, priorityClassName } };
  };
  for (const i of [0, 1]) {
    await c.create('pods', placed(`guarded-${i}`, 'node-0', 'guarded', 'batch'));
    await c.create('pods', placed(`free-${i}`, 'node-1', 'free', 'normal'));
  }
  const pdb = await c.call({ type: 'api.create', body: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace: 'default', object: { metadata: { name: 'guarded', namespace: 'default' }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'guarded' } } } } } });
  assert.ok(pdb.ok, JSON.stringify(pdb));
  await c.sim.runFor(3_000);
  await c.create('pods', { ...pod('urgent', '1'), spec: { ...pod('urgent', '1').spec, priorityClassName: 'critical' } });
  await c.sim.runFor(2_000);
  const pods = await c.pods();
  assert.equal(pods.find((p) => p.metadata.name === 'urgent')!.status?.nominatedNodeName, 'node-1');
  const victims = pods.filter((p) => p.metadata.deletionTimestamp !== undefined).map((p) => p.metadata.name);
  assert.equal(victims.length, 1, `one victim: ${victims.join(', ')}`);
  assert.match(victims[0]!, /^free-/);
  await c.sim.shutdown();
});

test('simulated cluster: zone spread (DoNotSchedule, maxSkew 1) overrides least-allocated, which alone would fill the bigger zone', async () => {
  const c = await setup(4);
  const zoned = (name: string, zone: string): Node => ({ ...node(name, '4'), metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone } } } as Node);
  for (const [name, zone] of [['a-0', 'a'], ['a-1', 'a'], ['a-2', 'a'], ['b-0', 'b']] as const) await c.create('nodes', zoned(name, zone));
  await c.sim.runFor(3_000);
  const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }];
  for (let i = 0; i < 4; i++) {
    const p = pod(`web-${i}`, '100m');
    await c.create('pods', { ...p, metadata: { ...p.metadata, labels: { app: 'web' } }, spec: { ...p.spec, topologySpreadConstraints: spread } });
  }
  await c.sim.runFor(3_000);
  const pods = await c.pods();
  const zoneOf = (p: Pod) => p.spec?.nodeName?.slice(0, 1);
  const web = pods.filter((p) => p.metadata.name!.startsWith('web-'));
  assert.ok(web.every((p) => p.spec?.nodeName), JSON.stringify(web.map((p) => [p.metadata.name, p.spec?.nodeName])));
  assert.deepEqual(web.map(zoneOf).sort(), ['a', 'a', 'b', 'b'], 'two per zone');
  const onB = web.filter((p) => p.spec?.nodeName === 'b-0').length;
  const emptyA = ['a-0', 'a-1', 'a-2'].filter((n) => !web.some((p) => p.spec?.nodeName === n));
  assert.equal(onB, 2, 'b-0 takes a second pod');
  assert.equal(emptyA.length, 1, 'while a node of zone a stays empty, which least-allocated alone would have preferred');
  await c.sim.shutdown();
});
