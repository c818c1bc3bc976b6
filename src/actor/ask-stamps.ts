/**
 * A diagnostic: where a sampled store txn's time goes, from the asker's
 * thread (the API server's) to the store leader's and back. On with
 * KUBETHREADS_TXN_STAMPS=DIR on the threaded runtime; off (undefined, one
 * test per envelope) otherwise, and never in the simulated runtime, whose
 * traces it must not touch: it only reads envelopes and the clock, it sends
 * nothing and changes no message.
 *
 * Sampled: every txn on a ConfigMap (the density probe's mutating calls)
 * and one in SAMPLE_EVERY of the rest (by correlation id, so both threads
 * pick the same asks without telling each other). Each thread stamps what it
 * sees with `performance.timeOrigin + performance.now()` (one clock for
 * every thread of the process, sub-millisecond) and appends its finished
 * records to DIR/stamps-PID-THREAD.jsonl every second;
 * `scripts/txn-stamps.mjs DIR` joins the two halves by asker and
 * correlation id and splits each txn's time into phases.
 *
 * The asker's half: `sent` (routed), `flushed` (its frame encoded and
 * posted: the outbox wait), `replyRead` (the reply's frame taken from the
 * ring or port), `settled` (the reply handed to the ask). The leader's half:
 * `read` (the request's frame taken), `delivered` (handed to the replica's
 * handler), `proposed`, `committed` (its entry in a Ready's committed
 * entries), `applied` (the proposal answered), `replyRouted`, `replyFlushed`.
 *
 * Beside them every store replica writes its Raft steps, unsampled (a few thousand lines a replica a run):
 * `handed` and `durable` (a Ready's entries first..last given to the WAL, and on disk), `appRecv` (a follower
 * stepped an append of first..last from `peer`), `ackStep` (the leader stepped `peer`'s acknowledgement of
 * `last`), `commitAdv` (the leader's commit index moved to `last`). `txn-stamps.mjs --commit` splits the
 * commit phase with them: the leader's own write, the first follower's receipt, write and acknowledgement,
 * and the leader's wait from its commit index to the Ready that applies the entry.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Envelope } from './protocol.js';

/** One in this many txns that are not the probe's is stamped. */
export const ASK_STAMPS_SAMPLE_EVERY = 50;
const WRITE_EVERY_MS = 1000;
/** A record unfinished this long (an ask that timed out, a request another replica answered) is dropped. */
const STALE_MS = 60_000;

export type StampPoint =
  | 'sent' | 'flushed' | 'replyRead' | 'settled'
  | 'read' | 'delivered' | 'proposed' | 'committed' | 'applied' | 'replyRouted' | 'replyFlushed';

/** A store replica's Raft step (see the module comment). */
export type RaftStampEvent = 'handed' | 'durable' | 'appRecv' | 'ackStep' | 'commitAdv';

interface RaftStamp {
  raft: RaftStampEvent;
  replica: string;
  first: number;
  last: number;
  peer?: string;
  t: number;
}

interface StampRecord {
  key: string;
  /** The leader's half: the replica that proposed it. */
  replica?: string;
  probe: boolean;
  /** Which half this thread saw: the asker's or the leader's. */
  side: 'asker' | 'leader';
  stamps: Partial<Record<StampPoint, number>>;
  index?: number;
}

function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Whether a `kv` ask is a txn to stamp, and whether it is on a ConfigMap. */
function sampledTxn(envelope: Envelope): { probe: boolean } | undefined {
  if (envelope.type !== 'kv' || envelope.corr === 0) return undefined;
  const body = envelope.body as { type?: unknown; compare?: readonly { key?: unknown }[] } | null;
  if (body === null || typeof body !== 'object' || body.type !== 'txn') return undefined;
  const key = body.compare?.[0]?.key;
  const probe = typeof key === 'string' && key.startsWith('/registry/configmaps/');
  return probe || envelope.corr % ASK_STAMPS_SAMPLE_EVERY === 0 ? { probe } : undefined;
}

export class AskStamps {
  private readonly records = new Map<string, StampRecord>();
  /** Envelopes waiting in an outbox whose posting is stamped. */
  private readonly outgoing = new WeakMap<Envelope, StampRecord>();
  /** The leader's records by log index, from proposal until applied. */
  private readonly byIndex = new Map<number, StampRecord>();
  /** The record whose request the replica's handler is running now (set around its delivery). */
  private current: StampRecord | undefined;
  private readonly file: string;

