import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { ThreadedSystem, type ActorRef } from '../../../actor/index.js';
import { criCall, type CriReplies, type CriReply, type CriRequest, type CriRequestType, type CriRequests } from '../../cri/protocol.js';
import { workerRuntime } from './worker-runtime.js';

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const TASKS: Record<string, string> = {
  'report.mjs': `export default async function (ctx) { console.log('pod', ctx.env.POD_NAME, 'args', ctx.args.join(',')); console.error('to stderr'); return Number(ctx.args[0]); }`,
  'throws.mjs': `export default function () { throw new Error('task blew up'); }`,
  'graceful.mjs': `export default async function (ctx) { console.log('waiting'); await new Promise((r) => ctx.signal.addEventListener('abort', r)); console.log('asked to stop'); return { exitCode: 0 }; }`,
  'spin.mjs': `export default function () { console.log('spinning'); for (;;) {} }`,
  'gate.mjs': `import fs from 'node:fs'; export default async function (ctx) { console.log('started'); while (!fs.existsSync(ctx.args[0])) await new Promise((r) => setTimeout(r, 10)); return 0; }`,
};

describe('worker runtime', () => {
  let system: ThreadedSystem;
  let dir: string;
  let pods = 0;

  const call = <K extends CriRequestType>(name: string, type: K, body: CriRequests[K]): Promise<CriReply<K>> =>
    criCall(system.ref(name) as unknown as ActorRef<CriRequest>, type, body, { timeoutMs: 20_000 });
  const must = async <K extends CriRequestType>(name: string, type: K, body: CriRequests[K]): Promise<CriReplies[K]> => {
    const reply = await call(name, type, body);
    if (!reply.ok) assert.fail(`${type} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply as CriReplies[K];
  };
  const image = (task: string) => `js:${path.join(dir, task)}`;
  const runTask = async (task: string, args: string[], runtime = 'runtime-w') => {
    const name = `task-${pods++}`;
    const { podSandboxId } = await must(runtime, 'RunPodSandbox', { config: { metadata: { name, namespace: 'jobs', uid: `uid-${name}`, attempt: 0 } } });
    await must(runtime, 'PullImage', { image: image(task) });
    const { containerId } = await must(runtime, 'CreateContainer', { podSandboxId, config: { metadata: { name: 'main', attempt: 0 }, image: image(task), args } });
    await must(runtime, 'StartContainer', { containerId });
    return { name, containerId };
  };
  const status = async (containerId: string, runtime = 'runtime-w') => (await must(runtime, 'ContainerStatus', { containerId })).status;
  const exited = async (containerId: string, runtime = 'runtime-w') => {
    await eventually(async () => (await status(containerId, runtime)).state === 'CONTAINER_EXITED', `${containerId} to exit`);
    return status(containerId, runtime);
  };
  const logOf = async (containerId: string, runtime = 'runtime-w') => (await must(runtime, 'ContainerLogs', { target: { containerId } })).data;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-tasks-'));
    for (const [file, source] of Object.entries(TASKS)) fs.writeFileSync(path.join(dir, file), source);
    system = new ThreadedSystem({ seed: 9, logLevel: 'fatal' });
    await system.spawn(workerRuntime, { name: 'runtime-w', args: { cpus: 2 } });
  });

  after(async () => {
    await system.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a task gets its args and env, its console is the log, and its result is the exit code', async () => {
    const { name, containerId } = await runTask('report.mjs', ['7', 'b']);
    const s = await exited(containerId);
    assert.deepEqual([s.exitCode, s.reason], [7, 'Error']);
    assert.equal(await logOf(containerId), `pod ${name} args 7,b\nto stderr\n`);
    const zero = await runTask('report.mjs', ['0']);
    assert.equal((await exited(zero.containerId)).reason, 'Completed');
  });

  test('a throwing task exits 1 with its stack in the log', async () => {
    const { containerId } = await runTask('throws.mjs', []);
    assert.equal((await exited(containerId)).exitCode, 1);
    assert.match(await logOf(containerId), /Error: task blew up\n\s+at /);
  });

  test('stop aborts the task signal, and a task that ignores it is terminated after the grace period', async () => {
    const polite = await runTask('graceful.mjs', []);
    await eventually(async () => (await logOf(polite.containerId)).includes('waiting'), 'the task to start');
    const stopped = await must('runtime-w', 'StopContainer', { containerId: polite.containerId, timeoutMs: 10_000 });
    assert.equal(stopped.status.exitCode, 0);
    assert.equal(await logOf(polite.containerId), 'waiting\nasked to stop\n');
    const rude = await runTask('spin.mjs', []);
    await eventually(async () => (await logOf(rude.containerId)).includes('spinning'), 'the spinner to start');
    const killed = await must('runtime-w', 'StopContainer', { containerId: rude.containerId, timeoutMs: 200 });
    assert.equal(killed.status.exitCode, 137);
  });

  test('the pool runs as many tasks at once as the node has CPUs; the rest wait their turn', async () => {
    const gate = path.join(dir, 'open-gate');
    const started = async (ids: string[]) => {
      let n = 0;
      for (const id of ids) if ((await logOf(id)).includes('started')) n++;
      return n;
    };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await runTask('gate.mjs', [gate])).containerId);
    await eventually(async () => (await started(ids)) === 2, 'two tasks to start');
    await sleep(300);
    assert.equal(await started(ids), 2, 'a 2-CPU node runs two tasks at a time');
    fs.writeFileSync(gate, '');
    for (const id of ids) assert.equal((await exited(id)).exitCode, 0);
    assert.equal(await started(ids), 3);
  });

  test('images that name no module, or a missing one, fail to pull', async () => {
    for (const bad of ['busybox:1.36', `js:${path.join(dir, 'missing.mjs')}`]) {
      const reply = await call('runtime-w', 'PullImage', { image: bad });
      assert.equal(!reply.ok && reply.error.code, 'ErrImagePull', bad);
    }
    const byUrl = await call('runtime-w', 'PullImage', { image: pathToFileURL(path.join(dir, 'report.mjs')).href });
    assert.equal(byUrl.ok, true);
  });
});
