import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runApiServerBench } from './run.js';

test('a tiny apiserver bench fills every figure on both transports and the fan-out (shape and sanity only, no timing asserts)', async () => {
  const { result, table } = await runApiServerBench({ replicas: 1, creates: 20, gets: 40, lists: 3, concurrency: 4, watchers: 10, fanoutWrites: 2 });
  for (const side of [result.https, result.actor]) {
    for (const op of ['create', 'get', 'list', 'list_cached'] as const) {
      assert.ok(side[op].per_s > 0, `${op} has a rate`);
      assert.ok(side[op].p99_ms >= side[op].p50_ms && side[op].p50_ms > 0, `${op} percentiles are ordered`);
    }
  }
  for (const fanout of [result.fanout_https, result.fanout_actor]) {
    assert.equal(fanout.watchers, 10);
    assert.ok(fanout.p99_ms >= fanout.p50_ms && fanout.p50_ms > 0);
  }
  assert.equal(result.objects_per_list, 20);
  assert.match(table, /create pod over https: p99/);
  assert.match(table, /watch fan-out over actor: p99/);
});
