import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedSystem, defineBehaviour, type ActorRef, type Message } from '../../../actor/index.js';
import { criCall, type ContainerConfig, type ContainerEvent, type CriReplies, type CriReply, type CriRequestType, type CriRequests, type PodSandboxConfig } from '../../cri/protocol.js';
import { simRuntime, type SimRuntimeArgs } from './sim-runtime.js';
import { SIM_ANNOTATION_PREFIX } from './script.js';

const START_MS = 1_700_000_000_000;

function podConfig(name: string, annotations: Record<string, string> = {}): PodSandboxConfig {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 }, annotations, labels: { app: name } };
}

function containerConfig(name: string, image: string, attempt = 0): ContainerConfig {
  return { metadata: { name, attempt }, image, labels: { container: name } };
}

/** One sim runtime in a SimulatedSystem, with typed calls that run virtual time until they answer. */
async function harness(seed = 1, args: SimRuntimeArgs = {}) {
  const sim = new SimulatedSystem({ seed, startMs: START_MS });
  const ref = await sim.spawn(simRuntime, { name: 'runtime-0', args });
  const call = <K extends CriRequestType>(type: K, body: CriRequests[K], maxMs = 600_000): Promise<CriReply<K>> =>
    sim.settle(criCall(ref as unknown as ActorRef<never>, type, body, { timeoutMs: maxMs }), { maxMs });
  const must = async <K extends CriRequestType>(type: K, body: CriRequests[K]): Promise<CriReplies[K]> => {
    const reply = await call(type, body);
    if (!reply.ok) assert.fail(`${type} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply as CriReplies[K];
  };
  /** Sandbox, pull, create, start: what a kubelet does for one container. */
  const runPod = async (name: string, image: string, annotations: Record<string, string> = {}) => {
    const { podSandboxId, ip } = await must('RunPodSandbox', { config: podConfig(name, annotations) });
    await must('PullImage', { image, sandboxConfig: podConfig(name, annotations) });
    const { containerId } = await must('CreateContainer', { podSandboxId, config: containerConfig('main', image) });
    await must('StartContainer', { containerId });
    return { podSandboxId, ip, containerId };
  };
  const status = async (containerId: string) => (await must('ContainerStatus', { containerId })).status;
  return { sim, ref, call, must, runPod, status };
}

/** Subscribes to a runtime's container events (GetContainerEvents) and keeps what arrives, in order. */
const eventSink = defineBehaviour<Message, { runtime: string }>(import.meta.url, 'event-sink', (ctx, args) => {
  const got: { event: ContainerEvent; from: string }[] = [];
  return {
    async receive(msg, meta) {
      if (msg.type === 'sink.subscribe') return criCall({ ask: (m, o) => ctx.ask(args.runtime, m, o) }, 'GetContainerEvents', {}, { timeoutMs: 10_000 });
      if (msg.type === 'sink.got') return got;
      if (msg.type === 'cri.containerEvent') got.push({ event: msg.body as ContainerEvent, from: meta.from });
      return undefined;
    },
  };
});

describe('sim runtime', () => {
  test('GetContainerEvents streams every container transition, in order, with the status after it, to each subscriber of the incarnation', async () => {
    const h = await harness();
    await h.sim.spawn(eventSink, { name: 'sink', args: { runtime: 'runtime-0' } });
    await h.sim.spawn(eventSink, { name: 'late', args: { runtime: 'runtime-0' } });
    const subscribed = await h.sim.settle(h.sim.ref('sink').ask<{ ok: boolean }>({ type: 'sink.subscribe', body: null }));
    assert.ok(subscribed.ok);
    // Subscribing twice changes nothing: one copy of each event.
    assert.ok((await h.sim.settle(h.sim.ref('sink').ask<{ ok: boolean }>({ type: 'sink.subscribe', body: null }))).ok);
    const { containerId, podSandboxId } = await h.runPod('crasher', 'sim/crash-after-2s:3');
    await h.sim.settle(h.sim.ref('late').ask({ type: 'sink.subscribe', body: null }));
    await h.sim.runFor(3_000);
    await h.must('RemovePodSandbox', { podSandboxId });
    await h.sim.runFor(100);
    const got = await h.sim.settle(h.sim.ref('sink').ask<{ event: ContainerEvent; from: string }[]>({ type: 'sink.got', body: null }));
    assert.deepEqual(got.map((g) => `${g.event.type} ${g.event.status.state}`), [
      'CONTAINER_CREATED_EVENT CONTAINER_CREATED',
      'CONTAINER_STARTED_EVENT CONTAINER_RUNNING',
      'CONTAINER_STOPPED_EVENT CONTAINER_EXITED',
      'CONTAINER_DELETED_EVENT CONTAINER_EXITED',
    ]);
    for (const g of got) {
      assert.equal(g.from, 'runtime-0');
      assert.equal(g.event.podUid, 'uid-crasher');
      assert.equal(g.event.status.id, containerId);
    }
    const stopped = got[2]!.event;
    assert.equal(stopped.status.exitCode, 3);
    assert.equal(stopped.createdAtMs, stopped.status.finishedAtMs, 'sent when it happened');
    const late = await h.sim.settle(h.sim.ref('late').ask<{ event: ContainerEvent }[]>({ type: 'sink.got', body: null }));
    assert.deepEqual(late.map((g) => g.event.type), ['CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT'], 'a subscriber gets what happens after it subscribed');
    // A new incarnation has no subscribers: the stream ended with the old one.
    await h.sim.faults.restart('runtime-0');
    await h.sim.runFor(100);
    await h.runPod('after', 'sim/run');
    await h.sim.runFor(100);
    const after = await h.sim.settle(h.sim.ref('sink').ask<unknown[]>({ type: 'sink.got', body: null }));
    assert.equal(after.length, 4, 'nothing from the restarted runtime until subscribed again');
    await h.sim.shutdown();
  });

  test('a pod runs until stopped; SIGTERM ends it with 143 and the log tells the story', async () => {
    const h = await harness();
    const { ip, containerId, podSandboxId } = await h.runPod('web', 'nginx:1.25');
    assert.match(ip, /^10\.244\.\d+\.\d+$/);
    await h.sim.runFor(3_600_000);
    assert.equal((await h.status(containerId)).state, 'CONTAINER_RUNNING');
    const stopped = await h.must('StopContainer', { containerId, timeoutMs: 30_000 });
    assert.equal(stopped.status.state, 'CONTAINER_EXITED');
    assert.equal(stopped.status.exitCode, 143);
    assert.equal(stopped.status.reason, 'Error');
    const logs = await h.must('ContainerLogs', { target: { podSandboxId, containerName: 'main' } });
    assert.match(logs.data, /started nginx:1\.25/);
    assert.match(logs.data, /SIGTERM/);
    assert.equal(logs.complete, true);
    await h.sim.shutdown();
  });

  test('sim/crash-after-5s:1 exits with code 1 five virtual seconds after it started', async () => {
    const h = await harness();
    const { containerId } = await h.runPod('crashy', 'sim/crash-after-5s:1');
    const started = await h.status(containerId);
    await h.sim.runFor(4_900);
    assert.equal((await h.status(containerId)).state, 'CONTAINER_RUNNING');
    await h.sim.runFor(200);
    const ended = await h.status(containerId);
    assert.equal(ended.state, 'CONTAINER_EXITED');
    assert.equal(ended.exitCode, 1);
    assert.equal(ended.reason, 'Error');
    assert.equal(ended.finishedAtMs - started.startedAtMs, 5_000);
    await h.sim.shutdown();
  });

  test('a Job-like image completes with 0 and an OOM image reports OOMKilled', async () => {
    const h = await harness();
    const job = await h.runPod('job', 'sim/exit-after-2s');
    const oom = await h.runPod('hog', 'sim/oom-after-1s');
    await h.sim.runFor(3_000);
    const done = await h.status(job.containerId);
    assert.deepEqual([done.state, done.exitCode, done.reason], ['CONTAINER_EXITED', 0, 'Completed']);
    const killed = await h.status(oom.containerId);
    assert.deepEqual([killed.exitCode, killed.reason], [137, 'OOMKilled']);
    await h.sim.shutdown();
  });

  test('crash-attempts heals a crash loop, and --previous reads the dead attempt', async () => {
    const h = await harness();
    const annotations = { 'sim.kubethreads.io/exit-after': '1s', 'sim.kubethreads.io/exit-code': '3', 'sim.kubethreads.io/crash-attempts': '1' };
    const { podSandboxId, containerId } = await h.runPod('flaky', 'busybox', annotations);
    await h.sim.runFor(1_500);
    assert.equal((await h.status(containerId)).exitCode, 3);
    const second = await h.must('CreateContainer', { podSandboxId, config: containerConfig('main', 'busybox', 1) });
    await h.must('StartContainer', { containerId: second.containerId });
    await h.sim.runFor(60_000);
    assert.equal((await h.status(second.containerId)).state, 'CONTAINER_RUNNING');
    const previous = await h.must('ContainerLogs', { target: { podSandboxId, containerName: 'main', previous: true } });
    assert.equal(previous.containerId, containerId);
    assert.match(previous.data, /exiting with code 3/);
    const current = await h.must('ContainerLogs', { target: { podSandboxId, containerName: 'main' } });
    assert.equal(current.containerId, second.containerId);
    assert.doesNotMatch(current.data, /exiting/);
    await h.sim.shutdown();
  });

  test('pull and start failures are values with the kubelet-facing codes', async () => {
    const h = await harness();
    const pull = await h.call('PullImage', { image: 'sim/pull-fail' });
    assert.equal(pull.ok, false);
    assert.equal(!pull.ok && pull.error.code, 'ErrImagePull');
    const { podSandboxId } = await h.must('RunPodSandbox', { config: podConfig('bad') });
    await h.must('PullImage', { image: 'sim/start-fail' });
    const { containerId } = await h.must('CreateContainer', { podSandboxId, config: containerConfig('main', 'sim/start-fail') });
    const start = await h.call('StartContainer', { containerId });
    assert.equal(!start.ok && start.error.code, 'RunContainerError');
    const s = await h.status(containerId);
    assert.deepEqual([s.state, s.reason], ['CONTAINER_EXITED', 'ContainerCannotRun']);
    const unknownBehaviour = await h.call('PullImage', { image: 'sim/explode' });
    assert.equal(!unknownBehaviour.ok && unknownBehaviour.error.code, 'ErrImagePull');
    await h.sim.shutdown();
  });

  test('protocol misuse gets NotFound, FailedPrecondition and AlreadyExists', async () => {
    const h = await harness();
    const { podSandboxId } = await h.must('RunPodSandbox', { config: podConfig('p') });
    const unpulled = await h.call('CreateContainer', { podSandboxId, config: containerConfig('main', 'redis') });
    assert.equal(!unpulled.ok && unpulled.error.code, 'FailedPrecondition');
    await h.must('PullImage', { image: 'redis' });
    await h.must('CreateContainer', { podSandboxId, config: containerConfig('main', 'redis') });
    const twice = await h.call('CreateContainer', { podSandboxId, config: containerConfig('main', 'redis') });
    assert.equal(!twice.ok && twice.error.code, 'AlreadyExists');
    const missing = await h.call('StartContainer', { containerId: 'nope' });
    assert.equal(!missing.ok && missing.error.code, 'NotFound');
    const again = await h.must('RunPodSandbox', { config: podConfig('p') });
    assert.equal(again.podSandboxId, podSandboxId, 'RunPodSandbox is idempotent per pod uid and attempt');
    await h.sim.shutdown();
  });

  test('a container that ignores SIGTERM is killed at the end of its grace period', async () => {
    const h = await harness();
    const { containerId } = await h.runPod('stubborn', 'sim/ignore-sigterm');
    const before = h.sim.now();
    const stopped = await h.must('StopContainer', { containerId, timeoutMs: 3_000 });
    assert.equal(stopped.status.exitCode, 137);
    assert.equal(stopped.status.finishedAtMs - before >= 3_000, true);
    await h.sim.shutdown();
  });

  test('following a log wakes on each new line instead of waiting out the poll', async () => {
    const h = await harness();
    const { containerId } = await h.runPod('chatty', 'sim/exit-after-3500ms', { 'sim.kubethreads.io/log-every': '1s' });
    let offsetBytes = 0;
    const seen: string[] = [];
    const wakeTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await h.must('ContainerLogs', { target: { containerId }, offsetBytes, waitMs: 30_000 });
      seen.push(reply.data);
      wakeTimes.push(h.sim.now());
      offsetBytes = reply.nextOffsetBytes;
      if (reply.complete) break;
    }
    const text = seen.join('');
    assert.equal(text.match(/alive/g)?.length, 3);
    assert.match(text, /exiting with code 0$/m);
    assert.ok(wakeTimes[wakeTimes.length - 1]! - START_MS < 5_000, 'the follower finished when the container did, not after a 30 s wait');
    await h.sim.shutdown();
  });

  test('StopPodSandbox stops every container and frees the pod IP; RemovePodSandbox forgets all', async () => {
    const h = await harness(3, { podCidr: '10.9.0.0/30' });
    const first = await h.runPod('a', 'app');
    await h.must('RunPodSandbox', { config: podConfig('b') });
    const full = await h.call('RunPodSandbox', { config: podConfig('c') });
    assert.equal(!full.ok && full.error.code, 'ResourceExhausted', 'a /30 holds two pod IPs, both taken');
    await h.must('StopPodSandbox', { podSandboxId: first.podSandboxId });
    assert.equal((await h.status(first.containerId)).exitCode, 137, 'no grace: killed');
    await h.must('RemovePodSandbox', { podSandboxId: first.podSandboxId });
    assert.deepEqual((await h.must('ListContainers', {})).items, []);
    const again = await h.must('RunPodSandbox', { config: podConfig('c') });
    assert.equal(again.ip, first.ip, 'the freed address is the only one left');
    await h.sim.shutdown();
  });

  test('the same seed replays the same timeline with jitter; another seed does not', async () => {
    const run = async (seed: number) => {
      const h = await harness(seed, { defaults: { pullMs: 800, startMs: 200, jitter: 0.5 } });
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await h.runPod(`p${i}`, `sim/crash-after-10s:${i + 1}`, { 'sim.kubethreads.io/jitter': '0.5' })).containerId);
      await h.sim.runFor(30_000);
      const timeline = [];
      for (const id of ids) {
        const s = await h.status(id);
        timeline.push([id, s.startedAtMs, s.finishedAtMs, s.exitCode]);
      }
      const hash = h.sim.traceHash();
      await h.sim.shutdown();
      return { timeline, hash };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.timeline, c.timeline);
  });
  test('its own timers are handled, not counted as unhandled; an unknown message type is', async () => {
    const h = await harness();
    const { containerId } = await h.runPod('web', 'nginx:1.25', { [`${SIM_ANNOTATION_PREFIX}log-every`]: '1s' });
    await h.sim.runFor(60_000); // a log line every second, each from a sim.fire timer
    await h.must('StopContainer', { containerId, timeoutMs: 30_000 }); // and the SIGTERM exit, another
    const unhandledOf = async () => (await h.sim.inspect()).actors.find((a) => a.name === 'runtime-0')!.unhandled;
    assert.equal(await unhandledOf(), 0);
    h.ref.tell({ type: 'no.such.type', body: null } as never);
    await h.sim.runFor(10);
    assert.equal(await unhandledOf(), 1);
    await h.sim.shutdown();
  });
});
