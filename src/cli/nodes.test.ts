import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCluster } from '../cluster/start.js';
import { resolveClusterSpec } from '../cluster/spec.js';
import { runNodes, type NodesOptions } from './nodes.js';
import { eventually, httpGet } from '../cluster/testing.js';
import { KUBECTL, requireKubectl } from '../testing/tools.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

/** `kubethreads nodes` as a second process; resolves once it printed `ready` (every one of its nodes Ready). */
function startNodes(kubeconfig: string, args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'nodes', '--kubeconfig', kubeconfig, '--profile', 'fast', '--kubelet-port', '0', '--log-level', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubethreads nodes did not get ready in 30 s:\n${text}`)), 30_000);
    const check = () => {
      if (!/^ready$/m.test(text)) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve({ child, output: () => text });
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubethreads nodes exited with ${code} before it was ready:\n${text}`));
    });
  });
}

/** `eventually` with the timeout first, as this file reads best. */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> => eventually(what, probe, timeoutMs);

/** A real process per pod (the process runtime): an HTTP server on the pod's own loopback IP, behind a Service. */
const SERVER = "require('http').createServer((q, s) => s.end('hello from ' + process.env.POD_NAME)).listen(8080, process.env.POD_IP, () => console.log('listening on ' + process.env.POD_IP))";
const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: far}
spec:
  replicas: 2
  selector: {matchLabels: {app: far}}
  template:
    metadata: {labels: {app: far}}
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector: {kubethreads.io/node-pool: remote}
      containers:
      - name: app
        image: node
        args: ["-e", ${JSON.stringify(SERVER)}]
        env:
        - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: far}
spec:
  selector: {app: far}
  ports: [{port: 8080, targetPort: 8080}]
