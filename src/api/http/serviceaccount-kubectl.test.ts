/**
 * ServiceAccounts over HTTPS: `kubectl create serviceaccount` and `get sa`,
 * `kubectl create token` (TokenRequest), and `@kubernetes/client-node`
 * running as the account with that token: allowed what its RoleBinding
 * allows, refused the rest with Kubernetes' 403.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { requireKubectl } from '../../testing/tools.js';
import { startTestCluster, type TestCluster } from './test-server.js';

describe('ServiceAccounts over HTTPS', () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c.close();
  });

  const kubectl = async (args: string[], input?: string) => {
    const r = await c.kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  /** A client-node client that authenticates with `token` only. */
  const clientWith = (token: string) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'kt', server: c.url, caData: Buffer.from(c.caPem).toString('base64') }],
      users: [{ name: 'robot', token }],
      contexts: [{ name: 'kt', cluster: 'kt', user: 'robot' }],
      currentContext: 'kt',
    });
    return kc.makeApiClient(CoreV1Api);
  };

  /** The HTTP status of a client-node call that failed (client-node's ApiException carries `code`). */
  const refusal = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (error) {
      const e = error as { code?: number; body?: string };
      return { code: e.code, message: (JSON.parse(e.body ?? '{}') as { message?: string }).message };
    }
    assert.fail('the call was allowed');
  };

  test('kubectl creates a service account, lists it as sa, and create token returns a JWT for it', async () => {
    requireKubectl();
    await kubectl(['create', 'namespace', 'team']);
    assert.match(await kubectl(['create', 'serviceaccount', 'robot', '-n', 'team']), /serviceaccount\/robot created/);
    const table = await kubectl(['get', 'sa', '-n', 'team']);
    assert.match(table, /^NAME\s+SECRETS\s+AGE\n/);
    assert.match(table, /\nrobot\s+0\s+/);
    const token = (await kubectl(['create', 'token', 'robot', '-n', 'team', '--duration=20m'])).trim();
    assert.equal(token.split('.').length, 3, 'a JWT');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; exp: number; iat: number };
    assert.equal(claims.sub, 'system:serviceaccount:team:robot');
    assert.equal(claims.exp - claims.iat, 1200);
    const tooShort = await c.kubectl(['create', 'token', 'robot', '-n', 'team', '--duration=5m']);
    assert.notEqual(tooShort.code, 0);
    assert.match(tooShort.stderr, /spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/);
    const missing = await c.kubectl(['create', 'token', 'nobody', '-n', 'team']);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  test('client-node with a TokenRequest token is allowed what its RoleBinding allows and refused the rest with 403', async () => {
    requireKubectl();
    await kubectl(['create', 'namespace', 'ops']);
    await kubectl(['create', 'serviceaccount', 'reader', '-n', 'ops']);
    const issued = await c.request('POST', '/api/v1/namespaces/ops/serviceaccounts/reader/token', {
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }),
    });
    assert.equal(issued.status, 201);
    const review = issued.json() as { spec: { audiences: string[]; expirationSeconds: number }; status: { token: string; expirationTimestamp: string } };
    assert.deepEqual(review.spec.audiences, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(review.spec.expirationSeconds, 3600);
    const core = clientWith(review.status.token);

    const denied = await refusal(core.listNamespacedPod({ namespace: 'ops' }));
    assert.equal(denied.code, 403);
    assert.equal(denied.message, 'pods is forbidden: User "system:serviceaccount:ops:reader" cannot list resource "pods" in API group "" in the namespace "ops"');

    await kubectl(['create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods', '-n', 'ops']);
    const bound = await c.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/ops/rolebindings', {
      body: JSON.stringify({ metadata: { name: 'reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'ops' }] }),
    });
    assert.equal(bound.status, 201);
    const rbac = c.handlers.info('rbac.authorization.k8s.io', 'v1', 'rolebindings');
    await c.handlers.cache(rbac).waitFor(Number(bound.json().metadata.resourceVersion));

    const pods = await core.listNamespacedPod({ namespace: 'ops' });
    assert.deepEqual(pods.items, []);
    const elsewhere = await refusal(core.listNamespacedPod({ namespace: 'default' }));
    assert.equal(elsewhere.code, 403);
    assert.match(elsewhere.message ?? '', /User "system:serviceaccount:ops:reader" cannot list resource "pods" in API group "" in the namespace "default"/);
    const write = await refusal(core.createNamespacedConfigMap({ namespace: 'ops', body: { metadata: { name: 'x' } } }));
    assert.equal(write.code, 403);

    // The account's groups: all service accounts of a namespace can be bound at once.
    await kubectl(['create', 'role', 'cm-lister', '--verb=list', '--resource=configmaps', '-n', 'ops']);
    const viaGroup = await c.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/ops/rolebindings', {
      body: JSON.stringify({ metadata: { name: 'all-accounts' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-lister' }, subjects: [{ kind: 'Group', name: 'system:serviceaccounts:ops', apiGroup: 'rbac.authorization.k8s.io' }] }),
    });
    assert.equal(viaGroup.status, 201);
    await c.handlers.cache(rbac).waitFor(Number(viaGroup.json().metadata.resourceVersion));
    assert.deepEqual((await core.listNamespacedConfigMap({ namespace: 'ops' })).items, []);

    // A deleted account's tokens stop working at once: 401.
    await kubectl(['delete', 'serviceaccount', 'reader', '-n', 'ops']);
    const gone = await c.request('GET', '/api/v1/namespaces/ops/pods', { token: review.status.token });
    assert.equal(gone.status, 401);
  });

  test('kubectl auth can-i --as a service account answers for the account, through impersonation', async () => {
    requireKubectl();
    await kubectl(['create', 'namespace', 'imp']);
    await kubectl(['create', 'serviceaccount', 'bot', '-n', 'imp']);
    await kubectl(['create', 'role', 'cm-reader', '--verb=get,list', '--resource=configmaps', '-n', 'imp']);
    const bound = JSON.parse(await kubectl(['create', 'rolebinding', 'bot', '--role=cm-reader', '--serviceaccount=imp:bot', '-n', 'imp', '-o', 'json'])) as { metadata: { resourceVersion: string } };
    await c.handlers.cache(c.handlers.info('rbac.authorization.k8s.io', 'v1', 'rolebindings')).waitFor(Number(bound.metadata.resourceVersion));
    const as = '--as=system:serviceaccount:imp:bot';
    assert.equal((await c.kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', 'imp', as])).stdout.trim(), 'yes');
    const no = await c.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'imp', as]);
    assert.equal(no.stdout.trim(), 'no');
    assert.equal(no.code, 1);
    // Only where its binding applies: not in another namespace.
    assert.equal((await c.kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', 'default', as])).stdout.trim(), 'no');
    // Impersonating needs the impersonate verb: the scheduler has not got it.
    const refused = await c.request('GET', '/api/v1/namespaces/imp/configmaps', { token: 'scheduler-token', headers: { 'Impersonate-User': 'system:serviceaccount:imp:bot' } });
    assert.equal(refused.status, 403);
    assert.equal(refused.json().message, 'serviceaccounts "bot" is forbidden: User "system:kube-scheduler" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "imp"');
  });
});
