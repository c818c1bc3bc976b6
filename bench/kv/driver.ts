/**
 * The kv benchmark's driver: an actor in its own thread that hosts a
 * `ReplicatedKvClient` and runs the workload's phases against the replica
 * actors, so the main thread is not on the data path. It reads the
 * high-resolution clock: it is an instrument, and runs in the threaded runtime only.
 */
import { defineBehaviour, unhandled, type Message } from '../../src/actor/index.js';
import { prefixEnd } from '../../src/kv/protocol.js';
import { KvError, ReplicatedKvClient, actorKvClientHost, type ReplicatedKvClientOptions } from '../../src/kv/client/index.js';
import { FailoverWriter, runPhase, type BenchClock, type BenchKv, type PhaseSpec } from './workload.js';

export type KvBenchDriverMsg =
  /** Ask: run one phase; the reply is its `PhaseResult`. */
  | Message<'phase', PhaseSpec>
  /** Ask: start the failover writer under `prefix`; replies once it runs. */
  | Message<'writerStart', { prefix: string; valueBytes: number }>
  /** Ask: stop the writer once writes resumed after `sinceMs` (see FailoverWriter); the reply is its `WriterResult`. */
  | Message<'writerStop', { sinceMs: number; acksAfter: number; timeoutMs: number }>;

/** Epoch milliseconds with sub-millisecond precision; the same scale in every thread. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `BenchKv` over the replicated client. */
export function replicatedBenchKv(client: ReplicatedKvClient): BenchKv {
  return {
    put: async (key, value) => (await client.put(key, value)).header.revision,
    get: async (key, serializable) => (await client.range(key, { serializable })).kvs[0]?.value ?? null,
    cas: async (key, expected, value) => {
      const r = await client.txn({ compare: [{ key, target: 'value', result: 'equal', value: expected }], success: [{ type: 'put', key, value }], failure: [] });
      return r.succeeded;
    },
    watchPrefix: async (prefix, onPut) => {
      const watch = client.watch(prefix, { rangeEnd: prefixEnd(prefix) }, {
        onEvents: (events) => {
          for (const e of events) if (e.type === 'put') onPut(e.kv.key, e.kv.modRevision);
        },
      });
      return () => watch.cancel();
    },
    cleanup: async (prefix) => {
      const deleted = await client.deleteRange(prefix, { rangeEnd: prefixEnd(prefix) });
      // Physical, as the etcd side's cleanup: the next phase starts once the leader has carried the compaction
      // out, not while its steps still run (the sequential row's first puts waited behind them: docs/kv-bench.md).
      try {
        await client.compact(deleted.header.revision, { physical: true });
      } catch (error) {
        // A retried compaction (its first attempt outlived by a long physical wait) finds its own work done, as the
        // etcd side's cleanup allows.
        if (!(error instanceof KvError && error.code === 'compacted')) throw error;
      }
    },
  };
}

export const kvBenchDriver = defineBehaviour<KvBenchDriverMsg, ReplicatedKvClientOptions>(import.meta.url, 'kv-bench-driver', (ctx, options) => {
  const { host, handle } = actorKvClientHost(ctx as never);
  const client = new ReplicatedKvClient(host, options);
  const kv = replicatedBenchKv(client);
  const clock: BenchClock = { nowMs: epochNowMs, sleep: (ms) => host.sleep(ms) };
  let writer: FailoverWriter | undefined;

  return {
    receive(msg) {
      if (handle(msg) || client.handle(msg)) return undefined;
      switch (msg.type) {
        case 'phase':
          return runPhase(kv, clock, msg.body);
        case 'writerStart':
          if (writer !== undefined) throw new Error('kv bench driver: the failover writer is already running');
          writer = new FailoverWriter(kv, clock, msg.body.prefix, msg.body.valueBytes);
          return true;
        case 'writerStop': {
          if (writer === undefined) throw new Error('kv bench driver: no failover writer is running');
          const stopping = writer;
          writer = undefined;
          return stopping.stopAfterResume(msg.body.sinceMs, msg.body.acksAfter, msg.body.timeoutMs);
        }
        default:
          return unhandled;
      }
    },
    onStop() {
      client.close();
    },
  };
});
