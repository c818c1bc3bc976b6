import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jointValue, jointVoteResult, majorityValue, majorityVoteResult } from './quorum.js';

const set = (...ids: number[]): Set<number> => new Set(ids);
const votes = (entries: [number, boolean][]): Map<number, boolean> => new Map(entries);

describe('majority quorums', () => {
  test('the committed value is the one a majority has reached', () => {
    const match = new Map([[1, 9], [2, 5], [3, 7]]);
    assert.equal(majorityValue(set(1, 2, 3), (id) => match.get(id)!), 7);
  });

  test('the committed value is the sorted majority\'s for any sizes, ties and orders (the in-place sort against a plain sort)', () => {
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let round = 0; round < 500; round++) {
      const size = 1 + Math.floor(next() * 9);
      const match = new Map<number, number>();
      for (let id = 1; id <= size; id++) match.set(id, Math.floor(next() * 6));
      const expected = [...match.values()].sort((a, b) => b - a)[Math.floor(size / 2)];
      assert.equal(majorityValue(new Set(match.keys()), (id) => match.get(id)!), expected, `matches ${[...match.values()].join(',')}`);
    }
  });

  test('an empty configuration constrains nothing', () => {
    assert.equal(majorityValue(set(), () => 0), Number.POSITIVE_INFINITY);
    assert.equal(majorityVoteResult(set(), votes([])), 'won');
  });

  test('a vote is lost once a majority can no longer grant it', () => {
    assert.equal(majorityVoteResult(set(1, 2, 3), votes([[1, true]])), 'pending');
    assert.equal(majorityVoteResult(set(1, 2, 3), votes([[1, true], [2, true]])), 'won');
    assert.equal(majorityVoteResult(set(1, 2, 3), votes([[1, true], [2, false], [3, false]])), 'lost');
  });
});

describe('joint quorums (C_old,new)', () => {
  const joint = { incoming: set(1, 4, 5), outgoing: set(1, 2, 3) };

  test('the joint commit index is the smaller of the two majorities', () => {
    const match = new Map([[1, 10], [2, 3], [3, 2], [4, 10], [5, 10]]);
    // The incoming half has 10 everywhere; the outgoing half's majority only reached 3.
    assert.equal(jointValue(joint, (id) => match.get(id)!), 3);
  });

  test('a majority of the incoming voters alone does not win a joint vote', () => {
    assert.equal(jointVoteResult(joint, votes([[1, true], [4, true], [5, true]])), 'pending');
    assert.equal(jointVoteResult(joint, votes([[1, true], [4, true], [5, true], [2, false], [3, false]])), 'lost');
    assert.equal(jointVoteResult(joint, votes([[1, true], [4, true], [2, true]])), 'won');
  });

  test('outside a joint configuration the outgoing half is empty and the incoming one decides', () => {
    const plain = { incoming: set(1, 2, 3), outgoing: set() };
    assert.equal(jointVoteResult(plain, votes([[1, true], [2, true]])), 'won');
    assert.equal(jointValue(plain, (id) => id), 2);
  });
});
