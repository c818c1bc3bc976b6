import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event } from '../api/types/index.js';
import { AGGREGATE_EVENTS_MAX, AGGREGATE_INTERVAL_MS, COMBINED_PREFIX, EventCorrelator, SPAM_BURST, SPAM_REFILL_MS, type CorrelatedEvent } from './event-correlator.js';

const STAMP = '2026-01-01T00:00:00Z';

function event(message: string, overrides: Partial<Event> = {}): Event {
  return {
    metadata: { name: `web.${message.length}`, namespace: 'default' },
    involvedObject: { kind: 'ReplicaSet', namespace: 'default', name: 'web', uid: 'u1', apiVersion: 'apps/v1' },
    reason: 'SuccessfulCreate', message, type: 'Normal',
    source: { component: 'replicaset-controller' },
    firstTimestamp: STAMP, lastTimestamp: STAMP, count: 1,
    reportingComponent: 'replicaset-controller', reportingInstance: 'cm-0',
    ...overrides,
  };
}

/** What reaches the API server: 'create NAME', 'patch NAME count', or 'skip'. */
function verb(result: CorrelatedEvent): string {
  if (result.skip) return 'skip';
  return result.patch === undefined ? `create ${result.event.metadata.name}` : `patch ${result.event.metadata.name} ${result.patch.count}`;
}

test('a ReplicaSet creating 200 pods writes 9 events, one combined event and 15 patches of its count, then nothing (client-go defaults)', () => {
  const c = new EventCorrelator();
  let fresh = 0;
  const writes = Array.from({ length: 200 }, (_, i) => verb(c.correlate(event(`Created pod: web-${i}`), 1_000 + i, () => `combined-${fresh++}`)));
  assert.equal(writes.filter((w) => w.startsWith('create')).length, AGGREGATE_EVENTS_MAX);
  assert.equal(writes[AGGREGATE_EVENTS_MAX - 1], 'create combined-0');
  assert.deepEqual(writes.slice(AGGREGATE_EVENTS_MAX, SPAM_BURST), Array.from({ length: SPAM_BURST - AGGREGATE_EVENTS_MAX }, (_, i) => `patch combined-0 ${i + 2}`));
  assert.ok(writes.slice(SPAM_BURST).every((w) => w === 'skip'));
});

test('the combined event says so and keeps the newest message', () => {
  const c = new EventCorrelator();
  let last: CorrelatedEvent = { skip: true };
  for (let i = 0; i < 12; i++) last = c.correlate(event(`Created pod: web-${i}`), 0, () => 'combined');
  assert.equal(last.skip, false);
  if (last.skip) return;
  assert.equal(last.event.message, `${COMBINED_PREFIX}Created pod: web-11`);
  assert.deepEqual(last.patch, { count: 3, lastTimestamp: STAMP, message: `${COMBINED_PREFIX}Created pod: web-11` });
});

test('the same event again is a patch of the first one, with its firstTimestamp and a growing count', () => {
  const c = new EventCorrelator();
  const first = c.correlate(event('Error creating: quota exceeded', { reason: 'FailedCreate', type: 'Warning' }), 0, () => 'unused');
  const later = '2026-01-01T00:01:00Z';
  const again = c.correlate(event('Error creating: quota exceeded', { reason: 'FailedCreate', type: 'Warning', metadata: { name: 'other', namespace: 'default' }, firstTimestamp: later, lastTimestamp: later }), 60_000, () => 'unused');
  assert.equal(verb(first), `create web.${'Error creating: quota exceeded'.length}`);
  assert.equal(verb(again), `patch web.${'Error creating: quota exceeded'.length} 2`);
  if (again.skip) return;
  assert.equal(again.event.firstTimestamp, STAMP);
  assert.equal(again.patch?.lastTimestamp, later);
});

test('events about different objects are never combined nor throttled together', () => {
  const c = new EventCorrelator();
  const writes = Array.from({ length: 60 }, (_, i) =>
    verb(c.correlate(event(`Successfully assigned default/web-${i}`, { reason: 'Scheduled', involvedObject: { kind: 'Pod', namespace: 'default', name: `web-${i}`, uid: `p${i}` } }), i, () => 'combined')));
  assert.ok(writes.every((w) => w.startsWith('create web.')));
});

test('a throttled source gets one event back every 5 minutes', () => {
  const c = new EventCorrelator();
  const about = (i: number, atMs: number): string => verb(c.correlate(event(`m${i}`, { reason: `R${i}` }), atMs, () => `combined-${i}`));
  for (let i = 0; i < SPAM_BURST; i++) assert.notEqual(about(i, 0), 'skip');
  assert.equal(about(SPAM_BURST, 1_000), 'skip');
  assert.notEqual(about(SPAM_BURST + 1, SPAM_REFILL_MS + 1_000), 'skip');
  assert.equal(about(SPAM_BURST + 2, SPAM_REFILL_MS + 2_000), 'skip');
});

test('similar events more than 10 minutes apart start a fresh aggregate', () => {
  const c = new EventCorrelator();
  for (let i = 0; i < AGGREGATE_EVENTS_MAX - 1; i++) c.correlate(event(`Created pod: web-${i}`), 0, () => 'combined');
  // The 10th distinct message, but after the interval: not combined.
  const late = c.correlate(event('Created pod: web-late'), AGGREGATE_INTERVAL_MS + 1, () => 'combined');
  assert.equal(verb(late), `create web.${'Created pod: web-late'.length}`);
});
