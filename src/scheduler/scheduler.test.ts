import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from '../api/types/index.js';
import { VirtualClock, type Clock } from '../client/clock.js';
import { Informer } from '../client/informer.js';
import { FakeApi } from '../client/testing/fake-api.js';
import { LEADERSHIP_POLL_MS, SCHEDULER_TURN_BUDGET_MS, Scheduler, SchedulerCache, type Binder, type Preemptor } from './scheduler.js';
import { makeNode, makePod } from './testing.js';

/** Victims leave this long after their deletion (their grace period, here short). */
const VICTIM_GRACE_MS = 1_500;

function setup(options: { failBindsFor?: string; preemption?: boolean; yieldTurn?: () => Promise<void>; nowStepMs?: number } = {}) {
  const virtual = new VirtualClock(0, 11);
  // With nowStepMs, every reading of the clock moves it on: time passes while the loop works, as on a thread.
  let passed = 0;
  const step = options.nowStepMs;
  const clock: Clock & Pick<VirtualClock, 'advance'> = step === undefined ? virtual : {
    now: () => virtual.now() + (passed += step),
    timer: (key, ms, fire) => virtual.timer(key, ms, fire),
    cancelTimer: (key) => virtual.cancelTimer(key),
    random: () => virtual.random(),
    advance: (ms) => virtual.advance(ms),
  };
  const api = new FakeApi();
  const events: string[] = [];
  const binder: Binder = {
    bind: async (pod, nodeName) => {
      await Promise.resolve();
      if (pod.metadata.name === options.failBindsFor) throw new Error('injected: the API refused the binding');
      const current = api.getNow<Pod>('pods', `${pod.metadata.namespace}/${pod.metadata.name}`)!;
      if (current.spec?.nodeName) throw new Error(`pod ${pod.metadata.name} is already assigned to node "${current.spec.nodeName}"`);
      api.updateNow('pods', { ...current, spec: { ...current.spec!, nodeName } });
    },
  };
  const writes: string[] = [];
  const preemptor: Preemptor = {
    setNominatedNodeName: async (pod, nodeName) => {
      await Promise.resolve();
      writes.push(`nominate ${pod.metadata.name} ${nodeName ?? '-'}`);
      const current = api.getNow<Pod>('pods', `default/${pod.metadata.name}`);
      if (current !== undefined) api.updateNow('pods', { ...current, status: { ...current.status, nominatedNodeName: nodeName ?? undefined } });
    },
    evict: async (victim) => {
      await Promise.resolve();
      writes.push(`evict ${victim.metadata.name}`);
      const current = api.getNow<Pod>('pods', `default/${victim.metadata.name}`)!;
      const condition = { type: 'DisruptionTarget', status: 'True' as const, reason: 'PreemptionByScheduler' };
      api.updateNow('pods', { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date(clock.now() + VICTIM_GRACE_MS).toISOString() }, status: { ...current.status, conditions: [condition] } });
      clock.timer(`gone/${victim.metadata.name}`, VICTIM_GRACE_MS, () => api.deleteNow('pods', `default/${victim.metadata.name}`));
    },
  };
  const podInformer = new Informer<Pod>({ name: 'pods', clock, listWatcher: api.listWatcher<Pod>('pods') });
  const nodeInformer = new Informer<Node>({ name: 'nodes', clock, listWatcher: api.listWatcher<Node>('nodes') });
  let leader = true;
  const scheduler = new Scheduler({
    clock, podInformer, nodeInformer, binder, isLeader: () => leader, ...(options.preemption ? { preemptor } : {}),
    recorder: { event: (pod, type, reason, message) => events.push(`${type} ${reason} ${pod.metadata.name}: ${message}`) },
    ...(options.yieldTurn !== undefined ? { yieldTurn: options.yieldTurn } : {}),
  });
  podInformer.start();
  nodeInformer.start();
  scheduler.start();
  const nodeOf = (name: string) => api.getNow<Pod>('pods', `default/${name}`)?.spec?.nodeName;
  return { clock, api, scheduler, events, nodeOf, writes, setLeader: (v: boolean) => { leader = v; } };
}

