// test-lane: threads-only (no listener, no child process: safe beside another io test)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NemesisStep } from './nemesis.js';
import { runStoreChaos, type StoreChaosResult } from './store-chaos.js';

/** Seeds every `npm test` runs; `npm run chaos:store -- --seeds N` runs more. */
const SEEDS = [1, 2, 3, 4, 5];

function explain(r: StoreChaosResult): string {
  return `seed ${r.seed} (${r.runtime}): ${r.operations} operations, ${r.acknowledgedWrites} acknowledged writes, ${r.unknown} unknown\n` +
    `${r.faults.join('\n')}\n${r.report.slice(0, 4000)}\nreplay: npm run chaos:store -- --seed ${r.seed}`;
}

describe('the store under chaos (kill, pause, isolate and crash the leader, partition a minority, drop and duplicate)', () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: the history is linearizable and no acknowledged write is lost`, async () => {
      const r = await runStoreChaos({ seed, runtime: 'simulated' });
      assert.equal(r.check.verdict, 'linearizable', explain(r));
      assert.ok(r.acknowledgedWrites > 100, `the workload made progress through the faults: ${explain(r)}`);
      assert.ok(r.faults.length >= 7, 'every fault of the schedule ran');
    });
  }

  test('the check bites: replicas that serve reads locally without ReadIndex are caught', async () => {
    const verdicts: string[] = [];
    for (const seed of SEEDS) {
      const r = await runStoreChaos({ seed, runtime: 'simulated', replica: { unsafeLocalReads: true } });
      verdicts.push(`${seed}: ${r.check.verdict}`);
      if (r.check.verdict === 'not-linearizable') {
        const failure = r.check.keys.find((k) => k.verdict === 'not-linearizable')!.failure!;
        assert.ok(failure.window.some((op) => op.op === 'read'), 'the smallest failing window holds the stale read');
        return;
      }
    }
    assert.fail(`stale local reads went unnoticed on every seed: ${verdicts.join(', ')}`);
  });

  test('in the threaded runtime, on real threads and disks, the history is linearizable', async () => {
    const short: NemesisStep[] = [
      { afterMs: 800, fault: { kind: 'killLeader' } },
      { afterMs: 800, fault: { kind: 'isolateLeader', ms: 1_500 } },
      { afterMs: 800, fault: { kind: 'partitionMinority', ms: 1_000 } },
      { afterMs: 800, fault: { kind: 'crashLosingUnsynced', leader: true } },
    ];
    const r = await runStoreChaos({ seed: 11, runtime: 'threaded', nemesis: short, tailMs: 1_500 });
    assert.equal(r.check.verdict, 'linearizable', explain(r));
    assert.ok(r.acknowledgedWrites > 20, explain(r));
  });
});
