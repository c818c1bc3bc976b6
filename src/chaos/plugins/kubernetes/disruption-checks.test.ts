import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findBudgetViolations, judgeNoPdbViolation } from './disruption-checks.js';
import type { BudgetRecord, DisruptionRecord, PodHealthChange } from './sink.js';

const budget: BudgetRecord = { name: 'db-0', app: 'db-0', desiredHealthy: 3 };
/** Four healthy members from t=0; `extra` changes follow. */
function health(extra: PodHealthChange[] = []): PodHealthChange[] {
  const start = [0, 1, 2, 3].map((i): PodHealthChange => ({ tMs: 0, uid: `u${i}`, pod: `default/db-0-${i}`, app: 'db-0', healthy: true }));
  return [...start, ...extra];
}
const disruption = (tMs: number, i: number, via: DisruptionRecord['via'] = 'eviction', uid = `u${i}`): DisruptionRecord => ({ tMs, uid, pod: `default/db-0-${i}`, node: 'node-0', via });

describe('no-pdb-violation judge', () => {
  test('one eviction out of four healthy under minAvailable 3 violates nothing', () => {
    assert.deepEqual(findBudgetViolations([budget], health(), [disruption(1_000, 0)], 0), []);
  });

  test('two pods taken at once, before the first came back, take the budget below its three', () => {
    const v = findBudgetViolations([budget], health(), [disruption(1_000, 0, 'delete'), disruption(1_000, 3, 'delete')], 0);
    assert.equal(v.length, 1);
    assert.deepEqual({ pod: v[0]!.pod, healthyBefore: v[0]!.healthyBefore, desiredHealthy: v[0]!.desiredHealthy, via: v[0]!.via }, { pod: 'default/db-0-3', healthyBefore: 3, desiredHealthy: 3, via: 'delete' });
  });

  test('the second eviction after the first member came back Ready (a new uid) violates nothing', () => {
    const back: PodHealthChange[] = [
      { tMs: 1_100, uid: 'u0', pod: 'default/db-0-0', app: 'db-0', healthy: false },
      { tMs: 2_000, uid: 'n0', pod: 'default/db-0-0', app: 'db-0', healthy: true },
    ];
    assert.deepEqual(findBudgetViolations([budget], health(back), [disruption(1_000, 0), disruption(2_500, 3)], 0), []);
  });

  test('two deletes sent together are judged as they were sent, though the watch showed the second pod going before its answer came', () => {
    // The trace of a real run: both deletes sent at 1,100; the watch saw db-0-2 unhealthy at 1,102.9, its answer came at 1,103.2.
    const seen: PodHealthChange[] = [
      { tMs: 1_101.5, uid: 'u1', pod: 'default/db-0-1', app: 'db-0', healthy: false },
      { tMs: 1_102.9, uid: 'u2', pod: 'default/db-0-2', app: 'db-0', healthy: false },
      { tMs: 1_117, uid: 'n1', pod: 'default/db-0-1', app: 'db-0', healthy: true },
    ];
    const sentTogether = [{ ...disruption(1_101.4, 1, 'delete'), sentMs: 1_100 }, { ...disruption(1_103.2, 2, 'delete'), sentMs: 1_100 }];
    const v = findBudgetViolations([budget], health(seen), sentTogether, 0);
    assert.equal(v.length, 1, 'db-0-2 was healthy when its delete was sent, and db-0-1 was already being taken');
    assert.equal(v[0]!.pod, 'default/db-0-2');
    const atAnswers = sentTogether.map(({ sentMs: _, ...d }) => d);
    assert.deepEqual(findBudgetViolations([budget], health(seen), atAnswers, 0), [], 'judged at the answers, the violation hides: the broken variant');
  });

  test('a pod disrupted earlier counts as gone even while the watch still shows it healthy', () => {
    const v = findBudgetViolations([budget], health(), [disruption(1_000, 0), disruption(1_050, 3)], 0);
    assert.equal(v.length, 1, 'the watch lagged on db-0-0 going; the second disruption still left two');
  });

  test('a pod the watch shows turning Ready within the lag counts as healthy at the disruption', () => {
    const back: PodHealthChange[] = [{ tMs: 1_100, uid: 'n0', pod: 'default/db-0-0', app: 'db-0', healthy: true }];
    const disruptions = [disruption(500, 0), disruption(1_000, 3)];
    assert.equal(findBudgetViolations([budget], health(back), disruptions, 0).length, 1, 'without lag: a violation');
    assert.deepEqual(findBudgetViolations([budget], health(back), disruptions, 200), [], 'within 200 ms of lag: the replacement was Ready');
  });

  test('a disruption of an unhealthy pod takes nothing from the budget, nor does a pod of another app', () => {
    const sick: PodHealthChange[] = [{ tMs: 500, uid: 'u1', pod: 'default/db-0-1', app: 'db-0', healthy: false }];
    const other: PodHealthChange = { tMs: 0, uid: 'w', pod: 'default/web-0-x', app: 'web-0', healthy: true };
    const v = findBudgetViolations([budget], [...health(sick), other], [disruption(1_000, 1), { ...disruption(1_000, 9, 'delete', 'w'), pod: 'default/web-0-x' }], 0);
    assert.deepEqual(v, []);
  });

  test('a crash below the budget before the drain is not the drain\'s violation, but a disruption on top of it is', () => {
    const crashed: PodHealthChange[] = [{ tMs: 200, uid: 'u1', pod: 'default/db-0-1', app: 'db-0', healthy: false }];
    const v = findBudgetViolations([budget], health(crashed), [disruption(1_000, 0)], 0);
    assert.equal(v.length, 1, 'three healthy after the crash: evicting one leaves two of three');
    assert.equal(findBudgetViolations([budget], health(crashed), [], 0).length, 0, 'the crash alone is no disruption');
  });

  test('the verdict: pass, fail with the pod named, unknown without budgets or health', () => {
    assert.equal(judgeNoPdbViolation([budget], health(), [disruption(1_000, 0)], 250).verdict, 'pass');
    const fail = judgeNoPdbViolation([budget], health(), [disruption(1_000, 0, 'delete'), disruption(1_000, 3, 'delete')], 250);
    assert.equal(fail.verdict, 'fail');
    assert.match(fail.summary, /delete of default\/db-0-3 at 1000 ms left db-0 2 healthy of 3/);
    assert.equal(judgeNoPdbViolation([], health(), [], 250).verdict, 'unknown');
    assert.equal(judgeNoPdbViolation([budget], [], [], 250).verdict, 'unknown');
  });
});
