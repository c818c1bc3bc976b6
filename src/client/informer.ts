/**
 * A shared informer, as client-go's reflector + DeltaFIFO + indexer folded
 * into one small class: list, then watch from the list's resourceVersion;
 * keep the store current; relist when the watch says 410 Gone; re-watch
 * after a normal close; hand every change to the registered handlers; and
 * every `resyncPeriodMs` hand every cached object to `onUpdate(o, o)` so
 * level-triggered controllers revisit state they may have mis-handled.
 */
import type { KubeObject } from '../api/types/index.js';
import type { Clock } from './clock.js';
import { isGone, type ListWatcher, type WatchFailure, type WatchHandle } from './list-watch.js';
import { objectKey, Store, type IndexFunc } from './store.js';

export interface EventHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(oldObject: T, newObject: T): void;
  /** `object` is the last state the informer knew. */
  onDelete?(object: T): void;
}

export interface InformerOptions<T> {
  /** Identifies the informer's timers on the shared clock. */
  name: string;
  listWatcher: ListWatcher<T>;
  clock: Clock;
  indexers?: Record<string, IndexFunc<T>>;
  /** 0 disables resync. client-go's controllers commonly use 30 s to 10 min. */
  resyncPeriodMs?: number;
  /** First delay after a failed list or watch; doubles per failure up to the max (client-go: 800 ms .. 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export const INFORMER_BACKOFF_INITIAL_MS = 800;
/** client-go's reflector caps its backoff at 30 s: long enough to spare a struggling server, short enough to recover. */
export const INFORMER_BACKOFF_MAX_MS = 30_000;

export interface InformerStats {
  lists: number;
  watches: number;
  relistsOnGone: number;
  failures: number;
  resyncs: number;
}

export class Informer<T extends KubeObject> {
  readonly store: Store<T>;
  private readonly handlers: EventHandlers<T>[] = [];
  private watchHandle: WatchHandle | undefined;
  /** Incremented whenever a watch is abandoned, so late events of an old watch are ignored. */
  private generation = 0;
  private lastResourceVersion = '';
  /** A watch answered 410 Gone: the next list must be a consistent one (client-go's isLastSyncResourceVersionUnavailable). */
  private resourceVersionGone = false;
  private synced = false;
  private running = false;
  private backoffMs: number;
  readonly stats: InformerStats = { lists: 0, watches: 0, relistsOnGone: 0, failures: 0, resyncs: 0 };

  constructor(private readonly options: InformerOptions<T>) {
    this.store = new Store<T>(options.indexers ?? {});
    this.backoffMs = options.backoffInitialMs ?? INFORMER_BACKOFF_INITIAL_MS;
  }

  addEventHandler(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
    // A handler added late still sees what is already known, as in client-go.
    if (this.synced) for (const object of this.store.list()) handlers.onAdd?.(object);
  }

  /** True once the first list has been stored. Controllers wait for this before acting. */
  hasSynced(): boolean {
    return this.synced;
  }

  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.listAndWatch();
    this.scheduleResync();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.watchHandle?.stop();
    this.watchHandle = undefined;
    this.options.clock.cancelTimer(this.timerKey('retry'));
    this.options.clock.cancelTimer(this.timerKey('resync'));
  }

  private timerKey(what: string): string {
    return `informer/${this.options.name}/${what}`;
  }

  private async listAndWatch(): Promise<void> {
    const generation = ++this.generation;
    this.watchHandle?.stop();
    this.watchHandle = undefined;
    let listed;
    try {
      this.stats.lists++;
      listed = await this.options.listWatcher.list({ resourceVersion: this.relistResourceVersion() });
    } catch {
      if (generation !== this.generation || !this.running) return;
      this.retryLater(() => void this.listAndWatch());
      return;
    }
    if (generation !== this.generation || !this.running) return;
    this.replace(listed.items);
    this.lastResourceVersion = listed.resourceVersion;
    this.resourceVersionGone = false;
    this.synced = true;
    this.backoffMs = this.options.backoffInitialMs ?? INFORMER_BACKOFF_INITIAL_MS;
    this.startWatch(generation);
  }

  /**
   * As client-go's reflector: the first list is served by the API server's
   * watch cache ("0": any revision, no quorum read — a thousand kubelets
   * starting must not each read through to the store); later lists are "not
   * older than" what this informer already saw; after a 410 Gone only a
   * consistent list ("") will do.
   */
  private relistResourceVersion(): string {
    if (this.resourceVersionGone) return '';
    return this.lastResourceVersion === '' ? '0' : this.lastResourceVersion;
  }

  private startWatch(generation: number): void {
    this.stats.watches++;
    this.watchHandle = this.options.listWatcher.watch(this.lastResourceVersion, {
      onEvent: (event) => {
        if (generation !== this.generation) return;
        const rv = event.object.metadata.resourceVersion;
        if (rv !== undefined && rv !== '') this.lastResourceVersion = rv;
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED': this.apply(event.object); break;
          case 'DELETED': this.remove(event.object); break;
          case 'BOOKMARK': break;
        }
      },
      onError: (failure: WatchFailure) => {
        if (generation !== this.generation || !this.running) return;
        this.generation++;
        this.watchHandle = undefined;
        if (isGone(failure)) {
          // Our resourceVersion was compacted away: only a fresh list can tell us the state.
          this.stats.relistsOnGone++;
          this.resourceVersionGone = true;
          void this.listAndWatch();
          return;
        }
        const next = this.generation;
        this.retryLater(() => {
          if (next === this.generation && this.running) this.startWatch(next);
        });
      },
      onClose: () => {
        if (generation !== this.generation || !this.running) return;
        this.startWatch(generation);
      },
    });
  }

  private retryLater(action: () => void): void {
    this.stats.failures++;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs ?? INFORMER_BACKOFF_MAX_MS);
    this.options.clock.timer(this.timerKey('retry'), delayMs, () => {
      if (this.running) action();
    });
  }

  /** Make the store equal to a fresh list, telling handlers the difference. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(objectKey(item));
      this.apply(item);
    }
    for (const key of this.store.keys()) {
      if (seen.has(key)) continue;
      const old = this.store.delete(key)!;
      for (const h of this.handlers) h.onDelete?.(old);
    }
  }

  private apply(object: T): void {
    const old = this.store.upsert(object);
    if (old === undefined) for (const h of this.handlers) h.onAdd?.(object);
    else for (const h of this.handlers) h.onUpdate?.(old, object);
  }

  private remove(object: T): void {
    const old = this.store.delete(objectKey(object));
    if (old === undefined) return;
    for (const h of this.handlers) h.onDelete?.(object);
  }

  private scheduleResync(): void {
    const periodMs = this.options.resyncPeriodMs ?? 0;
    if (periodMs <= 0) return;
    this.options.clock.timer(this.timerKey('resync'), periodMs, () => {
      if (!this.running) return;
      if (this.synced) {
        this.stats.resyncs++;
        for (const object of this.store.list()) for (const h of this.handlers) h.onUpdate?.(object, object);
      }
      this.scheduleResync();
    });
  }
}
