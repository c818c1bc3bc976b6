import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Operation, RegisterValue } from '../history.js';
import { checkHistory, checkHistorySync } from './check.js';
import { checkKey } from './check-key.js';
import { formatCheckResult } from './report.js';

// A tiny language for hand-made histories on one key: each helper makes one
// operation of its own client; times are [invokeMs, completeMs].
let nextId = 0;
function base(invokeMs: number, completeMs: number | null, status: Operation['status'] = 'ok') {
  const id = nextId++;
  return { id, process: `p${id}`, key: 'x', status, invokeMs, completeMs };
}
const write = (value: RegisterValue, invokeMs: number, completeMs: number): Operation => ({ ...base(invokeMs, completeMs), op: 'write', value });
const read = (value: RegisterValue, invokeMs: number, completeMs: number): Operation => ({ ...base(invokeMs, completeMs), op: 'read', value });
const cas = (expected: RegisterValue, value: RegisterValue, swapped: boolean, invokeMs: number, completeMs: number): Operation => ({
  ...base(invokeMs, completeMs),
  op: 'cas',
  expected,
  value,
  swapped,
});
const unknownWrite = (value: RegisterValue, invokeMs: number): Operation => ({ ...base(invokeMs, null, 'unknown'), op: 'write', value });
const failedWrite = (value: RegisterValue, invokeMs: number, completeMs: number): Operation => ({ ...base(invokeMs, completeMs, 'fail'), op: 'write', value });
const unknownRead = (invokeMs: number): Operation => ({ ...base(invokeMs, null, 'unknown'), op: 'read' });

function verdictOf(ops: Operation[]): string {
  return checkHistorySync(ops).verdict;
}

describe('histories that must fail', () => {
  const cases: [string, () => Operation[], number][] = [
    // [name, history, index of the operation the failure must involve]
    ['a stale read: a read returns the old value after a newer write completed', () => [write(1, 0, 10), write(2, 20, 30), read(1, 40, 50)], 2],
    ['a lost write: an acknowledged write is never observed, later reads return the older value', () => [write(1, 0, 10), read(1, 15, 18), write(2, 20, 30), read(1, 40, 50), read(1, 60, 70)], 3],
    ['a read of a value never written', () => [write(1, 0, 10), read(7, 20, 30)], 1],
    ['a read of a value never written, from an untouched register', () => [read(7, 0, 10)], 0],
    ['a read of the initial absent value after a write completed', () => [write(1, 0, 10), read(null, 20, 30)], 1],
    ['a cas that swapped against a value that was not current', () => [write(1, 0, 10), write(2, 20, 30), cas(1, 3, true, 40, 50)], 2],
    ['a cas that did not swap although its expected value was current', () => [write(1, 0, 10), cas(1, 2, false, 20, 30)], 1],
    ['a write that failed, observed', () => [failedWrite(5, 0, 10), read(5, 20, 30)], 1],
    ['an unknown write observed and then un-observed', () => [write(1, 0, 10), unknownWrite(2, 20), read(2, 30, 40), read(1, 50, 60)], 3],
    // Both writes are done before the reads, so the value cannot change between them.
    ['reads that see the value change after every write completed', () => [write(1, 0, 50), write(2, 0, 50), read(1, 60, 70), read(2, 80, 90), read(1, 100, 110)], 3],
  ];
  for (const [name, make, culprit] of cases) {
    test(name, () => {
      const ops = make();
      const result = checkKey('x', ops);
      assert.equal(result.verdict, 'not-linearizable');
      const failure = result.failure!;
      assert.ok(failure.essentialIds.includes(ops[culprit].id), `the essential operations ${failure.essentialIds} include ${ops[culprit].id}`);
      assert.ok(failure.window.some((op) => op.id === ops[culprit].id));
    });
  }
});

