import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { prefixEnd } from '../../kv/protocol.js';
import { REQUEST_BODY_BYTES_MAX } from './server.js';
import { startTestCluster, type TestCluster } from './test-server.js';

let c: TestCluster;
before(async () => {
  c = await startTestCluster();
});
after(async () => c.close());

const snapshot = async () => JSON.stringify((await c.kv.range('/registry/', { rangeEnd: prefixEnd('/registry/') })).kvs);

test('bad input gets the Status Kubernetes gives, and the server still serves with the store unchanged', async () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ok' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const created = await c.request('POST', '/api/v1/namespaces/default/pods', { body: JSON.stringify(pod) });
  assert.equal(created.status, 201);
  const before = await snapshot();
  const cases: { name: string; method: string; path: string; body?: string | Buffer; contentType?: string; status: number; reason: string }[] = [
    { name: 'malformed JSON', method: 'POST', path: '/api/v1/namespaces/default/pods', body: '{"metadata": {', status: 400, reason: 'BadRequest' },
    { name: 'malformed YAML', method: 'POST', path: '/api/v1/namespaces/default/pods', body: 'a: [b\n  c: :', contentType: 'application/yaml', status: 400, reason: 'BadRequest' },
    { name: 'a JSON array for an object', method: 'POST', path: '/api/v1/namespaces/default/pods', body: '[1,2]', status: 400, reason: 'BadRequest' },
    { name: 'truncated protobuf', method: 'POST', path: '/api/v1/namespaces', body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x7f, 0x01]), contentType: 'application/vnd.kubernetes.protobuf', status: 400, reason: 'BadRequest' },
    { name: 'an invalid object', method: 'POST', path: '/api/v1/namespaces/default/pods', body: JSON.stringify({ metadata: { name: 'UPPER' }, spec: { containers: [] } }), status: 422, reason: 'Invalid' },
    { name: 'a body over the limit', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(REQUEST_BODY_BYTES_MAX) } }), status: 413, reason: 'RequestEntityTooLarge' },
    { name: 'an unknown resource', method: 'GET', path: '/api/v1/namespaces/default/widgets', status: 404, reason: 'NotFound' },
    { name: 'an unknown version', method: 'GET', path: '/apis/apps/v9/deployments', status: 404, reason: 'NotFound' },
    { name: 'a stale resourceVersion', method: 'PUT', path: '/api/v1/namespaces/default/pods/ok', body: JSON.stringify({ ...pod, metadata: { name: 'ok', resourceVersion: '1', labels: { a: 'b' } } }), status: 409, reason: 'Conflict' },
    { name: 'an unknown media type', method: 'POST', path: '/api/v1/namespaces/default/pods', body: 'x', contentType: 'text/csv', status: 415, reason: 'UnsupportedMediaType' },
    { name: 'an unknown patch type', method: 'PATCH', path: '/api/v1/namespaces/default/pods/ok', body: '{}', contentType: 'application/json', status: 415, reason: 'UnsupportedMediaType' },
    { name: 'a failing JSON patch', method: 'PATCH', path: '/api/v1/namespaces/default/pods/ok', body: '[{"op":"test","path":"/metadata/name","value":"no"}]', contentType: 'application/json-patch+json', status: 400, reason: 'BadRequest' },
    { name: 'a bad label selector', method: 'GET', path: '/api/v1/pods?labelSelector=a%20in%20(', status: 400, reason: 'BadRequest' },
    { name: 'an unsupported field selector', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.nope%3Dx', status: 400, reason: 'BadRequest' },
    { name: 'a bad continue token', method: 'GET', path: '/api/v1/pods?limit=1&continue=garbage', status: 400, reason: 'BadRequest' },
    { name: 'a watch from a resourceVersion that is not a number', method: 'GET', path: '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc', status: 400, reason: 'BadRequest' },
    { name: 'a list at a resourceVersion that is not a number', method: 'GET', path: '/api/v1/namespaces/default/configmaps?resourceVersion=abc', status: 400, reason: 'BadRequest' },
    { name: 'a get at a negative resourceVersion', method: 'GET', path: '/api/v1/namespaces/default/pods/ok?resourceVersion=-1', status: 400, reason: 'BadRequest' },
    { name: 'a watch flag that is not a boolean', method: 'GET', path: '/api/v1/namespaces/default/configmaps?watch=yes', status: 400, reason: 'BadRequest' },
    { name: 'a pod in a missing namespace', method: 'POST', path: '/api/v1/namespaces/nowhere/pods', body: JSON.stringify(pod), status: 404, reason: 'NotFound' },
  ];
  for (const k of cases) {
    const r = await c.request(k.method, k.path, { body: k.body, contentType: k.contentType });
    assert.equal(r.status, k.status, `${k.name}: ${r.body.slice(0, 300)}`);
    const status = r.json();
    assert.equal(status.kind, 'Status', k.name);
    assert.equal(status.reason, k.reason, k.name);
    assert.equal(status.code, k.status, k.name);
  }
  const badRv = await c.request('GET', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc');
  assert.equal(badRv.json().message, 'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax');
  const invalid = await c.request('POST', '/api/v1/namespaces/default/pods', { body: JSON.stringify({ metadata: { name: 'UPPER' }, spec: { containers: [] } }) });
  assert.deepEqual(invalid.json().details.causes.map((x: { field: string }) => x.field).sort(), ['metadata.name', 'spec.containers']);
  assert.equal(await snapshot(), before, 'no bad request wrote anything');
  const still = await c.request('GET', '/api/v1/namespaces/default/pods/ok');
  assert.equal(still.status, 200);
  assert.equal(still.json().metadata.name, 'ok');
});

test('a watch from a compacted resourceVersion answers one ERROR event carrying 410 Expired', async () => {
  const first = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'w1' } }) });
  const oldRv = first.json().metadata.resourceVersion as string;
  // Restart the cache past the old revision, as after a compaction.
  const cms = c.handlers.cache(c.handlers.info('', 'v1', 'configmaps'));
  const later = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'w2' } }) });
  await c.kv.compact(Number(later.json().metadata.resourceVersion));
  (cms as unknown as { storeWatchEnded(e: Error): void }).storeWatchEnded(new Error('compacted'));
  await cms.start();
  const r = await c.request('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${oldRv}`);
  assert.equal(r.status, 200);
  const event = JSON.parse(r.body.trim().split('\n')[0]!);
  assert.equal(event.type, 'ERROR');
  assert.equal(event.object.code, 410);
  assert.equal(event.object.reason, 'Expired');
});

test('a paged list via the HTTP API walks every object once', async () => {
  for (let i = 0; i < 5; i++) await c.request('POST', '/api/v1/namespaces/default/secrets', { body: JSON.stringify({ metadata: { name: `s${i}` } }) });
  const names: string[] = [];
  let token = '';
  for (let page = 0; page < 10; page++) {
    const r = (await c.request('GET', `/api/v1/namespaces/default/secrets?limit=2${token ? `&continue=${token}` : ''}`)).json();
    names.push(...r.items.map((s: { metadata: { name: string } }) => s.metadata.name));
    token = r.metadata.continue ?? '';
    if (!token) break;
  }
  assert.deepEqual(names, ['s0', 's1', 's2', 's3', 's4']);
});
