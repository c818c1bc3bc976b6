import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch.js';
import { matchesLabels, parseLabelSelector, selectorFromObject } from './selectors.js';

test('merge patch: objects merge, null deletes, lists replace', () => {
  const target = { a: { b: 1, c: 2 }, list: [1, 2], keep: true };
  assert.deepEqual(mergePatch(target, { a: { b: null, d: 3 }, list: [3] }), { a: { c: 2, d: 3 }, list: [3], keep: true });
  assert.deepEqual(target, { a: { b: 1, c: 2 }, list: [1, 2], keep: true }, 'the target is not modified');
});

test('strategic merge: keyed lists merge, $patch delete removes an element, $setElementOrder orders, null deletes a field', () => {
  const live: Json = { spec: { unschedulable: true, containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }, { name: 'c', image: 'c:1' }], ports: [{ port: 80, name: 'http' }] } };
  const patched = strategicMergePatch(live, {
    spec: {
      unschedulable: null,
      '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }],
      containers: [{ name: 'a', image: 'a:2' }, { name: 'b', $patch: 'delete' }],
      ports: [{ port: 443, name: 'https' }],
    },
  } as Json) as { spec: Record<string, unknown> };
  assert.equal('unschedulable' in patched.spec, false);
  assert.deepEqual(patched.spec.containers, [{ name: 'c', image: 'c:1' }, { name: 'a', image: 'a:2' }]);
  assert.deepEqual(patched.spec.ports, [{ port: 80, name: 'http' }, { port: 443, name: 'https' }], 'service ports merge by port');
  const replaced = strategicMergePatch({ spec: { tolerations: [{ key: 'x' }] } }, { spec: { tolerations: [{ key: 'y' }] } });
  assert.deepEqual(replaced, { spec: { tolerations: [{ key: 'y' }] } }, 'lists without a merge key replace');
});

test('json patch applies all operations or none', () => {
  const doc = { a: [1, 2], b: { c: 'x' } };
  assert.deepEqual(jsonPatch(doc, [{ op: 'add', path: '/a/-', value: 3 }, { op: 'move', from: '/b/c', path: '/d' }, { op: 'test', path: '/d', value: 'x' }]), { a: [1, 2, 3], b: {}, d: 'x' });
  assert.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/a/0' }, { op: 'replace', path: '/nope', value: 1 }]), ApiError);
  assert.deepEqual(doc, { a: [1, 2], b: { c: 'x' } });
});

test('label selectors: equality and set-based terms, and LabelSelector objects', () => {
  const s = parseLabelSelector('app=web,tier in (front, back),!canary,env!=prod,zone');
  assert.equal(matchesLabels(s, { app: 'web', tier: 'front', env: 'dev', zone: 'a' }), true);
  assert.equal(matchesLabels(s, { app: 'web', tier: 'front', env: 'dev', zone: 'a', canary: '1' }), false);
  assert.equal(matchesLabels(s, { app: 'web', tier: 'mid', zone: 'a' }), false);
  assert.equal(matchesLabels(s, { app: 'web', tier: 'back' }), false, 'zone must exist');
  const o = selectorFromObject({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] });
  assert.equal(matchesLabels(o, { app: 'web', tier: 'front' }), true);
  assert.equal(matchesLabels(o, { app: 'web', tier: 'db' }), false);
  assert.throws(() => parseLabelSelector('a in (b'), ApiError);
});
