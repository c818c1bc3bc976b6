/**
 * What client-go's event recorder does to each core/v1 Event before it
 * reaches the API server (tools/record's EventCorrelator), so a component
 * that reports the same thing many times writes what Kubernetes writes:
 *
 * - aggregation: the 10th distinct message within 10 minutes for one
 *   (source, object, type, reason, reporter) becomes one event whose message
 *   starts "(combined from similar events): ", counted up from then on;
 * - de-duplication: an event seen before (same key, same message) is a patch
 *   of the first one's count, lastTimestamp and message, not a new object;
 * - spam filter: a source may write 25 events about one object, then one
 *   every 5 minutes (a token bucket per source and object); the rest are
 *   dropped.
 *
 * A ReplicaSet controller creating 1,000 pods thus writes 25 events about
 * its ReplicaSet, not 1,000. Pure: time comes in as an argument.
 */
import type { Event } from '../api/types/index.js';

/** client-go's maxLruCacheEntries: each of the three caches forgets its least recently used key past this. */
export const EVENT_CACHE_ENTRIES_MAX = 4096;
/** Distinct messages of one aggregate key before they are combined (defaultAggregateMaxEvents). */
export const AGGREGATE_EVENTS_MAX = 10;
/** A similar event older than this starts a fresh aggregate (defaultAggregateIntervalInSeconds). */
export const AGGREGATE_INTERVAL_MS = 600_000;
/** Events a source may write about one object at once (defaultSpamBurst). */
export const SPAM_BURST = 25;
/** Then one more every 5 minutes (defaultSpamQPS = 1/300). */
export const SPAM_REFILL_MS = 300_000;
/** The prefix client-go gives an aggregated event's message. */
export const COMBINED_PREFIX = '(combined from similar events): ';

/** What to do with one event. */
export type CorrelatedEvent =
  | { skip: true }
  /** `patch` set: the event exists on the server as `event.metadata.name`; send these fields as a strategic merge patch (create it if the patch finds it gone). */
  | { skip: false; event: Event; patch?: { count: number; lastTimestamp: string; message: string } };

/** A map that forgets its least recently used key past `max` entries (groupcache's lru, as client-go uses). */
class Lru<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }
}

interface AggregateRecord {
  messages: Set<string>;
  lastMs: number;
}

interface Observation {
  count: number;
  firstTimestamp: string | null | undefined;
  name: string;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

const NUL = '\u0000';

function objectKey(e: Event): string {
  const o = e.involvedObject;
  return [e.source?.component, e.source?.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion].join(NUL);
}

/** getEventKey: everything that makes two events the same occurrence, message included. */
function eventKey(e: Event): string {
  return [objectKey(e), e.involvedObject.fieldPath, e.type, e.reason, e.message].join(NUL);
}

/** EventAggregatorByReasonFunc: everything but the message. */
function aggregateKey(e: Event): string {
  return [objectKey(e), e.type, e.reason, e.reportingComponent, e.reportingInstance].join(NUL);
}

export class EventCorrelator {
  private readonly aggregates = new Lru<AggregateRecord>(EVENT_CACHE_ENTRIES_MAX);
  private readonly observed = new Lru<Observation>(EVENT_CACHE_ENTRIES_MAX);
  private readonly buckets = new Lru<Bucket>(EVENT_CACHE_ENTRIES_MAX);

  /**
   * Correlates `event` (count 1, both timestamps now) at `nowMs`. `freshName`
   * names the combined event, called only when this one starts it.
   */
  correlate(event: Event, nowMs: number, freshName: () => string): CorrelatedEvent {
    const { event: aggregated, key } = this.aggregate(event, nowMs, freshName);
    const observed = this.observe(aggregated, key);
    if (this.spam(observed, nowMs)) return { skip: true };
    if ((observed.count ?? 1) > 1) {
      return { skip: false, event: observed, patch: { count: observed.count!, lastTimestamp: observed.lastTimestamp ?? '', message: observed.message ?? '' } };
    }
    return { skip: false, event: observed };
  }

  private aggregate(event: Event, nowMs: number, freshName: () => string): { event: Event; key: string } {
    const key = aggregateKey(event);
    let record = this.aggregates.get(key);
    if (record === undefined || nowMs - record.lastMs > AGGREGATE_INTERVAL_MS) record = { messages: new Set(), lastMs: nowMs };
    record.messages.add(event.message ?? '');
    record.lastMs = nowMs;
    this.aggregates.set(key, record);
    if (record.messages.size < AGGREGATE_EVENTS_MAX) return { event, key: eventKey(event) };
    // Never grow past the threshold: from now on every similar event counts up the combined one.
    record.messages.delete(record.messages.values().next().value as string);
    const combined: Event = {
      ...event,
      metadata: { name: freshName(), namespace: event.metadata.namespace },
      message: COMBINED_PREFIX + (event.message ?? ''),
      count: 1,
    };
    return { event: combined, key };
  }

  private observe(event: Event, key: string): Event {
    const last = this.observed.get(key);
    const out: Event = last === undefined
      ? event
      : { ...event, metadata: { ...event.metadata, name: last.name }, firstTimestamp: last.firstTimestamp, count: last.count + 1 };
    this.observed.set(key, { count: out.count ?? 1, firstTimestamp: out.firstTimestamp, name: out.metadata.name ?? '' });
    return out;
  }

  /** True when the source has no token left for this object. */
  private spam(event: Event, nowMs: number): boolean {
    const key = objectKey(event);
    const bucket = this.buckets.get(key) ?? { tokens: SPAM_BURST, atMs: nowMs };
    bucket.tokens = Math.min(SPAM_BURST, bucket.tokens + Math.max(0, nowMs - bucket.atMs) / SPAM_REFILL_MS);
    bucket.atMs = nowMs;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return !allowed;
  }
}
