import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterStatus } from './start.js';
import { NAMED_MAX, actorKind, clusterStatusLine, formatClusterStatus } from './status-format.js';

/** A status as `kubethreads up --nodes N` reports it once settled. */
function clusterOf(nodes: number, tweak: (s: ClusterStatus) => void = () => undefined): ClusterStatus {
  const names = [
    'etcd-0', 'etcd-1', 'etcd-2', 'apiserver', 'scheduler-0', 'scheduler-1', 'controller-manager-0', 'controller-manager-1', 'cloud', 'cloud-controller-manager',
    ...Array.from({ length: nodes }, (_, i) => [`runtime-node-${i}`, `kubelet-node-${i}`, `kube-proxy-node-${i}`]).flat(),
  ];
  const status: ClusterStatus = {
    atMs: 0,
    threads: names.map((n) => ({ thread: n, actors: [n] })),
    actors: names.map((name) => ({ name, state: 'running', restarts: 0 })),
    etcd: [0, 1, 2].map((i) => ({
      name: `etcd-${i}`, id: i, role: i === 1 ? 'leader' : 'follower', term: 2, leader: 'etcd-1', commitIndex: 48, appliedIndex: 48, revision: 40, compactRevision: 0,
      firstIndex: 1, lastIndex: 48, durableLastIndex: 48, snapshotIndex: 0, watchers: 5, recoveredFrom: '',
    })) as ClusterStatus['etcd'],
    podsByPhase: { Running: 3 * nodes, Pending: 2 },
    nodes,
    nodesReady: nodes,
    leaders: { 'kube-scheduler': 'scheduler-0_1', 'kube-controller-manager': 'controller-manager-1_2', 'cloud-controller-manager': 'cloud-controller-manager_1' },
    schedulers: [{ name: 'scheduler-0', leader: true, scheduled: 9, pending: 0 }, { name: 'scheduler-1', leader: false, scheduled: 0, pending: 0 }],
  };
  tweak(status);
  return status;
}

const WIDTHS = [20, 40, 60, 80, 120, 160, 250];

function assertFits(lines: string[], width: number, what: string): void {
  for (const line of lines) assert.ok(line.length <= width, `${what} at width ${width}: ${JSON.stringify(line)} is ${line.length} long`);
}

test('every line fits the width, for 3 nodes and for 100, at widths from 20 to 250 columns', () => {
  for (const nodes of [0, 3, 100]) {
    for (const width of WIDTHS) {
      const lines = formatClusterStatus(clusterOf(nodes), width);
      assertFits(lines, width, `${nodes} nodes`);
      assert.equal(lines.length, 4, `${nodes} nodes at ${width}: no line per actor or per node`);
    }
  }
});

test('a settled cluster is summarised: counts per kind, the store\'s roles, leaders, nodes Ready, pods by phase', () => {
  assert.deepEqual(formatClusterStatus(clusterOf(100), 160), [
    'components: 310/310 running, 310 threads: etcd 3, apiserver 1, scheduler 2, controller-manager 2, cloud 1, cloud-controller-manager 1, runtime 100, +2 more',
    'etcd: etcd-1 leads, term 2; 2 followers',
    'leaders: scheduler-0, controller-manager-1, cloud-controller-manager',
    'nodes: 100 Ready, 0 NotReady; pods: Pending 2, Running 300',
  ]);
  assert.equal(formatClusterStatus(clusterOf(3), 80)[0], 'components: 19/19 running, 19 threads: etcd 3, apiserver 1, scheduler 2, +6 more');
  assert.equal(formatClusterStatus(clusterOf(3), 40)[0], 'components: 19/19 running, 19 threads');
});

test('only what is not running is named, the rest counted, and it still fits', () => {
  const broken = clusterOf(100, (s) => {
    for (const a of s.actors) if (a.name.startsWith('kubelet-node-1')) a.state = 'crashed';
    s.actors.find((a) => a.name === 'etcd-2')!.restarts = 3;
    s.etcd[2] = { name: 'etcd-2', down: true };
    s.etcd[0] = { ...(s.etcd[0] as Exclude<ClusterStatus['etcd'][number], { down: true }>), role: 'candidate' };
    s.nodesReady = 89;
  });
  for (const width of WIDTHS) assertFits(formatClusterStatus(broken, width), width, 'broken');
  const lines = formatClusterStatus(broken, 160);
  assert.match(lines[0]!, /^components: 299\/310 running/);
  assert.match(lines[1]!, /^  not running or restarted: etcd-2 running \(3 restarts\), kubelet-node-1 crashed, kubelet-node-10 crashed, .*\+\d+ more$/);
  assert.ok((lines[1]!.match(/crashed/g) ?? []).length <= NAMED_MAX);
  assert.equal(lines[2], 'etcd: etcd-1 leads, term 2; etcd-0 candidate, etcd-2 down');
  assert.equal(lines[4], 'nodes: 89 Ready, 11 NotReady; pods: Pending 2, Running 300');
});

test('an API server that does not answer and a store without a leader are said, not guessed', () => {
  const dark = clusterOf(3, (s) => {
    s.podsByPhase = undefined;
    s.nodes = undefined;
    s.nodesReady = undefined;
    s.leaders = undefined;
    s.etcd = s.etcd.map((e) => ({ name: e.name, down: true as const }));
  });
  const lines = formatClusterStatus(dark, 80);
  assert.equal(lines[1], 'etcd: no leader, term 0; etcd-0 down, etcd-1 down, etcd-2 down');
  assert.equal(lines[3], 'nodes: unknown; pods: unknown (apiserver not answering)');
  assertFits(formatClusterStatus(dark, 20), 20, 'dark');
});

test('the log line holds no figure that moves while nothing happens, so it is printed only on a change', () => {
  const a = clusterOf(3);
  const b = clusterOf(3, (s) => {
    s.atMs = 5_000;
    s.etcd = s.etcd.map((e) => ('down' in e ? e : { ...e, commitIndex: e.commitIndex + 100, revision: e.revision + 10 }));
  });
  assert.equal(clusterStatusLine(a), clusterStatusLine(b));
  assert.notEqual(clusterStatusLine(a), clusterStatusLine(clusterOf(3, (s) => (s.nodesReady = 2))));
});

test('actor names fold into their kind', () => {
  assert.deepEqual(['etcd-0', 'kubelet-node-12', 'kube-proxy-node-3', 'runtime-node-1-process', 'apiserver', 'cloud-controller-manager', 'controller-manager-1'].map(actorKind),
    ['etcd', 'kubelet', 'kube-proxy', 'runtime', 'apiserver', 'cloud-controller-manager', 'controller-manager']);
});
