import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { parseResourceVersion } from './resource-version.js';

test('a resourceVersion is empty or a uint64 in decimal; empty and "0" mean any', () => {
  assert.equal(parseResourceVersion(undefined), 0);
  assert.equal(parseResourceVersion(''), 0);
  assert.equal(parseResourceVersion('0'), 0);
  assert.equal(parseResourceVersion('42'), 42);
  assert.equal(parseResourceVersion('007'), 7);
  assert.equal(parseResourceVersion('18446744073709551615'), 18446744073709551615);
});

test('anything else is a 400 naming the invalid resourceVersion as Kubernetes words it', () => {
  const cases: [string, string][] = [
    ['abc', 'invalid syntax'], ['-1', 'invalid syntax'], ['+1', 'invalid syntax'], ['1.5', 'invalid syntax'],
    [' 1', 'invalid syntax'], ['1e3', 'invalid syntax'], ['18446744073709551616', 'value out of range'],
  ];
  for (const [value, why] of cases) {
    assert.throws(() => parseResourceVersion(value), (e: unknown) => {
      assert.ok(e instanceof ApiError, value);
      assert.equal(e.status.code, 400);
      assert.equal(e.status.reason, 'BadRequest');
      assert.equal(e.status.message, `resourceVersion: Invalid value: ${JSON.stringify(value)}: strconv.ParseUint: parsing ${JSON.stringify(value)}: ${why}`);
      return true;
    });
  }
});
