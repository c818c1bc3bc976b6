import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, DaemonSet, EndpointSlice, Endpoints, Event, Node, Pod, Service, StatefulSet, Taint } from '../api/types/index.js';
import type { ApiTarget } from '../api/protocol.js';
import { formatTime } from './common.js';
import { targetNodeName } from './daemonset-util.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './history.js';
import { POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL } from './statefulset-control.js';
import { EVENT, NS, POD, assertNoOverlap, cluster, target } from './test-harness.js';

const STS = target('apps', 'statefulsets');
const DS = target('apps', 'daemonsets');
const REVISIONS = target('apps', 'controllerrevisions');
const SVC = target('', 'services');
const EP = target('', 'endpoints');
const SLICES: ApiTarget = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: NS };
const NODES: ApiTarget = { group: '', version: 'v1', resource: 'nodes' };

function statefulSet(name: string, replicas: number, image: string, extra: Partial<NonNullable<StatefulSet['spec']>> = {}): StatefulSet {
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas, serviceName: name, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
      ...extra,
    },
  };
}

const names = (pods: Pod[]) => pods.map((p) => p.metadata.name!).sort();
const imageOf = (p: Pod) => p.spec?.containers[0]?.image;

describe('StatefulSet in the simulated runtime against the real apiserver', () => {
  test('OrderedReady: members come up one by one as web-0..2, each after the one before is Ready; scale down goes from the highest ordinal; a deleted member comes back under its name', async () => {
    const h = await cluster(201);
    try {
      await h.create(SVC, { metadata: { name: 'web', namespace: NS }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } } as Service);
      await h.create(STS, statefulSet('web', 3, 'nginx:1.26'));
      // Every observed state must be a prefix of the ordinals with at most its last member not Ready.
      const checkPrefix = (pods: Pod[]) => {
        const ordinals = pods.map((p) => Number(p.metadata.labels?.[POD_INDEX_LABEL])).sort((a, b) => a - b);
        assert.deepEqual(ordinals, ordinals.map((_, i) => i), `not a prefix of the ordinals: ${names(pods).join(',')}`);
        const notReady = pods.filter((p) => p.status?.phase !== 'Running').map((p) => Number(p.metadata.labels?.[POD_INDEX_LABEL]));
        assert.ok(notReady.length <= 1 && notReady.every((n) => n === ordinals.length - 1), `a member was created before the one below it was ready: ${JSON.stringify(pods.map((p) => [p.metadata.name, p.status?.phase]))}`);
      };
      let seen = 0;
      await h.until('3 ready members', async () => {
        const pods = await h.activePods();
        checkPrefix(pods);
        seen = Math.max(seen, pods.length);
        const set = await h.get<StatefulSet>(STS, 'web');
        return set.status?.readyReplicas === 3 && set.status.availableReplicas === 3;
      });
      assert.equal(seen, 3);
      const pods = await h.activePods();
      assert.deepEqual(names(pods), ['web-0', 'web-1', 'web-2']);
      const set = await h.get<StatefulSet>(STS, 'web');
      for (const pod of pods) {
        assert.equal(pod.metadata.labels?.[STATEFULSET_POD_NAME_LABEL], pod.metadata.name);
        assert.equal(pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], set.status?.updateRevision);
        assert.equal(pod.spec?.hostname, pod.metadata.name, 'hostname is the pod name');
        assert.equal(pod.spec?.subdomain, 'web', 'subdomain is the serviceName');
        assert.deepEqual(pod.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['StatefulSet', 'web', true]]);
      }
      assert.deepEqual(
        [set.status?.replicas, set.status?.currentReplicas, set.status?.updatedReplicas, set.status?.observedGeneration, set.status?.currentRevision === set.status?.updateRevision],
        [3, 3, 3, set.metadata.generation, true],
      );

      // The headless Service's endpoints name each member.
      await h.until('endpoints with hostnames', async () => {
        const ep = await h.get<Endpoints>(EP, 'web').catch(() => undefined);
        const hostnames = (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.hostname));
        return hostnames.sort().join(',') === 'web-0,web-1,web-2' && ep?.metadata.labels?.['service.kubernetes.io/headless'] === '';
      });
      await h.until('slices with hostnames', async () => {
        const slices = await h.list<EndpointSlice>(SLICES, 'kubernetes.io/service-name=web');
        const hostnames = slices.flatMap((sl) => (sl.endpoints ?? []).map((e) => e.hostname));
        return hostnames.sort().join(',') === 'web-0,web-1,web-2' && slices.every((sl) => sl.metadata.labels?.['service.kubernetes.io/headless'] === '');
      });

      // A deleted member comes back under its own name (a new pod, the same identity).
      const victim = pods.find((p) => p.metadata.name === 'web-1')!;
      await h.delete(POD, 'web-1');
      await h.until('web-1 recreated', async () => {
        const again = (await h.activePods()).find((p) => p.metadata.name === 'web-1');
        return again !== undefined && again.metadata.uid !== victim.metadata.uid && again.status?.phase === 'Running';
      });

      // Scale down to 1: web-2 goes before web-1, and only once web-2 is gone.
      await h.patch(STS, 'web', { spec: { replicas: 1 } });
      await h.until('scaled down to web-0', async () => {
        const now = await h.activePods();
        checkPrefix(now);
        return names(now).join(',') === 'web-0' && (await h.get<StatefulSet>(STS, 'web')).status?.replicas === 1;
      });
      const events = (await h.list<Event>(EVENT)).filter((e) => e.involvedObject.kind === 'StatefulSet').map((e) => e.message);
      assert.ok(events.includes('create Pod web-0 in StatefulSet web successful'), events.join('\n'));
      const deletes = events.filter((m) => m?.startsWith('delete Pod'));
      assert.deepEqual(deletes, ['delete Pod web-2 in StatefulSet web successful', 'delete Pod web-1 in StatefulSet web successful']);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('RollingUpdate with a partition updates only ordinals at or above it, highest first; partition 0 finishes it; undo through the revision renumbers it; deleting the set takes its pods and revisions', async () => {
    const h = await cluster(202);
    try {
      await h.create(STS, statefulSet('web', 3, 'nginx:1.26', { podManagementPolicy: 'Parallel', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }));
      await h.until('3 ready', async () => (await h.get<StatefulSet>(STS, 'web')).status?.readyReplicas === 3);
      const first = (await h.get<StatefulSet>(STS, 'web')).status!.updateRevision!;
      await h.patch(STS, 'web', { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } } });
      const order: string[] = [];
      await h.until('ordinals 1 and 2 updated', async () => {
        const pods = await h.activePods();
        for (const p of pods) if (imageOf(p) === 'nginx:1.27' && !order.includes(p.metadata.name!)) order.push(p.metadata.name!);
        const set = await h.get<StatefulSet>(STS, 'web');
        return set.status?.updatedReplicas === 2 && set.status.readyReplicas === 3;
      });
      assert.deepEqual(order, ['web-2', 'web-1'], 'highest ordinal first');
      const partitioned = await h.get<StatefulSet>(STS, 'web');
      assert.equal(imageOf((await h.activePods()).find((p) => p.metadata.name === 'web-0')!), 'nginx:1.26', 'below the partition: untouched');
      assert.equal(partitioned.status?.currentRevision, first, 'the update is not finished: the current revision stays');
      assert.notEqual(partitioned.status?.updateRevision, first);

      await h.patch(STS, 'web', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
      await h.until('all updated and the update revision current', async () => {
        const set = await h.get<StatefulSet>(STS, 'web');
        return set.status?.updatedReplicas === 3 && set.status.currentRevision === set.status.updateRevision && set.status.readyReplicas === 3;
      });
      const revisions = await h.list<ControllerRevision>(REVISIONS);
      assert.deepEqual(revisions.map((r) => r.revision).sort(), [1, 2]);

      // What kubectl rollout undo does: send revision 1's data back as a strategic merge patch.
      const previous = revisions.find((r) => r.revision === 1)!;
      await h.ask({ type: 'api.patch', body: { ...STS, name: 'web', patchType: 'strategic', patch: previous.data } });
      await h.until('undone', async () => {
        const set = await h.get<StatefulSet>(STS, 'web');
        const pods = await h.activePods();
        return set.status?.updateRevision === first && set.status.currentRevision === first && pods.length === 3 && pods.every((p) => imageOf(p) === 'nginx:1.26');
      });
      const after = await h.list<ControllerRevision>(REVISIONS);
      assert.deepEqual(after.map((r) => [r.metadata.name === first, r.revision]).sort(), [[false, 2], [true, 3]], 'the old revision is renumbered, not copied');

      await h.delete(STS, 'web');
      await h.until('pods and revisions collected', async () => (await h.activePods()).length === 0 && (await h.list<ControllerRevision>(REVISIONS)).length === 0);
    } finally {
      await h.sim.shutdown();
    }
  });

  test('the controller-manager leader killed in the middle of an OrderedReady scale-up: the standby continues in order, each member is created once, and the two never act at once', async () => {
    const h = await cluster(204);
    try {
      await h.create(STS, statefulSet('web', 6, 'nginx:1.26'));
      await h.until('two members up', async () => (await h.activePods()).length >= 2);
      const leader = (await h.records()).find((r) => r.what === 'started')!.actor;
      const killedAtMs = h.sim.now();
      await h.sim.faults.kill(leader);
      await h.until('6 ready members under the new leader', async () => {
        const pods = await h.activePods();
        const ordinals = pods.map((p) => Number(p.metadata.labels?.[POD_INDEX_LABEL])).sort((a, b) => a - b);
        assert.deepEqual(ordinals, ordinals.map((_, i) => i), `not a prefix of the ordinals: ${names(pods).join(',')}`);
        return (await h.get<StatefulSet>(STS, 'web')).status?.readyReplicas === 6;
      }, 60_000);
      const records = await h.records();
      assert.ok(records.some((r) => r.what === 'started' && r.atMs > killedAtMs), 'a replica took over');
      assertNoOverlap(records);
      const creates = (await h.list<Event>(EVENT)).filter((e) => e.reason === 'SuccessfulCreate' && e.involvedObject.kind === 'StatefulSet').map((e) => e.message).sort();
      assert.deepEqual(creates, [0, 1, 2, 3, 4, 5].map((n) => `create Pod web-${n} in StatefulSet web successful`), 'every member created exactly once');
    } finally {
      await h.sim.shutdown();
    }
  });
});

