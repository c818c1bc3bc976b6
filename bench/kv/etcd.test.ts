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
});