describe('histories that must pass', () => {
  const cases: [string, () => Operation[]][] = [
    ['an empty history', () => []],
    ['a write then reads of it', () => [write(1, 0, 10), read(1, 20, 30), read(1, 40, 50)]],
    ['concurrent overlapping operations that can be ordered', () => [write(1, 0, 100), read(null, 10, 20), read(1, 30, 40), write(2, 35, 60), read(2, 70, 80)]],
    ['concurrent writes observed in the opposite order of invocation', () => [write(1, 0, 50), write(2, 1, 50), read(1, 60, 70), read(1, 80, 90)]],
    ['an unknown write that took effect', () => [write(1, 0, 10), unknownWrite(2, 20), read(2, 30, 40), read(2, 1000, 1010)]],
    ['an unknown write that never took effect', () => [write(1, 0, 10), unknownWrite(2, 20), read(1, 30, 40), read(1, 1000, 1010)]],
    ['an unknown write that took effect late', () => [write(1, 0, 10), unknownWrite(2, 20), read(1, 30, 40), read(2, 1000, 1010)]],
    ['a failed write that nobody saw', () => [write(1, 0, 10), failedWrite(5, 12, 15), read(1, 20, 30)]],
    ['a read with unknown outcome, which constrains nothing', () => [write(1, 0, 10), unknownRead(12), read(1, 20, 30)]],
    ['a cas chain', () => [write(1, 0, 10), cas(1, 2, true, 20, 30), cas(1, 3, false, 40, 50), read(2, 60, 70)]],
    ['a read concurrent with a write that returns either value', () => [write(1, 0, 10), write(2, 20, 40), read(1, 25, 30), read(2, 25, 45)]],
    ['intervals that touch count as concurrent', () => [write(1, 0, 10), read(null, 10, 20)]],
  ];
  for (const [name, make] of cases) {
    test(name, () => {
      assert.equal(verdictOf(make()), 'linearizable');
    });
  }

  test('the initial value is configurable', () => {
    const ops = [read(0, 0, 10)];
    assert.equal(checkHistorySync(ops).verdict, 'not-linearizable');
    assert.equal(checkHistorySync(ops, { initialValue: 0 }).verdict, 'linearizable');
  });
});

describe('partitions by key', () => {
  test('keys are independent registers: a value read on one key need not be written on it ... unless it is', () => {
    const ops: Operation[] = [
      { ...write(1, 0, 10), key: 'a' },
      { ...read(1, 20, 30), key: 'a' },
      { ...read(null, 20, 30), key: 'b' },
      { ...read(1, 40, 50), key: 'b' },
    ];
    const result = checkHistorySync(ops);
    assert.equal(result.verdict, 'not-linearizable');
    assert.deepEqual(
      result.keys.map((k) => [k.key, k.verdict]),
      [
        ['a', 'linearizable'],
        ['b', 'not-linearizable'],
      ],
    );
  });

  test('rejects a history that reuses an operation id', () => {
    const first = write(1, 0, 10);
    assert.throws(() => checkHistorySync([first, { ...read(1, 20, 30), id: first.id }]), /appears twice/);
  });
});

describe('the budget', () => {
  test('a search past its step budget answers unknown instead of hanging', () => {
    // Thirty concurrent writes of values that are all read, then a read of a
    // value nobody wrote: the windows fail, but not within ten steps.
    const ops: Operation[] = [];
    for (let i = 0; i < 30; i++) ops.push(write(i + 1, 0, 100));
    for (let i = 0; i < 30; i++) ops.push(read(i + 1, 0, 100));
    const result = checkHistorySync(ops, { searchStepsMax: 10 });
    assert.equal(result.verdict, 'unknown');
    assert.match(result.keys[0].reason ?? '', /stepsMax/);
  });
});

describe('the failure report', () => {
  test('names the smallest window, marks the essential operations and explains the context', () => {
    const ops = [write(1, 0, 10), read(1, 12, 14), write(2, 20, 30), read(2, 31, 33), read(1, 40, 50), read(2, 41, 51), write(3, 60, 70)];
    const result = checkHistorySync(ops);
    const failure = result.keys[0].failure!;
    assert.deepEqual(
      failure.window.map((op) => op.id),
      [ops[3].id, ops[4].id],
      'the read of 2 then the read of 1 cannot be linearized even when earlier writes are elided',
    );
    assert.deepEqual(failure.essentialIds, [ops[3].id, ops[4].id]);
    assert.equal(failure.windowStartsAnywhere, true);
    const text = formatCheckResult(result);
    assert.match(text, /^NOT-LINEARIZABLE: 7 operations on 1 keys; 1 not linearizable/);
    assert.match(text, /smallest window that cannot be linearized: 2 operations \(2 essential, marked \*\)/);
    assert.match(text, new RegExp(`\\*\\s+${ops[4].id}\\s+p${ops[4].id}\\s+40\\s+50\\s+read -> 1`));
  });
});

describe('parallel checking', () => {
  test('gives the same answers as checking in this thread', async () => {
    const ops: Operation[] = [];
    for (let k = 0; k < 4; k++) {
      const key = `key-${k}`;
      ops.push({ ...write(1, 0, 10), key }, { ...write(2, 20, 30), key }, { ...read(k % 2 === 0 ? 2 : 1, 40, 50), key });
    }
    const sequential = checkHistorySync(ops);
    const parallel = await checkHistory(ops, { parallel: true, threads: 2 });
    assert.deepEqual(parallel, sequential);
    assert.equal(parallel.verdict, 'not-linearizable');
    assert.deepEqual(
      parallel.keys.map((k) => k.verdict),
      ['linearizable', 'not-linearizable', 'linearizable', 'not-linearizable'],
    );
  });
});
