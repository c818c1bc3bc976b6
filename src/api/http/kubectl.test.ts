/**
 * The proof: the installed kubectl (v1.32) against the HTTPS API server on an
 * ephemeral port, with a generated kubeconfig carrying the CA and a token.
 * A stand-in kubelet confirms graceful pod deletions and a stand-in
 * deployment controller writes status, so drain and rollout status can finish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../errors.js';
import type { KubeObject } from '../types/index.js';
import { requireKubectl } from '../../testing/tools.js';
import { startTestCluster, type TestCluster } from './test-server.js';

const deployment = (image: string, replicas: number, name = 'web') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports:
        - containerPort: 80
        env:
        - {name: A, value: "1"}
      - name: sidecar
        image: busybox:1.36
`;

const readyNode = (name: string) => JSON.stringify({
  apiVersion: 'v1', kind: 'Node', metadata: { name },
  status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' }, addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] },
});

describe('kubectl against the API server', { skip: requireKubectl() }, () => {
  let c: TestCluster;
  let ok: (args: string[], input?: string) => Promise<string>;
  let stopKubelet: () => void;

  before(async () => {
    c = await startTestCluster();
    ok = async (args, input) => {
      const r = await c.kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };
    // Stand-in kubelet: confirms every graceful pod deletion, as a real kubelet does once containers stop.
    const pods = c.handlers.info('', 'v1', 'pods');
    const watch = c.handlers.cache(pods).watch({ filter: { labels: [], fields: [] }, resourceVersion: '0' }, {
      event: (e) => {
        const pod = e.object as KubeObject;
        if (e.type !== 'MODIFIED' || pod.metadata.deletionTimestamp === undefined) return;
        c.handlers.registry.delete(pods, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0 }).catch((error: unknown) => {
          if (!(error instanceof ApiError && error.code === 404)) throw error;
        });
      },
      end: () => undefined,
    });
    stopKubelet = () => watch.cancel();
  });

  after(async () => {
    stopKubelet();
    await c.close();
  });

  test('version reports the server as 1.32 and api-resources lists every served resource', async () => {
    assert.match(await ok(['version']), /Server Version: v1\.32\./);
    const resources = await ok(['api-resources']);
    for (const r of ['pods', 'nodes', 'deployments', 'replicasets', 'leases', 'endpointslices', 'configmaps', 'secrets', 'events', 'endpoints', 'services', 'namespaces']) {
      assert.match(resources, new RegExp(`^${r}\\s`, 'm'));
    }
  });

  test('a request without the token is refused with 401', async () => {
    const r = await c.request('GET', '/api/v1/pods', { token: null });
    assert.equal(r.status, 401);
    assert.equal(r.json().reason, 'Unauthorized');
    assert.equal((await c.request('GET', '/version', { token: null })).status, 200, '/version is public');
    const scheduler = await c.request('DELETE', '/apis/apps/v1/namespaces/default/deployments/x', { token: 'scheduler-token' });
    assert.equal(scheduler.status, 403, 'the scheduler may not delete deployments');
    assert.match(scheduler.json().message, /User "system:kube-scheduler" cannot delete resource "deployments" in API group "apps"/);
  });

  test('create namespace (a protobuf body), create -f YAML, get as table, -o json and -o yaml', async () => {
    assert.match(await ok(['create', 'namespace', 'demo']), /namespace\/demo created/);
    assert.match(await ok(['get', 'ns', 'demo']), /demo\s+Active/);
    assert.match(await ok(['create', '-n', 'demo', '-f', '-'], deployment('nginx:1.27', 2)), /deployment.apps\/web created/);
    const table = await ok(['get', 'deploy', '-n', 'demo']);
    assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    assert.match(table, /^web\s+0\/2\s+0\s+0\s+/m);
    const json = JSON.parse(await ok(['get', 'deploy', 'web', '-n', 'demo', '-o', 'json']));
    assert.equal(json.spec.replicas, 2);
    assert.equal(json.metadata.generation, 1);
    assert.equal(json.spec.template.spec.restartPolicy, 'Always');
    assert.match(await ok(['get', 'deploy', 'web', '-n', 'demo', '-o', 'yaml']), /^ {2}replicas: 2$/m);
    const created = await c.kubectl(['create', '-n', 'demo', '-f', '-'], deployment('nginx:1.27', 2));
    assert.notEqual(created.code, 0);
    assert.match(created.stderr, /Error from server \(AlreadyExists\): .*deployments.apps "web" already exists/);
  });

  test('unknown fields: apply fails with the strict decoding error naming each one, --validate=warn prints warnings and writes the rest', async () => {
    const typo = deployment('nginx:1.27', 2).replace(/^( +)replicas: 2$/m, '$1replcas: 2').replace(/^( +)image: (.*)$/m, '$1image: $2\n$1imagePullPolcy: Always');
    assert.match(typo, /replcas/);
    const strict = await c.kubectl(['apply', '-f', '-'], typo);
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /strict decoding error: unknown field "spec\.replcas", unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolcy"/);
    const warned = await c.kubectl(['create', '-f', '-', '--validate=warn'], typo);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /^Warning: unknown field "spec\.replcas"$/m);
    const stored = JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(stored.spec.replcas, undefined, 'the unknown field is dropped');
    assert.equal(stored.spec.template.spec.containers[0].imagePullPolcy, undefined);
    await ok(['delete', 'deploy', 'web']);
  });

  test('imperative create generators (configmap, secret, service, deployment) are decoded from protobuf', async () => {
    await ok(['create', 'configmap', 'cm1', '--from-literal=a=b']);
    await ok(['create', 'secret', 'generic', 's1', '--from-literal=a=b']);
    await ok(['create', 'service', 'nodeport', 'svc1', '--tcp=80:8080']);
    await ok(['create', 'deployment', 'd1', '--image=nginx:1.27', '--replicas=0']);
    const cm = JSON.parse(await ok(['get', 'cm', 'cm1', '-o', 'json']));
    assert.deepEqual(cm.data, { a: 'b' });
    const secret = JSON.parse(await ok(['get', 'secret', 's1', '-o', 'json']));
    assert.equal(Buffer.from(secret.data.a, 'base64').toString(), 'b');
    const services = await ok(['get', 'svc', 'svc1']);
    assert.match(services, /^svc1\s+NodePort\s+127\.96\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP\s+/m);
    assert.equal(JSON.parse(await ok(['get', 'deploy', 'd1', '-o', 'json'])).spec.replicas, 0, 'an explicit zero survives protobuf decoding');
  });

  test('apply twice with a change merges containers by name, then apply --server-side with and without conflicts', async () => {
    await ok(['apply', '-n', 'demo', '-f', '-'], deployment('nginx:1.27', 2, 'api'));
    await ok(['apply', '-n', 'demo', '-f', '-'], deployment('nginx:1.28', 3, 'api'));
    const applied = JSON.parse(await ok(['get', 'deploy', 'api', '-n', 'demo', '-o', 'json']));
    assert.equal(applied.spec.replicas, 3);
    assert.deepEqual(applied.spec.template.spec.containers.map((x: { name: string; image: string }) => `${x.name}=${x.image}`), ['web=nginx:1.28', 'sidecar=busybox:1.36']);
    assert.equal(applied.metadata.generation, 2);
    assert.match(await ok(['apply', '--server-side', '-n', 'demo', '-f', '-'], deployment('nginx:1.29', 1, 'ssa')), /serverside-applied/);
    const conflict = await c.kubectl(['apply', '--server-side', '--field-manager=other', '-n', 'demo', '-f', '-'], deployment('nginx:1.30', 1, 'ssa'));
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflict/i);
    await ok(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-n', 'demo', '-f', '-'], deployment('nginx:1.30', 1, 'ssa'));
    const ssa = JSON.parse(await ok(['get', 'deploy', 'ssa', '-n', 'demo', '-o', 'json']));
    assert.equal(ssa.spec.template.spec.containers[0].image, 'nginx:1.30');
  });

  test('patch (strategic, merge, json), scale, and rollout status once the status says so', async () => {
    await ok(['patch', 'deploy', 'web', '-n', 'demo', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.31"}]}}}}']);
    await ok(['patch', 'deploy', 'web', '-n', 'demo', '--type=merge', '-p', '{"metadata":{"labels":{"tier":"front"}}}']);
    await ok(['patch', 'deploy', 'web', '-n', 'demo', '--type=json', '-p', '[{"op":"add","path":"/spec/minReadySeconds","value":1}]']);
    assert.match(await ok(['scale', 'deploy', 'web', '-n', 'demo', '--replicas=4']), /scaled/);
    const d = JSON.parse(await ok(['get', 'deploy', 'web', '-n', 'demo', '-o', 'json']));
    assert.deepEqual(d.spec.template.spec.containers.map((x: { image: string }) => x.image), ['nginx:1.31', 'busybox:1.36']);
    assert.equal(d.metadata.labels.tier, 'front');
    assert.equal(d.spec.minReadySeconds, 1);
    assert.equal(d.spec.replicas, 4);
    // Stand-in deployment controller: report the rollout complete.
    const deployments = c.handlers.info('apps', 'v1', 'deployments');
    await c.handlers.registry.patch(deployments, 'demo', 'web', 'merge', {
      status: { observedGeneration: d.metadata.generation, replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4 },
    }, { subresource: 'status' });
    assert.match(await ok(['rollout', 'status', 'deploy/web', '-n', 'demo', '--timeout=10s']), /successfully rolled out/);
    assert.match(await ok(['get', 'deploy', 'web', '-n', 'demo']), /^web\s+4\/4\s+4\s+4\s+/m);
    assert.match(await ok(['describe', 'deploy', 'web', '-n', 'demo']), /Replicas:\s+4 desired \| 4 updated \| 4 total \| 4 available/);
  });

  test('nodes show Ready, cordon shows SchedulingDisabled, drain evicts the pods bound to the node', async () => {
    await ok(['create', '-f', '-'], readyNode('node-1'));
    assert.match(await ok(['get', 'nodes']), /^node-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0$/m);
    await ok(['cordon', 'node-1']);
    assert.match(await ok(['get', 'nodes', '-o', 'wide']), /^node-1\s+Ready,SchedulingDisabled\s+/m);
    await ok(['uncordon', 'node-1']);
    assert.match(await ok(['get', 'nodes']), /^node-1\s+Ready\s+/m);
    await ok(['run', 'p1', '--image=nginx:1.27']);
    const pods = c.handlers.info('', 'v1', 'pods');
    await c.handlers.registry.bind(pods, 'default', 'p1', { target: { name: 'node-1' } });
    await c.handlers.registry.patch(pods, 'default', 'p1', 'merge', {
      status: { phase: 'Running', containerStatuses: [{ name: 'p1', ready: true, restartCount: 0, image: 'nginx:1.27', imageID: '', state: { running: {} } }] },
    }, { subresource: 'status' });
    assert.match(await ok(['get', 'pods', '-o', 'wide']), /^p1\s+1\/1\s+Running\s+0\s+\S+\s+<none>\s+node-1\s+/m);
    assert.match(await ok(['get', 'pods', '-A']), /^default\s+p1\s+1\/1\s+Running/m);
    const drained = await ok(['drain', 'node-1', '--force', '--timeout=20s']);
    assert.match(drained, /node\/node-1 drained/);
    assert.match(await ok(['get', 'pods']), /^$/);
  });

  test('get -w streams the changes to a pod, and delete removes it', async () => {
    await ok(['run', 'watched', '--image=nginx:1.27']);
    const watching = c.kubectl(['get', 'pods', 'watched', '-w', '--request-timeout=4s']);
    // kubectl lists first, then watches from the list's resourceVersion: wait until the watch is open.
    const pods = c.handlers.cache(c.handlers.info('', 'v1', 'pods'));
    for (let i = 0; i < 200 && pods.watcherCount < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await ok(['label', 'pod', 'watched', 'round=1']);
    assert.match(await ok(['delete', 'pod', 'watched']), /pod "watched" deleted/);
    const out = await watching;
    const lines = out.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+READY\s+STATUS/);
    assert.ok(lines.length >= 3, `the watch printed the pod and its changes: ${out.stdout}`);
    const missing = await c.kubectl(['get', 'pod', 'watched']);
    assert.match(missing.stderr, /Error from server \(NotFound\): pods "watched" not found/);
  });

  test('events are listed, and describe of a pod finds its events by field selector', async () => {
    await ok(['run', 'ev', '--image=nginx:1.27']);
    const pod = JSON.parse(await ok(['get', 'pod', 'ev', '-o', 'json']));
    const events = c.handlers.info('', 'v1', 'events');
    await c.handlers.registry.create(events, 'default', {
      metadata: { name: 'ev.1' }, involvedObject: { kind: 'Pod', name: 'ev', namespace: 'default', uid: pod.metadata.uid, apiVersion: 'v1' },
      reason: 'Scheduled', message: 'Successfully assigned default/ev to node-1', type: 'Normal', source: { component: 'default-scheduler' },
      firstTimestamp: pod.metadata.creationTimestamp, lastTimestamp: pod.metadata.creationTimestamp, count: 1,
    });
    assert.match(await ok(['get', 'events']), /Scheduled\s+pod\/ev\s+Successfully assigned default\/ev to node-1/);
    assert.match(await ok(['describe', 'pod', 'ev']), /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned/);
    await ok(['delete', 'pod', 'ev', '--wait=true']);
  });

  test('delete namespace removes its content, and the deleted deployment is gone', async () => {
    await ok(['delete', 'deploy', 'api', '-n', 'demo']);
    assert.doesNotMatch(await ok(['get', 'deploy', '-n', 'demo']), /^api\s/m);
    await ok(['delete', 'namespace', 'demo', '--timeout=10s']);
    await c.handlers.settle();
    const r = await c.kubectl(['get', 'ns', 'demo']);
    assert.match(r.stderr, /NotFound/);
    assert.equal((await c.kv.range('/registry/deployments/demo/', { rangeEnd: '/registry/deployments/demo0' })).count, 0);
  });

  test('explain prints a kind from the OpenAPI v3 document', async () => {
    assert.match(await ok(['explain', 'deployments']), /KIND:\s+Deployment[\s\S]*Deployment enables declarative updates/);
  });
});