describe('scheduler run loop', () => {
  test('binds pending pods, counting each placement before the next decision', async () => {
    const { clock, api, events, nodeOf, scheduler } = setup();
    for (const n of ['node-1', 'node-2']) api.createNow('nodes', makeNode(n, { cpu: '2', memory: '4Gi' }));
    for (let i = 0; i < 4; i++) api.createNow('pods', makePod(`web-${i}`, { cpu: '1', memory: '1Gi' }));
    await clock.advance(100);
    const placements = [0, 1, 2, 3].map((i) => nodeOf(`web-${i}`));
    assert.ok(placements.every((n) => n !== undefined), JSON.stringify(placements));
    assert.deepEqual([...placements].sort(), ['node-1', 'node-1', 'node-2', 'node-2'], 'two 1-cpu pods per 2-cpu node');
    for (let i = 0; i < 4; i++) assert.ok(events.includes(`Normal Scheduled web-${i}: Successfully assigned default/web-${i} to ${placements[i]}`));
    assert.equal(scheduler.stats.scheduled, 4);
    await scheduler.stop();
  });

  test('a pod that fits nowhere gets FailedScheduling and is bound once a node that fits joins', async () => {
    const { clock, api, events, nodeOf, scheduler } = setup();
    for (const n of ['n1', 'n2', 'n3']) api.createNow('nodes', makeNode(n, { cpu: '1' }));
    api.createNow('pods', makePod('big', { cpu: '2' }));
    await clock.advance(100);
    assert.deepEqual(events, ['Warning FailedScheduling big: 0/3 nodes are available: 3 Insufficient cpu.']);
    assert.equal(scheduler.queue.where('default/big'), 'unschedulable');
    await clock.advance(60_000);
    assert.equal(events.length, 1, 'parked: not retried without a relevant event');
    api.createNow('nodes', makeNode('n4', { cpu: '4' }));
    await clock.advance(100);
    assert.equal(nodeOf('big'), 'n4');
    assert.equal(events.at(-1), 'Normal Scheduled big: Successfully assigned default/big to n4');
    await scheduler.stop();
  });

  test('deleting a pod frees room for a parked one', async () => {
    const { clock, api, nodeOf, scheduler } = setup();
    api.createNow('nodes', makeNode('n1', { cpu: '1' }));
    api.createNow('pods', makePod('first', { cpu: '1' }));
    await clock.advance(100);
    api.createNow('pods', makePod('second', { cpu: '1' }));
    await clock.advance(100);
    assert.equal(nodeOf('second'), undefined);
    api.deleteNow('pods', 'default/first');
    await clock.advance(2_000);
    assert.equal(nodeOf('second'), 'n1');
    await scheduler.stop();
  });

  test('a refused binding is reported, forgotten from the cache and retried with backoff', async () => {
    const { clock, api, events, scheduler } = setup({ failBindsFor: 'doomed' });
    api.createNow('nodes', makeNode('n1', { cpu: '1' }));
    api.createNow('pods', makePod('doomed', { cpu: '1' }));
    await clock.advance(100);
    assert.ok(events.includes('Warning FailedScheduling doomed: Binding rejected: injected: the API refused the binding'));
    assert.equal(scheduler.cache.snapshot().byName.get('n1')!.requested.milliCpu, 0, 'the assumed pod no longer holds cpu');
    await clock.advance(1_100);
    assert.ok(scheduler.stats.bindFailures >= 2, 'retried after its backoff');
    await scheduler.stop();
  });

  test('preemption: the victim is marked and deleted, the preemptor nominated, then bound there once the victim is gone', async () => {
    const { clock, api, events, nodeOf, scheduler, writes } = setup({ preemption: true });
    for (const n of ['n1', 'n2']) api.createNow('nodes', makeNode(n, { cpu: '2' }));
    for (const [name, priority] of [['keep-1', 50], ['keep-2', 50], ['cheap', 1], ['dear', 40]] as const) api.createNow('pods', makePod(name, { cpu: '1', priority }));
    await clock.advance(100);
    const cheapNode = nodeOf('cheap')!;
    assert.ok(cheapNode, 'the cluster is full');
    api.createNow('pods', makePod('vip', { cpu: '1', priority: 100 }));
    await clock.advance(100);
    assert.deepEqual(writes, ['evict cheap', `nominate vip ${cheapNode}`]);
    assert.equal(api.getNow<Pod>('pods', 'default/vip')!.status?.nominatedNodeName, cheapNode);
    const victim = api.getNow<Pod>('pods', 'default/cheap')!;
    assert.ok(victim.metadata.deletionTimestamp, 'deleted gracefully: still there, terminating');
    assert.deepEqual(victim.status?.conditions?.map((c) => `${c.type} ${c.reason}`), ['DisruptionTarget PreemptionByScheduler']);
    assert.ok(events.includes(`Normal Preempted cheap: Preempted by pod uid-vip on node ${cheapNode}`), events.join('\n'));
    assert.equal(nodeOf('vip'), undefined, 'not bound while its victim terminates');
    // A lower-priority pod arriving meanwhile must not take the room being freed.
    api.createNow('pods', makePod('late', { cpu: '1', priority: 0 }));
    await clock.advance(VICTIM_GRACE_MS + 2_000);
    assert.equal(api.getNow<Pod>('pods', 'default/cheap'), undefined);
    assert.equal(nodeOf('vip'), cheapNode);
    assert.equal(nodeOf('late'), undefined);
    assert.equal(scheduler.stats.preemptions, 1, 'one preemption: the retries while the victim terminated preempted nothing more');
    assert.equal(scheduler.nominator.size, 0, 'bound: no longer nominated');
    await scheduler.stop();
  });

  test('without a Preemptor no preemption happens', async () => {
    const { clock, api, nodeOf, scheduler } = setup();
    api.createNow('nodes', makeNode('n1', { cpu: '1' }));
    api.createNow('pods', makePod('cheap', { cpu: '1', priority: 1 }));
    await clock.advance(100);
    api.createNow('pods', makePod('vip', { cpu: '1', priority: 100 }));
    await clock.advance(3_000);
    assert.equal(nodeOf('cheap'), 'n1');
    assert.equal(nodeOf('vip'), undefined);
    assert.equal(scheduler.stats.preemptions, 0);
    await scheduler.stop();
  });

  test('a standby binds nothing', async () => {
    const { clock, api, nodeOf, scheduler, setLeader } = setup();
    setLeader(false);
    api.createNow('nodes', makeNode('n1'));
    api.createNow('pods', makePod('p'));
    await clock.advance(5_000);
    assert.equal(nodeOf('p'), undefined);
    setLeader(true);
    await clock.advance(20_000);
    assert.equal(nodeOf('p'), 'n1');
    await scheduler.stop();
  });

  test('a leadership gap parks no pod in backoff: once leading again, the waiting pods are bound within the leadership poll, unattempted', async () => {
    const { clock, api, nodeOf, scheduler, setLeader } = setup();
    api.createNow('nodes', makeNode('n1'));
    await clock.advance(1_000);
    setLeader(false);
    for (const name of ['a', 'b', 'c']) api.createNow('pods', makePod(name));
    await clock.advance(30_000);
    assert.deepEqual(['a', 'b', 'c'].map(nodeOf), [undefined, undefined, undefined], 'nothing bound while not leading');
    assert.equal(scheduler.queue.counts().active, 3, 'the pods wait in the active queue, not in backoff');
    setLeader(true);
    await clock.advance(LEADERSHIP_POLL_MS + 50);
    assert.deepEqual(['a', 'b', 'c'].map(nodeOf), ['n1', 'n1', 'n1']);
    await scheduler.stop();
  });
});

