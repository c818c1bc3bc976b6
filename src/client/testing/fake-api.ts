/**
 * An in-memory API server for tests of client machinery. It keeps the
 * semantics the client relies on honestly: one global revision; an object's
 * resourceVersion is the revision of its last write; update is
 * compare-and-swap on resourceVersion (409 Conflict); create of an existing
 * name is 409 AlreadyExists; a watch replays every event after its
 * resourceVersion, in order, and answers 410 Gone once that version has been
 * compacted. Delivery is asynchronous (a promise hop per batch), as over
 * actor messages. `setUnresponsive(true)` makes every call hang, the way a
 * partitioned API server looks to a client.
 */
import type { KubeObject, Lease } from '../../api/types/index.js';
import type { LeaseClient } from '../leader-election.js';
import { ClientError, type ClientWatchEvent, type ListResult, type ListWatcher, type WatchHandlers, type WatchHandle } from '../list-watch.js';
import { objectKey } from '../store.js';

interface StoredEvent {
  revision: number;
  resource: string;
  event: ClientWatchEvent<KubeObject>;
}

interface ActiveWatch {
  resource: string;
  handlers: WatchHandlers<KubeObject>;
  stopped: boolean;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class FakeApi {
  private revision = 1;
  private compactedRevision = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  private readonly watches = new Set<ActiveWatch>();
  private unresponsive = false;
  private readonly partitionedClients = new Set<string>();
  private listFailuresLeft = 0;
  calls = 0;

  get currentRevision(): number {
    return this.revision;
  }

  /** Every call from now on hangs forever (true) or is answered again (false). Hung calls stay hung. */
  setUnresponsive(value: boolean): void {
    this.unresponsive = value;
  }

  /** The next `count` lists fail with 500. */
  /** The resourceVersion every list asked for, in order ('' for a consistent list). */
  readonly listResourceVersions: string[] = [];

  failNextLists(count: number): void {
    this.listFailuresLeft = count;
  }

  private resourceMap(resource: string): Map<string, KubeObject> {
    let map = this.objects.get(resource);
    if (map === undefined) this.objects.set(resource, (map = new Map()));
    return map;
  }

  /** Calls from this named client hang (true) or are answered again (false): one client partitioned away. */
  setClientUnresponsive(client: string, value: boolean): void {
    if (value) this.partitionedClients.add(client);
    else this.partitionedClients.delete(client);
  }

  private answer<R>(compute: () => R, client?: string): Promise<R> {
    this.calls++;
    if (this.unresponsive || (client !== undefined && this.partitionedClients.has(client))) return new Promise<R>(() => {});
    return Promise.resolve().then(compute);
  }

  private record(resource: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void {
    const stored: StoredEvent = { revision: this.revision, resource, event: { type, object: clone(object) } };
    this.history.push(stored);
    for (const w of this.watches) {
      if (w.resource !== resource || w.stopped) continue;
      const event = clone(stored.event);
      void Promise.resolve().then(() => {
        if (!w.stopped) w.handlers.onEvent(event);
      });
    }
  }

  // ---- writes, synchronous for test setup; the async client surfaces wrap them ----

  createNow<T extends KubeObject>(resource: string, object: T): T {
    const map = this.resourceMap(resource);
    const key = objectKey(object);
    if (map.has(key)) throw new ClientError(409, 'AlreadyExists', `${resource} "${key}" already exists`);
    const stored = clone(object);
    this.revision++;
    stored.metadata.resourceVersion = String(this.revision);
    stored.metadata.uid ??= `uid-${this.revision}`;
    map.set(key, stored);
    this.record(resource, 'ADDED', stored);
    return clone(stored) as T;
  }

  updateNow<T extends KubeObject>(resource: string, object: T): T {
    const map = this.resourceMap(resource);
    const key = objectKey(object);
    const current = map.get(key);
    if (current === undefined) throw new ClientError(404, 'NotFound', `${resource} "${key}" not found`);
    const expected = object.metadata.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== current.metadata.resourceVersion) {
      throw new ClientError(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${key}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const stored = clone(object);
    this.revision++;
    stored.metadata.resourceVersion = String(this.revision);
    stored.metadata.uid = current.metadata.uid;
    map.set(key, stored);
    this.record(resource, 'MODIFIED', stored);
    return clone(stored) as T;
  }

  deleteNow(resource: string, key: string): void {
    const map = this.resourceMap(resource);
    const current = map.get(key);
    if (current === undefined) throw new ClientError(404, 'NotFound', `${resource} "${key}" not found`);
    map.delete(key);
    this.revision++;
    const tombstone = clone(current);
    tombstone.metadata.resourceVersion = String(this.revision);
    this.record(resource, 'DELETED', tombstone);
  }

  getNow<T extends KubeObject>(resource: string, key: string): T | undefined {
    const found = this.resourceMap(resource).get(key);
    return found === undefined ? undefined : (clone(found) as T);
  }

  /** Forget history up to the current revision: watches from older versions now get 410 Gone. */
  compact(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  /** End every open watch with an error, as a restarting API server does. */
  breakWatches(code: number, reason: string): void {
    for (const w of [...this.watches]) {
      w.stopped = true;
      this.watches.delete(w);
      void Promise.resolve().then(() => w.handlers.onError({ code, reason, message: `watch broken by test (${reason})` }));
    }
  }

  openWatchCount(): number {
    let n = 0;
    for (const w of this.watches) if (!w.stopped) n++;
    return n;
  }

  // ---- client surfaces ----

  listWatcher<T extends KubeObject>(resource: string): ListWatcher<T> {
    return {
      list: (options) => this.answer((): ListResult<T> => {
        this.listResourceVersions.push(options?.resourceVersion ?? '');
        if (this.listFailuresLeft > 0) {
          this.listFailuresLeft--;
          throw new ClientError(500, 'InternalError', 'injected list failure');
        }
        return { items: [...this.resourceMap(resource).values()].map((o) => clone(o) as T), resourceVersion: String(this.revision) };
      }),
      watch: (resourceVersion: string, handlers: WatchHandlers<T>): WatchHandle => {
        const watch: ActiveWatch = { resource, handlers: handlers as WatchHandlers<KubeObject>, stopped: false };
        const handle = { stop: () => { watch.stopped = true; this.watches.delete(watch); } };
        if (this.unresponsive) return handle;
        const fromRevision = Number(resourceVersion);
        if (!Number.isInteger(fromRevision)) throw new Error(`FakeApi.watch: resourceVersion ${JSON.stringify(resourceVersion)} is not a revision`);
        if (fromRevision < this.compactedRevision) {
          watch.stopped = true;
          void Promise.resolve().then(() => handlers.onError({ code: 410, reason: 'Expired', message: `too old resource version: ${fromRevision} (${this.compactedRevision})` }));
          return handle;
        }
        const replay = this.history.filter((e) => e.resource === resource && e.revision > fromRevision).map((e) => clone(e.event));
        this.watches.add(watch);
        void Promise.resolve().then(() => {
          for (const event of replay) if (!watch.stopped) handlers.onEvent(event as ClientWatchEvent<T>);
        });
        return handle;
      },
    };
  }

  /** A lease client; `client` names it for `setClientUnresponsive`. */
  leaseClient(client?: string): LeaseClient {
    return {
      get: (namespace, name) => this.answer(() => this.getNow<Lease>('leases', `${namespace}/${name}`) ?? null, client),
      create: (lease) => this.answer(() => this.createNow('leases', lease), client),
      update: (lease) => this.answer(() => this.updateNow('leases', lease), client),
    };
  }
}
