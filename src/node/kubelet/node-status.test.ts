import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeStatus } from '../../api/types/index.js';
import { sameNodeStatus } from './node-status.js';

/** The definition sameNodeStatus keeps: both statuses' JSON with every condition's heartbeat time blanked. */
const byText = (a: NodeStatus, b: NodeStatus) => {
  const strip = (s: NodeStatus) => JSON.stringify({ ...s, conditions: (s.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined })) });
  return strip(a) === strip(b);
};

const status = (): NodeStatus => ({
  capacity: { cpu: '4', memory: '8Gi', pods: '110' },
  conditions: [
    { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: '2026-12-06T00:00:00Z', lastTransitionTime: '2026-12-06T00:00:00Z', reason: 'KubeletHasSufficientMemory' },
    { type: 'Ready', status: 'True', lastHeartbeatTime: '2026-12-06T00:00:00Z', lastTransitionTime: '2026-12-06T00:00:00Z', reason: 'KubeletReady' },
  ],
  addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
});

const cases: { name: string; change: (s: NodeStatus) => NodeStatus; same: boolean }[] = [
  { name: 'nothing changed', change: (s) => s, same: true },
  { name: 'only heartbeat times moved', change: (s) => ({ ...s, conditions: s.conditions!.map((c) => ({ ...c, lastHeartbeatTime: '2026-12-06T00:00:10Z' })) }), same: true },
  { name: 'a transition time moved', change: (s) => ({ ...s, conditions: s.conditions!.map((c, i) => (i === 1 ? { ...c, lastTransitionTime: '2026-12-06T00:00:10Z' } : c)) }), same: false },
  { name: 'Ready went False', change: (s) => ({ ...s, conditions: s.conditions!.map((c, i) => (i === 1 ? { ...c, status: 'False' } : c)) }), same: false },
  { name: 'conditions in another order', change: (s) => ({ ...s, conditions: [...s.conditions!].reverse() }), same: false },
  { name: 'a condition fewer', change: (s) => ({ ...s, conditions: s.conditions!.slice(1) }), same: false },
  { name: 'capacity changed', change: (s) => ({ ...s, capacity: { ...s.capacity, pods: '100' } }), same: false },
  { name: 'top-level keys in another order', change: (s) => ({ conditions: s.conditions, capacity: s.capacity, addresses: s.addresses }), same: false },
  { name: 'condition keys in another order, heartbeat aside', change: (s) => ({ ...s, conditions: s.conditions!.map(({ type, status: st, ...rest }) => ({ status: st, type, ...rest })) }), same: false },
  { name: 'a heartbeat time removed', change: (s) => ({ ...s, conditions: s.conditions!.map(({ lastHeartbeatTime: _h, ...rest }) => rest) }), same: true },
  { name: 'no conditions at all', change: ({ conditions: _c, ...rest }) => rest, same: false },
];

for (const c of cases) {
  test(`a node status needs no write exactly when its JSON, heartbeat times aside, is the same: ${c.name}`, () => {
    const before = status();
    const after = c.change(status());
    assert.equal(byText(before, after), c.same, 'the case states what the text definition says');
    assert.equal(sameNodeStatus(before, after), c.same);
    assert.equal(sameNodeStatus(after, before), c.same);
  });
}
