/**
 * The chaos engine against real etcd member processes: a scenario that kills
 * and stops the leader passes the same checks as our Raft store, and the same
 * checks fail on its history once a lost write is planted in it. Skipped
 * without the etcd binary; refused by the simulated runtime.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { etcdVersion } from '../../kv/etcd/cluster.js';
import { requireEtcd } from '../../testing/tools.js';
import type { Operation } from '../history.js';
import { defaultRegistry } from './registry.js';
import { runScenario } from './run.js';
import { SCENARIOS_DIR, loadScenario } from './testing.js';
import type { RunData, Scenario } from './types.js';

const skip = requireEtcd(etcdVersion() !== undefined);
const file = join(SCENARIOS_DIR, 'etcd', 'real-etcd-leader-faults.yaml');

/** The library scenario, lighter (as the library test runs ours): 2 clients, 1 watcher, the same faults, 1.5 s less tail after the last heal. */
function light(): Scenario {
  const scenario = loadScenario(file);
  return { ...scenario, durationMs: 9_500, workload: { register: { ...scenario.workload.register, clients: 2 }, watch: { watchers: 1 } } };
}

/**
 * The history with one acknowledged write lost: the final read of a key now returns a value written by a write
 * that completed before the key's last acknowledged write was invoked. Undefined when the run wrote too little.
 */
function withLostWrite(history: readonly Operation[]): Operation[] | undefined {
  for (const final of history.filter((o) => o.process === 'final-reader' && o.op === 'read' && o.status === 'ok')) {
    const writes = history.filter((o): o is Extract<Operation, { op: 'write' }> => o.key === final.key && o.op === 'write' && o.status === 'ok' && o.process !== 'final-reader');
    const last = writes[writes.length - 1];
    const earlier = writes.find((w) => last !== undefined && w.completeMs !== null && w.completeMs < last.invokeMs);
    if (last === undefined || earlier === undefined) continue;
    return history.map((o) => (o.id === final.id ? { ...final, value: earlier.value } as Operation : o));
  }
  return undefined;
}

describe('chaos against a real etcd', () => {
  test('the simulated runtime refuses store etcd and says to run threaded', async () => {
    await assert.rejects(runScenario(light(), { seed: 1, runtime: 'simulated' }), /store etcd runs real etcd processes.*threaded runtime \(without --sim\)/);
  });

  test('kill -9 and SIGSTOP of etcd members (aimed at the leader): every check passes, and fails once a lost write is planted in the history', { skip }, async () => {
    const run = await runScenario(light(), { seed: 3, runtime: 'threaded' });
    const o = run.outcome;
    const report = `${o.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n')}\n${o.log.join('\n')}`;
    assert.equal(o.verdict, 'pass', report);
    // Which member each fault hit depends on the samples' view of the leader when it fired (timing); that the processes were hit does not.
    assert.match(o.log.join('\n'), /fault 0: kill -9 etcd member etcd-\d( \(leader\))?, restarted/);
    assert.match(o.log.join('\n'), /fault 1: SIGSTOP etcd member etcd-\d( \(leader\))? for 2500 ms\n.*heal fault 1 \(pause\)/);
    assert.ok(o.counts.acknowledgedWrites > 0 && o.counts.watchEvents > 0, JSON.stringify(o.counts));

    const broken = withLostWrite(run.history);
    assert.ok(broken !== undefined, 'the run wrote enough to plant a lost write');
    const data: RunData = { scenario: o.scenario, history: broken, requests: run.requests, cluster: o.cluster, watches: run.watches, reference: undefined, figures: o.figures, samples: o.samples, state: run.state };
    for (const name of ['no-lost-writes', 'linearizable']) {
      const result = await defaultRegistry.check(name).run(data, { check: name });
      assert.equal(result.verdict, 'fail', `${name} on the planted history: ${result.summary}`);
    }
  });
});
