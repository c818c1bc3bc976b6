import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedSystem, createLogger, defineBehaviour, unhandled, type Message } from '../actor/index.js';
import { apiServer } from './behaviour.js';
import { FlowDispatcher, actorFlowUser, classifyRequest, type FlowClassification, type FlowRequest } from './flow-control.js';
import type { ApiMetricsReply, ApiReply, ApiServerMsg } from './protocol.js';
import type { KubeObject } from './types/index.js';

const user = (name: string, ...groups: string[]) => ({ name, groups: [...groups, 'system:authenticated'] });
const req = (u: FlowRequest['user'], verb: string, resource: string, namespace?: string, group = '', subresource?: string): FlowRequest => ({ user: u, verb, group, resource, namespace, subresource });

test('requests are classified by the first matching Kubernetes FlowSchema', () => {
  const scheduler = user('system:kube-scheduler');
  const manager = user('system:kube-controller-manager');
  const kubelet = user('system:node:node-3', 'system:nodes');
  const ksSa = user('system:serviceaccount:kube-system:cloud-controller-manager', 'system:serviceaccounts', 'system:serviceaccounts:kube-system');
  const sa = user('system:serviceaccount:default:app', 'system:serviceaccounts', 'system:serviceaccounts:default');
  const cases: [FlowRequest, string, string, string][] = [
    [req(user('admin', 'system:masters'), 'create', 'pods', 'default'), 'exempt', 'exempt', 'exempt'],
    [req(scheduler, 'update', 'leases', 'kube-system', 'coordination.k8s.io'), 'system-leader-election', 'leader-election', 'system-leader-election/system:kube-scheduler'],
    [req(manager, 'get', 'leases', 'kube-system', 'coordination.k8s.io'), 'system-leader-election', 'leader-election', 'system-leader-election/system:kube-controller-manager'],
    // A list of leases is not leader election (get, create, update only).
    [req(manager, 'list', 'leases', 'kube-system', 'coordination.k8s.io'), 'kube-controller-manager', 'workload-high', 'kube-controller-manager/kube-system'],
    [req(manager, 'create', 'pods', 'density'), 'kube-controller-manager', 'workload-high', 'kube-controller-manager/density'],
    [req(scheduler, 'create', 'pods', 'density', '', 'binding'), 'kube-scheduler', 'workload-high', 'kube-scheduler/density'],
    [req(kubelet, 'update', 'leases', 'kube-node-lease', 'coordination.k8s.io'), 'system-node-high', 'node-high', 'system-node-high/system:node:node-3'],
    [req(kubelet, 'patch', 'nodes', undefined, '', 'status'), 'system-node-high', 'node-high', 'system-node-high/system:node:node-3'],
    [req(kubelet, 'patch', 'pods', 'density', '', 'status'), 'system-nodes', 'system', 'system-nodes/system:node:node-3'],
    [req(kubelet, 'create', 'events', 'density'), 'system-nodes', 'system', 'system-nodes/system:node:node-3'],
    // kube-system service accounts: leader election on core objects only in kube-system, on leases anywhere.
    [req(ksSa, 'update', 'configmaps', 'kube-system'), 'system-leader-election', 'leader-election', 'system-leader-election/system:serviceaccount:kube-system:cloud-controller-manager'],
    [req(ksSa, 'update', 'configmaps', 'other'), 'workload-leader-election', 'leader-election', 'workload-leader-election/system:serviceaccount:kube-system:cloud-controller-manager'],
    [req(ksSa, 'patch', 'nodes', undefined), 'kube-system-service-accounts', 'workload-high', 'kube-system-service-accounts/'],
    [req(sa, 'get', 'configmaps', 'default'), 'service-accounts', 'workload-low', 'service-accounts/system:serviceaccount:default:app'],
    [req(user('jane'), 'update', 'configmaps', 'default'), 'global-default', 'global-default', 'global-default/jane'],
    [req({ name: 'nobody', groups: [] }, 'get', 'pods', 'default'), 'catch-all', 'catch-all', 'catch-all/nobody'],
  ];
  for (const [r, schema, level, flow] of cases) {
    assert.deepEqual(classifyRequest(r), { flowSchema: schema, level, flow }, `${r.user.name} ${r.verb} ${r.resource}`);
  }
});

