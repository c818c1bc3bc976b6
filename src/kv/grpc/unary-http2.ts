/**
 * gRPC's unary calls over `node:http2`, no more: what the store's face needs
 * to serve etcd's KV service. grpc-js' server (interceptors, call objects,
 * stream wrappers, channelz) cost 65-100 us of CPU per call on this machine
 * against 43-70 us for this (one etcd3 client process, 64 puts outstanding,
 * an in-process store behind, 3 rounds each at load 6); a cross-process put
 * spends as much in our face as etcd's whole three-member cluster spends in
 * Go, so the face is where the cross-process rows are won or lost.
 *
 * The protocol (grpc/PROTOCOL-HTTP2.md): a POST to `/<service>/<method>`
 * with `content-type: application/grpc...`; the body is one length-prefixed
 * message (1 byte compressed flag, 4 bytes big-endian length, the message);
 * the answer is headers, one length-prefixed message and trailers carrying
 * `grpc-status` and `grpc-message` (percent-encoded), or, for an error, a
 * trailers-only answer (the status in the headers, stream ended). Message
 * codecs come from the service definition (@grpc/proto-loader's protobufjs
 * serializers), so the wire format is exactly what grpc-js used.
 *
 * Not served: compression (answered UNIMPLEMENTED, as grpc-go answers an
 * encoding it lacks), streaming methods, TLS. A call's `grpc-timeout` is left
 * to the client, which ends the call itself; a cancelled call's answer is
 * dropped. Bad input (a torn frame, a message that does not decode, a body
 * over the limit) gets an error status and the server goes on.
 *
 * An I/O edge: it reads nothing but the socket, and keeps no clock.
 */
import * as http2 from 'node:http2';

/** gRPC status codes this module answers with itself (grpc's codes.proto). */
export const GRPC_STATUS = { ok: 0, internal: 13, unimplemented: 12, resourceExhausted: 8 } as const;

/** gRPC's length prefix of a message: a compressed flag and a 4-byte big-endian length. */
export const FRAME_PREFIX_BYTES = 5;

/** gRPC's default limit on a received message (4 MiB), as grpc-go and grpc-js apply it. */
export const MAX_RECEIVE_BYTES_DEFAULT = 4 * 1024 * 1024;

/** One unary method: its codecs (from a proto-loader definition) and its handler. */
export interface UnaryMethod {
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  /**
   * Instead of `responseSerialize`, when given: the message after FRAME_PREFIX_BYTES left for the
   * server to fill with gRPC's length prefix, so the message is written once, not copied into a frame.
   */
  responseSerializeFramed?(value: unknown): Buffer;
  /** The answer, or a rejection carrying a status (see `toStatus`). */
  handle(request: unknown): Promise<unknown>;
}

export interface UnaryServerOptions {
  /** By path: `/etcdserverpb.KV/Put`. */
  methods: ReadonlyMap<string, UnaryMethod>;
  /** A handler's rejection as a gRPC status; `path` is the method's. */
  toStatus(error: unknown, path: string): { code: number; details: string };
  maxReceiveBytes?: number;
}

/** A call's failure as gRPC answers it. */
interface Status {
  code: number;
  details: string;
}

