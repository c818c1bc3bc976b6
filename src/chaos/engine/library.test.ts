/**
 * The scenario library, short: every scenario of scenarios/ with a light
 * workload (2 clients, 1 watcher) in the simulated runtime, checked as its
 * file says, plus what each one is about. `npm run chaos:all` runs them in
 * full.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { writeRunFiles } from './output.js';
import { cloudSink } from '../plugins/cloud.js';
import { webhookSink } from '../plugins/webhook.js';
import { kubeSink } from '../plugins/kubernetes/index.js';
import { PluginRegistry, storeRegistry } from './registry.js';
import { runScenario, type ChaosRun } from './run.js';
import { loadScenario, scenarioFiles } from './testing.js';
import type { Scenario } from './types.js';
import { watchWorkloadPlugin, type WatchSpec } from './workloads.js';

const SEED = 1;

function short(scenario: Scenario): Scenario {
  // Other workloads (the cloud's) are light already and run as written.
  const workload: Scenario['workload'] = { ...scenario.workload };
  if (scenario.workload.register !== undefined) workload.register = { ...scenario.workload.register, clients: 2, thinkMs: 40 };
  if (scenario.workload.watch !== undefined) workload.watch = { watchers: 1 };
  return { ...scenario, workload };
}

function explain(run: ChaosRun): string {
  const o = run.outcome;
  return `${o.scenario.name} seed ${o.seed}: ${o.verdict}\n${o.checks.map((c) => `  ${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${o.log.join('\n')}\nreplay: npx kubethreads chaos run scenarios/${o.scenario.name}.yaml --seed ${o.seed} --sim`;
}

/** What each scenario is about, beyond passing its checks. */
const expectations: Record<string, (run: ChaosRun) => void> = {
  'etcd-leader-crash': (r) => {
    for (const f of r.outcome.figures) assert.notEqual(f.newLeaderMs, null, `a new leader after ${f.description}`);
  },
  'etcd-leader-paused': (r) => assert.ok(r.outcome.figures.some((f) => f.newLeaderMs !== null), 'the paused leader was replaced at least once'),
  'minority-partition': (r) => {
    for (const f of r.outcome.figures) assert.equal(f.newLeaderMs, null, `the leader keeps its majority: ${f.description}`);
  },
  'isolated-leader': (r) => {
    for (const f of r.outcome.figures) assert.notEqual(f.newLeaderMs, null, `the majority elects a new leader: ${f.description}`);
  },
  'bridge-partition': (r) => assert.equal(r.outcome.figures.length, 2),
  'flaky-links': (r) => assert.ok(r.outcome.counts.acknowledgedWrites > 100, 'writes go through lossy links'),
  'disk-fsync-failure': (r) => {
    // The failing fsyncs poisoned the follower's WAL, so it crashed and its supervisor restarted it; the slow leader's disk crashed nothing.
    const healed = r.outcome.log.map((l) => /disk of (\S+) healed: (\d+) restart/.exec(l)).filter((m) => m !== null).map((m) => Number(m[2]));
    assert.equal(healed.length, 2, r.outcome.log.join('\n'));
    assert.ok(healed[0]! >= 1, `the follower whose fsyncs failed crashed and was restarted: ${r.outcome.log.join('\n')}`);
    assert.equal(healed[1], 0, 'slow fsyncs crash nothing');
  },
  'rolling-restart': (r) => {
    const restarted = r.outcome.log.filter((l) => l.startsWith('  restart ')).map((l) => /etcd-\d+/.exec(l)?.[0]);
    assert.deepEqual([...restarted].sort(), ['etcd-0', 'etcd-1', 'etcd-2'], `every replica restarted, each once: ${r.outcome.log.join('\n')}`);
  },
  'random-faults': (r) => assert.ok(r.outcome.schedule.length >= 1, 'the seed drew at least one fault'),
  'cloud-api-outage': (r) => {
    const o = cloudSink(r.state).last!;
    assert.ok(o.converged, 'the cluster converged once the API came back');
    assert.equal(o.snapshot.loadBalancers.length, 6, 'one load balancer for each of the 6 Services');
    assert.ok((o.snapshot.stats.failed.Unavailable ?? 0) > 0 && (o.snapshot.stats.appliedButTimedOutByOp['lb.create'] ?? 0) > 0, `the faults did bite: ${JSON.stringify(o.snapshot.stats)}`);
  },
  'webhook-down-fail-closed': (r) => {
    const sink = webhookSink(r.state);
    assert.ok(sink.writes.some((w) => !w.ok && (w.error ?? '').includes('failed calling webhook')), 'the dead webhook blocked writes');
    assert.ok(sink.writes.some((w) => w.ok && w.invokeMs > sink.faults[0]!.untilMs!), 'writes were admitted again after the heal');
    assert.ok((r.outcome.figures[0]!.apiUnavailabilityMs ?? 0) >= 3_000, 'the API was blocked for most of the fault');
  },
  'cloud-instance-termination': (r) => {
    const o = cloudSink(r.state).last!;
    assert.equal(Object.keys(o.terminatedAtMs).length, 2, 'two instances terminated');
    assert.equal(o.nodes.length, 2, 'their Nodes deleted, the other two kept');
  },
  'scheduler-cm-failover-during-rollout': (r) => {
    assert.deepEqual(r.outcome.figures.map((f) => f.nodes.length), [1, 1], 'a scheduler leader and a controller-manager leader were killed');
    const sink = kubeSink(r.state);
    const atMs = r.outcome.figures[0]!.atMs;
    // The killed replica restarts at once as a new incarnation, so either replica may win the lease back.
    assert.ok(sink.samples.some((s) => s.tMs > atMs && s.schedulerLeaders.length === 1), 'a scheduler leads again after the kill');
    assert.ok(sink.lastChangeMs > 0, 'the Deployments were churned during the faults');
    assert.notEqual(r.outcome.figures[0]!.newSchedulerLeaderMs, null, 'a scheduler took over after the kill');
    assert.notEqual(r.outcome.figures[1]!.newControllerManagerLeaderMs, null, 'a controller-manager took over after the kill');
    assert.ok((r.outcome.counts.requests?.service?.ok ?? 0) > 100, 'Service traffic ran throughout');
  },
  'controller-manager-leader-paused': (r) => {
    const f = r.outcome.figures[0]!;
    assert.equal(f.nodes.length, 1, 'the controller-manager leader was paused');
    assert.notEqual(f.newControllerManagerLeaderMs, null, 'the standby took the lease over while the leader was paused');
    const terms = kubeSink(r.state).activity.filter((a) => a.component === 'kube-controller-manager' && a.what === 'started');
    assert.ok(terms.length >= 2, 'two terms: the paused leader\'s and its successor\'s');
  },
  'node-crash-100': (r) => {
    const sink = kubeSink(r.state);
    assert.equal(sink.nodes.length, 100);
    assert.equal(sink.crashedNodes.length, 1);
    const f = r.outcome.figures[0]!;
    // NotReady after the 40 s grace, evicted 60 s later: restored after 100 s, not before (the pods were really evicted).
    assert.ok(f.restoredMs !== null && f.restoredMs !== undefined && f.restoredMs >= 100_000 && f.restoredMs < 120_000, `restored ${f.restoredMs} ms after the crash`);
    assert.ok(sink.bindings.filter((b) => b.tMs > f.atMs).length >= 10, 'the crashed node\'s ten pods were bound again elsewhere');
  },
  'drain-with-pdb': (r) => {
    const drain = kubeSink(r.state).drains[0]!;
    assert.ok(drain.refused >= 1 && drain.doneMs !== undefined, `the drain waited on the budget, then finished: ${JSON.stringify(drain)}`);
  },
  'statefulset-partition': (r) => {
    const sink = kubeSink(r.state);
    const names = sink.bindings.filter((b) => b.tMs > r.outcome.figures[0]!.atMs && /\/db-0-\d+$/.test(b.pod)).map((b) => b.pod);
    assert.ok(names.length >= 1, 'a member on the cut node was bound again, under its own name');
  },
  'daemonset-job-node-crash': (r) => {
    const sink = kubeSink(r.state);
    assert.equal(sink.crashedNodes.length, 1);
    assert.ok(sink.jobFinal!.jobs['batch-0']!.complete, 'the Job completed despite the crash');
  },
  'node-crash-rescheduling': (r) => {
    const sink = kubeSink(r.state);
    assert.equal(sink.crashedNodes.length, 1);
    assert.ok(sink.bindings.some((b) => b.tMs > r.outcome.figures[0]!.atMs), 'pods were bound again after the crash');
    const f = r.outcome.figures[0]!;
    assert.notEqual(f.restoredMs, null, 'the desired state was restored');
    assert.ok(f.serviceUnavailabilityMs !== undefined && f.serviceUnavailabilityMs !== null, 'Service traffic measured across the crash');
  },
};

