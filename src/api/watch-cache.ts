/**
 * The watch cache: one store watch per resource feeds an in-memory copy of
 * every object of that resource and a bounded window of recent events; any
 * number of API watchers and cached lists are served from it, so a thousand
 * watchers cost one store watch.
 *
 * resourceVersion semantics (Kubernetes'): a watch from RV N delivers every
 * event with revision > N, or ends at once with 410 Gone when N is older than
 * the window; a watch without RV (or RV "0") first gets the current objects
 * as synthetic ADDED events. A label/field-selected watch sees an object
 * moving into its selection as ADDED and out of it as DELETED.
 *
 * Cached objects are never changed once made (an event makes a new one), and
 * are marked shared (src/actor/shared.ts): every watcher may receive one copy.
 *
 * Watchers are indexed as Kubernetes' cacher indexes them: by namespace, and
 * by the resource's trigger field (pods: `spec.nodeName=X`, the kubelet's
 * watch), so an event is tested only against the watchers it can concern
 * (those whose namespace or node matches the object before or after it).
 */
import type { KvClient, KvWatch } from '../kv/client/types.js';
import { KvError } from '../kv/client/types.js';
import { StoredJsonEvent } from '../actor/json-event.js';
import { markShared } from '../actor/shared.js';
import { prefixEnd, type Event as KvEvent } from '../kv/protocol.js';
import { apiErrors } from './errors.js';
import { clone, type Json } from './patch.js';
import { apiVersionOf, storagePrefix, type ResourceInfo } from './resources.js';
import { fieldValue, isEmptyFilter, matchesFilter, type ObjectFilter } from './selectors.js';
import { SortedKeys } from './sorted-keys.js';
import type { KubeObject, Status, WatchEvent } from './types/index.js';

/** Events kept for watchers resuming from an older RV; older ones get 410 Gone (Kubernetes' default is 100 per resource, scaled up with load). */
export const WATCH_CACHE_EVENTS_MAX = 10_000;
/** Watchers per resource; beyond this, new watches answer 429-style errors rather than exhaust memory. */
export const WATCHERS_PER_RESOURCE_MAX = 10_000;

/**
 * The field each resource's watchers are indexed by when they select it with `=` (Kubernetes' cacher
 * "trigger" functions: pods by spec.nodeName, so each kubelet's watch costs nothing for other nodes' pods).
 */
export const WATCH_INDEX_FIELDS: Readonly<Record<string, string>> = Object.freeze({ pods: 'spec.nodeName' });

export interface CachedEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object before this event (for selection changes); undefined for ADDED. */
  previous: KubeObject | undefined;
  revision: number;
  key: string;
}

export interface WatchRequest {
  namespace?: string;
  filter: ObjectFilter;
  /** '' / undefined / '0': current state first; otherwise events after this revision. */
  resourceVersion?: string;
  allowBookmarks?: boolean;
  /**
   * Kubernetes' WatchList: true sends the current objects as ADDED whatever
   * the RV, then a BOOKMARK annotated `k8s.io/initial-events-end`; false
   * sends no initial objects even without an RV; unset: the RV decides.
   */
  sendInitialEvents?: boolean;
}

/** The annotation on the BOOKMARK that ends a WatchList's initial events. */
export const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

/** What a watcher receives: a watch event, or the end of the watch (error: the Status to send first). */
export interface WatchSink {
  event(event: WatchEvent): void;
  end(error?: Status): void;
}

export interface CacheWatch {
  cancel(): void;
}

interface Watcher {
  id: number;
  namespacePrefix: string | undefined;
  /** Where the watcher sits in the index (see `WatcherIndex`). */
  indexKey: IndexKey;
  filter: ObjectFilter;
  afterRevision: number;
  bookmarks: boolean;
  sink: WatchSink;
}

type Decode = (kv: { key: string; value: string; modRevision: number }) => KubeObject;

