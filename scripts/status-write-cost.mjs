#!/usr/bin/env node
// What one kubelet pod status write costs both sides, without the threads around them: the kubelet's message
// encoded into a frame (its node thread's work), decoded (the API server thread's), and served by ApiHandlers over a
// LocalKvClient whose watch events come a turn after the write's answer, the watch cache applying each. MODE is
// `put` (the whole pod, minus its resourceVersion, PUT to pods/status: the kubelet before issue #16's 2026-12-07
// change), `putslim` (a PUT of the pod without its spec: an alternative not taken, Kubernetes' kubelet PATCHes) or
// `patch` (the merge PATCH of uid and status the kubelet sends now). The same build serves all, so only the message differs. Prints the frame bytes per write; run under scripts/alloc-profile.mjs for the bytes allocated,
// or under cachegrind (two sizes, the difference) for instructions per write, both load-independent:
//   node scripts/alloc-profile.mjs /tmp/s.heapprofile scripts/status-write-cost.mjs dist patch 2000 --top 5
import { startApiHarness } from './lib/api-harness.mjs';

const [distArg = 'dist', mode = 'patch', podsArg = '2000'] = process.argv.slice(2);
if (mode !== 'put' && mode !== 'patch' && mode !== 'putslim') throw new Error(`MODE is put, putslim or patch, not ${mode}`);
const harness = await startApiHarness(distArg);
const { kv, handlers, registry } = harness;
const { FrameEncoder, FrameDecoder } = await import(`${harness.dist}/src/actor/codec.js`);
const { statusPatch } = await import(`${harness.dist}/src/node/kubelet/kubelet.js`);
const pods = Number(podsArg);

const info = harness.pods;
const user = { name: 'system:apiserver-actor-client', groups: ['system:masters', 'system:authenticated'] };
const encoder = new FrameEncoder();
const decoder = new FrameDecoder();
const tick = () => new Promise((r) => setImmediate(r));
const spec = {
  containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
};
const nameOf = (i) => `density-7-5d8f9c7b4-${i.toString(36)}`;
/** The Running status the kubelet builds for a density pod (status.ts's fields and their order). */
const status = (i, pod) => ({
  phase: 'Running',
  conditions: [
    { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-12-07T05:00:02Z' },
    { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-12-07T05:00:02Z' },
    { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-12-07T05:00:02Z' },
    ...(pod.status?.conditions ?? []),
  ],
  hostIP: '10.0.3.7', podIP: `10.244.${i % 250}.${i % 200}`, podIPs: [{ ip: `10.244.${i % 250}.${i % 200}` }], startTime: '2026-12-07T05:00:02Z',
  containerStatuses: [{ name: 'app', image: 'nginx', imageID: 'sim://nginx', restartCount: 0, state: { running: { startedAt: '2026-12-07T05:00:02Z' } }, lastState: {}, ready: true, started: true, containerID: `sim://${(i * 7919).toString(16).padStart(16, '0')}` }],
  ...(pod.status?.qosClass !== undefined ? { qosClass: pod.status.qosClass } : {}),
});
let frameBytes = 0;
// CPU of the kubelet's side (encoding its message) and of the API server's (decoding it and serving the write, its
// watch event applied later in the batch's turn not included), apart: load-dependent, so compare modes alternated.
let encodeUs = 0;
let serveUs = 0;
let writes = 0;
let failed = 0;
const started = process.cpuUsage();
const BATCH = 50;
for (let first = 0; first < pods; first += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, pods - first) }, (_, k) => first + k);
  for (const i of batch) await registry.create(info, 'default', { metadata: { name: nameOf(i), labels: { app: 'density-7', 'pod-template-hash': '5d8f9c7b4' } }, spec });
  await tick();
  for (const i of batch) await registry.bind(info, 'default', nameOf(i), { target: { kind: 'Node', name: `node-${i % 1000}` } });
  await tick();
  for (const i of batch) {
    // The kubelet's view of its pod: the bound pod its watch delivered.
    const pod = handlers.cache(info).get(`/registry/pods/default/${nameOf(i)}`);
    const target = { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: nameOf(i), subresource: 'status' };
    let body;
    if (mode === 'put') {
      const { resourceVersion: _rv, ...metadata } = pod.metadata;
      body = { ...target, object: { ...pod, metadata, status: status(i, pod) } };
    } else if (mode === 'putslim') {
      const { resourceVersion: _rv, ...metadata } = pod.metadata;
      body = { ...target, object: { apiVersion: pod.apiVersion, kind: pod.kind, metadata, status: status(i, pod) } };
    } else {
      body = { ...target, patchType: 'merge', patch: statusPatch(pod, status(i, pod)) };
    }
    const t0 = process.cpuUsage();
    const frame = encoder.encode([{ to: 'apiserver', from: `kubelet-node-${i % 1000}`, type: mode === 'patch' ? 'api.patch' : 'api.update', corr: i + 1, body }]);
    frameBytes += frame.length;
    const t1 = process.cpuUsage(t0);
    encodeUs += t1.user + t1.system;
    const t2 = process.cpuUsage();
    const decoded = decoder.decode(frame);
    if (!decoded.ok) throw new Error(decoded.error);
    const msg = decoded.envelopes[0].body;
    const request = mode !== 'patch'
      ? { verb: 'update', ...target, body: msg.object }
      : { verb: 'patch', ...target, body: msg.patch, patchType: msg.patchType };
    const result = await handlers.handle(request, user);
    const t3 = process.cpuUsage(t2);
    serveUs += t3.user + t3.system;
    if (result.code !== 200) failed++;
    writes++;
  }
  await tick();
}
await tick();
const used = process.cpuUsage(started);
const check = handlers.cache(info).get(`/registry/pods/default/${nameOf(0)}`);
console.log(JSON.stringify({ mode, pods, writes, failed, frameBytesPerWrite: Math.round(frameBytes / writes), cpuUsPerWrite: +((used.user + used.system) / writes).toFixed(1), encodeUsPerWrite: +(encodeUs / writes).toFixed(1), serveUsPerWrite: +(serveUs / writes).toFixed(1), phase0: check?.status?.phase, podIP0: check?.status?.podIP }));
// No exit here: under alloc-profile.mjs the profile is written once this module has run.
handlers.stop();
kv.close();
