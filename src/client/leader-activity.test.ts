import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeActivityProblem, judgeLeaderActivity, type LeaderActivity } from './leader-activity.js';

const at = (identity: string, atMs: number, what: LeaderActivity['what'], detail?: string): LeaderActivity => ({
  component: 'kube-scheduler', actor: identity.split('_')[0]!, identity, atMs, what, ...(detail !== undefined ? { detail } : {}),
});

describe('judgeLeaderActivity', () => {
  test('a clean handover (stop, then the other starts) has two terms and no problem', () => {
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 5, 'write'), at('a', 10, 'stopped'), at('b', 20, 'started'), at('b', 25, 'write')]);
    assert.deepEqual(j.problems, []);
    assert.equal(j.terms.length, 2);
    assert.equal(j.writes, 2);
  });

  test('a write inside the other replica\'s active span is an overlap', () => {
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 10, 'write'), at('b', 20, 'started'), at('a', 25, 'write', 'bind p n'), at('b', 30, 'write')]);
    assert.equal(j.problems.length, 1);
    assert.equal(describeActivityProblem(j.problems[0]!), 'a wrote at 25 ms (bind p n) while b was acting as leader');
  });

  test('a write with no term of its own is reported', () => {
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 5, 'stopped'), at('a', 7, 'write')]);
    assert.deepEqual(j.problems.map((p) => p.kind), ['outside-term']);
  });

  test('a paused leader that wakes believing it leads but writes nothing is not an overlap (activity, not belief)', () => {
    // a leads, is paused at 10; b takes over at 40 and writes; a wakes at 60 and only then says it stopped.
    const j = judgeLeaderActivity([at('a', 0, 'started'), at('a', 5, 'write'), at('b', 40, 'started'), at('b', 45, 'write'), at('a', 60, 'stopped')]);
    assert.deepEqual(j.problems, []);
  });

  test('a killed incarnation (no stop) ends at its last write; its successor under a new identity starts clean', () => {
    const j = judgeLeaderActivity([at('a_1', 0, 'started'), at('a_1', 8, 'write'), at('b_1', 30, 'started'), at('b_1', 31, 'write'), at('a_2', 50, 'started')]);
    assert.deepEqual(j.problems, []);
    assert.equal(j.terms.find((t) => t.identity === 'a_1')!.activeUntilMs, 8);
  });
});
