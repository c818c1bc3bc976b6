/**
 * A Raft snapshot sent to a lagging follower in chunks, with flow control,
 * instead of one message (issue #22 item 2), as etcd streams snapshots over
 * HTTP beside its Raft messages rather than in them.
 *
 * One message of a gigabyte held the leader's thread while it was encoded and
 * copied to the follower's, and the actor transport has no notion of a
 * message too large to send. Here the sender keeps at most `window` chunks
 * unacknowledged; the receiver copies each chunk into a buffer of the
 * snapshot's size, acknowledges it, and steps the whole `msgSnap` into Raft
 * once the last one is in. Chunks out of order or repeated are ignored (the
 * acknowledgement says how far it got); a sender that hears nothing for
 * `resendAfterTicks` goes back to the last acknowledged chunk (go-back-N),
 * and gives the transfer up after `abandonAfterTicks` — Raft's own retry
 * (a progress stuck in snapshot state for an election timeout) then starts a
 * new one. Raft re-sending the snapshot that is already on its way changes
 * nothing.
 *
 * Pure: time is the caller's tick count, sending is a callback.
 */
import type { Message as RaftMessage } from '../../raft/protocol.js';

type SnapMessage = Extract<RaftMessage, { type: 'msgSnap' }>;

/** A `msgSnap` without its data: what the first chunk carries. */
export type SnapHeader = Omit<SnapMessage, 'snapshot'> & { snapshot: Omit<SnapMessage['snapshot'], 'data'> };

export interface SnapshotChunk {
  /** Names the transfer: sender, term and snapshot index. */
  transfer: string;
  seq: number;
  offset: number;
  total: number;
  bytes: Uint8Array;
  /** On every chunk (it is small), so a receiver that missed the first can still tell what it receives. */
  header: SnapHeader;
}

export interface SnapshotChunkAck {
  transfer: string;
  /** Every chunk below this one is in. */
  next: number;
}

export interface SnapshotTransferOptions {
  chunkBytes: number;
  window: number;
  resendAfterTicks: number;
  abandonAfterTicks: number;
}

/** 4 MiB chunks, 4 in flight: a few milliseconds of copying per chunk, 16 MiB in the follower's mailbox at most. */
export const SNAPSHOT_TRANSFER_DEFAULTS: SnapshotTransferOptions = { chunkBytes: 4 << 20, window: 4, resendAfterTicks: 20, abandonAfterTicks: 300 };

/** A snapshot's bytes, read a range at a time: in memory, or from its file. */
export interface SnapshotSource {
  readonly byteLength: number;
  /** Bytes [offset, offset + length), or undefined when they can no longer be read (the file was purged). */
  read(offset: number, length: number): Uint8Array | undefined;
}

export function bytesSource(data: Uint8Array): SnapshotSource {
  return { byteLength: data.byteLength, read: (offset, length) => data.subarray(offset, offset + length) };
}

interface Outgoing {
  transfer: string;
  header: SnapHeader;
  data: SnapshotSource;
  /** Chunks below `acked` are in; below `sent` are on their way. */
  acked: number;
  sent: number;
  chunks: number;
  /** Last acknowledgement that moved the transfer (or its start): silence since then abandons it. */
  lastProgressTick: number;
  /** Last (re)send: unanswered since then, the window is sent again. */
  lastSendTick: number;
}

export class SnapshotSender {
  private readonly outgoing = new Map<number, Outgoing>();

  constructor(
    private readonly send: (to: number, chunk: SnapshotChunk) => void,
    private readonly options: SnapshotTransferOptions = SNAPSHOT_TRANSFER_DEFAULTS,
  ) {}

  /** Whether a snapshot this large goes in chunks; smaller ones go as an ordinary Raft message. */
  chunked(msg: SnapMessage): boolean {
    return msg.snapshot.data.byteLength > this.options.chunkBytes;
  }

  /**
   * Starts sending `msg` unless the same snapshot is already on its way to
   * that follower. `source` gives its bytes when they are not in the message
   * (a snapshot kept only in its file).
   */
  start(msg: SnapMessage, tick: number, source: SnapshotSource = bytesSource(msg.snapshot.data)): void {
    const transfer = `${msg.from}-${msg.term}-${msg.snapshot.metadata.index}`;
    if (this.outgoing.get(msg.to)?.transfer === transfer) return;
    const { data: _bytesGoInChunks, ...metadataOnly } = msg.snapshot;
    const out: Outgoing = {
      transfer, header: { ...msg, snapshot: metadataOnly }, data: source, acked: 0, sent: 0,
      chunks: Math.max(1, Math.ceil(source.byteLength / this.options.chunkBytes)), lastProgressTick: tick, lastSendTick: tick,
    };
    this.outgoing.set(msg.to, out);
    this.fill(msg.to, out);
  }

