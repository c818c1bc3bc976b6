import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, PodDisruptionBudget } from '../api/types/index.js';
import { DISRUPTED_POD_TIMEOUT_MS, budgetStatus, countHealthy, expectedAndDesired, liveDisruptedPods, needsScale, podsOfBudget, scaledValue } from './disruption-util.js';

const pdb = (spec: NonNullable<PodDisruptionBudget['spec']>, disruptedPods?: Record<string, string>): PodDisruptionBudget => ({
  metadata: { name: 'b', namespace: 'default', generation: 2 },
  spec,
  ...(disruptedPods ? { status: { disruptedPods, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 } } : {}),
});
const pod = (name: string, ready: boolean, labels: Record<string, string> = { app: 'web' }, deleting = false): Pod => ({
  metadata: { name, namespace: 'default', labels, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const NOW = Date.parse('2026-01-01T00:10:00Z');

describe('PodDisruptionBudget arithmetic', () => {
  test('int-or-percent values scale as intstr does: percentages rounded up for budgets', () => {
    assert.equal(scaledValue(2, 10, true), 2);
    assert.equal(scaledValue('25%', 10, true), 3);
    assert.equal(scaledValue('25%', 10, false), 2);
    assert.throws(() => scaledValue('a%', 10, true), /invalid value/);
  });

  test('minAvailable as an int counts the matching pods; maxUnavailable and percentages take the controllers\' scale', () => {
    assert.deepEqual(expectedAndDesired(pdb({ minAvailable: 3 }), 4, 0), { expectedPods: 4, desiredHealthy: 3 });
    assert.deepEqual(expectedAndDesired(pdb({ maxUnavailable: 1 }), 4, 5), { expectedPods: 5, desiredHealthy: 4 });
    assert.deepEqual(expectedAndDesired(pdb({ maxUnavailable: '50%' }), 4, 5), { expectedPods: 5, desiredHealthy: 2 }, '50% of 5 rounded up is 3 unavailable');
    assert.deepEqual(expectedAndDesired(pdb({ minAvailable: '50%' }), 4, 5), { expectedPods: 5, desiredHealthy: 3 });
    assert.deepEqual(expectedAndDesired(pdb({ maxUnavailable: 9 }), 4, 5), { expectedPods: 5, desiredHealthy: 0 }, 'never below zero');
    assert.equal(needsScale(pdb({ minAvailable: 1 })), false);
    assert.equal(needsScale(pdb({ minAvailable: '10%' })), true);
    assert.equal(needsScale(pdb({ maxUnavailable: 0 })), true);
  });

  test('disruptionsAllowed is healthy minus desired, never negative, and 0 while nothing is expected; the condition says why', () => {
    const b = pdb({ minAvailable: 2 });
    const ok = budgetStatus(b, { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 }, {}, NOW);
    assert.equal(ok.disruptionsAllowed, 1);
    assert.equal(ok.observedGeneration, 2);
    assert.deepEqual(ok.conditions?.map((c) => [c.type, c.status, c.reason]), [['DisruptionAllowed', 'True', 'SufficientPods']]);
    const short = budgetStatus(b, { currentHealthy: 1, desiredHealthy: 2, expectedPods: 3 }, {}, NOW);
    assert.equal(short.disruptionsAllowed, 0);
    assert.deepEqual(short.conditions?.map((c) => [c.status, c.reason]), [['False', 'InsufficientPods']]);
    assert.equal(budgetStatus(b, { currentHealthy: 2, desiredHealthy: 0, expectedPods: 0 }, {}, NOW).disruptionsAllowed, 0);
  });

  test('healthy pods are Ready, not being deleted, and not just evicted; evicted pods are remembered for two minutes only', () => {
    const pods = [pod('a', true), pod('b', true), pod('c', false), pod('d', true, undefined, true), pod('e', true)];
    const recent = new Date(NOW - 60_000).toISOString();
    const old = new Date(NOW - DISRUPTED_POD_TIMEOUT_MS - 1_000).toISOString();
    const live = liveDisruptedPods(pdb({ minAvailable: 1 }, { b: recent, e: old, gone: recent }), pods, NOW);
    assert.deepEqual(live.disruptedPods, { b: recent }, 'a vanished pod and an overdue one are dropped');
    assert.deepEqual(live.overdue.map((p) => p.metadata.name), ['e']);
    assert.equal(live.recheckMs, Date.parse(recent) + DISRUPTED_POD_TIMEOUT_MS);
    assert.equal(countHealthy(pods, live.disruptedPods), 2, 'a and e');
  });

  test('selectors: an empty selector covers the whole namespace, a missing one nothing', () => {
    const pods = [pod('a', true), pod('b', true, { app: 'db' })];
    assert.deepEqual(podsOfBudget(pdb({ selector: { matchLabels: { app: 'web' } } }), pods).map((p) => p.metadata.name), ['a']);
    assert.deepEqual(podsOfBudget(pdb({ selector: {} }), pods).map((p) => p.metadata.name), ['a', 'b']);
    assert.deepEqual(podsOfBudget(pdb({}), pods), []);
  });
});
