import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../resources.js';
import type { KubeObject } from '../types/index.js';
import { columnDefinitions, tableRow } from './tables.js';

const NOW = Date.parse('2026-01-01T01:00:00Z');
const CREATED = '2026-01-01T00:00:00Z';

function row(resource: string, object: KubeObject, wide = false): Record<string, unknown> {
  const info = findResource('apps', 'v1', resource)!;
  const columns = columnDefinitions(info);
  const cells = tableRow(info, object, NOW, 'None').cells;
  return Object.fromEntries(columns.map((c, i) => [c.name, cells[i]] as const).filter(([name]) => wide || columns.find((c) => c.name === name)!.priority === 0));
}

describe('tables for kubectl get', () => {
  test('StatefulSet: NAME READY AGE, as Kubernetes prints them (CONTAINERS IMAGES wide)', () => {
    const sts = { metadata: { name: 'web', creationTimestamp: CREATED }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } } }, status: { readyReplicas: 2 } } as unknown as KubeObject;
    assert.deepEqual(row('statefulsets', sts), { Name: 'web', Ready: '2/3', Age: '60m' });
    assert.deepEqual(row('statefulsets', sts, true), { Name: 'web', Ready: '2/3', Age: '60m', Containers: 'nginx', Images: 'nginx:1.26' });
  });

  test('DaemonSet: NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE', () => {
    const ds = {
      metadata: { name: 'agent', creationTimestamp: CREATED },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { spec: { nodeSelector: { role: 'worker', disk: 'ssd' }, containers: [{ name: 'a', image: 'agent:1' }] } } },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 1, numberAvailable: 2 },
    } as unknown as KubeObject;
    assert.deepEqual(row('daemonsets', ds), { Name: 'agent', Desired: 3, Current: 3, Ready: 2, 'Up-to-date': 1, Available: 2, 'Node Selector': 'disk=ssd,role=worker', Age: '60m' });
  });

  test('ControllerRevision: NAME CONTROLLER REVISION AGE', () => {
    const revision = { metadata: { name: 'web-abc', creationTimestamp: CREATED, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] }, revision: 2 } as unknown as KubeObject;
    assert.deepEqual(row('controllerrevisions', revision), { Name: 'web-abc', Controller: 'statefulset.apps/web', Revision: 2, Age: '60m' });
    assert.equal(row('controllerrevisions', { metadata: { name: 'loose', creationTimestamp: CREATED }, revision: 1 } as unknown as KubeObject).Controller, '<none>');
  });
});
