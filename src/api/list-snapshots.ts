/**
 * Paged LISTs served from the watch cache at one revision (Kubernetes'
 * ListFromCacheSnapshot, beta and on by default since 1.34): the first page
 * of a consistent paged LIST takes the cache's sorted objects at its current
 * revision as a snapshot, and each continue token (start key, revision) is
 * served from that snapshot while it is kept. Cached objects are never
 * changed once made, so a snapshot is an array of references: cheap to keep,
 * and every page of it reflects the same revision.
 *
 * Why: an unpaged LIST of 20,000 pods is encoded in one turn of the API
 * server's thread (hundreds of ms) while every request behind it waits; a
 * page of 500 is a few ms, and other requests run between pages.
 *
 * A token whose snapshot is gone (expired, evicted, another API server) is
 * served by the store at the token's revision, as before: the same answer,
 * or 410 Gone once the store has compacted that revision.
 */
import type { KubeObject } from './types/index.js';
import { lowerBound } from './sorted-keys.js';

/** Snapshots kept at once: each pins the object versions it holds, so a few, for the lists in flight. */
export const LIST_SNAPSHOTS_MAX = 8;
/** How long a snapshot serves its continue tokens: a paged LIST's pages follow each other within seconds. */
export const LIST_SNAPSHOT_TTL_MS = 30_000;

export interface ListSnapshot {
  revision: number;
  /** Storage keys, sorted (the store's order), one per item. */
  keys: string[];
  items: KubeObject[];
}

export interface Page {
  items: KubeObject[];
  /** The first key of the next page, if any (what a continue token carries). */
  nextKey: string | undefined;
}

/** The page of at most `limit` items (0: all) starting at the first key >= `startKey` (undefined: from the start). */
export function pageOf(snapshot: ListSnapshot, startKey: string | undefined, limit: number): Page {
  if (snapshot.keys.length !== snapshot.items.length) throw new Error('list snapshot invariant violated: one key per item');
  const from = startKey === undefined ? 0 : lowerBound(snapshot.keys, startKey);
  const to = limit > 0 ? Math.min(snapshot.items.length, from + limit) : snapshot.items.length;
  return { items: snapshot.items.slice(from, to), nextKey: to < snapshot.keys.length ? snapshot.keys[to] : undefined };
}

interface Kept {
  snapshot: ListSnapshot;
  expiresAtMs: number;
}

/** The snapshots of paged LISTs in flight, by what they list (resource, prefix, selectors) and revision. */
export class ListSnapshots {
  private readonly kept = new Map<string, Kept>();

  constructor(private readonly max = LIST_SNAPSHOTS_MAX, private readonly ttlMs = LIST_SNAPSHOT_TTL_MS) {
    if (max < 1) throw new Error(`ListSnapshots: max must be at least 1, got ${max}`);
  }

  /** Keeps `snapshot` for the lists named `listId`; the oldest goes when more than `max` are kept. */
  put(listId: string, snapshot: ListSnapshot, nowMs: number): void {
    this.expire(nowMs);
    const id = snapshotId(listId, snapshot.revision);
    this.kept.delete(id);
    this.kept.set(id, { snapshot, expiresAtMs: nowMs + this.ttlMs });
    while (this.kept.size > this.max) this.kept.delete(this.kept.keys().next().value!);
  }

  /** The snapshot of `listId` at exactly `revision`, if still kept. */
  get(listId: string, revision: number, nowMs: number): ListSnapshot | undefined {
    this.expire(nowMs);
    return this.kept.get(snapshotId(listId, revision))?.snapshot;
  }

  get size(): number {
    return this.kept.size;
  }

  private expire(nowMs: number): void {
    for (const [id, kept] of this.kept) if (kept.expiresAtMs <= nowMs) this.kept.delete(id);
  }
}

function snapshotId(listId: string, revision: number): string {
  return `${listId}@${revision}`;
}
