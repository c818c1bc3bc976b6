import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Operation } from '../history.js';
import { checkWatches, findLostWrites, percentile } from './checks.js';
import { computeFigures, expandSchedule, longestGap, type FiredFault } from './figures.js';
import { partitionCuts } from './nemeses.js';
import type { StatusSample, WatchEventRecord } from './types.js';

let nextId = 0;
function write(process: string, key: string, value: string, invokeMs: number, completeMs: number | null, status: Operation['status'] = 'ok'): Operation {
  return { id: nextId++, process, key, op: 'write', value, invokeMs, completeMs, status };
}
function read(process: string, key: string, value: string | null, invokeMs: number, completeMs: number): Operation {
  return { id: nextId++, process, key, op: 'read', value, invokeMs, completeMs, status: 'ok' };
}

describe('no acknowledged write lost', () => {
  test('a final value written after every acknowledged write passes', () => {
    const h = [write('a', 'k', 'a-0', 0, 10), write('b', 'k', 'b-0', 20, 30), read('final-reader', 'k', 'b-0', 100, 101)];
    assert.deepEqual(findLostWrites(h).lost, []);
  });

  test('a final value from before an acknowledged write is caught: that write was lost', () => {
    const h = [write('a', 'k', 'a-0', 0, 10), write('b', 'k', 'b-0', 20, 30), read('final-reader', 'k', 'a-0', 100, 101)];
    const r = findLostWrites(h);
    assert.equal(r.lost.length, 1);
    assert.equal(r.lost[0]!.lost.value, 'b-0');
  });

  test('concurrent writes may end in either order', () => {
    const h = [write('a', 'k', 'a-0', 0, 30), write('b', 'k', 'b-0', 10, 20), read('final-reader', 'k', 'a-0', 100, 101)];
    assert.deepEqual(findLostWrites(h).lost, []);
  });

  test('a write of unknown outcome may be the survivor; an empty register after an acknowledged write may not', () => {
    const unknown = [write('a', 'k', 'a-0', 0, 10), write('b', 'k', 'b-0', 20, null, 'unknown'), read('final-reader', 'k', 'b-0', 100, 101)];
    assert.deepEqual(findLostWrites(unknown).lost, []);
    const empty = [write('a', 'k', 'a-0', 0, 10), read('final-reader', 'k', null, 100, 101)];
    assert.equal(findLostWrites(empty).lost.length, 1);
  });

  test('a final value nobody wrote is reported', () => {
    const h = [write('a', 'k', 'a-0', 0, 10), read('final-reader', 'k', 'ghost', 100, 101)];
    assert.equal(findLostWrites(h).unexplained.length, 1);
  });
});

describe('watches', () => {
  const ev = (revision: number, value: string, key = 'r0'): WatchEventRecord => ({ revision, key, type: 'put', value });
  const reference = { events: [ev(2, 'a'), ev(3, 'b'), ev(4, 'c')], revision: 4 };

  test('a watcher that saw exactly the store\'s events passes', () => {
    assert.deepEqual(checkWatches([{ watcher: 'w', events: reference.events, lastRevision: 4 }], reference), []);
  });

  test('a missed event is caught', () => {
    const problems = checkWatches([{ watcher: 'w', events: [ev(2, 'a'), ev(4, 'c')], lastRevision: 4 }], reference);
    assert.deepEqual(problems.map((p) => p.kind), ['missed']);
  });

  test('going back in time and repeating are caught', () => {
    assert.equal(checkWatches([{ watcher: 'w', events: [ev(3, 'b'), ev(2, 'a'), ev(4, 'c')], lastRevision: 4 }], reference)[0]!.kind, 'back-in-time');
    assert.equal(checkWatches([{ watcher: 'w', events: [ev(2, 'a'), ev(2, 'a'), ev(3, 'b'), ev(4, 'c')], lastRevision: 4 }], reference)[0]!.kind, 'repeated');
  });

  test('a wrong value and a watcher that never caught up are caught', () => {
    assert.equal(checkWatches([{ watcher: 'w', events: [ev(2, 'a'), ev(3, 'X'), ev(4, 'c')], lastRevision: 4 }], reference)[0]!.kind, 'unexpected');
    assert.deepEqual(checkWatches([{ watcher: 'w', events: [ev(2, 'a')], lastRevision: 2 }], reference).map((p) => p.kind), ['behind']);
  });
});

