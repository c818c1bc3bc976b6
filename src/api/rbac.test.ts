import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalKvClient } from '../kv/client/local-client.js';
import type { KvClient } from '../kv/client/types.js';
import { ApiError } from './errors.js';
import { ApiHandlers } from './handlers.js';
import { RbacAuthorizer, staticRbacSource, type RequestAttributes } from './rbac.js';
import { ADMIN, fakeClock, seededRandom, startHandlers } from './testing.js';
import type { ClusterRole, KubeObject, SelfSubjectAccessReview } from './types/index.js';

const RBAC = 'rbac.authorization.k8s.io';
const alice = { name: 'alice', groups: ['system:authenticated'] };
const pods = (verb: string, namespace?: string): RequestAttributes => ({ verb, apiGroup: '', resource: 'pods', namespace });

test('a RoleBinding grants its rules in its own namespace only, a ClusterRoleBinding everywhere, and nothing else grants', () => {
  const reader: ClusterRole = { metadata: { name: 'pod-reader' }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] };
  const authorizer = new RbacAuthorizer(staticRbacSource({
    clusterRoles: [reader, { metadata: { name: 'scaler' }, rules: [{ verbs: ['update'], apiGroups: ['apps'], resources: ['*/scale'] }] }],
    roles: [{ metadata: { name: 'cm-one', namespace: 'team' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['one'] }] }],
    roleBindings: [
      { metadata: { name: 'a', namespace: 'team' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'pod-reader' }, subjects: [{ kind: 'User', name: 'alice' }] },
      { metadata: { name: 'b', namespace: 'team' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'cm-one' }, subjects: [{ kind: 'ServiceAccount', name: 'robot' }] },
      { metadata: { name: 'c', namespace: 'team' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'gone' }, subjects: [{ kind: 'User', name: 'carol' }] },
    ],
    clusterRoleBindings: [{ metadata: { name: 'd' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'scaler' }, subjects: [{ kind: 'Group', name: 'scalers' }] }],
  }));
  const allowed = (user: { name: string; groups: string[] }, a: RequestAttributes) => authorizer.authorize(user, a).allowed;
  assert.equal(allowed(alice, pods('list', 'team')), true);
  assert.match(authorizer.authorize(alice, pods('list', 'team')).reason, /RoleBinding "a" of ClusterRole "pod-reader" in namespace "team"/);
  assert.equal(allowed(alice, pods('list', 'default')), false, 'a RoleBinding does not reach other namespaces');
  assert.equal(allowed(alice, pods('list')), false, 'nor the cluster scope');
  assert.equal(allowed(alice, pods('delete', 'team')), false, 'nor other verbs');
  const robot = { name: 'system:serviceaccount:team:robot', groups: [] };
  assert.equal(allowed(robot, { verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'team', name: 'one' }), true, 'a service account subject is its user name');
  assert.equal(allowed(robot, { verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'team', name: 'two' }), false, 'resourceNames limit the rule');
  const scaler = { name: 'sam', groups: ['scalers'] };
  assert.equal(allowed(scaler, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'x' }), true, '*/scale matches any scale subresource');
  assert.equal(allowed(scaler, { verb: 'update', apiGroup: 'apps', resource: 'deployments', namespace: 'x' }), false, 'but not the resource itself');
  assert.equal(allowed(scaler, { verb: 'get', apiGroup: '', resource: '', path: '/api' }), false, 'no rule, no path');
  const carol = authorizer.authorize({ name: 'carol', groups: [] }, pods('get', 'team'));
  assert.deepEqual(carol, { allowed: false, reason: 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found' });
  assert.equal(allowed({ name: 'root', groups: ['system:masters'] }, pods('delete')), true, 'system:masters needs no binding');
});

