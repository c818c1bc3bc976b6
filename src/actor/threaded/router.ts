import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ActorRef, AskOptions } from '../behaviour.js';
import { ActorCell, AskRegistry, type Cancel } from '../cell.js';
import { FrameDecoder, FrameEncoder } from '../codec.js';
import { FRAME_CENSUS_PRINT_EVERY_MS, FrameCensus } from './frame-census.js';
import { startAskStamps } from '../ask-stamps.js';
import { FrameRing, recordBytes } from './frame-ring.js';
import { ActorNotFoundError, ActorUnavailableError, toErrorValue } from '../errors.js';
import { LinkFaultTable } from '../faults.js';
import type { Prng } from '../prng.js';
import { REPLY_TYPE, type Envelope, type Message, type ReplyBody } from '../protocol.js';
import type { ThreadStats } from '../system.js';

/** The host (main thread) is mesh member 0. */
export const HOST_THREAD = 0;

/**
 * Bound on envelopes per frame: big enough to amortise postMessage (the win
 * batching buys), small enough that one frame does not stall a receiver.
 */
export const FRAME_ENVELOPES_MAX = 1024;

/**
 * A directed pair's frame ring starts this big (created at the pair's first
 * frame: most pairs of a cluster's threads carry little) and doubles when a
 * frame does not fit, up to FRAME_RING_BYTES_MAX.
 */
export const FRAME_RING_BYTES_MIN = 64 * 1024;
/**
 * The largest ring: bounds the shared memory of the busiest pairs (an API
 * server's watch fan-out, a store leader's appends). A frame that does not fit
 * in a ring this big, or in what a backlogged receiver left free of it, goes
 * as today, a transferred buffer (counted in `framesSentTransferred`).
 */
export const FRAME_RING_BYTES_MAX = 4 * 1024 * 1024;
/** A ring grown for a frame is made to hold at least this many frames of its size. */
const FRAME_RING_RECORDS_MIN = 4;

/** What crosses a pair's MessagePort (frame-ring.ts says why most frames do not). */
type PortMessage =
  /** A frame that did not fit in the ring, transferred. */
  | Uint8Array
  /** The ring has records and its reader may be idle. */
  | typeof RING_WAKE
  /** The sender's ring for this direction from now on; the one before is read to its end first. */
  | { ring: SharedArrayBuffer };
const RING_WAKE = 0;

export interface RouterOptions {
  /** Ring sizes (tests make them small); `ringBytesMax: 0` sends every frame as a transferred buffer, as before rings. */
  ringBytesMin?: number;
  ringBytesMax?: number;
}

/** One connected thread: the port, and the rings each way. */
interface Link {
  readonly threadId: number;
  readonly port: MessagePort;
  readonly decoder: FrameDecoder;
  /** Where this thread writes frames to the peer (created at the first frame). */
  out: FrameRing | undefined;
  /** Frames sent to the peer by the port: a ring record waits for the ones sent before it. */
  portFramesSent: number;
  /** Where the peer writes frames to this thread (the peer announces it on the port). */
  in: FrameRing | undefined;
  portFramesRead: number;
}

/** A hosted actor's slot in its thread's router. */
export interface LocalActor {
  cell: ActorCell | undefined;
  paused: boolean;
  held: Envelope[];
}

/**
 * One per thread (the host included): routes envelopes to local cells or to
 * the thread that hosts the target, batching everything sent to one thread
 * in one turn into one frame on a direct MessagePort. The main thread is not
 * on this path except for its own actors' traffic.
 */
export class Router {
  readonly asks: AskRegistry;
  readonly links = new LinkFaultTable();
  readonly local = new Map<string, LocalActor>();
  private readonly directory = new Map<string, number>();
  private readonly peers = new Map<number, Link>();
  private readonly outboxes = new Map<number, Envelope[]>();
  private readonly encoder = new FrameEncoder();
  /** Where a ring's record is copied to be decoded (a ring is shared memory, which TextDecoder refuses; reused, so no buffer per frame). */
  private readonly scratch = { bytes: new Uint8Array(FRAME_RING_BYTES_MIN) };
  private readonly ringBytesMin: number;
  private readonly ringBytesMax: number;
  private readonly localQueue: Envelope[] = [];
  /** Actors between incarnations (killed or crashed, not yet running again), with why: asks to them fail here, at once. */
  private readonly unavailable = new Map<string, string>();
  private flushScheduled = false;
  /** ActorContext.readFirstFrom, per local actor: the actors whose threads' frames this thread reads first. */
  private readonly readFirst = new Map<string, readonly string[]>();
  /** Threads with a reply in their outbox this turn: posted first (an asker waits on each; a raft peer's frame is rarely what someone waits on). */
  private readonly replyThreads = new Set<number>();
  /** KUBETHREADS_FRAME_CENSUS=1: what this thread's frames cost to encode, printed to stderr (frame-census.ts). */
  private readonly census = process.env.KUBETHREADS_FRAME_CENSUS === '1' ? new FrameCensus() : undefined;
  /** KUBETHREADS_TXN_STAMPS=DIR: sampled store txns stamped on their way (ask-stamps.ts). */
  private readonly stamps: ReturnType<typeof startAskStamps>;
  readonly stats: Omit<ThreadStats, 'thread' | 'actors'> & Required<Pick<ThreadStats, 'framesSentViaRing' | 'framesSentTransferred' | 'ringWakesSent' | 'ringBytes'>> = {
    dropped: 0,
    decodeFailures: 0,
    framesReceived: 0,
    envelopesReceived: 0,
    framesSentViaRing: 0,
    framesSentTransferred: 0,
    ringWakesSent: 0,
    ringBytes: 0,
  };

