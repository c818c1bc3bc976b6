import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { startCluster } from '../cluster/start.js';
import { resolveClusterSpec } from '../cluster/spec.js';
import { eventually } from '../cluster/testing.js';
import { KUBECTL, requireKubectl } from '../testing/tools.js';

const STATEFUL_SET = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: nginx, image: "nginx:1.26"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

const DAEMON_SET = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: agent, image: "agent:1"}]
`;

interface PodList { items: { metadata: { name: string; uid: string }; spec: { nodeName?: string; hostname?: string; subdomain?: string; containers: { image: string }[] }; status: { phase?: string } }[] }

test('with the real kubectl on a 3-node cluster: a StatefulSet rolls out, scales, gets a deleted member back under its name, and is undone; a DaemonSet runs one pod per node', { skip: !isMainThread ? 'worker thread' : requireKubectl() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-workloads-kubectl-'));
  const spec = resolveClusterSpec({ port: 0, nodes: 3, profile: 'fast', kubeconfigPath: join(dir, 'kubeconfig') });
  const cluster = await startCluster(spec, { logLevel: 'fatal' });
  const k = (...args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(KUBECTL, ['--kubeconfig', spec.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 120_000 }, (error, stdout, stderr) => (error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
  });
  const pods = async (app: string) => (JSON.parse(await k('get', 'pods', '-l', `app=${app}`, '-o', 'json')) as PodList).items;
  try {
    writeFileSync(join(dir, 'sts.yaml'), STATEFUL_SET);
    writeFileSync(join(dir, 'ds.yaml'), DAEMON_SET);
    await k('apply', '-f', join(dir, 'sts.yaml'));
    assert.match(await k('rollout', 'status', 'statefulset/web', '--timeout=90s'), /roll out complete: 3 new pods have been updated/);
    assert.match(await k('get', 'sts', 'web'), /^NAME\s+READY\s+AGE\nweb\s+3\/3\s+\S+$/m);
    const first = await pods('web');
    assert.deepEqual(first.map((p) => p.metadata.name).sort(), ['web-0', 'web-1', 'web-2']);
    assert.ok(first.every((p) => p.spec.hostname === p.metadata.name && p.spec.subdomain === 'web'));
    assert.equal(await k('get', 'sts', 'web', '-o', 'jsonpath={.spec.volumeClaimTemplates[0].metadata.name}'), 'data', 'claim templates are stored');

    await k('scale', 'statefulset', 'web', '--replicas=4');
    assert.match(await k('rollout', 'status', 'statefulset/web', '--timeout=90s'), /4 new pods/);
    assert.deepEqual((await pods('web')).map((p) => p.metadata.name).sort(), ['web-0', 'web-1', 'web-2', 'web-3']);

    const victim = first.find((p) => p.metadata.name === 'web-1')!;
    // --wait=false: the member is back under the same name so fast that kubectl's wait for the old one can miss its deletion event (it then waits for the new pod to go).
    await k('delete', 'pod', 'web-1', '--wait=false');
    await eventually('web-1 recreated under its name', async () => {
      const again = (await pods('web')).find((p) => p.metadata.name === 'web-1');
      return again !== undefined && again.metadata.uid !== victim.metadata.uid && again.status.phase === 'Running' ? again : undefined;
    }, 60_000);

    await k('set', 'image', 'statefulset/web', 'nginx=nginx:1.27');
    assert.match(await k('rollout', 'status', 'statefulset/web', '--timeout=120s'), /roll out complete/);
    assert.ok((await pods('web')).every((p) => p.spec.containers[0]!.image === 'nginx:1.27'));
    const history = await k('rollout', 'history', 'statefulset/web');
    assert.match(history, /^1\s+<none>$/m, history);
    assert.match(history, /^2\s+<none>$/m, history);
    assert.match(await k('get', 'controllerrevisions'), /^NAME\s+CONTROLLER\s+REVISION\s+AGE\n(.*\n)*web-\w+\s+statefulset\.apps\/web\s+2\s+/m);
    assert.match(await k('rollout', 'undo', 'statefulset/web'), /rolled back/);
    assert.match(await k('rollout', 'status', 'statefulset/web', '--timeout=120s'), /roll out complete/);
    await eventually('every member back at nginx:1.26', async () => ((await pods('web')).every((p) => p.spec.containers[0]!.image === 'nginx:1.26') ? true : undefined), 60_000);
    assert.match(await k('describe', 'statefulset', 'web'), /Pods Status:\s+4 Running/);

    await k('apply', '-f', join(dir, 'ds.yaml'));
    assert.match(await k('rollout', 'status', 'daemonset/agent', '--timeout=90s'), /daemon set "agent" successfully rolled out/);
    const agents = await pods('agent');
    assert.deepEqual(agents.map((p) => p.spec.nodeName).sort(), ['node-0', 'node-1', 'node-2'], 'one per node, bound by the scheduler');
    assert.match(await k('get', 'ds'), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\nagent\s+3\s+3\s+3\s+3\s+3\s+<none>\s+/m);
    await k('set', 'image', 'daemonset/agent', 'agent=agent:2');
    assert.match(await k('rollout', 'status', 'daemonset/agent', '--timeout=120s'), /successfully rolled out/);
    assert.ok((await pods('agent')).every((p) => p.spec.containers[0]!.image === 'agent:2'));
    assert.match(await k('describe', 'daemonset', 'agent'), /Desired Number of Nodes Scheduled: 3/);
    const all = await k('get', 'all');
    assert.match(all, /statefulset\.apps\/web/);
    assert.match(all, /daemonset\.apps\/agent/);

    await k('delete', 'statefulset', 'web');
    await k('delete', 'daemonset', 'agent');
    await eventually('pods collected with their sets', async () => ((await pods('web')).length + (await pods('agent')).length === 0 ? true : undefined), 60_000);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
