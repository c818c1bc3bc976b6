/**
 * Watchers over the MVCC store (etcd's watchable store). Each watcher has a
 * cursor: the next revision it needs. A watcher whose cursor is past the
 * store's revision is *synced* and receives new revisions as they commit; one
 * behind is *unsynced* and catches up from the event log in bounded batches.
 * Events are delivered in revision order and a revision is never split across
 * responses. A watcher whose cursor falls below the compaction is canceled
 * with the compact revision, as etcd does.
 *
 * Pure: `pump()` returns the responses to deliver; the caller sends them.
 */
import type { ErrorResponse, Event, WatchCreateRequest, WatchFilter, WatchResponse } from '../protocol.js';
import { kvError } from './errors.js';
import type { LoggedEvent, MvccStore } from './store.js';

/** Events handed to one watcher per pump: bounds the work of one step and the size of one response. */
export const WATCH_BATCH_EVENTS_MAX = 1000;
/** Watchers per hub (etcd has none; an unbounded set is a leak waiting for a bad client). */
export const WATCHERS_MAX = 100_000;

interface Watcher {
  id: number;
  key: string;
  rangeEnd: string | undefined;
  nextRevision: number;
  prevKv: boolean;
  progressNotify: boolean;
  filters: ReadonlySet<WatchFilter>;
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private nextWatchId = 1;
  /** Events the last `pump` read from the log (0: every watcher was synced). */
  lastPumpScanned = 0;

  constructor(private readonly store: MvccStore) {}

  /** Registers a watcher; returns its `created` response, or a `compacted` error carrying the compact revision. */
  create(request: WatchCreateRequest): WatchResponse | ErrorResponse {
    const start = request.startRevision !== undefined && request.startRevision > 0 ? request.startRevision : this.store.revision + 1;
    if (start < this.store.compactRevision) return kvError.compacted(this.store.compactRevision);
    if (this.watchers.size >= WATCHERS_MAX) throw new Error(`watch hub holds ${WATCHERS_MAX} watchers: cancel some before creating more`);
    const watcher: Watcher = {
      id: this.nextWatchId++,
      key: request.key,
      rangeEnd: request.rangeEnd,
      nextRevision: start,
      prevKv: request.prevKv === true,
      progressNotify: request.progressNotify === true,
      filters: new Set(request.filters ?? []),
    };
    this.watchers.set(watcher.id, watcher);
    return { type: 'watch', header: { revision: this.store.revision }, watchId: watcher.id, created: true, events: [] };
  }

  cancel(watchId: number): WatchResponse | ErrorResponse {
    if (!this.watchers.delete(watchId)) return kvError.watchNotFound();
    return { type: 'watch', header: { revision: this.store.revision }, watchId, canceled: true, events: [] };
  }

  /** True when the watcher has been given every revision up to the store's. */
  isSynced(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    return watcher !== undefined && watcher.nextRevision > this.store.revision;
  }

  get size(): number {
    return this.watchers.size;
  }

  /**
   * Moves every watcher forward: synced watchers get the revisions committed
   * since the last pump, unsynced ones a batch of history. Watchers left
   * behind by a compaction are canceled. Call after applying and until every
   * watcher is synced (`lastPumpScanned` 0).
   *
   * `scanEventsMax` bounds the events this pump reads from the log for all
   * watchers together (each reads up to WATCH_BATCH_EVENTS_MAX, then the
   * next, until the bound is reached): a watcher matches only its range, so
   * catching twenty watchers up on a log that holds everyone's events reads
   * twenty times the log. Watchers the bound left out go first next time.
   */
  pump(scanEventsMax = Number.POSITIVE_INFINITY): WatchResponse[] {
    const responses: WatchResponse[] = [];
    const revision = this.store.revision;
    let scanned = 0;
    const served: Watcher[] = [];
    for (const watcher of this.watchers.values()) {
      if (scanned >= scanEventsMax) break;
      served.push(watcher);
      if (watcher.nextRevision > revision) continue;
      if (watcher.nextRevision < this.store.compactRevision) {
        this.watchers.delete(watcher.id);
        responses.push({
          type: 'watch',
          header: { revision },
          watchId: watcher.id,
          canceled: true,
          compactRevision: this.store.compactRevision,
          cancelReason: kvError.compacted(this.store.compactRevision).message,
          events: [],
        });
        continue;
      }
      const { events, scanned: read } = this.collect(watcher, revision);
      scanned += read;
      if (events.length > 0) responses.push({ type: 'watch', header: { revision }, watchId: watcher.id, events });
    }
    // Cut short: the watchers served go to the back (a Map iterates in insertion order), so the others come first.
    if (served.length < this.watchers.size) {
      for (const watcher of served) {
        if (!this.watchers.delete(watcher.id)) continue;
        this.watchers.set(watcher.id, watcher);
      }
    }
    this.lastPumpScanned = scanned;
    return responses;
  }

  /**
   * Progress notifications: for each synced watcher (every one, or only those
   * created with `progressNotify` when `onlyRequested`), an empty response whose
   * header revision promises that every event up to it has been delivered.
   * Unsynced watchers get none: the promise would be false.
   */
  progress(onlyRequested = false): WatchResponse[] {
    const revision = this.store.revision;
    const responses: WatchResponse[] = [];
    for (const watcher of this.watchers.values()) {
      if (watcher.nextRevision <= revision) continue;
      if (onlyRequested && !watcher.progressNotify) continue;
      responses.push({ type: 'watch', header: { revision }, watchId: watcher.id, events: [] });
    }
    return responses;
  }

  private collect(watcher: Watcher, revision: number): { events: Event[]; scanned: number } {
    const { events: log, at } = this.store.eventCursor(watcher.nextRevision);
    const out: Event[] = [];
    let i = at;
    let scanned = 0;
    while (i < log.length) {
      const first = log[i]!.revision;
      // Take whole revisions only: stop before one that would overflow the batch (unless the batch is empty).
      let end = i;
      while (end < log.length && log[end]!.revision === first) end++;
      if (scanned > 0 && scanned + (end - i) > WATCH_BATCH_EVENTS_MAX) break;
      for (let j = i; j < end; j++) {
        const event = deliverable(watcher, log[j]!);
        if (event !== undefined) out.push(event);
      }
      scanned += end - i;
      watcher.nextRevision = first + 1;
      i = end;
    }
    if (i >= log.length) watcher.nextRevision = revision + 1;
    return { events: out, scanned };
  }
}

function deliverable(watcher: Watcher, logged: LoggedEvent): Event | undefined {
  const { event } = logged;
  const key = event.kv.key;
  const matches =
    watcher.rangeEnd === undefined || watcher.rangeEnd === ''
      ? key === watcher.key
      : key >= watcher.key && (watcher.rangeEnd === '\0' || key < watcher.rangeEnd);
  if (!matches) return undefined;
  if (event.type === 'put' && watcher.filters.has('noPut')) return undefined;
  if (event.type === 'delete' && watcher.filters.has('noDelete')) return undefined;
  if (watcher.prevKv || event.prevKv === undefined) return event;
  return { type: event.type, kv: event.kv };
}
