#!/usr/bin/env node
// What the gRPC face's codecs cost per call, on one thread, with no socket and no store (issue 22, the cross-process
// rows): a request's bytes as etcd3 sends them read into the store's request (convert.ts), and the store's answer
// written as a gRPC frame, (A) through @grpc/proto-loader as the face did before (decode, toObject, rangeFromWire;
// responseToWire, fromObject, encode, a copy into the frame) and (B) through wire-codec.ts. Two calls: a serializable
// get of a key with a 256-byte value (`bench kv`'s serializableGet), and a compare-and-swap txn (its cas).
// Prints, per call and variant: CPU µs per call over ROUNDS rounds in the order A B B A (process CPU, this one thread
// doing the work), and bytes allocated per call (V8's sampling heap profiler, collected objects kept: a sampled
// estimate that does not move with the machine's load).
//
//   node scripts/kv-grpc-codec-cost.mjs DIR [CALLS per round, default 50000] [ROUNDS, default 3]
import { Session } from 'node:inspector';
import { resolve } from 'node:path';

const [dirArg = '.', callsArg = '50000', roundsArg = '3'] = process.argv.slice(2);
const calls = Number(callsArg);
const rounds = Number(roundsArg);
const dir = resolve(dirArg);
const imp = (p) => import(`file://${dir}/dist/${p}`);
const { loadKvService } = await imp('src/kv/grpc/server.js');
const convert = await imp('src/kv/grpc/convert.js');
const codec = await imp('src/kv/grpc/wire-codec.js');
const service = loadKvService();

const value = 'v'.repeat(256);
const kv = { key: '/bench/procs-serializableGet/417', value, createRevision: 1_204, modRevision: 1_204, version: 1, lease: 0 };
const cases = {
  serializableGet: {
    method: service.Range,
    request: service.Range.requestSerialize({ key: Buffer.from(kv.key), serializable: true }),
    fromWire: convert.rangeFromWire,
    read: codec.readRangeRequest,
    response: { type: 'range', header: { revision: 20_417 }, kvs: [kv], more: false, count: 1 },
  },
  cas: {
    method: service.Txn,
    request: service.Txn.requestSerialize({
      compare: [{ key: Buffer.from('/bench/procs-cas/p0/7'), result: 'Equal', target: 'Value', value: Buffer.from(value) }],
      success: [{ request_put: { key: Buffer.from('/bench/procs-cas/p0/7'), value: Buffer.from(`w${value.slice(1)}`) } }],
      failure: [],
    }),
    fromWire: convert.txnFromWire,
    read: codec.readTxnRequest,
    response: { type: 'txn', header: { revision: 20_418 }, succeeded: true, responses: [{ type: 'put', header: { revision: 20_418 } }] },
  },
};

function frameOf(message) {
  const frame = Buffer.allocUnsafe(5 + message.length);
  message.copy(frame, 5);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  return frame;
}

const variants = {
  A: (c) => {
    const request = c.fromWire(c.method.requestDeserialize(c.request));
    return [request, frameOf(c.method.responseSerialize(convert.responseToWire(c.response)))];
  },
  B: (c) => {
    const request = c.fromWire(c.read(c.request) ?? c.method.requestDeserialize(c.request));
    const frame = codec.writeResponseMessage(c.response, 5);
    frame[0] = 0;
    frame.writeUInt32BE(frame.length - 5, 1);
    return [request, frame];
  },
};

let sink = 0;
function run(variant, c, n) {
  const call = variants[variant];
  for (let i = 0; i < n; i++) sink += call(c)[1].length;
}

const session = new Session();
session.connect();
const post = (method, params) => new Promise((ok, fail) => session.post(method, params, (error, result) => (error ? fail(error) : ok(result))));
function sumSelf(node) {
  return node.selfSize + (node.children ?? []).reduce((a, child) => a + sumSelf(child), 0);
}

const out = {};
for (const [name, c] of Object.entries(cases)) {
  // Both variants must read the same request and write frames that decode alike.
  const [ra, fa] = variants.A(c);
  const [rb, fb] = variants.B(c);
  if (JSON.stringify(ra) !== JSON.stringify(rb)) throw new Error(`${name}: the variants read different requests`);
  if (JSON.stringify(c.method.responseDeserialize(fa.subarray(5))) !== JSON.stringify(c.method.responseDeserialize(fb.subarray(5)))) throw new Error(`${name}: the variants' answers differ`);
  for (const v of ['A', 'B']) run(v, c, calls); // warm-up: the JIT settles on both
  const cpu = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    for (const v of ['A', 'B', 'B', 'A']) {
      const before = process.cpuUsage();
      run(v, c, calls);
      const used = process.cpuUsage(before);
      cpu[v].push(Math.round(((used.user + used.system) / calls) * 100) / 100);
    }
  }
  const bytes = {};
  for (const v of ['A', 'B']) {
    await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    run(v, c, calls);
    const { profile } = await post('HeapProfiler.stopSampling');
    bytes[v] = Math.round(sumSelf(profile.head) / calls);
  }
  out[name] = { cpuUsPerCall: cpu, bytesPerCall: bytes, requestBytes: c.request.length, frameBytes: { A: fa.length, B: fb.length } };
}
console.log(JSON.stringify({ dir, calls, rounds, ...out, sink: sink > 0 }));
