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
import { spawnControllerManagers } from './behaviour.js';
import { podStandIn } from './testing.js';
import { KUBECTL, requireKubectl } from '../testing/tools.js';


test('with the real kubectl: create deployment, set image, rollout status, rollout history, rollout undo', { skip: !isMainThread ? 'worker thread' : requireKubectl() }, async () => {
  const system = new ThreadedSystem({ seed: 7, logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-controllers-kubectl-'));
  try {
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: { port: 0 } } });
    const info = await system.ref<ApiServerMsg>('apiserver').ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 20_000 });
    writeFileSync(join(dir, 'kubeconfig'), info.kubeconfig!);
    // No kubelet here: the stand-in makes pods Ready so rollouts can finish.
    await system.spawn(podStandIn, { name: 'standin', args: { readyDelayMs: 50, app: 'web' } });
    await spawnControllerManagers(system, { timing: timingFor('fast') });
    const run = (args: string[]) => new Promise<string>((resolve, reject) => {
      execFile(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    });
    await run(['create', 'deployment', 'web', '--image=nginx:1.26', '--replicas=3']);
    assert.match(await run(['rollout', 'status', 'deployment/web', '--timeout=20s']), /successfully rolled out/);
    await run(['set', 'image', 'deployment/web', 'nginx=nginx:1.27']);
    await run(['annotate', 'deployment/web', 'kubernetes.io/change-cause=move to 1.27']);
    assert.match(await run(['rollout', 'status', 'deployment/web', '--timeout=20s']), /successfully rolled out/);
    const history = await run(['rollout', 'history', 'deployment/web']);
    assert.match(history, /^1\s+<none>$/m, history);
    assert.match(history, /^2\s+move to 1\.27$/m, history);
    await run(['rollout', 'undo', 'deployment/web']);
    assert.match(await run(['rollout', 'status', 'deployment/web', '--timeout=20s']), /successfully rolled out/);
    assert.equal(await run(['get', 'deployment/web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'nginx:1.26');
    const after = await run(['rollout', 'history', 'deployment/web']);
    assert.match(after, /^3\s+/m, 'the undone revision comes back as 3');
    assert.doesNotMatch(after, /^1\s+/m, 'and revision 1 is gone from the history (it is 3 now)');
    assert.match(await run(['get', 'rs', '-o', 'wide']), /web-\w+\s+3\s+3\s+3\s+/);
  } finally {
    await system.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
