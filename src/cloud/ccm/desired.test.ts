import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Node, Service } from '../../api/types/index.js';
import type { Instance, Route } from '../provider/types.js';
import {
  EXCLUDE_FROM_LB_LABEL, UNINITIALIZED_TAINT_KEY, ServiceSpecError, desiredRoutes, initializedNode, instanceIdFromProviderID, listenersFor, loadBalancerName, ownedByAnotherProvider, planRoutes, targetInstanceIds,
} from './desired.js';

const node = (name: string, extra: Partial<Node['spec']> = {}, labels: Record<string, string> = {}): Node => ({ metadata: { name, uid: `uid-${name}`, labels }, spec: { ...extra } });
const instance: Instance = {
  id: 'i-0000000a', name: 'n1', region: 'r', zone: 'r-a', instanceType: 't', providerID: 'kubethreads:///r-a/i-0000000a',
  addresses: [], state: 'running', stateReason: '', launchedAtMs: 0, tags: {},
};

describe('what the cloud controllers want', () => {
  test('providerIDs of this cloud name an instance; others do not', () => {
    assert.equal(instanceIdFromProviderID('kubethreads:///sim-region-1a/i-0000002a'), 'i-0000002a');
    assert.equal(instanceIdFromProviderID('aws:///us-east-1a/i-0000002a'), undefined);
    assert.equal(instanceIdFromProviderID('kubethreads:///i-0000002a'), undefined);
    assert.equal(instanceIdFromProviderID(undefined), undefined);
  });

  test('a node whose providerID names another provider is not this cloud\'s; one with none or ours is', () => {
    assert.equal(ownedByAnotherProvider(node('r', { providerID: 'kubethreads-nodes://remote/remote-0' })), true);
    assert.equal(ownedByAnotherProvider(node('a', { providerID: 'kubethreads:///z/i-00000001' })), false);
    assert.equal(ownedByAnotherProvider(node('b')), false, 'an uninitialized node may still be ours');
  });

  test('load balancer names come from the Service UID, 32 characters at most, like Kubernetes', () => {
    const svc: Service = { metadata: { name: 'web', namespace: 'default', uid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' } };
    assert.equal(loadBalancerName(svc), 'a0f1e2d3c4b5a69788796a5b4c3d2e1f');
    assert.throws(() => loadBalancerName({ metadata: { name: 'x' } }), /no uid/);
  });

  test('initialization sets providerID and topology labels, removes only the uninitialized taint, and refuses another instance', () => {
    const n = node('n1', { taints: [{ key: UNINITIALIZED_TAINT_KEY, effect: 'NoSchedule' }, { key: 'other', effect: 'NoExecute' }] });
    const done = initializedNode(n, instance);
    assert.equal(done.spec?.providerID, instance.providerID);
    assert.deepEqual(done.spec?.taints?.map((t) => t.key), ['other']);
    assert.equal(done.metadata.labels?.['topology.kubernetes.io/zone'], 'r-a');
    assert.throws(() => initializedNode(node('n1', { providerID: 'kubethreads:///r-b/i-0000000b' }), instance), /refusing/);
  });

  test('targets: initialized, live, not excluded nodes', () => {
    const nodes = [
      node('a', { providerID: 'kubethreads:///z/i-00000001' }),
      node('b', { providerID: 'kubethreads:///z/i-00000002', taints: [{ key: UNINITIALIZED_TAINT_KEY, effect: 'NoSchedule' }] }),
      node('c', { providerID: 'kubethreads:///z/i-00000003' }, { [EXCLUDE_FROM_LB_LABEL]: '' }),
      node('d', {}),
      { ...node('e', { providerID: 'kubethreads:///z/i-00000005' }), metadata: { name: 'e', deletionTimestamp: '2024-01-01T00:00:00Z' } },
    ];
    assert.deepEqual(targetInstanceIds(nodes), ['i-00000001']);
  });

  test('listeners: one per port to its NodePort, TCP only, NodePorts required', () => {
    const svc = (ports: NonNullable<Service['spec']>['ports']): Service => ({ metadata: { name: 's' }, spec: { type: 'LoadBalancer', ports } });
    assert.deepEqual(listenersFor(svc([{ port: 443, nodePort: 30443 }, { port: 80, nodePort: 30080 }])), [{ protocol: 'TCP', port: 80, targetPort: 30080 }, { protocol: 'TCP', port: 443, targetPort: 30443 }]);
    assert.throws(() => listenersFor(svc([{ port: 53, nodePort: 30053, protocol: 'UDP' }])), ServiceSpecError);
    assert.throws(() => listenersFor(svc([{ port: 80 }])), /no nodePort/);
  });

  test('route plan: create the missing, replace the wrong or blackholed, delete ours nobody wants, leave others alone', () => {
    const nodes = [node('a', { podCIDR: '10.0.0.0/24', providerID: 'kubethreads:///z/i-00000001' }), node('b', { podCIDR: '10.0.1.0/24', providerID: 'kubethreads:///z/i-00000002' }), node('c', { podCIDR: '10.0.2.0/24', providerID: 'kubethreads:///z/i-00000003' }), node('d', {})];
    const desired = desiredRoutes('k', nodes);
    assert.deepEqual(desired.map((d) => d.name), ['k-a', 'k-b', 'k-c']);
    const route = (name: string, cidr: string, target: string, state: Route['state'] = 'active'): Route => ({ name, destinationCidr: cidr, targetInstanceId: target, state, createdAtMs: 0 });
    const plan = planRoutes('k', desired, [route('k-a', '10.0.0.0/24', 'i-00000001'), route('k-b', '10.0.9.0/24', 'i-00000002'), route('k-c', '10.0.2.0/24', 'i-00000003', 'blackhole'), route('k-gone', '10.0.5.0/24', 'i-00000009'), route('other-x', '10.1.0.0/24', 'i-00000009')]);
    assert.deepEqual(plan.delete.sort(), ['k-b', 'k-c', 'k-gone']);
    assert.deepEqual(plan.create.map((c) => c.name), ['k-b', 'k-c']);
  });
});
