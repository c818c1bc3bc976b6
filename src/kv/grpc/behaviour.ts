/**
 * The gRPC gateway actor: hosts a `ReplicatedKvClient` to the replica actors
 * and serves etcd's KV service (server.ts) on loopback, so other processes
 * reach the store as they would reach etcd, and the main thread stays off the
 * data path. Threaded runtime only: it opens a socket.
 *
 * In a thread of its own, or attached to a replica as an etcd member serves
 * its own clients: spawned with `placement` set to that replica's thread and
 * `localReplica` to its name, its asks to that replica are deliveries within
 * the thread (no encoding, no postMessage), and serializable reads are
 * answered by that replica from its own state, as etcd answers them.
 */
import { defineBehaviour, unhandled, type Message } from '../../actor/index.js';
import { ReplicatedKvClient, actorKvClientHost, type ReplicatedKvClientOptions } from '../client/replicated-client.js';

export type KvGrpcGatewayMsg =
  /** Ask: the endpoint (`host:port`) once the server listens; rejects if it could not start. */
  Message<'grpc.info', null>;

export interface KvGrpcGatewayArgs extends ReplicatedKvClientOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, read back with `grpc.info`. */
  port?: number;
}

export interface KvGrpcGatewayInfo {
  endpoint: string;
}

export const kvGrpcGateway = defineBehaviour<KvGrpcGatewayMsg, KvGrpcGatewayArgs>(import.meta.url, 'kv-grpc-gateway', (ctx, args) => {
  const { host: clientHost, handle } = actorKvClientHost(ctx as never);
  const { host, port, ...clientOptions } = args;
  const client = new ReplicatedKvClient(clientHost, clientOptions);
  let close: (() => void) | undefined;
  const started = (async (): Promise<KvGrpcGatewayInfo> => {
    // Loaded here, not at the top: the simulated runtime imports this module's behaviour list without ever opening a socket.
    const { KvGrpcServer } = await import('./server.js');
    const server = new KvGrpcServer({
      kv: client, host, port,
      onCallError: (method, error) => ctx.log.debug({ err: error, method }, 'grpc call failed'),
    });
    const { endpoint } = await server.start();
    close = () => server.close();
    ctx.log.info({ endpoint }, 'store served over etcd gRPC');
    return { endpoint };
  })();
  started.catch((error: unknown) => ctx.log.error({ err: error }, 'grpc gateway failed to start'));

  return {
    receive(msg) {
      if (handle(msg) || client.handle(msg)) return undefined;
      switch (msg.type) {
        case 'grpc.info':
          return started;
        default:
          return unhandled;
      }
    },
    onStop() {
      close?.();
      client.close();
    },
  };
});
