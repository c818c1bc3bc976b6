import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../api/types/index.js';
import { VirtualClock } from './clock.js';
import { LeaderElector, LEADER_ELECTION_DEFAULTS, leaseRequestTimeoutMs, type LeaseClient, scaledLeaderElectionTimings, validateLeaderElectionTimings, type LeaderElectionTimings } from './leader-election.js';
import { FakeApi } from './testing/fake-api.js';

function candidates(api: FakeApi, clock: VirtualClock, names: string[], timings: Partial<LeaderElectionTimings> = {}, unsafeSkipValidation = false) {
  const events: string[] = [];
  const electors = names.map((identity) => new LeaderElector({
    namespace: 'kube-system', name: 'kube-scheduler', identity, clock, client: api.leaseClient(identity), ...timings, unsafeSkipValidation,
    callbacks: {
      onStartedLeading: () => events.push(`${clock.now()} ${identity} started`),
      onStoppedLeading: () => events.push(`${clock.now()} ${identity} stopped`),
    },
  }));
  return { electors, events };
}

/** At every step of virtual time at most one candidate may act as leader. */
function noTwoLeaders(electors: LeaderElector[]) {
  return (nowMs: number): void => {
    const acting = electors.filter((e) => e.isLeader()).map((e) => e.identity);
    assert.ok(acting.length <= 1, `two leaders at ${nowMs}: ${acting.join(', ')}`);
  };
}

/** Partition the leader away from the API and return when the standby took over, checking for overlap at each 100 ms. */
async function partitionLeader(timings: Partial<LeaderElectionTimings>, unsafe: boolean) {
  const clock = new VirtualClock(0, 3);
  const api = new FakeApi();
  const { electors, events } = candidates(api, clock, ['a', 'b'], timings, unsafe);
  electors[0]!.start();
  await clock.advance(100);
  electors[1]!.start();
  await clock.advanceBy(20_000, 100, noTwoLeaders(electors));
  assert.ok(electors[0]!.isLeader(), 'a leads and keeps renewing');
  assert.equal(electors[1]!.isLeader(), false);
  const partitionedAtMs = clock.now();
  api.setClientUnresponsive('a', true);
  await clock.advanceBy(40_000, 100, noTwoLeaders(electors));
  return { electors, events, partitionedAtMs, api, clock };
}


/** A lease client whose every answer takes `latency.ms` of virtual time, as an API server under load. */
function slowLeaseClient(inner: LeaseClient, clock: VirtualClock, latency: { ms: number }): LeaseClient {
  let seq = 0;
  const late = <T>(call: () => Promise<T>): Promise<T> => new Promise<void>((resolve) => clock.timer(`slow/${++seq}`, latency.ms, resolve)).then(call);
  return {
    get: (ns, name) => late(() => inner.get(ns, name)),
    create: (lease) => late(() => inner.create(lease)),
    update: (lease) => late(() => inner.update(lease)),
  };
}

/** Candidates a and b over one FakeApi whose lease answers take `latency.ms` (changeable mid-test); events are "<ms> <id> started|stopped". */
function slowCandidates(seed: number, latencyMs: number) {
  const clock = new VirtualClock(0, seed);
  const api = new FakeApi();
  const latency = { ms: latencyMs };
  const events: string[] = [];
  const electors = ['a', 'b'].map((identity) => new LeaderElector({
    namespace: 'kube-system', name: 'kube-controller-manager', identity, clock, client: slowLeaseClient(api.leaseClient(identity), clock, latency),
    callbacks: { onStartedLeading: () => events.push(`${clock.now()} ${identity} started`), onStoppedLeading: () => events.push(`${clock.now()} ${identity} stopped`) },
  }));
  return { clock, api, latency, events, electors };
}

