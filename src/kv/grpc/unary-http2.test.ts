import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { GRPC_STATUS, createUnaryServer, encodeGrpcMessage, unframe, type UnaryMethod } from './unary-http2.js';

/** A method whose messages are UTF-8 text: enough to see the framing, not protobuf's part. */
const echo: UnaryMethod = {
  requestDeserialize: (bytes) => {
    const text = bytes.toString('utf8');
    if (text === 'undecodable') throw new Error('bad wire bytes');
    return text;
  },
  responseSerialize: (value) => Buffer.from(`echo:${String(value)}`),
  handle: async (request) => {
    if (request === 'fail') throw new Error('the store said no');
    return request;
  },
};

/** The run of synchronous code (ended by a microtask checkpoint) each call of `together` started its handler in. */
const startedInRun: number[] = [];
let runs = 0;
let runOpen = false;
const together: UnaryMethod = {
  ...echo,
  handle: async (request) => {
    if (!runOpen) {
      runOpen = true;
      runs++;
      queueMicrotask(() => (runOpen = false));
    }
    startedInRun.push(runs);
    return request;
  },
};

const frame = (payload: Buffer, compressed = 0): Buffer => {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = compressed;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
};

interface Answer {
  status: number;
  contentType?: string;
  grpcStatus?: string;
  grpcMessage?: string;
  /** Every header name of the response's HEADERS, then of its trailers, in order (pseudo-headers included). */
  headerNames: string[];
  trailerNames: string[];
  body: Buffer;
}

