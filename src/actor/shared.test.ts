import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

// A fresh thread has its own module state: what the API server's worker thread sees (issue #16).
test('a thread marks nothing shared until a simulated runtime is made in it; from then on it does', async () => {
  const shared = new URL('./shared.js', import.meta.url).href;
  const sim = new URL('./sim/sim-system.js', import.meta.url).href;
  const code = `
    const { parentPort } = await import('node:worker_threads');
    const { markShared, isShared } = await import(${JSON.stringify(shared)});
    const { SimulatedSystem } = await import(${JSON.stringify(sim)});
    const before = isShared(markShared({ metadata: { name: 'p' } }));
    new SimulatedSystem({ seed: 1 });
    const after = isShared(markShared({ metadata: { name: 'p' } }));
    parentPort.postMessage({ before, after });
  `;
  const worker = new Worker(code, { eval: true });
  const result = await new Promise<{ before: boolean; after: boolean }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.deepEqual(result, { before: false, after: true });
});
