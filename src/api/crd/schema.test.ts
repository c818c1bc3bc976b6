import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applySchemaDefaults, prune, validateStructural, validateValue, type JSONSchemaProps } from './schema.js';

const spec: JSONSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 5, pattern: '^[a-z]+$' },
        replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
        ratio: { type: 'number', exclusiveMinimum: true, minimum: 0, exclusiveMaximum: true, maximum: 1 },
        mode: { type: 'string', enum: ['a', 'b'] },
        tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2, uniqueItems: true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        port: { 'x-kubernetes-int-or-string': true },
        note: { type: 'string', nullable: true },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        nested: { type: 'object', default: {}, properties: { level: { type: 'string', default: 'info' } } },
      },
    },
    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
  },
};

const messages = (value: unknown) => validateValue(value, spec).map((c) => `${c.field}: ${c.message}`);

describe('custom resource schema validation', () => {
  test('a value within every bound passes', () => {
    assert.deepEqual(messages({ spec: { name: 'abc', replicas: 3, ratio: 0.5, mode: 'a', tags: ['x'], labels: { k: 'v' }, port: 'http', note: null } }), []);
  });

  test('maximum and minimum name the field and the bound in Kubernetes words', () => {
    assert.deepEqual(messages({ spec: { name: 'abc', replicas: 20 } }), ['spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10']);
    assert.deepEqual(messages({ spec: { name: 'abc', replicas: 0 } }), ['spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1']);
  });

  test('exclusive bounds exclude the bound itself', () => {
    assert.deepEqual(messages({ spec: { name: 'abc', ratio: 1 } }), ['spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1']);
    assert.deepEqual(messages({ spec: { name: 'abc', ratio: 0 } }), ['spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0']);
  });

  test('enum lists the supported values', () => {
    assert.deepEqual(messages({ spec: { name: 'abc', mode: 'x' } }), ['spec.mode: Unsupported value: "x": supported values: "a", "b"']);
  });

  test('a missing required field is a Required value', () => {
    assert.deepEqual(messages({ spec: {} }), ['spec.name: Required value']);
  });

  test('a wrong type names the expected and the actual type', () => {
    assert.deepEqual(messages({ spec: { name: 'abc', replicas: 'three' } }), ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']);
    assert.deepEqual(messages({ spec: { name: 'abc', replicas: 1.5 } }), ['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"']);
  });

  test('string length and pattern', () => {
    assert.deepEqual(messages({ spec: { name: 'abcdefg' } }), ['spec.name: Too long: may not be more than 5 bytes']);
    assert.deepEqual(messages({ spec: { name: '' } }), [
      'spec.name: Invalid value: "": spec.name in body should be at least 1 chars long',
      'spec.name: Invalid value: "": spec.name in body should match \'^[a-z]+$\'',
    ]);
    assert.deepEqual(messages({ spec: { name: 'AB' } }), ['spec.name: Invalid value: "AB": spec.name in body should match \'^[a-z]+$\'']);
  });

  test('array bounds, uniqueness and item types, with the index in the path', () => {
    assert.deepEqual(messages({ spec: { name: 'a', tags: ['x', 'y', 'z'] } }), ['spec.tags: Too many: 3: must have at most 2 items']);
    assert.deepEqual(messages({ spec: { name: 'a', tags: [] } }), ['spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items']);
    assert.deepEqual(messages({ spec: { name: 'a', tags: ['x', 'x'] } }), ['spec.tags: Duplicate value: "x"']);
    assert.deepEqual(messages({ spec: { name: 'a', tags: [7] } }), ['spec.tags[0]: Invalid value: "integer": spec.tags[0] in body must be of type string: "integer"']);
  });

  test('additionalProperties types every value of a map', () => {
    assert.deepEqual(messages({ spec: { name: 'a', labels: { k: 1 } } }), ['spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: "integer"']);
  });

  test('int-or-string takes both and nothing else', () => {
    assert.deepEqual(messages({ spec: { name: 'a', port: 80 } }), []);
    assert.deepEqual(messages({ spec: { name: 'a', port: true } }), ['spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"']);
  });

  test('null passes only where nullable', () => {
    assert.deepEqual(messages({ spec: { name: 'a', note: null } }), []);
    assert.deepEqual(messages({ spec: { name: 'a', mode: null } }), ['spec.mode: Invalid value: "null": spec.mode in body must be of type string: "null"']);
  });

  test('every error is reported, not only the first', () => {
    assert.equal(messages({ spec: { replicas: 20, mode: 'x', tags: [1] } }).length, 4);
  });
});

describe('custom resource pruning', () => {
  test('fields the schema does not declare are dropped and reported; declared and preserved ones stay', () => {
    const object = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'a' }, spec: { name: 'a', bogus: 1, extra: { anything: { deep: true } }, labels: { k: 'v' } }, top: 1 };
    const pruned = prune(object, spec);
    assert.deepEqual(pruned.sort(), ['spec.bogus', 'top']);
    assert.deepEqual(object, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'a' }, spec: { name: 'a', extra: { anything: { deep: true } }, labels: { k: 'v' } } });
  });

  test('items of arrays are pruned by the item schema', () => {
    const schema: JSONSchemaProps = { type: 'object', properties: { list: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } } } };
    const object = { list: [{ a: 'x', b: 'y' }] };
    assert.deepEqual(prune(object, schema), ['list[0].b']);
    assert.deepEqual(object, { list: [{ a: 'x' }] });
  });
});

