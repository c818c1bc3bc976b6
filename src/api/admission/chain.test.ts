import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, apiErrors } from '../errors.js';
import { findResource } from '../resources.js';
import { ADMIN, startHandlers } from '../testing.js';
import { AdmissionChain } from './chain.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from './types.js';

const pods = findResource('', 'v1', 'pods')!;

function attributes(operation: Operation, object?: Record<string, unknown>): AdmissionAttributes {
  return { operation, resource: pods, namespace: 'default', name: 'p', object, userInfo: ADMIN, dryRun: false };
}

/** A plugin that records its calls in `log` as `<name>.<phase>`. */
function recorder(name: string, log: string[], operations: Operation[] = ['CREATE', 'UPDATE', 'DELETE']): AdmissionPlugin {
  return {
    name,
    handles: (operation) => operations.includes(operation),
    admit: () => void log.push(`${name}.admit`),
    validate: () => void log.push(`${name}.validate`),
  };
}

test('every mutating phase runs before any validating one, each in the chain order', async () => {
  const log: string[] = [];
  await new AdmissionChain([recorder('a', log), recorder('b', log), recorder('c', log)]).run(attributes('CREATE', {}));
  assert.deepEqual(log, ['a.admit', 'b.admit', 'c.admit', 'a.validate', 'b.validate', 'c.validate']);
});

test('a plugin is asked only for the operations it handles', async () => {
  const log: string[] = [];
  await new AdmissionChain([recorder('creates', log, ['CREATE']), recorder('deletes', log, ['DELETE'])]).run(attributes('DELETE'));
  assert.deepEqual(log, ['deletes.admit', 'deletes.validate']);
});

test('validation sees what mutation did, and the first refusal stops the chain', async () => {
  const log: string[] = [];
  const labeller: AdmissionPlugin = { name: 'labeller', handles: () => true, admit: (a) => void (a.object!.labelled = true) };
  const checker: AdmissionPlugin = {
    name: 'checker', handles: () => true,
    validate: (a) => {
      if (a.object!.labelled !== true) throw apiErrors.forbiddenAdmission('not labelled', 'pods', '', 'p');
      throw apiErrors.forbiddenAdmission('pods "p" is forbidden: checked', 'pods', '', 'p');
    },
  };
  const chain = new AdmissionChain([labeller, checker, recorder('after', log)]);
  await assert.rejects(async () => chain.run(attributes('CREATE', {})), (e: unknown) => e instanceof ApiError && e.message === 'pods "p" is forbidden: checked');
  assert.deepEqual(log, ['after.admit']);
});

test('plugins that answer at once cost no promise; one that waits is waited for before the next, in order', async () => {
  const log: string[] = [];
  const chain = new AdmissionChain([recorder('a', log), recorder('b', log)]);
  assert.equal(chain.run(attributes('CREATE', {})), undefined);
  assert.deepEqual(log, ['a.admit', 'b.admit', 'a.validate', 'b.validate']);
  log.length = 0;
  const waiter: AdmissionPlugin = {
    name: 'waiter', handles: () => true,
    admit: async () => { await new Promise((resolve) => setTimeout(resolve, 1)); log.push('waiter.admit'); },
    validate: async () => { await Promise.resolve(); log.push('waiter.validate'); },
  };
  const pending = new AdmissionChain([recorder('a', log), waiter, recorder('b', log)]).run(attributes('CREATE', {}));
  assert.ok(pending instanceof Promise);
  assert.deepEqual(log, ['a.admit']);
  await pending;
  assert.deepEqual(log, ['a.admit', 'waiter.admit', 'b.admit', 'a.validate', 'waiter.validate', 'b.validate']);
});

test('a refusal is a rejected promise, whether the plugin throws at once or after waiting', async () => {
  const refuse = () => apiErrors.forbiddenAdmission('no', 'pods', '', 'p');
  const atOnce: AdmissionPlugin = { name: 'at-once', handles: () => true, validate: () => { throw refuse(); } };
  const later: AdmissionPlugin = { name: 'later', handles: () => true, admit: async () => { await Promise.resolve(); throw refuse(); } };
  for (const plugin of [atOnce, later]) {
    const log: string[] = [];
    const pending = new AdmissionChain([plugin, recorder('after', log)]).run(attributes('CREATE', {}));
    assert.ok(pending instanceof Promise, plugin.name);
    await assert.rejects(pending, (e: unknown) => e instanceof ApiError && e.message === 'no');
    assert.deepEqual(log, plugin === atOnce ? ['after.admit'] : [], plugin.name);
  }
});

test('a plugin listed twice is a configuration error'
, () => {
  assert.throws(() => new AdmissionChain([recorder('x', []), recorder('x', [])]), /plugin x is listed twice/);
});

test('the API server chain is Kubernetes ordered: NamespaceLifecycle first, ServiceAccount before Priority, the webhooks, ResourceQuota last', async () => {
  const { handlers } = await startHandlers();
  const names = handlers.admission.plugins.map((p) => p.name);
  assert.deepEqual(names, ['NamespaceLifecycle', 'RBACEscalation', 'ServiceAccount', 'Priority', 'MutatingAdmissionWebhook', 'ValidatingAdmissionWebhook', 'ResourceQuota']);
  handlers.stop();
});

test('a pod created without an account runs as its namespace default one; a named account is kept', async () => {
  const { handlers } = await startHandlers();
  const create = async (name: string, spec: Record<string, unknown>) => {
    const result = await handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'pods', namespace: 'default', body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } } }, ADMIN);
    return (result.body as unknown as { spec: { serviceAccountName?: string } }).spec.serviceAccountName;
  };
  assert.equal(await create('plain', {}), 'default');
  assert.equal(await create('robot', { serviceAccountName: 'robot' }), 'robot');
  handlers.stop();
});
