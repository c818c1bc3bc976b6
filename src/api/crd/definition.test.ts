import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultCrd, servedResources, validateCrd, type CustomResourceDefinition } from './definition.js';

interface Spec {
  group: string;
  scope: string;
  names: { plural: string; kind: string; shortNames?: string[] };
  versions: { name: string; served: boolean; storage: boolean; schema: unknown; additionalPrinterColumns?: unknown; subresources?: unknown }[];
}

function crd(change: (spec: Spec) => void = () => undefined): Record<string, unknown> {
  const object = {
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com', scope: 'Namespaced',
      names: { plural: 'widgets', kind: 'Widget' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
    } as Spec,
  };
  change(object.spec);
  defaultCrd(object);
  return object;
}

const problems = (object: Record<string, unknown>) => validateCrd(object).map((c) => `${c.field}: ${c.message}`);

describe('CustomResourceDefinition defaulting and validation', () => {
  test('defaults fill singular, listKind and the conversion strategy', () => {
    const object = crd() as { spec: { names: Record<string, string>; conversion: unknown } };
    assert.equal(object.spec.names.singular, 'widget');
    assert.equal(object.spec.names.listKind, 'WidgetList');
    assert.deepEqual(object.spec.conversion, { strategy: 'None' });
    assert.deepEqual(problems(object as Record<string, unknown>), []);
  });

  test('names must be DNS labels and the kind a kind', () => {
    assert.deepEqual(problems(crd((s) => { s.names.plural = 'Widgets'; })).filter((p) => p.startsWith('spec.names')),
      ['spec.names.plural: Invalid value: "Widgets": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')']);
    assert.deepEqual(problems(crd((s) => { s.names.kind = 'My Widget'; })).filter((p) => p.startsWith('spec.names.kind')),
      ['spec.names.kind: Invalid value: "My Widget": may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?']);
    assert.deepEqual(problems(crd((s) => { s.names.shortNames = ['ok', 'Not_OK']; })).map((p) => p.split(':')[0]), ['spec.names.shortNames[1]']);
  });

  test('scope, printer column types and scale paths are checked', () => {
    assert.deepEqual(problems(crd((s) => { s.scope = 'Global'; })), ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']);
    assert.deepEqual(problems(crd((s) => { s.versions[0]!.additionalPrinterColumns = [{ name: 'X', type: 'float', jsonPath: '.spec.x' }]; })),
      ['spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "float": supported values: "integer", "number", "string", "boolean", "date"']);
    assert.deepEqual(problems(crd((s) => { s.versions[0]!.subresources = { scale: { specReplicasPath: '.status.replicas', statusReplicasPath: '.status.replicas' } }; })),
      ['spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec']);
  });

  test('version names are unique DNS-1035 labels and at least one is served', () => {
    const twice = problems(crd((s) => { s.versions.push({ ...s.versions[0]!, storage: false }); }));
    assert.ok(twice.includes('spec.versions: Invalid value: ["v1","v1"]: must contain unique version names'), twice.join('\n'));
    assert.ok(problems(crd((s) => { s.versions[0]!.served = false; })).includes('spec.versions: Invalid value: ["v1"]: must have at least one served version'));
  });

  test('each served version becomes a kind; unserved ones do not', () => {
    const object = crd((s) => { s.versions.push({ name: 'v2alpha1', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } }); }) as unknown as CustomResourceDefinition;
    const infos = servedResources(object);
    assert.deepEqual(infos.map((i) => `${i.group}/${i.version} ${i.resource} ${i.kind} ${i.namespaced}`), ['example.com/v1 widgets Widget true']);
    assert.equal(infos[0]!.custom?.storageVersion, 'v1');
  });
});
