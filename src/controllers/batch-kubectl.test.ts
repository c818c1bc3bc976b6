/**
 * Job, CronJob and PodDisruptionBudget with the real kubectl against a
 * threaded cluster: the API server, a scheduler, a controller-manager and
 * one node whose sim runtime ends `sim/exit-after-1s` containers with 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { ThreadedSystem } from '../actor/index.js';
import { apiServer } from '../api/behaviour.js';
import type { ApiServerInfo, ApiServerMsg } from '../api/protocol.js';
import { timingFor } from '../cluster/spec.js';
import { spawnSchedulers } from '../../actors/scheduler.js';
import { spawnNode } from '../../actors/node.js';
import { spawnControllerManagers } from './behaviour.js';
import { KUBECTL, requireKubectl } from '../testing/tools.js';

const TIMING = timingFor('fast');

test('with the real kubectl: create job and wait for complete; create job --from=cronjob; a PDB at minAvailable = replicas makes drain fail reporting the budget, one of maxUnavailable 1 makes it evict one pod at a time', { skip: !isMainThread ? 'worker thread' : requireKubectl() }, async () => {
  const system = new ThreadedSystem({ seed: 18, logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-workloads-kubectl-'));
  try {
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: { port: 0 } } });
    const info = await system.ref<ApiServerMsg>('apiserver').ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 20_000 });
    writeFileSync(join(dir, 'kubeconfig'), info.kubeconfig!);
    await spawnSchedulers(system, { leaseDurationMs: TIMING.leaseDurationMs, renewDeadlineMs: TIMING.renewDeadlineMs, retryPeriodMs: TIMING.retryPeriodMs }, 1);
    await spawnControllerManagers(system, { timing: TIMING, replicas: 1 });
    await spawnNode(system, { index: 0, runtime: 'sim', allowProcesses: false, timing: TIMING, dataDir: undefined });
    const kubectl = (args: string[], input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
      if (input !== undefined) child.stdin!.end(input);
    });
    const run = async (args: string[], input?: string) => {
      const r = await kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await run(['wait', '--for=condition=Ready', 'node/node-0', '--timeout=30s']);

    // A Job from the command line, run to completion by the sim runtime.
    await run(['create', 'job', 'hello', '--image=sim/exit-after-1s']);
    assert.match(await run(['wait', '--for=condition=complete', 'job/hello', '--timeout=45s']), /job.batch\/hello condition met/);
    assert.match(await run(['get', 'jobs']), /^hello\s+Complete\s+1\/1\s+\d+s\s+\d+s$/m);
    const described = await run(['describe', 'job', 'hello']);
    assert.match(described, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/, described);
    assert.match(described, /Completed/, 'the Completed event');

    // A CronJob, and a Job made from it by hand.
    await run(['create', 'cronjob', 'tick', '--image=sim/exit-after-1s', '--schedule=*/30 * * * *']);
    assert.match(await run(['get', 'cj']), /^tick\s+\*\/30 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\d+s$/m);
    await run(['create', 'job', 'tick-by-hand', '--from=cronjob/tick']);
    assert.match(await run(['wait', '--for=condition=complete', 'job/tick-by-hand', '--timeout=45s']), /condition met/);
    const manual = JSON.parse(await run(['get', 'job', 'tick-by-hand', '-o', 'json'])) as { metadata: { annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] } };
    assert.equal(manual.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.deepEqual(manual.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`), ['CronJob/tick']);
    assert.match(await run(['get', 'all']), /cronjob.batch\/tick/, 'CronJobs are in the category all');
    const describedCron = await run(['describe', 'cronjob', 'tick']);
    assert.match(describedCron, /Schedule:\s+\*\/30 \* \* \* \*/, describedCron);
    assert.match(describedCron, /Concurrency Policy:\s+Allow/, describedCron);

    // A budget that allows no disruption: drain waits, then fails saying why.
    await run(['create', 'deployment', 'web', '--image=nginx', '--replicas=2']);
    assert.match(await run(['rollout', 'status', 'deployment/web', '--timeout=45s']), /successfully rolled out/);
    await run(['create', 'pdb', 'web', '--selector=app=web', '--min-available=2']);
    const pdbRow = /^web\s+2\s+N\/A\s+0\s+\d+s$/m;
    for (let i = 0; i < 50 && !pdbRow.test(await run(['get', 'pdb'])); i++) await new Promise((r) => setTimeout(r, 200));
    assert.match(await run(['get', 'pdb']), pdbRow);
    const status = JSON.parse(await run(['get', 'pdb', 'web', '-o', 'json'])) as { status: Record<string, unknown> };
    assert.deepEqual([status.status.currentHealthy, status.status.desiredHealthy, status.status.expectedPods, status.status.disruptionsAllowed], [2, 2, 2, 0]);
    const drain = await kubectl(['drain', 'node-0', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=5s']);
    assert.notEqual(drain.code, 0, 'the drain cannot finish');
    assert.match(drain.stderr, /Cannot evict pod as it would violate the pod's disruption budget\./, drain.stderr);
    assert.equal((await run(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim().split('\n').length, 2, 'both pods of the budget are still there');
    assert.match(await run(['describe', 'pdb', 'web']), /Allowed disruptions:\s+0/);

    // With room elsewhere and a budget of one disruption, drain evicts one pod at a time, waiting for each replacement.
    await spawnNode(system, { index: 1, runtime: 'sim', allowProcesses: false, timing: TIMING, dataDir: undefined });
    await run(['wait', '--for=condition=Ready', 'node/node-1', '--timeout=30s']);
    await run(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":null,"maxUnavailable":1}}']);
    const drained = await kubectl(['drain', 'node-0', '--ignore-daemonsets', '--timeout=90s']);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /node\/node-0 drained/);
    assert.match(drained.stderr, /will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./, 'the second eviction waited for the first replacement');
    const nodes = (await run(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}'])).trim().split(/\s+/);
    assert.deepEqual(nodes, ['node-1', 'node-1']);
  } finally {
    await system.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
