/**
 * The kubelet with the process runtime, on threads: a real `node -e` HTTP
 * server pod whose readiness probe passes, reached directly, through its
 * Service's ClusterIP and NodePort (kube-proxy's forwarder), with
 * `kubectl logs`, `-f` and `--previous` served by the kubelet through the
 * API server.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ThreadedSystem } from '../src/actor/index.js';
import { apiServer } from '../src/api/behaviour.js';
import type { ApiReply, ApiServerInfo, ApiServerMsg } from '../src/api/protocol.js';
import type { KubeObject, Pod, Service } from '../src/api/types/index.js';
import { timingFor } from '../src/cluster/spec.js';
import { spawnNode } from './node.js';
import { eventually, httpGet } from '../src/cluster/testing.js';

const KUBECTL = '/usr/bin/kubectl';

// Answers with its pod name; /exit ends the process with code 3 (a crash the kubelet must restart).
const SERVER = `
const http = require('http');
console.log('listening on ' + process.env.POD_IP + ':8080 as ' + process.env.POD_NAME);
http.createServer((req, res) => {
  if (req.url === '/exit') { console.log('asked to exit'); res.end('bye'); setTimeout(() => process.exit(3), 50); return; }
  res.end('hello from ' + process.env.POD_NAME);
}).listen(8080, process.env.POD_IP);
`;

describe('kubelet with the process runtime (threads, real processes)', { skip: existsSync(KUBECTL) ? false : `kubectl is not at ${KUBECTL}` }, () => {
  test('a node -e HTTP server pod becomes Ready, serves through ClusterIP and NodePort, and kubectl logs / -f / --previous work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubelet-process-'));
    const system = new ThreadedSystem({ dataDir: join(dir, 'data'), logLevel: 'fatal' });
    try {
      await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: { port: 0 } } });
      const api = system.ref<ApiServerMsg>('apiserver');
      const info = await api.ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 30_000 });
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, info.kubeconfig!);
      const kubectl = (...args: string[]) => execFileSync(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', timeout: 20_000 });
      await spawnNode(system, { index: 0, runtime: 'process', allowProcesses: true, timing: timingFor('fast'), dataDir: join(dir, 'data') });
      const ask = <T = KubeObject>(msg: ApiServerMsg) => api.ask<ApiReply<T>>(msg, { timeoutMs: 10_000 });
      const core = { group: '', version: 'v1', namespace: 'default' };

      const created = await ask<Pod>({
        type: 'api.create',
        body: {
          ...core, resource: 'pods',
          object: {
            metadata: { name: 'web', labels: { app: 'web' } },
            spec: {
              nodeName: 'node-0',
              containers: [{
                name: 'web', image: 'node', command: ['sh', '-c', `echo starting; exec node -e "$SERVER"`],
                env: [{ name: 'SERVER', value: SERVER }],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
              }],
            },
          },
        },
      });
      assert.ok(created.ok, JSON.stringify(created));

      const ready = await eventually('the pod is Ready', async () => {
        const p = await ask<Pod>({ type: 'api.get', body: { ...core, resource: 'pods', name: 'web' } });
        return p.ok && p.body.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.body : undefined;
      });
      const podIP = ready.status!.podIP!;
      assert.match(podIP, /^127\.10\.0\.\d+$/);
      assert.equal(ready.status?.phase, 'Running');
      assert.equal((await httpGet(`http://${podIP}:8080/`)).body, 'hello from web');

      // A Service and its EndpointSlice, what kube-proxy reads (written by hand: no endpoints controller runs here).
      const svc = await ask<Service>({ type: 'api.create', body: { ...core, resource: 'services', object: { metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } } });
      assert.ok(svc.ok, JSON.stringify(svc));
      const eps = await ask({ type: 'api.create', body: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'default', object: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-0', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: [podIP], conditions: { ready: true }, nodeName: 'node-0', targetRef: { kind: 'Pod', name: 'web', namespace: 'default' } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] } } });
      assert.ok(eps.ok, JSON.stringify(eps));
      const clusterIP = svc.body.spec!.clusterIP!;
      const nodePort = svc.body.spec!.ports![0]!.nodePort!;
      assert.equal((await eventually('the ClusterIP answers', () => httpGet(`http://${clusterIP}:80/`).catch(() => undefined))).body, 'hello from web');
      assert.equal((await eventually('the NodePort answers', () => httpGet(`http://127.0.0.1:${nodePort}/`).catch(() => undefined))).body, 'hello from web');

      const logs = kubectl('logs', 'web');
      assert.match(logs, /^starting\nlistening on 127\.10\.0\.\d+:8080 as web\n/);

      // Follow: kubectl logs -f ends when the container does (after /exit).
      const follow = new Promise<string>((resolve, reject) => {
        execFile(KUBECTL, ['--kubeconfig', kubeconfig, 'logs', '-f', 'web'], { encoding: 'utf8', timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
      });
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal((await httpGet(`http://${podIP}:8080/exit`)).body, 'bye');
      assert.match(await follow, /listening on[\s\S]*asked to exit\n$/);

      const restarted = await eventually('the kubelet restarts the container', async () => {
        const p = await ask<Pod>({ type: 'api.get', body: { ...core, resource: 'pods', name: 'web' } });
        const cs = p.ok ? p.body.status?.containerStatuses?.[0] : undefined;
        return cs?.restartCount === 1 && cs.ready ? cs : undefined;
      });
      assert.equal(restarted.lastState?.terminated?.exitCode, 3);
      assert.match(kubectl('logs', 'web', '--previous'), /asked to exit/);
      assert.doesNotMatch(kubectl('logs', 'web'), /asked to exit/, 'the current instance has a log of its own');
      assert.equal((await httpGet(`http://${clusterIP}:80/`)).body, 'hello from web');
    } finally {
      await system.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
