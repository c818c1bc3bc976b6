import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../errors.js';
import { boolParam, parseBool } from './query.js';
import { startTestCluster } from './test-server.js';

test('booleans read as strconv.ParseBool: the six spellings of each value, and nothing else', () => {
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseBool('watch', v), true, v);
  for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseBool('watch', v), false, v);
  for (const v of ['', 'yes', 'no', 'tRuE', 'on', '2', ' true', 'true ']) {
    assert.throws(() => parseBool('watch', v), (e: unknown) => {
      assert.ok(e instanceof ApiError, v);
      assert.equal(e.status.code, 400);
      assert.equal(e.status.reason, 'BadRequest');
      assert.equal(e.status.message, `watch: Invalid value: ${JSON.stringify(v)}: must be a boolean (true or false)`);
      return true;
    });
  }
});

test('a boolean query parameter is undefined when absent and its first value when repeated', () => {
  assert.equal(boolParam(new URLSearchParams(''), 'watch'), undefined);
  assert.equal(boolParam(new URLSearchParams('watch=True'), 'watch'), true);
  assert.equal(boolParam(new URLSearchParams('watch=0&watch=1'), 'watch'), false);
  assert.throws(() => boolParam(new URLSearchParams('watch'), 'watch'), /watch: Invalid value: ""/);
});

test('over HTTP, the spellings Python and Go clients send open a watch; the opposite ones list; others are 400', async () => {
  const c = await startTestCluster();
  try {
    const created = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'cm' } }) });
    assert.equal(created.status, 201);
    for (const spelling of ['True', 'true', '1', 'T']) {
      const watch = await c.streamLines(`/api/v1/namespaces/default/configmaps?watch=${spelling}`, 1);
      assert.equal(watch.status, 200, spelling);
      const event = JSON.parse(watch.lines[0]!);
      assert.equal(event.type, 'ADDED', spelling);
      assert.equal(event.object.metadata.name, 'cm', spelling);
    }
    for (const spelling of ['False', 'false', '0', 'F']) {
      const list = await c.request('GET', `/api/v1/namespaces/default/configmaps?watch=${spelling}`);
      assert.equal(list.status, 200, spelling);
      assert.equal(list.json().kind, 'ConfigMapList', spelling);
    }
    const bad: [string, string][] = [
      ['/api/v1/namespaces/default/configmaps?watch=yes', 'watch'],
      ['/api/v1/namespaces/default/configmaps?watch', 'watch'],
      ['/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=maybe', 'allowWatchBookmarks'],
      ['/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=nope', 'sendInitialEvents'],
    ];
    for (const [path, name] of bad) {
      const r = await c.request('GET', path);
      assert.equal(r.status, 400, path);
      assert.equal(r.json().reason, 'BadRequest', path);
      assert.match(r.json().message, new RegExp(`^${name}: Invalid value`), path);
    }
    const forced = await c.request('PATCH', '/api/v1/namespaces/default/configmaps/cm?fieldManager=t&force=sure', { body: '{"data":{"a":"b"}}', contentType: 'application/apply-patch+yaml' });
    assert.equal(forced.status, 400);
    assert.match(forced.json().message, /^force: Invalid value: "sure"/);
    const bookmarked = await c.streamLines('/api/v1/namespaces/default/configmaps?watch=True&sendInitialEvents=True&allowWatchBookmarks=True&resourceVersionMatch=NotOlderThan', 2);
    assert.deepEqual(bookmarked.lines.map((l) => JSON.parse(l).type), ['ADDED', 'BOOKMARK']);
  } finally {
    await c.close();
  }
});
