/**
 * A watch event `{type, object}` that crosses threads as the object's stored
 * JSON text rather than as the object.
 *
 * The API server's watch fan-out sends each pod version to five or so
 * watcher threads (schedulers, controller-manager, the bench's driver, the
 * pod's kubelet), and msgpackr encoded the whole object again for each of
 * them: about a sixth of the API server thread's time in the density burst
 * (docs/performance.md). The watch cache already holds the text the store
 * keeps (it parsed it into the object): writing that string into a frame is
 * a copy, about 2 µs a pod against 8 µs for the object's encoding. The
 * receiving thread parses it (the informers' threads have idle CPU).
 *
 * Within a thread, and in the simulated runtime, the event is plain data:
 * its enumerable fields are `type` and `object`, in that order, exactly the
 * plain event it stands for; the text and the resourceVersion are private
 * fields, seen by nothing but the codec (src/actor/codec.ts registers the
 * wire form; src/actor/sim/message-copy.ts copies it as the plain object).
 *
 * The contract: `object` equals `JSON.parse(json)` with
 * `metadata.resourceVersion` set to `resourceVersion`, in that key order
 * (the store keeps an object without its resourceVersion, which is the
 * revision that wrote it: the API server's own decoding, registry.ts).
 */
export class StoredJsonEvent {
  readonly type: string;
  readonly object: object;
  readonly #json: string;
  readonly #resourceVersion: string;

  constructor(type: string, object: object, json: string, resourceVersion: string) {
    this.type = type;
    this.object = object;
    this.#json = json;
    this.#resourceVersion = resourceVersion;
  }

  /** The wire form: [type, stored JSON text, resourceVersion]. */
  static write(event: StoredJsonEvent): [string, string, string] {
    return [event.type, event.#json, event.#resourceVersion];
  }

  /** What a receiving thread gets: the plain event, its object parsed from the text. Throws on a malformed wire form. */
  static read(data: unknown): { type: string; object: object } {
    if (!Array.isArray(data) || data.length !== 3 || typeof data[0] !== 'string' || typeof data[1] !== 'string' || typeof data[2] !== 'string') {
      throw new Error('a stored-JSON watch event must be [type, json, resourceVersion]');
    }
    return { type: data[0], object: parseStored(data[1], data[2]) };
  }
}

/**
 * The same for the answer to a write: `{ok: true, code, body}` whose body is
 * the object just stored, sent as the text the store was given (the kubelets'
 * status writes are answered with the whole pod, as Kubernetes answers them,
 * and the kubelet reads its resourceVersion). Same contract as above: `body`
 * equals `JSON.parse(json)` with `metadata.resourceVersion` set, key order
 * included.
 */
export class StoredJsonReply {
  readonly ok = true as const;
  readonly code: number;
  readonly body: object;
  readonly #json: string;
  readonly #resourceVersion: string;

  constructor(code: number, body: object, json: string, resourceVersion: string) {
    this.code = code;
    this.body = body;
    this.#json = json;
    this.#resourceVersion = resourceVersion;
  }

  /** The wire form: [code, stored JSON text, resourceVersion]. */
  static write(reply: StoredJsonReply): [number, string, string] {
    return [reply.code, reply.#json, reply.#resourceVersion];
  }

  /** What the asking thread gets: the plain reply, its body parsed from the text. Throws on a malformed wire form. */
  static read(data: unknown): { ok: true; code: number; body: object } {
    if (!Array.isArray(data) || data.length !== 3 || typeof data[0] !== 'number' || typeof data[1] !== 'string' || typeof data[2] !== 'string') {
      throw new Error('a stored-JSON reply must be [code, json, resourceVersion]');
    }
    return { ok: true, code: data[0], body: parseStored(data[1], data[2]) };
  }
}

function parseStored(json: string, resourceVersion: string): object {
  const object = JSON.parse(json) as { metadata?: { resourceVersion?: string } };
  if (object === null || typeof object !== 'object' || object.metadata === null || typeof object.metadata !== 'object') {
    throw new Error('stored JSON must be an object with metadata');
  }
  object.metadata.resourceVersion = resourceVersion;
  return object;
}

/** msgpack extension types of a StoredJsonEvent and a StoredJsonReply on the wire (msgpackr's own use 0x42, 0x62, 0x65, 0x69, 0x70, 0x72-0x74, 0x78, 0xff). */
export const STORED_JSON_EVENT_EXT = 0x6a;
export const STORED_JSON_REPLY_EXT = 0x6b;
