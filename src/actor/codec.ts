import { addExtension, Packr, RESET_BUFFER_MODE, Unpackr } from 'msgpackr';
import { STORED_JSON_EVENT_EXT, STORED_JSON_REPLY_EXT, StoredJsonEvent, StoredJsonReply } from './json-event.js';
import { isEnvelope, type Envelope } from './protocol.js';

// A watch event of a shared object, and the answer to a write, cross threads as the store's JSON text (json-event.ts). msgpackr's extensions
// are global: every thread that loads this codec encodes and decodes it the same way.
addExtension({ Class: StoredJsonEvent, type: STORED_JSON_EVENT_EXT, write: (event: StoredJsonEvent) => StoredJsonEvent.write(event), read: (data: unknown) => StoredJsonEvent.read(data) });
addExtension({ Class: StoredJsonReply, type: STORED_JSON_REPLY_EXT, write: (reply: StoredJsonReply) => StoredJsonReply.write(reply), read: (data: unknown) => StoredJsonReply.read(data) });

/**
 * Frames between threads: one msgpack array of envelopes per postMessage.
 *
 * On the wire an envelope is the tuple [to, from, type, corr, body]: its
 * fields by position, which is what a msgpackr record does for keys, minus
 * the per-object record header (measured here: pack 198 vs 334 ns, unpack
 * 115 vs 169 ns per envelope, same bytes). Bodies use msgpackr records.
 * Each frame carries its own record definitions, so a frame decodes on its
 * own: a corrupt or foreign frame cannot poison the frames after it.
 */
type WireEnvelope = [to: string, from: string, type: string, corr: number, body: unknown];

export class FrameEncoder {
  private readonly packr = new Packr({ useRecords: true });

  /** Encode a batch into a standalone buffer that can be transferred. */
  encode(batch: readonly Envelope[]): Uint8Array {
    // msgpackr returns a view into its reusable buffer: copy out what we transfer.
    return new Uint8Array(this.encodeView(batch));
  }

  /**
   * Encode a batch into msgpackr's buffer: the view is valid until the next
   * pack in this thread (the router copies it into a frame ring, or out).
   * RESET_BUFFER_MODE gives the bytes back to msgpackr at once: without it
   * msgpackr leaves every result in place and moves on, and starts a new
   * 8 KiB ArrayBuffer each time one is used up (1,001 of them for 10,000
   * frames of 1.5 KB), each one external memory to V8 (issue #16).
   */
  encodeView(batch: readonly Envelope[]): Uint8Array {
    const wire = new Array<WireEnvelope>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      wire[i] = [e.to, e.from, e.type, e.corr, e.body];
    }
    return this.packr.pack(wire, RESET_BUFFER_MODE);
  }
}

export type DecodeResult = { ok: true; envelopes: Envelope[]; rejected: number } | { ok: false; error: string };

export class FrameDecoder {
  // copyBuffers: a binary value is copied out, never a view into the frame: frames are decoded from a buffer
  // the router reuses (frame-ring.ts), and a view would also keep a whole transferred frame alive.
  private readonly unpackr = new Unpackr({ useRecords: true, copyBuffers: true });

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
      if (Array.isArray(item) && item.length === 5) {
        const envelope = { to: item[0], from: item[1], type: item[2], corr: item[3], body: item[4] };
        if (isEnvelope(envelope)) {
          envelopes.push(envelope);
          continue;
        }
      }
      rejected++;
    }
    return { ok: true, envelopes, rejected };
  }
}
