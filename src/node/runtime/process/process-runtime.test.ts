import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ThreadedSystem, type ActorRef } from '../../../actor/index.js';
import { criCall, type ContainerConfig, type CriReplies, type CriReply, type CriRequest, type CriRequestType, type CriRequests } from '../../cri/protocol.js';
import { RUNTIME_ID_ENV } from './watchdog.js';
import { processRuntime } from './process-runtime.js';

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function client(runtime: ActorRef<CriRequest>) {
  const call = <K extends CriRequestType>(type: K, body: CriRequests[K], timeoutMs = 20_000): Promise<CriReply<K>> => criCall(runtime, type, body, { timeoutMs });
  const must = async <K extends CriRequestType>(type: K, body: CriRequests[K], timeoutMs?: number): Promise<CriReplies[K]> => {
    const reply = await call(type, body, timeoutMs);
    if (!reply.ok) assert.fail(`${type} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply as CriReplies[K];
  };
  let pods = 0;
  const runPod = async (config: Partial<ContainerConfig> & { image: string }, name = `pod-${pods++}`) => {
    const { podSandboxId, ip } = await must('RunPodSandbox', { config: { metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 } } });
    await must('PullImage', { image: config.image });
    const { containerId } = await must('CreateContainer', { podSandboxId, config: { metadata: { name: 'main', attempt: 0 }, ...config } });
    await must('StartContainer', { containerId });
    return { podSandboxId, ip, containerId };
  };
  const status = async (containerId: string) => (await must('ContainerStatus', { containerId })).status;
  const waitExited = async (containerId: string) => {
    await eventually(async () => (await status(containerId)).state === 'CONTAINER_EXITED', `container ${containerId} to exit`);
    return status(containerId);
  };
  const logsUntil = async (containerId: string, pattern: RegExp) => {
    let text = '';
    await eventually(async () => {
      const reply = await must('ContainerLogs', { target: { containerId }, waitMs: 500 });
      text = reply.data;
      return pattern.test(text);
    }, `log of ${containerId} to match ${pattern}`);
    return text;
  };
  return { call, must, runPod, status, waitExited, logsUntil };
}

describe('process runtime', () => {
  let system: ThreadedSystem;
  let dataDir: string;
  let c: ReturnType<typeof client>;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-process-'));
    system = new ThreadedSystem({ seed: 5, dataDir, logLevel: 'fatal' });
    const runtime = await system.spawn(processRuntime, { name: 'runtime-0', args: { allowProcesses: true, dataDir: path.join(dataDir, 'runtime-0') } });
    await system.spawn(processRuntime, { name: 'runtime-forbidden', args: {} });
    c = client(runtime as unknown as ActorRef<CriRequest>);
  });

  after(async () => {
    await system.shutdown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('without allowProcesses it refuses to run anything, and says how to enable it', async () => {
    const forbidden = client(system.ref('runtime-forbidden') as unknown as ActorRef<CriRequest>);
    for (const reply of [
      await forbidden.call('RunPodSandbox', { config: { metadata: { name: 'x', namespace: 'default', uid: 'u', attempt: 0 } } }),
      await forbidden.call('PullImage', { image: 'sh' }),
    ]) {
      assert.equal(reply.ok, false);
      assert.equal(!reply.ok && reply.error.code, 'PermissionDenied');
      assert.match(!reply.ok ? reply.error.message : '', /allowProcesses: true/);
    }
  });

  test('a pod serves on its own loopback IP, given to it as POD_IP, with env, args and workingDir', async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-wd-'));
    const server = `require('net').createServer((s) => s.end(process.env.GREETING + ' from ' + process.env.POD_NAME + ' in ' + process.cwd())).listen(7000, process.env.POD_IP, () => console.log('listening on', process.env.POD_IP))`;
    const pod = await c.runPod({ image: 'node', args: ['-e', server], envs: [{ name: 'GREETING', value: 'hello' }], workingDir: workDir }, 'web');
    assert.match(pod.ip, /^127\.10\.\d+\.\d+$/);
    await c.logsUntil(pod.containerId, /listening on 127\.10\./);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(7000, pod.ip);
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.equal(answer, `hello from web in ${fs.realpathSync(workDir)}`);
    const stopped = await c.must('StopContainer', { containerId: pod.containerId, timeoutMs: 5_000 });
    assert.equal(stopped.status.exitCode, 143, 'node has no SIGTERM handler: it dies of the signal');
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('exit codes and both output streams reach the status and the log', async () => {
    const pod = await c.runPod({ image: 'sh', args: ['-c', 'echo to-stdout; echo to-stderr >&2; exit 3'] });
    const s = await c.waitExited(pod.containerId);
    assert.deepEqual([s.exitCode, s.reason], [3, 'Error']);
    const logs = await c.must('ContainerLogs', { target: { containerId: pod.containerId } });
    assert.equal(logs.data, 'to-stdout\nto-stderr\n');
    assert.equal(logs.complete, true);
    const ok = await c.runPod({ image: 'true' });
    assert.deepEqual([(await c.waitExited(ok.containerId)).reason], ['Completed']);
  });

  test('a missing executable is refused at create time with RunContainerError', async () => {
    const { podSandboxId } = await c.must('RunPodSandbox', { config: { metadata: { name: 'bad', namespace: 'default', uid: 'uid-bad', attempt: 0 } } });
    await c.must('PullImage', { image: 'no-such-program-kubethreads' });
    const reply = await c.call('CreateContainer', { podSandboxId, config: { metadata: { name: 'main', attempt: 0 }, image: 'no-such-program-kubethreads' } });
    assert.equal(!reply.ok && reply.error.code, 'RunContainerError');
  });

  test('stop sends SIGTERM to the whole group, then SIGKILL after the grace period, and no grandchild survives', async () => {
    const pod = await c.runPod({ image: 'sh', args: ['-c', `trap '' TERM; sleep 1000 & echo "grandchild $!"; while :; do sleep 1; done`] });
    const text = await c.logsUntil(pod.containerId, /grandchild \d+/);
    const grandchild = Number(/grandchild (\d+)/.exec(text)![1]);
    assert.ok(alive(grandchild));
    const startedMs = Date.now();
    const stopped = await c.must('StopContainer', { containerId: pod.containerId, timeoutMs: 300 });
    assert.equal(stopped.status.exitCode, 137, 'ignored SIGTERM: killed');
    assert.ok(Date.now() - startedMs >= 300, 'the grace period was honoured before the kill');
    await eventually(() => !alive(grandchild), 'the grandchild to die with its group');
  });

  test('following a log streams lines as they are written, and --previous reads the dead instance', async () => {
    const { podSandboxId } = await c.must('RunPodSandbox', { config: { metadata: { name: 'counter', namespace: 'default', uid: 'uid-counter', attempt: 0 } } });
    await c.must('PullImage', { image: 'sh' });
    const script = 'for i in 1 2 3 4; do echo "line $i"; sleep 0.1; done; exit 1';
    const first = await c.must('CreateContainer', { podSandboxId, config: { metadata: { name: 'main', attempt: 0 }, image: 'sh', args: ['-c', script] } });
    await c.must('StartContainer', { containerId: first.containerId });
    let offsetBytes = 0;
    const chunks: string[] = [];
    for (let i = 0; i < 50; i++) {
      const reply = await c.must('ContainerLogs', { target: { containerId: first.containerId }, offsetBytes, waitMs: 5_000 });
      if (reply.data !== '') chunks.push(reply.data);
      offsetBytes = reply.nextOffsetBytes;
      if (reply.complete) break;
    }
    assert.equal(chunks.join(''), 'line 1\nline 2\nline 3\nline 4\n');
    assert.ok(chunks.length >= 2, `the follower saw the log grow in steps, got ${chunks.length} chunk(s)`);
    const second = await c.must('CreateContainer', { podSandboxId, config: { metadata: { name: 'main', attempt: 1 }, image: 'sh', args: ['-c', 'echo second life; sleep 1000'] } });
    await c.must('StartContainer', { containerId: second.containerId });
    const previous = await c.must('ContainerLogs', { target: { podSandboxId, containerName: 'main', previous: true }, tailLines: 2 });
    assert.equal(previous.data, 'line 3\nline 4\n');
    await c.logsUntil(second.containerId, /second life/);
    await c.must('RemovePodSandbox', { podSandboxId });
    const gone = await c.call('ContainerLogs', { target: { containerId: first.containerId } });
    assert.equal(!gone.ok && gone.error.code, 'NotFound');
  });

  test('killing the runtime actor takes its containers with it', async () => {
    const spare = await system.spawn(processRuntime, { name: 'runtime-doomed', args: { allowProcesses: true, dataDir: path.join(dataDir, 'runtime-doomed'), podCidr: '127.10.200.0/24' }, supervision: { restart: 'temporary' } });
    const d = client(spare as unknown as ActorRef<CriRequest>);
    const pod = await d.runPod({ image: 'sh', args: ['-c', 'echo "pid $$"; exec sleep 1000'] });
    const text = await d.logsUntil(pod.containerId, /pid \d+/);
    const pid = Number(/pid (\d+)/.exec(text)![1]);
    assert.ok(alive(pid));
    await system.faults.kill('runtime-doomed');
    await eventually(() => !alive(pid), 'the container to die with its runtime thread');
  });

  test('a runtime starting on a data dir kills the orphans of its earlier incarnation, and only those', async () => {
    const orphanDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-orphans-'));
    const runtimeId = 'runtime-orphans@test';
    const spawnMarked = (id: string) => spawn('sleep', ['1000'], { detached: true, stdio: 'ignore', env: { ...process.env, [RUNTIME_ID_ENV]: id } });
    const orphan = spawnMarked(runtimeId);
    const stranger = spawnMarked('someone-else');
    try {
      assert.ok(alive(orphan.pid!) && alive(stranger.pid!));
      await system.spawn(processRuntime, { name: 'runtime-orphans', args: { allowProcesses: true, dataDir: orphanDir, runtimeId, podCidr: '127.10.201.0/24' } });
      await eventually(() => !alive(orphan.pid!) || orphan.exitCode !== null || orphan.signalCode !== null, 'the orphan to be killed');
      assert.equal(orphan.signalCode, 'SIGKILL');
      assert.ok(alive(stranger.pid!), 'a process of another runtime is left alone');
    } finally {
      stranger.kill('SIGKILL');
      orphan.kill('SIGKILL');
      fs.rmSync(orphanDir, { recursive: true, force: true });
    }
  });
});

test('no container outlives a SIGKILLed host process, grandchildren included', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-hardkill-'));
  const hostScript = fileURLToPath(new URL('./testing/hard-kill-host.js', import.meta.url));
  const host = spawn(process.execPath, [hostScript, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      host.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      host.on('exit', (code) => reject(new Error(`the host exited early with ${code}`)));
    });
    const { child, grandchild } = JSON.parse(line) as { child: number; grandchild: number };
    assert.ok(alive(child) && alive(grandchild));
    host.kill('SIGKILL');
    await eventually(() => !alive(child) && !alive(grandchild), 'the container and its grandchild to die with the host');
  } finally {
    host.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
