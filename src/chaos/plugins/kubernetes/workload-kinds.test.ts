import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../../engine/registry.js';
import { runScenario, type ChaosRun } from '../../engine/run.js';
import { loadScenario, scenarioFiles } from '../../engine/testing.js';
import type { Scenario } from '../../engine/types.js';
import { kubeSink } from './index.js';

// Real runs of the StatefulSet, drain, DaemonSet and Job scenarios in the simulated runtime, and the broken configurations their checks must catch.
const load = (name: string): Scenario => loadScenario(scenarioFiles().find((f) => f.endsWith(`/${name}.yaml`))!);
const explain = (run: ChaosRun): string => `${run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${run.outcome.log.join('\n')}`;
const SEED = 1;

describe('drains and StatefulSets, simulated, through the default registry', () => {
  test('drain-with-pdb: the drain waits on the budget (a 429), then finishes; no-pdb-violation passes', async () => {
    const run = await runScenario(load('drain-with-pdb'), { seed: SEED, runtime: 'simulated', registry: defaultRegistry });
    assert.equal(run.outcome.verdict, 'pass', explain(run));
    const sink = kubeSink(run.state);
    assert.equal(sink.drains.length, 1);
    const drain = sink.drains[0]!;
    assert.ok(drain.refused >= 1, `the budget refused at least one eviction: ${JSON.stringify(drain)}`);
    assert.ok(drain.evicted >= 2 && drain.doneMs !== undefined && !drain.timedOut, `the drain finished: ${JSON.stringify(drain)}`);
    assert.ok(sink.disruptions.every((d) => d.via === 'eviction'));
    const times = sink.disruptions.map((d) => d.tMs);
    assert.ok(times[times.length - 1]! - times[0]! > 250, `the evictions were spread out by the budget: ${times.join(', ')}`);
  });

  test('drain-with-pdb with a broken drain that deletes pods directly: no-pdb-violation fails', async () => {
    const scenario = load('drain-with-pdb');
    const broken: Scenario = { ...scenario, nemesis: scenario.nemesis.map((n) => ({ ...n, evict: false })) };
    const run = await runScenario(broken, { seed: SEED, runtime: 'simulated', registry: defaultRegistry });
    const check = run.outcome.checks.find((c) => c.name === 'no-pdb-violation')!;
    assert.equal(check.verdict, 'fail', `${explain(run)}\n${JSON.stringify({ health: kubeSink(run.state).health, d: kubeSink(run.state).disruptions })}`);
    assert.match(check.summary, /delete of default\/db-0-\d+ at \d+ ms left db-0 2 healthy of 3/);
    assert.ok(kubeSink(run.state).disruptions.every((d) => d.via === 'delete'));
  });

  test('statefulset-partition: a member on the cut node comes back under its own name (a new pod, the same name)', async () => {
    const run = await runScenario(load('statefulset-partition'), { seed: SEED, runtime: 'simulated', registry: defaultRegistry });
    assert.equal(run.outcome.verdict, 'pass', explain(run));
    const sink = kubeSink(run.state);
    const uidsByMember = new Map<string, Set<string>>();
    for (const b of sink.bindings.filter((x) => /\/db-0-\d+$/.test(x.pod))) uidsByMember.set(b.pod, (uidsByMember.get(b.pod) ?? new Set()).add(b.uid));
    const recreated = [...uidsByMember].filter(([, uids]) => uids.size > 1).map(([pod]) => pod);
    assert.ok(recreated.length >= 1, `a member was recreated under its name: ${JSON.stringify([...uidsByMember].map(([p, u]) => [p, u.size]))}`);
  });
});

describe('a DaemonSet and a Job on a crashed node, simulated', () => {
  test('daemonset-job-node-crash: the Job replaces its lost pods and completes; every live node keeps its DaemonSet pod', async () => {
    const run = await runScenario(load('daemonset-job-node-crash'), { seed: SEED, runtime: 'simulated', registry: defaultRegistry });
    assert.equal(run.outcome.verdict, 'pass', explain(run));
    const sink = kubeSink(run.state);
    assert.ok(sink.jobFinal!.jobs['batch-0']!.failed >= 1, `the crash cost the Job a pod (else the scenario tests nothing): ${JSON.stringify(sink.jobFinal)}`);
    assert.equal(sink.daemonsetFinal!.sets['agent-0']!.nodes, 2, 'two live nodes after the crash');
  });

  test('with backoffLimit 0, the pod the crash cost fails the Job, and jobs-complete fails', async () => {
    const scenario = load('daemonset-job-node-crash');
    const strict: Scenario = { ...scenario, workload: { ...scenario.workload, jobs: { ...scenario.workload.jobs, backoffLimit: 0 } } };
    const run = await runScenario(strict, { seed: SEED, runtime: 'simulated', registry: defaultRegistry });
    const check = run.outcome.checks.find((c) => c.name === 'jobs-complete')!;
    assert.equal(check.verdict, 'fail', explain(run));
    assert.match(check.summary, /batch-0 Failed/);
  });
});
