import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { ADMIN, startHandlers } from './testing.js';

const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } };

function rejectsWith(code: number, message: RegExp) {
  return (e: unknown) => e instanceof ApiError && e.status.code === code && message.test(e.status.message ?? '');
}

test('a resourceVersion that is not a number is refused for actor clients too, before anything is read or watched', async () => {
  const { handlers } = await startHandlers();
  const target = { group: '', version: 'v1', resource: 'configmaps', namespace: 'default' };
  const invalid = /^resourceVersion: Invalid value: "abc": strconv\.ParseUint: parsing "abc": invalid syntax$/;
  await assert.rejects(handlers.handle({ ...target, verb: 'list', query: { resourceVersion: 'abc' } }, ADMIN), rejectsWith(400, invalid));
  await assert.rejects(handlers.handle({ ...target, verb: 'get', name: 'x', query: { resourceVersion: 'abc' } }, ADMIN), rejectsWith(400, invalid));
  assert.throws(() => handlers.watch({ ...target, verb: 'watch', query: { resourceVersion: 'abc' } }, ADMIN, { event: () => undefined, end: () => undefined }), rejectsWith(400, invalid));
  handlers.stop();
});

test('an api.get of pods/log answers 400 naming api.podLog, the message that serves logs', async () => {
  const { handlers } = await startHandlers();
  await handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'pods', namespace: 'default', body: pod }, ADMIN);
  await assert.rejects(
    handlers.handle({ verb: 'get', group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'p', subresource: 'log' }, ADMIN),
    rejectsWith(400, /read with api\.podLog .*from the pod's kubelet/),
  );
  handlers.stop();
});
