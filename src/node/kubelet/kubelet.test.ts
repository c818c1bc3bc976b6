import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem, createLogger, defineBehaviour, type Message } from '../../actor/index.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiReply, ApiServerMsg, KubeletLogsReply } from '../../api/protocol.js';
import type { KubeObject, Lease, List, Node, Pod } from '../../api/types/index.js';
import { criCall, type ContainerStatus as CriContainerStatus } from '../cri/protocol.js';
import { simRuntime } from '../runtime/sim/sim-runtime.js';
import { formatGoDuration, kubelet, statusPatch, type KubeletArgs } from './kubelet.js';
import { mergePatch } from '../../api/patch.js';
import { REALISTIC_KUBELET_TIMING } from './timing.js';

const START_MS = 1_700_000_000_000;
const NODE = 'node-0';

/** Stands between the kubelet and its runtime, forwarding every call (and the runtime's container events) and keeping the replies of StopContainer. */
export const criSpy = defineBehaviour<Message, { target: string; kubelet?: string }>(import.meta.url, 'cri-spy', (ctx, args) => {
  const stopped: CriContainerStatus[] = [];
  return {
    async receive(msg) {
      if (msg.type === 'spy.stopped') return stopped;
      if (msg.type === 'cri.containerEvent') {
        if (args.kubelet !== undefined) ctx.send(args.kubelet, msg);
        return undefined;
      }
      const reply = await ctx.ask<{ ok: boolean; status?: CriContainerStatus }>(args.target, msg, { timeoutMs: 600_000 });
      if (msg.type === 'StopContainer' && reply.ok && reply.status !== undefined) stopped.push(reply.status);
      return reply;
    },
  };
});

async function harnessWith(seed = 7, kubeletArgs: Partial<KubeletArgs> = {}) {
  const sim = new SimulatedSystem({ seed, startMs: START_MS, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { http: false } });
  await sim.spawn(simRuntime, { name: `runtime-${NODE}`, args: { podCidr: '10.244.0.0/24' } });
  const args: KubeletArgs = { nodeName: NODE, defaultRuntime: 'sim', runtimes: { sim: `runtime-${NODE}` }, nodeIP: '10.0.0.1', podCidr: '10.244.0.0/24', ...kubeletArgs };
  await sim.spawn(kubelet, { name: `kubelet-${NODE}`, args });
  const apiRef = sim.ref<ApiServerMsg>('apiserver');
  const ask = <T = KubeObject>(msg: ApiServerMsg) => sim.settle(apiRef.ask<ApiReply<T>>(msg, { timeoutMs: 30_000 }), { maxMs: 60_000 });
  const podTarget = { group: '', version: 'v1', resource: 'pods', namespace: 'default' };
  const createPod = async (pod: Pod) => {
    const reply = await ask<Pod>({ type: 'api.create', body: { ...podTarget, object: pod } });
    assert.ok(reply.ok, `create pod: ${JSON.stringify(reply)}`);
    return reply.body;
  };
  const getPod = async (name: string): Promise<Pod | undefined> => {
    const reply = await ask<Pod>({ type: 'api.get', body: { ...podTarget, name } });
    return reply.ok ? reply.body : undefined;
  };
  /** Advance virtual time in steps until `check` holds on the pod; returns the pod and the virtual time it took. */
  const waitForPod = async (name: string, check: (pod: Pod | undefined) => boolean, maxMs = 120_000, stepMs = 250) => {
    const from = sim.now();
    for (;;) {
      const pod = await getPod(name);
      if (check(pod)) return { pod, elapsedMs: sim.now() - from };
      if (sim.now() - from > maxMs) assert.fail(`pod ${name} did not reach the state within ${maxMs} ms; last: ${JSON.stringify(pod?.status)}`);
      await sim.runFor(stepMs);
    }
  };
  const containers = async (): Promise<CriContainerStatus[]> => {
    const reply = await sim.settle(criCall(sim.ref(`runtime-${NODE}`) as never, 'ListContainers', {}, { timeoutMs: 10_000 }));
    assert.ok(reply.ok);
    return reply.items;
  };
  const logs = (body: { pod: string; container: string; previous?: boolean }) =>
    sim.settle(sim.ref(`kubelet-${NODE}`).ask<KubeletLogsReply>({ type: 'kubelet.logs', body: { namespace: 'default', ...body } }, { timeoutMs: 30_000 }));
  const eventReasons = async (podName: string): Promise<string[]> => {
    const reply = await ask<List<KubeObject & { reason?: string }>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'events', namespace: 'default', query: { fieldSelector: `involvedObject.name=${podName}` } } });
    assert.ok(reply.ok);
    return [...new Set(reply.body.items.map((e) => e.reason ?? ''))].sort();
  };
  return { sim, ask, createPod, getPod, waitForPod, containers, logs, eventReasons };
}

