import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Operation, ReadOperation, WriteOperation } from '../history.js';
import { checkHistory, checkHistorySync, partitionByKey } from './check.js';
import { compileRegisterHistory, rangeMask, registerStep, windowProblem } from './register.js';
import { generateRegisterHistory } from './random-history.js';
import { searchLinearization, stateRejected } from './search.js';

const seeds = Array.from({ length: 40 }, (_, i) => 1000 + i);

function clone(ops: Operation[]): Operation[] {
  return ops.map((op) => ({ ...op }));
}

/** The last ok read that can be made stale: some write completed, then a newer write completed, then the read began. */
function makeOneReadStale(ops: Operation[]): ReadOperation | undefined {
  const writes = ops.filter((op): op is WriteOperation => op.op === 'write' && op.status === 'ok');
  for (let r = ops.length - 1; r >= 0; r--) {
    const candidate = ops[r];
    if (candidate.op !== 'read' || candidate.status !== 'ok') continue;
    const read = candidate;
    for (const older of writes) {
      if (older.key !== read.key || older.value === read.value) continue;
      const overwritten = writes.some(
        (newer) => newer.key === read.key && newer.invokeMs > older.completeMs! && newer.completeMs! < read.invokeMs,
      );
      if (overwritten) {
        read.value = older.value;
        return read;
      }
    }
  }
  return undefined;
}

function lastOkRead(ops: Operation[]): ReadOperation {
  const reads = ops.filter((op): op is ReadOperation => op.op === 'read' && op.status === 'ok');
  assert.ok(reads.length > 0);
  return reads[reads.length - 1];
}

describe('random histories of a correct register', () => {
  test('are all linearizable', () => {
    for (const seed of seeds) {
      const result = checkHistorySync(generateRegisterHistory({ seed, operations: 150 }));
      assert.equal(result.verdict, 'linearizable', `seed ${seed}`);
    }
  });

  test('the linearization the search returns replays through the model and respects real time', () => {
    for (const seed of seeds.slice(0, 10)) {
      for (const [key, ops] of partitionByKey(generateRegisterHistory({ seed, operations: 150 }))) {
        const { history } = compileRegisterHistory(key, ops, null);
        const m = history.count;
        const problem = windowProblem(history, rangeMask(m, 0, m - 1));
        const result = searchLinearization(problem);
        assert.equal(result.outcome, 'linearizable');
        const order = result.order!;
        assert.equal(new Set(order).size, order.length, 'no operation twice');
        for (let op = 0; op < problem.count; op++) {
          if (problem.completeMs[op] !== Infinity) assert.ok(order.includes(op), `seed ${seed}: operation ${op}, which returned, is linearized`);
        }
        let state = problem.initialState;
        let latestInvokeMs = -Infinity;
        for (const op of order) {
          state = registerStep(state, history.kind[op], history.a[op], history.b[op], history.isCandidate);
          assert.notEqual(state, stateRejected, `seed ${seed} key ${key}: the model rejects operation ${op} in the returned order`);
          latestInvokeMs = Math.max(latestInvokeMs, problem.invokeMs[op]);
          assert.ok(problem.completeMs[op] >= latestInvokeMs, `seed ${seed}: operation ${op} is ordered after one invoked after it completed`);
        }
      }
    }
  });
});

describe('random histories with one read broken', () => {
  test('a read of a value never written fails, and the window is that read alone', () => {
    for (const seed of seeds) {
      const ops = clone(generateRegisterHistory({ seed, operations: 150 }));
      const read = lastOkRead(ops);
      read.value = 'never written';
      const result = checkHistorySync(ops);
      assert.equal(result.verdict, 'not-linearizable', `seed ${seed}`);
      const failing = result.keys.filter((k) => k.verdict === 'not-linearizable');
      assert.deepEqual(failing.map((k) => k.key), [read.key]);
      assert.deepEqual(failing[0].failure!.window.map((op) => op.id), [read.id], `seed ${seed}`);
    }
  });

  test('a stale read fails, and the essential operations are the read and at most two writes', () => {
    let mutated = 0;
    for (const seed of seeds) {
      const ops = clone(generateRegisterHistory({ seed, operations: 150 }));
      const read = makeOneReadStale(ops);
      if (read === undefined) continue;
      mutated++;
      const result = checkHistorySync(ops);
      assert.equal(result.verdict, 'not-linearizable', `seed ${seed}`);
      const failure = result.keys.find((k) => k.key === read.key)!.failure!;
      assert.ok(failure.essentialIds.includes(read.id), `seed ${seed}: essential ${failure.essentialIds} include the stale read ${read.id}`);
      assert.ok(failure.essentialIds.length <= 3, `seed ${seed}: ${failure.essentialIds.length} essential operations`);
      assert.ok(failure.window.length <= 20, `seed ${seed}: window of ${failure.window.length} operations`);
    }
    assert.ok(mutated >= seeds.length / 2, `only ${mutated} histories had a read that could be made stale`);
  });
});

describe('a store that serves reads from a lagging follower (no ReadIndex)', () => {
  test('is caught', () => {
    const lagSeeds = seeds.slice(0, 10);
    let caught = 0;
    for (const seed of lagSeeds) {
      const options = { seed, operations: 300, keys: 2, clients: 6, readLagMs: 40 };
      assert.equal(checkHistorySync(generateRegisterHistory({ ...options, readLagMs: 0 })).verdict, 'linearizable', `seed ${seed} without lag`);
      const result = checkHistorySync(generateRegisterHistory(options));
      if (result.verdict !== 'not-linearizable') continue;
      caught++;
      for (const key of result.keys) {
        if (key.verdict !== 'not-linearizable') continue;
        assert.ok(key.failure!.window.some((op) => op.op === 'read'), 'a stale read is in the window');
      }
    }
    assert.ok(caught >= 9, `caught ${caught} of ${lagSeeds.length} lagging stores`);
  });
});

describe('parallel checking of random histories', () => {
  test('agrees with checking in this thread, failures and windows included', async () => {
    const ops = clone(generateRegisterHistory({ seed: 7, operations: 800, keys: 8, clients: 8 }));
    lastOkRead(ops).value = 'never written';
    const stale = makeOneReadStale(ops);
    assert.ok(stale !== undefined);
    const sequential = checkHistorySync(ops);
    assert.equal(sequential.verdict, 'not-linearizable');
    const parallel = await checkHistory(ops, { parallel: true, threads: 2 });
    assert.deepEqual(parallel, sequential);
  });
});
