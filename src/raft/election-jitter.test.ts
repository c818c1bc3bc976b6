import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryStorage } from './log.js';
import { Raft } from './raft.js';
import { emptyHardState } from './types.js';

function timeoutWith(random: number, extra: { electionTimeoutJitterTicks?: number } = {}): number {
  const storage = new MemoryStorage(undefined, { voters: [1, 2, 3], learners: [] });
  const raft = new Raft({ id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => random, ...extra }, storage, emptyHardState);
  return raft.debugTimers().randomizedElectionTimeout;
}

describe('the randomized election timeout range (electionTimeoutJitterTicks)', () => {
  test('by default the timeout is drawn from [electionTicks, 2 * electionTicks), as in the paper and etcd', () => {
    assert.equal(timeoutWith(0), 10);
    assert.equal(timeoutWith(0.999), 19);
  });

  test('a jitter of J ticks draws the timeout from [electionTicks, electionTicks + J)', () => {
    assert.equal(timeoutWith(0, { electionTimeoutJitterTicks: 5 }), 10);
    assert.equal(timeoutWith(0.999, { electionTimeoutJitterTicks: 5 }), 14);
    assert.equal(timeoutWith(0.5, { electionTimeoutJitterTicks: 140 }), 80);
  });

  test('a jitter of 0 removes the randomness: every draw is electionTicks', () => {
    assert.equal(timeoutWith(0.999, { electionTimeoutJitterTicks: 0 }), 10);
  });

  test('a negative or fractional jitter is refused loudly', () => {
    assert.throws(() => timeoutWith(0, { electionTimeoutJitterTicks: -1 }), /electionTimeoutJitterTicks/);
    assert.throws(() => timeoutWith(0, { electionTimeoutJitterTicks: 2.5 }), /electionTimeoutJitterTicks/);
  });
});
