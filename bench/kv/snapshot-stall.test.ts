import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderSnapshotTable, runSnapshotStallBench } from './snapshot-stall.js';

// Shapes and sanity only: figures depend on the machine, so nothing here asserts a speed.
describe('bench snapshot', () => {
  test('at tiny size the stepped modes (off the thread and on it) fill, snapshot on every replica, and report every field', async () => {
    const { result, table } = await runSnapshotStallBench({ historyMB: 1, valueKB: 16, modes: ['stepped', 'foreground'], timeoutMs: 60_000, tickMs: 100, probeBatch: 20, thresholdMargin: 30 });
    assert.deepEqual(result.modes.map((m) => m.mode), ['stepped', 'foreground']);
    for (const m of result.modes) {
      assert.ok(m.completed, `${m.mode}: every replica took its snapshot`);
      assert.equal(m.longestTickGapMs.length, 3);
      assert.ok(m.longestTickGapMs.every((gap) => gap >= 90), `${m.mode}: a tick gap is at least about one period: ${m.longestTickGapMs.join(', ')}`);
      assert.ok(m.writes >= 20 && m.writeErrors === 0, `${m.mode}: timed writes went through: ${m.writes}, ${m.writeErrors} failed`);
      assert.ok(m.writeP50Ms <= m.writeP99Ms && m.writeP99Ms <= m.writeMaxMs);
      assert.ok(m.snapshotSteps.every((steps) => steps >= 2) && m.snapshotBytes.every((bytes) => bytes > 1_000_000), `${m.mode}: each replica reports its snapshot: ${m.snapshotSteps.join(', ')} steps`);
      assert.ok(m.longestSnapshotStepMs.every((ms) => ms >= 0));
    }
    assert.equal(result.stall_ms_stepped, result.modes[0]!.stallMs);
    assert.equal(result.stall_ms_foreground, result.modes[1]!.stallMs);
    assert.match(table, /longest thread stall/);
    assert.match(table, /on the thread/);
    assert.equal(renderSnapshotTable(result, { tickMs: 100 }), table);
  });
});
