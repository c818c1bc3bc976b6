import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { storeRegistry } from '../chaos/engine/registry.js';
import { runScenario, type ChaosRun } from '../chaos/engine/run.js';
import { parseScenario } from '../chaos/engine/scenario.js';
import type { Scenario } from '../chaos/engine/types.js';
import { registerCloudPlugins } from './chaos.js';

/** The cloud scenarios (tests run from dist/src/cloud). */
const SCENARIOS = fileURLToPath(new URL('../../../src/cloud/scenarios/', import.meta.url));

function load(name: string) {
  const registry = storeRegistry();
  const sink = registerCloudPlugins(registry);
  const { scenario } = parseScenario(readFileSync(`${SCENARIOS}${name}.yaml`, 'utf8'), `${name}.yaml`, registry);
  return { registry, sink, scenario };
}

const explain = (run: ChaosRun) => `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;

describe('cloud chaos scenarios, simulated', () => {
  test('cloud-api-outage: every Service ends with exactly one load balancer, none created twice', async () => {
    const { registry, sink, scenario } = load('cloud-api-outage');
    const run = await runScenario(scenario, { seed: 1, runtime: 'simulated', registry });
    assert.equal(run.outcome.verdict, 'pass', explain(run));
    const o = sink.last!;
    assert.ok(o.converged, 'the cluster converged after the faults');
    assert.equal(o.snapshot.loadBalancers.length, 6);
    assert.ok((o.snapshot.stats.failed.Unavailable ?? 0) > 0 && (o.snapshot.stats.appliedButTimedOutByOp['lb.create'] ?? 0) > 0, `the faults did bite: ${JSON.stringify(o.snapshot.stats)}`);
  });

  test('cloud-api-outage with a naive service controller fails the duplicate check', async () => {
    const { registry, scenario } = load('cloud-api-outage');
    const broken: Scenario = { ...scenario, workload: { cloud: { ...scenario.workload.cloud, unsafeNonIdempotentCreate: true } } };
    const run = await runScenario(broken, { seed: 1, runtime: 'simulated', registry });
    const duplicates = run.outcome.checks.find((c) => c.name === 'cloud-no-duplicate-lb')!;
    assert.equal(duplicates.verdict, 'fail', explain(run));
  });

  test('cloud-instance-termination: the terminated instances lose their Nodes, and load balancer targets follow', async () => {
    const { registry, sink, scenario } = load('cloud-instance-termination');
    const run = await runScenario(scenario, { seed: 1, runtime: 'simulated', registry });
    assert.equal(run.outcome.verdict, 'pass', explain(run));
    assert.equal(Object.keys(sink.last!.terminatedAtMs).length, 2);
    assert.equal(sink.last!.nodes.length, 2);
  });
});
