import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Latencies } from '../lib/stats.js';
import { BenchGroup, noPersistence, walPersistence } from './group.js';
import { quickRaftBenchOptions, runRaftBench } from './run.js';

// Shapes and sanity only: figures depend on the machine, so nothing here asserts a speed.
describe('bench raft', () => {
  test('the driver commits exactly what it was asked to and times every commit', () => {
    const group = new BenchGroup(() => noPersistence(), 64);
    const latencies = new Latencies();
    const run = group.runCommits(500, 32, latencies);
    assert.equal(run.commits, 500);
    assert.equal(latencies.count, 500);
    assert.equal(run.fsyncs, 0);
    assert.ok(group.leader(), 'the group keeps its leader');
  });

  test('on the WAL every commit is persisted by a quorum, and one proposal at a time never batches', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-bench-raft-test-'));
    try {
      const group = new BenchGroup((id) => walPersistence(path.join(dir, `node-${id}`)), 64);
      const run = group.runCommits(20, 1);
      assert.equal(run.commits, 20);
      assert.ok(run.entriesPersisted >= 2 * run.commits, `a commit needs the entry durable on 2 of 3 nodes, got ${run.entriesPersisted} for ${run.commits}`);
      assert.ok(run.fsyncs >= run.entriesPersisted, 'one outstanding proposal: at most one entry per fsync');
      assert.ok(fs.readdirSync(path.join(dir, 'node-1', 'wal')).length > 0, 'the WAL is on the disk');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the quick bench at tiny size returns every field the issue names, with sane values', async () => {
    const { result, table } = await runRaftBench({
      ...quickRaftBenchOptions,
      rounds: 1,
      simCommitsPerRound: 2_000,
      walCommitsPerRound: 2_000,
      unbatchedCommitsPerRound: 10,
      diskProbeMs: 50,
    });
    for (const field of ['sim_commits_per_s', 'wal_commits_per_s', 'disk_fsyncs_per_s', 'entries_per_fsync'] as const) {
      assert.ok(Number.isFinite(result[field]) && result[field] > 0, `${field} = ${result[field]}`);
    }
    assert.ok(result.entries_per_fsync >= 1, `batching with ${result.outstanding_max} outstanding: ${result.entries_per_fsync} entries per fsync`);
    assert.ok(result.wal_unbatched_entries_per_fsync <= 1, `one at a time cannot batch: ${result.wal_unbatched_entries_per_fsync}`);
    assert.ok(result.wal_fsyncs > 0 && result.wal_entries_persisted >= 2 * result.wal_commits_per_round);
    assert.equal(result.nodes, 3);
    assert.equal(result.driven_in_one_thread, true);
    assert.ok(!fs.existsSync(result.data_dir), 'the temporary WAL directories are removed');
    assert.match(table, /file WAL \+ fsync/);
  });
});
