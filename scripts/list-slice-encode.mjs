#!/usr/bin/env node
// What one LIST reply of the density bench's 20,000 pods costs the API server's thread as one frame, against
// the same list in slices of 500 (ApiListSlicing, src/api/behaviour.ts), each slice a frame of its own:
// CPU ms of the longest single encode (what a message arriving behind it waits for) and of all of them.
// Run after `npm run build`: node scripts/list-slice-encode.mjs [pods] [slice] [rounds]
import { FrameEncoder } from '../dist/src/actor/codec.js';
const [pods = 20_000, slice = 500, rounds = 5] = process.argv.slice(2).map(Number);
const mk = (i) => ({ kind: 'Pod', apiVersion: 'v1', metadata: { name: `density-7-5d8f9c7b4-${i.toString(36)}x`, generateName: 'density-7-5d8f9c7b4-', namespace: 'default', uid: `0b4c9a4e-1f2a-4b7c-9d3e-${String(i).padStart(12, '0')}`, creationTimestamp: '2026-12-06T11:58:00Z', labels: { app: 'density-7', 'pod-template-hash': '5d8f9c7b4' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'density-7-5d8f9c7b4', uid: '9a1b2c3d-4e5f-6789-abcd-ef0123456789', controller: true, blockOwnerDeletion: true }], resourceVersion: String(100000 + i) }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } }, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', serviceAccountName: 'default', schedulerName: 'default-scheduler', nodeName: `node-${i % 1000}`, priority: 0, enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] }, status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-12-06T11:58:01Z' }, { type: 'Ready', status: 'True', lastTransitionTime: '2026-12-06T11:58:02Z' }], hostIP: '10.0.3.7', podIP: '10.244.3.17', startTime: '2026-12-06T11:58:02Z', qosClass: 'Burstable', containerStatuses: [{ name: 'pause', ready: true, restartCount: 0, image: 'registry.k8s.io/pause:3.9', imageID: 'sha256:abc', containerID: 'containerd://' + 'f'.repeat(64), started: true, state: { running: { startedAt: '2026-12-06T11:58:02Z' } } }] } });
const items = Array.from({ length: pods }, (_, i) => mk(i));
const enc = new FrameEncoder();
const cpuMs = (fn) => { const t = process.cpuUsage(); fn(); const u = process.cpuUsage(t); return (u.user + u.system) / 1000; };
const whole = () => enc.encode([{ to: 'density-probe', from: 'apiserver', type: '$reply', corr: 1, body: { ok: true, value: { ok: true, code: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items } } } }]);
const sliceFrame = (k) => enc.encode([{ to: 'density-probe', from: 'apiserver', type: 'api.listSlice', corr: 0, body: { id: 'l', index: k, count: Math.ceil(pods / slice), items: items.slice(k * slice, (k + 1) * slice) } }]);
for (let r = 0; r < rounds; r++) {
  let bytes = 0;
  const w = cpuMs(() => (bytes = whole().length));
  let longest = 0, total = 0, sliceBytes = 0;
  for (let k = 0; k * slice < pods; k++) { const ms = cpuMs(() => (sliceBytes += sliceFrame(k).length)); longest = Math.max(longest, ms); total += ms; }
  console.log(`round ${r + 1}: whole ${w.toFixed(1)} ms (${(bytes / 1e6).toFixed(1)} MB); slices of ${slice}: longest ${longest.toFixed(1)} ms, all ${total.toFixed(1)} ms (${(sliceBytes / 1e6).toFixed(1)} MB)`);
}
