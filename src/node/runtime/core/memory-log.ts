/**
 * A container log kept in memory (sim and worker runtimes), addressed by byte
 * offsets as a log file would be. Bounded: past `capacityBytes` the oldest
 * bytes are dropped and offsets keep counting, like a rotated file.
 */
import type { LogSlice } from './server.js';

export class MemoryLog {
  private buffer: Buffer = Buffer.alloc(0);
  /** Offset of buffer[0] in the whole log. */
  private baseOffsetBytes = 0;

  constructor(readonly capacityBytes: number) {
    if (!(capacityBytes > 0)) throw new Error('a memory log needs a positive capacity');
  }

  get sizeBytes(): number {
    return this.baseOffsetBytes + this.buffer.length;
  }

  append(text: string): void {
    let next = Buffer.concat([this.buffer, Buffer.from(text, 'utf8')]);
    if (next.length > this.capacityBytes) {
      const drop = next.length - this.capacityBytes;
      next = next.subarray(drop);
      this.baseOffsetBytes += drop;
    }
    this.buffer = next;
  }

  read(offsetBytes: number, limitBytes: number): LogSlice {
    const start = Math.max(offsetBytes, this.baseOffsetBytes) - this.baseOffsetBytes;
    const slice = completeUtf8(this.buffer.subarray(start, start + limitBytes), start + limitBytes < this.buffer.length);
    return { data: slice.toString('utf8'), nextOffsetBytes: this.baseOffsetBytes + start + slice.length };
  }

  tailOffset(lines: number): number {
    return this.baseOffsetBytes + tailStart(this.buffer, lines);
  }
}

/** Where the last `lines` lines of `bytes` begin (a trailing newline ends the last line, it does not start an empty one). */
export function tailStart(bytes: Uint8Array, lines: number): number {
  if (lines <= 0) return bytes.length;
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (bytes[i] === 0x0a && ++seen === lines) return i + 1;
  }
  return 0;
}

/** Cut a slice that ends inside a multi-byte UTF-8 character back to the character's start (only when more bytes follow). */
export function completeUtf8(bytes: Buffer, truncated: boolean): Buffer {
  if (!truncated || bytes.length === 0) return bytes;
  let i = bytes.length - 1;
  let back = 0;
  while (i >= 0 && back < 4 && (bytes[i]! & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i < 0) return bytes;
  const lead = bytes[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return need > back + 1 ? bytes.subarray(0, i) : bytes;
}
