import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QUANTITY_MEMO_ENTRIES_MAX, quantityMilliValue, quantityValue } from './quantity.js';

describe('quantities', () => {
  const cases: [string, 'value' | 'milli', number][] = [
    ['500m', 'milli', 500],
    ['1', 'milli', 1000],
    ['1.5', 'milli', 1500],
    ['0.1', 'milli', 100],
    ['2', 'value', 2],
    ['1Gi', 'value', 1073741824],
    ['128974848', 'value', 128974848],
    ['129e6', 'value', 129000000],
    ['129M', 'value', 129000000],
    ['123Mi', 'value', 128974848],
    ['1.5Gi', 'value', 1610612736],
    ['1k', 'value', 1000],
    ['1Ki', 'value', 1024],
    ['0.5m', 'milli', 1],
    ['100n', 'milli', 1],
    ['1.5', 'value', 2],
    ['110', 'value', 110],
  ];
  for (const [text, kind, expected] of cases) {
    test(`${text} is ${expected} (${kind === 'milli' ? 'thousandths, rounded up' : 'units, rounded up'})`, () => {
      assert.equal(kind === 'milli' ? quantityMilliValue(text) : quantityValue(text), expected);
    });
  }
  test('numbers are accepted as Kubernetes accepts them on input', () => {
    assert.equal(quantityMilliValue(2), 2000);
  });
  test('malformed quantities are refused with the Kubernetes message', () => {
    for (const bad of ['', 'abc', '1Gb', '1.2.3', '--1', '1 Gi']) assert.throws(() => quantityValue(bad), /quantities must match/);
  });
});

describe('quantities read again', () => {
  test('a remembered quantity gives the value it gave first, also after the memo filled up and started over', () => {
    assert.equal(quantityMilliValue('100m'), 100);
    assert.equal(quantityValue('64Mi'), 67_108_864);
    for (let i = 1; i <= QUANTITY_MEMO_ENTRIES_MAX + 10; i++) assert.equal(quantityValue(`${i}Ki`), i * 1024);
    assert.equal(quantityMilliValue('100m'), 100);
    assert.equal(quantityValue('64Mi'), 67_108_864);
    assert.equal(quantityValue('1Ki'), 1024);
    assert.throws(() => quantityValue('12 apples'), /quantities must match/, 'a bad quantity is refused every time, never remembered');
    assert.throws(() => quantityValue('12 apples'), /quantities must match/);
  });
});
