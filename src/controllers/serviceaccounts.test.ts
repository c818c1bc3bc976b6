import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceAccount } from '../api/types/index.js';
import { cluster } from './test-harness.js';

const accounts = (namespace: string) => ({ group: '', version: 'v1', resource: 'serviceaccounts', namespace });
const namespaces = { group: '', version: 'v1', resource: 'namespaces' };

test('every namespace gets a default ServiceAccount, a new one too, and a deleted default comes back', async () => {
  const h = await cluster(401);
  const hasDefault = async (namespace: string) => (await h.list<ServiceAccount>(accounts(namespace))).some((sa) => sa.metadata.name === 'default');
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) await h.until(`a default account in ${ns}`, () => hasDefault(ns));
  await h.create(namespaces, { metadata: { name: 'team' } });
  await h.until('a default account in the new namespace', () => hasDefault('team'));
  const first = await h.get<ServiceAccount>(accounts('team'), 'default');
  await h.delete(accounts('team'), 'default');
  await h.until('the deleted default account made again', () => hasDefault('team'));
  const second = await h.get<ServiceAccount>(accounts('team'), 'default');
  assert.notEqual(second.metadata.uid, first.metadata.uid, 'a new account, not the old one');
  // Only the default: the controller makes no other accounts.
  assert.deepEqual((await h.list<ServiceAccount>(accounts('team'))).map((sa) => sa.metadata.name), ['default']);
  await h.sim.shutdown();
});
