/**
 * The store client of a workload actor: kubethreads' replicated client over
 * actor messages, or, when the run's store is etcd, an etcd client over gRPC
 * (threaded runtime only). Both are `KvClient`s; the workload does not care.
 *
 * The etcd client is loaded and connected on first use (the gRPC client is
 * never loaded by simulated runs) and never retries a call on another member
 * by itself: a history must record each write once, and a write re-sent after
 * a lost answer could apply twice.
 */
import type { ActorContext } from '../../actor/behaviour.js';
import type { Message } from '../../actor/protocol.js';
import { ReplicatedKvClient, actorKvClientHost } from '../../kv/client/replicated-client.js';
import type { KvClient } from '../../kv/client/types.js';

export interface WorkloadKvArgs {
  /** The store's replica actors (store raft). */
  replicas: string[];
  /** The etcd members' client URLs (store etcd): the workload talks to them instead. */
  etcdEndpoints?: string[];
  requestTimeoutMs?: number;
}

export interface WorkloadKv {
  /** Resolves to the client (at once for the replicated one; after connecting for etcd). */
  client(): Promise<KvClient>;
  /** The actor's timer-based sleep (the client's host). */
  sleep(ms: number): Promise<void>;
  /** Messages for the client and its host; true when consumed. */
  handle(msg: Message): boolean;
  close(): void;
}

export function workloadKv(ctx: ActorContext<never>, args: WorkloadKvArgs): WorkloadKv {
  const { host, handle } = actorKvClientHost(ctx);
  if (args.etcdEndpoints === undefined) {
    const replicated = new ReplicatedKvClient(host, { replicas: args.replicas, requestTimeoutMs: args.requestTimeoutMs });
    return {
      client: () => Promise.resolve(replicated),
      sleep: (ms) => host.sleep(ms),
      handle: (msg) => handle(msg) || replicated.handle(msg),
      close: () => replicated.close(),
    };
  }
  const endpoints = args.etcdEndpoints;
  let connecting: Promise<KvClient> | undefined;
  let closed = false;
  return {
    client: () => {
      connecting ??= import('../../kv/etcd/client.js').then(async ({ EtcdKvClient }) => {
        const client = await EtcdKvClient.connect({ endpoints, requestTimeoutMs: args.requestTimeoutMs, retry: false, clock: host });
        if (closed) client.close();
        return client;
      });
      // A failed connect is not remembered: the next call tries again.
      connecting.catch(() => {
        connecting = undefined;
      });
      return connecting;
    },
    sleep: (ms) => host.sleep(ms),
    handle,
    close: () => {
      closed = true;
      void connecting?.then((c) => c.close(), () => undefined);
    },
  };
}
