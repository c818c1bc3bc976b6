import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { RESOURCES } from '../resources.js';
import { openApiV2Document } from './openapi.js';
import { encodeOpenApiV2, openApiV2Form } from './openapi-protobuf.js';

/** A minimal protobuf reader (varint and length-delimited fields only, which is all the document uses). */
function fields(buf: Buffer): { no: number; value: number | Buffer }[] {
  const out: { no: number; value: number | Buffer }[] = [];
  let at = 0;
  const varint = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = buf[at++];
      assert.ok(b !== undefined, 'truncated varint');
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n;
      scale *= 0x80;
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const wire = tag % 8;
    const no = Math.floor(tag / 8);
    if (wire === 0) out.push({ no, value: varint() });
    else {
      assert.equal(wire, 2, `field ${no}: unexpected wire type ${wire}`);
      const len = varint();
      assert.ok(at + len <= buf.length, 'truncated field');
      out.push({ no, value: buf.subarray(at, at + len) });
      at += len;
    }
  }
  return out;
}
const sub = (buf: Buffer, no: number) => fields(buf).filter((f) => f.no === no).map((f) => f.value as Buffer);
const one = (buf: Buffer, no: number) => {
  const all = sub(buf, no);
  assert.equal(all.length, 1, `field ${no} once`);
  return all[0]!;
};
const text = (buf: Buffer, no: number) => one(buf, no).toString('utf8');
/** Named* messages (name = 1, value = 2) as a map. */
const named = (entries: Buffer[]) => new Map(entries.map((e) => [text(e, 1), one(e, 2)]));

test('the protobuf v2 document carries every definition with its properties and group-version-kind, and the PATCH operations', () => {
  const doc = encodeOpenApiV2(openApiV2Document());
  assert.equal(text(doc, 1), '2.0');
  assert.equal(text(one(doc, 2), 1), 'Kubernetes');
  const definitions = named(sub(one(doc, 9), 1));
  assert.equal(definitions.size, RESOURCES.length + 1, 'one per kind plus ObjectMeta');
  const configMap = definitions.get('io.k8s.api.core.v1.ConfigMap')!;
  assert.ok(configMap, 'ConfigMap is defined');
  assert.deepEqual(sub(one(configMap, 22), 1).map((b) => b.toString()), ['object'], 'type: object');
  const properties = named(sub(one(configMap, 25), 1));
  assert.deepEqual([...properties.keys()].sort(), ['apiVersion', 'binaryData', 'data', 'immutable', 'kind', 'metadata']);
  assert.equal(text(properties.get('metadata')!, 1), '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'metadata is a $ref');
  const data = properties.get('data')!;
  const additional = one(one(data, 21), 1);
  assert.deepEqual(sub(one(additional, 22), 1).map((b) => b.toString()), ['string'], 'data values are strings');
  // Vendor extensions are NamedAny whose Any holds YAML (field 2), as kube-openapi reads them.
  const extensions = named(sub(configMap, 31));
  assert.deepEqual(parseYaml(text(extensions.get('x-kubernetes-group-version-kind')!, 2)), [{ group: '', version: 'v1', kind: 'ConfigMap' }]);

  const paths = named(sub(one(doc, 8), 2));
  const deployment = paths.get('/apis/apps/v1/namespaces/{namespace}/deployments/{name}')!;
  const patch = one(deployment, 8);
  assert.equal(text(patch, 5), 'patchDeployment');
  assert.deepEqual(sub(patch, 7).map((b) => b.toString()), ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']);
  const patchGvk = named(sub(patch, 13)).get('x-kubernetes-group-version-kind')!;
  assert.deepEqual(parseYaml(text(patchGvk, 2)), { group: 'apps', version: 'v1', kind: 'Deployment' });
});

test('a schema key the encoder does not model is an error, not silently dropped', () => {
  // A copy: the document shares its nested schema objects with the module.
  const doc = structuredClone(openApiV2Document()) as { definitions: Record<string, { properties: Record<string, Record<string, unknown>> }> };
  doc.definitions['io.k8s.api.core.v1.ConfigMap']!.properties.immutable!.minimum = 0;
  assert.throws(() => encodeOpenApiV2(doc), /io\.k8s\.api\.core\.v1\.ConfigMap\.immutable: key "minimum" has no protobuf encoding/);
});

test('query parameters use the query sub-schema numbering, path parameters the path one', () => {
  const doc = encodeOpenApiV2(openApiV2Document());
  const pod = named(sub(one(doc, 8), 2)).get('/api/v1/namespaces/{namespace}/pods/{name}')!;
  // PathItem.parameters (9) → ParametersItem.parameter (1) → Parameter.non_body_parameter (2) → path sub-schema (4).
  const pathParams = sub(pod, 9).map((p) => one(one(one(p, 1), 2), 4));
  assert.deepEqual(pathParams.map((p) => text(p, 4)), ['name', 'namespace']);
  assert.deepEqual(pathParams.map((p) => text(p, 5)), ['string', 'string'], 'type is field 5 in PathParameterSubSchema');
  const patchParams = sub(one(pod, 8), 8).map((p) => one(p, 1));
  const query = patchParams.map((p) => sub(p, 2)).flat().map((n) => one(n, 3));
  assert.deepEqual(query.map((q) => [text(q, 4), text(q, 2), text(q, 6)]), [['fieldValidation', 'query', 'string']], 'type is field 6 in QueryParameterSubSchema');
  const body = patchParams.map((p) => sub(p, 1)).flat();
  assert.deepEqual(body.map((b) => [text(b, 2), text(b, 3)]), [['body', 'body']]);
});

test('Accept negotiation for /openapi/v2: kubectl gets protobuf, JSON clients JSON, the first listed wins', () => {
  assert.equal(openApiV2Form('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf', "client-go's spelling");
  assert.equal(openApiV2Form('application/com.github.proto-openapi.spec.v2.v1.0+protobuf'), 'protobuf');
  assert.equal(openApiV2Form('application/json'), 'json');
  assert.equal(openApiV2Form(''), 'json');
  assert.equal(openApiV2Form('*/*'), 'json');
  assert.equal(openApiV2Form('application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'json');
  assert.equal(openApiV2Form('application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.9, application/json'), 'protobuf');
  assert.equal(openApiV2Form('text/html'), undefined);
});