  onAck(from: number, ack: SnapshotChunkAck, tick: number): void {
    const out = this.outgoing.get(from);
    if (out === undefined || out.transfer !== ack.transfer || ack.next === out.acked) return;
    if (ack.next < out.acked) {
      // The follower has less than it had acknowledged: it restarted and lost the partial transfer. Go back to where it is.
      out.acked = ack.next;
      out.sent = ack.next;
    } else {
      out.acked = Math.min(ack.next, out.chunks);
      out.sent = Math.max(out.sent, out.acked);
    }
    out.lastProgressTick = tick;
    out.lastSendTick = tick;
    if (out.acked >= out.chunks) {
      this.outgoing.delete(from);
      return;
    }
    this.fill(from, out);
  }

  /** Resends what went unanswered, gives up on silent followers. */
  onTick(tick: number): void {
    for (const [to, out] of this.outgoing) {
      if (tick - out.lastProgressTick >= this.options.abandonAfterTicks) {
        this.outgoing.delete(to);
      } else if (tick - out.lastSendTick >= this.options.resendAfterTicks && out.sent > out.acked) {
        out.sent = out.acked;
        out.lastSendTick = tick;
        this.fill(to, out);
      }
    }
  }

  /** Transfers in progress, by follower id (for status and tests). */
  inFlight(): Array<{ to: number; transfer: string; acked: number; chunks: number }> {
    return [...this.outgoing].map(([to, o]) => ({ to, transfer: o.transfer, acked: o.acked, chunks: o.chunks }));
  }

  /** Forget everything (this replica stopped leading). */
  clear(): void {
    this.outgoing.clear();
  }

  private fill(to: number, out: Outgoing): void {
    const { chunkBytes, window } = this.options;
    while (out.sent < out.chunks && out.sent - out.acked < window) {
      const offset = out.sent * chunkBytes;
      const bytes = out.data.read(offset, Math.min(out.data.byteLength, offset + chunkBytes) - offset);
      if (bytes === undefined) {
        // Its file was purged for a newer snapshot: Raft's retry sends that one.
        this.outgoing.delete(to);
        return;
      }
      this.send(to, { transfer: out.transfer, seq: out.sent, offset, total: out.data.byteLength, bytes, header: out.header });
      out.sent++;
    }
  }
}

interface Incoming {
  transfer: string;
  buffer: Uint8Array;
  next: number;
  received: number;
  header: SnapHeader;
}

export class SnapshotReceiver {
  private readonly incoming = new Map<number, Incoming>();
  /** Per sender, the last transfer completed: its chunks, resent because an acknowledgement was lost, are answered as all in. */
  private readonly completed = new Map<number, { transfer: string; chunks: number }>();

  /**
   * Takes a chunk from `from`. Returns the acknowledgement to send back and,
   * once the last chunk is in, the whole `msgSnap` to step into Raft. A chunk
   * of another snapshot from the same sender replaces the one in progress.
   */
  onChunk(from: number, chunk: SnapshotChunk): { ack: SnapshotChunkAck; accepted?: Uint8Array; complete?: SnapMessage } {
    const done = this.completed.get(from);
    if (done?.transfer === chunk.transfer) return { ack: { transfer: chunk.transfer, next: done.chunks } };
    let inc = this.incoming.get(from);
    if (inc === undefined || inc.transfer !== chunk.transfer) {
      if (chunk.seq !== 0) return { ack: { transfer: chunk.transfer, next: 0 } };
      inc = { transfer: chunk.transfer, buffer: new Uint8Array(chunk.total), next: 0, received: 0, header: chunk.header };
      this.incoming.set(from, inc);
    }
    const fits = chunk.offset === inc.received && chunk.offset + chunk.bytes.byteLength <= inc.buffer.byteLength && chunk.total === inc.buffer.byteLength;
    if (chunk.seq !== inc.next || !fits) return { ack: { transfer: inc.transfer, next: inc.next } };
    inc.buffer.set(chunk.bytes, chunk.offset);
    inc.received += chunk.bytes.byteLength;
    inc.next++;
    const ack = { transfer: inc.transfer, next: inc.next };
    // `accepted`: the bytes that just extended the snapshot, in order (the caller writes them to its file as they come).
    if (inc.received < inc.buffer.byteLength) return { ack, accepted: chunk.bytes };
    this.incoming.delete(from);
    this.completed.set(from, { transfer: inc.transfer, chunks: inc.next });
    return { ack, accepted: chunk.bytes, complete: { ...inc.header, snapshot: { ...inc.header.snapshot, data: inc.buffer } } };
  }
}