describe('DaemonSet in the simulated runtime against the real apiserver', () => {
  test('one pod per eligible node (nodeSelector, taints), a new node gets one, a removed node\'s pod goes, a rolling update keeps at most maxUnavailable nodes without a ready pod, and with maxSurge none', async () => {
    const h = await cluster(203, { app: 'agent' });
    try {
      const node = (name: string, labels: Record<string, string>, taints: Taint[] = []): Node => ({
        metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: { taints },
      });
      // No kubelets here: the test posts each node's heartbeat so the node lifecycle controller keeps them Ready.
      const heartbeat = async () => {
        for (const n of await h.list<Node>(NODES)) {
          const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: formatTime(h.sim.now()), lastTransitionTime: formatTime(0) }] };
          await h.ask({ type: 'api.patch', body: { ...NODES, name: n.metadata.name!, patchType: 'merge', patch: { status }, subresource: 'status' } });
        }
      };
      const until = (what: string, check: () => Promise<boolean>) => h.until(what, async () => {
        await heartbeat();
        return check();
      });
      for (const n of [node('a', { role: 'worker' }), node('b', { role: 'worker' }), node('c', { role: 'worker' }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), node('m', {})]) {
        await h.create(NODES, n);
      }
      await heartbeat();
      const ds: DaemonSet = {
        metadata: { name: 'agent', namespace: NS },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: { metadata: { labels: { app: 'agent' } }, spec: { nodeSelector: { role: 'worker' }, containers: [{ name: 'main', image: 'agent:1' }] } },
        },
      };
      await h.create(DS, ds);
      const placement = async () => (await h.activePods('agent')).map((p) => targetNodeName(p)).sort().join(',');
      await until('pods on a and b', async () => (await placement()) === 'a,b' && (await h.get<DaemonSet>(DS, 'agent')).status?.numberReady === 2);
      const status = (await h.get<DaemonSet>(DS, 'agent')).status!;
      assert.deepEqual([status.desiredNumberScheduled, status.currentNumberScheduled, status.numberReady, status.updatedNumberScheduled, status.numberAvailable, status.numberMisscheduled],
        [2, 2, 2, 2, 2, 0], 'c is tainted, m is not a worker');

      await h.create(NODES, node('d', { role: 'worker' }));
      await until('the new node gets one', async () => (await placement()) === 'a,b,d');
      await h.delete(NODES, 'a');
      await until('the removed node\'s pod goes', async () => (await placement()) === 'b,d');
      await until('status follows', async () => (await h.get<DaemonSet>(DS, 'agent')).status?.numberAvailable === 2);
      await h.create(NODES, node('e', { role: 'worker' }));
      await until('3 nodes, 3 ready pods', async () => (await h.get<DaemonSet>(DS, 'agent')).status?.numberReady === 3);

      const before = (await h.states()).length;
      await h.patch(DS, 'agent', { spec: { template: { spec: { containers: [{ name: 'main', image: 'agent:2' }] } } } });
      await until('rolled out', async () => {
        const s = (await h.get<DaemonSet>(DS, 'agent')).status;
        const pods = await h.activePods('agent');
        return s?.updatedNumberScheduled === 3 && s.numberAvailable === 3 && pods.length === 3 && pods.every((p) => imageOf(p) === 'agent:2');
      });
      const during = (await h.states()).slice(before);
      assert.ok(during.length > 5, `observed ${during.length} states`);
      for (const s of during) assert.ok(s.ready >= 2, `more than maxUnavailable (1) nodes without a ready daemon: ${JSON.stringify(s)}`);
      assert.ok(during.some((s) => s.images['agent:1'] && s.images['agent:2']), 'node by node, not all at once');
      assert.equal((await h.list<ControllerRevision>(REVISIONS)).length, 2);

      // maxSurge 1: the new daemon starts beside the old one, so no node is ever without a ready daemon.
      const beforeSurge = (await h.states()).length;
      await h.patch(DS, 'agent', { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }, template: { spec: { containers: [{ name: 'main', image: 'agent:3' }] } } } });
      await until('surged rollout', async () => {
        const s = (await h.get<DaemonSet>(DS, 'agent')).status;
        const pods = await h.activePods('agent');
        return s?.updatedNumberScheduled === 3 && s.numberAvailable === 3 && pods.length === 3 && pods.every((p) => imageOf(p) === 'agent:3');
      });
      const surged = (await h.states()).slice(beforeSurge);
      for (const s of surged) {
        assert.ok(s.ready >= 3, `a node lost its ready daemon during a surge: ${JSON.stringify(s)}`);
        assert.ok(s.total <= 4, `more than desired + maxSurge daemons: ${JSON.stringify(s)}`);
      }
      assert.ok(surged.some((s) => s.total === 4), 'a surge happened');

      await h.delete(DS, 'agent');
      await until('pods collected', async () => (await h.activePods('agent')).length === 0);
    } finally {
      await h.sim.shutdown();
    }
  });
});
