#!/usr/bin/env node
// What a store replica pays per applied entry, without threads or Raft (issue #16): the entries of a density
// burst as the API server proposes them (a pod created by a compare-and-swap txn, then bound and given status
// updates, each a txn whose put carries the whole object's JSON; an Event created per step), packed as the replica
// packs an entry, then decoded and applied to an MvccStore the way every replica applies each committed entry.
// Prints CPU per entry and, with --alloc, the bytes allocated per entry (V8's sampling heap profiler, collected
// objects included: load-independent) and the heap left after a full collection (what the MVCC history keeps).
//
//   node --expose-gc scripts/kv-apply-cost.mjs [DIR=.] [PODS=5000] [--alloc]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pack, unpack } from 'msgpackr';
import { startAllocationSampling } from './lib/sampled-allocation.mjs';

const args = process.argv.slice(2);
const alloc = args.includes('--alloc');
const [dirArg = '.', podsArg = '5000'] = args.filter((a) => !a.startsWith('--'));
const dir = resolve(dirArg);
const pods = Number(podsArg);
const { MvccStore } = await import(pathToFileURL(join(dir, 'dist/src/kv/mvcc/store.js')).href);

function podJson(i, phase, revision) {
  const name = `big-${(i * 2654435761 >>> 0).toString(36)}-${(i % 97).toString(36)}x${i.toString(36)}`;
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `0000${i}-aaaa-bbbb-cccc-${revision}`, resourceVersion: String(revision), labels: { app: `big-${i % 20}`, 'pod-template-hash': '5d8f7c9b4' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `big-${i % 20}-5d8f7c9b4`, uid: 'rs-uid', controller: true, blockOwnerDeletion: true }], creationTimestamp: '2026-12-06T23:00:00Z' },
    spec: { nodeName: phase > 0 ? `node-${i % 1000}` : undefined, containers: [{ name: 'nginx', image: 'nginx', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'Always' }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', serviceAccountName: 'default', schedulerName: 'default-scheduler', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }], priority: 0, enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority' },
    status: phase < 2 ? { phase: 'Pending', qosClass: 'BestEffort' } : { phase: phase === 2 ? 'Pending' : 'Running', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: phase === 3 ? 'True' : 'False' }, { type: 'ContainersReady', status: phase === 3 ? 'True' : 'False' }, { type: 'PodScheduled', status: 'True' }], hostIP: `10.0.${i % 250}.1`, podIP: `10.244.${i % 250}.${i % 200}`, startTime: '2026-12-06T23:00:01Z', containerStatuses: [{ name: 'nginx', ready: phase === 3, restartCount: 0, image: 'nginx', imageID: 'sim://nginx', containerID: `sim://${i}`, started: phase === 3, state: phase === 3 ? { running: { startedAt: '2026-12-06T23:00:02Z' } } : { waiting: { reason: 'ContainerCreating' } } }], qosClass: 'BestEffort' },
  });
}

/** The burst's entries, packed as the replica packs a proposal: [proposalId, request]. */
function entries() {
  const out = [];
  let revision = 1;
  for (let phase = 0; phase < 4; phase++) {
    for (let i = 0; i < pods; i++) {
      const key = `/registry/pods/default/big-${(i * 2654435761 >>> 0).toString(36)}-${(i % 97).toString(36)}x${i.toString(36)}`;
      const compare = phase === 0 ? [{ key, target: 'version', result: 'equal', value: 0 }] : [{ key, target: 'modRevision', result: 'equal', value: revision - pods - (pods - 1 - i) + i - i }];
      out.push(pack([`p${out.length}`, { type: 'txn', compare: phase === 0 ? compare : [], success: [{ type: 'put', key, value: podJson(i, phase, ++revision) }], failure: [{ type: 'range', key }] }]));
      const eventKey = `/registry/events/default/${key.slice(23)}.${(revision * 40503 >>> 0).toString(16)}`;
      out.push(pack([`p${out.length}`, { type: 'txn', compare: [{ key: eventKey, target: 'version', result: 'equal', value: 0 }], success: [{ type: 'put', key: eventKey, value: JSON.stringify({ kind: 'Event', metadata: { name: eventKey.slice(26), namespace: 'default' }, reason: ['Scheduled', 'Pulled', 'Created', 'Started'][phase], message: `phase ${phase} of pod ${i}`, involvedObject: { kind: 'Pod', name: key.slice(23) }, count: 1, type: 'Normal' }) }], failure: [{ type: 'range', key: eventKey }] }]));
      revision++;
    }
  }
  return out;
}

const data = entries();
const bytes = data.reduce((a, d) => a + d.byteLength, 0);
const store = new MvccStore();
store.compactInSteps = true;

const sampling = alloc ? await startAllocationSampling() : undefined;
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const cpuBefore = process.cpuUsage();
let failed = 0;
for (const d of data) {
  const [, request] = unpack(d);
  const response = store.apply(request);
  if (response.type === 'error' || (response.type === 'txn' && !response.succeeded)) failed++;
}
const cpu = process.cpuUsage(cpuBefore);
const allocated = await sampling?.stop();
globalThis.gc?.();
const kept = process.memoryUsage().heapUsed - heapBefore;
const n = data.length;
console.log(JSON.stringify({
  dir, entries: n, entry_bytes_mean: Math.round(bytes / n), failed,
  cpu_us_per_entry: +((cpu.user + cpu.system) / n).toFixed(2),
  ...(allocated === undefined ? {} : { allocated_bytes_per_entry: Math.round(allocated / n) }),
  kept_heap_bytes_per_entry: globalThis.gc === undefined ? null : Math.round(kept / n),
  revision: store.revision,
}));