  constructor(
    readonly threadId: number,
    private readonly log: Logger,
    private readonly linkRandom: Prng,
    /** Where envelopes for names this thread does not know go (the host forwards them); undefined on the host. */
    private readonly fallbackThread: number | undefined,
    options: RouterOptions = {},
  ) {
    // KUBETHREADS_FRAME_RINGS=0: every frame a transferred buffer, as before rings (for A/B measurements in one build).
    const ringsOff = process.env.KUBETHREADS_FRAME_RINGS === '0';
    this.ringBytesMin = options.ringBytesMin ?? FRAME_RING_BYTES_MIN;
    this.ringBytesMax = ringsOff ? 0 : (options.ringBytesMax ?? FRAME_RING_BYTES_MAX);
    this.stamps = startAskStamps(threadId);
    this.asks = new AskRegistry((ms, fn) => this.scheduleAskExpiry(ms, fn));
    if (this.census !== undefined) {
      const census = this.census;
      setInterval(() => process.stderr.write(`${census.line([...this.local.keys()].slice(0, 3).join(','))}\n`), FRAME_CENSUS_PRINT_EVERY_MS).unref();
    }
  }

  /**
   * An ask's deadline, judged after the messages already waiting for this
   * thread are delivered. Node runs expired timers before it reads the ports:
   * a thread busy for longer than an ask's timeout (a long turn, a GC pause,
   * no core) would fail the ask although its reply arrived in time and waits
   * in the port, and a store client would take a live replica for a silent
   * one — every store call in flight at once, each an "outcome unknown" error
   * and a retry. The check phase (setImmediate) follows the poll phase that
   * delivers them.
   */
  private scheduleAskExpiry(ms: number, fn: () => void): Cancel {
    let immediate: ReturnType<typeof setImmediate> | undefined;
    const timer = setTimeout(() => {
      immediate = setImmediate(fn);
    }, Math.max(0, ms));
    return () => {
      clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    };
  }

  schedule(ms: number, fn: () => void): Cancel {
    const handle = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(handle);
  }

  /**
   * A direct channel to `threadId`, replacing any before it: fresh rings both
   * ways, and nothing that arrives on the old port is read.
   */
  connect(threadId: number, port: MessagePort): void {
    this.dropLink(threadId);
    const link: Link = { threadId, port, decoder: new FrameDecoder(), out: undefined, portFramesSent: 0, in: undefined, portFramesRead: 0 };
    this.peers.set(threadId, link);
    port.on('message', (message: unknown) => {
      if (this.peers.get(threadId) === link) this.onPortMessage(link, message as PortMessage);
    });
    port.on('messageerror', (error: Error) => {
      if (this.peers.get(threadId) !== link) return;
      this.stats.decodeFailures++;
      this.log.warn({ fromThread: threadId, err: error }, 'dropped a frame that could not be deserialized');
      // Only a frame can fail to deserialize (wakes and ring notices are a number and a SharedArrayBuffer):
      // count it as read, or the ring records sent after it would wait for it forever.
      link.portFramesRead++;
      this.drainRing(link);
    });
  }

  /** The thread is gone: its port and both rings are dropped (a restarted thread connects with new ones). */
  disconnect(threadId: number): void {
    this.dropLink(threadId);
    this.outboxes.delete(threadId);
  }

  private dropLink(threadId: number): void {
    const link = this.peers.get(threadId);
    if (link === undefined) return;
    link.port.close();
    this.stats.ringBytes -= link.out?.capacityBytes ?? 0;
    this.peers.delete(threadId);
  }

