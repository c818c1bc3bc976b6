import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeSnapshotMetadata, encodeSnapshotMetadata } from './wal-codec.js';

describe('snapshot metadata encoding', () => {
  test('a joint configuration (ConfChangeV2) survives encoding whole', () => {
    const metadata = { index: 9, term: 3, confState: { voters: [1, 4, 5], learners: [6], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: true } };
    assert.deepEqual(decodeSnapshotMetadata(encodeSnapshotMetadata(metadata)), metadata);
  });

  test('a plain configuration keeps the four-field shape files written before joint consensus have', () => {
    const metadata = { index: 9, term: 3, confState: { voters: [1, 2, 3], learners: [] } };
    assert.deepEqual(decodeSnapshotMetadata(encodeSnapshotMetadata(metadata)), metadata);
  });
});
