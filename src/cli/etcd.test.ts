import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { formatStatusLines, runEtcdCommand } from './etcd.js';

test('formatStatusLines says which replica leads and which did not answer', () => {
  const lines = formatStatusLines(['etcd-0', 'etcd-1'], [
    { name: 'etcd-0', id: 1, role: 'leader', term: 3, leader: 'etcd-0', commitIndex: 12, appliedIndex: 12, revision: 7, compactRevision: 0, firstIndex: 1, lastIndex: 12, durableLastIndex: 12, snapshotIndex: 0, watchers: 2, recoveredFrom: '' },
    undefined,
  ]);
  assert.match(lines[0]!, /^etcd-0 +leader +term +3 +leader etcd-0 +commit +12 +applied +12 +rev +7/);
  assert.match(lines[1]!, /etcd-1 +\(no answer/);
});

test('kubethreads etcd elects a leader, and a restart on the same data dir keeps the term', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-etcd-cli-'));
  try {
    const run = async () => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (chunk: Buffer) => (text += chunk.toString()));
      await runEtcdCommand({ replicas: 3, dataDir: dir, tickMs: 20, durationS: 2, json: true, logLevel: 'fatal', intervalMs: 200, out });
      return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { replicas: Array<{ role?: string; term?: number }> });
    };
    const first = await run();
    const terms = (snapshots: typeof first) => snapshots.flatMap((s) => s.replicas.map((r) => r.term ?? 0));
    assert.ok(first.some((s) => s.replicas.some((r) => r.role === 'leader')), 'a leader was elected');
    const firstTerm = Math.max(...terms(first));
    const second = await run();
    assert.ok(Math.min(...terms(second).filter((t) => t > 0)) >= firstTerm, 'the restarted group remembers its term from disk');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
