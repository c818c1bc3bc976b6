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
  GRPC_CODE, GrpcStatusError, deleteFromWire, headerToWire, int, putFromWire, rangeFromWire, responseToWire, txnFromWire,
  type GrpcCode, type WireDeleteRangeRequest, type WirePutRequest, type WireRangeRequest, type WireTxnRequest,
} from './convert.js';
import { createUnaryServer, type UnaryMethod } from './unary-http2.js';

/** etcd3's own loader options: the wire shapes convert.ts reads. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const KV_ERROR_CODES: Record<KvError['grpcCode'], GrpcCode> = {
  OutOfRange: GRPC_CODE.outOfRange, NotFound: GRPC_CODE.notFound, FailedPrecondition: GRPC_CODE.failedPrecondition, InvalidArgument: GRPC_CODE.invalidArgument,
};

/** etcd's KV service as shipped in the etcd3 package's rpc.proto (already a dependency), so no copy of it lives here. */
function loadKvService(): protoLoader.ServiceDefinition {
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
    const apply = async (op: Parameters<typeof dispatch>[1]): Promise<Record<string, unknown>> => responseToWire(await dispatch(kv, op));
    const handlers: Record<string, (request: never) => Promise<Record<string, unknown>>> = {
      Range: (r: WireRangeRequest) => apply(rangeFromWire(r)),
      Put: (r: WirePutRequest) => apply(putFromWire(r)),
      DeleteRange: (r: WireDeleteRangeRequest) => apply(deleteFromWire(r)),
      Txn: (r: WireTxnRequest) => apply(txnFromWire(r)),
      Compact: async (r: { revision?: string | number; physical?: boolean }) => ({ header: headerToWire((await kv.compact(int(r.revision, 'revision'), { physical: r.physical === true })).header.revision) }),
    };
    const methods = new Map<string, UnaryMethod>();
    for (const [name, handle] of Object.entries(handlers)) {
      const definition = service[name];
      if (definition === undefined) throw new Error(`etcd's rpc.proto has no KV.${name}: the etcd3 package's proto changed`);
      methods.set(definition.path, {
        requestDeserialize: (bytes) => definition.requestDeserialize(bytes),
        responseSerialize: (value) => definition.responseSerialize(value as object),
        handle: (request) => handle(request as never),
      });
    }
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