describe('the scenario library, short, in the simulated runtime', () => {
  for (const file of scenarioFiles()) {
    const name = basename(file, '.yaml');
    test(`${name}: every check passes`, async () => {
      const run = await runScenario(short(loadScenario(file)), { seed: SEED, runtime: 'simulated' });
      assert.equal(run.outcome.verdict, 'pass', explain(run));
      // The store's scenarios run 3+ checks; the cloud's outage scenario runs its 2 (one LB per Service, no duplicate).
      assert.ok(run.outcome.checks.length >= 2, 'the scenario checks something');
      const expect = expectations[name];
      assert.ok(expect !== undefined, `scenario ${name} has no expectation in library.test.ts: say what it is about`);
      expect(run);
    });
  }
});

describe('deterministic replay', () => {
  test('the same seed in the simulated runtime writes byte-identical result.json and history.jsonl (timing.json is the wall clock, apart)', async () => {
    const scenario = short(loadScenario(scenarioFiles().find((f) => f.endsWith('etcd-leader-paused.yaml'))!));
    const dirs = [mkdtempSync(join(tmpdir(), 'chaos-a-')), mkdtempSync(join(tmpdir(), 'chaos-b-'))];
    try {
      for (const dir of dirs) writeRunFiles(dir, await runScenario(scenario, { seed: 5, runtime: 'simulated' }), 'replay');
      for (const file of ['result.json', 'history.jsonl']) {
        const [a, b] = dirs.map((d) => readFileSync(join(d, file)));
        assert.ok(a!.length > 1000, `${file} has content`);
        assert.ok(a!.equals(b!), `${file} differs between two runs of seed 5`);
      }
      const other = await runScenario(scenario, { seed: 6, runtime: 'simulated' });
      assert.notEqual(JSON.stringify(other.history), readFileSync(join(dirs[0]!, 'history.jsonl'), 'utf8'), 'another seed is another run');
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a Kubernetes scenario replays byte for byte too: result.json (with the pods timeline) and requests.jsonl', async () => {
    const scenario = loadScenario(scenarioFiles().find((f) => f.endsWith('node-crash-rescheduling.yaml'))!);
    const dirs = [mkdtempSync(join(tmpdir(), 'chaos-k-')), mkdtempSync(join(tmpdir(), 'chaos-l-'))];
    try {
      for (const dir of dirs) writeRunFiles(dir, await runScenario(scenario, { seed: 2, runtime: 'simulated' }), 'replay');
      for (const file of ['result.json', 'requests.jsonl']) {
        const [a, b] = dirs.map((d) => readFileSync(join(d, file)));
        assert.ok(a!.length > 1000, `${file} has content`);
        assert.ok(a!.equals(b!), `${file} differs between two runs of seed 2`);
      }
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a 100-node cluster replays byte for byte: result.json and the trace hash', async () => {
    const full = loadScenario(scenarioFiles().find((f) => f.endsWith('node-crash-100.yaml'))!);
    // 20 s with the crash at 10 s; no wait for convergence (the eviction comes at 110 s): the replay, not the recovery, is under test.
    const scenario: Scenario = { ...full, durationMs: 20_000, workload: { ...full.workload, deployments: { ...(full.workload.deployments as object), convergeMs: 0 } } };
    const dirs = [mkdtempSync(join(tmpdir(), 'chaos-m-')), mkdtempSync(join(tmpdir(), 'chaos-n-'))];
    try {
      const hashes: string[] = [];
      for (const dir of dirs) {
        const run = await runScenario(scenario, { seed: 4, runtime: 'simulated' });
        hashes.push(run.timing.traceHash!);
        writeRunFiles(dir, run, 'replay');
      }
      assert.match(hashes[0]!, /^[0-9a-f]{16}$/);
      assert.equal(hashes[0], hashes[1], 'the same trace');
      const [a, b] = dirs.map((d) => readFileSync(join(d, 'result.json')));
      assert.ok(a!.length > 1000);
      assert.ok(a!.equals(b!), 'result.json differs between two runs of seed 4 at 100 nodes');
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a replay pinned to a previous run\'s schedule and targets hits the same replicas', async () => {
    const scenario = short(loadScenario(scenarioFiles().find((f) => f.endsWith('random-faults.yaml'))!));
    const first = await runScenario(scenario, { seed: 3, runtime: 'simulated' });
    const schedule = first.outcome.schedule.map((f, i) => ({ ...f, nodes: first.outcome.figures[i]!.nodes }));
    const again = await runScenario(scenario, { seed: 3, runtime: 'simulated', schedule });
    assert.deepEqual(again.outcome.figures.map((f) => f.nodes), first.outcome.figures.map((f) => f.nodes));
  });
});


describe('the checks bite on a real run', () => {
  test('a watcher that drops events is caught by the watch check (a broken workload registered like any plugin)', async () => {
    const registry: PluginRegistry = storeRegistry();
    registry.workloads.delete('watch');
    registry.registerWorkload({
      ...watchWorkloadPlugin,
      async prepare(env, spec: WatchSpec) {
        const inner = await watchWorkloadPlugin.prepare(env, spec);
        return {
          actors: inner.actors,
          start(ctx) {
            const run = inner.start(ctx);
            return {
              actors: run.actors,
              async finish() {
                const out = await run.finish();
                return { ...out, watches: out.watches!.map((w) => ({ ...w, events: w.events.filter((_, i) => i % 7 !== 3) })) };
              },
            };
          },
        };
      },
    });
    const scenario = short(loadScenario(scenarioFiles().find((f) => f.endsWith('etcd-leader-crash.yaml'))!, registry));
    const run = await runScenario(scenario, { seed: SEED, runtime: 'simulated', registry });
    assert.equal(run.outcome.verdict, 'fail');
    const watch = run.outcome.checks.find((c) => c.name === 'watch')!;
    assert.equal(watch.verdict, 'fail');
    assert.match(watch.summary, /missed put r\d=/);
  });
});
