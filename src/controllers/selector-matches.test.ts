import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../api/testing.js';
import { ApiError } from '../api/errors.js';
import { matchesLabels, selectorFromObject } from '../api/selectors.js';
import type { LabelSelector } from '../api/types/index.js';
import { selectorMatches } from './common.js';

/** The definition selectorMatches keeps: the selector parsed into requirements, an empty one selecting nothing. */
function byRequirements(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return false;
  const requirements = selectorFromObject(selector);
  return requirements.length > 0 && matchesLabels(requirements, labels);
}

const KEYS = ['app', 'tier', 'pod-template-hash'];
const VALUES = ['web', 'db', 'a1'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

test('selectorMatches answers what the parsed requirements answer, for 20,000 random selectors and label sets', () => {
  const random = seededRandom(84);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  let matched = 0;
  for (let i = 0; i < 20_000; i++) {
    const labels: Record<string, string> = {};
    for (const k of KEYS) if (random() < 0.6) labels[k] = pick(VALUES);
    const selector: LabelSelector = {};
    if (random() < 0.7) {
      selector.matchLabels = {};
      for (const k of KEYS) if (random() < 0.4) selector.matchLabels[k] = pick(VALUES);
    }
    if (random() < 0.6) {
      selector.matchExpressions = Array.from({ length: Math.floor(random() * 3) }, () => {
        const operator = pick(OPERATORS);
        return operator === 'In' || operator === 'NotIn'
          ? { key: pick(KEYS), operator, ...(random() < 0.9 ? { values: VALUES.filter(() => random() < 0.5) } : {}) }
          : { key: pick(KEYS), operator };
      });
    }
    const withLabels = random() < 0.95 ? labels : undefined;
    const expected = byRequirements(selector, withLabels);
    if (expected) matched++;
    assert.equal(selectorMatches(selector, withLabels), expected, JSON.stringify({ selector, labels: withLabels }));
  }
  assert.ok(matched > 2_000 && matched < 18_000, `${matched} of 20,000 matched`);
  assert.equal(selectorMatches(undefined, { app: 'web' }), false);
  assert.equal(selectorMatches({}, { app: 'web' }), false, 'an empty selector selects nothing');
  assert.equal(selectorMatches({ matchLabels: {} }, {}), false);
});

test('selectorMatches refuses an unknown operator as the parser does, even when the labels already failed to match', () => {
  const selector = { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'app', operator: 'Near' }] } as unknown as LabelSelector;
  assert.throws(() => selectorMatches(selector, { app: 'web' }), (e: unknown) => e instanceof ApiError && e.code === 400 && /"Near" is not a valid label selector operator/.test(e.message));
});