describe('leader election', () => {
  test('Kubernetes defaults are 15 s / 10 s / 2 s and scale by the time profile', () => {
    assert.deepEqual({ ...LEADER_ELECTION_DEFAULTS }, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    assert.deepEqual(scaledLeaderElectionTimings(0.1), { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 });
    assert.throws(() => validateLeaderElectionTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), /greater than renewDeadline/);
    assert.throws(() => validateLeaderElectionTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /1.2 x retryPeriod/);
  });

  test('one of two candidates acquires the lease; the other stays standby while it is renewed', async () => {
    const clock = new VirtualClock(0, 1);
    const api = new FakeApi();
    const { electors } = candidates(api, clock, ['a', 'b']);
    for (const e of electors) e.start();
    await clock.advanceBy(60_000, 100, noTwoLeaders(electors));
    const leaders = electors.filter((e) => e.isLeader());
    assert.equal(leaders.length, 1);
    const lease = api.getNow<Lease>('leases', 'kube-system/kube-scheduler')!;
    assert.equal(lease.spec?.holderIdentity, leaders[0]!.identity);
    assert.equal(lease.spec?.leaseDurationSeconds, 15);
    assert.match(lease.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(leaders[0]!.stats.renewals >= 25, `renewed every retry period: ${leaders[0]!.stats.renewals}`);
    assert.equal(electors.find((e) => !e.isLeader())!.leader, leaders[0]!.identity);
  });

  test('a leader that cannot reach the API stops acting before its lease can expire, and the standby takes over', async () => {
    const { electors, events, partitionedAtMs } = await partitionLeader({}, false);
    const [a, b] = electors;
    assert.equal(a!.isLeader(), false);
    assert.ok(b!.isLeader(), 'the standby took over');
    const stoppedAtMs = Number(events.find((e) => e.endsWith('a stopped'))!.split(' ')[0]);
    const bStartedAtMs = Number(events.find((e) => e.endsWith('b started'))!.split(' ')[0]);
    assert.ok(stoppedAtMs - partitionedAtMs <= 10_000, `a stopped ${stoppedAtMs - partitionedAtMs} ms after the partition, within renewDeadline`);
    assert.ok(bStartedAtMs > stoppedAtMs, 'b started only after a stopped');
    assert.ok(bStartedAtMs - partitionedAtMs <= 15_000 + 2_000 * 2.2 + 100, `b took over ${bStartedAtMs - partitionedAtMs} ms after the partition`);
  });

  test('the no-two-leaders check catches an unsafe configuration (renewDeadline longer than the lease)', async () => {
    await assert.rejects(partitionLeader({ leaseDurationMs: 15_000, renewDeadlineMs: 25_000 }, true), /two leaders at/);
  });

  test('stop releases the lease so the standby need not wait out the lease duration', async () => {
    const clock = new VirtualClock(0, 5);
    const api = new FakeApi();
    const { electors } = candidates(api, clock, ['a', 'b']);
    electors[0]!.start();
    await clock.advance(100);
    electors[1]!.start();
    await clock.advance(10_000);
    assert.ok(electors[0]!.isLeader());
    await electors[0]!.stop();
    assert.equal(electors[0]!.isLeader(), false);
    await clock.advanceBy(6_000, 100, noTwoLeaders(electors));
    assert.ok(electors[1]!.isLeader(), 'took over on its next attempt, well inside 15 s');
    assert.equal(api.getNow<Lease>('leases', 'kube-system/kube-scheduler')!.spec?.leaseTransitions, 1);
  });

  test('a leader renews by writing over the lease it last saw, without reading it first (client-go\'s fast path)', async () => {
    const clock = new VirtualClock(0, 4);
    const api = new FakeApi();
    const verbs: string[] = [];
    const inner = api.leaseClient('a');
    const elector = new LeaderElector({
      namespace: 'kube-system', name: 'kube-scheduler', identity: 'a', clock,
      client: {
        get: (ns, name) => (verbs.push('get'), inner.get(ns, name)),
        create: (lease) => (verbs.push('create'), inner.create(lease)),
        update: (lease) => (verbs.push('update'), inner.update(lease)),
      },
      callbacks: { onStartedLeading: () => {}, onStoppedLeading: () => {} },
    });
    elector.start();
    await clock.advanceBy(20_000, 100, () => {});
    assert.ok(elector.isLeader());
    assert.deepEqual(verbs.slice(0, 2), ['get', 'create'], 'the first attempt reads and creates the lease');
    assert.ok(verbs.slice(2).every((v) => v === 'update'), `renewals only write: ${verbs.join(',')}`);
    assert.ok(elector.stats.renewals >= 9, `renewed every retry period: ${elector.stats.renewals}`);
  });

  test('a leader whose renewals conflict with a takeover steps down', async () => {
    const clock = new VirtualClock(0, 9);
    const api = new FakeApi();
    const { electors, events } = candidates(api, clock, ['a']);
    electors[0]!.start();
    await clock.advance(1_000);
    assert.ok(electors[0]!.isLeader());
    const lease = api.getNow<Lease>('leases', 'kube-system/kube-scheduler')!;
    api.updateNow('leases', { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
    await clock.advance(2_500);
    assert.equal(electors[0]!.isLeader(), false);
    assert.deepEqual(events.map((e) => e.split(' ').slice(1).join(' ')), ['a started', 'a stopped']);
  });

  test('each lease request is bounded by renewDeadline / 2, as client-go\'s leader-election client', () => {
    assert.equal(leaseRequestTimeoutMs(LEADER_ELECTION_DEFAULTS), 5_000);
  });

  test('an API server answering each lease call in 1.5 s still lets a candidate acquire the lease and the leader keep it', async () => {
    const { clock, events, electors } = slowCandidates(11, 1_500);
    for (const e of electors) e.start();
    await clock.advanceBy(60_000, 100, noTwoLeaders(electors));
    assert.equal(electors.filter((e) => e.isLeader()).length, 1, `one leader after 60 s of 1.5 s answers: ${events.join(', ')}`);
    assert.equal(events.length, 1, `one term, never lost: ${events.join(', ')}`);
  });

  test('after the API server stalls past renewDeadline and comes back slow, a leader is elected again within the lease duration', async () => {
    const { clock, api, latency, events, electors } = slowCandidates(12, 100);
    for (const e of electors) e.start();
    await clock.advanceBy(20_000, 100, noTwoLeaders(electors));
    assert.equal(electors.filter((e) => e.isLeader()).length, 1);
    api.setUnresponsive(true);
    await clock.advanceBy(12_000, 100, noTwoLeaders(electors));
    assert.equal(electors.filter((e) => e.isLeader()).length, 0, 'the leader stopped by its renew deadline');
    const backAtMs = clock.now();
    api.setUnresponsive(false);
    latency.ms = 1_500;
    let ledAgainAtMs: number | undefined;
    await clock.advanceBy(60_000, 100, (nowMs) => {
      noTwoLeaders(electors)(nowMs);
      if (ledAgainAtMs === undefined && electors.some((e) => e.isLeader())) ledAgainAtMs = nowMs;
    });
    assert.ok(ledAgainAtMs !== undefined, `no leader in the 60 s after the API server came back: ${events.join(', ')}`);
    assert.ok(ledAgainAtMs - backAtMs <= 15_000 + 2 * 5_000, `a leader again ${ledAgainAtMs - backAtMs} ms after the API server came back`);
  });
});