const pod = (name: string, spec: Partial<Pod['spec']> & { containers: NonNullable<Pod['spec']>['containers'] }, annotations?: Record<string, string>): Pod => ({
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { nodeName: NODE, ...spec },
});

const cond = (p: Pod | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type)?.status;

/** Both PLEGs pass every test: the generic one (relist every second) and the evented one with its fallback relist an hour apart, so only the container events can tell it what changed. */
const PLEGS = {
  generic: {},
  evented: { featureGates: { EventedPLEG: true }, timing: { eventedRelistMs: 3_600_000 } },
} satisfies Record<string, Partial<KubeletArgs>>;

for (const [plegName, plegArgs] of Object.entries(PLEGS) as [string, Partial<KubeletArgs>][]) describe(`kubelet (simulated runtime, sim containers, ${plegName} PLEG)`, () => {
  const harness = (seed = 7, kubeletArgs: Partial<KubeletArgs> = {}) => harnessWith(seed, { ...plegArgs, ...kubeletArgs });

  test('registers its Node as Ready with capacity, labels, addresses and node info, and renews its Lease every period', async () => {
    const h = await harness();
    await h.sim.runFor(1_000);
    const node = await h.ask<Node>({ type: 'api.get', body: { group: '', version: 'v1', resource: 'nodes', name: NODE } });
    assert.ok(node.ok);
    assert.equal(node.body.metadata.labels?.['kubernetes.io/hostname'], NODE);
    assert.equal(node.body.spec?.podCIDR, '10.244.0.0/24');
    assert.equal(node.body.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(node.body.status?.capacity?.pods, '110');
    assert.deepEqual(node.body.status?.addresses?.map((a) => a.type), ['InternalIP', 'Hostname']);
    assert.match(node.body.status?.nodeInfo?.containerRuntimeVersion ?? '', /^sim:\/\//);

    const leaseTarget = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease', name: NODE };
    const renewTimes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const lease = await h.ask<Lease>({ type: 'api.get', body: leaseTarget });
      assert.ok(lease.ok, 'the node lease exists');
      assert.equal(lease.body.spec?.holderIdentity, NODE);
      renewTimes.push(Date.parse(lease.body.spec?.renewTime ?? ''));
      await h.sim.runFor(REALISTIC_KUBELET_TIMING.nodeLeaseRenewMs);
    }
    const gaps = renewTimes.slice(1).map((t, i) => t - renewTimes[i]!);
    // Renewed once per period, give or take the simulated message latency.
    for (const gap of gaps) assert.ok(Math.abs(gap - REALISTIC_KUBELET_TIMING.nodeLeaseRenewMs) < 100, `renewal gaps ${gaps.join(', ')} ms`);
    await h.sim.shutdown();
  });

  test('a pod bound to the node goes Pending → Running and Ready only once its readiness probe passes', async () => {
    const h = await harness();
    await h.createPod(pod('web', {
      containers: [{ name: 'web', image: 'nginx:1.27', readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 } }],
    }, { 'sim.kubethreads.io/ready-after': '5s', 'sim.kubethreads.io/pull-ms': '2s' }));
    const running = await h.waitForPod('web', (p) => p?.status?.phase === 'Running');
    assert.equal(cond(running.pod, 'Ready'), 'False', 'running but not yet ready');
    assert.equal(running.pod?.status?.containerStatuses?.[0]?.ready, false);
    const ready = await h.waitForPod('web', (p) => cond(p, 'Ready') === 'True');
    assert.ok(ready.elapsedMs >= 3_000, `ready about 5 s after start, not before (took ${ready.elapsedMs} ms more)`);
    const s = ready.pod!.status!;
    assert.match(s.podIP ?? '', /^10\.244\.0\.\d+$/);
    assert.equal(s.hostIP, '10.0.0.1');
    assert.ok(s.startTime !== undefined);
    assert.deepEqual(s.conditions?.map((c) => `${c.type}=${c.status}`).sort(), ['ContainersReady=True', 'Initialized=True', 'PodScheduled=True', 'Ready=True']);
    const cs = s.containerStatuses![0]!;
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state?.running?.startedAt !== undefined);
    assert.match(cs.containerID ?? '', /^sim:\/\//);
    const log = await h.logs({ pod: 'web', container: 'web' });
    assert.ok(log.ok && /sim: started nginx:1\.27/.test(log.data));
    const noPrevious = await h.ask({ type: 'api.podLog', body: { namespace: 'default', name: 'web', query: { previous: true } } });
    assert.ok(!noPrevious.ok && noPrevious.status.code === 400 && /previous terminated container "web" in pod "web" not found/.test(noPrevious.status.message ?? ''), JSON.stringify(noPrevious));
    const badContainer = await h.ask({ type: 'api.podLog', body: { namespace: 'default', name: 'web', query: { container: 'nope' } } });
    assert.ok(!badContainer.ok && /container nope is not valid for pod web/.test(badContainer.status.message ?? ''));
    await h.sim.shutdown();
  });

  test('init containers run in order before the app container', async () => {
    const h = await harness();
    await h.createPod(pod('init', {
      initContainers: [{ name: 'first', image: 'sim/exit-after-2s' }, { name: 'second', image: 'sim/exit-after-3s' }],
      containers: [{ name: 'app', image: 'sim/run' }],
    }));
    const pending = await h.waitForPod('init', (p) => p?.status?.initContainerStatuses?.[0]?.state?.running !== undefined);
    assert.equal(pending.pod?.status?.phase, 'Pending');
    assert.equal(cond(pending.pod, 'Initialized'), 'False');
    assert.equal(pending.pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'PodInitializing');
    await h.waitForPod('init', (p) => p?.status?.phase === 'Running');
    const byName = new Map((await h.containers()).map((c) => [c.metadata.name, c]));
    assert.ok(byName.get('first')!.finishedAtMs <= byName.get('second')!.startedAtMs, 'second starts after first ended');
    assert.ok(byName.get('second')!.finishedAtMs <= byName.get('app')!.startedAtMs, 'app starts after the init containers');
    await h.sim.shutdown();
  });

  test('a crashing container goes CrashLoopBackOff with a growing backoff, capped at 5 minutes; --previous shows the dead instance', async () => {
    const h = await harness();
    await h.createPod(pod('crash', { containers: [{ name: 'c', image: 'sim/crash-after-1s:3' }] }));
    const sawBackoff = await h.waitForPod('crash', (p) => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff', 60_000);
    const cs = sawBackoff.pod!.status!.containerStatuses![0]!;
    assert.equal(cs.lastState?.terminated?.exitCode, 3);
    assert.match(cs.state?.waiting?.message ?? '', /back-off 10s restarting failed container=c/);
    assert.equal(sawBackoff.pod?.status?.phase, 'Running', 'restartPolicy Always: a crash-looping pod is Running');
    // The back-off each CrashLoopBackOff reports, as kubectl describe shows it: it must double from 10 s and stop at 5 minutes.
    const backoffs: string[] = [];
    for (let t = 0; t < 20 * 60_000; t += 1_000) {
      const waiting = (await h.getPod('crash'))?.status?.containerStatuses?.[0]?.state?.waiting;
      const shown = waiting?.reason === 'CrashLoopBackOff' ? /back-off (\S+) restarting/.exec(waiting.message ?? '')?.[1] : undefined;
      if (shown !== undefined && shown !== backoffs.at(-1)) backoffs.push(shown);
      await h.sim.runFor(1_000);
    }
    // Go's duration format, as the kubelet's message: 10s 20s 40s 1m20s 2m40s, then 5m0s for good.
    assert.deepEqual(backoffs, ['10s', '20s', '40s', '1m20s', '2m40s', '5m0s'], 'the back-off doubles from 10 s and is capped at 5 minutes');
    const starts = (await h.containers()).map((c) => c.startedAtMs);
    const final = (await h.getPod('crash'))!;
    const restarts = final.status!.containerStatuses![0]!.restartCount;
    assert.ok(restarts >= 8, `the capped back-off keeps restarting it, got ${restarts} restarts`);
    // Only the newest two instances are kept; read the growth from their attempt numbers and the restart count over time instead.
    assert.ok(starts.length <= 2, `at most one dead instance kept per container, got ${starts.length}`);
    const previous = await h.logs({ pod: 'crash', container: 'c', previous: true });
    assert.ok(previous.ok && /exiting with code 3/.test(previous.data), JSON.stringify(previous));
    assert.deepEqual(await h.eventReasons('crash'), ['BackOff', 'Pulled', 'Started'], 'kubectl describe shows why');
    // The same through the API server's pods/log, which asks this kubelet.
    const viaApi = await h.ask<{ log: string }>({ type: 'api.podLog', body: { namespace: 'default', name: 'crash', query: { previous: true } } });
    assert.ok(viaApi.ok && /sim: started sim\/crash-after-1s:3/.test(viaApi.body.log) && /exiting with code 3/.test(viaApi.body.log), JSON.stringify(viaApi));
    await h.sim.shutdown();
  });

  test('the delay between restarts doubles from 10 s up to the 5 minute cap', async () => {
    const h = await harness();
    await h.createPod(pod('loop', { containers: [{ name: 'c', image: 'sim/crash-after-1s:1' }] }));
    const startTimes: number[] = [];
    let lastId = '';
    for (let t = 0; t < 25 * 60_000; t += 500) {
      const c = [...(await h.containers())].sort((a, b) => b.metadata.attempt - a.metadata.attempt)[0];
      if (c !== undefined && c.id !== lastId && c.startedAtMs > 0) {
        lastId = c.id;
        startTimes.push(c.startedAtMs);
      }
      await h.sim.runFor(500);
    }
    const gaps = startTimes.slice(1).map((s, i) => Math.round((s - startTimes[i]! - 1_000) / 1_000));
    // First restart at once, then 10, 20, 40, 80, 160, 300, 300 s (give or take the half-second poll).
    assert.deepEqual(gaps.slice(0, 8).map((g) => (g <= 1 ? 0 : Math.round(g / 10) * 10)), [0, 10, 20, 40, 80, 160, 300, 300]);
    await h.sim.shutdown();
  });

  test('an image the runtime cannot pull shows ErrImagePull, then ImagePullBackOff', async () => {
    const h = await harness();
    await h.createPod(pod('nopull', { containers: [{ name: 'c', image: 'sim/pull-fail' }] }));
    await h.waitForPod('nopull', (p) => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull');
    const backoff = await h.waitForPod('nopull', (p) => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
    assert.equal(backoff.pod?.status?.phase, 'Pending');
    await h.sim.shutdown();
  });

  test('restartPolicy Never: a failed container makes the pod Failed; OnFailure: a clean exit makes it Succeeded', async () => {
    const h = await harness();
    await h.createPod(pod('never', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'sim/crash-after-1s:2' }] }));
    await h.createPod(pod('job', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'sim/exit-after-2s' }] }));
    const failed = await h.waitForPod('never', (p) => p?.status?.phase === 'Failed');
    assert.equal(failed.pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 2);
    assert.equal(failed.pod?.status?.containerStatuses?.[0]?.restartCount, 0);
    const done = await h.waitForPod('job', (p) => p?.status?.phase === 'Succeeded');
    assert.equal(done.pod?.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    assert.equal(cond(done.pod, 'Ready'), 'False');
    await h.sim.shutdown();
  });

  test('a finished pod (Failed under Never, Succeeded under OnFailure) has its sandbox stopped and keeps its dead container', async () => {
    const h = await harness();
    await h.createPod(pod('never', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'sim/crash-after-1s:2' }] }));
    await h.createPod(pod('job', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'sim/exit-after-2s' }] }));
    await h.waitForPod('never', (p) => p?.status?.phase === 'Failed');
    await h.waitForPod('job', (p) => p?.status?.phase === 'Succeeded');
    // The kubelet stops a pod's sandbox once the status it wrote is terminal (it learns the phase from that status).
    await h.sim.runFor(1_000);
    const reply = await h.sim.settle(criCall(h.sim.ref(`runtime-${NODE}`) as never, 'ListPodSandbox', {}, { timeoutMs: 10_000 }));
    assert.ok(reply.ok);
    assert.deepEqual(reply.items.map((s) => `${s.metadata.name} ${s.state}`).sort(), ['job SANDBOX_NOTREADY', 'never SANDBOX_NOTREADY']);
    assert.deepEqual((await h.containers()).map((c) => c.state), ['CONTAINER_EXITED', 'CONTAINER_EXITED'], 'the dead containers are kept (for logs)');
    await h.sim.shutdown();
  });

  test('a failing liveness probe restarts the container', async () => {
    const h = await harness();
    await h.createPod(pod('live', {
      containers: [{ name: 'c', image: 'sim/run', livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 3 } }],
    }, { 'sim.kubethreads.io/liveness-fail-after': '5s', 'sim.kubethreads.io/liveness-fail-attempts': '1' }));
    const restarted = await h.waitForPod('live', (p) => p?.status?.containerStatuses?.[0]?.restartCount === 1 && p.status.containerStatuses[0]!.state?.running !== undefined, 120_000);
    assert.equal(restarted.pod?.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 143, 'killed by SIGTERM');
    await h.sim.runFor(60_000);
    assert.equal((await h.getPod('live'))?.status?.containerStatuses?.[0]?.restartCount, 1, 'the second attempt passes its probe and keeps running');
    const reasons = await h.eventReasons('live');
    assert.ok(reasons.includes('Unhealthy') && reasons.includes('Killing'), reasons.join(', '));
    await h.sim.shutdown();
  });

  test('graceful delete: preStop runs, the container gets SIGTERM, and the kubelet confirms long before the grace period ends', async () => {
    const h = await harness();
    await h.createPod(pod('bye', {
      terminationGracePeriodSeconds: 30,
      containers: [{ name: 'c', image: 'sim/run', lifecycle: { preStop: { exec: { command: ['sleep', '3'] } } } } as never],
    }, { 'sim.kubethreads.io/prestop-ms': '3s', 'sim.kubethreads.io/stop-ms': '1s' }));
    await h.waitForPod('bye', (p) => p?.status?.phase === 'Running');
    const deleted = await h.ask({ type: 'api.delete', body: { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'bye' } });
    assert.ok(deleted.ok && deleted.code === 202, 'a running pod is deleted gracefully');
    const marked = await h.getPod('bye');
    assert.ok(marked?.metadata.deletionTimestamp !== undefined);
    const gone = await h.waitForPod('bye', (p) => p === undefined, 60_000, 100);
    assert.ok(gone.elapsedMs >= 3_500 && gone.elapsedMs < 10_000, `gone after preStop (3 s) and stop (1 s), before the 30 s grace: ${gone.elapsedMs} ms`);
    await h.sim.runFor(2 * REALISTIC_KUBELET_TIMING.relistMs);
    assert.deepEqual(await h.containers(), [], 'the runtime forgot the pod');
    await h.sim.shutdown();
  });

  test('graceful delete of a container that ignores SIGTERM: killed (137) when the grace period ends', async () => {
    const h = await harness(7, { runtimes: { sim: 'spy' } });
    await h.sim.spawn(criSpy, { name: 'spy', args: { target: `runtime-${NODE}`, kubelet: `kubelet-${NODE}` } });
    await h.createPod(pod('stubborn', { terminationGracePeriodSeconds: 5, containers: [{ name: 'c', image: 'sim/ignore-sigterm' }] }));
    await h.waitForPod('stubborn', (p) => p?.status?.phase === 'Running');
    const deletedAtMs = h.sim.now();
    await h.ask({ type: 'api.delete', body: { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'stubborn' } });
    await h.waitForPod('stubborn', (p) => p === undefined, 60_000, 100);
    await h.sim.runFor(2_000);
    const stops = await h.sim.settle(h.sim.ref('spy').ask<CriContainerStatus[]>({ type: 'spy.stopped', body: null }));
    assert.equal(stops.length, 1, 'one StopContainer');
    const exited = stops[0]!;
    assert.equal(exited.exitCode, 137, 'killed at the end of the grace period');
    assert.ok(exited.finishedAtMs - deletedAtMs >= 5_000 && exited.finishedAtMs - deletedAtMs < 6_000, `killed 5 s after the delete, took ${exited.finishedAtMs - deletedAtMs} ms`);
    await h.sim.shutdown();
  });

  test('a restarted kubelet adopts the running containers instead of starting them twice', async () => {
    const h = await harness();
    await h.createPod(pod('keep', { containers: [{ name: 'c', image: 'sim/run' }] }));
    await h.waitForPod('keep', (p) => p?.status?.phase === 'Running');
    const before = await h.containers();
    await h.sim.faults.restart(`kubelet-${NODE}`);
    await h.sim.runFor(30_000);
    const after = await h.containers();
    assert.deepEqual(after.map((c) => c.id), before.map((c) => c.id));
    const p = await h.getPod('keep');
    assert.equal(p?.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.equal(cond(p, 'Ready'), 'True');
    await h.sim.shutdown();
  });

  test('a pod deleted while its kubelet was down has its sandbox removed when the kubelet is back, and only that one', async () => {
    const h = await harness();
    await h.createPod(pod('gone', { containers: [{ name: 'c', image: 'sim/run' }] }));
    await h.createPod(pod('kept', { containers: [{ name: 'c', image: 'sim/run' }] }));
    await h.waitForPod('gone', (p) => p?.status?.phase === 'Running');
    await h.waitForPod('kept', (p) => p?.status?.phase === 'Running');
    assert.equal((await h.containers()).length, 2, 'both pods run a container');
    await h.sim.stop(`kubelet-${NODE}`);
    const deleted = await h.ask({ type: 'api.delete', body: { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'gone', options: { gracePeriodSeconds: 0 } } });
    assert.ok(deleted.ok, 'force-deleted while no kubelet could confirm');
    await h.sim.runFor(5_000);
    assert.equal((await h.containers()).length, 2, 'with its kubelet down, nothing removed the pod from the runtime');
    await h.sim.spawn(kubelet, { name: `kubelet-${NODE}`, args: { nodeName: NODE, defaultRuntime: 'sim', runtimes: { sim: `runtime-${NODE}` }, nodeIP: '10.0.0.1', podCidr: '10.244.0.0/24', ...plegArgs } });
    await h.sim.runFor(30_000);
    const left = await h.containers();
    assert.equal(left.length, 1, `only the pod that still exists runs: ${JSON.stringify(left.map((c) => c.labels))}`);
    assert.equal(cond(await h.getPod('kept'), 'Ready'), 'True');
    await h.sim.shutdown();
  });

  test('a pod naming a runtime the node does not have stays Pending with a reason', async () => {
    const h = await harness();
    await h.createPod(pod('elsewhere', { runtimeClassName: 'worker', containers: [{ name: 'c', image: 'sim/run' }] } as never));
    const p = await h.waitForPod('elsewhere', (x) => x?.status?.reason === 'RuntimeClassNotAvailable');
    assert.equal(p.pod?.status?.phase, 'Pending');
    assert.match(p.pod?.status?.message ?? '', /no worker runtime/);
    await h.sim.shutdown();
  });
});