test('in-process components are classified as the users they are in Kubernetes; any other actor as an ordinary user', () => {
  const level = (actor: string, r: Omit<FlowRequest, 'user'>) => classifyRequest({ ...r, user: actorFlowUser(actor) }).level;
  const pods = { verb: 'create', group: '', resource: 'pods', namespace: 'd' };
  const lease = { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' };
  assert.equal(level('kubelet-node-12', pods), 'system');
  assert.equal(level('kubelet-node-12', { ...lease, namespace: 'kube-node-lease' }), 'node-high');
  assert.equal(level('scheduler-1', lease), 'leader-election');
  assert.equal(level('scheduler-1', pods), 'workload-high');
  assert.equal(level('controller-manager-0', pods), 'workload-high');
  assert.equal(level('cloud-controller-manager', lease), 'leader-election');
  assert.equal(level('kube-proxy-node-3', pods), 'global-default');
  // A benchmark's probe or a library's host is not system:masters for flow control, though trusted by RBAC.
  assert.equal(level('density-probe', { ...pods, verb: 'update', resource: 'configmaps' }), 'global-default');
  assert.equal(level('$host', pods), 'global-default');
  assert.equal(actorFlowUser('kubelet-node-12').name, 'system:node:node-12');
});

/** A dispatcher whose turns run when the test says (the actor's afterArrivals), on a clock the starts move. */
function harness(options: { turnBudgetMs?: number; startCostMs?: number; maxWaitMs?: number } = {}) {
  let pending: (() => void)[] = [];
  let clock = 0;
  const started: string[] = [];
  const d = new FlowDispatcher((fn) => pending.push(fn), () => clock, { turnBudgetMs: options.turnBudgetMs ?? 8, ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }) });
  const submit = (id: string, level: FlowClassification['level'], flow: string = level) => d.submit({ flowSchema: level, level, flow }, () => {
    started.push(id);
    clock += options.startCostMs ?? 0;
  });
  /** One turn of the thread: the callbacks queued before it began (those queued meanwhile wait for the next). */
  const turn = () => {
    const now = pending;
    pending = [];
    for (const fn of now) fn();
  };
  return { d, submit, turn, started, pendingTurns: () => pending.length, advance: (ms: number) => (clock += ms) };
}

test('an idle dispatcher starts a request at once; what arrives before the next turn waits for it', () => {
  const h = harness();
  h.submit('a', 'system');
  assert.deepEqual(h.started, ['a']);
  h.submit('b', 'system');
  h.submit('c', 'system');
  assert.deepEqual(h.started, ['a'], 'b and c wait for the turn');
  assert.equal(h.d.waiting, 2);
  h.turn();
  assert.deepEqual(h.started, ['a', 'b', 'c']);
  assert.equal(h.d.waiting, 0);
  assert.equal(h.pendingTurns(), 0, 'an empty queue schedules no more turns');
  h.submit('d', 'system');
  assert.deepEqual(h.started, ['a', 'b', 'c', 'd'], 'idle again: at once');
});

test('a request of a quiet level starts in the next turn, ahead of a busy level\'s older requests', () => {
  const h = harness();
  h.submit('first', 'system');
  for (let i = 0; i < 100; i++) h.submit(`kubelet-${i}`, 'system', `kubelet-${i}`);
  for (let i = 0; i < 100; i++) h.submit(`manager-${i}`, 'workload-high');
  h.submit('probe', 'global-default');
  h.submit('lease', 'leader-election');
  h.turn();
  // One of each waiting level in level order, then the oldest of any level, 32 in the first batch.
  assert.deepEqual(h.started.slice(0, 5), ['first', 'lease', 'kubelet-0', 'manager-0', 'probe']);
  assert.deepEqual(h.started.slice(5, 7), ['kubelet-1', 'kubelet-2']);
  assert.equal(h.started.length, 1 + 32);
});

test('after one start per waiting level, the rest of a batch goes in arrival order across levels', () => {
  const h = harness();
  h.submit('x', 'system');
  h.submit('s1', 'system', 's1');
  h.submit('w1', 'workload-high');
  h.submit('s2', 'system', 's2');
  h.submit('w2', 'workload-high');
  h.submit('s3', 'system', 's3');
  h.submit('w3', 'workload-high');
  h.turn();
  assert.deepEqual(h.started, ['x', 's1', 'w1', 's2', 'w2', 's3', 'w3']);
});

