import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiRequest } from '../handlers.js';
import type { UserInfo } from '../auth.js';
import { startTestCluster } from './test-server.js';

test('HTTPS: resource requests run through flow control with their authenticated user; watches are not held', async () => {
  const seen: string[] = [];
  const c = await startTestCluster({
    flowControl: <T>(request: ApiRequest, user: UserInfo, run: () => Promise<T>): Promise<T> => {
      seen.push(`${user.name} ${request.verb} ${request.resource}`);
      return run();
    },
  });
  try {
    const created = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'a' } }) });
    assert.equal(created.status, 201);
    const listed = await c.request('GET', '/api/v1/namespaces/default/configmaps', { token: 'scheduler-token' });
    // The scheduler may not list configmaps: flow control comes before the handler's authorization, as APF's filter does.
    assert.equal(listed.status, 403);
    const watch = await c.streamLines('/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0', 1);
    assert.equal(watch.status, 200);
    assert.equal(watch.lines.length, 1);
    assert.deepEqual(seen, ['admin create configmaps', 'system:kube-scheduler list configmaps']);
  } finally {
    await c.close();
  }
});
