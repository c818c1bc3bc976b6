/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI, ext4 metadata and etcd's WAL. Table-driven, slicing by 8 bytes: the
 * WAL checksums every byte it writes and every byte it replays, so this is on
 * the hot path of both.
 */

const POLYNOMIAL_REFLECTED = 0x82f63b78;

/** TABLES[k][b]: the CRC contribution of byte b seen k bytes before the end of an 8-byte block. */
const TABLES: Uint32Array[] = buildTables();

function buildTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0]!;
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL_REFLECTED : crc >>> 1;
    first[byte] = crc >>> 0;
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = first[byte]!;
    for (let k = 1; k < 8; k++) {
      crc = (crc >>> 8) ^ first[crc & 0xff]!;
      tables[k]![byte] = crc >>> 0;
    }
  }
  return tables;
}

/**
 * Extends `crc` (the CRC of what came before, 0 for nothing) with `bytes[start, end)`.
 * `crc32c(b) === crc32cUpdate(0, b)`, and updates compose: checksumming a buffer
 * in pieces gives the same value as checksumming it whole.
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!(start >= 0 && start <= end && end <= bytes.length)) {
    throw new RangeError(`crc32c: range [${start}, ${end}) outside a buffer of ${bytes.length} bytes`);
  }
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = start;
  const blockEnd = start + ((end - start) & ~7);
  while (i < blockEnd) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = (c >>> 8) ^ t0[(c ^ bytes[i++]!) & 0xff]!;
  return ~c >>> 0;
}

/** The CRC-32C of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  return crc32cUpdate(0, bytes);
}
