/**
 * The whole cluster, end to end, with real processes (issue 8 §4): three
 * threaded nodes running the process runtime, a Deployment applied with the
 * real kubectl, a NodePort Service, then three failures — a container's
 * process killed, a pod deleted, a whole node killed — each followed by what
 * Kubernetes promises: the Service keeps answering and the cluster repairs
 * itself (restart, replacement, NotReady + eviction + rescheduling).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { requireKubectl, KUBECTL } from '../testing/tools.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { stringify as stringifyYaml } from 'yaml';
import { startCluster } from './start.js';
import { resolveClusterSpec } from './spec.js';
import { eventually, httpGet, processExited } from './testing.js';

/** Requests per check: with round robin over three endpoints, enough to see every pod several times. */
const REQUESTS_PER_CHECK = 30;

/** Sends `count` requests one after another; returns the pod names that answered, by count, and the failures. */
async function spray(url: string, count = REQUESTS_PER_CHECK): Promise<{ byPod: Map<string, number>; failures: string[] }> {
  const byPod = new Map<string, number>();
  const failures: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const { status, body } = await httpGet(url);
      const m = /^hello from (\S+)$/.exec(body);
      if (status !== 200 || m === null) failures.push(`${status} ${body}`);
      else byPod.set(m[1]!, (byPod.get(m[1]!) ?? 0) + 1);
    } catch (error) {
      failures.push(String(error));
    }
  }
  return { byPod, failures };
}

// Answers with its pod name, read from the downward API (MY_POD_NAME); /mark logs its query, so a log can be told from another.
const SERVER = `
const http = require('http');
const name = process.env.MY_POD_NAME;
console.log('listening on ' + process.env.POD_IP + ':8080 as ' + name);
http.createServer((req, res) => {
  if (req.url.startsWith('/mark')) console.log('mark ' + req.url.slice(6));
  res.end('hello from ' + name);
}).listen(8080, process.env.POD_IP);
`;

// Two documents of one YAML stream. Not a `kind: List`: kubectl's client-side validation of a List fails against our OpenAPI.
const MANIFEST = [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'hello' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'hello' } },
      template: {
        metadata: { labels: { app: 'hello' } },
        spec: {
          terminationGracePeriodSeconds: 2,
          // Evicted 10 s (1 s in the fast profile) after its node is lost, not the 300 s default.
          tolerations: ['unreachable', 'not-ready'].map((t) => ({ key: `node.kubernetes.io/${t}`, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 })),
          containers: [{
            name: 'hello', image: 'node',
            command: ['sh', '-c', 'echo starting; exec node -e "$SERVER"'],
            env: [{ name: 'SERVER', value: SERVER }, { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
          }],
        },
      },
    },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hello' }, spec: { type: 'NodePort', selector: { app: 'hello' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
];

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string; podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ containerID?: string; restartCount: number; ready: boolean; lastState?: { terminated?: { exitCode: number } } }>;
  };
}

const isReady = (p: PodJson) => p.metadata.deletionTimestamp === undefined && p.status.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The pid of the container's own `node` process: in the process group the runtime recorded for the container, named `node`. */
function serverPid(dataDir: string, nodeName: string, containerID: string): number {
  const id = containerID.split('://')[1]!;
  const record = JSON.parse(readFileSync(join(dataDir, 'nodes', nodeName, 'process', 'pids', `${id}.json`), 'utf8')) as { pgid: number };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (comm === 'node' && pgrp === record.pgid) return Number(entry);
  }
  assert.fail(`no node process in group ${record.pgid} of container ${containerID}`);
}

