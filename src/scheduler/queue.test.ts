import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../client/clock.js';
import { SchedulingQueue } from './queue.js';
import { makePod } from './testing.js';

function setup() {
  const clock = new VirtualClock(0);
  const queue = new SchedulingQueue({ clock });
  return { clock, queue };
}

function withPriority(name: string, priority: number) {
  const pod = makePod(name);
  pod.spec!.priority = priority;
  return pod;
}

describe('scheduling queue', () => {
  test('pops the highest priority first, then the oldest', async () => {
    const { clock, queue } = setup();
    queue.add(withPriority('low-old', 0));
    await clock.advance(1);
    queue.add(withPriority('high', 10));
    await clock.advance(1);
    queue.add(withPriority('low-new', 0));
    const order = [queue.tryPop(), queue.tryPop(), queue.tryPop()].map((i) => i!.pod.metadata.name);
    assert.deepEqual(order, ['high', 'low-old', 'low-new']);
    assert.equal(queue.tryPop(), undefined);
  });

  test('an unschedulable pod waits for an event its rejecting plugin cares about, then backs off before retrying', async () => {
    const { clock, queue } = setup();
    queue.add(makePod('p'));
    const info = queue.tryPop()!;
    queue.addUnschedulable(info, new Set(['NodeResourcesFit']));
    assert.equal(queue.where('default/p'), 'unschedulable');
    queue.onEvent('AssignedPodAdd'); // another pod bound: cannot free resources
    assert.equal(queue.where('default/p'), 'unschedulable');
    queue.onEvent('AssignedPodDelete');
    assert.equal(queue.where('default/p'), 'backoff', 'still inside its 1 s backoff');
    await clock.advance(999);
    assert.equal(queue.tryPop(), undefined);
    await clock.advance(1);
    assert.equal(queue.tryPop()?.pod.metadata.name, 'p');
  });

  test('backoff doubles per attempt from 1 s and stops at 10 s', () => {
    const { queue } = setup();
    queue.add(makePod('p'));
    const info = queue.tryPop()!;
    const delays = [1, 2, 3, 4, 5, 6].map((attempts) => queue.backoffDurationMs({ ...info, attempts }));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  test('a pod that fails while a relevant event arrives mid-cycle is not parked (the event is not lost)', async () => {
    const { clock, queue } = setup();
    queue.add(makePod('p'));
    const info = queue.tryPop()!;
    queue.onEvent('NodeAdd'); // arrives while p is being scheduled against an older snapshot
    queue.addUnschedulable(info, new Set(['NodeResourcesFit']));
    assert.equal(queue.where('default/p'), 'backoff');
    await clock.advance(1_000);
    assert.ok(queue.tryPop());
  });

  test('pods no event frees are retried after 5 minutes', async () => {
    const { clock, queue } = setup();
    queue.add(makePod('p'));
    queue.addUnschedulable(queue.tryPop()!, new Set(['NodeName']));
    await clock.advance(4 * 60_000);
    assert.equal(queue.where('default/p'), 'unschedulable');
    await clock.advance(60_000 + 30_000);
    assert.equal(queue.where('default/p'), 'active');
  });

  test('an update to a parked pod gives it another try; a delete forgets it everywhere', async () => {
    const { clock, queue } = setup();
    queue.add(makePod('p'));
    queue.addUnschedulable(queue.tryPop()!, new Set(['NodeAffinity']));
    await clock.advance(2_000);
    queue.update(makePod('p', { nodeSelector: { zone: 'a' } }));
    assert.equal(queue.where('default/p'), 'active');
    const info = queue.tryPop()!;
    assert.deepEqual(info.pod.spec?.nodeSelector, { zone: 'a' });
    queue.delete(info.pod);
    queue.addUnschedulable(info, new Set(['NodeAffinity'])); // the late result of a cycle for a deleted pod is ignored
    assert.equal(queue.where('default/p'), undefined);
    assert.deepEqual(queue.counts(), { active: 0, backoff: 0, unschedulable: 0, inFlight: 0 });
  });

  test('an error (no plugin to blame) backs off without parking', () => {
    const { queue } = setup();
    queue.add(makePod('p'));
    queue.addUnschedulable(queue.tryPop()!, undefined);
    assert.equal(queue.where('default/p'), 'backoff');
  });

  test('pop waits for a pod and close releases waiters', async () => {
    const { queue } = setup();
    const waiting = queue.pop();
    queue.add(makePod('p'));
    assert.equal((await waiting)?.pod.metadata.name, 'p');
    const again = queue.pop();
    queue.close();
    assert.equal(await again, undefined);
  });
});
