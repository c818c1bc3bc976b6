/**
 * A stand-in cluster for the hard-kill test: a process that hosts the process
 * runtime in a worker thread (as a cluster does), starts one container that
 * forks a grandchild, prints both pids as one JSON line, and waits to be killed.
 * Usage: node hard-kill-host.js <dataDir>
 */
import { isMainThread } from 'node:worker_threads';
import { ThreadedSystem, type ActorRef } from '../../../../actor/index.js';
import { criCall, type CriRequest } from '../../../cri/protocol.js';
import { processRuntime } from '../process-runtime.js';

async function main(dataDir: string): Promise<void> {
  const system = new ThreadedSystem({ seed: 1, dataDir, logLevel: process.env.LOG_LEVEL ?? 'fatal' });
  const runtime = (await system.spawn(processRuntime, { name: 'runtime-0', args: { allowProcesses: true, dataDir: `${dataDir}/runtime-0` } })) as unknown as ActorRef<CriRequest>;
  const config = { metadata: { name: 'victim', namespace: 'default', uid: 'uid-victim', attempt: 0 } };
  const sandbox = await criCall(runtime, 'RunPodSandbox', { config });
  if (!sandbox.ok) throw new Error(sandbox.error.message);
  await criCall(runtime, 'PullImage', { image: 'sh' });
  const created = await criCall(runtime, 'CreateContainer', {
    podSandboxId: sandbox.podSandboxId,
    config: { metadata: { name: 'main', attempt: 0 }, image: 'sh', args: ['-c', 'sleep 1000 & echo "grandchild $!"; echo "child $$"; wait'] },
  });
  if (!created.ok) throw new Error(created.error.message);
  const started = await criCall(runtime, 'StartContainer', { containerId: created.containerId });
  if (!started.ok) throw new Error(started.error.message);
  for (;;) {
    const logs = await criCall(runtime, 'ContainerLogs', { target: { containerId: created.containerId }, waitMs: 1_000 });
    if (logs.ok && /child \d+/.test(logs.data) && /grandchild \d+/.test(logs.data)) {
      const child = Number(/^child (\d+)/m.exec(logs.data)![1]);
      const grandchild = Number(/grandchild (\d+)/.exec(logs.data)![1]);
      process.stdout.write(JSON.stringify({ child, grandchild }) + '\n');
      break;
    }
  }
  await new Promise(() => undefined);
}

if (isMainThread) {
  main(process.argv[2]!).catch((error: unknown) => {
    process.stderr.write(String(error) + '\n');
    process.exit(1);
  });
}
