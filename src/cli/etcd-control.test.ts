import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROL_FILE, formatControlReply, requestEtcdControl } from './etcd-control.js';
import { runEtcdCommand } from './etcd.js';

test('kubethreads etcd member add, promote and remove change a running group through its control endpoint; a wrong token is refused; a restart on the data dir runs the changed membership', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-etcd-member-'));
  const out = new PassThrough();
  out.resume();
  const running = runEtcdCommand({ replicas: 3, dataDir: dir, tickMs: 20, durationS: 20, json: true, logLevel: 'fatal', intervalMs: 1_000, out });
  try {
    const file = join(dir, CONTROL_FILE);
    for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
    let list = await requestEtcdControl(dir, 'list');
    for (let i = 0; i < 50 && !(list.ok && list.leader !== ''); i++) {
      await sleep(100);
      list = await requestEtcdControl(dir, 'list');
    }
    assert.ok(list.ok && list.members.length === 3, JSON.stringify(list));

    const added = await requestEtcdControl(dir, 'add');
    assert.ok(added.ok, JSON.stringify(added));
    assert.equal(formatControlReply(added)[0], 'Member 4 added to cluster as learner (etcd-3)');
    assert.deepEqual(added.members.find((m) => m.id === 4), { id: 4, name: 'etcd-3', isLearner: true });

    let promoted = await requestEtcdControl(dir, 'promote', 4);
    for (let i = 0; i < 30 && !promoted.ok && promoted.error.startsWith('can only promote'); i++) {
      await sleep(100);
      promoted = await requestEtcdControl(dir, 'promote', 4);
    }
    assert.ok(promoted.ok, JSON.stringify(promoted));
    assert.equal(promoted.members.find((m) => m.id === 4)?.isLearner, false);

    const removed = await requestEtcdControl(dir, 'remove', 2);
    assert.ok(removed.ok, JSON.stringify(removed));
    assert.deepEqual(removed.members.map((m) => m.id), [1, 3, 4]);
    const unknown = await requestEtcdControl(dir, 'remove', 9);
    assert.deepEqual(unknown, { ok: false, error: 'no member 9' });

    const control = JSON.parse(readFileSync(file, 'utf8')) as { port: number; token: string };
    writeFileSync(file, JSON.stringify({ ...control, token: 'wrong' }));
    assert.deepEqual(await requestEtcdControl(dir, 'list'), { ok: false, error: 'unauthorized' });
    writeFileSync(file, JSON.stringify(control));
    assert.equal(await running, 0);

    // Started again on the same data dir (with the founding --replicas): the members it had, etcd-1 not among them.
    const again = new PassThrough();
    let printed = '';
    again.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const restarted = runEtcdCommand({ replicas: 3, dataDir: dir, tickMs: 20, durationS: 6, json: true, logLevel: 'fatal', intervalMs: 1_000, out: again });
    for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
    let after = await requestEtcdControl(dir, 'list');
    for (let i = 0; i < 50 && !(after.ok && after.leader !== ''); i++) {
      await sleep(100);
      after = await requestEtcdControl(dir, 'list');
    }
    assert.ok(after.ok, JSON.stringify(after));
    assert.deepEqual(after.members.map((m) => [m.id, m.name, m.isLearner]), [[1, 'etcd-0', false], [3, 'etcd-2', false], [4, 'etcd-3', false]]);
    assert.notEqual(after.leader, 'etcd-1');
    assert.equal(await restarted, 0);
    assert.match(printed, /etcd: 3 replicas \(etcd-0, etcd-2, etcd-3\)/);
    // The replica added last session runs again on its disk: it answers status with the log it had.
    const statusLines = printed.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { replicas: Array<{ name: string; down?: boolean; appliedIndex?: number }> });
    const last = statusLines.at(-1);
    assert.ok(last, printed);
    assert.deepEqual(last.replicas.map((r) => r.name), ['etcd-0', 'etcd-2', 'etcd-3']);
    const rejoined = last.replicas.find((r) => r.name === 'etcd-3');
    assert.ok(rejoined && rejoined.down !== true && (rejoined.appliedIndex ?? 0) > 0, JSON.stringify(last));
  } finally {
    assert.equal(await running, 0);
    assert.ok(!existsSync(join(dir, CONTROL_FILE)), 'the control file goes with the process');
    rmSync(dir, { recursive: true, force: true });
  }
});
