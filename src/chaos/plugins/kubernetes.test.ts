import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../engine/registry.js';
import { runScenario, type ChaosRun } from '../engine/run.js';
import { loadScenario, scenarioFiles } from '../engine/testing.js';
import type { Scenario } from '../engine/types.js';
import { judgeConverges, judgeNoDoubleBind, judgeSingleActiveScheduler, kubeSink, type KubeSample } from './kubernetes.js';

// The two scenarios pass in library.test.ts; here: each check catches a broken record, and a real run's record says what happened.
const load = (name: string): Scenario => loadScenario(scenarioFiles().find((f) => f.endsWith(`/${name}.yaml`))!);
const explain = (run: ChaosRun) => `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;

const sample = (tMs: number, running: number, leaders: string[] = ['scheduler-0']): KubeSample => ({
  tMs, deployments: { web: { desired: 2, running, runningCurrent: running } }, schedulerLeaders: leaders, controllerManagerLeaders: [],
});

describe('kubernetes checks on broken records', () => {
  test('no-double-bind fails when one pod uid is seen on two nodes', () => {
    const ok = [{ tMs: 1, uid: 'a', pod: 'default/p', node: 'node-0' }, { tMs: 2, uid: 'b', pod: 'default/q', node: 'node-1' }];
    assert.equal(judgeNoDoubleBind(ok).verdict, 'pass');
    const broken = [...ok, { tMs: 3, uid: 'a', pod: 'default/p', node: 'node-2' }];
    const result = judgeNoDoubleBind(broken);
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /default\/p \(a\) on node-0, node-2/);
    assert.equal(judgeNoDoubleBind([]).verdict, 'unknown');
  });

  test('single-active-scheduler fails when one sample has two leaders', () => {
    assert.equal(judgeSingleActiveScheduler([sample(0, 2), sample(100, 2, [])]).verdict, 'pass');
    const result = judgeSingleActiveScheduler([sample(0, 2), sample(100, 2, ['scheduler-0', 'scheduler-1'])]);
    assert.equal(result.verdict, 'fail');
    assert.match(result.summary, /scheduler-0, scheduler-1/);
  });

  test('converges measures from the last fault to the first sample of the converged tail, and fails past maxMs or unconverged', () => {
    const samples = [sample(0, 2), sample(1_000, 1), sample(2_000, 1), sample(3_000, 2), sample(4_000, 2)];
    const final = { converged: true, atMs: 5_000, deployments: { web: { desired: 2, running: 2, runningCurrent: 2 } } };
    const pass = judgeConverges({ samples, final, lastChangeMs: 0 }, 1_000, 2_500);
    assert.equal(pass.verdict, 'pass', pass.summary);
    assert.deepEqual((pass.details as { convergedSinceMs: number }).convergedSinceMs, 3_000);
    assert.equal(judgeConverges({ samples, final, lastChangeMs: 0 }, 1_000, 1_500).verdict, 'fail');
    const stuck = { converged: false, atMs: 5_000, deployments: { web: { desired: 2, running: 1, runningCurrent: 1 } } };
    assert.equal(judgeConverges({ samples, final: stuck, lastChangeMs: 0 }, 1_000, 60_000).verdict, 'fail');
  });
});

describe('kubernetes chaos plugins, simulated, through the default registry', () => {
  test('a crashed node\'s pods are bound again on the surviving nodes', async () => {
    const run = await runScenario(load('node-crash-rescheduling'), { seed: 1, runtime: 'simulated', registry: defaultRegistry });
    assert.equal(run.outcome.verdict, 'pass', explain(run));
    const sink = kubeSink(run.state);
    assert.equal(sink.crashedNodes.length, 1);
    const crashAtMs = run.outcome.figures[0]!.atMs;
    const onCrashed = sink.bindings.filter((b) => b.node === sink.crashedNodes[0]);
    assert.ok(onCrashed.length > 0, 'the crashed node had pods (else the scenario tests nothing)');
    const after = sink.bindings.filter((b) => b.tMs > crashAtMs);
    assert.ok(after.length >= onCrashed.length, `its ${onCrashed.length} pods were recreated (${after.length} bindings after the crash)`);
    assert.ok(after.every((b) => b.node !== sink.crashedNodes[0]), 'nothing is bound to the crashed node after it crashed');
  });

  test('with the eviction timeout longer than the convergence budget, converges fails (the check bites on a real run)', async () => {
    const scenario = load('node-crash-rescheduling');
    const slow: Scenario = { ...scenario, workload: { deployments: { ...scenario.workload.deployments, podEvictionTimeoutMs: 30_000, convergeMs: 5_000 } } };
    const run = await runScenario(slow, { seed: 1, runtime: 'simulated', registry: defaultRegistry });
    const converges = run.outcome.checks.find((c) => c.name === 'converges')!;
    assert.equal(converges.verdict, 'fail', explain(run));
  });
});
