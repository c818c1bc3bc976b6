import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ActorRef, AskOptions } from '../behaviour.js';
import { ActorCell, AskRegistry, type Cancel } from '../cell.js';
import { FrameDecoder, FrameEncoder } from '../codec.js';
import { FRAME_CENSUS_PRINT_EVERY_MS, FrameCensus } from './frame-census.js';
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
  private readonly ports = new Map<number, MessagePort>();
  private readonly outboxes = new Map<number, Envelope[]>();
  private readonly encoder = new FrameEncoder();
  private readonly decoders = new Map<number, FrameDecoder>();
  private readonly localQueue: Envelope[] = [];
  /** Actors between incarnations (killed or crashed, not yet running again), with why: asks to them fail here, at once. */
  private readonly unavailable = new Map<string, string>();
  private flushScheduled = false;
  /** Threads with a reply in their outbox this turn: posted first (an asker waits on each; a raft peer's frame is rarely what someone waits on). */
  private readonly replyThreads = new Set<number>();
  /** KUBETHREADS_FRAME_CENSUS=1: what this thread's frames cost to encode, printed to stderr (frame-census.ts). */
  private readonly census = process.env.KUBETHREADS_FRAME_CENSUS === '1' ? new FrameCensus() : undefined;
  readonly stats: Omit<ThreadStats, 'thread' | 'actors'> = { dropped: 0, decodeFailures: 0, framesReceived: 0, envelopesReceived: 0 };

  constructor(
    readonly threadId: number,
    private readonly log: Logger,
    private readonly linkRandom: Prng,
    /** Where envelopes for names this thread does not know go (the host forwards them); undefined on the host. */
    private readonly fallbackThread: number | undefined,
  ) {
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

  connect(threadId: number, port: MessagePort): void {
    this.ports.get(threadId)?.close();
    this.ports.set(threadId, port);
    const decoder = new FrameDecoder();
    this.decoders.set(threadId, decoder);
    port.on('message', (frame: unknown) => this.onFrame(threadId, decoder, frame));
    port.on('messageerror', (error: Error) => {
      this.stats.decodeFailures++;
      this.log.warn({ fromThread: threadId, err: error }, 'dropped a frame that could not be deserialized');
    });
  }

  disconnect(threadId: number): void {
    this.ports.get(threadId)?.close();
    this.ports.delete(threadId);
    this.decoders.delete(threadId);
    this.outboxes.delete(threadId);
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

  private flushTo(threadId: number, outbox: Envelope[]): void {
    const batch = outbox.splice(0);
    const port = this.ports.get(threadId);
    if (port === undefined) {
      // The thread is gone (killed, not yet restarted): what was sent to it is lost, as on a dead host.
      for (const envelope of batch) this.undeliverable(envelope, new ActorUnavailableError(envelope.to, 'its thread is down'));
      return;
    }
    const startedMs = this.census === undefined ? 0 : performance.now();
    const frame = this.encoder.encode(batch);
    this.census?.count(threadId, batch, performance.now() - startedMs, frame.length);
    port.postMessage(frame, [frame.buffer as ArrayBuffer]);
  }

  /** Raw bytes as if they arrived from `fromThread` (bad-input tests). */
  injectFrame(fromThread: number, frame: Uint8Array): void {
    this.onFrame(fromThread, new FrameDecoder(), frame);
  }

  private onFrame(fromThread: number, decoder: FrameDecoder, frame: unknown): void {
    this.stats.framesReceived++;
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
        this.deliverLocal(envelope);
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
    for (const port of this.ports.values()) port.close();
    this.ports.clear();
  }
}
