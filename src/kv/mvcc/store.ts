/**
 * The MVCC store: pure and deterministic. Every replica applies the same
 * requests in Raft log order and ends in the same state; nothing here reads a
 * clock, a random source or a disk.
 *
 * Model (etcd's): a global revision, bumped once by each request that changes
 * keys (a txn's writes share one revision, ordered within it by a sub-revision).
 * Each key keeps its versions since the last compaction; a delete is a
 * tombstone version. Reads at a past revision pick, per key, the newest
 * version at or below it. The event log (what watchers read) is the same
 * versions in revision order.
 */
import type {
  ApplyRequest,
  ApplyResponse,
  Compare,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  ErrorResponse,
  Event,
  KeyValue,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../protocol.js';
import { kvError, LEASE_TTL_SECONDS_MAX, TXN_OPS_MAX, TxnAbort } from './errors.js';
import { KeyIndex } from './key-index.js';
import { StoreSnapshotCursor, type SnapshotKeyRow, type StoreSnapshotHeader, type Version } from './snapshot-cursor.js';


export interface LeaseInfo {
  id: number;
  ttlSeconds: number;
  keys: string[];
}

/** A logged event with its position inside the revision. */
export interface LoggedEvent {
  revision: number;
  sub: number;
  event: Event;
}

/** Revision of an empty store, as in etcd: the first write gets revision 2. */
export const INITIAL_REVISION = 1;

/**
 * Keys one compaction step visits (`MvccStore.compactStep`): etcd's compaction batch limit. About a
 * millisecond of work on this machine, so the turns between steps tick and answer as usual.
 */
export const COMPACTION_STEP_KEYS_DEFAULT = 1000;

function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`mvcc invariant violated: ${message}`);
}

function tombstoneKv(key: string, revision: number): KeyValue {
  return { key, value: '', createRevision: 0, modRevision: revision, version: 0, lease: 0 };
}

export class MvccStore {
  private currentRevision = INITIAL_REVISION;
  private compactedRevision = 0;
  private readonly index = new KeyIndex();
  private readonly histories = new Map<string, Version[]>();
  private readonly leases = new Map<number, { ttlSeconds: number; keys: Set<string> }>();
  private nextLeaseId = 1;
  /** Snapshots being read while writes go on: compaction hands them what it replaces. */
  private readonly cursors = new Set<StoreSnapshotCursor>();
  /**
   * Keys written (put or deleted) since the last snapshot of a
   * chain began (`openSnapshotCursor` with a `chain`): what the next delta snapshot holds. Undefined until a
   * replica asks for it (`trackSnapshotChanges`), so stores nobody snapshots in deltas pay nothing per write.
   */
  private touched: Set<string> | undefined;
  /** Events in revision order since the compaction (what watchers catch up from). */
  private events: LoggedEvent[] = [];
  /** The compaction whose old versions are being dropped in steps, if any (`compactStep`). */
  private compaction: { revision: number; keys: Iterator<string> } | undefined;
  /**
   * When set, `compact` only makes the compaction take effect for reads and watches and leaves dropping
   * the old versions to `compactStep` (a replica, between turns); otherwise it drops them at once.
   */
  compactInSteps = false;
  /** Listeners told after each revision is committed (the watch hub). */
  private readonly listeners: Array<(events: readonly LoggedEvent[]) => void> = [];

  // Txn-in-progress state: the revision being written and its events so far. The events are also what a txn that
  // aborts undoes (`rollBack`): each is one version pushed and one lease attachment moved, so no undo record is
  // allocated per key written (every replica applies every write).
  private writeSub = 0;
  private pendingEvents: LoggedEvent[] = [];

  get revision(): number {
    return this.currentRevision;
  }

  get compactRevision(): number {
    return this.compactedRevision;
  }

  /** Keys with a live (not deleted) value: etcd_debugging_mvcc_keys_total. Walks every key: for scrapes, not hot paths. */
  liveKeyCount(): number {
    let count = 0;
    for (const versions of this.histories.values()) if (versions[versions.length - 1]?.kv != null) count++;
    return count;
  }

