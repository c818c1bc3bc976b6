import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findResource } from '../../resources.js';
import type { ValidatingWebhook } from '../../types/index.js';
import type { AdmissionAttributes, Operation } from '../types.js';
import { ruleMatches, webhookMatches } from './matching.js';

const USER = { name: 'u', groups: [] };
const info = (group: string, resource: string) => findResource(group, 'v1', resource)!;
const attrs = (operation: Operation, group: string, resource: string, extra: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  operation, resource: info(group, resource), namespace: info(group, resource).namespaced ? 'team' : undefined, name: 'x', userInfo: USER, dryRun: false, ...extra,
});
const rule = (resources: string[], extra: Record<string, unknown> = {}) => ({ operations: ['*' as const], apiGroups: ['*'], apiVersions: ['*'], resources, ...extra });

test('a rule matches on operation, group, version and resource; each list may say "*"', () => {
  const exact = { operations: ['CREATE' as const], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] };
  assert.equal(ruleMatches(exact, attrs('CREATE', 'apps', 'deployments')), true);
  assert.equal(ruleMatches(exact, attrs('UPDATE', 'apps', 'deployments')), false, 'another operation');
  assert.equal(ruleMatches(exact, attrs('CREATE', '', 'pods')), false, 'another group and resource');
  assert.equal(ruleMatches(rule(['*']), attrs('DELETE', '', 'configmaps')), true);
});

test('"*" is every resource but no subresource; "*/*", "pods/*" and "*/status" reach subresources', () => {
  const status = { subresource: 'status' };
  assert.equal(ruleMatches(rule(['*']), attrs('UPDATE', '', 'pods', status)), false);
  assert.equal(ruleMatches(rule(['pods']), attrs('UPDATE', '', 'pods', status)), false);
  assert.equal(ruleMatches(rule(['*/*']), attrs('UPDATE', '', 'pods', status)), true);
  assert.equal(ruleMatches(rule(['pods/*']), attrs('UPDATE', '', 'pods', status)), true);
  assert.equal(ruleMatches(rule(['*/status']), attrs('UPDATE', 'apps', 'deployments', status)), true);
  assert.equal(ruleMatches(rule(['pods/status']), attrs('UPDATE', '', 'pods', { subresource: 'binding' })), false);
});

test('scope Namespaced matches objects in a namespace, Cluster the cluster-scoped ones (a Namespace too)', () => {
  assert.equal(ruleMatches(rule(['*'], { scope: 'Namespaced' }), attrs('CREATE', '', 'configmaps')), true);
  assert.equal(ruleMatches(rule(['*'], { scope: 'Namespaced' }), attrs('CREATE', '', 'namespaces')), false);
  assert.equal(ruleMatches(rule(['*'], { scope: 'Cluster' }), attrs('CREATE', '', 'namespaces')), true);
  assert.equal(ruleMatches(rule(['*'], { scope: 'Cluster' }), attrs('CREATE', '', 'pods')), false);
});

test('namespaceSelector judges the namespace labels; objectSelector the new object or the old one', () => {
  const webhook = (extra: Partial<ValidatingWebhook>): ValidatingWebhook => ({
    name: 'w.example.com', clientConfig: { url: 'https://127.0.0.1' }, sideEffects: 'None', admissionReviewVersions: ['v1'], rules: [rule(['*'])], ...extra,
  });
  const guarded = webhook({ namespaceSelector: { matchLabels: { guard: 'on' } } });
  assert.equal(webhookMatches(guarded, attrs('CREATE', '', 'configmaps', { object: {} }), { guard: 'on' }), true);
  assert.equal(webhookMatches(guarded, attrs('CREATE', '', 'configmaps', { object: {} }), {}), false);
  assert.equal(webhookMatches(guarded, attrs('CREATE', '', 'nodes', { object: {} }), undefined), true, 'cluster-scoped objects ignore the namespace selector');
  assert.equal(webhookMatches(guarded, attrs('CREATE', '', 'namespaces', { object: { metadata: { labels: { guard: 'on' } } } }), undefined), true, 'a Namespace is matched on its own labels');
  const expressions = webhook({ objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] } });
  assert.equal(webhookMatches(expressions, attrs('CREATE', '', 'configmaps', { object: { metadata: { labels: {} } } }), {}), true);
  assert.equal(webhookMatches(expressions, attrs('CREATE', '', 'configmaps', { object: { metadata: { labels: { skip: 'yes' } } } }), {}), false);
  const labelled = webhook({ objectSelector: { matchLabels: { app: 'web' } } });
  assert.equal(webhookMatches(labelled, attrs('DELETE', '', 'configmaps', { oldObject: { metadata: { labels: { app: 'web' } } } }), {}), true, 'a DELETE is matched on the old object');
  assert.equal(webhookMatches(labelled, attrs('DELETE', '', 'configmaps', { oldObject: { metadata: {} } }), {}), false);
});
