/**
 * The installed kubectl (v1.32) against the HTTPS API server: a
 * CustomResourceDefinition applied and waited for, its kind used through
 * short names, printer columns, validation errors, patches of each kind,
 * server-side apply, scale, the status subresource, and the CRD's deletion
 * taking its objects with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requireKubectl } from '../../testing/tools.js';
import { startTestCluster, type TestCluster } from '../http/test-server.js';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: echoes.demo.kubethreads.io
spec:
  group: demo.kubethreads.io
  scope: Namespaced
  names: {plural: echoes, singular: echo, kind: Echo, shortNames: [ec]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: An Echo repeats its message.
        properties:
          spec:
            type: object
            required: [message]
            properties:
              message: {type: string, description: What to say.}
              replicas: {type: integer, minimum: 0, maximum: 10, default: 1}
              mode: {type: string, enum: [loud, quiet], default: quiet}
          status:
            type: object
            properties:
              replicas: {type: integer}
              phase: {type: string}
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Message, type: string, jsonPath: .spec.message}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Mode, type: string, jsonPath: .spec.mode, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`;

const echo = (name: string, spec: string) => `apiVersion: demo.kubethreads.io/v1
kind: Echo
metadata: {name: ${name}}
spec: ${spec}
`;

describe('kubectl with a CustomResourceDefinition', { skip: requireKubectl() }, () => {
  let c: TestCluster;
  let ok: (args: string[], input?: string) => Promise<string>;

  before(async () => {
    c = await startTestCluster();
    ok = async (args, input) => {
      const r = await c.kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };
  });

  after(async () => {
    await c.close();
  });

  test('apply the CRD, wait for Established, see it in get crd and api-resources', async () => {
    assert.match(await ok(['apply', '-f', '-'], CRD), /customresourcedefinition\.apiextensions\.k8s\.io\/echoes\.demo\.kubethreads\.io created/);
    assert.match(await ok(['wait', '--for', 'condition=established', '--timeout=20s', 'crd/echoes.demo.kubethreads.io']), /condition met/);
    assert.match(await ok(['get', 'crd']), /^echoes\.demo\.kubethreads\.io\s+\d{4}-\d\d-\d\dT/m);
    assert.match(await ok(['api-resources', '--api-group=demo.kubethreads.io']), /^echoes\s+ec\s+demo\.kubethreads\.io\/v1\s+true\s+Echo$/m);
  });

  test('apply a custom object; get it by plural, short name and kind with the printer columns', async () => {
    assert.match(await ok(['apply', '-f', '-'], echo('hello', '{message: hi}')), /echo\.demo\.kubethreads\.io\/hello created/);
    const table = await ok(['get', 'echoes']);
    assert.match(table, /^NAME\s+MESSAGE\s+REPLICAS\s+PHASE\s+AGE$/m);
    // A path that finds nothing is a null cell, which kubectl prints blank.
    assert.match(table, /^hello\s+hi\s+1\s+\d+s$/m);
    assert.match(await ok(['get', 'ec', 'hello']), /^hello\s+hi\s+1/m);
    assert.match(await ok(['get', 'echo', '-o', 'wide']), /^NAME\s+MESSAGE\s+REPLICAS\s+PHASE\s+MODE\s+AGE$/m);
    const json = JSON.parse(await ok(['get', 'echo', 'hello', '-o', 'json'])) as { spec: Record<string, unknown> };
    assert.deepEqual(json.spec, { message: 'hi', replicas: 1, mode: 'quiet' }, 'defaults filled by the schema');
  });

  test('an invalid object is refused with the field and Kubernetes\' message', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], echo('bad', '{message: x, replicas: 20, mode: shout}'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);
    assert.match(r.stderr, /spec\.mode: Unsupported value: "shout": supported values: "loud", "quiet"/);
    const unknown = await c.kubectl(['apply', '-f', '-'], echo('typo', '{message: x, replicaz: 2}'));
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.replicaz"/);
  });

  test('a second apply, merge and JSON patches, server-side apply and a replace (kubectl edit\'s PUT) change the object', async () => {
    assert.match(await ok(['apply', '-f', '-'], echo('hello', '{message: hello, mode: loud}')), /echo\.demo\.kubethreads\.io\/hello configured/);
    await ok(['patch', 'echo', 'hello', '--type=merge', '-p', '{"spec":{"message":"merged"}}']);
    await ok(['patch', 'echo', 'hello', '--type=json', '-p', '[{"op":"replace","path":"/spec/mode","value":"quiet"}]']);
    assert.match(await ok(['apply', '--server-side', '-f', '-'], echo('ssa', '{message: applied}')), /echo\.demo\.kubethreads\.io\/ssa serverside-applied/);
    const spec = JSON.parse(await ok(['get', 'echo', 'hello', '-o', 'jsonpath={.spec}'])) as Record<string, unknown>;
    assert.deepEqual(spec, { message: 'merged', mode: 'quiet', replicas: 1 });
    // What `kubectl edit` does: GET, change, PUT the whole object back.
    const full = JSON.parse(await ok(['get', 'echoes.v1.demo.kubethreads.io', 'hello', '-o', 'json'])) as { spec: Record<string, unknown> };
    full.spec.message = 'replaced';
    assert.match(await ok(['replace', '-f', '-'], JSON.stringify(full)), /echo\.demo\.kubethreads\.io\/hello replaced/);
    assert.equal(await ok(['get', 'echo', 'hello', '-o', 'jsonpath={.spec.message}']), 'replaced');
  });

  test('kubectl scale goes through the scale subresource; status is written through /status only', async () => {
    assert.match(await ok(['scale', 'echo', 'hello', '--replicas=4']), /echo\.demo\.kubethreads\.io\/hello scaled/);
    assert.equal(await ok(['get', 'echo', 'hello', '-o', 'jsonpath={.spec.replicas}']), '4');
    await ok(['patch', 'echo', 'hello', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready","replicas":4},"spec":{"message":"ignored"}}']);
    assert.match(await ok(['get', 'echo', 'hello']), /^hello\s+replaced\s+4\s+Ready\s+/m);
    await ok(['patch', 'echo', 'hello', '--type=merge', '-p', '{"status":{"phase":"Ignored"}}']);
    assert.equal(await ok(['get', 'echo', 'hello', '-o', 'jsonpath={.status.phase}']), 'Ready');
  });

  test('kubectl explain reads the CRD\'s schema', async () => {
    const text = await ok(['explain', 'echoes.spec']);
    assert.match(text, /message\s+<string> -required-/);
    assert.match(text, /What to say\./);
  });

  test('deleting the CRD deletes its objects and the kind leaves discovery', async () => {
    assert.match(await ok(['delete', 'crd', 'echoes.demo.kubethreads.io']), /deleted/);
    const left = await c.kv.range('/registry/demo.kubethreads.io/echoes/', { rangeEnd: '/registry/demo.kubethreads.io/echoes0' });
    assert.equal(left.kvs.length, 0);
    // kubectl's discovery cache still maps the kind; the server no longer serves it.
    const r = await c.kubectl(['get', 'echoes']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound/);
    assert.equal((await c.request('GET', '/apis/demo.kubethreads.io/v1')).status, 404);
    const groups = (await c.request('GET', '/apis')).json() as { groups: { name: string }[] };
    assert.ok(!groups.groups.some((g) => g.name === 'demo.kubethreads.io'));
  });
});
