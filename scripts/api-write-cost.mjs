#!/usr/bin/env node
// What the API server's own thread spends per pod write, without the threads around it: a pod created, bound and
// given two status writes through ApiHandlers' registry over a LocalKvClient whose watch events come a turn after
// the write's answer (as over threads, mostly), the watch cache applying every event. Prints CPU µs per write
// (this process, load-dependent) and, run under scripts/alloc-profile.mjs, the bytes allocated are the
// load-independent figure. DIST picks the build (A/B from two checkouts):
//   node scripts/alloc-profile.mjs /tmp/w.heapprofile scripts/api-write-cost.mjs /work/wt-base/dist 2000 --top 5
import { startApiHarness } from './lib/api-harness.mjs';

const [distArg = 'dist', podsArg = '2000'] = process.argv.slice(2);
const harness = await startApiHarness(distArg);
const { kv, handlers, registry } = harness;
const pods = Number(podsArg);

const info = harness.pods;
const tick = () => new Promise((r) => setImmediate(r));
const spec = {
  containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
  tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
};
const status = (phase, i) => ({
  phase, hostIP: '10.0.3.7', podIP: `10.244.${i % 250}.${i % 200}`, startTime: '2026-12-06T11:58:02Z', qosClass: 'Burstable',
  conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-12-06T11:58:01Z' }, { type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: '2026-12-06T11:58:02Z' }],
  containerStatuses: [{ name: 'pause', ready: phase === 'Running', restartCount: 0, image: 'registry.k8s.io/pause:3.9', imageID: 'sha256:abc', containerID: 'containerd://' + 'f'.repeat(64), started: true, state: { running: { startedAt: '2026-12-06T11:58:02Z' } } }],
});
const started = process.cpuUsage();
let writes = 0;
// Pods in batches of 50, as a burst has many in flight: each step for the batch, then a turn for the events (a
// pod's next write, as a controller's or a kubelet's, comes after its watch event).
const BATCH = 50;
for (let first = 0; first < pods; first += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, pods - first) }, (_, k) => first + k);
  const nameOf = (i) => `density-7-5d8f9c7b4-${i.toString(36)}`;
  for (const i of batch) await registry.create(info, 'default', { metadata: { name: nameOf(i), labels: { app: 'density-7', 'pod-template-hash': '5d8f9c7b4' } }, spec });
  await tick();
  for (const i of batch) await registry.bind(info, 'default', nameOf(i), { target: { kind: 'Node', name: `node-${i % 1000}` } });
  await tick();
  for (const phase of ['Pending', 'Running']) {
    for (const i of batch) {
      const current = handlers.cache(info).get(`/registry/pods/default/${nameOf(i)}`);
      await registry.update(info, 'default', nameOf(i), { ...current, status: status(phase, i) }, { subresource: 'status' });
    }
    await tick();
  }
  writes += 4 * batch.length;
}
await tick();
const used = process.cpuUsage(started);
const stats = handlers.cache(info).stats;
console.log(JSON.stringify({ pods, writes, cpuUsPerWrite: +((used.user + used.system) / writes).toFixed(1), eventsApplied: stats.eventsApplied, writesKept: stats.writesKept ?? null }));
// No exit here: under alloc-profile.mjs the profile is written once this module has run.
handlers.stop();
kv.close();
