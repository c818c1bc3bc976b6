import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { concatFrames, decodeRecords, encodeRecord, RECORD_HEADER_BYTES, sealRecord } from './record.js';
import { encodeEntry, entryPayloadBytes, writeEntry } from './wal-codec.js';

const payloadOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const three = (): Uint8Array[] => [encodeRecord(1, payloadOf('first')), encodeRecord(2, payloadOf('the middle one')), encodeRecord(3, payloadOf('last!'))];

describe('record frames', () => {
  test('round-trip type and payload, in order, with offsets', () => {
    const frames = three();
    const decoded = decodeRecords(concatFrames(frames));
    assert.equal(decoded.problem, undefined);
    assert.equal(decoded.validBytes, frames.reduce((sum, f) => sum + f.length, 0));
    assert.deepEqual(
      decoded.records.map((r) => [r.type, new TextDecoder().decode(r.payload), r.offset]),
      [
        [1, 'first', 0],
        [2, 'the middle one', frames[0]!.length],
        [3, 'last!', frames[0]!.length + frames[1]!.length],
      ],
    );
  });

  test('an empty payload is a valid record', () => {
    const decoded = decodeRecords(encodeRecord(7, new Uint8Array(0)));
    assert.equal(decoded.records.length, 1);
    assert.equal(decoded.records[0]!.payload.length, 0);
  });

  test('a tail torn at every byte offset of the last record is reported as torn at that record', () => {
    const frames = three();
    const whole = concatFrames(frames);
    const lastStart = frames[0]!.length + frames[1]!.length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const decoded = decodeRecords(whole.subarray(0, cut));
      assert.equal(decoded.records.length, 2, `cut at ${cut}`);
      assert.equal(decoded.validBytes, lastStart);
      assert.equal(decoded.problem?.kind, 'torn', `cut at ${cut}`);
      assert.equal(decoded.problem?.reason, cut - lastStart < RECORD_HEADER_BYTES ? 'header-incomplete' : 'payload-incomplete');
      assert.equal(decoded.problem?.offset, lastStart);
      assert.equal(decoded.problem?.bytes, cut - lastStart);
    }
  });

  test('a flipped bit anywhere in the middle record is corruption at that record, never torn, never accepted', () => {
    const frames = three();
    const whole = concatFrames(frames);
    const middleStart = frames[0]!.length;
    const middleEnd = middleStart + frames[1]!.length;
    for (let byte = middleStart; byte < middleEnd; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = whole.slice();
        damaged[byte]! ^= 1 << bit;
        const decoded = decodeRecords(damaged);
        assert.equal(decoded.records.length, 1, `byte ${byte} bit ${bit}`);
        assert.equal(decoded.problem?.kind, 'corrupt', `byte ${byte} bit ${bit}`);
        assert.equal(decoded.problem?.offset, middleStart);
        assert.equal(decoded.problem?.bytes, whole.length - middleStart);
        const expected = byte - middleStart < RECORD_HEADER_BYTES ? 'header-checksum' : 'payload-checksum';
        assert.equal(decoded.problem?.reason, expected, `byte ${byte} bit ${bit}`);
      }
    }
  });

  test('zero-filled space after the records is corruption, not a record', () => {
    const frames = three();
    const decoded = decodeRecords(concatFrames([...frames, new Uint8Array(64)]));
    assert.equal(decoded.records.length, 3);
    assert.equal(decoded.problem?.kind, 'corrupt');
    assert.equal(decoded.problem?.reason, 'header-checksum');
  });

  test('encoding refuses type 0 and types above 255', () => {
    assert.throws(() => encodeRecord(0, new Uint8Array(1)), RangeError);
    assert.throws(() => encodeRecord(256, new Uint8Array(1)), RangeError);
  });
});

test('records built in place in one buffer are byte for byte the frames encodeRecord makes', () => {
  const entries = [
    { term: 3, index: 41, type: 'normal' as const, data: new Uint8Array([1, 2, 3]) },
    { term: 2 ** 40, index: 2 ** 52, type: 'confChange' as const, data: new Uint8Array(0) },
    { term: 7, index: 43, type: 'normal' as const, data: new Uint8Array(1000).map((_, i) => i & 0xff) },
  ];
  const expected = concatFrames(entries.map((e) => encodeRecord(1, encodeEntry(e))));
  // Start inside a larger buffer, so offsets into its ArrayBuffer are exercised too.
  const backing = new Uint8Array(expected.length + 10).fill(0xee);
  const out = backing.subarray(5, 5 + expected.length);
  let at = 0;
  for (const entry of entries) {
    const n = entryPayloadBytes(entry);
    writeEntry(out, at + RECORD_HEADER_BYTES, entry);
    sealRecord(out, at, 1, n);
    at += RECORD_HEADER_BYTES + n;
  }
  assert.deepEqual(out, expected);
  assert.equal(backing[4], 0xee, 'nothing written before the buffer');
  assert.equal(backing[5 + expected.length], 0xee, 'nothing written after it');
  assert.throws(() => sealRecord(out, 0, 0, 3), RangeError);
});
