/**
 * `kubectl apply -f` with a `kind: List` (what `kubectl get -o yaml` prints
 * for several objects), with multi-document YAML and with a directory, run
 * by the installed kubectl against the HTTPS API server. kubectl validates
 * List items on the client against the protobuf OpenAPI v2 document (its v3
 * path refuses Lists), so these also prove that document decodes and that
 * its schemas are complete at the top level.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireKubectl } from '../../testing/tools.js';
import { startTestCluster, type TestCluster } from './test-server.js';

const list = (configMapValue: string, extra = '') => `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: settings
    labels: {app: shop}
  data:
    mode: ${configMapValue}
${extra}- apiVersion: v1
  kind: Service
  metadata:
    name: shop
  spec:
    selector: {app: shop}
    ports:
    - port: 80
      targetPort: 8080
`;

describe('kubectl apply of Lists, multi-document YAML and directories', { skip: requireKubectl() }, () => {
  let c: TestCluster;
  let ok: (args: string[], input?: string) => Promise<{ stdout: string; stderr: string }>;

  before(async () => {
    c = await startTestCluster();
    ok = async (args, input) => {
      const r = await c.kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r;
    };
  });

  after(async () => {
    await c.close();
  });

  test('apply of a List creates every item, and kubectl get shows them', async () => {
    const { stdout } = await ok(['apply', '-f', '-'], list('fast'));
    assert.match(stdout, /^configmap\/settings created$/m);
    assert.match(stdout, /^service\/shop created$/m);
    const got = (await ok(['get', 'configmap,service', '-l', 'app=shop', '-o', 'name'])).stdout;
    assert.match(got, /^configmap\/settings$/m);
    const services = (await ok(['get', 'svc', 'shop'])).stdout;
    assert.match(services, /^shop\s+ClusterIP\s+\S+\s+<none>\s+80\/TCP\s+/m);
    const cm = JSON.parse((await ok(['get', 'cm', 'settings', '-o', 'json'])).stdout);
    assert.deepEqual(cm.data, { mode: 'fast' });
  });

  test('applying the List again with a change patches the changed item, with no warning', async () => {
    const { stdout, stderr } = await ok(['apply', '-f', '-'], list('slow'));
    assert.match(stdout, /^configmap\/settings configured$/m);
    assert.match(stdout, /^service\/shop unchanged$/m);
    assert.equal(stderr, '', 'no "error calculating patch from openapi spec" warning');
    assert.deepEqual(JSON.parse((await ok(['get', 'cm', 'settings', '-o', 'json'])).stdout).data, { mode: 'slow' });
  });

  test('--validate=strict rejects an unknown field in a List item on the client, and nothing of the List is written', async () => {
    const bad = list('broken', '  bogusField: 1\n').replaceAll('settings', 'rejected').replace('name: shop\n', 'name: rejected-svc\n');
    for (const flags of [['--validate=strict'], []]) {
      const r = await c.kubectl(['apply', ...flags, '-f', '-'], bad);
      assert.notEqual(r.code, 0, `apply ${flags.join(' ')} must fail`);
      assert.match(r.stderr, /error validating "STDIN": error validating data: ValidationError\(ConfigMap\): unknown field "bogusField" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    }
    const metaTypo = list('x').replace('    labels: {app: shop}\n', '    lables: {app: shop}\n');
    const r = await c.kubectl(['apply', '--validate=strict', '-f', '-'], metaTypo);
    assert.match(r.stderr, /ValidationError\(ConfigMap\.metadata\): unknown field "lables" in io\.k8s\.apimachinery\.pkg\.apis\.meta\.v1\.ObjectMeta/);
    const missing = await c.kubectl(['get', 'cm', 'rejected']);
    assert.match(missing.stderr, /NotFound/);
    assert.match((await c.kubectl(['get', 'svc', 'rejected-svc'])).stderr, /NotFound/);
    // --validate=false sends it (the server drops nothing here: what it keeps of unknown fields is not this test's concern).
    assert.match((await ok(['apply', '--validate=false', '-f', '-'], bad)).stdout, /configmap\/rejected created/);
  });

  test('what kubectl get -o yaml prints for several kinds validates and applies back', async () => {
    await ok(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=0']);
    const printed = (await ok(['get', 'deployment/web', 'service/shop', 'configmap/settings', '-o', 'yaml'])).stdout;
    assert.match(printed, /^kind: List$/m);
    assert.match(printed, /^ {4}resourceVersion: /m, 'the printed items carry server-set metadata');
    const { stdout } = await ok(['apply', '-f', '-'], printed);
    assert.match(stdout, /^deployment\.apps\/web configured$/m);
    assert.match(stdout, /^service\/shop (configured|unchanged)$/m);
    assert.match(stdout, /^configmap\/settings (configured|unchanged)$/m);
  });

  test('multi-document YAML and a directory (YAML and a JSON List inside) apply every object', async () => {
    const multi = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: doc-1}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: doc-2}\ndata: {k: v}\n';
    const out = (await ok(['apply', '-f', '-'], multi)).stdout;
    assert.match(out, /^configmap\/doc-1 created$/m);
    assert.match(out, /^configmap\/doc-2 created$/m);
    const dir = join(c.dir, 'manifests');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), multi.replaceAll('doc-', 'dir-'));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({
      apiVersion: 'v1', kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dir-3' } }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dir-4' }, stringData: { p: 'q' } }],
    }));
    const fromDir = (await ok(['apply', '-f', `${dir}/`])).stdout;
    for (const name of ['configmap/dir-1', 'configmap/dir-2', 'configmap/dir-3', 'secret/dir-4']) assert.match(fromDir, new RegExp(`^${name} created$`, 'm'));
    const names = (await ok(['get', 'cm', '-o', 'name'])).stdout.split('\n');
    for (const name of ['doc-1', 'doc-2', 'dir-1', 'dir-2', 'dir-3']) assert.ok(names.includes(`configmap/${name}`), `${name} exists`);
  });

  test('explain reads the protobuf v2 document too', async () => {
    const { stdout } = await ok(['explain', 'configmaps', '--output=plaintext-openapiv2']);
    assert.match(stdout, /KIND:\s+ConfigMap/);
    assert.match(stdout, /^ {3}data\s+<map\[string\]string>$/m);
  });
});