/** The unary gRPC server; `listen` as `http2.Http2Server.listen`. */
export function createUnaryServer(options: UnaryServerOptions): http2.Http2Server {
  const maxReceive = options.maxReceiveBytes ?? MAX_RECEIVE_BYTES_DEFAULT;
  const server = http2.createServer();
  // A client that goes away mid-frame (or sends garbage) ends its session; the server goes on.
  server.on('sessionError', () => undefined);
  server.on('session', (session) => session.on('error', () => undefined));
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const path = headers[':path'];
    const contentType = headers['content-type'];
    if (headers[':method'] !== 'POST' || typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      // Not a gRPC call: HTTP's own answer, as grpc-go gives (415 for a wrong content type).
      if (!stream.closed) stream.respond({ ':status': headers[':method'] !== 'POST' ? 405 : 415 }, { endStream: true });
      return;
    }
    const method = typeof path === 'string' ? options.methods.get(path) : undefined;
    if (method === undefined) {
      stream.resume();
      return answerStatus(stream, { code: GRPC_STATUS.unimplemented, details: `unknown method ${String(path)}` });
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    stream.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received > maxReceive + 5) {
        refused = true;
        answerStatus(stream, { code: GRPC_STATUS.resourceExhausted, details: `received message larger than max (${received - 5} vs. ${maxReceive})` });
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      const framed = unframe(body);
      if ('code' in framed) return answerStatus(stream, framed);
      let request: unknown;
      try {
        request = method.requestDeserialize(framed.message);
      } catch (error) {
        return answerStatus(stream, { code: GRPC_STATUS.internal, details: `error unmarshalling request: ${error instanceof Error ? error.message : String(error)}` });
      }
      startTogether(() => serve(stream, method, request, path as string));
    });
  });

  /**
   * Calls whose bodies ended in one turn of the event loop start together, in
   * its check phase (in arrival order). Node hands each stream's end to JS in
   * a callback of its own, with the microtasks run after each: a handler
   * started there sent its store ask alone, one frame and one wake-up of the
   * leader's thread per call (2,578 frames for 2,578 gets, measured), where a
   * client's 64 outstanding calls arrive a socket read at a time. Started
   * together, what one read brought leaves as one frame. The delay is the
   * rest of that loop turn; nothing about a call's answer changes.
   */
  let starting: Array<() => void> = [];
  const startAll = (): void => {
    const batch = starting;
    starting = [];
    for (const start of batch) start();
  };
  function startTogether(start: () => void): void {
    if (starting.length === 0) setImmediate(startAll);
    starting.push(start);
  }

  function serve(stream: http2.ServerHttp2Stream, method: UnaryMethod, request: unknown, path: string): void {
    let pending: Promise<unknown>;
    try {
      pending = method.handle(request);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (response) => {
        let frame: Buffer;
        try {
          frame = method.responseSerializeFramed !== undefined ? method.responseSerializeFramed(response) : frameOf(method.responseSerialize(response));
        } catch (error) {
          return answerStatus(stream, { code: GRPC_STATUS.internal, details: `error marshalling response: ${error instanceof Error ? error.message : String(error)}` });
        }
        answerFrame(stream, frame);
      },
      (error: unknown) => answerStatus(stream, options.toStatus(error, path)),
    );
  }
  return server;
}

/** The one message of a unary request's body, or why the body is not one. */
export function unframe(body: Buffer): { message: Buffer } | Status {
  if (body.length < 5) return { code: GRPC_STATUS.internal, details: `malformed gRPC frame: ${body.length} bytes, a frame needs at least 5` };
  const compressed = body[0]!;
  if (compressed === 1) return { code: GRPC_STATUS.unimplemented, details: 'compressed messages are not supported: send them uncompressed' };
  if (compressed !== 0) return { code: GRPC_STATUS.internal, details: `malformed gRPC frame: compressed flag ${compressed}` };
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) {
    return { code: GRPC_STATUS.internal, details: `malformed gRPC frame: a unary request carries one message of ${length} bytes, the body has ${body.length - 5}` };
  }
  return { message: body.subarray(5) };
}

function frameOf(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + message.length);
  message.copy(frame, FRAME_PREFIX_BYTES);
  return frame;
}

/**
 * A successful answer's headers and trailers, as grpc-go writes them: no `date` (node:http2 adds one to every
 * response unless told not to) and no empty `grpc-message` (grpc-go leaves it out). Every header is one more the
 * client's HTTP/2 and gRPC layers decode and turn into metadata per call, and across processes the etcd3 client
 * spends more CPU per call than our whole server (docs/kv-bench.md, issue 22's last section). Shared objects: node
 * copies headers before it encodes them.
 */
const OK_HEADERS: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };
/** `sendDate` is node:http2's (honoured by `respond`, though @types/node does not list it). */
const OK_RESPOND: http2.ServerStreamResponseOptions & { sendDate: boolean } = { waitForTrailers: true, sendDate: false };
const STATUS_RESPOND: http2.ServerStreamResponseOptions & { sendDate: boolean } = { endStream: true, sendDate: false };

/** The `wantTrailers` listener of every successful call: one function, not a closure per call. */
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** `frame`: the message after FRAME_PREFIX_BYTES, which are filled here. */
function answerFrame(stream: http2.ServerHttp2Stream, frame: Buffer): void {
  if (stream.closed || stream.destroyed) return;
  frame[0] = 0;
  frame.writeUInt32BE(frame.length - FRAME_PREFIX_BYTES, 1);
  stream.respond(OK_HEADERS, OK_RESPOND);
  // 'wantTrailers' comes once per stream: `on` spares `once`'s wrapper.
  stream.on('wantTrailers', sendOkTrailers);
  stream.end(frame);
}

/** A trailers-only answer: the status in the one HEADERS frame, which ends the stream. */
function answerStatus(stream: http2.ServerHttp2Stream, status: Status): void {
  if (stream.closed || stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status.code), 'grpc-message': encodeGrpcMessage(status.details) }, STATUS_RESPOND);
}

/** grpc-message is percent-encoded: bytes outside printable ASCII and `%` itself (PROTOCOL-HTTP2.md). */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
