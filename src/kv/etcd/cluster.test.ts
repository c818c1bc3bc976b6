import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireEtcd } from '../../testing/tools.js';
import { EtcdCluster, etcdVersion } from './cluster.js';

const skip = requireEtcd(etcdVersion() !== undefined);

test('a member that exits while a fresh cluster starts (its port taken) gets the cluster started again on fresh ports, every member running', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-etcd-start-'));
  const marker = join(dir, 'failed-once');
  // etcd-1's first launch dies as a member whose port another process took would: the quorum of the other two
  // would elect a leader and pass for a started cluster.
  const binary = join(dir, 'etcd-failing-once');
  writeFileSync(binary, `#!/bin/sh\ncase " $* " in *" --name etcd-1 "*) if [ ! -e '${marker}' ]; then : > '${marker}'; echo 'listen tcp: bind: address already in use' >&2; exit 1; fi;; esac\nexec etcd "$@"\n`);
  chmodSync(binary, 0o755);
  const cluster = await EtcdCluster.start({ members: 3, heartbeatMs: 100, electionMs: 1_000, binary, cleanOnSignals: false });
  try {
    assert.ok(existsSync(marker), 'the first start lost a member');
    assert.deepEqual([0, 1, 2].map((i) => cluster.running(i)), [true, true, true], 'every member runs after the start');
    const statuses = await Promise.all([0, 1, 2].map((i) => cluster.status(i)));
    assert.ok(statuses.every((s) => s !== undefined && s.leader === statuses[0]!.leader && s.leader !== '0'), `all three answer and agree on a leader: ${JSON.stringify(statuses)}`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