`;

describe('kubethreads nodes: bad input', () => {
  test('through the command: exit 1 and a message naming what is wrong', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [MAIN, 'nodes', '--kubeconfig', '/nonexistent/kubeconfig'], { timeout: 20_000 }, (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stderr }));
    });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^kubethreads: cannot read the kubeconfig \/nonexistent\/kubeconfig: ENOENT$/m);
  });

  test('a bad prefix, index range or runtime, an http:// server: refused before anything starts, saying what to change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubethreads-nodes-bad-'));
    try {
      const plain = join(dir, 'plain-http');
      writeFileSync(plain, 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:8080"}}]\ncontexts: [{name: c, context: {cluster: c}}]\n');
      const base: NodesOptions = { kubeconfig: plain, count: 1, prefix: 'ok', firstIndex: 1000, runtime: 'sim', allowProcesses: false, profile: 'fast', logLevel: 'silent', durationS: 1, intervalMs: 100, json: false, watchParent: false };
      const cases: Array<[Partial<NodesOptions>, RegExp]> = [
        [{ prefix: 'Bad_Name' }, /--prefix must be lower-case letters/],
        [{ firstIndex: 4999, count: 5 }, /--first-index 4999 with --count 5 leaves the 5000 node addresses/],
        [{ runtime: 'process' }, /--runtime process runs real commands: enable it explicitly with --allow-processes/],
        [{}, /not https:\/\/; nodes speak to the API server over HTTPS only/],
      ];
      for (const [change, pattern] of cases) await assert.rejects(runNodes({ ...base, ...change }), pattern);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kubethreads nodes: nodes in a second process, over HTTPS', { skip: requireKubectl() }, () => {
  test('its nodes run a Deployment\'s pods, serve their logs and route their Service beside a second process; killed, they go NotReady; SIGTERM exits 0 and leaves the Node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubethreads-nodes-'));
    const children: ChildProcess[] = [];
    // No in-process nodes: every pod must land on the other process's nodes.
    const spec = resolveClusterSpec({ port: 0, nodes: 0, profile: 'fast', dataDir: join(dir, 'data'), kubeconfigPath: join(dir, 'kubeconfig') });
    const cluster = await startCluster(spec, { logLevel: 'fatal' });
    const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
      execFile(KUBECTL, ['--kubeconfig', spec.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 }, (error, stdout, stderr) => (error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    });
    const readiness = async (selector: string) => {
      const out = await kubectl('get', 'nodes', '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}');
      return out.split('\n').filter((l) => l !== '').sort();
    };
    try {
      const remote = await startNodes(spec.kubeconfigPath, ['--count', '2', '--prefix', 'remote', '--first-index', '2000', '--runtime', 'process', '--allow-processes']);
      children.push(remote.child);
      assert.deepEqual(await readiness('kubethreads.io/node-pool=remote'), ['remote-0=True', 'remote-1=True']);

      writeFileSync(join(dir, 'far.yaml'), DEPLOYMENT);
      await kubectl('apply', '-f', join(dir, 'far.yaml'));
      const placed = await until('2 pods Running on the remote nodes', 30_000, async () => {
        const rows = (await kubectl('get', 'pods', '-l', 'app=far', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase}{"\\n"}{end}'))
          .split('\n').filter((l) => l !== '').map((l) => l.split(' '));
        return rows.length === 2 && rows.every((r) => r[2] === 'Running') ? rows : undefined;
      });
      assert.ok(placed.every((r) => r[1] === 'remote-0' || r[1] === 'remote-1'), JSON.stringify(placed));
      // The API server reads the log from the remote kubelet's HTTPS endpoint.
      assert.match(await until('the log of a pod', 10_000, async () => {
        const log = await kubectl('logs', placed[0]![0]!);
        return log.includes('listening') ? log : undefined;
      }), /^listening on 127\.\d+\.\d+\.\d+$/m);
      // No node of the API server's process: only the remote kube-proxy, fed Services and EndpointSlices
      // over HTTPS, can route the ClusterIP to a pod.
      const clusterIP = await kubectl('get', 'service', 'far', '-o', 'jsonpath={.spec.clusterIP}');
      const answer = await until('an answer through the Service', 20_000, async () => {
        const { status, body } = await httpGet(`http://${clusterIP}:8080/`);
        return status === 200 ? body : undefined;
      });
      assert.match(answer, /^hello from far-/);

      // A second process joins the same cluster beside the first.
      const polite = await startNodes(spec.kubeconfigPath, ['--count', '1', '--prefix', 'polite', '--first-index', '2100']);
      children.push(polite.child);
      assert.match(await kubectl('get', 'nodes'), /polite-0\s+Ready[\s\S]*remote-0\s+Ready[\s\S]*remote-1\s+Ready/);

      // The process dies without a word: its kubelets stop renewing their Leases, and after the grace period
      // (5 s in the fast profile) the node lifecycle controller marks the Nodes NotReady (Ready=Unknown).
      remote.child.kill('SIGKILL');
      let lastSeen: string[] = [];
      // Generous: on a loaded machine the controller-manager's monitor passes can lag the 5 s grace by many seconds.
      await until('the killed process\'s nodes NotReady', 90_000, async () => {
        lastSeen = await readiness('kubethreads.io/node-pool=remote');
        return lastSeen.join(',') === 'remote-0=Unknown,remote-1=Unknown' ? lastSeen : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}; last seen: ${lastSeen.join(', ')}`);
      });
      assert.match(await kubectl('get', 'nodes'), /remote-0\s+NotReady/);

      assert.deepEqual(await readiness('kubethreads.io/node-pool=polite'), ['polite-0=True'], 'the other process\'s node is untouched');

      const exitCode = await new Promise<number | null>((resolve) => {
        polite.child.once('exit', (code) => resolve(code));
        polite.child.kill('SIGTERM');
      });
      assert.equal(exitCode, 0, polite.output());
      assert.match(polite.output(), /nodes stopped/);
      assert.deepEqual(await readiness('kubethreads.io/node-pool=polite'), ['polite-0=True'], 'SIGTERM leaves the Node as it is; the grace period has not passed yet');
    } finally {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
