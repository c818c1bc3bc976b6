import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameCensus } from './frame-census.js';

const envelope = (type: string) => ({ to: 'a', from: 'b', type, corr: 0, body: null });

test('the frame census sums frames by destination thread and the set of types they carried, costliest first', () => {
  const census = new FrameCensus();
  census.count(1, [envelope('kv'), envelope('kv')], 2, 1_000);
  census.count(1, [envelope('kv')], 1, 500);
  census.count(2, [envelope('api.watchEvents'), envelope('$reply')], 5, 2_000_000);
  census.count(2, [envelope('$reply'), envelope('api.watchEvents')], 1, 1_000_000);
  const { totalMs, rows } = census.top();
  assert.equal(totalMs, 9);
  assert.deepEqual(rows.map((r) => [r.key, r.frames, r.envelopes, r.encodeMs, r.bytes]), [
    ['to 2: $reply+api.watchEvents', 2, 4, 6, 3_000_000],
    ['to 1: kv', 2, 3, 3, 1_500],
  ]);
  assert.equal(census.line('apiserver'), 'frame census apiserver: 9 ms encoding; [["to 2: $reply+api.watchEvents",2,4,6,3],["to 1: kv",2,3,3,0]]');
});