export class WatchCache {
  readonly info: ResourceInfo;
  private readonly kv: KvClient;
  private readonly decode: Decode;
  private readonly prefix: string;
  private objects = new Map<string, KubeObject>();
  /** The objects' keys, sorted as they come and go: what a LIST reads (see sorted-keys.ts). */
  private readonly sortedKeys = new SortedKeys((key) => this.objects.has(key));
  /** The event window is `events[eventsHead..]`: dropping the oldest moves the head, and the array is cut only now and then (a splice per event moved 10,000 entries each time). */
  private events: (CachedEvent | undefined)[] = [];
  private eventsHead = 0;
  /** Every event with a revision above this is in `events`. */
  private windowStartRevision = 0;
  /** The cache reflects the store up to this revision. */
  private currentRevision = 0;
  private readonly watchers = new Map<number, Watcher>();
  private readonly index: WatcherIndex;
  private nextWatcherId = 1;
  private storeWatch: KvWatch | undefined;
  private readyPromise: Promise<void> | undefined;
  private stopped = false;
  private freshWaiters: { revision: number; resolve: (fresh: boolean) => void; sinceMs: number }[] = [];
  /** Counters for inspection and tests. */
  readonly stats = { storeWatches: 0, relists: 0, eventsApplied: 0, watchersOffered: 0, writesKept: 0 };

  /**
   * The objects are the store's JSON text with its resourceVersion set (`decode` is the registry's own, nothing
   * added): live events then reach other threads as that text (StoredJsonEvent), not re-encoded per watcher.
   */
  private readonly storedJsonOnWire: boolean;
  /**
   * Objects this API server's registry just wrote, by key, each a copy of what it stored with the revision that
   * stored it: that revision's event keeps the copy instead of parsing the store's text (a copy of a pod costs
   * under half its parse, and shares its strings; the parse was 3.7 % of the API server thread's burst profile
   * at 1,000 x 20,000). Only while that event is still to come; the next event of the key, or a relist, ends it.
   */
  private readonly written = new Map<string, { revision: number; object: KubeObject }>();

  constructor(info: ResourceInfo, kv: KvClient, decode: Decode, options: { storedJsonOnWire?: boolean } = {}) {
    this.info = info;
    this.kv = kv;
    this.decode = decode;
    this.storedJsonOnWire = options.storedJsonOnWire === true;
    this.prefix = storagePrefix(info);
    this.index = new WatcherIndex(WATCH_INDEX_FIELDS[info.resource]);
  }

