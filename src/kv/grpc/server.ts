/**
 * The store's face to other processes: etcd's v3 gRPC KV service (Range,
 * Put, DeleteRange, Txn, Compact) over any `KvClient`, on loopback. etcd
 * clients (the `etcd3` npm package, etcdctl) then reach kubethreads' store
 * the way they reach etcd, so a benchmark can drive both through one client
 * across a process boundary. Watch, Lease, Cluster, Maintenance and Auth are
 * not served: a call to them answers UNIMPLEMENTED, as gRPC does for any
 * service a server lacks.
 *
 * The transport is gRPC's unary call on node:http2 (unary-http2.ts), the
 * codecs those of etcd's rpc.proto through @grpc/proto-loader.
 *
 * An I/O edge: it runs in the threaded runtime only (see behaviour.ts).
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as http2 from 'node:http2';
import * as protoLoader from '@grpc/proto-loader';
import { KvError, KvUnavailableError, type KvClient } from '../client/types.js';
import type { ResponseOp } from '../protocol.js';
import {
  GRPC_CODE, GrpcStatusError, deleteFromWire, headerToWire, int, putFromWire, rangeFromWire, txnFromWire,
  type GrpcCode, type WireDeleteRangeRequest, type WirePutRequest, type WireRangeRequest, type WireTxnRequest,
} from './convert.js';
import { FRAME_PREFIX_BYTES, createUnaryServer, type UnaryMethod } from './unary-http2.js';
import { readDeleteRangeRequest, readPutRequest, readRangeRequest, readTxnRequest, writeResponseMessage } from './wire-codec.js';

/** etcd3's own loader options: the wire shapes convert.ts reads. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const KV_ERROR_CODES: Record<KvError['grpcCode'], GrpcCode> = {
  OutOfRange: GRPC_CODE.outOfRange, NotFound: GRPC_CODE.notFound, FailedPrecondition: GRPC_CODE.failedPrecondition, InvalidArgument: GRPC_CODE.invalidArgument,
};

/** etcd's KV service as shipped in the etcd3 package's rpc.proto (already a dependency), so no copy of it lives here. */
export function loadKvService(): protoLoader.ServiceDefinition {
  const require = createRequire(import.meta.url);
  const protoFile = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto', 'rpc.proto');
  return protoLoader.loadSync(protoFile, LOADER_OPTIONS)['etcdserverpb.KV'] as protoLoader.ServiceDefinition;
}

/** A store error as etcd answers it: the same gRPC code and message, so clients' error handling carries over. */
export function toGrpcStatus(error: unknown): { code: GrpcCode; details: string } {
  if (error instanceof GrpcStatusError) return { code: error.code, details: error.message };
  if (error instanceof KvError) return { code: KV_ERROR_CODES[error.grpcCode], details: error.message };
  if (error instanceof KvUnavailableError) return { code: error.deadlineExceeded ? GRPC_CODE.deadlineExceeded : GRPC_CODE.unavailable, details: error.message };
  return { code: GRPC_CODE.internal, details: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}

export interface KvGrpcServerOptions {
  kv: KvClient;
  /** Default 127.0.0.1: nothing off the machine reaches the store. */
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Every call that failed for a reason other than the caller's input (store unavailable, internal). */
  onCallError?(method: string, error: unknown): void;
}

export class KvGrpcServer {
  private server: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly options: KvGrpcServerOptions) {}

  /** Listen; resolves with the `host:port` an etcd client takes as its endpoint. */
  async start(): Promise<{ endpoint: string; port: number }> {
    const kv = this.options.kv;
    const service = loadKvService();
    const definitionOf = (name: string): protoLoader.MethodDefinition<object, object> => {
      const definition = service[name];
      if (definition === undefined) throw new Error(`etcd's rpc.proto has no KV.${name}: the etcd3 package's proto changed`);
      return definition as protoLoader.MethodDefinition<object, object>;
    };
    const methods = new Map<string, UnaryMethod>();
    /**
     * The KV calls: read by wire-codec.ts (proto-loader when it is unsure), answered with the store's
     * response written straight to bytes (wire-codec.ts). What a call does is convert.ts' as before.
     */
    const kvMethod = <W>(name: string, read: (bytes: Buffer) => W | undefined, convert: (request: W) => Parameters<typeof dispatch>[1]): void => {
      const definition = definitionOf(name);
      methods.set(definition.path, {
        requestDeserialize: (bytes) => read(bytes) ?? definition.requestDeserialize(bytes),
        responseSerialize: (value) => writeResponseMessage(value as ResponseOp),
        responseSerializeFramed: (value) => writeResponseMessage(value as ResponseOp, FRAME_PREFIX_BYTES),
        handle: (request) => dispatch(kv, convert(request as W)),
      });
    };
    kvMethod<WireRangeRequest>('Range', readRangeRequest, rangeFromWire);
    kvMethod<WirePutRequest>('Put', readPutRequest, putFromWire);
    kvMethod<WireDeleteRangeRequest>('DeleteRange', readDeleteRangeRequest, deleteFromWire);
    kvMethod<WireTxnRequest>('Txn', readTxnRequest, txnFromWire);
    const compact = definitionOf('Compact');
    methods.set(compact.path, {
      requestDeserialize: (bytes) => compact.requestDeserialize(bytes),
      responseSerialize: (value) => compact.responseSerialize(value as object),
      handle: async (request) => {
        const r = request as { revision?: string | number; physical?: boolean };
        return { header: headerToWire((await kv.compact(int(r.revision, 'revision'), { physical: r.physical === true })).header.revision) };
      },
    });
    const server = createUnaryServer({
      methods,
      toStatus: (error, methodPath) => {
        const status = toGrpcStatus(error);
        const method = methodPath.slice(methodPath.lastIndexOf('/') + 1);
        if (status.code === GRPC_CODE.unavailable || status.code === GRPC_CODE.deadlineExceeded || status.code === GRPC_CODE.internal) this.options.onCallError?.(method, error);
        return status;
      },
    });
    server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    const host = this.options.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
    this.server = server;
    return { endpoint: `${host}:${port}`, port };
  }

  /** Stop listening and end open calls at once (the store behind may already be gone). */
  close(): void {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.close();
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
  }
}

/** One converted request sent through the client; the answer's type matches the request's. */
async function dispatch(kv: KvClient, op: ReturnType<typeof rangeFromWire | typeof putFromWire | typeof deleteFromWire | typeof txnFromWire>): Promise<ResponseOp> {
  switch (op.type) {
    case 'range': {
      const { key, type: _type, ...rest } = op;
      return kv.range(key, rest);
    }
    case 'put': {
      const { key, value, type: _type, ...rest } = op;
      return kv.put(key, value, rest);
    }
    case 'deleteRange': {
      const { key, type: _type, ...rest } = op;
      return kv.deleteRange(key, rest);
    }
    case 'txn':
      return kv.txn({ compare: op.compare, success: op.success, failure: op.failure });
  }
}
