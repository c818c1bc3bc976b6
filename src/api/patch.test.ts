import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { clone, jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch.js';
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

test('clone copies exactly as a JSON round trip does, without sharing anything with its input', () => {
  const samples: unknown[] = [
    { a: 1, b: 'x', c: [1, 'two', null, { d: true }], e: { f: { g: [] } } },
    { dropped: undefined, fn: () => 1, sym: Symbol('s'), kept: 0, negZero: -0, inf: Infinity, nan: NaN },
    [undefined, () => 1, Symbol('s'), -0, NaN, { x: undefined }],
    { when: new Date(1_700_000_000_000), nested: { toJSON: (key: string) => `json of ${key}` } },
    { '2': 'b', '1': 'a', z: 'z', y: 'y' },
    { boxed: [new Number(3), new String('s'), new Boolean(false)] },
    // Own enumerable string keys only: not an inherited enumerable one, not a non-enumerable or symbol one.
    Object.assign(Object.create({ inherited: 'no' }) as object, { own: 'yes' }),
    Object.defineProperty({ shown: 1 }, 'hidden', { value: 2, enumerable: false }),
    { [Symbol('s')]: 1, plain: 2 },
    // A "__proto__" key (a ConfigMap's data may have one) is an own key of what JSON.parse gives, not a prototype.
    JSON.parse('{"data":{"__proto__":{"polluted":"yes"},"after":"k"}}') as unknown,
    'text', 42, true, null,
  ];
  for (const sample of samples) {
    const copy = clone(sample);
    assert.deepStrictEqual(copy, JSON.parse(JSON.stringify(sample)), JSON.stringify(sample));
    assert.equal(JSON.stringify(copy), JSON.stringify(sample), 'the same text, keys in the same order');
  }
  const source = { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }] } };
  const copy = clone(source);
  copy.spec.containers[0]!.ports[0]!.containerPort = 81;
  assert.equal(source.spec.containers[0]!.ports[0]!.containerPort, 80);
  assert.equal(clone(undefined), undefined);
  assert.throws(() => clone({ big: 1n }), TypeError);
});
