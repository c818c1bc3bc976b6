#!/usr/bin/env node
// What a watch event of the density bench's pod shape costs the frame codec, as a record object and as the
// store's JSON text (StoredJsonEvent, src/actor/json-event.ts): CPU µs per event to encode and to decode a
// frame of 500, and the frame's bytes. Run after `npm run build`: node scripts/watch-event-encode.mjs
import { FrameEncoder, FrameDecoder } from '../dist/src/actor/codec.js';
import { StoredJsonEvent } from '../dist/src/actor/json-event.js';
const mk = (i) => ({ kind: 'Pod', apiVersion: 'v1', metadata: { name: `density-7-5d8f9c7b4-${i.toString(36)}x`, generateName: 'density-7-5d8f9c7b4-', namespace: 'default', uid: `0b4c9a4e-1f2a-4b7c-9d3e-${String(i).padStart(12,'0')}`, creationTimestamp: '2026-12-06T11:58:00Z', labels: { app: 'density-7', 'pod-template-hash': '5d8f9c7b4' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'density-7-5d8f9c7b4', uid: '9a1b2c3d-4e5f-6789-abcd-ef0123456789', controller: true, blockOwnerDeletion: true }], resourceVersion: String(100000+i) }, spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } }, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', serviceAccountName: 'default', schedulerName: 'default-scheduler', nodeName: `node-${i%1000}`, priority: 0, enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] }, status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-12-06T11:58:01Z' }, { type: 'Initialized', status: 'True', lastTransitionTime: '2026-12-06T11:58:02Z' }, { type: 'Ready', status: 'True', lastTransitionTime: '2026-12-06T11:58:02Z' }], hostIP: '10.0.3.7', podIP: '10.244.3.17', startTime: '2026-12-06T11:58:02Z', qosClass: 'Burstable', containerStatuses: [{ name: 'pause', ready: true, restartCount: 0, image: 'registry.k8s.io/pause:3.9', imageID: 'sha256:abc', containerID: 'containerd://' + 'f'.repeat(64), started: true, state: { running: { startedAt: '2026-12-06T11:58:02Z' } } }] } });
const N = 500;
const pods = Array.from({ length: N }, (_, i) => mk(i));
const texts = pods.map((p) => { const { resourceVersion, ...m } = p.metadata; return JSON.stringify({ ...p, metadata: m }); });
console.log('pod JSON bytes', texts[0].length);
const enc = new FrameEncoder(); const dec = new FrameDecoder();
const plainBatch = () => [{ to: 'x', from: 'a', type: 'api.watchEvents', corr: 0, body: { watchId: 'w', seq: 1, events: pods.map((object) => ({ type: 'MODIFIED', object })) } }];
const jsonBatch = () => [{ to: 'x', from: 'a', type: 'api.watchEvents', corr: 0, body: { watchId: 'w', seq: 1, events: pods.map((object, i) => new StoredJsonEvent('MODIFIED', object, texts[i], object.metadata.resourceVersion)) } }];
function bench(name, mkb, rounds = 200) {
  let f; const b = mkb();
  for (let i = 0; i < 50; i++) f = enc.encode(b);
  let t = process.cpuUsage(); for (let i = 0; i < rounds; i++) f = enc.encode(b); let u = process.cpuUsage(t);
  const encUs = (u.user + u.system) / rounds / N;
  for (let i = 0; i < 20; i++) dec.decode(f);
  t = process.cpuUsage(); for (let i = 0; i < rounds; i++) dec.decode(f); u = process.cpuUsage(t);
  console.log(name, 'frame', f.length, 'encode us/event', encUs.toFixed(2), 'decode us/event', ((u.user + u.system) / rounds / N).toFixed(2));
}
for (let r = 0; r < 2; r++) { bench('plain', plainBatch); bench('json ', jsonBatch); }
