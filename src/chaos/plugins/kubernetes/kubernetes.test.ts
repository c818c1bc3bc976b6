import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../../engine/registry.js';
import { runScenario, type ChaosRun } from '../../engine/run.js';
import { loadScenario, scenarioFiles } from '../../engine/testing.js';
import type { Scenario } from '../../engine/types.js';
import { kubeSink } from './index.js';

// The scenarios pass in library.test.ts; checks.test.ts feeds the judges broken records; here: real runs, and broken configurations the checks must catch.
const load = (name: string): Scenario => loadScenario(scenarioFiles().find((f) => f.endsWith(`/${name}.yaml`))!);
const explain = (run: ChaosRun) => `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;

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

/** A short control plane with churn and traffic, no faults: what the broken configurations below run on. */
function quiet(deployments: Record<string, unknown>, nemesis: Scenario['nemesis'] = []): Scenario {
  const base = load('scheduler-cm-failover-during-rollout');
  return {
    ...base,
    name: 'quiet',
    workload: { deployments: { ...base.workload.deployments, churnEveryMs: 300, churnUntilMs: 2_500, ...deployments }, services: {} },
    nemesis,
    durationMs: 3_000,
    checks: [{ check: 'single-active-scheduler' }, { check: 'single-active-controller-manager' }, { check: 'service-availability' }],
  };
}

describe('the Kubernetes checks bite on real runs', () => {
  test('with --leader-elect=false (both replicas act), single-active-scheduler and single-active-controller-manager fail; with election they pass', async () => {
    const broken = await runScenario(quiet({ leaderElect: false }), { seed: 1, runtime: 'simulated', registry: defaultRegistry });
    const verdicts = Object.fromEntries(broken.outcome.checks.map((c) => [c.name, c.verdict]));
    assert.equal(verdicts['single-active-scheduler'], 'fail', explain(broken));
    assert.equal(verdicts['single-active-controller-manager'], 'fail', explain(broken));
    assert.match(broken.outcome.checks[1]!.summary, /controller-manager-\d_\w+ wrote at .* while controller-manager-\d_\w+ was acting as leader/);
    const safe = await runScenario(quiet({}), { seed: 1, runtime: 'simulated', registry: defaultRegistry });
    assert.equal(safe.outcome.verdict, 'pass', explain(safe));
  });

  test('Service traffic is recorded request by request; with every node crashed, service-availability fails', async () => {
    const crashAll: Scenario['nemesis'] = [0, 1, 2].map((i) => ({ atMs: 1_000 + i, fault: 'crash-node', name: `node-${i}` }));
    const run = await runScenario(quiet({ churnEveryMs: 0 }, crashAll), { seed: 1, runtime: 'simulated', registry: defaultRegistry });
    const before = run.requests.filter((r) => r.kind === 'service' && r.completeMs < 1_000);
    assert.ok(before.length > 20 && before.every((r) => r.ok), `traffic flowed before the crash: ${before.filter((r) => !r.ok).map((r) => r.error).join('; ')}`);
    assert.ok(before.every((r) => r.servedBy !== undefined), 'each answer names the pod that served it');
    const availability = run.outcome.checks.find((c) => c.name === 'service-availability')!;
    assert.equal(availability.verdict, 'fail', explain(run));
    assert.ok(run.outcome.figures.every((f) => f.serviceUnavailabilityMs !== undefined));
    assert.ok(run.outcome.figures[2]!.serviceUnavailabilityMs! > 1_500, `no request succeeded after the last node died: ${run.outcome.figures[2]!.serviceUnavailabilityMs} ms`);
  });
});
