/**
 * RBAC over HTTPS: what an anonymous request reaches, 401 vs 403, and the
 * installed kubectl writing roles and bindings (protobuf bodies from its
 * `create` generators) and asking `auth can-i` (SelfSubjectAccessReview);
 * `kubectl create quota` and a pod refused by it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requireKubectl } from '../../testing/tools.js';
import { startTestCluster, type TestCluster } from './test-server.js';

describe('RBAC and quota over HTTPS', () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c.close();
  });

  test('an anonymous request reaches /healthz, /readyz, /livez and /version only; a wrong token is 401 everywhere', async () => {
    for (const path of ['/healthz', '/readyz', '/livez', '/version']) assert.equal((await c.request('GET', path, { token: null })).status, 200, path);
    for (const path of ['/api', '/apis', '/openapi/v3', '/api/v1/namespaces', '/apis/rbac.authorization.k8s.io/v1/clusterroles']) {
      const r = await c.request('GET', path, { token: null });
      assert.equal(r.status, 401, path);
      assert.equal(r.json().reason, 'Unauthorized');
    }
    assert.equal((await c.request('GET', '/healthz', { token: 'not-a-token' })).status, 401);
  });

  test('the public paths are open because RBAC says so: without system:public-info-viewer anonymous gets 403', async () => {
    const binding = await c.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:public-info-viewer');
    assert.equal(binding.status, 200);
    const removed = await c.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:public-info-viewer');
    assert.equal(removed.status, 200);
    const info = c.handlers.info('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings');
    await c.handlers.cache(info).waitFor(Number(removed.json().metadata.resourceVersion));
    const denied = await c.request('GET', '/healthz', { token: null });
    assert.equal(denied.status, 403);
    assert.match(denied.json().message, /User "system:anonymous" cannot get path "\/healthz"/);
    const { metadata, ...rest } = binding.json();
    const restored = await c.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { body: JSON.stringify({ ...rest, metadata: { name: metadata.name } }) });
    assert.equal(restored.status, 201);
    await c.handlers.cache(info).waitFor(Number(restored.json().metadata.resourceVersion));
    assert.equal((await c.request('GET', '/healthz', { token: null })).status, 200);
  });

  test('kubectl: create clusterrole and rolebinding, get them as tables, and auth can-i for the admin and the scheduler', { skip: requireKubectl() }, async () => {
    const ok = async (args: string[]) => {
      const r = await c.kubectl(args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.match(await ok(['create', 'clusterrole', 'pod-reader', '--verb=get,list,watch', '--resource=pods']), /clusterrole.rbac.authorization.k8s.io\/pod-reader created/);
    assert.match(await ok(['create', 'rolebinding', 'scheduler-reads', '--clusterrole=pod-reader', '--user=bob', '-n', 'default']), /rolebinding.rbac.authorization.k8s.io\/scheduler-reads created/);
    const role = JSON.parse(await ok(['get', 'clusterrole', 'pod-reader', '-o', 'json']));
    assert.deepEqual(role.rules, [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] }]);
    assert.match(await ok(['get', 'rolebindings', '-n', 'default']), /^scheduler-reads\s+ClusterRole\/pod-reader\s+/m);
    assert.match(await ok(['get', 'clusterrolebindings']), /^cluster-admin\s+ClusterRole\/cluster-admin\s+/m);
    assert.match(await ok(['get', 'clusterroles']), /^system:kube-scheduler\s+\d{4}-/m);

    assert.equal((await ok(['auth', 'can-i', 'delete', 'pods', '-A'])).trim(), 'yes');
    const scheduler = ['--token', 'scheduler-token'];
    assert.equal((await ok([...scheduler, 'auth', 'can-i', 'create', 'pods', '--subresource=binding'])).trim(), 'yes');
    const denied = await c.kubectl([...scheduler, 'auth', 'can-i', 'delete', 'deployments.apps']);
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout.trim(), 'no');
    const forbidden = await c.kubectl([...scheduler, 'delete', 'deployment', 'nothing']);
    assert.match(forbidden.stderr, /Error from server \(Forbidden\): deployments.apps "nothing" is forbidden: User "system:kube-scheduler" cannot delete resource "deployments" in API group "apps" in the namespace "default"/);
  });

  test('kubectl: create quota (protobuf), get it with its usage, and a pod over it is Forbidden', { skip: requireKubectl() }, async () => {
    const ok = async (args: string[]) => {
      const r = await c.kubectl(args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await ok(['create', 'namespace', 'quota-demo']);
    assert.match(await ok(['create', 'quota', 'small', '-n', 'quota-demo', '--hard=pods=1,requests.cpu=1,limits.memory=1Gi']), /resourcequota\/small created/);
    await ok(['run', 'one', '-n', 'quota-demo', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"one","image":"nginx","resources":{"requests":{"cpu":"500m"},"limits":{"cpu":"500m","memory":"256Mi"}}}]}}']);
    const second = await c.kubectl(['run', 'two', '-n', 'quota-demo', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"two","image":"nginx","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"100m","memory":"64Mi"}}}]}}']);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /Error from server \(Forbidden\): pods "two" is forbidden: exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1/);
    assert.match(await ok(['get', 'quota', '-n', 'quota-demo']), /^small\s+\S+\s+pods: 1\/1, requests.cpu: 500m\/1\s+limits.memory: 256Mi\/1Gi$/m);
  });
});