test('within a level, flows take turns: one flow\'s backlog does not hold up another flow\'s request', () => {
  const h = harness();
  h.submit('x', 'system', 'busy');
  for (let i = 0; i < 40; i++) h.submit(`busy-${i}`, 'system', 'busy');
  h.submit('quiet-0', 'system', 'quiet');
  h.turn();
  h.turn();
  // The first turn: busy-0 as the level's start, then 31 more in arrival order (all busy); the second turn's
  // level start is the quiet flow's, ahead of busy-32..39.
  assert.equal(h.started.indexOf('quiet-0'), 33, h.started.join(' '));
});

test('a turn\'s batch is sized from how long the last one took, toward the budget; every request starts once', () => {
  const h = harness({ turnBudgetMs: 8, startCostMs: 1 });
  h.submit('r0', 'system');
  for (let i = 1; i < 200; i++) h.submit(`r${i}`, i % 3 === 0 ? 'workload-high' : 'system', `f${i % 4}`);
  const batches: number[] = [];
  while (h.d.waiting > 0) {
    const before = h.started.length;
    h.turn();
    batches.push(h.started.length - before);
    assert.ok(batches.length < 100, 'the queue drains');
  }
  // 32 took 32 ms: halfway to 8 is 20; 20 took 20 ms: 14; then 11, 10 (9.5), 9, 9 (8.5)...
  assert.deepEqual(batches.slice(0, 5), [32, 20, 14, 11, 10]);
  assert.equal(h.started.length, 200);
  assert.equal(new Set(h.started).size, 200, 'no request started twice');
  // Cheap starts: the batch grows (up to a frame's worth).
  const fast = harness({ turnBudgetMs: 8, startCostMs: 0.01 });
  fast.submit('f', 'system');
  for (let i = 0; i < 3000; i++) fast.submit(`f${i}`, 'system');
  const sizes: number[] = [];
  while (fast.d.waiting > 0) {
    const before = fast.started.length;
    fast.turn();
    sizes.push(fast.started.length - before);
  }
  assert.ok(sizes[1]! > sizes[0]!, `growing: ${sizes.join(' ')}`);
});

test('requests that waited maxWaitMs start in the next turn whatever the batch, in arrival order', () => {
  const h = harness({ maxWaitMs: 100 });
  h.submit('first', 'system');
  for (let i = 0; i < 50; i++) h.submit(`old-${i}`, 'system');
  // The thread was behind: 150 ms before the turn came. Then more arrive, still young.
  h.advance(150);
  for (let i = 0; i < 50; i++) h.submit(`young-${i}`, 'workload-high');
  h.turn();
  // The batch (32: system's and workload-high's oldest, then arrival order), then every overdue one left.
  assert.deepEqual(h.started.slice(0, 3), ['first', 'old-0', 'young-0']);
  assert.equal(h.started.length, 1 + 50 + 1, 'all 50 old ones and the young level start');
  assert.equal(h.d.counts.overdue, 50 - 31, 'old-0..old-30 were in the batch');
  assert.equal(h.d.waiting, 49, 'the young ones wait for their batches');
});

test('exempt requests never wait, whatever is queued', () => {
  const h = harness();
  h.submit('a', 'system');
  h.submit('b', 'system');
  h.submit('admin', 'exempt');
  assert.deepEqual(h.started, ['a', 'admin']);
});

test('many levels and flows in random order: every request starts once, each flow in its own order', () => {
  const h = harness({ turnBudgetMs: 3, startCostMs: 0.4 });
  const levels = ['system', 'node-high', 'workload-high', 'global-default', 'leader-election'] as const;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const byFlow = new Map<string, string[]>();
  for (let i = 0; i < 500; i++) {
    const level = levels[Math.floor(rand() * levels.length)]!;
    const flow = `${level}/${Math.floor(rand() * 5)}`;
    const id = `${flow}#${i}`;
    byFlow.set(flow, [...(byFlow.get(flow) ?? []), id]);
    h.submit(id, level, flow);
    if (rand() < 0.1) h.turn();
  }
  while (h.d.waiting > 0) h.turn();
  assert.equal(h.started.length, 500);
  assert.equal(new Set(h.started).size, 500);
  for (const [flow, ids] of byFlow) assert.deepEqual(h.started.filter((id) => id.startsWith(`${flow}#`)), ids, `flow ${flow} in order`);
});

