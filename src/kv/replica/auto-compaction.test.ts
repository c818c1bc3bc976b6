import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AutoCompactor, parseAutoCompactionRetention, REVISION_COMPACTION_INTERVAL_MS } from './auto-compaction.js';

const MIN = 60_000;

describe('auto-compaction policy', () => {
  test('revision mode: every 5 minutes, compact to the current revision less the retention', () => {
    const c = new AutoCompactor({ mode: 'revision', retention: 1000 });
    assert.equal(c.onTick(0, true, 500, 0), undefined, 'the first tick only starts the clock');
    assert.equal(c.onTick(REVISION_COMPACTION_INTERVAL_MS - 1, true, 5000, 0), undefined);
    assert.equal(c.onTick(REVISION_COMPACTION_INTERVAL_MS, true, 5000, 0), 4000);
    assert.equal(c.onTick(REVISION_COMPACTION_INTERVAL_MS + 100, true, 6000, 4000), undefined, 'not again before the next interval');
    assert.equal(c.onTick(2 * REVISION_COMPACTION_INTERVAL_MS + 100, true, 4500, 4000), undefined, 'nothing when that is at or below the compact revision');
  });

  test('periodic mode: samples every retention/10 and compacts to the revision of a retention ago', () => {
    const c = new AutoCompactor({ mode: 'periodic', retention: 10 * MIN });
    assert.equal(c.intervalMs, MIN);
    const revisionAt = (minute: number): number => 1 + 100 * minute;
    const compactions: Array<[number, number]> = [];
    let compacted = 0;
    for (let minute = 0; minute <= 12; minute++) {
      const target = c.onTick(minute * MIN, true, revisionAt(minute), compacted);
      if (target !== undefined) {
        compactions.push([minute, target]);
        compacted = target;
      }
    }
    assert.deepEqual(compactions, [[10, revisionAt(0)], [11, revisionAt(1)], [12, revisionAt(2)]]);
  });

  test('periodic mode checks at most hourly, as etcd does, for long retentions', () => {
    assert.equal(new AutoCompactor({ mode: 'periodic', retention: 48 * 60 * MIN }).intervalMs, 60 * MIN);
  });

  test('a replica that is not the leader proposes nothing, and forgets its samples', () => {
    const c = new AutoCompactor({ mode: 'periodic', retention: 10 * MIN });
    c.onTick(0, true, 1, 0);
    for (let minute = 1; minute <= 20; minute++) assert.equal(c.onTick(minute * MIN, false, 1000 * minute, 0), undefined);
    assert.equal(c.onTick(21 * MIN, true, 21_000, 0), undefined, 'leader again: samples start afresh, nothing a retention old yet');
  });

  test("retention parses as etcd's flag: durations or hours for periodic, revisions for revision", () => {
    assert.equal(parseAutoCompactionRetention('periodic', '1h'), 60 * MIN);
    assert.equal(parseAutoCompactionRetention('periodic', '1h30m'), 90 * MIN);
    assert.equal(parseAutoCompactionRetention('periodic', '90s'), 90_000);
    assert.equal(parseAutoCompactionRetention('periodic', '1.5'), 90 * MIN);
    assert.equal(parseAutoCompactionRetention('revision', '1000'), 1000);
    assert.throws(() => parseAutoCompactionRetention('periodic', '1 hour'), /a duration \(e.g. 30m, 1h, 90s\) or a number of hours/);
    assert.throws(() => parseAutoCompactionRetention('revision', '1h'), /a positive number of revisions/);
    assert.throws(() => new AutoCompactor({ mode: 'revision', retention: 0 }), /must be positive/);
  });
});