describe('scheduler run loop: a backlog does not hold the thread', () => {
  /** Four budgets' worth of cycles at 1 ms or more each: at least four stretches. Ten 8-CPU nodes hold 800 such pods. */
  const BACKLOG = 4 * SCHEDULER_TURN_BUDGET_MS;
  const backlog = async (options: { nowStepMs?: number }) => {
    const yields: number[] = [];
    const { clock, api, scheduler, nodeOf } = setup({ ...options, yieldTurn: async () => { yields.push(scheduler.stats.cycles); } });
    for (let n = 0; n < 10; n++) api.createNow('nodes', makeNode(`node-${n}`, { cpu: '8', memory: '16Gi' }));
    await clock.advance(200);
    for (let i = 0; i < BACKLOG; i++) api.createNow('pods', makePod(`web-${i}`, { cpu: '100m', memory: '64Mi' }));
    await clock.advance(200);
    const unbound = Array.from({ length: BACKLOG }, (_, i) => `web-${i}`).filter((name) => nodeOf(name) === undefined);
    await scheduler.stop();
    return { yields, unbound, stats: scheduler.stats };
  };

  test(`when time passes while it works, the loop gives the thread way every ${SCHEDULER_TURN_BUDGET_MS} ms of cycles, and every pod is still bound`, async () => {
    // Each reading of the clock moves it 1 ms on: a cycle reads it at least once, so no stretch runs past the budget by more than a cycle.
    const { yields, unbound, stats } = await backlog({ nowStepMs: 1 });
    assert.deepEqual(unbound, [], 'every pod of the backlog bound');
    assert.equal(stats.scheduled, BACKLOG);
    assert.ok(yields.length >= BACKLOG / SCHEDULER_TURN_BUDGET_MS, `gave way ${yields.length} times in ${BACKLOG} cycles`);
    assert.equal(stats.turnsYielded, yields.length);
    const stretches = yields.map((cycles, i) => cycles - (yields[i - 1] ?? 0));
    assert.ok(stretches.every((cycles) => cycles >= 1 && cycles <= SCHEDULER_TURN_BUDGET_MS), `cycles between ways given: ${stretches.join(', ')}`);
  });

  test('on a virtual clock, where a turn takes no time, it never gives way (simulated runs keep their order of events)', async () => {
    const { yields, unbound, stats } = await backlog({});
    assert.deepEqual(unbound, []);
    assert.equal(stats.scheduled, BACKLOG);
    assert.deepEqual(yields, []);
  });
});

