import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateJsonPath, parseJsonPath, setAtJsonPath } from './jsonpath.js';

const object = {
  spec: { replicas: 3, 'odd-key': 'x' },
  status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Synced', status: 'False' }] },
  items: [{ name: 'a' }, { name: 'b' }],
};

describe('the JSONPath subset of printer columns and scale paths', () => {
  test('fields, indexes, wildcards and equality filters', () => {
    assert.deepEqual(evaluateJsonPath(object, '.spec.replicas'), [3]);
    assert.deepEqual(evaluateJsonPath(object, '.spec.odd-key'), ['x']);
    assert.deepEqual(evaluateJsonPath(object, '.items[1].name'), ['b']);
    assert.deepEqual(evaluateJsonPath(object, '.items[*].name'), ['a', 'b']);
    assert.deepEqual(evaluateJsonPath(object, '.status.conditions[?(@.type=="Synced")].status'), ['False']);
    assert.deepEqual(evaluateJsonPath(object, '{.spec.replicas}'), [3], 'braces, as in jsonpath templates, are accepted');
  });

  test('a path that finds nothing yields nothing', () => {
    assert.deepEqual(evaluateJsonPath(object, '.spec.missing.deeper'), []);
    assert.deepEqual(evaluateJsonPath(object, '.items[5].name'), []);
  });

  test('what is not a path is an error, not a crash', () => {
    assert.ok(parseJsonPath('spec.replicas') instanceof Error);
    assert.ok(parseJsonPath('.spec[?(@.a>1)]') instanceof Error);
    assert.deepEqual(evaluateJsonPath(object, 'nonsense'), []);
  });

  test('setting a field path creates the objects on the way; other paths are refused', () => {
    const target: Record<string, unknown> = {};
    assert.equal(setAtJsonPath(target, '.spec.replicas', 2), true);
    assert.deepEqual(target, { spec: { replicas: 2 } });
    assert.equal(setAtJsonPath(target, '.items[0].name', 'x'), false);
  });
});