test('bootstrap policy: each component user may do its job and no more', async () => {
  const { handlers } = await startHandlers();
  const scheduler = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };
  const manager = { name: 'system:kube-controller-manager', groups: ['system:authenticated'] };
  const node = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
  const proxy = { name: 'system:kube-proxy', groups: ['system:authenticated'] };
  const cases: [typeof scheduler, RequestAttributes, boolean][] = [
    [scheduler, { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'binding', namespace: 'a' }, true],
    [scheduler, { verb: 'watch', apiGroup: '', resource: 'nodes' }, true],
    [scheduler, { verb: 'update', apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, true],
    [scheduler, { verb: 'update', apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' }, false],
    [scheduler, { verb: 'delete', apiGroup: 'apps', resource: 'deployments', namespace: 'a' }, false],
    [scheduler, { verb: 'update', apiGroup: '', resource: 'nodes', name: 'n1' }, false],
    [manager, { verb: 'create', apiGroup: 'apps', resource: 'replicasets', namespace: 'a' }, true],
    [manager, { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'status', namespace: 'a' }, true],
    [manager, { verb: 'create', apiGroup: '', resource: 'pods', namespace: 'a' }, true],
    [manager, { verb: 'list', apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterroles' }, true],
    [manager, { verb: 'create', apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }, false],
    [manager, { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'binding', namespace: 'a' }, false],
    [manager, { verb: 'update', apiGroup: 'apps', resource: 'statefulsets', subresource: 'status', namespace: 'a' }, true],
    [manager, { verb: 'create', apiGroup: 'apps', resource: 'controllerrevisions', namespace: 'a' }, true],
    [manager, { verb: 'update', apiGroup: 'apps', resource: 'daemonsets', subresource: 'status', namespace: 'a' }, true],
    [node, { verb: 'patch', apiGroup: '', resource: 'nodes', subresource: 'status', name: 'n1' }, true],
    [node, { verb: 'update', apiGroup: '', resource: 'pods', subresource: 'status', namespace: 'a' }, true],
    [node, { verb: 'update', apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, true],
    [node, { verb: 'create', apiGroup: 'apps', resource: 'deployments', namespace: 'a' }, false],
    [node, { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'binding', namespace: 'a' }, false],
    [proxy, { verb: 'watch', apiGroup: 'discovery.k8s.io', resource: 'endpointslices' }, true],
    [proxy, { verb: 'create', apiGroup: '', resource: 'pods', namespace: 'a' }, false],
    [alice, { verb: 'get', apiGroup: '', resource: '', path: '/apis/apps/v1' }, true],
    [alice, { verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }, true],
    [alice, { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'a' }, false],
    [{ name: 'system:anonymous', groups: ['system:unauthenticated'] }, { verb: 'get', apiGroup: '', resource: '', path: '/healthz' }, true],
    [{ name: 'system:anonymous', groups: ['system:unauthenticated'] }, { verb: 'get', apiGroup: '', resource: '', path: '/api' }, false],
  ];
  for (const [user, attributes, expected] of cases) {
    assert.equal(handlers.decide(user, attributes).allowed, expected, `${user.name} ${JSON.stringify(attributes)}`);
  }
  handlers.stop();
});

/** Counts every store call, to show that authorization reads none. */
function countingKv(inner: KvClient): { kv: KvClient; calls: () => number } {
  let calls = 0;
  const kv = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kv, calls: () => calls };
}

async function cacheCaught(handlers: ApiHandlers, resource: string, object: KubeObject): Promise<void> {
  await handlers.cache(handlers.info(RBAC, 'v1', resource)).waitFor(Number(object.metadata.resourceVersion));
}

test('roles and bindings written through the API take effect from the watch cache, and a decision reads nothing from the store', async () => {
  const clock = fakeClock();
  const { kv, calls } = countingKv(new LocalKvClient({ now: clock.now }));
  const handlers = new ApiHandlers({ kv, now: clock.now, random: seededRandom(3) });
  await handlers.start();
  const create = (resource: string, namespace: string | undefined, body: unknown) =>
    handlers.handle({ verb: 'create', group: RBAC, version: 'v1', resource, namespace, body }, ADMIN);
  await handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'namespaces', body: { metadata: { name: 'team' } } }, ADMIN);
  await create('roles', 'team', { metadata: { name: 'pod-reader' }, rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] }] });
  const binding = await create('rolebindings', 'team', { metadata: { name: 'alice-reads' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'User', name: 'alice' }] });
  await cacheCaught(handlers, 'rolebindings', binding.body as KubeObject);

  const list = await handlers.handle({ verb: 'list', group: '', version: 'v1', resource: 'pods', namespace: 'team' }, alice);
  assert.equal(list.code, 200);
  await assert.rejects(handlers.handle({ verb: 'list', group: '', version: 'v1', resource: 'pods', namespace: 'default' }, alice), (e: ApiError) => {
    assert.equal(e.code, 403);
    assert.equal(e.message, 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
    return true;
  });

  const before = calls();
  const rebuilds = (handlers as unknown as { authorizer: RbacAuthorizer }).authorizer.rebuilds;
  for (let i = 0; i < 1000; i++) handlers.authorize(alice, { verb: 'get', group: '', resource: 'pods', namespace: 'team', name: `p${i}` });
  assert.equal(calls() - before, 0, 'a thousand decisions, no store call');
  assert.equal((handlers as unknown as { authorizer: RbacAuthorizer }).authorizer.rebuilds, rebuilds, 'and no index rebuild while the policy is unchanged');

  const deleted = await handlers.handle({ verb: 'delete', group: RBAC, version: 'v1', resource: 'rolebindings', namespace: 'team', name: 'alice-reads' }, ADMIN);
  await cacheCaught(handlers, 'rolebindings', deleted.body as KubeObject);
  assert.equal(handlers.decide(alice, pods('list', 'team')).allowed, false, 'deleting the binding revokes the right');
  handlers.stop();
  kv.close();
});

