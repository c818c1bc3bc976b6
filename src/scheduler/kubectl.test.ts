import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Event, List, Pod } from '../api/types/index.js';
import { startCluster } from '../cluster/start.js';
import { resolveClusterSpec } from '../cluster/spec.js';
import { KUBECTL, requireKubectl } from '../testing/tools.js';

const CLASSES = `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: { name: batch }
value: 100
description: work that may wait
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: { name: urgent }
value: 100000
`;

/** A pod asking for most of a node (kubelets report 4 cpu), with a short grace period so the victim leaves quickly. */
function pod(name: string, priorityClassName: string, cpu: string): string {
  return `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: ${name} } }
spec:
  priorityClassName: ${priorityClassName}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: nginx
    resources: { requests: { cpu: "${cpu}" } }
`;
}

describe('priority and preemption with the real kubectl', { skip: requireKubectl() }, () => {
  test('kubectl get pc lists the system classes; a high-priority pod preempts a low one on a full cluster and runs; pods spread by hostname; bad input refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubethreads-preemption-'));
    try {
      const spec = resolveClusterSpec({ port: 0, nodes: 2, profile: 'fast', kubeconfigPath: join(dir, 'kubeconfig') });
      const cluster = await startCluster(spec, { logLevel: 'fatal' });
      const k = (...args: string[]) => execFileSync(KUBECTL, ['--kubeconfig', spec.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const apply = (name: string, yaml: string) => {
        writeFileSync(join(dir, name), yaml);
        return k('apply', '-f', join(dir, name));
      };
      try {
        apply('classes.yaml', CLASSES);
        // The imperative generator posts protobuf.
        k('create', 'priorityclass', 'spare', '--value=5', '--preemption-policy=Never', '--description=never preempts');
        const table = k('get', 'pc');
        assert.match(table, /^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY\s*$/m, table);
        assert.match(table, /^system-node-critical\s+2000001000\s+false\s+\S+\s+PreemptLowerPriority$/m);
        assert.match(table, /^system-cluster-critical\s+2000000000\s+false\s+/m);
        assert.match(table, /^batch\s+100\s+false\s+/m);
        assert.match(table, /^spare\s+5\s+false\s+\S+\s+Never$/m);
        assert.equal(k('get', 'priorityclass', 'spare', '-o', 'jsonpath={.value} {.preemptionPolicy}'), '5 Never');

        apply('low.yaml', pod('low-0', 'batch', '3') + '---' + pod('low-1', 'batch', '3'));
        k('wait', '--for=condition=Ready', 'pod/low-0', 'pod/low-1', '--timeout=60s');
        assert.equal(k('get', 'pod', 'low-0', '-o', 'jsonpath={.spec.priority}'), '100');

        apply('high.yaml', pod('vip', 'urgent', '2'));
        k('wait', '--for=condition=Ready', 'pod/vip', '--timeout=60s');
        const pods = JSON.parse(k('get', 'pods', '-o', 'json')) as List<Pod>;
        const vip = pods.items.find((p) => p.metadata.name === 'vip')!;
        assert.equal(vip.status?.phase, 'Running');
        assert.equal(vip.spec?.priority, 100000);
        const lows = pods.items.filter((p) => p.metadata.name?.startsWith('low-'));
        assert.equal(lows.length, 1, `one low-priority pod was preempted: ${pods.items.map((p) => p.metadata.name).join(', ')}`);
        assert.notEqual(lows[0]!.spec?.nodeName, vip.spec?.nodeName, 'the survivor is on the other node');
        const events = JSON.parse(k('get', 'events', '-o', 'json')) as List<Event>;
        assert.ok(events.items.some((e) => e.reason === 'Preempted' && e.message === `Preempted by pod ${vip.metadata.uid} on node ${vip.spec?.nodeName}`),
          events.items.map((e) => `${e.reason}: ${e.message}`).join('\n'));
        assert.match(k('get', 'pod', 'vip', '-o', 'wide'), /vip\s+1\/1\s+Running/);

        // Spread by hostname: least-allocated alone would put all four on vip's node (2 of 4 cpu used, against 3).
        const spread = (name: string) => pod(name, 'batch', '100m').replace('  containers:', `  topologySpreadConstraints:
  - { maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { spread: "yes" } } }
  containers:`).replace(/labels: \{ app: (\S+) \}/, 'labels: { app: $1, spread: "yes" }');
        apply('spread.yaml', ['s-0', 's-1', 's-2', 's-3'].map(spread).join('---'));
        k('wait', '--for=condition=Ready', 'pod/s-0', 'pod/s-1', 'pod/s-2', 'pod/s-3', '--timeout=60s');
        const placed = (JSON.parse(k('get', 'pods', '-l', 'spread=yes', '-o', 'json')) as List<Pod>).items.map((p) => p.spec?.nodeName);
        assert.deepEqual([...new Set(placed)].length, 2, `two per node: ${placed.join(', ')}`);
        assert.equal(placed.filter((n) => n === vip.spec?.nodeName).length, 2);

        // Bad input: Kubernetes' refusals.
        writeFileSync(join(dir, 'bad.yaml'), spread('bad').replace('maxSkew: 1', 'maxSkew: 0'));
        assert.throws(() => k('apply', '-f', join(dir, 'bad.yaml')), /spec\.topologySpreadConstraints\[0\]\.maxSkew: Invalid value: 0: must be greater than zero/);
        writeFileSync(join(dir, 'lost.yaml'), pod('lost', 'nope', '100m'));
        assert.throws(() => k('apply', '-f', join(dir, 'lost.yaml')), /pods "lost" is forbidden: no PriorityClass with name nope was found/);
      } finally {
        await cluster.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
