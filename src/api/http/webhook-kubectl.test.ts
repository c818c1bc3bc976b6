/**
 * Admission webhooks end to end: the real kubectl against the API server,
 * which calls a real HTTPS webhook on 127.0.0.1 (its own CA, given as
 * caBundle). Allow, deny with a message, mutate by JSONPatch, a webhook
 * that is down (failurePolicy Fail: kubectl sees the error; Ignore: the
 * create goes through), one slower than its timeoutSeconds, a caBundle that
 * does not sign the webhook's certificate, and a webhook reached through a
 * Service's endpoints.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requireKubectl } from '../../testing/tools.js';
import { startTestCluster, type TestCluster } from './test-server.js';
import { generateTls, type TlsMaterial } from './tls.js';
import { startWebhookServer, type WebhookServer } from './webhook-test-server.js';

describe('admission webhooks with kubectl', () => {
  let c: TestCluster;
  let tls: TlsMaterial;
  let hook: WebhookServer;
  /** A port nothing listens on: a webhook that is down. */
  let deadPort: number;

  before(async () => {
    c = await startTestCluster();
    tls = generateTls(['guard.hooks.svc']);
    hook = await startWebhookServer(tls, {
      '/allow': { kind: 'allow', warnings: ['this namespace is audited'] },
      '/deny': { kind: 'deny', message: 'configmaps named bad-* are not allowed here' },
      '/mutate': { kind: 'patch', ops: [{ op: 'add', path: '/metadata/labels', value: { stamped: 'by-webhook' } }] },
      '/slow': { kind: 'slow', delayMs: 3_000 },
    });
    const gone = await startWebhookServer(tls, {});
    deadPort = gone.port;
    await gone.close();
  });
  after(async () => {
    await hook.close();
    await c.close();
  });

  const kubectl = async (args: string[], input?: string) => {
    const r = await c.kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const caBundle = () => Buffer.from(tls.caPem).toString('base64');

  /** A configuration with one webhook for configmaps in namespaces labelled case=<name>, and that namespace. */
  async function setUp(name: string, kind: 'Validating' | 'Mutating', clientConfig: string, extra = ''): Promise<string> {
    await kubectl(['create', 'namespace', name]);
    await kubectl(['label', 'namespace', name, `case=${name}`]);
    await kubectl(['apply', '-f', '-'], `apiVersion: admissionregistration.k8s.io/v1
kind: ${kind}WebhookConfiguration
metadata:
  name: ${name}
webhooks:
- name: ${name}.example.com
  clientConfig:
${clientConfig}
  rules:
  - operations: ["CREATE", "UPDATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  namespaceSelector:
    matchLabels: { case: ${name} }
  sideEffects: None
  admissionReviewVersions: ["v1"]
${extra}`);
    // The plugin reads configurations from the watch cache: wait until it shows this one.
    const info = c.handlers.info('admissionregistration.k8s.io', 'v1', `${kind.toLowerCase()}webhookconfigurations`);
    const stored = JSON.parse(await kubectl(['get', `${kind.toLowerCase()}webhookconfigurations`, name, '-o', 'json'])) as { metadata: { resourceVersion: string } };
    await c.handlers.cache(info).waitFor(Number(stored.metadata.resourceVersion));
    return name;
  }
  const url = (path: string, ca = caBundle(), port = hook.port) => `    url: https://127.0.0.1:${port}${path}\n    caBundle: ${ca}`;

  test('an allowing webhook sees the request as an AdmissionReview, its warning reaches kubectl, and kubectl lists the configuration', async () => {
    requireKubectl();
    const ns = await setUp('allow', 'Validating', url('/allow'));
    const created = await c.kubectl(['create', 'configmap', 'fine', '-n', ns, '--from-literal=k=v']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Warning: this namespace is audited/, 'the webhook\'s warning reaches kubectl');
    const review = hook.reviews.get('/allow')!.at(-1)!;
    assert.equal(review.request?.operation, 'CREATE');
    assert.deepEqual(review.request?.resource, { group: '', version: 'v1', resource: 'configmaps' });
    assert.equal(review.request?.namespace, ns);
    assert.equal((review.request?.object as { data: Record<string, string> }).data.k, 'v');
    assert.equal(review.request?.userInfo.username, 'admin');
    const table = await kubectl(['get', 'validatingwebhookconfigurations']);
    assert.match(table, /^NAME\s+WEBHOOKS\s+AGE\n/);
    assert.match(table, /\nallow\s+1\s+/);
  });

  test('a denying webhook\'s message reaches kubectl, and nothing is written', async () => {
    requireKubectl();
    const ns = await setUp('deny', 'Validating', url('/deny'));
    const r = await c.kubectl(['create', 'configmap', 'bad-one', '-n', ns]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /admission webhook "deny\.example\.com" denied the request: configmaps named bad-\* are not allowed here/);
    assert.equal((await c.kubectl(['get', 'configmap', 'bad-one', '-n', ns])).code, 1);
  });

  test('a mutating webhook\'s JSONPatch is in the stored object, on create and on a patch', async () => {
    requireKubectl();
    const ns = await setUp('mutate', 'Mutating', url('/mutate'));
    await kubectl(['create', 'configmap', 'm', '-n', ns]);
    const created = JSON.parse(await kubectl(['get', 'configmap', 'm', '-n', ns, '-o', 'json'])) as { metadata: { labels?: Record<string, string> } };
    assert.deepEqual(created.metadata.labels, { stamped: 'by-webhook' });
    // The label removed by a patch comes back: a patch is admitted as an UPDATE of the patched object.
    await kubectl(['patch', 'configmap', 'm', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/metadata/labels"}]']);
    const patched = JSON.parse(await kubectl(['get', 'configmap', 'm', '-n', ns, '-o', 'json'])) as { metadata: { labels?: Record<string, string> } };
    assert.deepEqual(patched.metadata.labels, { stamped: 'by-webhook' });
    assert.equal(hook.reviews.get('/mutate')!.at(-1)!.request?.operation, 'UPDATE');
  });

  test('a webhook that is down fails the request with failurePolicy Fail, and is passed over with Ignore', async () => {
    requireKubectl();
    const fail = await setUp('down-fail', 'Validating', url('/x', caBundle(), deadPort), '  failurePolicy: Fail');
    const r = await c.kubectl(['create', 'configmap', 'blocked', '-n', fail]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Internal error occurred: failed calling webhook "down-fail\\.example\\.com": failed to call webhook: Post "https://127\\.0\\.0\\.1:${deadPort}/x\\?timeout=10s": dial tcp 127\\.0\\.0\\.1:${deadPort}: connect: connection refused`));
    const raw = await c.request('POST', `/api/v1/namespaces/${fail}/configmaps`, { body: JSON.stringify({ metadata: { name: 'blocked' } }) });
    assert.equal(raw.status, 500);
    assert.equal(raw.json().reason, 'InternalError');
    const ignore = await setUp('down-ignore', 'Validating', url('/x', caBundle(), deadPort), '  failurePolicy: Ignore');
    await kubectl(['create', 'configmap', 'through', '-n', ignore]);
    // The configuration itself is never subject to webhooks: a dead one can always be removed.
    await kubectl(['delete', 'validatingwebhookconfiguration', 'down-fail']);
  });

  test('a webhook slower than its timeoutSeconds fails the request with a deadline error', async () => {
    requireKubectl();
    const ns = await setUp('slow', 'Validating', url('/slow'), '  timeoutSeconds: 1');
    const r = await c.kubectl(['create', 'configmap', 'late', '-n', ns]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /failed calling webhook "slow\.example\.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/slow\?timeout=1s": context deadline exceeded/);
  });

  test('a caBundle that did not sign the webhook\'s certificate fails the call', async () => {
    requireKubectl();
    const ns = await setUp('wrong-ca', 'Validating', url('/allow', Buffer.from(c.caPem).toString('base64')));
    const r = await c.kubectl(['create', 'configmap', 'x', '-n', ns]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /failed calling webhook "wrong-ca\.example\.com": failed to call webhook: Post .*x509: certificate signed by unknown authority/);
  });

  test('a webhook named by a Service is called at the Service\'s endpoint, verified as NAME.NAMESPACE.svc', async () => {
    requireKubectl();
    await kubectl(['create', 'namespace', 'hooks']);
    await kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Service
metadata: { name: guard, namespace: hooks }
spec:
  ports: [{ name: https, port: 443, targetPort: ${hook.port} }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: guard, namespace: hooks }
subsets:
- addresses: [{ ip: 127.0.0.1 }]
  ports: [{ name: https, port: ${hook.port} }]
`);
    const ns = await setUp('by-service', 'Validating', `    service: { namespace: hooks, name: guard, path: /deny }\n    caBundle: ${caBundle()}`);
    const r = await c.kubectl(['create', 'configmap', 'bad-two', '-n', ns]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /admission webhook "by-service\.example\.com" denied the request: configmaps named bad-\*/);
  });
});
