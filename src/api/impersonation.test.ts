import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { impersonatedUser } from './impersonation.js';
import type { RequestAttributes } from './rbac.js';

const ADMIN = { name: 'admin', groups: ['system:masters'] };
const asked: RequestAttributes[] = [];
const allowAll = (_user: unknown, a: RequestAttributes) => (asked.push(a), { allowed: true, reason: '' });
const denyAll = () => ({ allowed: false, reason: '' });

test('without impersonation headers the request runs as its requester', () => {
  assert.equal(impersonatedUser({ accept: 'application/json' }, ADMIN, denyAll), ADMIN);
});

test('a service account user is checked as serviceaccounts in its namespace and gets its groups', () => {
  asked.length = 0;
  const user = impersonatedUser({ 'impersonate-user': 'system:serviceaccount:team:bot' }, ADMIN, allowAll);
  assert.deepEqual(user, { name: 'system:serviceaccount:team:bot', groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'] });
  assert.deepEqual(asked, [{ verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: 'team', name: 'bot' }]);
});

test('a user with groups is checked as users and as each group', () => {
  asked.length = 0;
  const user = impersonatedUser({ 'impersonate-user': 'jane', 'impersonate-group': ['devs', 'ops'] }, ADMIN, allowAll);
  assert.deepEqual(user, { name: 'jane', groups: ['devs', 'ops', 'system:authenticated'] });
  assert.deepEqual(asked.map((a) => `${a.resource}/${a.name}`), ['users/jane', 'groups/devs', 'groups/ops']);
});

test('refusals: 403 without the impersonate verb, 400 for groups without a user or for extras', () => {
  assert.throws(() => impersonatedUser({ 'impersonate-user': 'jane' }, { name: 'bob', groups: [] }, denyAll),
    (e: unknown) => e instanceof ApiError && e.code === 403 && e.message === 'users "jane" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope');
  assert.throws(() => impersonatedUser({ 'impersonate-group': 'devs' }, ADMIN, allowAll), (e: unknown) => e instanceof ApiError && e.code === 400);
  assert.throws(() => impersonatedUser({ 'impersonate-user': 'jane', 'impersonate-extra-scopes': 'x' }, ADMIN, allowAll), (e: unknown) => e instanceof ApiError && e.code === 400);
});