describe('the whole cluster with real processes', { skip: requireKubectl() }, () => {
  test('a Deployment behind a NodePort Service survives a killed process, a deleted pod and a lost node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubethreads-e2e-process-'));
    const dataDir = join(dir, 'data');
    const spec = resolveClusterSpec({ port: 0, nodes: 3, runtime: 'process', allowProcesses: true, profile: 'fast', dataDir, kubeconfigPath: join(dir, 'kubeconfig') });
    const cluster = await startCluster(spec, { logLevel: 'fatal' });
    try {
      const k = (...args: string[]) => execFileSync(KUBECTL, ['--kubeconfig', spec.kubeconfigPath, ...args], { encoding: 'utf8', timeout: 20_000 });
      const pods = () => (JSON.parse(k('get', 'pods', '-l', 'app=hello', '-o', 'json')) as { items: PodJson[] }).items;
      const readyAddresses = () => {
        const eps = JSON.parse(k('get', 'endpoints', 'hello', '-o', 'json')) as { subsets?: Array<{ addresses?: Array<{ ip: string }> }> };
        return (eps.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
      };
      const manifest = join(dir, 'hello.yaml');
      writeFileSync(manifest, MANIFEST.map((doc) => stringifyYaml(doc)).join('---\n'));

      // 1. Three replicas, Ready by their probe, spread over the nodes; every one answers through the ClusterIP and the NodePort.
      assert.match(k('apply', '-f', manifest), /deployment.apps\/hello created[\s\S]*service\/hello created/);
      assert.match(k('rollout', 'status', 'deploy/hello', '--timeout=40s'), /successfully rolled out/);
      const first = pods().filter(isReady);
      assert.equal(first.length, 3, JSON.stringify(pods().map((p) => [p.metadata.name, p.spec.nodeName, p.status.phase])));
      assert.equal(new Set(first.map((p) => p.spec.nodeName)).size, 3, 'one replica per node');
      const names = first.map((p) => p.metadata.name).sort();
      await eventually('the Endpoints list the three pods as ready', () => (readyAddresses().length === 3 ? true : undefined));
      const svc = JSON.parse(k('get', 'service', 'hello', '-o', 'json')) as { spec: { clusterIP: string; ports: Array<{ nodePort: number }> } };
      const clusterUrl = `http://${svc.spec.clusterIP}:80/`;
      const nodePortUrl = `http://127.0.0.1:${svc.spec.ports[0]!.nodePort}/`;
      for (const url of [clusterUrl, nodePortUrl]) {
        const seen = await eventually(`all three pods answer at ${url}`, async () => {
          const { byPod, failures } = await spray(url);
          return failures.length === 0 && byPod.size === 3 ? byPod : undefined;
        });
        assert.deepEqual([...seen.keys()].sort(), names);
      }

      // 2. Kill one pod's server process: the others keep answering; the kubelet restarts it; --previous shows the old log.
      const victim = first[0]!;
      const victimName = victim.metadata.name;
      assert.equal((await httpGet(`http://${victim.status.podIP}:8080/mark?old-instance`)).body, `hello from ${victimName}`);
      const pid = serverPid(dataDir, victim.spec.nodeName!, victim.status.containerStatuses![0]!.containerID!);
      process.kill(pid, 'SIGKILL');
      // What is promised, here as in Kubernetes: a connection opened once the process has exited reaches a live pod
      // (the forwarder steps over the refused endpoint; kube-proxy's iptables rules would not even do that before
      // the Endpoints change). A connection the dying process already accepted is cut, here as anywhere: so send
      // only once every thread of it is gone, which is later than its main thread turning zombie (see processExited).
      await eventually('the killed process has exited, every thread of it', () => (processExited(pid) ? true : undefined), 5_000);
      const during = await spray(clusterUrl);
      assert.deepEqual(during.failures, [], 'requests keep succeeding while one of three pods is down');
      // Seen once in 17 runs on a machine at load 7 on 2 cores: not within 30 s, cause unknown; the failure now says what it last saw.
      let lastStatus = '';
      const restarted = await eventually('the kubelet restarts the killed container', () => {
        const cs = pods().find((p) => p.metadata.name === victimName)?.status.containerStatuses?.[0];
        lastStatus = JSON.stringify(cs);
        return cs?.restartCount === 1 && cs.ready ? cs : undefined;
      }).catch((e: Error) => assert.fail(`${e.message}; last container status: ${lastStatus}; during the burst: ${JSON.stringify([...during.byPod])}`));
      assert.equal(restarted.lastState?.terminated?.exitCode, 137, 'SIGKILL');
      assert.match(k('logs', victimName, '--previous'), new RegExp(`listening on .* as ${victimName}\\nmark old-instance\\n`));
      assert.doesNotMatch(k('logs', victimName), /old-instance/, 'the new instance has its own log');

      // 3. Delete a pod: the ReplicaSet replaces it, and the new pod joins the endpoints once Ready.
      const deleted = first[1]!.metadata.name;
      k('delete', 'pod', deleted);
      const replacement = await eventually('the ReplicaSet replaces the deleted pod with a Ready one', () => {
        const now = pods();
        const fresh = now.filter((p) => isReady(p) && !names.includes(p.metadata.name));
        return fresh.length === 1 && now.filter(isReady).length === 3 && !now.some((p) => p.metadata.name === deleted) ? fresh[0] : undefined;
      });
      await eventually('the new pod is in the endpoints', () => (readyAddresses().includes(replacement.status.podIP!) && readyAddresses().length === 3 ? true : undefined));
      await eventually('the new pod answers through the Service', async () => ((await spray(clusterUrl)).byPod.has(replacement.metadata.name) ? true : undefined));

      // 4. Lose a whole node (its kubelet, kube-proxy and runtime, kept down): NotReady after the grace period, pods recreated elsewhere, the Service answering.
      const lostNode = pods().find((p) => p.metadata.name === victimName)!.spec.nodeName!;
      const lostIndex = lostNode.replace('node-', '');
      for (const actor of [`kubelet-${lostNode}`, `kube-proxy-${lostNode}`, `runtime-${lostNode}`]) {
        await cluster.system.faults.kill(actor);
        await cluster.system.stop(actor);
      }
      assert.ok(cluster.system.lookup(`kubelet-${lostNode}`) === undefined, 'the kubelet stays down');
      let lastConditions = '';
      await eventually(`${lostNode} goes NotReady`, () => {
        const node = JSON.parse(k('get', 'node', lostNode, '-o', 'json')) as { status: { conditions: Array<{ type: string; status: string }> } };
        lastConditions = JSON.stringify(node.status.conditions) + k('get', 'lease', '-n', 'kube-node-lease', lostNode, '-o', 'jsonpath={.spec.renewTime}');
        return node.status.conditions.find((c) => c.type === 'Ready')?.status === 'Unknown' ? true : undefined;
      }, 20_000).catch((e: Error) => assert.fail(`${e.message}; last seen: ${lastConditions}; now ${new Date().toISOString()}`));
      const moved = await eventually('three Ready replicas, none on the lost node', () => {
        const ready = pods().filter(isReady);
        return ready.length === 3 && ready.every((p) => p.spec.nodeName !== lostNode) ? ready : undefined;
      }, 20_000);
      assert.ok(!moved.some((p) => p.metadata.name === victimName), 'the lost node\'s pod was recreated, not kept');
      await eventually('the Endpoints list only the live pods', () => (readyAddresses().join() === moved.map((p) => p.status.podIP!).sort().join() ? true : undefined));
      for (const url of [clusterUrl, nodePortUrl]) {
        const after = await eventually(`the Service answers at ${url} from the three live pods`, async () => {
          const { byPod, failures } = await spray(url);
          return failures.length === 0 && byPod.size === 3 ? byPod : undefined;
        });
        assert.deepEqual([...after.keys()].sort(), moved.map((p) => p.metadata.name).sort());
      }
      assert.match(k('get', 'nodes'), new RegExp(`node-${lostIndex} +NotReady`));
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
