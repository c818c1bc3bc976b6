import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { requireEtcd } from '../../src/testing/tools.js';
import { etcdVersion } from '../../src/kv/etcd/cluster.js';
import { runKvBench } from './run.js';
import { TINY_KV_BENCH, assertOurSideSane } from './test-support.js';

const version = etcdVersion();
const skip = requireEtcd(version !== undefined);

/** etcd processes whose data directory is one of ours. */
function ourEtcdProcesses(): string[] {
  try {
    return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => /\betcd\b.*kubethreads-etcd-/.test(line));
  } catch {
    return [];
  }
}

describe('bench kv side by side with etcd', () => {
  test('a tiny side-by-side run fills the etcd column and ratios, and leaves no etcd process behind', { skip }, async () => {
    const before = ourEtcdProcesses();
    const { result, table } = await runKvBench({ ...TINY_KV_BENCH, etcd: 'auto' });
    assertOurSideSane(result, TINY_KV_BENCH);
    assert.equal(result.etcd.version, version);
    const etcd = result.etcdDetails;
    assert.ok(etcd !== null);
    for (const row of result.rows) {
      assert.ok(row.etcd !== null && Number.isFinite(row.etcd) && row.etcd >= 0, `${row.name}: etcd = ${row.etcd}`);
      if (row.etcd > 0) assert.equal(row.ratio, Math.round((row.ours / row.etcd) * 100) / 100, row.name);
    }
    assert.equal(etcd.putLatencyUs.count, TINY_KV_BENCH.sequentialOps);
    assert.equal(etcd.watchLatencyUs.count, TINY_KV_BENCH.sequentialOps);
    for (const [phase, e] of Object.entries(etcd.errors)) assert.equal(e.count, 0, `etcd ${phase}: ${e.first}`);
    assert.ok(etcd.failover.every((k) => k.resumed && k.timeToLeaderMs > 0));
    assert.match(table, new RegExp(`etcd ${version!.replace(/\./g, '\\.')}`));
    assert.deepEqual(ourEtcdProcesses().filter((p) => !before.includes(p)), [], 'every etcd process the bench started is gone');
  });

  test('--only sequential alternates the rounds with etcd up beside ours, every put a sample on both sides, and a verdict from 5 rounds', { skip }, async () => {
    const before = ourEtcdProcesses();
    const { result, table } = await runKvBench({ ...TINY_KV_BENCH, etcd: 'auto', only: 'sequential', rounds: 5 });
    const rounds = result.sequentialRounds;
    assert.ok(rounds !== undefined && rounds.etcd !== null);
    assert.deepEqual(rounds.order.join(' '), 'kubethreads etcd etcd kubethreads kubethreads etcd etcd kubethreads kubethreads etcd');
    for (const side of [rounds.ours, rounds.etcd]) {
      assert.equal(side.rounds.length, 5);
      for (const r of side.rounds) assert.equal(r.count + r.errors, TINY_KV_BENCH.sequentialOps);
      assert.equal(side.pooled.count, side.rounds.reduce((sum, r) => sum + r.latenciesUs.length, 0));
    }
    assert.equal(result.etcdDetails?.putLatencyUs.count, rounds.etcd.pooled.count);
    assert.equal(result.rows[1]!.ratio, Math.round((result.rows[1]!.ours / result.rows[1]!.etcd!) * 100) / 100);
    assert.ok(rounds.verdict !== null && rounds.p99RatioRoundsResampled !== null);
    assert.match(table, new RegExp(`p99 ours/etcd [\\d.]+ \\(95 % interval [\\d.]+-[\\d.]+, pairs of rounds resampled .*\\): ${rounds.verdict.toUpperCase()}`));
    assert.deepEqual(ourEtcdProcesses().filter((p) => !before.includes(p)), [], 'every etcd process the bench started is gone');
  });
});
