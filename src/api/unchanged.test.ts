import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameButVersionAndManagedFields } from './unchanged.js';

/** The definition it replaces: both objects' JSON with the two metadata fields blanked. */
function byJson(next: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  const comparable = (o: Record<string, unknown>) => JSON.stringify({ ...o, metadata: { ...(o.metadata as object), resourceVersion: undefined, managedFields: undefined } });
  return comparable(next) === comparable(stored);
}

const pod = () => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'p', namespace: 'd', resourceVersion: '7', labels: { app: 'a' }, managedFields: [{ manager: 'kubelet' }] },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
  status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
});

const cases: { name: string; change: (o: ReturnType<typeof pod>) => Record<string, unknown>; same: boolean }[] = [
  { name: 'nothing changed', change: (o) => o, same: true },
  { name: 'another resourceVersion', change: (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '9' } }), same: true },
  { name: 'other managed fields', change: (o) => ({ ...o, metadata: { ...o.metadata, managedFields: [] } }), same: true },
  { name: 'no resourceVersion at all', change: (o) => { const { resourceVersion: _rv, ...metadata } = o.metadata; return { ...o, metadata }; }, same: true },
  { name: 'a key holding undefined is absent', change: (o) => ({ ...o, extra: undefined }), same: true },
  { name: 'status changed', change: (o) => ({ ...o, status: { ...o.status, phase: 'Running' } }), same: false },
  { name: 'a label changed', change: (o) => ({ ...o, metadata: { ...o.metadata, labels: { app: 'b' } } }), same: false },
  { name: 'a metadata key added', change: (o) => ({ ...o, metadata: { ...o.metadata, annotations: { a: '1' } } }), same: false },
  { name: 'spec changed', change: (o) => ({ ...o, spec: { ...o.spec, nodeName: 'n2' } }), same: false },
  { name: 'status removed', change: (o) => { const { status: _s, ...rest } = o; return rest; }, same: false },
  { name: 'top-level keys in another order', change: (o) => ({ kind: o.kind, apiVersion: o.apiVersion, metadata: o.metadata, spec: o.spec, status: o.status }), same: false },
  { name: 'metadata keys in another order', change: (o) => ({ ...o, metadata: { namespace: 'd', name: 'p', resourceVersion: '7', labels: { app: 'a' } } }), same: false },
  { name: 'nested keys in another order', change: (o) => ({ ...o, spec: { containers: o.spec.containers, nodeName: 'n1' } }), same: false },
];

for (const c of cases) {
  test(`an update is unchanged exactly when the stored JSON would be, resourceVersion and managedFields aside: ${c.name}`, () => {
    const stored = pod();
    const next = c.change(pod());
    assert.equal(byJson(next, stored), c.same, 'the case states what the JSON definition says');
    assert.equal(sameButVersionAndManagedFields(next, stored), c.same);
    assert.equal(sameButVersionAndManagedFields(stored, next), c.same);
  });
}
