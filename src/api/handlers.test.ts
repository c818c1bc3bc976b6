import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvUnavailableError } from '../kv/client/types.js';
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

test('a store call that ran out its deadline answers 504 Timeout; a replica given up on earlier stays an internal error', async () => {
  const { handlers, kv } = await startHandlers();
  const create = () => handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'configmaps', namespace: 'default', body: { metadata: { name: 'c' } } }, ADMIN);
  const failing = (deadlineExceeded: boolean) => async () => {
    throw new KvUnavailableError('kv txn to etcd-0: outcome unknown', deadlineExceeded);
  };
  const txn = kv.txn.bind(kv);
  kv.txn = failing(true);
  await assert.rejects(create(), rejectsWith(504, /^request did not complete within requested timeout - kv txn to etcd-0: outcome unknown$/));
  kv.txn = failing(false);
  await assert.rejects(create(), (e: unknown) => e instanceof KvUnavailableError && !(e instanceof ApiError));
  kv.txn = txn;
  await create();
  handlers.stop();
});