describe('custom resource defaulting', () => {
  test('absent fields get their defaults, and a defaulted object gets its own fields\' defaults', () => {
    const object: Record<string, unknown> = { spec: { name: 'a' } };
    applySchemaDefaults(object, spec);
    assert.deepEqual(object, { spec: { name: 'a', replicas: 1, nested: { level: 'info' } } });
  });

  test('a value that is set keeps it; a null in a non-nullable field is defaulted', () => {
    const object: Record<string, unknown> = { spec: { name: 'a', replicas: 4, nested: null } };
    applySchemaDefaults(object, spec);
    assert.deepEqual(object, { spec: { name: 'a', replicas: 4, nested: { level: 'info' } } });
  });
});

describe('structural schema checks of a CRD', () => {
  const at = 'spec.versions[0].schema.openAPIV3Schema';
  const problems = (schema: unknown) => validateStructural(schema, at).map((c) => `${c.field}: ${c.message}`);

  test('the sample schema is structural', () => {
    assert.deepEqual(problems(spec), []);
  });

  test('the root must be an object and every field needs a type', () => {
    assert.deepEqual(problems({ type: 'string' }), [`${at}.type: Invalid value: "string": must be object at the root`]);
    assert.deepEqual(problems({ type: 'object', properties: { spec: { properties: {} } } }), [`${at}.properties[spec].type: Required value: must not be empty for specified object fields`]);
  });

  test('a missing schema is required', () => {
    assert.deepEqual(problems(undefined), [`${at}: Required value: schemas are required`]);
  });

  test('arrays need items, properties and additionalProperties exclude each other, patterns must compile', () => {
    assert.deepEqual(problems({ type: 'object', properties: { a: { type: 'array' } } }), [`${at}.properties[a].items: Required value: must be specified`]);
    assert.deepEqual(problems({ type: 'object', properties: { a: { type: 'object', properties: {}, additionalProperties: { type: 'string' } } } }),
      [`${at}.properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`]);
    assert.deepEqual(problems({ type: 'object', properties: { a: { type: 'string', pattern: '(' } } }), [`${at}.properties[a].pattern: Invalid value: "(": must be a valid regular expression, but isn't`]);
  });

  test('a default must satisfy its own schema', () => {
    assert.deepEqual(problems({ type: 'object', properties: { a: { type: 'integer', maximum: 3, default: 5 } } }),
      [`${at}.properties[a].default: Invalid value: 5: a in body should be less than or equal to 3`]);
  });
});
