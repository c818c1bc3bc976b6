import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTP_LIST_SLICE_ITEMS } from './server.js';
import { startTestCluster } from './test-server.js';
import type { List } from '../types/index.js';

const ADMIN = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

test('over HTTP a list larger than a slice is written in slices and reads as the one list the handler built, items last', async () => {
  const c = await startTestCluster();
  try {
    const count = 2 * HTTP_LIST_SLICE_ITEMS + 7;
    for (let i = 0; i < count; i++) {
      await c.handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'configmaps', namespace: 'default', body: { metadata: { name: `cm-${String(i).padStart(4, '0')}` }, data: { i: String(i) } } }, ADMIN);
    }
    const whole = (await c.handlers.handle({ verb: 'list', group: '', version: 'v1', resource: 'configmaps', namespace: 'default', query: {} }, ADMIN)).body as List;
    const listed = await c.request('GET', '/api/v1/namespaces/default/configmaps');
    assert.equal(listed.status, 200);
    assert.equal(listed.headers['transfer-encoding'], 'chunked', 'streamed, not one Content-Length body');
    const { items, ...rest } = whole;
    assert.equal(listed.body, JSON.stringify({ ...rest, items }), 'byte for byte the list as one JSON text');
    assert.equal(listed.json().items.length, count);

    // At or below a slice: one JSON text as before.
    const small = await c.request('GET', `/api/v1/namespaces/default/configmaps?limit=${HTTP_LIST_SLICE_ITEMS}`);
    assert.equal(small.status, 200);
    assert.equal(small.json().items.length, HTTP_LIST_SLICE_ITEMS);
    assert.ok(small.json().metadata.continue, 'paged as before');
    assert.equal(small.headers['content-length'], String(Buffer.byteLength(small.body)), 'one body with its length');
  } finally {
    await c.close();
  }
});
