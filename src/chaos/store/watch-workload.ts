/**
 * The watch workload: a client actor that watches the register keys through
 * its own `ReplicatedKvClient` for the whole run (the client resumes the watch
 * on another replica when its replica dies, pauses or loses its leader) and
 * records every event it is given. The watch check compares what it saw with
 * a reference watch taken after the run, from revision 1, on a healthy store.
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import type { KvClient, KvWatch } from '../../kv/client/types.js';
import { workloadKv, type WorkloadKvArgs } from './workload-kv.js';

/** The store to watch: replica actors, or etcd endpoints. */
export type WatchWorkloadArgs = WorkloadKvArgs;

export interface WatchRunRequest {
  key: string;
  rangeEnd: string;
  /** Deliver from this revision (1: everything the store ever did). */
  startRevision: number;
}

/** Ends a run: as soon as every revision up to `untilRevision` is vouched for, or after `graceMs`. */
export interface WatchFinishRequest {
  untilRevision: number;
  graceMs: number;
}

export interface WatchRunResult {
  events: Array<{ revision: number; key: string; type: 'put' | 'delete'; value: string }>;
  /** Highest revision vouched for by events or progress notifications. */
  lastRevision: number;
  /** Set when the watch ended for good (compaction). */
  ended?: string;
}

export type WatchWorkloadMsg =
  | { type: 'run'; body: WatchRunRequest }
  | { type: 'finish'; body: WatchFinishRequest }
  /** Ask: the store's current revision (a linearizable range of the watched keys). */
  | { type: 'revision'; body: { key: string; rangeEnd: string } };

/** How often the watcher looks at its clock while waiting for the end of the run. */
const WATCH_POLL_MS = 50;

export const watchWorkload = defineBehaviour<WatchWorkloadMsg, WatchWorkloadArgs>(import.meta.url, 'watch-workload', (ctx, args) => {
  const kv = workloadKv(ctx as never, args);

  let stopAtRevision = Number.POSITIVE_INFINITY;
  let stopAtMs = Number.POSITIVE_INFINITY;

  /** The client, trying again until the run's end: a watcher that cannot connect reports that instead of crashing. */
  async function connected(): Promise<KvClient | undefined> {
    for (;;) {
      try {
        return await kv.client();
      } catch (error) {
        ctx.log.warn({ err: error }, 'the watcher could not reach the store');
        if (ctx.now() >= stopAtMs) return undefined;
        await kv.sleep(WATCH_POLL_MS);
      }
    }
  }

  async function run(request: WatchRunRequest): Promise<WatchRunResult> {
    const result: WatchRunResult = { events: [], lastRevision: request.startRevision - 1 };
    const client = await connected();
    if (client === undefined) return { ...result, ended: 'the store could not be reached until the end of the run' };
    const watch: KvWatch = client.watch(
      request.key,
      { rangeEnd: request.rangeEnd, startRevision: request.startRevision, progressNotify: true },
      {
        onEvents(events) {
          for (const e of events) {
            result.events.push({ revision: e.kv.modRevision, key: e.kv.key, type: e.type, value: e.type === 'put' ? e.kv.value : '' });
            result.lastRevision = Math.max(result.lastRevision, e.kv.modRevision);
          }
        },
        onProgress(revision) {
          result.lastRevision = Math.max(result.lastRevision, revision);
        },
        onEnd(error) {
          if (error !== undefined) result.ended = `${error.code}: ${error.message}`;
        },
      },
    );
    while (result.ended === undefined && result.lastRevision < stopAtRevision && ctx.now() < stopAtMs) await kv.sleep(WATCH_POLL_MS);
    watch.cancel();
    return result;
  }

  return {
    receive(msg) {
      if (kv.handle(msg)) return undefined;
      switch (msg.type) {
        case 'run':
          return run(msg.body);
        case 'finish':
          stopAtRevision = msg.body.untilRevision;
          stopAtMs = ctx.now() + msg.body.graceMs;
          return undefined;
        case 'revision':
          return kv.client().then((client) => client.range(msg.body.key, { rangeEnd: msg.body.rangeEnd, countOnly: true })).then((r) => r.header.revision);
        default:
          return unhandled;
      }
    },
    onStop() {
      kv.close();
    },
  };
});