  setDirectory(updates: readonly (readonly [string, number | null])[]): void {
    for (const [name, threadId] of updates) {
      if (threadId === null) this.directory.delete(name);
      else this.directory.set(name, threadId);
    }
  }

  setUnavailable(name: string, reason: string | null): void {
    if (reason === null) this.unavailable.delete(name);
    else this.unavailable.set(name, reason);
  }

  isUnavailable(name: string): boolean {
    return this.unavailable.has(name);
  }

  threadOf(name: string): number | undefined {
    return this.directory.get(name);
  }

  /** Send an envelope on its way, applying link faults at the sender as a lossy network would. */
  route(envelope: Envelope): void {
    if (this.stamps !== undefined && envelope.corr !== 0) this.stamps.routed(envelope, envelope.type === REPLY_TYPE);
    if (envelope.corr !== 0 && envelope.type !== REPLY_TYPE && this.unavailable.size > 0) {
      // A restarting actor cannot answer until its new incarnation runs (a thread to start, a log to replay):
      // the asker learns it now rather than at its timeout. Tells still go: the new incarnation may get them.
      const reason = this.unavailable.get(envelope.to);
      if (reason !== undefined) {
        this.undeliverable(envelope, new ActorUnavailableError(envelope.to, reason));
        return;
      }
    }
    if (this.links.empty) {
      this.forward(envelope);
      return;
    }
    const verdict = this.links.decide(envelope.from, envelope.to, () => this.linkRandom.next(), envelope.corr !== 0 && envelope.type !== REPLY_TYPE);
    if (verdict.delaysMs.length === 0) {
      this.stats.dropped++;
      return;
    }
    for (const delayMs of verdict.delaysMs) {
      if (delayMs <= 0) this.forward(envelope);
      else setTimeout(() => this.forward(envelope), delayMs);
    }
  }