  get revision(): number {
    return this.currentRevision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Objects the cache holds now (apiserver_storage_objects). */
  get objectCount(): number {
    return this.objects.size;
  }

  /** The first list of the store has arrived (the informer-sync health check). */
  get synced(): boolean {
    return this.stats.relists > 0;
  }

  /** Lists the store and starts the one store watch; resolves once the cache is usable. */
  start(): Promise<void> {
    this.readyPromise ??= this.relist();
    return this.readyPromise;
  }

  stop(): void {
    this.stopped = true;
    this.storeWatch?.cancel();
    for (const w of [...this.watchers.values()]) w.sink.end();
    this.watchers.clear();
    this.index.clear();
  }

  /**
   * The registry stored `object` at `key` at `revision` (resourceVersion set last: the stored text decoded, key
   * order included). Its copy has JSON's semantics (patch.ts `clone`), so it is the object that text parses to.
   */
  stored(key: string, object: KubeObject, revision: number): void {
    if (!this.storedJsonOnWire || this.stopped || revision <= this.currentRevision) return;
    this.written.set(key, { revision, object: clone(object as unknown as Json) as unknown as KubeObject });
  }

  /** The copy `stored` kept for this key and revision, if any; an older one is dropped (its event is past). */
  private takeWritten(key: string, revision: number): KubeObject | undefined {
    if (this.written.size === 0) return undefined;
    const mine = this.written.get(key);
    if (mine === undefined || mine.revision > revision) return undefined;
    this.written.delete(key);
    if (mine.revision !== revision) return undefined;
    this.stats.writesKept++;
    return mine.object;
  }

  private async relist(): Promise<void> {
    this.written.clear();
    const response = await this.kv.range(this.prefix, { rangeEnd: prefixEnd(this.prefix) });
    const objects = new Map<string, KubeObject>();
    for (const kv of response.kvs) objects.set(kv.key, markShared(this.decode(kv)));
    this.objects = objects;
    this.sortedKeys.reset(objects.keys());
    this.events = [];
    this.eventsHead = 0;
    this.windowStartRevision = response.header.revision;
    this.currentRevision = response.header.revision;
    this.stats.relists++;
    this.resolveFresh();
    if (this.stopped) return;
    this.stats.storeWatches++;
    this.storeWatch = this.kv.watch(this.prefix, { rangeEnd: prefixEnd(this.prefix), startRevision: response.header.revision + 1, progressNotify: true }, {
      onEvents: (events) => this.apply(events),
      onProgress: (revision) => this.progress(revision),
      onEnd: (error) => this.storeWatchEnded(error),
    });
  }

  /** The store watch ended (compacted past us): start over, and end every watcher so its client re-lists. */
  private storeWatchEnded(error: KvError | undefined): void {
    if (this.stopped || error === undefined) return;
    for (const w of [...this.watchers.values()]) w.sink.end(apiErrors.gone(`the watch cache of ${this.info.resource} restarted: ${error.message}`).status);
    this.watchers.clear();
    this.index.clear();
    this.readyPromise = this.relist();
  }

  private apply(kvEvents: KvEvent[]): void {
    for (const e of kvEvents) {
      const key = e.kv.key;
      const revision = e.kv.modRevision;
      assert(revision > this.currentRevision || (revision === this.currentRevision && this.events.length > this.eventsHead), `store events arrive in revision order (${revision} after ${this.currentRevision})`);
      const previous = this.objects.get(key);
      let event: CachedEvent;
      let json: string | undefined;
      if (e.type === 'put') {
        if (this.storedJsonOnWire) json = e.kv.value;
        const object = markShared(this.takeWritten(key, revision) ?? this.decode(e.kv));
        this.objects.set(key, object);
        if (previous === undefined) this.sortedKeys.add(key);
        event = { type: previous === undefined ? 'ADDED' : 'MODIFIED', object, previous, revision, key };
      } else {
        this.takeWritten(key, revision);
        if (previous === undefined) continue;
        this.objects.delete(key);
        this.sortedKeys.remove();
        const object = markShared({ ...previous, metadata: { ...previous.metadata, resourceVersion: String(revision) } });
        event = { type: 'DELETED', object, previous, revision, key };
      }
      this.currentRevision = revision;
      this.stats.eventsApplied++;
      this.events.push(event);
      while (this.events.length - this.eventsHead > WATCH_CACHE_EVENTS_MAX) {
        this.windowStartRevision = this.events[this.eventsHead]!.revision;
        this.events[this.eventsHead++] = undefined;
      }
      if (this.eventsHead >= WATCH_CACHE_EVENTS_MAX) {
        this.events = this.events.slice(this.eventsHead);
        this.eventsHead = 0;
      }
      const candidates = this.index.candidates(event, this.namespaceOfKey(key));
      this.stats.watchersOffered += candidates.length;
      for (const w of candidates) this.dispatch(w, event, json);
    }
    this.resolveFresh();
  }

  private progress(revision: number): void {
    if (revision > this.currentRevision) this.currentRevision = revision;
    this.resolveFresh();
    // Still behind (the replica our watch is on had not applied that far): ask again; each answer moves us on.
    if (this.freshWaiters.length > 0) this.kv.requestProgress();
  }

  private resolveFresh(): void {
    if (this.freshWaiters.length === 0) return;
    const ready = this.freshWaiters.filter((w) => w.revision <= this.currentRevision);
    this.freshWaiters = this.freshWaiters.filter((w) => w.revision > this.currentRevision);
    for (const w of ready) w.resolve(true);
  }

  /** Resolves once the cache has caught up to `revision` (events or a progress notification). */
  waitFor(revision: number): Promise<void> {
    return this.waitForFresh(revision, Number.POSITIVE_INFINITY).then(() => undefined);
  }

  /**
   * Kubernetes' consistent read from the cache: resolves true once the cache has caught up to `revision`
   * (asking the store for a progress notification rather than waiting for the periodic one), or false when
   * `giveUpWaiting` gives up on it first; the caller then reads the store.
   */
  waitForFresh(revision: number, nowMs: number): Promise<boolean> {
    if (revision <= this.currentRevision) return Promise.resolve(true);
    const waiting = new Promise<boolean>((resolve) => this.freshWaiters.push({ revision, resolve, sinceMs: nowMs }));
    this.kv.requestProgress();
    return waiting;
  }

  /** Waiters since before `beforeMs` give up (false): a store watch that stalls must not hang reads. */
  giveUpWaiting(beforeMs: number): void {
    const expired = this.freshWaiters.filter((w) => w.sinceMs < beforeMs);
    if (expired.length === 0) return;
    this.freshWaiters = this.freshWaiters.filter((w) => w.sinceMs >= beforeMs);
    for (const w of expired) w.resolve(false);
  }

  /** Every cached object, in no particular order: for periodic scans that need neither order nor a copy of the list. */
  objectsUnordered(): IterableIterator<KubeObject> {
    return this.objects.values();
  }

  /** Objects matching, sorted by key (the store's order), and the revision they reflect. */
  list(namespace: string | undefined, filter: ObjectFilter): { items: KubeObject[]; revision: number } {
    const { items, revision } = this.listKeyed(namespace, filter);
    return { items, revision };
  }

  /** As `list`, with each item's storage key beside it (what a paged list's continue token names). */
  listKeyed(namespace: string | undefined, filter: ObjectFilter): { keys: string[]; items: KubeObject[]; revision: number } {
    const prefix = namespace !== undefined && this.info.namespaced ? storagePrefix(this.info, namespace) : this.prefix;
    const items: KubeObject[] = [];
    const matched: string[] = [];
    const keys = this.sortedKeys.withPrefix(prefix);
    for (const key of keys) {
      const object = this.objects.get(key)!;
      if (isEmptyFilter(filter) || matchesFilter(filter, object)) {
        items.push(object);
        matched.push(key);
      }
    }
    return { keys: matched, items, revision: this.currentRevision };
  }

  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }

