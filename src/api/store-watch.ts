/**
 * A watch served by the store itself, for a resource whose watch cache is off (kube-apiserver's
 * `--watch-cache-sizes=<resource>#0`, the default for Events: `DefaultWatchCacheSizes` in
 * pkg/kubeapiserver). Each API watch is one store watch on the resource's prefix (or its namespace's),
 * as kube-apiserver's etcd3 watcher opens one etcd watch per client watch.
 *
 * The semantics are the watch cache's (watch-cache.ts): without a resourceVersion (or "0") the current
 * objects come first as ADDED; from RV N, every event after N, or 410 Gone when N is compacted away; a
 * label/field-selected watch sees an object moving into its selection as ADDED and out of it as DELETED
 * (from the event's previous value, which the store watch carries); `sendInitialEvents` as WatchList
 * asks; the store's progress notifications become BOOKMARKs for watchers that allow them.
 *
 * Unlike the cache, events arrive asynchronously: the initial objects once the store has answered the
 * range, the rest as the store sends them.
 */
import { KvError, type KvClient, type KvWatch } from '../kv/client/types.js';
import { prefixEnd, type Event as KvEvent, type KeyValue } from '../kv/protocol.js';
import { ApiError, apiErrors } from './errors.js';
import { apiVersionOf, storagePrefix, type ResourceInfo } from './resources.js';
import { isEmptyFilter, matchesFilter } from './selectors.js';
import type { KubeObject, Status, WatchEvent } from './types/index.js';
import { INITIAL_EVENTS_END_ANNOTATION, type CacheWatch, type WatchRequest, type WatchSink } from './watch-cache.js';

/** What a store-served watch needs: the store, and the registry's decoding of a stored value. */
export interface StoreWatchDeps {
  readonly kv: KvClient;
  decode(kv: Pick<KeyValue, 'key' | 'value' | 'modRevision'>): KubeObject;
}

/** Starts a watch of `info` from the store (see the module comment). Cancel it to end it without a status. */
export function watchFromStore(deps: StoreWatchDeps, info: ResourceInfo, request: WatchRequest, sink: WatchSink): CacheWatch {
  const rv = request.resourceVersion;
  const prefix = storagePrefix(info, info.namespaced ? request.namespace : undefined);
  const filtered = !isEmptyFilter(request.filter);
  const bookmarks = request.allowBookmarks === true;
  const fromNow = rv === undefined || rv === '' || rv === '0';
  /** Ended by the store, by an error, or canceled: nothing more reaches the sink. */
  let ended = false;
  let storeWatch: KvWatch | undefined;

  const end = (status?: Status): void => {
    if (ended) return;
    ended = true;
    storeWatch?.cancel();
    sink.end(status);
  };
  const bookmark = (revision: number, annotations?: Record<string, string>): WatchEvent => ({
    type: 'BOOKMARK',
    object: { kind: info.kind, apiVersion: apiVersionOf(info), metadata: annotations === undefined ? { resourceVersion: String(revision) } : { resourceVersion: String(revision), annotations } },
  });
  const matches = (object: KubeObject | undefined): boolean => object !== undefined && (!filtered || matchesFilter(request.filter, object));

  const onEvents = (events: KvEvent[]): void => {
    for (const e of events) {
      if (ended) return;
      const previous = e.prevKv === undefined ? undefined : deps.decode(e.prevKv);
      const before = matches(previous);
      if (e.type === 'delete') {
        if (!before) continue;
        // The deleted object is its last state, at the deletion's revision (as the watch cache sends it).
        previous!.metadata.resourceVersion = String(e.kv.modRevision);
        sink.event({ type: 'DELETED', object: previous! });
        continue;
      }
      const object = deps.decode(e.kv);
      const now = matches(object);
      if (now && before) sink.event({ type: 'MODIFIED', object });
      else if (now) sink.event({ type: 'ADDED', object });
      else if (before) sink.event({ type: 'DELETED', object });
    }
  };

  const follow = (startRevision: number): void => {
    if (ended) return;
    storeWatch = deps.kv.watch(prefix, { rangeEnd: prefixEnd(prefix), startRevision, prevKv: true, progressNotify: bookmarks }, {
      onEvents: (events) => onEvents(events),
      onProgress: (revision) => {
        if (bookmarks && !ended) sink.event(bookmark(revision));
      },
      onEnd: (error) => {
        if (error?.code === 'compacted') end(apiErrors.gone(`too old resource version: ${startRevision - 1} (${error.compactRevision ?? 0})`).status);
        else end(error === undefined ? undefined : apiErrors.internal(`the store watch of ${info.resource} ended: ${error.message}`).status);
      },
    });
  };

  /** The current objects as ADDED, then the watch from the revision they were read at. */
  const listThenFollow = async (endBookmark: boolean): Promise<void> => {
    const response = await deps.kv.range(prefix, { rangeEnd: prefixEnd(prefix) });
    if (ended) return;
    for (const kv of response.kvs) {
      const object = deps.decode(kv);
      if (matches(object)) sink.event({ type: 'ADDED', object });
    }
    const revision = response.header.revision;
    if (endBookmark && bookmarks) sink.event(bookmark(revision, { [INITIAL_EVENTS_END_ANNOTATION]: 'true' }));
    follow(revision + 1);
  };

  const failed = (error: unknown): void => {
    end(error instanceof ApiError ? error.status : apiErrors.internal(`watching ${info.resource}: ${error instanceof KvError ? error.message : String(error)}`).status);
  };

  if (request.sendInitialEvents === true) {
    // WatchList from an RV: the store is read at its current revision, which is not older than any RV it handed out.
    listThenFollow(true).catch(failed);
  } else if (fromNow && request.sendInitialEvents === false) {
    follow(0);
  } else if (fromNow) {
    listThenFollow(false).catch(failed);
  } else {
    const since = Number(rv);
    if (!Number.isInteger(since) || since < 0) {
      sink.end(apiErrors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`).status);
      return { cancel: () => undefined };
    }
    follow(since + 1);
  }
  return {
    cancel: () => {
      ended = true;
      storeWatch?.cancel();
    },
  };
}