/** Between a kubelet and the API server: forwards every ask and tell (and the watch events back), keeping the kubelet's pod status writes. */
const apiSpy = defineBehaviour<Message, { target: string; kubelet: string }>(import.meta.url, 'api-spy', (ctx, args) => {
  const statusWrites: Message[] = [];
  return {
    async receive(msg) {
      if (msg.type === 'spy.statusWrites') return statusWrites;
      if (msg.type === 'api.watchEvents' || msg.type === 'api.watchEnd') {
        ctx.send(args.kubelet, msg);
        return undefined;
      }
      if (msg.type === 'api.unwatch') {
        ctx.send(args.target, msg);
        return undefined;
      }
      const body = msg.body as { resource?: string; subresource?: string };
      if (body.resource === 'pods' && body.subresource === 'status') statusWrites.push(msg);
      return ctx.ask(args.target, msg, { timeoutMs: 60_000 });
    },
  };
});

describe('kubelet: pod status writes', () => {
  test('are PATCHes of pods/status naming the uid and the status, as Kubernetes\' status manager sends them, never the whole pod', async () => {
    const h = await harnessWith(7, { apiserver: 'api-spy' });
    await h.sim.spawn(apiSpy, { name: 'api-spy', args: { target: 'apiserver', kubelet: `kubelet-${NODE}` } });
    const created = await h.createPod(pod('web', { containers: [{ name: 'web', image: 'nginx:1.27' }] }));
    const running = await h.waitForPod('web', (p) => p?.status?.phase === 'Running');
    const writes = await h.sim.settle(h.sim.ref('api-spy').ask<Message[]>({ type: 'spy.statusWrites', body: null }, { timeoutMs: 10_000 }));
    assert.ok(writes.length >= 1, 'the kubelet wrote the pod status');
    for (const w of writes) {
      const body = w.body as { patchType?: string; patch?: Record<string, unknown> };
      assert.equal(w.type, 'api.patch');
      assert.equal(body.patchType, 'merge');
      assert.deepEqual(Object.keys(body.patch ?? {}).sort(), ['metadata', 'status'], 'no spec: the API server keeps its own on this subresource');
      assert.deepEqual(body.patch?.metadata, { uid: created.metadata.uid });
    }
    const last = (writes.at(-1)!.body as { patch: { status: unknown } }).patch.status;
    assert.deepEqual(running.pod?.status, JSON.parse(JSON.stringify(last)), 'the stored status is the one the kubelet built');
    await h.sim.shutdown();
  });

  test('a field the pod\'s status has and the new one lacks is removed: the merge patch leaves the status the kubelet built', () => {
    const old: Pod = { metadata: { name: 'p', uid: 'u1' }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Pending', reason: 'RuntimeClassNotAvailable', message: 'no such runtime', nominatedNodeName: 'n', conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Other', status: 'True' }] } as Pod['status'] };
    const next = { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }], podIP: '10.0.0.2' } as NonNullable<Pod['status']>;
    const patch = statusPatch(old, next);
    assert.deepEqual(patch.metadata, { uid: 'u1' });
    const patched = mergePatch(JSON.parse(JSON.stringify(old)), JSON.parse(JSON.stringify(patch))) as unknown as Pod;
    assert.deepEqual(patched.status, next);
    assert.deepEqual(patched.spec, old.spec);
  });
});