test('no escalation: a user writes roles and bindings only with rights it holds, unless it may escalate or bind', async () => {
  const { handlers } = await startHandlers(5);
  const admin = (verb: 'create' | 'update', resource: string, namespace: string | undefined, body: Record<string, unknown>) =>
    handlers.handle({ verb, group: RBAC, version: 'v1', resource, namespace, name: verb === 'update' ? (body.metadata as { name: string }).name : undefined, body }, ADMIN);
  await handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'namespaces', body: { metadata: { name: 'team' } } }, ADMIN);
  await admin('create', 'roles', 'team', { metadata: { name: 'team-lead' }, rules: [
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] },
    { verbs: ['create', 'get', 'patch', 'update'], apiGroups: [RBAC], resources: ['roles', 'rolebindings'] },
  ] });
  const last = await admin('create', 'rolebindings', 'team', { metadata: { name: 'alice-leads' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'team-lead' }, subjects: [{ kind: 'User', name: 'alice' }] });
  await cacheCaught(handlers, 'rolebindings', last.body as KubeObject);
  const asAlice = (verb: 'create' | 'patch', resource: string, body: unknown, name?: string) =>
    handlers.handle({ verb, group: RBAC, version: 'v1', resource, namespace: 'team', name, body, patchType: verb === 'patch' ? 'merge' : undefined }, alice);
  const forbiddenGrant = (e: ApiError) => e.code === 403 && /attempting to grant RBAC permissions not currently held/.test(e.message);

  const reader = await asAlice('create', 'roles', { metadata: { name: 'reader' }, rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }] });
  assert.equal(reader.code, 201, 'a role within her own rights');
  await assert.rejects(asAlice('create', 'roles', { metadata: { name: 'deleter' }, rules: [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }] }), forbiddenGrant);
  await assert.rejects(asAlice('create', 'roles', { metadata: { name: 'all' }, rules: [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }] }), forbiddenGrant, 'a wildcard is not covered by a list');
  await assert.rejects(asAlice('patch', 'roles', { rules: [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }] }, 'reader'), forbiddenGrant, 'nor through a patch');
  await assert.rejects(asAlice('create', 'rolebindings', { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'alice' }] }), forbiddenGrant);
  const ok = await asAlice('create', 'rolebindings', { metadata: { name: 'bob-reads' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'reader' }, subjects: [{ kind: 'User', name: 'bob' }] });
  assert.equal(ok.code, 201, 'binding a role she holds');

  await admin('update', 'roles', 'team', { metadata: { name: 'team-lead' }, rules: [
    { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] },
    { verbs: ['create', 'get', 'patch', 'update'], apiGroups: [RBAC], resources: ['roles', 'rolebindings'] },
    { verbs: ['bind'], apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: ['cluster-admin'] },
  ] }).then((r) => cacheCaught(handlers, 'roles', r.body as KubeObject));
  const bound = await asAlice('create', 'rolebindings', { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'alice' }] });
  assert.equal(bound.code, 201, 'the bind verb on a role lets her bind it');
  handlers.stop();
});

test('bootstrap roles are created at first start and their missing rules restored at the next, unless autoupdate is off', async () => {
  const clock = fakeClock();
  const kv = new LocalKvClient({ now: clock.now });
  const first = new ApiHandlers({ kv, now: clock.now, random: seededRandom(1) });
  await first.start();
  const roles = first.info(RBAC, 'v1', 'clusterroles');
  const names = (await first.handle({ verb: 'list', group: RBAC, version: 'v1', resource: 'clusterroles' }, ADMIN)).body as { items: KubeObject[] };
  for (const name of ['cluster-admin', 'system:kube-scheduler', 'system:kube-controller-manager', 'system:node', 'system:discovery']) {
    assert.ok(names.items.some((r) => r.metadata.name === name), `${name} is created`);
  }
  await first.registry.patch(roles, undefined, 'system:kube-scheduler', 'merge', { rules: [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }] });
  await first.registry.patch(roles, undefined, 'system:node', 'merge', { metadata: { annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }] });
  first.stop();

  const second = new ApiHandlers({ kv, now: clock.now, random: seededRandom(2) });
  await second.start();
  const scheduler = (await second.registry.get(roles, undefined, 'system:kube-scheduler')) as ClusterRole;
  assert.ok(scheduler.rules!.some((r) => r.resources?.includes('pods/binding')), 'the scheduler role has its bootstrap rules back');
  assert.ok(scheduler.rules!.some((r) => r.verbs.length === 1 && r.verbs[0] === 'get' && r.resources?.[0] === 'nodes'), 'and keeps the rule someone added');
  const node = (await second.registry.get(roles, undefined, 'system:node')) as ClusterRole;
  assert.equal(node.rules!.length, 1, 'a role with autoupdate "false" is left as it is');
  second.stop();
  kv.close();
});

test('a SelfSubjectAccessReview answers for the requesting user and stores nothing', async () => {
  const { handlers } = await startHandlers();
  const review = async (user: typeof alice, spec: SelfSubjectAccessReview['spec']) => {
    const r = await handlers.handle({ verb: 'create', group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', body: { spec } }, user);
    assert.equal(r.code, 201);
    return (r.body as SelfSubjectAccessReview).status!;
  };
  assert.equal((await review(ADMIN, { resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'default' } })).allowed, true);
  assert.equal((await review(alice, { resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'default' } })).allowed, false);
  assert.equal((await review(alice, { nonResourceAttributes: { verb: 'get', path: '/version' } })).allowed, true);
  await assert.rejects(review(alice, {}), (e: ApiError) => e.code === 422);
  handlers.stop();
});