  onCommit(listener: (events: readonly LoggedEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /** The replicated state machine's one entry point. */
  apply(request: ApplyRequest): ApplyResponse {
    switch (request.type) {
      case 'range':
        return this.range(request);
      case 'put':
      case 'deleteRange':
      case 'txn':
        return this.write(request);
      case 'compact':
        return this.compact(request.revision);
      case 'leaseGrant':
        return this.leaseGrant(request);
      case 'leaseRevoke':
        return this.leaseRevoke(request.id);
    }
  }

  range(request: RangeRequest): RangeResponse | ErrorResponse {
    const problem = this.readRevisionProblem(request.revision ?? 0);
    if (problem !== undefined) return problem;
    return this.rangeAt(request);
  }

  put(request: Omit<PutRequest, 'type'>): PutResponse | ErrorResponse {
    return this.write(() => this.execute({ type: 'put', ...request })) as PutResponse | ErrorResponse;
  }

  deleteRange(request: Omit<DeleteRangeRequest, 'type'>): DeleteRangeResponse | ErrorResponse {
    return this.write(() => this.execute({ type: 'deleteRange', ...request })) as DeleteRangeResponse | ErrorResponse;
  }

  txn(request: Omit<TxnRequest, 'type'>): TxnResponse | ErrorResponse {
    return this.write(() => this.execute({ type: 'txn', ...request })) as TxnResponse | ErrorResponse;
  }

  /**
   * etcd's compaction: reads below `revision` fail from now on ("compacted"), and every version a read at
   * `revision` or later cannot see is dropped. With `compactInSteps` the dropping is left to `compactStep`,
   * a bounded number of keys at a time (etcd too compacts in the background, in batches of 1,000): at
   * 100,000 keys one pass held a replica's thread for seconds. Until the steps are done the store holds
   * old versions no read may reach, and nothing else differs: a read at or above the compact revision
   * picks, per key, the newest version at or below it, which every step keeps.
   */
  compact(revision: number): CompactionResponse | ErrorResponse {
    if (revision <= this.compactedRevision) return kvError.compacted(this.compactedRevision);
    if (revision > this.currentRevision) return kvError.futureRevision();
    this.compactedRevision = revision;
    this.events = this.events.slice(lowerBoundEvents(this.events, revision));
    // A compaction still in steps is overtaken: starting over with the higher revision drops all it would have.
    // Map iteration visits every key present now, skips the ones deleted before their turn and never revisits one.
    this.compaction = { revision, keys: this.histories.keys() };
    if (!this.compactInSteps) this.compactStep(Number.POSITIVE_INFINITY);
    return { type: 'compact', header: { revision: this.currentRevision } };
  }

  /** A compaction has versions left to drop (`compactStep`). */
  get compacting(): boolean {
    return this.compaction !== undefined;
  }

  /**
   * Drops the old versions of at most `keysMax` more keys of the compaction in progress and returns how
   * many keys it visited (`compacting` says whether any are left). Call between writes, never inside one;
   * 0 when no compaction is in progress.
   */
  compactStep(keysMax = COMPACTION_STEP_KEYS_DEFAULT): number {
    const job = this.compaction;
    if (job === undefined) return 0;
    let visited = 0;
    while (visited < keysMax) {
      const next = job.keys.next();
      if (next.done === true) {
        this.compaction = undefined;
        break;
      }
      visited++;
      this.compactKey(next.value, job.revision);
    }
    return visited;
  }

  /** Keeps every version of `key` above `revision` and the newest at or below it, unless that one is a tombstone. */
  private compactKey(key: string, revision: number): void {
    const versions = this.histories.get(key);
    if (versions === undefined) return;
    const keepFrom = keptFrom(versions, revision);
    if (keepFrom === 0) return;
    // Not a change a delta must hold (`touched`): restoring a chain compacts every history to the last link's
    // compact revision, which drops from a key's older history exactly what this drops.
    for (const cursor of this.cursors) cursor.preserve(key, versions);
    const kept = versions.slice(keepFrom);
    if (kept.length === 0) {
      this.histories.delete(key);
      this.index.remove(key);
    } else {
      this.histories.set(key, kept);
    }
  }

  leaseGrant(request: Omit<LeaseGrantRequest, 'type'>): LeaseGrantResponse | ErrorResponse {
    if (request.ttlSeconds > LEASE_TTL_SECONDS_MAX) return kvError.leaseTtlTooLarge();
    let id = request.id;
    if (id === 0) {
      while (this.leases.has(this.nextLeaseId)) this.nextLeaseId++;
      id = this.nextLeaseId;
    }
    if (this.leases.has(id)) return kvError.leaseExists();
    assertInvariant(Number.isSafeInteger(id) && id > 0, `lease id ${id} must be a positive integer`);
    this.leases.set(id, { ttlSeconds: request.ttlSeconds, keys: new Set() });
    this.nextLeaseId = Math.max(this.nextLeaseId, id + 1);
    return { type: 'leaseGrant', header: { revision: this.currentRevision }, id, ttlSeconds: request.ttlSeconds };
  }

  /** Deletes the lease and, in one revision, every key attached to it. */
  leaseRevoke(id: number): LeaseRevokeResponse | ErrorResponse {
    const lease = this.leases.get(id);
    if (lease === undefined) return kvError.leaseNotFound();
    const keys = [...lease.keys].sort();
    const result = this.write(() => {
      for (const key of keys) this.deleteOne(key);
      return { type: 'deleteRange', header: { revision: 0 }, deleted: keys.length, prevKvs: [] };
    });
    assertInvariant(result.type !== 'error', `revoking lease ${id} failed`);
    this.leases.delete(id);
    return { type: 'leaseRevoke', header: { revision: this.currentRevision } };
  }

  lease(id: number): LeaseInfo | undefined {
    const lease = this.leases.get(id);
    return lease === undefined ? undefined : { id, ttlSeconds: lease.ttlSeconds, keys: [...lease.keys].sort() };
  }

  leaseIds(): number[] {
    return [...this.leases.keys()].sort((a, b) => a - b);
  }

  /** Events with revision >= `fromRevision`, in order (a view: do not mutate). */
  eventsFrom(fromRevision: number): LoggedEvent[] {
    return this.events.slice(lowerBoundEvents(this.events, fromRevision));
  }

  /** Position of the first event with revision >= `fromRevision`, for cursors. */
  eventCursor(fromRevision: number): { events: readonly LoggedEvent[]; at: number } {
    return { events: this.events, at: lowerBoundEvents(this.events, fromRevision) };
  }

  // ---- snapshot / restore ----

  /**
   * From now on, remember which keys change between snapshots, so a snapshot can hold only those (a delta,
   * `openSnapshotCursor` with `chain: { deltaAfter }`). Whatever changed before this call is unknown: the first
   * snapshot after it must be whole (`chain: 'full'`).
   */
  trackSnapshotChanges(): void {
    this.touched ??= new Set();
  }

  /**
   * A view of the store as it is now, to read in batches while writes and
   * compactions go on (see snapshot-cursor.ts). Costs one copy of the key list.
   * Close it when done, `abandon` it when its snapshot will not be used.
   *
   * With `chain` (after `trackSnapshotChanges`), the snapshot begins a new
   * link of a chain: the keys written since the previous one began start to
   * be counted afresh. 'full' reads every key; `deltaAfter` (the revision of
   * the chain's previous link) only the keys written since it began, each
   * with its versions since (see snapshot-cursor.ts and snapshot-codec.ts,
   * FORMAT_DELTA). Abandoning the cursor gives the written keys back, so the
   * next snapshot still holds them.
   */
  openSnapshotCursor(chain?: 'full' | { deltaAfter: number }): StoreSnapshotCursor {
    const header: StoreSnapshotHeader = {
      revision: this.currentRevision,
      compactRevision: this.compactedRevision,
      nextLeaseId: this.nextLeaseId,
      leases: [...this.leases].sort(([a], [b]) => a - b).map(([id, lease]) => [id, lease.ttlSeconds]),
    };
    let keys: string[];
    let taken: Set<string> | undefined;
    if (chain === undefined) {
      keys = this.index.all();
    } else {
      assertInvariant(this.touched !== undefined, 'a snapshot of a chain from a store that does not track its changes');
      taken = this.touched;
      this.touched = new Set();
      keys = chain === 'full' ? this.index.all() : [...taken].sort();
      // Writes in the txn being applied are not in `header.revision` yet: a cursor opens between applies.
      assertInvariant(chain === 'full' || chain.deltaAfter <= this.currentRevision, `a delta after revision ${chain === 'full' ? 0 : chain.deltaAfter}, beyond the store's ${this.currentRevision}`);
    }
    const cursor = new StoreSnapshotCursor(header, keys, { versionsOf: (key) => this.histories.get(key) }, (c, abandoned) => {
      this.cursors.delete(c);
      // Merged, not put back: keys changed since this cursor opened are in the new set already.
      if (abandoned && taken !== undefined) for (const key of taken) this.touched?.add(key);
    }, chain === undefined || chain === 'full' ? undefined : chain.deltaAfter);
    this.cursors.add(cursor);
    return cursor;
  }

  /** The whole state as plain data, at once (tests and small stores; replicas read a cursor in steps). */
  toSnapshotData(): StoreSnapshotData {
    const cursor = this.openSnapshotCursor();
    const keys = cursor.next(Number.POSITIVE_INFINITY);
    cursor.close();
    return { ...cursor.header, keys };
  }

  static fromSnapshotData(data: StoreSnapshotData): MvccStore {
    return MvccStore.fromSnapshotParts(data, [data.keys]);
  }

  /** Rebuilds a store from a snapshot's header and its keys, in ascending order, in any number of batches. */
  static fromSnapshotParts(header: StoreSnapshotHeader, batches: Iterable<readonly SnapshotKeyRow[]>): MvccStore {
    const builder = MvccStore.restoring(header);
    for (const batch of batches) builder.add(batch);
    return builder.build();
  }

  /**
   * A store rebuilt from a snapshot a batch at a time (`add` in as many turns as needed, then `build`). A
   * snapshot of a chain (snapshot-codec.ts) goes on with `delta` for each later link: its rows append to
   * the histories of their keys or replace them (see `SnapshotKeyRow`), its header replaces the first's.
   * Every history is compacted to the last header's compact revision once all are in.
   */
  static restoring(header: StoreSnapshotHeader): StoreRestore {
    const store = new MvccStore();
    let current = header;
    // Histories as the rows give them; indexed, attached to leases and replayed into events once all are in.
    const histories = new Map<string, Version[]>();
    let inDelta = false;
    let built = false;
    /** Where `finishStep` is in `histories`, once every segment is in. */
    let finishing: Iterator<[string, Version[]]> | undefined;
    const all: Array<{ version: Version; previous: KeyValue | null }> = [];
    const restore: StoreRestore = {
      add(batch: readonly SnapshotKeyRow[]): void {
        assertInvariant(!built && finishing === undefined, 'snapshot rows added after the store was finished');
        for (const [key, rows, replace] of batch) {
          const versions: Version[] = rows.map(([main, sub, kv]) => ({ main, sub, kv }));
          if (!inDelta) {
            assertInvariant(rows.length > 0, `key ${key} has no versions in the snapshot`);
            assertInvariant(!histories.has(key), `key ${key} appears twice in the snapshot`);
            histories.set(key, versions);
            continue;
          }
          const existing = replace === 1 ? undefined : histories.get(key);
          if (existing === undefined) {
            if (versions.length > 0) histories.set(key, versions);
            else histories.delete(key);
            continue;
          }
          assertInvariant(versions.length > 0 && versions[0]!.main > existing[existing.length - 1]!.main, `key ${key}: a delta's versions do not follow its history`);
          for (const version of versions) existing.push(version);
        }
      },
      delta(next: StoreSnapshotHeader & { baseRevision: number }): void {
        assertInvariant(!built && finishing === undefined, 'a delta added after the store was finished');
        assertInvariant(next.baseRevision === current.revision, `a delta on revision ${next.baseRevision} after a snapshot at revision ${current.revision}`);
        assertInvariant(next.revision >= current.revision && next.compactRevision >= current.compactRevision, 'a delta that goes back');
        current = next;
        inDelta = true;
      },
      finishStep(keysMax: number): boolean {
        assertInvariant(!built, 'a snapshot store finished after it was built');
        if (finishing === undefined) {
          // Every segment is in: the last header's state holds, and the rows become the store, a bounded number a step.
          store.currentRevision = current.revision;
          store.compactedRevision = current.compactRevision;
          store.nextLeaseId = current.nextLeaseId;
          for (const [id, ttlSeconds] of current.leases) store.leases.set(id, { ttlSeconds, keys: new Set() });
          finishing = histories.entries();
        }
        for (let done = 0; done < keysMax; done++) {
          const next = finishing.next();
          if (next.done === true) return true;
          const [key, stored] = next.value;
          // A snapshot taken while a compaction went in steps may still hold versions it drops: drop them here.
          const versions = stored.slice(keptFrom(stored, current.compactRevision));
          if (versions.length === 0) continue;
          store.histories.set(key, versions);
          store.index.insert(key);
          versions.forEach((version, i) => all.push({ version, previous: i > 0 ? versions[i - 1]!.kv : null }));
          const latest = versions[versions.length - 1]!.kv;
          if (latest !== null && latest.lease !== 0) {
            const lease = store.leases.get(latest.lease);
            assertInvariant(lease !== undefined, `key ${key} is attached to unknown lease ${latest.lease}`);
            lease.keys.add(key);
          }
        }
        return false;
      },
      build(): MvccStore {
        assertInvariant(!built, 'snapshot store built twice');
        restore.finishStep(Number.POSITIVE_INFINITY);
        built = true;
        histories.clear();
        all.sort((a, b) => a.version.main - b.version.main || a.version.sub - b.version.sub);
        store.events = all
          .filter(({ version }) => version.main >= store.compactedRevision && version.main > INITIAL_REVISION)
          .map(({ version, previous }) => ({ revision: version.main, sub: version.sub, event: eventOf(version, previous) }));
        return store;
      },
    };
    return restore;
  }

  // ---- internals ----

  private readRevisionProblem(revision: number): ErrorResponse | undefined {
    if (revision > this.currentRevision) return kvError.futureRevision();
    if (revision > 0 && revision < this.compactedRevision) return kvError.compacted(this.compactedRevision);
    return undefined;
  }

  /** The key's visible kv at `revision` (0: the latest, including a txn's own earlier writes). */
  private visible(key: string, revision: number): KeyValue | null {
    const versions = this.histories.get(key);
    if (versions === undefined) return null;
    if (revision === 0) return versions[versions.length - 1]!.kv;
    let lo = 0;
    let hi = versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (versions[mid]!.main <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : versions[lo - 1]!.kv;
  }

  private rangeAt(request: RangeRequest): RangeResponse {
    const revision = request.revision ?? 0;
    const limit = request.limit ?? 0;
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const key of this.index.range(request.key, request.rangeEnd)) {
      const kv = this.visible(key, revision);
      if (kv === null) continue;
      count++;
      if (request.countOnly === true || (limit > 0 && kvs.length >= limit)) continue;
      kvs.push(request.keysOnly === true ? { ...kv, value: '' } : kv);
    }
    return { type: 'range', header: { revision: this.currentRevision }, kvs, more: limit > 0 && count > limit, count };
  }

  /**
   * Runs `body` (an op, or a function for the store's own writes) as one revision: commits its writes together or
   * rolls all of them back on a TxnAbort. An op is executed as is: no closure per entry applied.
   */
  private write(body: RequestOp | (() => ResponseOp)): ApplyResponse {
    assertInvariant(this.pendingEvents.length === 0, 'writes do not nest');
    this.writeSub = 0;
    let response: ResponseOp;
    try {
      response = typeof body === 'function' ? body() : this.execute(body);
    } catch (error) {
      this.rollBack();
      if (error instanceof TxnAbort) return error.error;
      throw error;
    }
    if (this.pendingEvents.length > 0) {
      this.currentRevision++;
      const committed = this.pendingEvents;
      this.pendingEvents = [];
      for (const logged of committed) this.events.push(logged);
      for (const listener of this.listeners) listener(committed);
    }
    setHeaders(response, this.currentRevision);
    return response;
  }

  private execute(op: RequestOp): ResponseOp {
    switch (op.type) {
      case 'range': {
        const problem = this.readRevisionProblem(op.revision ?? 0);
        if (problem !== undefined) throw new TxnAbort(problem);
        return this.rangeAt(op);
      }
      case 'put':
        return this.executePut(op);
      case 'deleteRange':
        return this.executeDelete(op);
      case 'txn':
        return this.executeTxn(op);
    }
  }

  private executePut(op: PutRequest): PutResponse {
    if (op.key === '') throw new TxnAbort(kvError.emptyKey());
    const lease = op.lease ?? 0;
    if (lease !== 0 && !this.leases.has(lease)) throw new TxnAbort(kvError.leaseNotFound());
    const previous = this.visible(op.key, 0);
    const revision = this.currentRevision + 1;
    const kv: KeyValue = {
      // The key's string of the version before, when there is one: every version of a key then holds one copy of
      // it, not one decoded from each entry (a slice of that entry's decoded strings, which it would keep alive).
      key: previous === null ? op.key : previous.key,
      value: op.value,
      createRevision: previous === null ? revision : previous.createRevision,
      modRevision: revision,
      version: previous === null ? 1 : previous.version + 1,
      lease,
    };
    this.pushVersion(op.key, kv, previous);
    return { type: 'put', header: { revision: 0 }, ...(op.prevKv === true && previous !== null ? { prevKv: previous } : {}) };
  }

  private executeDelete(op: DeleteRangeRequest): DeleteRangeResponse {
    if (op.key === '') throw new TxnAbort(kvError.emptyKey());
    const prevKvs: KeyValue[] = [];
    let deleted = 0;
    for (const key of [...this.index.range(op.key, op.rangeEnd)]) {
      const previous = this.deleteOne(key);
      if (previous === null) continue;
      deleted++;
      if (op.prevKv === true) prevKvs.push(previous);
    }
    return { type: 'deleteRange', header: { revision: 0 }, deleted, prevKvs };
  }

  private deleteOne(key: string): KeyValue | null {
    const previous = this.visible(key, 0);
    if (previous === null) return null;
    this.pushVersion(key, null, previous);
    return previous;
  }

  private pushVersion(key: string, kv: KeyValue | null, previous: KeyValue | null): void {
    const version: Version = { main: this.currentRevision + 1, sub: this.writeSub++, kv };
    // A write rolled back leaves the key here: a delta then holds its history unchanged, which restores the same.
    this.touched?.add(key);
    const versions = this.histories.get(key);
    if (versions === undefined) {
      this.histories.set(key, [version]);
      this.index.insert(key);
    } else {
      versions.push(version);
    }
    this.moveLeaseAttachment(key, previous?.lease ?? 0, kv?.lease ?? 0);
    this.pendingEvents.push({ revision: version.main, sub: version.sub, event: eventOf(version, previous) });
  }

  private moveLeaseAttachment(key: string, from: number, to: number): void {
    if (from === to) return;
    if (from !== 0) this.leases.get(from)?.keys.delete(key);
    if (to !== 0) this.leases.get(to)?.keys.add(key);
  }

  /**
   * Undoes the writes of the txn in progress, newest first, from its events: each pushed one version of its key
   * (a history left empty was created by it) and moved the key's lease attachment from the previous value's
   * lease to the new one's.
   */
  private rollBack(): void {
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (let i = events.length - 1; i >= 0; i--) {
      const { event } = events[i]!;
      const key = event.kv.key;
      const versions = this.histories.get(key);
      assertInvariant(versions !== undefined && versions.length > 0, `rolling back a write of ${key} that left no version`);
      versions.pop();
      if (versions.length === 0) {
        this.histories.delete(key);
        this.index.remove(key);
      }
      const written = event.type === 'put' ? event.kv.lease : 0;
      this.moveLeaseAttachment(key, written, event.prevKv?.lease ?? 0);
    }
  }

  private executeTxn(op: TxnRequest): TxnResponse {
    if (op.success.length > TXN_OPS_MAX || op.failure.length > TXN_OPS_MAX) throw new TxnAbort(kvError.tooManyOps());
    checkNoDuplicatePuts(op);
    let succeeded = true;
    for (const compare of op.compare) {
      if (this.compareHolds(compare)) continue;
      succeeded = false;
      break;
    }
    const branch = succeeded ? op.success : op.failure;
    const responses = branch.map((child) => this.execute(child));
    return { type: 'txn', header: { revision: 0 }, succeeded, responses };
  }

  private compareHolds(compare: Compare): boolean {
    // One key (every compare of the API server's compare-and-swap): no array and no closure per entry applied.
    if (compare.rangeEnd === undefined || compare.rangeEnd === '') return this.compareHoldsFor(compare, compare.key);
    for (const key of [...this.index.range(compare.key, compare.rangeEnd)]) if (!this.compareHoldsFor(compare, key)) return false;
    return true;
  }

  private compareHoldsFor(compare: Compare, key: string): boolean {
    const kv = this.visible(key, 0);
    if (compare.target === 'value') {
      if (kv === null) return false;
      return holds(compareOrder(kv.value, compare.value), compare.result);
    }
    const actual =
      kv === null
        ? 0
        : compare.target === 'version'
          ? kv.version
          : compare.target === 'createRevision'
            ? kv.createRevision
            : compare.target === 'modRevision'
              ? kv.modRevision
              : kv.lease;
    return holds(compareOrder(actual, compare.value), compare.result);
  }
}

/** See `MvccStore.restoring`. */
export interface StoreRestore {
  add(batch: readonly SnapshotKeyRow[]): void;
  /** The next link of a chain begins: `add` then gives its rows. */
  delta(header: StoreSnapshotHeader & { baseRevision: number }): void;
  /**
   * Once every row is in: turns at most `keysMax` more keys' rows into the store (index, leases, watch log);
   * true once none is left. Optional: `build` finishes what is left, then sorts the watch log.
   */
  finishStep(keysMax: number): boolean;
  build(): MvccStore;
}

export interface StoreSnapshotData extends StoreSnapshotHeader {
  keys: SnapshotKeyRow[];
}

function eventOf(version: Version, previous: KeyValue | null): Event {
  // One object either way (a spread copy of a first one was garbage for every key written, on every replica).
  if (version.kv === null) return previous === null ? { type: 'delete', kv: tombstoneKv('', version.main) } : { type: 'delete', kv: tombstoneKv(previous.key, version.main), prevKv: previous };
  return previous === null ? { type: 'put', kv: version.kv } : { type: 'put', kv: version.kv, prevKv: previous };
}

function compareOrder<T extends string | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function holds(order: number, result: Compare['result']): boolean {
  switch (result) {
    case 'equal':
      return order === 0;
    case 'notEqual':
      return order !== 0;
    case 'greater':
      return order > 0;
    case 'less':
      return order < 0;
  }
}

/** etcd rejects a txn branch that puts the same key twice (or puts and deletes it): the result would depend on op order. */
function checkNoDuplicatePuts(op: TxnRequest): void {
  checkBranchPuts(op.success);
  checkBranchPuts(op.failure);
}

function checkBranchPuts(branch: TxnRequest['success']): void {
  // Most branches (an API server's compare-and-swap) hold one put and no delete: nothing can clash.
  let writes = 0;
  for (const child of branch) if (child.type === 'put' || child.type === 'deleteRange') writes++;
  if (writes < 2) return;
  const puts = new Set<string>();
  for (const child of branch) {
    if (child.type !== 'put') continue;
    if (puts.has(child.key)) throw new TxnAbort(kvError.duplicateKey());
    puts.add(child.key);
  }
  for (const child of branch) {
    if (child.type !== 'deleteRange') continue;
    for (const key of puts) {
      const inRange = child.rangeEnd === undefined || child.rangeEnd === '' ? key === child.key : key >= child.key && (child.rangeEnd === '\0' || key < child.rangeEnd);
      if (inRange) throw new TxnAbort(kvError.duplicateKey());
    }
  }
}

function setHeaders(response: ResponseOp, revision: number): void {
  response.header.revision = revision;
  if (response.type === 'txn') for (const child of response.responses) setHeaders(child, revision);
}

/**
 * The index of the first version of `versions` a read at `revision` or later can see: the newest at or
 * below `revision`, or the one after it when that is a tombstone (0: nothing to drop).
 */
function keptFrom(versions: readonly Version[], revision: number): number {
  for (let i = versions.length - 1; i >= 0; i--) {
    if (versions[i]!.main <= revision) return versions[i]!.kv === null ? i + 1 : i;
  }
  return 0;
}

function lowerBoundEvents(events: readonly LoggedEvent[], revision: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.revision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