  /**
   * Starts a watch. Events are delivered synchronously to `sink` in revision
   * order. A too-old resourceVersion ends the watch at once with 410 Gone.
   */
  watch(request: WatchRequest, sink: WatchSink): CacheWatch {
    if (this.watchers.size >= WATCHERS_PER_RESOURCE_MAX) {
      sink.end(apiErrors.unavailable(`too many watchers of ${this.info.resource} (limit ${WATCHERS_PER_RESOURCE_MAX})`).status);
      return { cancel: () => undefined };
    }
    const rv = request.resourceVersion;
    const namespacePrefix = request.namespace !== undefined && this.info.namespaced ? storagePrefix(this.info, request.namespace) : undefined;
    const indexKey = this.index.keyFor(namespacePrefix === undefined ? undefined : request.namespace, request.filter);
    const watcher: Watcher = { id: this.nextWatcherId++, namespacePrefix, indexKey, filter: request.filter, afterRevision: 0, bookmarks: request.allowBookmarks === true, sink };
    const fromNow = rv === undefined || rv === '' || rv === '0';
    if (request.sendInitialEvents === true) {
      if (!fromNow && Number(rv) > this.currentRevision) {
        sink.end(apiErrors.timeout(`Too large resource version: ${rv}, current: ${this.currentRevision}`).status);
        return { cancel: () => undefined };
      }
      const { items, revision } = this.list(request.namespace, request.filter);
      for (const object of items) sink.event({ type: 'ADDED', object });
      watcher.afterRevision = revision;
      if (watcher.bookmarks) sink.event({ type: 'BOOKMARK', object: this.bookmarkObject({ [INITIAL_EVENTS_END_ANNOTATION]: 'true' }) });
    } else if (fromNow && request.sendInitialEvents === false) {
      watcher.afterRevision = this.currentRevision;
    } else if (fromNow) {
      const { items, revision } = this.list(request.namespace, request.filter);
      for (const object of items) sink.event({ type: 'ADDED', object });
      watcher.afterRevision = revision;
    } else {
      const since = Number(rv);
      if (!Number.isInteger(since) || since < 0) {
        sink.end(apiErrors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`).status);
        return { cancel: () => undefined };
      }
      if (since < this.windowStartRevision) {
        sink.end(apiErrors.gone(`too old resource version: ${since} (${this.windowStartRevision})`).status);
        return { cancel: () => undefined };
      }
      watcher.afterRevision = since;
      // Replay what the window holds after `since`; newer events follow live (filtered by afterRevision).
      for (let i = this.eventsHead; i < this.events.length; i++) {
        const event = this.events[i]!;
        if (event.revision > since) this.dispatch(watcher, event);
      }
    }
    this.watchers.set(watcher.id, watcher);
    this.index.add(watcher);
    return {
      cancel: () => {
        if (this.watchers.delete(watcher.id)) this.index.remove(watcher);
      },
    };
  }

  /** The namespace in a namespaced object's key (`/registry/pods/<ns>/<name>`); undefined for cluster-scoped kinds. */
  private namespaceOfKey(key: string): string | undefined {
    if (!this.info.namespaced) return undefined;
    const end = key.indexOf('/', this.prefix.length);
    return end < 0 ? undefined : key.slice(this.prefix.length, end);
  }

  /** A BOOKMARK's object: the kind and the cache's revision, nothing else (plus annotations for WatchList's end marker). */
  private bookmarkObject(annotations?: Record<string, string>): KubeObject {
    const metadata = annotations === undefined ? { resourceVersion: String(this.currentRevision) } : { resourceVersion: String(this.currentRevision), annotations };
    return { kind: this.info.kind, apiVersion: apiVersionOf(this.info), metadata };
  }

  /** `json`: the store's text of `event.object` (live puts only; replays from the window send the object). */
  private dispatch(w: Watcher, event: CachedEvent, json?: string): void {
    if (event.revision <= w.afterRevision) return;
    if (w.namespacePrefix !== undefined && !event.key.startsWith(w.namespacePrefix)) return;
    const filtered = !isEmptyFilter(w.filter);
    const now = !filtered || (event.type !== 'DELETED' && matchesFilter(w.filter, event.object));
    const before = event.previous !== undefined && (!filtered || matchesFilter(w.filter, event.previous));
    let type: WatchEvent['type'];
    if (event.type === 'DELETED') {
      if (!before) return;
      type = 'DELETED';
    } else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    else return;
    if (json === undefined) w.sink.event({ type, object: event.object });
    else w.sink.event(new StoredJsonEvent(type, event.object, json, event.object.metadata.resourceVersion!) as WatchEvent);
  }

  /** Sends a BOOKMARK carrying the cache's revision to every watcher that allows them. */
  bookmark(): void {
    const object = this.bookmarkObject();
    for (const w of this.watchers.values()) {
      if (!w.bookmarks) continue;
      if (this.currentRevision > w.afterRevision) w.afterRevision = this.currentRevision;
      w.sink.event({ type: 'BOOKMARK', object });
    }
  }
}

type IndexKey = { kind: 'all' } | { kind: 'namespace'; namespace: string } | { kind: 'field'; value: string };

/**
 * Watchers by what they select, so an event is offered only to the watchers
 * it can concern. A watcher selecting the indexed field with `=` sits under
 * that value; else one bound to a namespace sits under it; else it sees
 * everything. Offering an event to a watcher is a superset test: `dispatch`
 * still checks the whole filter, so the index never changes what is sent.
 */
class WatcherIndex {
  private readonly all = new Map<number, Watcher>();
  private readonly byNamespace = new Map<string, Map<number, Watcher>>();
  private readonly byField = new Map<string, Map<number, Watcher>>();

  constructor(private readonly field: string | undefined) {}

  keyFor(namespace: string | undefined, filter: ObjectFilter): IndexKey {
    if (this.field !== undefined) {
      const requirement = filter.fields.find((f) => f.path === this.field && f.op === '=');
      if (requirement !== undefined) return { kind: 'field', value: requirement.value };
    }
    return namespace !== undefined ? { kind: 'namespace', namespace } : { kind: 'all' };
  }

  add(w: Watcher): void {
    this.bucket(w.indexKey, true)!.set(w.id, w);
  }

  remove(w: Watcher): void {
    const bucket = this.bucket(w.indexKey, false);
    if (bucket === undefined) return;
    bucket.delete(w.id);
    if (bucket.size > 0 || w.indexKey.kind === 'all') return;
    if (w.indexKey.kind === 'namespace') this.byNamespace.delete(w.indexKey.namespace);
    else this.byField.delete(w.indexKey.value);
  }

  clear(): void {
    this.all.clear();
    this.byNamespace.clear();
    this.byField.clear();
  }

  /**
   * The watchers an event may concern, in the order they started (as when every watcher was tested):
   * those of its namespace, of the indexed field's value before and after the event, and the rest.
   * A snapshot: a watcher cancelled while this event is dispatched still gets it, one started does not.
   */
  candidates(event: CachedEvent, namespace: string | undefined): Watcher[] {
    const groups: Map<number, Watcher>[] = [];
    if (this.all.size > 0) groups.push(this.all);
    if (namespace !== undefined) {
      const inNamespace = this.byNamespace.get(namespace);
      if (inNamespace !== undefined) groups.push(inNamespace);
    }
    if (this.field !== undefined && this.byField.size > 0) {
      const now = this.byField.get(fieldValue(event.object, this.field));
      if (now !== undefined) groups.push(now);
      if (event.previous !== undefined) {
        const before = this.byField.get(fieldValue(event.previous, this.field));
        if (before !== undefined && before !== now) groups.push(before);
      }
    }
    if (groups.length === 0) return [];
    if (groups.length === 1) return [...groups[0]!.values()];
    // Every store event of a pod on a node comes here with two or three buckets (issue #16).
    return mergeById(groups);
  }

  private bucket(key: IndexKey, create: boolean): Map<number, Watcher> | undefined {
    if (key.kind === 'all') return this.all;
    const [map, k] = key.kind === 'namespace' ? [this.byNamespace, key.namespace] : [this.byField, key.value];
    let bucket = map.get(k);
    if (bucket === undefined && create) map.set(k, (bucket = new Map()));
    return bucket;
  }
}

/** Up to this many watchers an event's candidates are ordered by insertion sort. */
const SMALL_SORT_MAX = 32;

/** The watchers of several buckets (a watcher is in one only) in increasing id order. */
function mergeById(groups: readonly Map<number, Watcher>[]): Watcher[] {
  const merged: Watcher[] = [];
  for (const group of groups) for (const w of group.values()) merged.push(w);
  if (merged.length > SMALL_SORT_MAX) return merged.sort((a, b) => a.id - b.id);
  // An insertion sort in place: Array.prototype.sort allocates scratch space on every call.
  for (let i = 1; i < merged.length; i++) {
    const w = merged[i]!;
    let j = i - 1;
    while (j >= 0 && merged[j]!.id > w.id) {
      merged[j + 1] = merged[j]!;
      j--;
    }
    merged[j + 1] = w;
  }
  return merged;
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`watch cache invariant violated: ${message}`);
}
