import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartTracker } from './supervision.js';

test('backoff doubles inside the window and is capped', () => {
  const tracker = new RestartTracker({ backoffMinMs: 10, backoffMaxMs: 50, maxRestarts: 10, windowMs: 1_000 });
  const delays = [0, 1, 2, 3, 4].map((i) => {
    const d = tracker.onExit('crashed', i);
    assert.ok(d.restart);
    return d.delayMs;
  });
  assert.deepEqual(delays, [10, 20, 40, 50, 50]);
});

test('the budget is per window: old restarts stop counting', () => {
  const tracker = new RestartTracker({ maxRestarts: 2, windowMs: 100, backoffMinMs: 1 });
  assert.ok(tracker.onExit('crashed', 0).restart);
  assert.ok(tracker.onExit('crashed', 10).restart);
  assert.deepEqual(tracker.onExit('crashed', 20), { restart: false, reason: 'restart-budget-exhausted' });
  const later = new RestartTracker({ maxRestarts: 2, windowMs: 100, backoffMinMs: 1 });
  later.onExit('crashed', 0);
  later.onExit('crashed', 10);
  assert.ok(later.onExit('crashed', 500).restart, 'restarts outside the window are forgiven');
});

test('policies: temporary never restarts; transient restarts only abnormal exits; permanent always', () => {
  assert.deepEqual(new RestartTracker({ restart: 'temporary' }).onExit('crashed', 0), { restart: false, reason: 'policy' });
  assert.deepEqual(new RestartTracker({ restart: 'transient' }).onExit('stopped', 0), { restart: false, reason: 'policy' });
  assert.ok(new RestartTracker({ restart: 'transient' }).onExit('killed', 0).restart);
  assert.ok(new RestartTracker({ restart: 'permanent' }).onExit('stopped', 0).restart);
});

test('a backoff range that makes no sense is refused', () => {
  assert.throws(() => new RestartTracker({ backoffMinMs: 100, backoffMaxMs: 10 }));
});
