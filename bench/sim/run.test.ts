import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimBench, speedupsOf } from './run.js';
import { median } from '../lib/stats.js';

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
  // The simulation's own thread is part of the process (a 10 ms tick of slack), and each step says its share.
  assert.ok(run.threadCpuMs > 0 && run.threadCpuMs <= run.cpuMs + 10, `thread ${run.threadCpuMs} ms, process ${run.cpuMs} ms`);
  assert.ok(run.setupSteps.every((s) => typeof s.threadCpuMs === 'number' && s.threadCpuMs >= 0));
  assert.ok((run.warm?.threadCpuMs ?? 0) > 0);
  assert.match(table, /3 nodes: start-up/);
  // The start-up in its steps: the store, each workload's preparation in the scenario's order, the wait for a leader;
  // they add up to the start-up's messages and virtual time (nothing of it left out, nothing of the scenario in it).
  assert.deepEqual(run.setupSteps.map((s) => s.step), ['store', 'deployments', 'services', 'leader']);
  assert.equal(run.setupSteps.reduce((n, s) => n + (s.events ?? 0), 0), run.setupEvents);
  assert.ok(Math.abs(run.setupSteps.reduce((n, s) => n + (s.virtualMs ?? 0), 0) - run.setupVirtualMs) <= run.setupSteps.length, 'step virtual times add up (each rounded)');
  assert.ok(run.setupSteps.reduce((n, s) => n + s.wallMs, 0) <= run.setupWallMs + run.setupSteps.length);
  assert.ok(run.setupSteps.find((s) => s.step === 'services')!.events! > 0, 'the pods start while the services workload waits for their routes');
  assert.match(table, /3 nodes: start-up steps/);
  // The figure is the scenario over the run's wall time (start-up and convergence in it, module loading not);
  // the process's figure, module loading included, is given beside it and never above it.
  assert.equal(run.speedup, Math.round((run.runMs / run.wallMs) * 100) / 100);
  assert.equal(result.speedup_3, run.speedup);
  assert.ok(run.loadWallMs > 0 && run.process_speedup <= run.speedup);
  assert.equal(run.warm?.traceHash, run.traceHash, 'a second run in the same process replays the first exactly');
  assert.ok((run.warm?.cpuMs ?? 0) > 0 && typeof run.warm_speedup === 'number');
  assert.match(table, /3 nodes: warm run speed-up/);
  assert.equal(typeof result.speedup_3, 'number');
  assert.match(run.traceHash, /^[0-9a-f]{16}$/);
  assert.match(table, /3 nodes \/ 30 pods: run speed-up/);
});

test('bench sim with repeat runs every size that many times in rounds, each run replaying the first, and gives the median speed-up', async () => {
  const { result, table } = await runSimBench({ sizes: [{ nodes: 2, durationMs: 2_000 }, { nodes: 3, durationMs: 2_000 }], seed: 2, repeat: 2, warmNodesMax: 0 });
  assert.deepEqual(result.runs.map((r) => r.nodes), [2, 3, 2, 3], 'sizes alternate, round after round');
  assert.equal(result.repeat, 2);
  for (const nodes of [2, 3]) {
    const runs = result.runs.filter((r) => r.nodes === nodes);
    assert.equal(new Set(runs.map((r) => r.traceHash)).size, 1, 'the same seed replays the same trace in every run');
    const speedups = runs.map((r) => r.speedup);
    assert.deepEqual(result.speedups_by_size[String(nodes)], speedups);
    assert.equal(result[`speedup_${nodes}`], (speedups[0]! + speedups[1]!) / 2, 'the median of two');
  }
  assert.match(table, /3 nodes: speed-up, median of 2 runs/);
  await assert.rejects(runSimBench({ sizes: [{ nodes: 2, durationMs: 2_000 }], seed: 2, repeat: 0 }), /at least 1/);
});

test('the repeated runs\' speed-ups are grouped per size in the order run, and the issue\'s figure is their median', () => {
  const bySize = speedupsOf([{ nodes: 20, speedup: 4.1 }, { nodes: 100, speedup: 19 }, { nodes: 20, speedup: 3.2 }, { nodes: 100, speedup: 22 }, { nodes: 20, speedup: 3.6 }, { nodes: 100, speedup: 17 }]);
  assert.deepEqual(bySize, { '20': [4.1, 3.2, 3.6], '100': [19, 22, 17] });
  assert.equal(median(bySize['20']!), 3.6);
  assert.equal(median(bySize['100']!), 19);
  assert.equal(median([17, 22]), 19.5);
});
