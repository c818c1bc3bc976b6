import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../engine/registry.js';
import { runScenario, type ChaosRun } from '../engine/run.js';
import { loadScenario, scenarioFiles } from '../engine/testing.js';
import type { Scenario } from '../engine/types.js';
import { cloudSink } from './cloud.js';

// The two cloud scenarios pass in library.test.ts (which says what each is about); here: the checks bite, and runs share nothing.
const load = (name: string): Scenario => loadScenario(scenarioFiles().find((f) => f.endsWith(`/${name}.yaml`))!);

const explain = (run: ChaosRun) => `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;

describe('cloud chaos plugins, simulated, through the default registry', () => {
  test('cloud-api-outage with a naive service controller fails the duplicate check', async () => {
    const scenario = load('cloud-api-outage');
    const broken: Scenario = { ...scenario, workload: { cloud: { ...scenario.workload.cloud, unsafeNonIdempotentCreate: true } } };
    // A seed whose draws make one of the naive creates ambiguous (applied, answered 504). Each Service's first create
    // is as likely to be ambiguous as plainly answered, so about one seed in 64 makes none so and creates no duplicate
    // (seed 1 since Events left the watch cache and the run's timing moved; seeds 2-12 all fail here).
    const run = await runScenario(broken, { seed: 2, runtime: 'simulated', registry: defaultRegistry });
    const duplicates = run.outcome.checks.find((c) => c.name === 'cloud-no-duplicate-lb')!;
    assert.equal(duplicates.verdict, 'fail', explain(run));
    assert.equal(run.outcome.verdict, 'fail');
  });

  test('two runs through one registry share no observation: terminations of the first are not in the second', async () => {
    const terminated = await runScenario(load('cloud-instance-termination'), { seed: 2, runtime: 'simulated', registry: defaultRegistry });
    assert.equal(terminated.outcome.verdict, 'pass', explain(terminated));
    assert.equal(Object.keys(cloudSink(terminated.state).last!.terminatedAtMs).length, 2);
    const quiet: Scenario = { ...load('cloud-instance-termination'), nemesis: [], checks: [{ check: 'cloud-terminated-nodes-deleted' }] };
    const run = await runScenario(quiet, { seed: 2, runtime: 'simulated', registry: defaultRegistry });
    assert.deepEqual(cloudSink(run.state).last!.terminatedAtMs, {});
    assert.equal(cloudSink(run.state).last!.nodes.length, 4, 'every node of the second run is still there');
    assert.equal(run.outcome.checks[0]!.verdict, 'unknown', 'no termination in this run: nothing to check');
  });

  test('without the cloud workload the cloud checks say unknown rather than pass', async () => {
    const fresh = await runScenario({ ...load('etcd-leader-crash'), workload: {}, nemesis: [], durationMs: 500, checks: [{ check: 'cloud-one-lb-per-service' }] }, { seed: 1, runtime: 'simulated' });
    assert.equal(fresh.outcome.checks[0]!.verdict, 'unknown');
    assert.match(fresh.outcome.checks[0]!.summary, /workload did not run/);
  });
});
