import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimBench } from './run.js';

test('bench sim runs each size in its own process and reports the issue\'s fields (shape only, no timing asserts)', async () => {
  const { result, table } = await runSimBench({ sizes: [{ nodes: 3, durationMs: 4_000 }], seed: 2 });
  assert.equal(result.runs.length, 1);
  const run = result.runs[0]!;
  assert.equal(run.verdict, 'pass', run.failedChecks.join('; '));
  assert.equal(run.pods, 30);
  assert.ok(run.virtualMs >= run.runMs, 'set-up and convergence are simulated too');
  assert.ok(run.events > 0 && result.events_per_s > 0);
  assert.ok(run.rssMb > 0);
  assert.ok(run.setupEvents > 0 && run.setupEvents < run.events, 'the start-up is counted apart, and the scenario delivers messages after it');
  assert.ok(run.setupVirtualMs > 0 && run.setupVirtualMs < run.virtualMs - run.runMs + 1, 'the start-up is part of the virtual time outside the scenario');
  assert.ok(run.setupWallMs < run.wallMs && run.cpuMs > 0);
  assert.match(table, /3 nodes: start-up/);
  assert.equal(run.warm?.traceHash, run.traceHash, 'a second run in the same process replays the first exactly');
  assert.ok((run.warm?.cpuMs ?? 0) > 0 && typeof run.warm_speedup === 'number');
  assert.match(table, /3 nodes: warm run speed-up/);
  assert.equal(typeof result.speedup_3, 'number');
  assert.match(run.traceHash, /^[0-9a-f]{16}$/);
  assert.match(table, /3 nodes \/ 30 pods: run speed-up/);
});