  constructor(dir: string, threadId: number) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `stamps-${process.pid}-${threadId}.jsonl`);
    setInterval(() => this.write(), WRITE_EVERY_MS).unref();
  }

  /** The router routed an envelope from this thread. */
  routed(envelope: Envelope, isReply: boolean): void {
    if (isReply) {
      const record = this.records.get(`${envelope.to}|${envelope.corr}`);
      if (record === undefined || record.side !== 'leader') return;
      record.stamps.replyRouted = wallMs();
      this.outgoing.set(envelope, record);
      return;
    }
    const sampled = sampledTxn(envelope);
    if (sampled === undefined) return;
    const record: StampRecord = { key: `${envelope.from}|${envelope.corr}`, probe: sampled.probe, side: 'asker', stamps: { sent: wallMs() } };
    this.records.set(record.key, record);
    this.outgoing.set(envelope, record);
  }

  /** A frame with these envelopes was posted. */
  flushed(batch: readonly Envelope[]): void {
    let at: number | undefined;
    for (const envelope of batch) {
      const record = this.outgoing.get(envelope);
      if (record === undefined) continue;
      at ??= wallMs();
      if (record.side === 'asker') record.stamps.flushed = at;
      else record.stamps.replyFlushed = at;
    }
  }

  /** An envelope decoded from a frame taken at `readMs`, about to be delivered here. */
  arrived(envelope: Envelope, readMs: number, isReply: boolean): StampRecord | undefined {
    if (isReply) {
      const record = this.records.get(`${envelope.to}|${envelope.corr}`);
      if (record === undefined || record.side !== 'asker') return undefined;
      record.stamps.replyRead = readMs;
      return record;
    }
    const sampled = sampledTxn(envelope);
    if (sampled === undefined) return undefined;
    const record: StampRecord = { key: `${envelope.from}|${envelope.corr}`, probe: sampled.probe, side: 'leader', stamps: { read: readMs } };
    this.records.set(record.key, record);
    return record;
  }

  /** Around the delivery of an arrived envelope: the reply settled, or the request handed to its handler. */
  delivering(record: StampRecord | undefined): void {
    if (record === undefined) return;
    if (record.side === 'asker') record.stamps.settled = wallMs();
    else {
      record.stamps.delivered = wallMs();
      this.current = record;
    }
  }

  delivered(): void {
    this.current = undefined;
  }

  /** Raft steps of a replica, every one (see the module comment). */
  private readonly raftLines: string[] = [];

  /** A replica's Raft step over the entries first..last. */
  raft(raft: RaftStampEvent, replica: string, first: number, last: number, peer?: string): void {
    const stamp: RaftStamp = { raft, replica, first, last, t: wallMs(), ...(peer === undefined ? {} : { peer }) };
    this.raftLines.push(JSON.stringify(stamp));
  }

  /** The replica `replica` proposed the request being delivered now at `index`. */
  proposed(index: number, replica?: string): void {
    const record = this.current;
    if (record === undefined) return;
    record.stamps.proposed = wallMs();
    record.index = index;
    if (replica !== undefined) record.replica = replica;
    this.byIndex.set(index, record);
  }

  /** A Ready's committed entries, first to last index, about to be applied. */
  committed(first: number, last: number): void {
    if (this.byIndex.size === 0) return;
    let at: number | undefined;
    for (const [index, record] of this.byIndex) {
      if (index < first || index > last || record.stamps.committed !== undefined) continue;
      record.stamps.committed = at ??= wallMs();
    }
  }

  applied(index: number): void {
    const record = this.byIndex.get(index);
    if (record === undefined) return;
    this.byIndex.delete(index);
    record.stamps.applied = wallMs();
  }

  /** Appends the finished records to the file (every second; tests call it). */
  write(): void {
    const now = wallMs();
    const lines: string[] = this.raftLines.splice(0);
    for (const [key, record] of this.records) {
      const done = record.side === 'asker' ? record.stamps.settled !== undefined : record.stamps.replyFlushed !== undefined;
      const started = record.stamps.sent ?? record.stamps.read ?? now;
      if (!done && now - started < STALE_MS) continue;
      this.records.delete(key);
      if (record.index !== undefined) this.byIndex.delete(record.index);
      if (done) lines.push(JSON.stringify(record));
    }
    if (lines.length > 0) appendFileSync(this.file, `${lines.join('\n')}\n`);
  }
}

let stamps: AskStamps | undefined;

/** The thread's stamps if KUBETHREADS_TXN_STAMPS names a directory (threaded runtime), else undefined. */
export function startAskStamps(threadId: number): AskStamps | undefined {
  const dir = process.env.KUBETHREADS_TXN_STAMPS;
  if (dir === undefined || dir === '') return undefined;
  return (stamps ??= new AskStamps(dir, threadId));
}

/** For the replica's hooks: the thread's stamps, if on. */
export function askStamps(): AskStamps | undefined {
  return stamps;
}