describe('figures per fault', () => {
  const sample = (tMs: number, roles: Array<[string, number]>): StatusSample => ({
    tMs,
    replicas: roles.map(([role, term], i) => (role === '-' ? null : { name: `etcd-${i}`, role, term, leader: '', commitIndex: 0 })),
  });
  const fault: FiredFault = { index: 0, fault: 'kill', atMs: 1000, nodes: ['etcd-0'], description: 'kill', leaderBefore: 'etcd-0', termBefore: 2 };

  test('time to a new leader is the first sample with a leader of a higher term', () => {
    const samples = [sample(900, [['leader', 2], ['follower', 2], ['follower', 2]]), sample(1100, [['-', 0], ['candidate', 3], ['follower', 2]]), sample(1300, [['-', 0], ['leader', 3], ['follower', 3]])];
    const [f] = computeFigures([fault], samples, [], 5000);
    assert.equal(f!.newLeaderMs, 300);
  });

  test('a fault that leaves the leader in place reports no election', () => {
    const samples = [sample(1100, [['leader', 2], ['follower', 2], ['-', 0]])];
    assert.equal(computeFigures([fault], samples, [], 5000)[0]!.newLeaderMs, null);
  });

  test('unavailability is the longest gap between successes in the fault\'s window, counting from the fault', () => {
    assert.equal(longestGap([500, 1010, 1020, 2500, 2510], 1000, 3000), 1480);
    assert.equal(longestGap([], 1000, 3000), 2000);
  });

  test('writes recover at the first acknowledged write invoked after the fault', () => {
    const h = [write('a', 'k', 'v0', 900, 1500), write('a', 'k', 'v1', 1600, 2200)];
    assert.equal(computeFigures([fault], [], h, 5000)[0]!.writesRecoveredMs, 1200);
  });
});

describe('schedules and partitions', () => {
  const random = [{ random: { perMinute: 30, fromMs: 1000, untilMs: 60_000, faults: [{ fault: 'kill' }, { fault: 'pause', durationMs: 100 }] } }];

  test('a random schedule is a function of the seed, inside its window, in time order', () => {
    const a = expandSchedule(random, 70_000, 7);
    assert.deepEqual(a, expandSchedule(random, 70_000, 7));
    assert.notDeepEqual(a, expandSchedule(random, 70_000, 8));
    assert.ok(a.length > 10 && a.length < 60, `${a.length} faults at 30 a minute over 59 s`);
    assert.ok(a.every((f, i) => f.atMs >= 1000 && f.atMs <= 60_000 && (i === 0 || a[i - 1]!.atMs <= f.atMs)));
  });

  test('partition shapes: minority keeps the leader with the majority; bridge cuts the two ends only', () => {
    assert.deepEqual(partitionCuts('minority', ['L', 'a', 'b', 'c', 'd']).cuts, [[['c', 'd'], ['L', 'a', 'b']]]);
    assert.deepEqual(partitionCuts('leader-minority', ['L', 'a', 'b']).cuts, [[['L'], ['a', 'b']]]);
    assert.deepEqual(partitionCuts('bridge', ['L', 'a', 'b']).cuts, [[['L'], ['b']]]);
    const ring = partitionCuts('ring', ['a', 'b', 'c', 'd', 'e']).cuts;
    assert.equal(ring.length, 5, 'each of 5 replicas loses its 2 far neighbours');
  });
});

test('percentile is nearest-rank', () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  assert.equal(percentile([], 99), undefined);
});
