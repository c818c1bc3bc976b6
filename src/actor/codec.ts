import { addExtension, Packr, Unpackr } from 'msgpackr';
import { isEnvelope, type Envelope } from './protocol.js';
import { isShared, sharedEverMarked } from './shared.js';

/**
 * Frames between threads: one msgpack array of envelopes per postMessage.
 *
 * On the wire an envelope is the tuple [to, from, type, corr, body]: its
 * fields by position, which is what a msgpackr record does for keys, minus
 * the per-object record header (measured here: pack 198 vs 334 ns, unpack
 * 115 vs 169 ns per envelope, same bytes). Bodies use msgpackr records.
 * Each frame carries its own record definitions, so a frame decodes on its
 * own: a corrupt or foreign frame cannot poison the frames after it.
 *
 * Objects marked shared (shared.ts: a watch cache's objects) are encoded
 * once per sending thread and the bytes reused by every frame that carries
 * them, as kube-apiserver serializes a watch event once for all its
 * watchers: one pod's change going to the schedulers, the controller-manager
 * and a kubelet, or a LIST of 20,000 unchanged pods, costs a copy of bytes,
 * not an encoding per receiver. A frame that carries any is
 * `[SHARED_FRAME_TAG, [blob...], envelopesBytes]`: each blob a standalone
 * msgpack value (its own record definitions, so it can be reused in any
 * frame), and the envelopes referring to blob i by a 0x53 extension. The
 * receiver decodes each blob once per frame: receivers of one frame share
 * that copy, as the simulated runtime shares one frozen copy.
 */
type WireEnvelope = [to: string, from: string, type: string, corr: number, body: unknown];

/** First element of a frame that carries shared objects apart (an envelope frame starts with an array, never a string). */
export const SHARED_FRAME_TAG = 'kubethreads.shared/1';
/** msgpack extension type of a reference to a shared object of the frame (application types are 0-127; msgpackr's own use others). */
const SHARED_REF_EXTENSION = 0x53;
/**
 * How deep below an envelope's body shared objects are looked for: deep
 * enough for a watch message (body → events → event → object) and a LIST
 * reply (reply → value → body → items → item), shallow enough that a body
 * holding none costs a short walk, not a second traversal of the whole body.
 */
export const SHARED_SEARCH_DEPTH = 4;

/** Stands in for a shared object in the envelopes' bytes: its index among the frame's blobs. */
class SharedRef {
  constructor(readonly index: number) {}
}

/** The current frame's decoded blobs while its envelopes are decoded (decoding is synchronous and never re-entrant). */
let decodingBlobs: readonly unknown[] | undefined;

addExtension({
  Class: SharedRef,
  type: SHARED_REF_EXTENSION,
  pack(ref: SharedRef): Uint8Array {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, ref.index);
    return bytes;
  },
  unpack(data: Uint8Array): unknown {
    if (decodingBlobs === undefined || data.length !== 4) throw new Error('a shared-object reference outside a frame of shared objects');
    const index = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
    if (index >= decodingBlobs.length) throw new Error(`a shared-object reference to blob ${index} of ${decodingBlobs.length}`);
    return decodingBlobs[index];
  },
});

export class FrameEncoder {
  private readonly packr = new Packr({ useRecords: true });
  /** Packs shared objects on their own (never mid-frame: a Packr's buffer is reused by its next pack). */
  private readonly blobPackr = new Packr({ useRecords: true });
  private readonly framePackr = new Packr({ useRecords: false });
  /** Each shared object's bytes, kept as long as the object lives (a watch cache holds each version while it is current or in its event window). */
  private readonly blobs = new WeakMap<object, Uint8Array>();
  /** Counters for tests and inspection. */
  readonly stats = { sharedEncoded: 0, sharedReused: 0 };

  /** Encode a batch into a standalone buffer that can be transferred. */
  encode(batch: readonly Envelope[]): Uint8Array {
    const frameShared = sharedEverMarked() ? new FrameShared() : undefined;
    const wire = new Array<WireEnvelope>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const body = frameShared === undefined ? e.body : frameShared.substitute(e.body, SHARED_SEARCH_DEPTH);
      wire[i] = [e.to, e.from, e.type, e.corr, body];
    }
    const packed = this.packr.pack(wire);
    if (frameShared === undefined || frameShared.objects.length === 0) {
      // msgpackr returns a view into its reusable buffer: copy out what we transfer.
      return new Uint8Array(packed);
    }
    const blobs = frameShared.objects.map((object) => this.blobOf(object));
    return new Uint8Array(this.framePackr.pack([SHARED_FRAME_TAG, blobs, packed]));
  }

  private blobOf(object: object): Uint8Array {
    const known = this.blobs.get(object);
    if (known !== undefined) {
      this.stats.sharedReused++;
      return known;
    }
    const bytes = new Uint8Array(this.blobPackr.pack(object));
    this.blobs.set(object, bytes);
    this.stats.sharedEncoded++;
    return bytes;
  }
}

/** The shared objects one frame refers to, each once, in the order first met. */
class FrameShared {
  readonly objects: object[] = [];
  private readonly indexes = new Map<object, number>();

  /** `value` with every shared object within `depth` levels replaced by a reference; copies only the containers on the way to one. */
  substitute(value: unknown, depth: number): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (isShared(value)) return new SharedRef(this.indexOf(value));
    if (depth === 0) return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const replaced = this.substitute(item, depth - 1);
        if (replaced !== item) (copy ??= value.slice())[i] = replaced;
      }
      return copy ?? value;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    let copy: Record<string, unknown> | undefined;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      const replaced = this.substitute(item, depth - 1);
      if (replaced !== item) (copy ??= { ...record })[key] = replaced;
    }
    return copy ?? value;
  }

  private indexOf(object: object): number {
    let index = this.indexes.get(object);
    if (index === undefined) {
      index = this.objects.push(object) - 1;
      this.indexes.set(object, index);
    }
    return index;
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
      if (Array.isArray(decoded) && decoded[0] === SHARED_FRAME_TAG) decoded = this.unpackShared(decoded);
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      decodingBlobs = undefined;
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

  /** `[tag, blobs, envelopesBytes]`: the blobs first, each on its own, then the envelopes that refer to them. */
  private unpackShared(parts: unknown[]): unknown {
    const [, blobs, envelopes] = parts;
    if (parts.length !== 3 || !Array.isArray(blobs) || !(envelopes instanceof Uint8Array) || !blobs.every((b) => b instanceof Uint8Array)) {
      throw new Error('a frame of shared objects must be [tag, blobs, envelope bytes]');
    }
    decodingBlobs = (blobs as Uint8Array[]).map((blob) => this.unpackr.unpack(blob) as unknown);
    return this.unpackr.unpack(envelopes);
  }
}
