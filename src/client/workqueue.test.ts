import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from './clock.js';
import { ItemExponentialFailureRateLimiter, RateLimitingQueue, BucketRateLimiter } from './workqueue.js';

function queue(clock = new VirtualClock()) {
  return new RateLimitingQueue<string>({ name: 'q', clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
}

describe('work queue', () => {
  test('an item added many times before a worker takes it is processed once', () => {
    const q = queue();
    q.add('a'); q.add('b'); q.add('a'); q.add('a');
    assert.equal(q.length, 2);
    assert.equal(q.tryGet(), 'a');
    assert.equal(q.tryGet(), 'b');
    assert.equal(q.tryGet(), undefined);
    assert.equal(q.stats.deduplicated, 2);
  });

  test('an item added while being processed is not handed to a second worker until done', () => {
    const q = queue();
    q.add('a');
    const first = q.tryGet();
    assert.equal(first, 'a');
    q.add('a');
    assert.equal(q.length, 0, 'dirty but processing: not queued');
    assert.equal(q.tryGet(), undefined);
    q.done('a');
    assert.equal(q.length, 1, 'requeued on done because it was dirty');
    assert.equal(q.tryGet(), 'a');
    q.done('a');
    assert.equal(q.length, 0);
  });

  test('concurrent workers never hold the same key at once (random adds and completions)', async () => {
    const clock = new VirtualClock(0, 7);
    const q = queue(clock);
    const held = new Set<string>();
    let processed = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const item = await q.get();
        if (item === undefined) return;
        assert.ok(!held.has(item), `${item} held by two workers`);
        held.add(item);
        await Promise.resolve();
        if (clock.random() < 0.5) q.add(item); // re-added while processing
        held.delete(item);
        processed++;
        q.done(item);
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    for (let i = 0; i < 500; i++) {
      q.add(`k${Math.floor(clock.random() * 5)}`);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    while (q.length > 0 || q.processingCount > 0) await new Promise((r) => setImmediate(r));
    q.shutDown();
    await Promise.all(workers);
    assert.ok(processed > 5);
  });

  test('done for an item not being processed throws', () => {
    const q = queue();
    assert.throws(() => q.done('x'), /not being processed/);
  });

  test('rate-limited adds back off exponentially per item and forget resets', async () => {
    const clock = new VirtualClock(0);
    const q = queue(clock);
    q.addRateLimited('a'); // 5 ms
    q.addRateLimited('a'); // 10 ms, but the earlier 5 ms wait is kept
    assert.equal(q.numRequeues('a'), 2);
    await clock.advance(4);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(q.length, 1);
    assert.equal(q.tryGet(), 'a'); q.done('a');
    q.addRateLimited('a'); // third failure: 20 ms
    await clock.advance(19);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(q.tryGet(), 'a'); q.done('a');
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    await clock.advance(5);
    assert.equal(q.length, 1);
  });

  test('backoff is capped at the maximum delay', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(5, 1000);
    const delays = Array.from({ length: 12 }, () => limiter.when('x'));
    assert.deepEqual(delays.slice(0, 4), [5, 10, 20, 40]);
    assert.equal(delays.at(-1), 1000);
    assert.ok(delays.every((d) => d <= 1000));
  });

  test('the token bucket lets a burst through then spaces items by 1/qps', () => {
    const clock = new VirtualClock(0);
    const bucket = new BucketRateLimiter<string>(clock, 10, 3);
    assert.deepEqual([bucket.when('a'), bucket.when('b'), bucket.when('c')], [0, 0, 0]);
    assert.equal(bucket.when('d'), 100);
    assert.equal(bucket.when('e'), 200);
  });

  test('shutDown wakes waiting workers with undefined', async () => {
    const q = queue();
    const pending = q.get();
    q.shutDown();
    assert.equal(await pending, undefined);
    q.add('late');
    assert.equal(q.length, 0);
  });
});
