import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod } from '../api/types/index.js';
import type { PodDisruptionBudget } from '../api/types/policy.js';
import { disruptionBudgetCheck } from './disruption-budgets.js';

const pod = (name: string, labels: Record<string, string>, namespace = 'default'): Pod => ({ metadata: { name, namespace, labels }, spec: { containers: [] } });
const pdb = (name: string, matchLabels: Record<string, string>, disruptionsAllowed: number, disruptedPods?: Record<string, string>): PodDisruptionBudget =>
  ({ metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels }, minAvailable: 1 }, status: { disruptionsAllowed, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, ...(disruptedPods ? { disruptedPods } : {}) } }) as PodDisruptionBudget;

describe('preemption victims against disruption budgets', () => {
  test("a budget's allowance is used up along the victims: the first fits, the next violates", () => {
    const check = disruptionBudgetCheck(() => [pdb('web', { app: 'web' }, 1)]);
    assert.deepEqual(check([pod('a', { app: 'web' }), pod('b', { app: 'web' }), pod('c', { app: 'db' })]), [false, true, false]);
  });

  test('pods of other namespaces, unmatched labels and an empty selector are not protected', () => {
    const empty = { ...pdb('all', {}, 0) };
    const check = disruptionBudgetCheck(() => [pdb('web', { app: 'web' }, 0), empty]);
    assert.deepEqual(check([pod('a', { app: 'web' }, 'other'), pod('b', { app: 'x' })]), [false, false]);
    assert.deepEqual(check([pod('c', { app: 'web' })]), [true]);
  });

  test('a pod the budget already counts as disrupted costs nothing', () => {
    const check = disruptionBudgetCheck(() => [pdb('web', { app: 'web' }, 0, { a: '2026-01-01T00:00:00Z' })]);
    assert.deepEqual(check([pod('a', { app: 'web' }), pod('b', { app: 'web' })]), [false, true]);
  });

  test('each call starts from the budgets as they are, not from what an earlier call used up', () => {
    const check = disruptionBudgetCheck(() => [pdb('web', { app: 'web' }, 1)]);
    assert.deepEqual(check([pod('a', { app: 'web' })]), [false]);
    assert.deepEqual(check([pod('a', { app: 'web' })]), [false]);
  });
});
