/**
 * A `ReplicatedKvClient` hosted in an actor, for code that cannot host one
 * itself: main-thread library code, tests, chaos workloads and benchmarks. It
 * runs each operation it is asked and replies with a `KvOpResult` value (never
 * a thrown error), and it keeps the events of the watches it was asked to open.
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import type { Event } from '../protocol.js';
import { KvError } from './types.js';
import { KvRequestError, ReplicatedKvClient, actorKvClientHost, type ReplicatedKvClientOptions } from './replicated-client.js';

export type KvOp =
  | { op: 'get'; key: string; serializable?: boolean }
  | { op: 'put'; key: string; value: string; lease?: number }
  | { op: 'leaseGrant'; ttlSeconds: number }
  | { op: 'leaseKeepAlive'; id: number }
  | { op: 'delete'; key: string }
  /** Compare-and-swap on value: put `value` if the key's value is `expected` (absent when null). */
  | { op: 'cas'; key: string; expected: string | null; value: string }
  | { op: 'range'; key: string; rangeEnd: string; serializable?: boolean }
  /** Compact the store's history to `revision` (etcd's Compact). */
  | { op: 'compact'; revision: number; physical?: boolean };

export type KvOpResult =
  | { ok: true; value?: string | null; revision: number; succeeded?: boolean; count?: number; lease?: number }
  | { ok: false; error: string; code?: string; indeterminate: boolean };

export type KvClientActorMsg =
  | { type: 'op'; body: KvOp & { timeoutMs?: number } }
  | { type: 'watch'; body: { key: string; rangeEnd?: string; startRevision?: number; progressNotify?: boolean } }
  /** Ask: the events seen so far by every watch, in delivery order, and how many watches ended. */
  | { type: 'watchLog'; body: null }
  /** Ask: the replica names the client uses now (`string[]`), after a `sync()` with the membership when `sync` is true. */
  | { type: 'replicas'; body: { sync?: boolean } };

export const kvClientActor = defineBehaviour<KvClientActorMsg, ReplicatedKvClientOptions>(import.meta.url, 'kv-client', (ctx, options) => {
  const { host, handle } = actorKvClientHost(ctx as never);
  const client = new ReplicatedKvClient(host, options);
  const seen: Event[] = [];
  const ended: string[] = [];

  async function run(op: KvOp & { timeoutMs?: number }): Promise<KvOpResult> {
    const call = { timeoutMs: op.timeoutMs };
    try {
      switch (op.op) {
        case 'get': {
          const r = await client.range(op.key, { ...call, serializable: op.serializable });
          return { ok: true, value: r.kvs[0]?.value ?? null, revision: r.header.revision };
        }
        case 'range': {
          const r = await client.range(op.key, { ...call, rangeEnd: op.rangeEnd, serializable: op.serializable });
          return { ok: true, revision: r.header.revision, count: r.count };
        }
        case 'put': {
          const r = await client.put(op.key, op.value, { ...call, lease: op.lease });
          return { ok: true, revision: r.header.revision };
        }
        case 'leaseGrant': {
          const r = await client.leaseGrant(op.ttlSeconds, call);
          return { ok: true, revision: r.header.revision, lease: r.id };
        }
        case 'leaseKeepAlive': {
          const r = await client.leaseKeepAlive(op.id, call);
          return { ok: true, revision: r.header.revision, lease: r.id };
        }
        case 'compact': {
          const r = await client.compact(op.revision, { ...call, physical: op.physical === true });
          return { ok: true, revision: r.header.revision };
        }
        case 'delete': {
          const r = await client.deleteRange(op.key, call);
          return { ok: true, revision: r.header.revision, count: r.deleted };
        }
        case 'cas': {
          const compare =
            op.expected === null
              ? { key: op.key, target: 'version' as const, result: 'equal' as const, value: 0 }
              : { key: op.key, target: 'value' as const, result: 'equal' as const, value: op.expected };
          const r = await client.txn({ compare: [compare], success: [{ type: 'put', key: op.key, value: op.value }], failure: [] }, call);
          return { ok: true, revision: r.header.revision, succeeded: r.succeeded };
        }
      }
    } catch (error) {
      if (error instanceof KvError) return { ok: false, error: error.message, code: error.code, indeterminate: false };
      if (error instanceof KvRequestError) return { ok: false, error: error.message, indeterminate: error.indeterminate };
      throw error;
    }
  }

  return {
    receive(msg) {
      if (handle(msg) || client.handle(msg)) return undefined;
      switch (msg.type) {
        case 'op':
          return run(msg.body);
        case 'watch':
          client.watch(msg.body.key, { rangeEnd: msg.body.rangeEnd, startRevision: msg.body.startRevision, progressNotify: msg.body.progressNotify }, {
            onEvents: (events) => seen.push(...events),
            onEnd: (error) => ended.push(error?.message ?? 'closed'),
          });
          return undefined;
        case 'watchLog':
          return { events: seen, ended };
        case 'replicas':
          return msg.body?.sync === true ? client.sync().then((names) => [...names]) : [...client.replicaNames];
        default:
          return unhandled;
      }
    },
    onStop() {
      client.close();
    },
  };
});
