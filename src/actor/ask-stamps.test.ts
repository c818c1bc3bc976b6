import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ASK_STAMPS_SAMPLE_EVERY, AskStamps } from './ask-stamps.js';
import { REPLY_TYPE, type Envelope } from './protocol.js';

const txn = (corr: number, key: string): Envelope => ({
  to: 'etcd-0', from: 'apiserver', type: 'kv', corr,
  body: { type: 'txn', compare: [{ key, target: 'modRevision', result: 'equal', value: 1 }], success: [], failure: [], waitMs: 900 },
});

test('a sampled txn is stamped on both threads in order, and the rest are not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ask-stamps-'));
  try {
    const asker = new AskStamps(dir, 1);
    const leader = new AskStamps(dir, 2);
    const probe = txn(7, '/registry/configmaps/density/probe-1');
    const sampled = txn(ASK_STAMPS_SAMPLE_EVERY * 3, '/registry/pods/ns/p');
    const unsampled = txn(ASK_STAMPS_SAMPLE_EVERY * 3 + 1, '/registry/pods/ns/q');
    const notTxn: Envelope = { ...txn(ASK_STAMPS_SAMPLE_EVERY * 4, '/registry/pods/ns/r'), body: { type: 'range', key: '/registry/pods/ns/r' } };
    for (const e of [probe, sampled, unsampled, notTxn]) asker.routed(e, false);
    asker.flushed([probe, sampled, unsampled, notTxn]);
    let index = 100;
    for (const e of [probe, sampled, unsampled, notTxn]) {
      const record = leader.arrived(e, performance.timeOrigin + performance.now(), false);
      leader.delivering(record);
      leader.proposed(index++);
      leader.delivered();
    }
    leader.committed(100, 103);
    for (let i = 100; i < 104; i++) leader.applied(i);
    const replies = [probe, sampled, unsampled, notTxn].map((e): Envelope => ({ to: e.from, from: e.to, type: REPLY_TYPE, corr: e.corr, body: { ok: true, value: null } }));
    for (const r of replies) leader.routed(r, true);
    leader.flushed(replies);
    for (const r of replies) {
      asker.delivering(asker.arrived(r, performance.timeOrigin + performance.now(), true));
      asker.delivered();
    }
    asker.write();
    leader.write();
    const records = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; side: string; probe: boolean; index?: number; stamps: Record<string, number> }));
    assert.deepEqual(records.map((r) => `${r.side} ${r.key} ${r.probe}`).sort(), [
      `asker apiserver|${ASK_STAMPS_SAMPLE_EVERY * 3} false`, 'asker apiserver|7 true',
      `leader apiserver|${ASK_STAMPS_SAMPLE_EVERY * 3} false`, 'leader apiserver|7 true',
    ]);
    const order = ['sent', 'flushed', 'read', 'delivered', 'proposed', 'committed', 'applied', 'replyRouted', 'replyFlushed', 'replyRead', 'settled'];
    for (const key of ['apiserver|7', `apiserver|${ASK_STAMPS_SAMPLE_EVERY * 3}`]) {
      const joined = Object.assign({}, ...records.filter((r) => r.key === key).map((r) => r.stamps)) as Record<string, number>;
      assert.deepEqual(Object.keys(joined).sort(), [...order].sort(), key);
      for (let i = 1; i < order.length; i++) assert.ok(joined[order[i]!]! >= joined[order[i - 1]!]!, `${key}: ${order[i - 1]} before ${order[i]}`);
    }
    assert.equal(records.find((r) => r.key === 'apiserver|7' && r.side === 'leader')!.index, 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