test('bad options are refused', () => {
  assert.throws(() => new FlowDispatcher(() => undefined, () => 0, { turnBudgetMs: 0 }), /turnBudgetMs/);
  assert.throws(() => new FlowDispatcher(() => undefined, () => 0, { maxWaitMs: -1 }), /maxWaitMs/);
});

type BurstMsg = Message<'burst', { count: number; prefix: string }>;

/** A client stand-in: creates `count` ConfigMaps at once and answers with their resourceVersions. */
export const burster = defineBehaviour<BurstMsg>(import.meta.url, 'flow-burster', (ctx) => ({
  async receive(msg) {
    if (msg.type !== 'burst') return unhandled;
    const replies = await Promise.all(Array.from({ length: msg.body.count }, (_, i) => ctx.ask<ApiReply<KubeObject>>('apiserver', {
      type: 'api.create', body: { group: '', version: 'v1', resource: 'configmaps', namespace: 'default', object: { metadata: { name: `${msg.body.prefix}-${i}` } } },
    } satisfies ApiServerMsg)));
    return replies.map((r) => (r.ok ? Number(r.body.metadata.resourceVersion) : Number.NaN));
  },
}));

/** Where a user's write lands among a controller-manager burst that reached the API server just before it. */
async function probeAmongBurst(flowControl: boolean): Promise<{ probe: number; burst: number[]; metrics: string }> {
  // Every message takes 1 ms: the burst's 60 creates and the user's one reach the API server at one instant.
  const sim = new SimulatedSystem({ seed: 5, latencyMinMs: 1, latencyMaxMs: 1, logger: createLogger({ level: 'silent' }) });
  try {
    await sim.spawn(apiServer, { name: 'apiserver', args: { http: false, ...(flowControl ? { flowControl: {} } : {}) } });
    await sim.spawn(burster, { name: 'controller-manager-0' });
    await sim.spawn(burster, { name: 'user-client' });
    const burst = sim.ref<BurstMsg>('controller-manager-0').ask<number[]>({ type: 'burst', body: { count: 60, prefix: 'burst' } }, { timeoutMs: 60_000 });
    const probe = sim.ref<BurstMsg>('user-client').ask<number[]>({ type: 'burst', body: { count: 1, prefix: 'probe' } }, { timeoutMs: 60_000 });
    const [b, p] = await sim.settle(Promise.all([burst, probe]));
    const { text } = await sim.settle(sim.ref<ApiServerMsg>('apiserver').ask<ApiMetricsReply>({ type: 'api.metrics', body: null }));
    return { probe: p[0]!, burst: b, metrics: text };
  } finally {
    await sim.shutdown();
  }
}

test('API server (simulated runtime): with flow control a user\'s write starts ahead of a controller-manager burst that arrived before it; in arrival order without', async () => {
  const on = await probeAmongBurst(true);
  const off = await probeAmongBurst(false);
  assert.ok(on.burst.every((rv) => Number.isFinite(rv)) && off.burst.every((rv) => Number.isFinite(rv)), 'every create succeeded');
  const before = (r: { probe: number; burst: number[] }) => r.burst.filter((rv) => rv < r.probe).length;
  // Without: every one of the burst's creates was stored before the user's. With: the first (started at once, the
  // server idle) and the burst's oldest waiting one (its level's start in the turn), then the user's.
  assert.equal(before(off), 60);
  assert.equal(before(on), 2);
  // kube-apiserver's flow-control series, only with it on: 60 dispatched for the controller-manager, 59 of them waited.
  assert.match(on.metrics, /^apiserver_flowcontrol_dispatched_requests_total\{priority_level="workload-high",flow_schema="kube-controller-manager"[^}]*\} 60$/m);
  assert.match(on.metrics, /^apiserver_flowcontrol_request_wait_duration_seconds_count\{[^}]*priority_level="global-default",flow_schema="global-default",execute="true"[^}]*\} 1$/m);
  assert.doesNotMatch(off.metrics, /apiserver_flowcontrol_/);
});