describe('unary gRPC over node:http2', () => {
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;

  before(async () => {
    server = createUnaryServer({
      methods: new Map([['/test.Echo/Say', echo], ['/test.Echo/Together', together]]),
      toStatus: (error, path) => ({ code: 9, details: `${path}: ${error instanceof Error ? error.message : String(error)}` }),
      maxReceiveBytes: 1024,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = http2.connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  });
  after(() => {
    client.close();
    server.close();
  });

  /** One call as a gRPC client makes it; headers and trailers merged (a trailers-only answer has no trailers). */
  const call = (body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = client.request({ ':method': 'POST', ':path': '/test.Echo/Say', 'content-type': 'application/grpc', te: 'trailers', ...headers });
      const answer: Answer = { status: 0, headerNames: [], trailerNames: [], body: Buffer.alloc(0) };
      const chunks: Buffer[] = [];
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h[':status'] !== undefined) answer.status = Number(h[':status']);
        if (h['content-type'] !== undefined) answer.contentType = String(h['content-type']);
        if (h['grpc-status'] !== undefined) answer.grpcStatus = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) answer.grpcMessage = String(h['grpc-message']);
      };
      req.on('response', (h) => (take(h), answer.headerNames.push(...Object.keys(h))));
      req.on('trailers', (h) => (take(h), answer.trailerNames.push(...Object.keys(h))));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ ...answer, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      req.end(body);
    });

  test('a call answers one framed message, then trailers with grpc-status 0', async () => {
    const answer = await call(frame(Buffer.from('hello')));
    assert.equal(answer.status, 200);
    assert.equal(answer.contentType, 'application/grpc');
    assert.equal(answer.grpcStatus, '0');
    assert.deepEqual(answer.body, frame(Buffer.from('echo:hello')));
  });

  test('a successful answer carries what grpc-go sends and no more: no date, no empty grpc-message', async () => {
    const answer = await call(frame(Buffer.from('hello')));
    assert.deepEqual(answer.headerNames, [':status', 'content-type']);
    assert.deepEqual(answer.trailerNames, ['grpc-status']);
    const failed = await call(frame(Buffer.from('fail')));
    assert.deepEqual(failed.headerNames, [':status', 'content-type', 'grpc-status', 'grpc-message'], 'a trailers-only answer has no date either');
  });

  test('a handler\'s rejection is a trailers-only answer carrying toStatus\'s code and its message percent-encoded', async () => {
    const answer = await call(frame(Buffer.from('fail')));
    assert.equal(answer.grpcStatus, '9');
    assert.equal(decodeURIComponent(answer.grpcMessage!), '/test.Echo/Say: the store said no');
    assert.equal(answer.body.length, 0);
  });

  test('bad input gets a status and loses nothing: torn frames, compression, undecodable bytes, oversized bodies, unknown methods, non-gRPC requests', async () => {
    const torn = await call(frame(Buffer.from('hello')).subarray(0, 7));
    assert.equal(torn.grpcStatus, String(GRPC_STATUS.internal));
    assert.match(decodeURIComponent(torn.grpcMessage!), /malformed gRPC frame/);
    const two = await call(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]));
    assert.equal(two.grpcStatus, String(GRPC_STATUS.internal), 'a unary body holds exactly one message');
    assert.equal((await call(frame(Buffer.from('hello'), 1))).grpcStatus, String(GRPC_STATUS.unimplemented));
    assert.equal((await call(Buffer.alloc(0))).grpcStatus, String(GRPC_STATUS.internal));
    const undecodable = await call(frame(Buffer.from('undecodable')));
    assert.equal(undecodable.grpcStatus, String(GRPC_STATUS.internal));
    assert.match(decodeURIComponent(undecodable.grpcMessage!), /unmarshalling request: bad wire bytes/);
    assert.equal((await call(frame(Buffer.alloc(2000, 0x61)))).grpcStatus, String(GRPC_STATUS.resourceExhausted));
    assert.equal((await call(frame(Buffer.from('x')), { ':path': '/test.Echo/Shout' })).grpcStatus, String(GRPC_STATUS.unimplemented));
    assert.equal((await call(frame(Buffer.from('x')), { 'content-type': 'application/json' })).status, 415);
    assert.equal((await call(frame(Buffer.from('still here')))).grpcStatus, '0', 'the server keeps serving');
  });

  test('calls that arrive together start their handlers together, so that what they ask of the store can leave in one frame', async () => {
    // One client session sends 20 calls in one turn: they reach the server in one or a few socket reads.
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(frame(Buffer.from(`call ${i}`)), { ':path': '/test.Echo/Together' })));
    assert.deepEqual(answers.map((a) => a.body.toString().slice(5)), Array.from({ length: 20 }, (_, i) => `echo:call ${i}`), 'each answered with its own');
    assert.equal(startedInRun.length, 20);
    assert.ok(new Set(startedInRun).size < 20, `handlers started in ${new Set(startedInRun).size} separate runs for 20 calls: none shared one`);
  });

  test('a call the client cancels before its answer is dropped, and the server goes on', async () => {
    const req = client.request({ ':method': 'POST', ':path': '/test.Echo/Say', 'content-type': 'application/grpc' });
    req.on('error', () => undefined);
    req.end(frame(Buffer.from('cancelled')));
    req.close(http2.constants.NGHTTP2_CANCEL);
    assert.equal((await call(frame(Buffer.from('next')))).grpcStatus, '0');
  });
});

describe('unframe and grpc-message', () => {
  test('unframe takes exactly one uncompressed message', () => {
    assert.deepEqual(unframe(frame(Buffer.from('abc'))), { message: Buffer.from('abc') });
    assert.equal((unframe(frame(Buffer.from('abc')).subarray(0, 6)) as { code: number }).code, GRPC_STATUS.internal);
    assert.equal((unframe(Buffer.concat([frame(Buffer.from('abc')), Buffer.from([0])])) as { code: number }).code, GRPC_STATUS.internal);
    assert.equal((unframe(frame(Buffer.from('abc'), 2)) as { code: number }).code, GRPC_STATUS.internal);
  });

  test('grpc-message percent-encodes what is not printable ASCII, and % itself', () => {
    assert.equal(encodeGrpcMessage('plain text: ok'), 'plain text: ok');
    assert.equal(encodeGrpcMessage('100% sure'), '100%25 sure');
    assert.equal(encodeGrpcMessage('é\n'), '%C3%A9%0A');
    assert.equal(decodeURIComponent(encodeGrpcMessage('schlüssel % \t fehlt')), 'schlüssel % \t fehlt');
  });
});