  /** Past the faults: to a local cell (asynchronously, never re-entrantly) or into the target thread's outbox. */
  forward(envelope: Envelope): void {
    const target = this.directory.get(envelope.to) ?? this.fallbackThread;
    if (target === this.threadId || (target === undefined && this.local.has(envelope.to))) {
      this.localQueue.push(envelope);
      this.scheduleFlush();
      return;
    }
    if (target === undefined) {
      this.undeliverable(envelope, new ActorNotFoundError(envelope.to));
      return;
    }
    let outbox = this.outboxes.get(target);
    if (outbox === undefined) this.outboxes.set(target, (outbox = []));
    outbox.push(envelope);
    if (envelope.type === REPLY_TYPE) this.replyThreads.add(target);
    if (outbox.length >= FRAME_ENVELOPES_MAX) this.flushTo(target, outbox);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Two microtasks, not one: a reply settled in this turn (a promise the handler returned, resolved by the
    // turn's work: a put applied in a Ready drain) is sent from the promise's reaction, one microtask after the
    // resolve, which comes after the turn's first send; one hop later it joins this flush, and is posted first,
    // instead of leaving in a flush of its own after the raft frames (issue 22: 150-350 us of a lone put).
    queueMicrotask(() => queueMicrotask(() => this.flush()));
  }

  /** End of the turn: one frame per destination thread, then local deliveries. */
  flush(): void {
    this.flushScheduled = false;
    this.flushOutboxes();
    if (this.localQueue.length > 0) {
      const batch = this.localQueue.splice(0);
      for (const envelope of batch) this.deliverLocal(envelope);
    }
  }

  /**
   * Post every outbox now (one frame per thread), leaving local deliveries
   * for the end of the turn: an actor about to block (an fsync) lets other
   * threads start on what it sent. Never delivers re-entrantly.
   */
  flushOutboxes(): void {
    if (this.replyThreads.size > 0) {
      for (const threadId of this.replyThreads) {
        const outbox = this.outboxes.get(threadId);
        if (outbox !== undefined && outbox.length > 0) this.flushTo(threadId, outbox);
      }
      this.replyThreads.clear();
    }
    for (const [threadId, outbox] of this.outboxes) {
      if (outbox.length > 0) this.flushTo(threadId, outbox);
    }
  }

  /**
   * Post now only the outboxes of the threads these actors live on (an actor this thread does not know yet: the
   * fallback thread's, where its envelopes wait): a leader's appends to its followers without the rest of its turn.
   */
  flushOutboxesOf(names: readonly string[]): void {
    for (const name of names) {
      const threadId = this.directory.get(name) ?? this.fallbackThread;
      if (threadId === undefined || threadId === this.threadId) continue;
      const outbox = this.outboxes.get(threadId);
      if (outbox !== undefined && outbox.length > 0) this.flushTo(threadId, outbox);
    }
  }

  private flushTo(threadId: number, outbox: Envelope[]): void {
    const batch = outbox.splice(0);
    const link = this.peers.get(threadId);
    if (link === undefined) {
      // The thread is gone (killed, not yet restarted): what was sent to it is lost, as on a dead host.
      for (const envelope of batch) this.undeliverable(envelope, new ActorUnavailableError(envelope.to, 'its thread is down'));
      return;
    }
    const startedMs = this.census === undefined ? 0 : performance.now();
    const frame = this.encoder.encodeView(batch);
    const encodeMs = this.census === undefined ? 0 : performance.now() - startedMs;
    const transferred = !this.send(link, frame);
    this.stamps?.flushed(batch);
    this.census?.count(threadId, batch, encodeMs, frame.length, transferred);
  }

  /**
   * `frame` (valid only during this call) into the pair's ring, waking the
   * receiver if it may be idle; or, if no ring has room, as a transferred
   * copy. Returns whether it went by the ring.
   */
  private send(link: Link, frame: Uint8Array): boolean {
    let outcome = link.out?.write(frame, link.portFramesSent) ?? 'full';
    if (outcome === 'full' && this.growRing(link, frame.length)) outcome = link.out!.write(frame, link.portFramesSent);
    if (outcome === 'full') {
      // A copy of its own: `frame` is a view of the buffer every msgpackr Packr of this thread writes into, and a
      // Node Buffer's slice() is a view too; transferring that would detach bytes other code still holds.
      const copy = new Uint8Array(frame);
      link.port.postMessage(copy, [copy.buffer]);
      link.portFramesSent++;
      this.stats.framesSentTransferred++;
      return false;
    }
    this.stats.framesSentViaRing++;
    if (outcome === 'wake') {
      link.port.postMessage(RING_WAKE);
      this.stats.ringWakesSent++;
    }
    return true;
  }

  /**
   * A new, bigger ring for the pair (the first one included), announced on
   * the port: the receiver reads the old one to its end before it. False when
   * the ring is at its largest or the frame would not fit even then.
   */
  private growRing(link: Link, frameBytes: number): boolean {
    const current = link.out?.capacityBytes ?? 0;
    const needed = recordBytes(frameBytes);
    if (current >= this.ringBytesMax || needed > this.ringBytesMax) return false;
    let capacity = Math.max(this.ringBytesMin, current * 2);
    while (capacity < needed * FRAME_RING_RECORDS_MIN && capacity < this.ringBytesMax) capacity *= 2;
    capacity = Math.min(capacity, this.ringBytesMax);
    const ring = FrameRing.create(capacity);
    link.port.postMessage({ ring: ring.buffer } satisfies PortMessage);
    link.out = ring;
    this.stats.ringBytes += capacity - current;
    return true;
  }

  /** `actor` (hosted here) asks that frames from the threads of `names` be read before the others' (ActorContext.readFirstFrom). */
  readFirstFrom(actor: string, names: readonly string[]): void {
    if (names.length === 0) this.readFirst.delete(actor);
    else this.readFirst.set(actor, [...names]);
  }

  /**
   * Before a wake's own ring: the rings of the threads the local actors read first, each to its end (a record
   * waiting for a port frame stays, so each pair's order holds). Names resolved at each wake: a restarted peer
   * may be on a new thread.
   */
  private drainFirst(except: Link): void {
    for (const [actor, names] of this.readFirst) {
      if (!this.local.has(actor)) {
        this.readFirst.delete(actor);
        continue;
      }
      for (const name of names) {
        const threadId = this.directory.get(name);
        if (threadId === undefined || threadId === this.threadId || threadId === except.threadId) continue;
        const link = this.peers.get(threadId);
        if (link !== undefined) this.drainRing(link);
      }
    }
  }

  private onPortMessage(link: Link, message: PortMessage): void {
    if (message === RING_WAKE) {
      if (this.readFirst.size > 0) this.drainFirst(link);
      this.drainRing(link);
      return;
    }
    if (message instanceof Uint8Array) {
      if (this.readFirst.size > 0) this.drainFirst(link);
      // Ring records written before this frame was posted go first; those written after it wait for it.
      this.drainRing(link);
      link.portFramesRead++;
      this.onFrame(link.threadId, link.decoder, message);
      this.drainRing(link);
      return;
    }
    if (typeof message === 'object' && message !== null && message.ring instanceof SharedArrayBuffer) {
      this.drainRing(link);
      if (link.in !== undefined && link.in.usedBytes() !== 0) {
        // The port delivers in order: every frame the old ring waits for came before this notice.
        throw new Error(`the ring from thread ${link.threadId} was replaced with ${link.in.usedBytes()} bytes unread`);
      }
      link.in = FrameRing.reader(message.ring);
      this.drainRing(link);
      return;
    }
    this.onFrame(link.threadId, link.decoder, message);
  }

  /** Every record of the pair's ring that can be read now (not one waiting for a port frame), in order. */
  private drainRing(link: Link): void {
    const ring = link.in;
    if (ring === undefined) return;
    for (;;) {
      const record = ring.read(link.portFramesRead, this.scratch);
      if (record.kind !== 'frame') return;
      this.onFrame(link.threadId, link.decoder, record.bytes);
    }
  }

  /** Raw bytes as if they arrived from `fromThread` (bad-input tests). */
  injectFrame(fromThread: number, frame: Uint8Array): void {
    this.onFrame(fromThread, new FrameDecoder(), frame);
  }

  private onFrame(fromThread: number, decoder: FrameDecoder, frame: unknown): void {
    this.stats.framesReceived++;
    const stamps = this.stamps;
    const readMs = stamps === undefined ? 0 : performance.timeOrigin + performance.now();
    if (!(frame instanceof Uint8Array)) {
      this.stats.decodeFailures++;
      this.log.warn({ fromThread }, 'dropped a frame that is not bytes');
      return;
    }
    const result = decoder.decode(frame);
    if (!result.ok) {
      this.stats.decodeFailures++;
      this.log.warn({ fromThread, error: result.error, bytes: frame.length }, 'dropped an undecodable frame');
      return;
    }
    if (result.rejected > 0) {
      this.stats.decodeFailures += result.rejected;
      this.log.warn({ fromThread, rejected: result.rejected }, 'dropped envelopes of the wrong shape');
    }
    this.stats.envelopesReceived += result.envelopes.length;
    for (const envelope of result.envelopes) {
      if (this.local.has(envelope.to) || (envelope.type === REPLY_TYPE && this.directory.get(envelope.to) === this.threadId)) {
        if (stamps === undefined) this.deliverLocal(envelope);
        else {
          stamps.delivering(stamps.arrived(envelope, readMs, envelope.type === REPLY_TYPE));
          this.deliverLocal(envelope);
          stamps.delivered();
        }
      } else if (this.fallbackThread === undefined) {
        // The host forwards traffic for names a sender's directory did not know yet.
        this.forward(envelope);
      } else {
        this.undeliverable(envelope, new ActorNotFoundError(envelope.to));
      }
    }
    if (this.outboxes.size > 0) this.scheduleFlush();
  }

  private deliverLocal(envelope: Envelope): void {
    if (envelope.type === REPLY_TYPE) {
      if (!this.asks.settle(envelope.corr, envelope.body as ReplyBody)) this.stats.dropped++;
      return;
    }
    const slot = this.local.get(envelope.to);
    if (slot === undefined) {
      this.undeliverable(envelope, new ActorNotFoundError(envelope.to));
      return;
    }
    if (slot.paused) {
      slot.held.push(envelope);
      return;
    }
    if (slot.cell === undefined || slot.cell.state !== 'running') {
      this.undeliverable(envelope, new ActorUnavailableError(envelope.to, 'restarting'));
      return;
    }
    slot.cell.deliver(envelope);
  }

  /** Count it, and answer an ask at once so the asker does not wait for its timeout. */
  private undeliverable(envelope: Envelope, error: Error): void {
    this.stats.dropped++;
    if (envelope.corr === 0 || envelope.type === REPLY_TYPE) return;
    const reply: ReplyBody = { ok: false, error: toErrorValue(error) };
    this.forward({ to: envelope.from, from: envelope.to, type: REPLY_TYPE, corr: envelope.corr, body: reply });
  }

  releaseHeld(name: string): void {
    const slot = this.local.get(name);
    if (slot === undefined) return;
    slot.paused = false;
    const held = slot.held.splice(0);
    for (const envelope of held) this.deliverLocal(envelope);
  }

  /** A ref whose tell/ask originate from `from` (an actor of this thread, or the host). */
  makeRef(name: string, from: string): ActorRef {
    return {
      name,
      tell: (msg: Message) => this.route({ to: name, from, type: msg.type, corr: 0, body: msg.body }),
      ask: <R>(msg: Message, options?: AskOptions): Promise<R> => {
        const { corr, reply } = this.asks.open<R>(name, msg.type, options);
        this.route({ to: name, from, type: msg.type, corr, body: msg.body });
        return reply;
      },
    };
  }

  close(): void {
    for (const link of this.peers.values()) link.port.close();
    this.peers.clear();
  }
}
