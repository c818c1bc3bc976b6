import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Operation, RegisterValue } from '../history.js';
import { checkHistorySync } from './check.js';
import { compileRegisterHistory, rangeMask, windowProblem } from './register.js';
import { createPrng, generateRegisterHistory } from './random-history.js';
import { searchLinearization, stateRejected, type SearchProblem } from './search.js';

/**
 * The definition, with no pruning at all: some order of all required
 * operations and some of the optional ones that the model accepts and in which
 * no operation comes after one invoked after it returned.
 */
function exhaustivelyLinearizable(problem: SearchProblem): boolean {
  const n = problem.count;
  const used = new Uint8Array(n);
  const extend = (state: number, requiredLeft: number): boolean => {
    if (requiredLeft === 0) return true;
    for (let op = 0; op < n; op++) {
      if (used[op] === 1) continue;
      let blocked = false;
      for (let other = 0; other < n; other++) {
        if (used[other] === 0 && other !== op && problem.completeMs[other] < problem.invokeMs[op]) blocked = true;
      }
      if (blocked) continue;
      const after = problem.step(state, op);
      if (after === stateRejected) continue;
      used[op] = 1;
      const found = extend(after, requiredLeft - (problem.completeMs[op] === Infinity ? 0 : 1));
      used[op] = 0;
      if (found) return true;
    }
    return false;
  };
  let required = 0;
  for (let op = 0; op < n; op++) if (problem.completeMs[op] !== Infinity) required++;
  return extend(problem.initialState, required);
}

/** Breaks a history at random: a read returns another value, or a cas reports the other outcome. */
function mutate(ops: Operation[], seed: number): Operation[] {
  const random = createPrng(seed);
  const copy = ops.map((op) => ({ ...op }));
  const values: RegisterValue[] = [null, ...copy.flatMap((op) => (op.op === 'read' ? [] : [op.value]))];
  const targets = copy.filter((op) => op.status === 'ok' && op.op !== 'write');
  if (targets.length === 0) return copy;
  const target = targets[random.int(targets.length)];
  if (target.op === 'read') target.value = values[random.int(values.length)];
  else if (target.op === 'cas') target.swapped = target.swapped !== true;
  return copy;
}

describe('the pruned search against an exhaustive one', () => {
  test('gives the same verdict on small random histories, correct and broken, with many unknown outcomes', () => {
    let linearizable = 0;
    let notLinearizable = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const random = createPrng(seed * 7919);
      let ops = generateRegisterHistory({
        seed,
        operations: 4 + random.int(4),
        clients: 2 + random.int(3),
        keys: 1,
        latencyMsMax: 6,
        readFraction: 0.4,
        casFraction: 0.5,
        failProbability: 0.05,
        unknownProbability: 0.3,
      });
      if (seed % 2 === 0) ops = mutate(ops, seed);
      const { history } = compileRegisterHistory('k0', ops, null);
      const problem = windowProblem(history, rangeMask(history.count, 0, history.count - 1));
      const expected = exhaustivelyLinearizable(problem) ? 'linearizable' : 'not-linearizable';
      const result = searchLinearization(problem);
      assert.equal(result.outcome, expected, `seed ${seed}: ${JSON.stringify(ops)}`);
      if (expected === 'linearizable') linearizable++;
      else notLinearizable++;
    }
    assert.ok(notLinearizable >= 50 && linearizable >= 50, `${linearizable} linearizable, ${notLinearizable} not: both verdicts exercised`);
  });
});

// Histories on one hot key with many clients, broken in one place.
function hotKey(seed: number, operations = 500, clients = 16): Operation[] {
  return generateRegisterHistory({ seed, operations, keys: 1, clients }).map((op) => ({ ...op }));
}

describe('planted violations on one key with 16 clients', () => {
  test('a stale read: a read returns a value overwritten by a write that completed before the read began', () => {
    for (const seed of [1, 2, 3]) {
      const ops = hotKey(seed);
      const writes = ops.filter((op) => op.op === 'write' && op.status === 'ok');
      const read = ops.filter((op) => op.op === 'read' && op.status === 'ok').at(-1)!;
      // A write that completed, then another that was invoked after it completed and completed before the read.
      const older = writes.find((w) => writes.some((newer) => newer.invokeMs > w.completeMs! && newer.completeMs! < read.invokeMs) && w.value !== read.value)!;
      read.value = (older as { value: RegisterValue }).value;
      const result = checkHistorySync(ops);
      assert.equal(result.verdict, 'not-linearizable', `seed ${seed}`);
      assert.ok(result.keys[0].failure!.essentialIds.includes(read.id), `seed ${seed}: the stale read is essential`);
    }
  });

  test('a lost write: an acknowledged write whose value is read, then read again after a later write completed', () => {
    for (const seed of [4, 5, 6]) {
      const ops = hotKey(seed);
      const reads = ops.filter((op) => op.op === 'read' && op.status === 'ok');
      const last = reads.at(-1)!;
      const earlier = reads[Math.floor(reads.length / 2)];
      // The last read sees what a read in the middle saw: every write between them was lost.
      last.value = earlier.value;
      const result = checkHistorySync(ops);
      assert.equal(result.verdict, 'not-linearizable', `seed ${seed}`);
    }
  });

  test('a read of a value never written', () => {
    const ops = hotKey(7);
    const read = ops.filter((op) => op.op === 'read' && op.status === 'ok')[100];
    read.value = 'never written';
    const result = checkHistorySync(ops);
    assert.equal(result.verdict, 'not-linearizable');
    assert.deepEqual(result.keys[0].failure!.window.map((op) => op.id), [read.id]);
  });

  test('a store serving reads from a lagging follower', () => {
    const result = checkHistorySync(generateRegisterHistory({ seed: 8, operations: 2000, keys: 1, clients: 16, readLagMs: 40 }));
    assert.equal(result.verdict, 'not-linearizable');
  });

  test('10,000 operations of a correct store on one key with 16 clients are decided, not unknown', () => {
    const result = checkHistorySync(generateRegisterHistory({ seed: 42, operations: 10_000, keys: 1, clients: 16 }));
    assert.equal(result.verdict, 'linearizable');
  });
});

describe('unknown', () => {
  test('reports the reason and the budget used, after scanning windows that all pass', () => {
    const ops = generateRegisterHistory({ seed: 9, operations: 2000, keys: 1, clients: 16 });
    const result = checkHistorySync(ops, { searchStepsMax: 300 });
    const key = result.keys[0];
    assert.equal(key.verdict, 'unknown');
    assert.match(key.reason ?? '', /gave up after 300 search steps \(stepsMax\)/);
    assert.match(key.reason ?? '', /windows of 256 operations scanned/);
    assert.deepEqual({ steps: key.budget?.steps, stepsMax: key.budget?.stepsMax }, { steps: 300, stepsMax: 300 });
  });
});
