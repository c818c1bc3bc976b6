// test-lane: threads-only (the scenarios run the API server without a listener and start no process)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../../engine/registry.js';
import { runScenario } from '../../engine/run.js';
import { loadScenario, scenarioFiles } from '../../engine/testing.js';
import { kubeSink } from './sink.js';

// The Kubernetes plugins in the threaded runtime: every component in its worker thread, real time.
describe('a Kubernetes scenario in the threaded runtime', () => {
  test('controller-manager-leader-paused passes, with a new controller-manager leader, Service traffic and the pods timeline', async () => {
    const scenario = loadScenario(scenarioFiles().find((f) => f.endsWith('/controller-manager-leader-paused.yaml'))!);
    const run = await runScenario(scenario, { seed: 1, runtime: 'threaded', registry: defaultRegistry });
    const explain = `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;
    assert.equal(run.outcome.verdict, 'pass', explain);
    assert.notEqual(run.outcome.figures[0]!.newControllerManagerLeaderMs, null, explain);
    assert.ok((run.outcome.counts.requests?.service?.ok ?? 0) > 50, 'Service traffic ran');
    assert.ok(run.outcome.cluster.some((c) => c.desired !== undefined && c.running === c.desired), 'the pods timeline was sampled');
  });

  test('drain-with-pdb passes: the drain evicts through the eviction API under the budget and finishes, no budget violated', async () => {
    const scenario = loadScenario(scenarioFiles().find((f) => f.endsWith('/drain-with-pdb.yaml'))!);
    const run = await runScenario(scenario, { seed: 1, runtime: 'threaded', registry: defaultRegistry });
    const explain = `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;
    assert.equal(run.outcome.verdict, 'pass', explain);
    const drain = kubeSink(run.state).drains[0]!;
    assert.ok(drain.evicted >= 1 && drain.doneMs !== undefined, explain);
  });
});