describe('SchedulerCache: the nodes InterPodAffinity must read', () => {
  test('lists exactly the nodes with pods that have (required anti-)affinity, as pods and nodes come and go', () => {
    const cache = new SchedulerCache();
    for (const name of ['n1', 'n2', 'n3']) cache.upsertNode(makeNode(name));
    const names = () => {
      const snapshot = cache.snapshot();
      return { affinity: snapshot.havePodsWithAffinity!().map((n) => n.name), antiAffinity: snapshot.havePodsWithRequiredAntiAffinity!().map((n) => n.name) };
    };
    cache.upsertPod(makePod('plain', { nodeName: 'n1' }));
    assert.deepEqual(names(), { affinity: [], antiAffinity: [] }, 'pods without affinity put no node on the lists');
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    const preferred = { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname' } }] } };
    cache.upsertPod(makePod('anti', { nodeName: 'n2', affinity: anti }));
    cache.assume(makePod('soft', { affinity: preferred }), 'n3');
    assert.deepEqual(names(), { affinity: ['n2', 'n3'], antiAffinity: ['n2'] }, 'an assumed pod counts at once');
    cache.forget('default/soft');
    cache.removePod('default/anti');
    assert.deepEqual(names(), { affinity: [], antiAffinity: [] });
    cache.upsertPod(makePod('early', { nodeName: 'n4', affinity: anti }));
    assert.deepEqual(names(), { affinity: [], antiAffinity: [] }, 'a pod on an unknown node waits');
    cache.upsertNode(makeNode('n4'));
    assert.deepEqual(names(), { affinity: ['n4'], antiAffinity: ['n4'] }, 'and counts when its node arrives');
    cache.deleteNode('n4');
    assert.deepEqual(names(), { affinity: [], antiAffinity: [] });
  });
});
