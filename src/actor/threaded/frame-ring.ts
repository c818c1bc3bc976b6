/**
 * A single-producer, single-consumer ring of frames in a SharedArrayBuffer:
 * one per directed pair of threads, written by the sender, read by the
 * receiver. It replaces a new, transferred ArrayBuffer per frame: V8 counts
 * every ArrayBuffer's backing store as external memory and starts a full
 * collection whenever that grows some 64 MB, so a thread that receives many
 * frames was collected for frames it had long dropped (docs/performance.md,
 * issue #16). A ring is one buffer for the life of the pair.
 *
 * Layout: a control block (the write and read counters, each on its own
 * cache line), then `capacityBytes` (a power of two) of records. A record is
 * 8-byte aligned: [u32 length][u32 portFramesBefore][length bytes]. A record
 * that does not fit before the end of the buffer is preceded by a wrap
 * marker (length WRAP_MARKER) and starts at offset 0. The counters run
 * modulo 2^32 (the capacity divides it); the writer alone stores the write
 * counter, the reader alone the read counter, both with Atomics (sequentially
 * consistent), which is what makes the wake-up rule below sound.
 *
 * Wake-up: the writer publishes a record, then reads the read counter; if it
 * equals where the record starts, the reader had consumed everything before
 * it and may be idle, so the writer must wake it (`write` returns 'wake').
 * The reader stores its read counter after each record and stops only when a
 * fresh load of the write counter equals it. Of the writer's (store write,
 * load read) and the reader's (store read, load write), one load sees the
 * other's store: either the writer wakes the reader or the reader sees the
 * record. No record is left unread with no wake-up on the way.
 *
 * `portFramesBefore` orders the ring with the frames that did not fit and
 * went by postMessage (see router.ts): a record is read only after that many
 * port frames from the same sender have been.
 */

/** Bytes of the control block: the two counters a cache line apart. */
const CONTROL_BYTES = 128;
const WRITE_INDEX = 0;
const READ_INDEX = 16;
const HEADER_BYTES = 8;
/** A length no record has: the rest of the buffer is skipped, the next record starts at 0. */
const WRAP_MARKER = 0xffffffff;

export type RingWrite = 'full' | 'written' | 'wake';

export type RingRead =
  | { kind: 'empty' }
  /** The next record waits for a frame that went by the port: read it first. */
  | { kind: 'barrier'; portFramesBefore: number }
  | { kind: 'frame'; bytes: Uint8Array };

export function ringBytesFor(capacityBytes: number): number {
  return CONTROL_BYTES + capacityBytes;
}

/** Bytes a frame of `frameBytes` takes in a ring, header and alignment included. */
export function recordBytes(frameBytes: number): number {
  return (HEADER_BYTES + frameBytes + 7) & ~7;
}

export class FrameRing {
  readonly capacityBytes: number;
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly words: Uint32Array;
  private readonly mask: number;
  /** This side's own counter (the writer's write counter or the reader's read counter), mirrored from the shared one. */
  private ownCounter: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    const capacityBytes = buffer.byteLength - CONTROL_BYTES;
    if (capacityBytes < 64 || (capacityBytes & (capacityBytes - 1)) !== 0) {
      throw new Error(`a frame ring needs a power-of-two capacity of at least 64 bytes after its ${CONTROL_BYTES}-byte control block (got ${buffer.byteLength} bytes)`);
    }
    this.capacityBytes = capacityBytes;
    this.mask = capacityBytes - 1;
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.data = new Uint8Array(buffer, CONTROL_BYTES, capacityBytes);
    this.words = new Uint32Array(buffer, CONTROL_BYTES, capacityBytes / 4);
    this.ownCounter = 0;
  }

  static create(capacityBytes: number): FrameRing {
    return new FrameRing(new SharedArrayBuffer(ringBytesFor(capacityBytes)));
  }

  /** The writer's side: the ring as a writer sees it (its counter taken from the shared one). */
  static writer(buffer: SharedArrayBuffer): FrameRing {
    const ring = new FrameRing(buffer);
    ring.ownCounter = Atomics.load(ring.control, WRITE_INDEX);
    return ring;
  }

  /** The reader's side. */
  static reader(buffer: SharedArrayBuffer): FrameRing {
    const ring = new FrameRing(buffer);
    ring.ownCounter = Atomics.load(ring.control, READ_INDEX);
    return ring;
  }

  /** Bytes written and not yet read (either side may ask). */
  usedBytes(): number {
    return (Atomics.load(this.control, WRITE_INDEX) - Atomics.load(this.control, READ_INDEX)) >>> 0;
  }

  // ----- the writer -----

  /**
   * Append `frame`, to be read after `portFramesBefore` port frames. 'full':
   * it does not fit now (nothing written); 'wake': written, and the reader may
   * be idle; 'written': the reader has unread records before it and will come to it.
   */
  write(frame: Uint8Array, portFramesBefore: number): RingWrite {
    const start = this.ownCounter;
    const used = (start - Atomics.load(this.control, READ_INDEX)) >>> 0;
    const size = recordBytes(frame.length);
    let offset = start & this.mask;
    const tail = this.capacityBytes - offset;
    const skip = size > tail ? tail : 0;
    if (used + skip + size > this.capacityBytes) return 'full';
    if (skip > 0) {
      // tail is a multiple of 8 (records are aligned), so the marker's header fits.
      this.words[offset >>> 2] = WRAP_MARKER;
      offset = 0;
    }
    this.words[offset >>> 2] = frame.length;
    this.words[(offset >>> 2) + 1] = portFramesBefore >>> 0;
    this.data.set(frame, offset + HEADER_BYTES);
    const end = (start + skip + size) | 0;
    this.ownCounter = end;
    Atomics.store(this.control, WRITE_INDEX, end);
    return Atomics.load(this.control, READ_INDEX) === start ? 'wake' : 'written';
  }

  // ----- the reader -----

  /**
   * The next record, copied into `scratch` (grown as needed; the record's
   * space is given back to the writer before this returns), unless the ring
   * is empty or the record waits for port frames not yet read
   * (`portFramesRead` is how many this reader has read from the sender).
   */
  read(portFramesRead: number, scratch: { bytes: Uint8Array }): RingRead {
    let counter = this.ownCounter;
    const written = Atomics.load(this.control, WRITE_INDEX);
    if (counter === written) return { kind: 'empty' };
    let offset = counter & this.mask;
    let length = this.words[offset >>> 2]!;
    if (length === WRAP_MARKER) {
      counter = (counter + (this.capacityBytes - offset)) | 0;
      offset = 0;
      length = this.words[0]!;
    }
    const available = (written - counter) >>> 0;
    if (length > this.capacityBytes - offset - HEADER_BYTES || recordBytes(length) > available) {
      // Only this module writes rings: a bad header is a bug, not input.
      throw new Error(`frame ring corrupt: a record of ${length} bytes at offset ${offset} with ${available} bytes written`);
    }
    const portFramesBefore = this.words[(offset >>> 2) + 1]!;
    if (((portFramesBefore - portFramesRead) | 0) > 0) return { kind: 'barrier', portFramesBefore };
    if (scratch.bytes.length < length) scratch.bytes = new Uint8Array(Math.max(length, scratch.bytes.length * 2));
    const bytes = scratch.bytes.subarray(0, length);
    bytes.set(this.data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length));
    const end = (counter + recordBytes(length)) | 0;
    this.ownCounter = end;
    Atomics.store(this.control, READ_INDEX, end);
    return { kind: 'frame', bytes };
  }
}
