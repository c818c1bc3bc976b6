import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedSystem, type ActorRef } from '../../../actor/index.js';
import { criCall, type CriRequest } from '../../cri/protocol.js';
import { simRuntime } from './sim-runtime.js';

const NODES = 1_000;
const PODS = 10_000;

test('1,000 sim runtimes in one thread run 10,000 pods, a tenth of them on a crash schedule', async (t) => {
  const sim = new SimulatedSystem({ seed: 2024 });
  const heapBeforeBytes = process.memoryUsage().heapUsed;
  const refs: ActorRef<CriRequest>[] = [];
  for (let n = 0; n < NODES; n++) {
    const ref = await sim.spawn(simRuntime, {
      name: `runtime-${n}`,
      placement: `nodes-${n % 4}`,
      args: { podCidr: `10.${100 + (n >> 8)}.${n & 255}.0/24`, defaults: { pullMs: 2_000, startMs: 300, jitter: 0.3 } },
    });
    refs.push(ref as unknown as ActorRef<CriRequest>);
  }
  const startedAtMs = Date.now();
  // Every 10th pod crashes after a minute, for one attempt; the rest serve.
  const launch = async (i: number) => {
    const runtime = refs[i % NODES]!;
    const annotations: Record<string, string> = i % 10 === 0 ? { 'sim.kubethreads.io/exit-after': '60s', 'sim.kubethreads.io/exit-code': '2' } : {};
    const config = { metadata: { name: `pod-${i}`, namespace: 'default', uid: `uid-${i}`, attempt: 0 }, annotations };
    const sandbox = await criCall(runtime, 'RunPodSandbox', { config });
    assert.ok(sandbox.ok);
    const image = `registry/app:v${i % 3}`;
    assert.ok((await criCall(runtime, 'PullImage', { image, sandboxConfig: config }, { timeoutMs: 60_000 })).ok);
    const created = await criCall(runtime, 'CreateContainer', { podSandboxId: sandbox.podSandboxId, config: { metadata: { name: 'app', attempt: 0 }, image } });
    assert.ok(created.ok);
    const started = await criCall(runtime, 'StartContainer', { containerId: created.containerId }, { timeoutMs: 60_000 });
    assert.ok(started.ok);
    return sandbox.ip;
  };
  const ips = await sim.settle(Promise.all(Array.from({ length: PODS }, (_, i) => launch(i))), { maxMs: 600_000 });
  const runningAtMs = sim.now();
  assert.equal(new Set(ips).size, PODS, 'every pod has its own IP');
  await sim.runFor(90_000);
  let running = 0;
  let crashed = 0;
  for (const runtime of refs) {
    const list = await sim.settle(criCall(runtime, 'ListContainers', {}));
    assert.ok(list.ok);
    for (const c of list.items) {
      if (c.state === 'CONTAINER_RUNNING') running++;
      else if (c.state === 'CONTAINER_EXITED' && c.exitCode === 2) crashed++;
    }
  }
  assert.equal(running, PODS * 0.9);
  assert.equal(crashed, PODS * 0.1);
  const wallMs = Date.now() - startedAtMs;
  const heapBytes = process.memoryUsage().heapUsed - heapBeforeBytes;
  t.diagnostic(`${PODS} pods on ${NODES} sim runtimes: running after ${runningAtMs - 1_700_000_000_000} virtual ms, ${wallMs} ms of wall time, ~${Math.round(heapBytes / PODS)} heap bytes per pod (with its runtime share)`);
  const inspect = await sim.inspect();
  assert.equal(new Set(inspect.actors.filter((a) => a.name.startsWith('runtime-')).map((a) => a.thread)).size, 1, 'all in one thread');
  await sim.shutdown();
});