describe('kubelet: Evented PLEG (feature gate EventedPLEG)', () => {
  const HOUR_MS = 3_600_000;
  const evented: Partial<KubeletArgs> = { featureGates: { EventedPLEG: true }, timing: { eventedRelistMs: HOUR_MS } };
  interface PlegSummary { relists: number; syncs: number; pleg?: { evented: boolean; streaming: string[]; relistPeriodMs: number; containerEvents: number; eventSyncs: number; streamFailures: number; fellBack: boolean } }
  const summary = async (h: Awaited<ReturnType<typeof harnessWith>>): Promise<PlegSummary> =>
    (await h.sim.inspect()).actors.find((a) => a.name === `kubelet-${NODE}`)!.summary as PlegSummary;
  const exitSeenWithin = async (kubeletArgs: Partial<KubeletArgs>, withinMs: number): Promise<{ seen: boolean; relists: number; h: Awaited<ReturnType<typeof harnessWith>> }> => {
    const h = await harnessWith(7, kubeletArgs);
    // Past the first relist (one generic period after registration, whatever the PLEG).
    await h.sim.runFor(2_000);
    await h.createPod(pod('once', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'sim/crash-after-2s:3' }] }));
    await h.waitForPod('once', (p) => p?.status?.phase === 'Running', 60_000, 10);
    const relistsBefore = (await summary(h)).relists;
    // Past the exit (2 s after the start), then at most `withinMs` for the kubelet to report it.
    await h.sim.runFor(2_000);
    const exited = (await h.containers())[0]!;
    assert.equal(exited.state, 'CONTAINER_EXITED');
    await h.sim.runFor(Math.max(0, exited.finishedAtMs + withinMs - h.sim.now()));
    const seen = (await h.getPod('once'))?.status?.phase === 'Failed';
    return { seen, relists: (await summary(h)).relists - relistsBefore, h };
  };

  test('a container\'s exit reaches the pod\'s status within 100 ms through its event, with no relist in between', async () => {
    const { seen, relists, h } = await exitSeenWithin(evented, 100);
    assert.ok(seen, 'the pod is Failed 100 ms after its only container exited');
    assert.equal(relists, 0, 'no relist ran: the event told the kubelet');
    const s = await summary(h);
    assert.deepEqual(s.pleg?.streaming, [`runtime-${NODE}`]);
    assert.equal(s.pleg?.relistPeriodMs, HOUR_MS, 'the relist is only the fallback');
    assert.ok((s.pleg?.containerEvents ?? 0) >= 3 && (s.pleg?.eventSyncs ?? 0) >= 1, JSON.stringify(s.pleg));
    await h.sim.shutdown();
  });

  test('control: without the gate and with the relist an hour apart, the same exit goes unnoticed (the events are what told it)', async () => {
    const { seen, h } = await exitSeenWithin({ timing: { relistMs: HOUR_MS } }, 100);
    assert.ok(!seen, 'nothing but a relist (or the pod resync a minute later) finds the exit');
    await h.sim.shutdown();
  });

  test('the runtime restarting ends the stream: the kubelet relists at once and reopens the stream, which then reports again', async () => {
    const h = await harnessWith(7, evented);
    await h.createPod(pod('survivor', { containers: [{ name: 'c', image: 'sim/run' }] }));
    await h.waitForPod('survivor', (p) => p?.status?.phase === 'Running');
    await h.sim.runFor(2_000);
    const relistsBefore = (await summary(h)).relists;
    await h.sim.faults.restart(`runtime-${NODE}`);
    await h.sim.runFor(50);
    assert.equal((await summary(h)).relists, relistsBefore + 1, 'the stream\'s end forced a relist within 50 ms');
    await h.sim.runFor(5_000);
    const s = await summary(h);
    assert.deepEqual(s.pleg?.streaming, [`runtime-${NODE}`], 'the stream is open again');
    assert.equal(s.pleg?.streamFailures, 1);
    assert.equal(s.pleg?.relistPeriodMs, HOUR_MS);
    // The reopened stream reports: a pod started now is Failed as soon as its container exits.
    await h.createPod(pod('after', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'sim/crash-after-1s:3' }] }));
    await h.waitForPod('after', (p) => p?.status?.phase === 'Failed', 10_000, 50);
    await h.sim.shutdown();
  });

  test('after five stream failures the kubelet falls back to relisting every second for good, and still sees exits', async () => {
    const h = await harnessWith(7, evented);
    await h.sim.runFor(2_000);
    for (let i = 0; i < 5; i++) {
      await h.sim.faults.restart(`runtime-${NODE}`);
      await h.sim.runFor(3_000);
    }
    const s = await summary(h);
    assert.equal(s.pleg?.fellBack, true, JSON.stringify(s.pleg));
    assert.equal(s.pleg?.relistPeriodMs, REALISTIC_KUBELET_TIMING.relistMs);
    assert.deepEqual(s.pleg?.streaming, []);
    await h.createPod(pod('late', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'sim/crash-after-1s:3' }] }));
    const failed = await h.waitForPod('late', (p) => p?.status?.phase === 'Failed', 30_000);
    assert.equal(failed.pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
    await h.sim.shutdown();
  });

  test('the same seed gives the same run with the gate on', async () => {
    const run = async () => {
      const h = await harnessWith(11, evented);
      await h.createPod(pod('crash', { containers: [{ name: 'c', image: 'sim/crash-after-1s:3' }] }));
      await h.sim.runFor(60_000);
      const status = JSON.stringify((await h.getPod('crash'))?.status);
      await h.sim.shutdown();
      return `${status} ${h.sim.traceHash()}`;
    };
    assert.equal(await run(), await run());
  });
});

export type { List };

test('durations in kubelet messages print as Go\'s time.Duration does (kubectl describe shows the real kubelet\'s)', () => {
  assert.deepEqual([500, 10_000, 80_000, 160_000, 300_000, 3_600_000, 1_500].map(formatGoDuration), ['500ms', '10s', '1m20s', '2m40s', '5m0s', '1h0m0s', '1.5s']);
});
