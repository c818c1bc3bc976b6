import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Prng } from '../../actor/prng.js';
import type { CloudOp, CloudRequestOf, CloudResponse } from './api.js';
import { AddressPool } from './ip.js';
import { CloudState } from './state.js';
import type { CloudResult } from './types.js';

const T0 = 1_700_000_000_000;

function harness(config: ConstructorParameters<typeof CloudState>[0] = {}) {
  const state = new CloudState(config);
  const prng = new Prng(7);
  const random = (): number => prng.next();
  let nowMs = T0;
  const call = <K extends CloudOp>(request: CloudRequestOf<K>): CloudResult<CloudResponse<K>> => state.callOp(request, nowMs, random);
  const must = <K extends CloudOp>(request: CloudRequestOf<K>): CloudResponse<K> => {
    const result = call(request);
    if (!result.ok) throw new Error(`${request.op} failed: ${result.error.code} ${result.error.message}`);
    return result.value;
  };
  return { state, random, call, must, advance: (ms: number) => (nowMs += ms), now: () => nowMs };
}

const listener = { protocol: 'TCP' as const, port: 8080, targetPort: 30080 };

describe('the simulated cloud (pure state machine)', () => {
  test('instances launch across the zones in turn, with a providerID naming zone and ID, and addresses', () => {
    const { must } = harness();
    const launched = ['n0', 'n1', 'n2', 'n3'].map((name) => must({ op: 'instances.create', name }));
    assert.deepEqual(launched.map((i) => i.zone), ['sim-region-1a', 'sim-region-1b', 'sim-region-1c', 'sim-region-1a']);
    assert.equal(launched[1]!.providerID, `kubethreads:///sim-region-1b/${launched[1]!.id}`);
    assert.deepEqual(launched[0]!.addresses.map((a) => a.type), ['InternalIP', 'Hostname', 'InternalDNS']);
    assert.equal(new Set(launched.map((i) => i.addresses[0]!.address)).size, 4, 'each instance its own InternalIP');
    assert.deepEqual(must({ op: 'instances.list', name: 'n2' }).map((i) => i.id), [launched[2]!.id]);
  });

  test('during an API outage every call fails with 503 and changes nothing; after the heal calls work again', () => {
    const { state, call, must } = harness();
    must({ op: 'instances.create', name: 'n0' });
    state.fault({ kind: 'api-outage' }, T0, () => 0.5);
    const failed = call({ op: 'lb.create', name: 'a', listeners: [listener], targets: [] });
    assert.equal(failed.ok, false);
    assert.equal(!failed.ok && failed.error.code, 'Unavailable');
    assert.equal(!failed.ok && failed.error.httpStatus, 503);
    assert.equal(state.snapshot(T0).loadBalancers.length, 0);
    state.heal({ kind: 'api-outage' }, T0);
    must({ op: 'lb.create', name: 'a', listeners: [listener], targets: [] });
    assert.equal(state.snapshot(T0).loadBalancers.length, 1);
  });

  test('throttling answers 429 beyond the token bucket and refills at qps', () => {
    const { state, call, advance } = harness();
    state.fault({ kind: 'throttle', qps: 2, burst: 2 }, T0, () => 0);
    const codes = () => {
      const r = call({ op: 'routes.list' });
      return r.ok ? 'ok' : r.error.code;
    };
    assert.equal(codes(), 'Throttled', 'the bucket starts empty when the fault hits');
    advance(500);
    assert.equal(codes(), 'ok', 'one token after 500 ms at 2 qps');
    assert.equal(codes(), 'Throttled');
    advance(2_000);
    assert.deepEqual([codes(), codes(), codes()], ['ok', 'ok', 'Throttled'], 'at most burst saved up');
    state.heal({ kind: 'throttle' }, T0);
    assert.deepEqual([codes(), codes(), codes()], ['ok', 'ok', 'ok']);
  });

  test('an ambiguous failure applies the call and answers 504 Timeout', () => {
    const { state, call } = harness();
    state.fault({ kind: 'error-rate', errorRate: 0, ambiguousRate: 1 }, T0, () => 0);
    const r = call({ op: 'lb.create', name: 'a', listeners: [listener], targets: [] });
    assert.equal(!r.ok && r.error.code, 'Timeout');
    assert.equal(state.snapshot(T0).loadBalancers.length, 1, 'created although the caller was told it timed out');
    assert.equal(state.stats.appliedButTimedOut, 1);
  });

  test('a plain 500 error rate fails calls without applying them', () => {
    const { state, call } = harness();
    state.fault({ kind: 'error-rate', errorRate: 1, ambiguousRate: 0 }, T0, () => 0);
    const r = call({ op: 'lb.create', name: 'a', listeners: [listener], targets: [] });
    assert.equal(!r.ok && r.error.code, 'InternalError');
    assert.equal(state.snapshot(T0).loadBalancers.length, 0);
  });

  test('names do not make creation idempotent, a clientToken does (while its load balancer lives)', () => {
    const { state, must } = harness();
    must({ op: 'lb.create', name: 'dup', listeners: [listener], targets: [] });
    must({ op: 'lb.create', name: 'dup', listeners: [listener], targets: [] });
    assert.equal(must({ op: 'lb.list', name: 'dup' }).length, 2, 'the cloud lets two load balancers share a name');
    const first = must({ op: 'lb.create', name: 'tok', listeners: [listener], targets: [], clientToken: 'svc-uid-1' });
    const again = must({ op: 'lb.create', name: 'tok', listeners: [listener], targets: [], clientToken: 'svc-uid-1' });
    assert.equal(again.id, first.id);
    assert.equal(state.stats.idempotentReplays, 1);
    must({ op: 'lb.delete', id: first.id });
    const fresh = must({ op: 'lb.create', name: 'tok', listeners: [listener], targets: [], clientToken: 'svc-uid-1' });
    assert.notEqual(fresh.id, first.id, 'a token is forgotten with its load balancer');
  });

  test('load balancers get distinct ingress addresses from their range; a deleted one frees its address', () => {
    const { must } = harness({ loadBalancerCidr: '127.30.0.0/29' });
    const made = [1, 2, 3].map((n) => must({ op: 'lb.create', name: `lb${n}`, listeners: [listener], targets: [] }));
    assert.deepEqual(made.map((lb) => lb.address), ['127.30.0.1', '127.30.0.2', '127.30.0.3']);
    must({ op: 'lb.delete', id: made[0]!.id });
    const more = [4, 5, 6, 7].map((n) => must({ op: 'lb.create', name: `lb${n}`, listeners: [listener], targets: [] }).address);
    assert.deepEqual(more, ['127.30.0.4', '127.30.0.5', '127.30.0.6', '127.30.0.1'], 'the freed address comes back last');
  });

  test('a terminated instance leaves every load balancer, its routes turn blackhole, and it stays listed as terminated', () => {
    const { state, must } = harness();
    const [a, b] = [must({ op: 'instances.create', name: 'a' }), must({ op: 'instances.create', name: 'b' })];
    const lb = must({ op: 'lb.create', name: 'x', listeners: [listener], targets: [a.id, b.id] });
    must({ op: 'routes.create', name: 'r-a', destinationCidr: '10.244.0.0/24', targetInstanceId: a.id });
    const outcome = state.fault({ kind: 'terminate-instance', name: 'a' }, T0, () => 0);
    assert.deepEqual(outcome.instances.map((i) => i.id), [a.id]);
    assert.deepEqual(must({ op: 'lb.get', id: lb.id }).targets, [b.id]);
    assert.equal(must({ op: 'routes.list' })[0]!.state, 'blackhole');
    assert.equal(must({ op: 'instances.get', id: a.id }).state, 'terminated');
    state.checkInvariants();
  });

  test('the data plane forwards to running targets only', () => {
    const { state, must } = harness();
    const [a, b] = [must({ op: 'instances.create', name: 'a', internalIP: '127.0.0.2' }), must({ op: 'instances.create', name: 'b', internalIP: '127.0.0.3' })];
    must({ op: 'lb.create', name: 'x', listeners: [listener], targets: [a.id, b.id] });
    assert.deepEqual(state.dataPlane()[0]!.backends, [{ host: '127.0.0.2', port: 30080 }, { host: '127.0.0.3', port: 30080 }]);
    state.fault({ kind: 'stop-instance', name: 'b' }, T0, () => 0);
    assert.deepEqual(state.dataPlane()[0]!.backends, [{ host: '127.0.0.2', port: 30080 }]);
  });

  test('a lost zone stops its instances and refuses requests about it until healed, then starts exactly those again', () => {
    const { state, call, must } = harness();
    const instances = ['n0', 'n1', 'n2', 'n3'].map((name) => must({ op: 'instances.create', name }));
    must({ op: 'instances.stop', id: instances[3]!.id });
    const lost = state.fault({ kind: 'zone-outage', zone: 'sim-region-1a' }, T0, () => 0);
    assert.deepEqual(lost.instances.map((i) => i.name), ['n0'], 'n3 (same zone) was already stopped by its owner');
    const refused = call({ op: 'instances.create', name: 'n4', zone: 'sim-region-1a' });
    assert.equal(!refused.ok && refused.error.code, 'ZoneUnavailable');
    assert.equal(must({ op: 'instances.create', name: 'n5' }).zone !== 'sim-region-1a', true, 'unpinned launches avoid the lost zone');
    const healed = state.heal({ kind: 'zone-outage' }, T0);
    assert.deepEqual(healed.instances.map((i) => i.name), ['n0']);
    assert.equal(must({ op: 'instances.get', id: instances[3]!.id }).state, 'stopped', 'what its owner stopped stays stopped');
    state.checkInvariants();
  });

  test('export and restore keep resources, tokens and counters (faults are not kept)', () => {
    const { state, must, now, random } = harness();
    const a = must({ op: 'instances.create', name: 'a' });
    const lb = must({ op: 'lb.create', name: 'x', listeners: [listener], targets: [a.id], clientToken: 'tok' });
    must({ op: 'routes.create', name: 'r', destinationCidr: '10.244.1.0/24', targetInstanceId: a.id });
    state.fault({ kind: 'api-outage' }, T0, random);
    assert.equal(state.exportJson(), JSON.stringify(state.exportState()), 'the text written without copies is the text of the export');
    const restored = CloudState.restore({}, JSON.parse(state.exportJson()));
    const before = state.snapshot(now());
    const after = restored.snapshot(now());
    assert.deepEqual({ ...after, apiOutage: true }, before);
    const replay = restored.callOp({ op: 'lb.create', name: 'x', listeners: [listener], targets: [], clientToken: 'tok' }, now(), random);
    assert.ok(replay.ok && replay.value.id === lb.id, 'the token still answers with the same load balancer');
    const next = restored.callOp({ op: 'lb.create', name: 'y', listeners: [listener], targets: [] }, now(), random);
    assert.ok(next.ok && next.value.address !== lb.address && next.value.id !== lb.id, 'no address or ID handed out twice');
  });

  test('the invariant check catches a corrupted state (a target that is not a live instance)', () => {
    const { state, must } = harness();
    const lb = must({ op: 'lb.create', name: 'x', listeners: [listener], targets: [] });
    state.checkInvariants();
    // Reach past the API on purpose: this is the bug the check exists for.
    (state as unknown as { loadBalancers: Map<string, { targets: string[] }> }).loadBalancers.get(lb.id)!.targets.push('i-deadbeef');
    assert.throws(() => state.checkInvariants(), /targets i-deadbeef, which is not a live instance/);
  });

  test('bad requests are refused with InvalidParameter and named limits hold', () => {
    const { call } = harness();
    const noListeners = call({ op: 'lb.create', name: 'x', listeners: [], targets: [] });
    assert.equal(!noListeners.ok && noListeners.error.code, 'InvalidParameter');
    const badTarget = call({ op: 'lb.create', name: 'x', listeners: [listener], targets: ['i-nope'] });
    assert.equal(!badTarget.ok && badTarget.error.code, 'InvalidParameter');
    const badZone = call({ op: 'instances.create', name: 'x', zone: 'mars-1a' });
    assert.equal(!badZone.ok && badZone.error.code, 'InvalidParameter');
    const badCidr = call({ op: 'routes.create', name: 'r', destinationCidr: '10.0.0.0', targetInstanceId: 'i-1' });
    assert.equal(!badCidr.ok && badCidr.error.code, 'InvalidParameter');
  });
});

describe('address pool', () => {
  test('never hands out the network or broadcast address and reports when full', () => {
    const pool = new AddressPool('127.30.0.0/30');
    assert.deepEqual([pool.allocate(), pool.allocate(), pool.allocate()], ['127.30.0.1', '127.30.0.2', undefined]);
  });
});
