import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cUpdate } from './crc32c.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Bit-at-a-time CRC-32C straight from the definition: the oracle for the table-driven one. */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32c', () => {
  // Vectors from RFC 3720 (iSCSI) appendix B.4 and the common "check" value.
  const vectors: Array<[string, Uint8Array, number]> = [
    ['the standard check string "123456789"', ascii('123456789'), 0xe3069283],
    ['no bytes', new Uint8Array(0), 0],
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 ascending bytes', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['32 descending bytes', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ];
  for (const [name, input, expected] of vectors) {
    test(`matches the published value for ${name}`, () => {
      assert.equal(crc32c(input), expected);
    });
  }

  test('agrees with the bitwise definition for every length 0..100 and unaligned starts', () => {
    let seed = 7;
    const bytes = Uint8Array.from({ length: 120 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    for (let start = 0; start < 9; start++) {
      for (let length = 0; length <= 100; length++) {
        const slice = bytes.subarray(start, start + length);
        assert.equal(crc32cUpdate(0, bytes, start, start + length), crc32cBitwise(slice), `start ${start} length ${length}`);
      }
    }
  });

  test('checksumming in pieces equals checksumming the whole', () => {
    const bytes = ascii('the quick brown fox jumps over the lazy dog, twice over');
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.equal(crc32cUpdate(crc32cUpdate(0, bytes, 0, cut), bytes, cut), crc32c(bytes));
    }
  });

  test('is not the IEEE CRC-32 (the vectors would catch a wrong polynomial)', () => {
    assert.notEqual(crc32c(ascii('123456789')), 0xcbf43926);
  });

  test('rejects a range outside the buffer', () => {
    assert.throws(() => crc32cUpdate(0, new Uint8Array(4), 2, 9), RangeError);
  });
});
