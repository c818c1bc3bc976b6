import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RESOURCES, apiVersionOf } from '../resources.js';
import { startTestCluster, type TestCluster } from './test-server.js';

let c: TestCluster;
before(async () => {
  c = await startTestCluster();
});
after(async () => {
  await c.close();
});

test('/openapi/v2 is a Swagger 2.0 document with a definition and an object path for every served kind', async () => {
  const r = await c.request('GET', '/openapi/v2');
  assert.equal(r.status, 200);
  const doc = r.json();
  assert.equal(doc.swagger, '2.0');
  const kinds = new Set(Object.values(doc.definitions as Record<string, { 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] }>)
    .flatMap((d) => d['x-kubernetes-group-version-kind'] ?? []).map((g) => `${apiVersionOf(g)}/${g.kind}`));
  for (const info of RESOURCES) assert.ok(kinds.has(`${apiVersionOf(info)}/${info.kind}`), `${info.kind} has a definition`);
  const pod = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
  assert.equal(pod.patch['x-kubernetes-group-version-kind'].kind, 'Pod');
  assert.equal(pod.get.responses['200'].schema.$ref, '#/definitions/io.k8s.api.core.v1.Pod');
  assert.ok(doc.definitions['io.k8s.api.core.v1.Pod'], 'references resolve');
  const protobuf = await c.request('GET', '/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
  assert.equal(protobuf.status, 200, "the protobuf form client-go's OpenAPISchema asks for");
  assert.equal(protobuf.contentType, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'answered in the spelling Go can parse');
  assert.equal((await c.request('GET', '/openapi/v2', { accept: 'text/html' })).status, 406);
  assert.equal((await c.request('GET', '/openapi/v2', { token: null })).status, 401);
});
