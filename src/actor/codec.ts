import { Packr, Unpackr } from 'msgpackr';
import { isEnvelope, type Envelope } from './protocol.js';

/**
 * Frames between threads: one msgpack array of envelopes per postMessage.
 * Records (`useRecords`) encode repeated envelope shapes compactly, and each
 * frame carries its own record definitions, so a frame decodes on its own: a
 * corrupt or foreign frame cannot poison the frames after it.
 */
export class FrameEncoder {
  private readonly packr = new Packr({ useRecords: true });

  /** Encode a batch into a standalone buffer that can be transferred. */
  encode(batch: readonly Envelope[]): Uint8Array {
    const packed = this.packr.pack(batch);
    // msgpackr returns a view into its reusable buffer: copy out what we transfer.
    return new Uint8Array(packed);
  }
}

export type DecodeResult = { ok: true; envelopes: Envelope[]; rejected: number } | { ok: false; error: string };

export class FrameDecoder {
  private readonly unpackr = new Unpackr({ useRecords: true });

  /** Decode a frame; never throws. Envelopes of the wrong shape are counted in `rejected`. */
  decode(frame: Uint8Array): DecodeResult {
    let decoded: unknown;
    try {
      decoded = this.unpackr.unpack(frame);
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    if (!Array.isArray(decoded)) return { ok: false, error: 'a frame must be an array of envelopes' };
    const envelopes: Envelope[] = [];
    let rejected = 0;
    for (const item of decoded) {
      if (isEnvelope(item)) envelopes.push(item);
      else rejected++;
    }
    return { ok: true, envelopes, rejected };
  }
}
