import { Packr, Unpackr } from 'msgpackr';
import type { Logger } from 'pino';
import type { ActorRef, AskOptions, Behaviour, DownEvent, PeerDownEvent, SpawnOptions } from '../behaviour.js';
import { FrameDecoder } from '../codec.js';
import { ActorCell, AskRegistry, type Cancel, type CellHost } from '../cell.js';
import { MemoryDisk, type DiskFaults } from '../disk.js';
import { ActorNotFoundError, ActorUnavailableError, toErrorValue } from '../errors.js';
import { PeerMonitors } from '../monitors.js';
import { LinkFaultTable, type LinkFault, type LinkRule } from '../faults.js';
import { createLogger } from '../log.js';
import { deriveSeed, Prng } from '../prng.js';
import { HOST_SENDER, REPLY_TYPE, type Envelope, type Message, type ReplyBody } from '../protocol.js';
import { RestartTracker } from '../supervision.js';
import type { ActorStats, ActorSystem, FaultController, ThreadStats } from '../system.js';
import { EventQueue, type Scheduled } from './event-queue.js';
import { actorsExposition } from '../metrics.js';
import { copyPlain, sharePlain, SHARED_MESSAGE_TYPES, SHARED_REPLY_TYPES, type SharedCopies } from './message-copy.js';
import { keepSharedMarks } from '../shared.js';

export interface SimulatedSystemOptions {
  seed: number;
  /** Delivery latency of every message, drawn uniformly from [min, max] ms; the draw also reorders messages between different pairs. */
  latencyMinMs?: number;
  latencyMaxMs?: number;
  /** Virtual start time (ms since the epoch). */
  startMs?: number;
  /**
   * Copy every message through msgpack, as the threaded runtime does: catches
   * bodies that would not survive a thread boundary, and keeps actors from
   * sharing mutable objects. Default true.
   */
  copyMessages?: boolean;
  /**
   * Deliver the bodies of SHARED_MESSAGE_TYPES (message-copy.ts) frozen, so a sender that changes one after sending it,
   * or a receiver that changes what it got, throws. Default: on under `node --test` (NODE_TEST_CONTEXT) or with
   * KUBETHREADS_SIM_FREEZE=1, off otherwise (freezing costs what not copying saves).
   */
  freezeShared?: boolean;
  /**
   * What every fsync of every actor's disk takes, in virtual ms (default 0):
   * the actor is busy meanwhile, as a thread blocked in fsync is, so what
   * arrives in that time waits and is handled together, and what the actor
   * sends after the fsync leaves when it ends. A disk fault's `fsyncDelayMs`
   * adds to it.
   */
  fsyncLatencyMs?: number;
  logger?: Logger;
}

type SimEvent =
  /**
   * `bytes`: the body went through msgpack; `copied`: the body is `copy`, a structural copy whose content digest is `digest`.
   * `departsMs`: sent after an fsync by the sender's incarnation `senderIncarnationId`, it leaves only when that fsync ends.
   */
  | DeliverEvent
  | (Scheduled & { kind: 'call'; fn: () => void; cancelled: boolean; done: boolean });

type DeliverEvent = Scheduled & {
  kind: 'deliver'; envelope: Envelope; bytes: Uint8Array | undefined; copied: boolean; copy: unknown; digest: number | undefined;
  departsMs: number | undefined; senderIncarnationId: number;
};

/**
 * Every delivery event is made here, with every field in the same order, so all of them share one hidden class: the
 * loop's reads of an event see two shapes (a delivery, a call) rather than one per combination of optional fields,
 * which made them megamorphic (and a megamorphic load of a fractional time boxes it in a fresh number).
 */
function deliverEvent(
  atMs: number, seq: number, envelope: Envelope, bytes: Uint8Array | undefined, copied: boolean, copy: unknown,
  digest: number | undefined, departsMs: number | undefined, senderIncarnationId: number,
): DeliverEvent {
  return { kind: 'deliver', atMs, seq, envelope, bytes, copied, copy, digest, departsMs, senderIncarnationId };
}

const NOOP = (): void => {};

interface SimActor {
  name: string;
  behaviour: Behaviour;
  args: unknown;
  tracker: RestartTracker;
  disk: MemoryDisk;
  cell: ActorCell | undefined;
  state: ActorStats['state'];
  paused: boolean;
  held: Envelope[];
  /** Timers that fell due while paused: delivered on resume, after the held mail. */
  heldTimers: Array<() => void>;
  clockOffsetMs: number;
  busyUntilMs: number;
  parent: string | undefined;
  children: Set<string>;
  watchers: Set<string>;
  incarnation: number;
  /** Unique in the simulation for each incarnation, respawns under the same name included (`PeerMonitors` drops repeats by it). */
  incarnationId: number;
}

/** A settled promise: a reaction on it is a microtask queued at the end of the queue (see `runUntil`). */
const SETTLED = Promise.resolve();
/** The simulation lets the host's macrotasks (timers, I/O, a progress bar) run at least this often, in wall-clock ms. */
const MACROTASK_YIELD_EVERY_MS = 20;
/** The queue drops its cancelled timers once there are at least this many and they are half of it. */
const CANCELLED_COMPACT_MIN = 1024;

/** Objects and arrays may be plain data (message-copy.ts decides, walking them); class instances never are. */
function isPlainCandidate(body: object): boolean {
  if (Array.isArray(body)) return true;
  const proto = Object.getPrototypeOf(body) as unknown;
  return proto === Object.prototype || proto === null;
}

const FNV_OFFSET = 0xcbf29ce4;
const FNV_PRIME = 0x01000193;

/**
 * The deterministic twin of the threaded runtime: every actor in this
 * thread, virtual time that jumps to the next event, one seeded random
 * source for latencies, faults and actors' own streams, and in-memory disks
 * that lose unsynced writes on a crash when armed. The same seed gives the
 * same trace; `traceHash()` summarises it.
 */
export class SimulatedSystem implements ActorSystem, CellHost {
  readonly runtime = 'simulated' as const;
  readonly seed: number;
  readonly asks: AskRegistry;
  readonly faults: FaultController;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly actors = new Map<string, SimActor>();
  private readonly links = new LinkFaultTable();
  private readonly prng: Prng;
  /** The link faults' draws, from the network's stream: one function for every message, not a closure per `route`. */
  private readonly linkRandom: () => number;
  private readonly latencyMinMs: number;
  private readonly latencyMaxMs: number;
  private readonly copyMessages: boolean;
  private readonly freezeShared: boolean;
  private readonly fsyncLatencyMs: number;
  /** The latest `busyUntilMs` any actor was given: while the clock is below it, a sender may be busy (see `route`). */
  private busyUntilMaxMs = 0;
  /** Incarnations that ended inside an fsync → when: what they would have sent once it ended never leaves. */
  private readonly endedBusyAtMs = new Map<number, number>();
  /** One frozen copy per object its sender marked shared (src/actor/shared.ts), for every receiver. */
  private readonly sharedCopies: SharedCopies = new WeakMap();
  /** Record shapes shared by the packer and unpacker (one thread, in order): no definitions in every message, no reader compiled per message. */
  private readonly structures: object[] = [];
  private readonly packr = new Packr({ useRecords: true, structures: this.structures, maxSharedStructures: 8160 });
  private readonly unpackr = new Unpackr({ useRecords: true, structures: this.structures, maxSharedStructures: 8160 });
  private readonly frameDecoder = new FrameDecoder();
  private readonly log: Logger;
  private readonly hostWatchers = new Map<string, Set<(event: DownEvent) => void>>();
  private readonly monitors = new PeerMonitors<ActorCell>();
  /** Last delivery time per from → to: messages on one link stay in order, as on a MessagePort. */
  private readonly linkClockMs = new Map<string, Map<string, number>>();
  /** Hashes of names and types, computed once each: the trace hash runs per delivery. */
  private readonly stringHashes = new Map<string, number>();
  private clockMs: number;
  private seq = 0;
  private hash1 = FNV_OFFSET;
  private hash2 = 0x12345678;
  private running = false;
  /** Cancelled timers still in the queue (see `schedule`). */
  private cancelledInQueue = 0;
  private lastIncarnationId = 0;
  /** Deliveries by route kind and type, when KUBETHREADS_SIM_CENSUS is set: where a run's traffic comes from (docs/performance.md). */
  private readonly census: Map<string, number> | undefined = process.env.KUBETHREADS_SIM_CENSUS ? new Map() : undefined;
  /** Messages delivered so far. */
  delivered = 0;
  dropped = 0;
  decodeFailures = 0;

  constructor(options: SimulatedSystemOptions) {
    this.seed = options.seed >>> 0;
    this.prng = new Prng(deriveSeed(this.seed, '$network'));
    this.linkRandom = () => this.prng.next();
    this.latencyMinMs = options.latencyMinMs ?? 0.05;
    this.latencyMaxMs = options.latencyMaxMs ?? 0.5;
    if (!(this.latencyMinMs >= 0 && this.latencyMaxMs >= this.latencyMinMs)) {
      throw new Error('latencyMinMs and latencyMaxMs must satisfy 0 <= min <= max');
    }
    this.clockMs = options.startMs ?? 1_700_000_000_000;
    this.copyMessages = options.copyMessages ?? true;
    this.freezeShared = options.freezeShared ?? (process.env.NODE_TEST_CONTEXT !== undefined || process.env.KUBETHREADS_SIM_FREEZE === '1');
    // Its message copy shares what senders mark as never to change (shared.ts): marks made from now on count.
    keepSharedMarks();
    this.fsyncLatencyMs = options.fsyncLatencyMs ?? 0;
    if (!(this.fsyncLatencyMs >= 0 && Number.isFinite(this.fsyncLatencyMs))) throw new Error('fsyncLatencyMs must be a finite number >= 0');
    this.log = options.logger ?? createLogger();
    this.asks = new AskRegistry((ms, fn) => this.schedule(ms, fn));
    this.faults = this.makeFaultController();
  }

  // ----- ActorSystem -----

  async spawn<M extends Message, A>(behaviour: Behaviour<M, A>, options: SpawnOptions<A>): Promise<ActorRef<M>> {
    this.spawnNow(behaviour as unknown as Behaviour, options as SpawnOptions, undefined);
    return this.makeRef(options.name) as ActorRef<M>;
  }

  async stop(target: ActorRef | string): Promise<void> {
    this.stopNow(typeof target === 'string' ? target : target.name, 'stopped');
  }

  lookup<M extends Message = Message>(name: string): ActorRef<M> | undefined {
    const actor = this.actors.get(name);
    return actor !== undefined && actor.state !== 'stopped' ? (this.makeRef(name) as ActorRef<M>) : undefined;
  }

  ref<M extends Message = Message>(name: string): ActorRef<M> {
    return this.makeRef(name) as ActorRef<M>;
  }

  onDown(target: string, listener: (event: DownEvent) => void): () => void {
    let set = this.hostWatchers.get(target);
    if (set === undefined) this.hostWatchers.set(target, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  async metrics(): Promise<string> {
    const actors = this.actorStats(false);
    const texts: string[] = [];
    for (const actor of this.actors.values()) if (actor.cell !== undefined) texts.push(await actor.cell.metrics());
    return actorsExposition(actors, texts);
  }

  /** Every actor's stats; `summary: false` leaves the behaviour's `inspect` out (a metrics scrape has no use for it). */
  private actorStats(summary: boolean): ActorStats[] {
    const actors: ActorStats[] = [];
    for (const actor of this.actors.values()) {
      actors.push({
        name: actor.name,
        thread: 'sim',
        state: actor.paused && actor.state === 'running' ? 'paused' : actor.state,
        restarts: actor.tracker.restartCount,
        mailboxDepth: actor.held.length,
        received: actor.cell?.counters.received ?? 0,
        sent: actor.cell?.counters.sent ?? 0,
        unhandled: actor.cell?.counters.unhandled ?? 0,
        dropped: actor.cell?.counters.dropped ?? 0,
        askTimeouts: actor.cell?.counters.askTimeouts ?? 0,
        ticksDropped: actor.cell?.counters.ticksDropped ?? 0,
        ...(summary ? { summary: actor.cell?.inspect() } : {}),
      });
    }
    return actors;
  }

  async inspect(): Promise<{ actors: ActorStats[]; threads: ThreadStats[] }> {
    const actors = this.actorStats(true);
    const threads: ThreadStats[] = [
      {
        thread: 'sim',
        actors: [...this.actors.keys()],
        dropped: this.dropped,
        decodeFailures: this.decodeFailures,
        framesReceived: this.delivered,
        envelopesReceived: this.delivered,
      },
    ];
    return { actors, threads };
  }

  /** Virtual time; for an actor, with its clock offset, and past the end of an fsync it is still in (its thread's own time). */
  now(actor?: string): number {
    if (actor === undefined) return this.clockMs;
    const a = this.actors.get(actor);
    if (a === undefined) return this.clockMs;
    return Math.max(this.clockMs, a.busyUntilMs) + a.clockOffsetMs;
  }

  async shutdown(): Promise<void> {
    this.reportCensus('');
    for (const name of [...this.actors.keys()]) this.stopNow(name, 'stopped');
    this.asks.failAll('the system shut down');
  }

  /**
   * With KUBETHREADS_SIM_CENSUS set, writes the deliveries so far by kind to stderr (`label` names the moment: the chaos
   * engine reports its set-up's apart, at the run's origin); without it, nothing.
   */
  reportCensus(label: string): void {
    if (this.census === undefined) return;
    const rows = [...this.census].sort((a, b) => b[1] - a[1]);
    process.stderr.write(`message census${label === '' ? '' : ` ${label}`} (${this.delivered} delivered):\n${rows.slice(0, 60).map(([k, n]) => `${String(n).padStart(9)}  ${(n / this.delivered * 100).toFixed(1).padStart(5)} %  ${k}`).join('\n')}\n`);
  }

  // ----- running the simulation -----

  /** Run until `ms` of virtual time have passed (or nothing is left to do). */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(() => false, { maxMs: ms });
  }

  /**
   * Run events until `done()` holds, virtual time passes `maxMs` from now, or
   * the queue is empty. Returns whether `done()` held.
   */
  runUntil(done: () => boolean, options: { maxMs: number; maxEvents?: number } = { maxMs: 60_000 }): Promise<boolean> {
    if (this.running) return Promise.reject(new Error('the simulation is already running; do not nest runUntil'));
    this.running = true;
    const deadlineMs = this.clockMs + options.maxMs;
    const maxEvents = options.maxEvents ?? Number.MAX_SAFE_INTEGER;
    let events = 0;
    return new Promise<boolean>((resolve, reject) => {
      const finish = (): void => {
        this.running = false;
      };
      let yieldAtMs = performance.now() + MACROTASK_YIELD_EVERY_MS;
      // After each event the loop goes on only once every continuation that event
      // started has run, so time never moves past a pending one. Node runs the
      // callbacks of process.nextTick only when the microtask queue is empty (its
      // tick loop: the ticks, then every microtask, then the ticks queued
      // meanwhile), so a tick queued by a microtask at the queue's end runs the
      // next turn exactly when the continuations are done, however deep their
      // chains. (Before: promise hooks flagged every promise and the loop hopped
      // through microtasks until one hop saw none, about 3 hops an event, and the
      // hooks slowed every await of every actor. A macrotask per event, as
      // setImmediate, cost a trip through the event loop each: 15 % of a
      // 20-node run.)
      const nextTurn = (): void => process.nextTick(step);
      const afterContinuations = (): void => void SETTLED.then(nextTurn);
      const step = (): void => {
        try {
          // The time from the queue's keys: `atMs` read from an event (several shapes) is a megamorphic load that boxes.
          const more = !done() && this.queue.size > 0;
          const nextAtMs = more ? this.queue.peekAtMs() : 0;
          if (more && nextAtMs <= deadlineMs && events < maxEvents) {
            const next = this.queue.pop()!;
            events++;
            if (nextAtMs > this.clockMs) this.clockMs = nextAtMs;
            this.dispatch(next);
            // Timers, I/O and logs of the host (a progress bar, a report being written) get a turn now and then;
            // nothing the simulation owns runs in it, so where the yield falls changes no trace. (Node runs the
            // continuations, microtasks and ticks, before any macrotask: the yield waits for them too.)
            if ((events & 0xff) === 0 && performance.now() >= yieldAtMs) {
              setImmediate(() => {
                yieldAtMs = performance.now() + MACROTASK_YIELD_EVERY_MS;
                step();
              });
              return;
            }
            afterContinuations();
            return;
          }
          const held = done();
          const peeked = this.queue.peek();
          if (!held && peeked !== undefined && deadlineMs > this.clockMs) this.clockMs = Math.min(deadlineMs, peeked.atMs);
          else if (peeked === undefined && deadlineMs > this.clockMs && !held) this.clockMs = deadlineMs;
          finish();
          resolve(held);
        } catch (error) {
          finish();
          reject(error);
        }
      };
      // A macrotask boundary first: whatever the caller left pending runs before the first event.
      setImmediate(step);
    });
  }

  /** Run until the promise settles (or `maxMs` of virtual time pass); return its value or throw its error. */
  async settle<T>(promise: Promise<T>, options: { maxMs: number } = { maxMs: 60_000 }): Promise<T> {
    let settled = false;
    const watched = promise.then(
      (value) => ((settled = true), value),
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    watched.catch(() => undefined);
    await this.runUntil(() => settled, options);
    if (!settled) throw new Error(`the promise did not settle within ${options.maxMs} ms of virtual time`);
    return watched;
  }

  /** A digest of every delivery so far (time, route, type, correlation, body bytes). Same seed, same hash. */
  traceHash(): string {
    return (this.hash1 >>> 0).toString(16).padStart(8, '0') + (this.hash2 >>> 0).toString(16).padStart(8, '0');
  }

  /** Events waiting in the queue. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  // ----- CellHost -----

  route(envelope: Envelope, answering?: string): void {
    const verdict = this.links.decide(envelope.from, envelope.to, this.linkRandom, envelope.corr !== 0 && envelope.type !== REPLY_TYPE);
    if (verdict.delaysMs.length === 0) {
      this.dropped++;
      return;
    }
    const body = envelope.body;
    let bytes: Uint8Array | undefined;
    let plain = false;
    let shared = false;
    // Primitives are immutable and always encodable: only objects need the copy.
    if (this.copyMessages && typeof body === 'object' && body !== null) {
      // Plain data is copied structurally, each delivery its own copy; anything else goes through msgpack as a thread would.
      plain = isPlainCandidate(body);
      if (!plain) bytes = this.pack(envelope);
      else shared = answering === undefined ? SHARED_MESSAGE_TYPES.has(envelope.type) : envelope.type === REPLY_TYPE && SHARED_REPLY_TYPES.has(answering);
    }
    const delays = verdict.delaysMs;
    // What an actor sends after an fsync in its turn leaves when the fsync ends, as from a thread that blocked in it.
    let departMs = this.clockMs;
    let senderIncarnationId = 0;
    if (this.busyUntilMaxMs > departMs) {
      const sender = this.actors.get(envelope.from);
      if (sender !== undefined && sender.busyUntilMs > departMs) {
        departMs = sender.busyUntilMs;
        senderIncarnationId = sender.incarnationId;
      }
    }
    const late = senderIncarnationId !== 0;
    // An index loop: an iterator object per message while `route` is not yet optimised.
    for (let d = 0; d < delays.length; d++) {
      const delayMs = delays[d]!;
      let atMs = departMs + this.latencyMinMs + this.prng.next() * (this.latencyMaxMs - this.latencyMinMs) + delayMs;
      if (delayMs === 0) {
        // Without a delay fault a link is FIFO, like a MessagePort.
        let fromLinks = this.linkClockMs.get(envelope.from);
        if (fromLinks === undefined) this.linkClockMs.set(envelope.from, (fromLinks = new Map()));
        atMs = Math.max(atMs, fromLinks.get(envelope.to) ?? 0);
        fromLinks.set(envelope.to, atMs);
      }
      if (plain) {
        const copy = shared ? sharePlain(body, this.sharedCopies, this.freezeShared) : copyPlain(body, this.sharedCopies);
        if (copy !== undefined) {
          this.queue.push(deliverEvent(atMs, this.seq++, envelope, undefined, true, copy.value, copy.digest, late ? departMs : undefined, senderIncarnationId));
          continue;
        }
        bytes ??= this.pack(envelope);
      }
      this.queue.push(deliverEvent(atMs, this.seq++, envelope, bytes, false, undefined, undefined, late ? departMs : undefined, senderIncarnationId));
    }
  }

  private pack(envelope: Envelope): Uint8Array {
    try {
      return this.packr.pack(envelope.body);
    } catch (error) {
      throw new Error(`message ${envelope.type} from ${envelope.from} cannot be encoded with msgpack: ${String(error)}`);
    }
  }

  schedule(ms: number, fn: () => void): Cancel {
    const event: SimEvent = { kind: 'call', atMs: this.clockMs + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, done: false };
    this.queue.push(event);
    return () => {
      if (event.cancelled || event.done) return;
      event.cancelled = true;
      // A cancelled event never runs: let go of its callback now, not when the queue reaches or compacts it. An ask's
      // timeout holds the asker's closures (the store client's keepWaiting, the promise's settle functions), and those
      // of every answered read stayed in the heap for the timeout's whole virtual delay, promoted and marked by every
      // collection: 20-30 % of a linearizable read's instructions in the simulated runtime (docs/metrics.md, "The
      // leader's read, counted"). The threaded runtime's clearTimeout frees them at once.
      event.fn = NOOP;
      // Every ask arms a timeout that its reply cancels: most timers die this way and would
      // otherwise sit in the heap for their whole delay, making every push and pop deeper.
      if (++this.cancelledInQueue >= CANCELLED_COMPACT_MIN && this.cancelledInQueue * 2 > this.queue.size) {
        this.queue.retain((e) => e.kind !== 'call' || !e.cancelled);
        this.cancelledInQueue = 0;
      }
    };
  }

  spawnChild(parent: string, behaviour: Behaviour, options: SpawnOptions): void {
    this.spawnNow(behaviour, options, parent);
  }

  watch(watcher: string, target: string): void {
    const actor = this.actors.get(target);
    if (actor === undefined || actor.state === 'stopped') {
      // Watching the dead gets an immediate notice, as in Erlang.
      this.schedule(0, () => this.actors.get(watcher)?.cell?.notifyDown({ name: target, reason: 'stopped' }));
      return;
    }
    actor.watchers.add(watcher);
  }

  unwatch(watcher: string, target: string): void {
    this.actors.get(target)?.watchers.delete(watcher);
  }

  monitor(cell: ActorCell, target: string): void {
    this.monitors.add(cell, target);
  }

  demonitor(cell: ActorCell, target: string): void {
    this.monitors.remove(cell, target);
  }

  exited(cell: ActorCell, kind: 'stopped' | 'crashed', error?: unknown): void {
    const actor = this.actors.get(cell.name);
    if (actor === undefined || actor.cell !== cell) return;
    actor.cell = undefined;
    this.peerDown(actor, kind);
    this.afterExit(actor, kind, error === undefined ? undefined : String(error));
  }

  makeRef(name: string): ActorRef {
    return {
      name,
      tell: (msg: Message) => this.route({ to: name, from: HOST_SENDER, type: msg.type, corr: 0, body: msg.body }),
      ask: <R>(msg: Message, options?: AskOptions): Promise<R> => {
        const { corr, reply } = this.asks.open<R>(name, msg.type, options);
        this.route({ to: name, from: HOST_SENDER, type: msg.type, corr, body: msg.body });
        return reply;
      },
    };
  }

  monotonicNow(): number {
    return this.clockMs;
  }

  deliverTimer(cell: ActorCell, envelope: Envelope, delivered?: () => void): void {
    const actor = this.actors.get(cell.name);
    const deliver = (): void => {
      if (this.census !== undefined) {
        const key = `timer ${kindOf(cell.name)} ${envelope.type}`;
        this.census.set(key, (this.census.get(key) ?? 0) + 1);
      }
      cell.deliver(envelope);
      delivered?.();
    };
    if (actor === undefined || actor.cell !== cell) {
      deliver();
      return;
    }
    // A paused actor's thread would be blocked: its timers fire when it resumes, like its mail.
    if (actor.paused) {
      actor.heldTimers.push(deliver);
      return;
    }
    // So would a busy one's (a slow fsync): the timer runs when the work is done.
    if (actor.busyUntilMs > this.clockMs) {
      this.schedule(actor.busyUntilMs - this.clockMs, () => this.deliverTimer(cell, envelope, delivered));
      return;
    }
    deliver();
  }

  /**
   * An fsync of `name`'s disk takes `delayMs` from now (or from the end of the
   * one before it): the actor is busy until then. Charged at the fsync itself,
   * so what the actor sends after it in the same turn leaves when it ends.
   */
  private fsyncBusy(name: string, delayMs: number): void {
    const actor = this.actors.get(name);
    if (actor === undefined || actor.state === 'stopped') return;
    actor.busyUntilMs = Math.max(actor.busyUntilMs, this.clockMs) + delayMs;
    if (actor.busyUntilMs > this.busyUntilMaxMs) this.busyUntilMaxMs = actor.busyUntilMs;
  }

  /** `ActorContext.busyFor`: CPU work of `ms` keeps the actor busy as an fsync does. */
  busyFor(cell: ActorCell, ms: number): void {
    const actor = this.actors.get(cell.name);
    if (actor === undefined || actor.cell !== cell) return;
    this.fsyncBusy(cell.name, ms);
  }

  /**
   * Run `fn` after the messages already due for `cell` are delivered: a call at
   * this instant queues behind them (same time, later sequence), and one that
   * falls while the actor is busy waits for its fsync, behind what arrived
   * meanwhile. What arrived together is handled in one go (the replicas' Ready
   * loop: one Ready, one fsync for them all, etcd's group commit), as on a
   * thread, where it runs once the frames waiting on the port are delivered.
   */
  afterArrivals(fn: () => void, cell: ActorCell): void {
    const run = (): void => {
      const actor = this.actors.get(cell.name);
      if (actor !== undefined && actor.cell === cell && actor.busyUntilMs > this.clockMs) {
        this.schedule(actor.busyUntilMs - this.clockMs, run);
        return;
      }
      fn();
    };
    this.schedule(0, run);
  }

  // ----- internals -----

  private dispatch(event: SimEvent): void {
    if (event.kind === 'call') {
      event.done = true;
      if (event.cancelled) this.cancelledInQueue--;
      else event.fn();
      return;
    }
    const envelope = event.envelope;
    if (event.departsMs !== undefined) {
      const endedAtMs = this.endedBusyAtMs.get(event.senderIncarnationId);
      // Its sender died inside the fsync this message waited for: it was never sent.
      if (endedAtMs !== undefined && endedAtMs < event.departsMs) {
        this.dropped++;
        return;
      }
    }
    const actor = this.actors.get(envelope.to);
    if (actor !== undefined && actor.busyUntilMs > this.clockMs) {
      // A slow fsync keeps the actor busy: its messages wait, in order.
      this.queue.push(deliverEvent(actor.busyUntilMs, this.seq++, envelope, event.bytes, event.copied, event.copy, event.digest, event.departsMs, event.senderIncarnationId));
      return;
    }
    let body = event.copied ? event.copy : envelope.body;
    if (event.bytes !== undefined) {
      try {
        body = this.unpackr.unpack(event.bytes);
      } catch (error) {
        this.decodeFailures++;
        this.log.warn({ from: envelope.from, to: envelope.to, err: error }, 'dropped an undecodable message');
        return;
      }
    }
    const delivered: Envelope = { to: envelope.to, from: envelope.from, type: envelope.type, corr: envelope.corr, body };
    this.mixTrace(delivered, event.bytes, event.digest);
    this.delivered++;
    if (this.census !== undefined) {
      const key = `${kindOf(envelope.from)} > ${kindOf(envelope.to)} ${envelope.type === REPLY_TYPE ? '(reply)' : envelope.type}`;
      this.census.set(key, (this.census.get(key) ?? 0) + 1);
    }
    if (envelope.type === REPLY_TYPE) {
      this.asks.settle(envelope.corr, body as ReplyBody);
      return;
    }
    this.deliverTo(actor, delivered);
  }

  private deliverTo(actor: SimActor | undefined, envelope: Envelope): void {
    if (actor === undefined || actor.state === 'stopped') {
      this.dropped++;
      if (envelope.corr !== 0) this.replyFromRuntime(envelope, new ActorNotFoundError(envelope.to));
      return;
    }
    if (actor.paused) {
      actor.held.push(envelope);
      return;
    }
    if (actor.cell === undefined) {
      this.dropped++;
      if (envelope.corr !== 0) this.replyFromRuntime(envelope, new ActorUnavailableError(envelope.to, actor.state));
      return;
    }
    actor.cell.deliver(envelope);
  }

  private replyFromRuntime(envelope: Envelope, error: Error): void {
    this.route({ to: envelope.from, from: envelope.to, type: REPLY_TYPE, corr: envelope.corr, body: { ok: false, error: toErrorValue(error) } });
  }

  private hashOf(text: string): number {
    let h = this.stringHashes.get(text);
    if (h === undefined) {
      h = FNV_OFFSET;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
      this.stringHashes.set(text, h);
    }
    return h;
  }

  private mixTrace(envelope: Envelope, bytes: Uint8Array | undefined, digest: number | undefined): void {
    let h1 = this.hash1;
    let h2 = this.hash2;
    h1 = Math.imul(h1 ^ this.hashOf(envelope.to), FNV_PRIME);
    h1 = Math.imul(h1 ^ this.hashOf(envelope.from), FNV_PRIME);
    h2 = Math.imul(h2 ^ this.hashOf(envelope.type), 0x5bd1e995);
    h1 = Math.imul(h1 ^ (Math.round(this.clockMs * 1000) | 0), FNV_PRIME);
    h2 = Math.imul(h2 ^ envelope.corr, 0x5bd1e995);
    if (digest !== undefined) {
      h1 = Math.imul(h1 ^ digest, FNV_PRIME);
    } else if (bytes !== undefined) {
      for (let i = 0; i < bytes.length; i++) h1 = Math.imul(h1 ^ bytes[i]!, FNV_PRIME);
      h2 = Math.imul(h2 ^ bytes.length, 0x5bd1e995);
    } else {
      const body = envelope.body;
      const mixed = typeof body === 'number' ? body | 0 : typeof body === 'string' ? this.hashOf(body) : body === true ? 1 : body === false ? 2 : 3;
      h2 = Math.imul(h2 ^ mixed, 0x5bd1e995);
    }
    this.hash1 = h1;
    this.hash2 = h2;
  }

  private spawnNow(behaviour: Behaviour, options: SpawnOptions, parent: string | undefined): void {
    const existing = this.actors.get(options.name);
    if (existing !== undefined && existing.state !== 'stopped') {
      throw new Error(`an actor named ${options.name} already exists; names are unique`);
    }
    const actor: SimActor = {
      name: options.name,
      behaviour,
      args: options.args,
      tracker: new RestartTracker(options.supervision),
      // The disk outlives incarnations (and a stop and respawn under the same name).
      disk: existing?.disk ?? this.newDisk(options.name),
      cell: undefined,
      state: 'restarting',
      paused: false,
      held: [],
      heldTimers: [],
      clockOffsetMs: 0,
      busyUntilMs: 0,
      parent,
      children: new Set(),
      watchers: new Set(),
      incarnation: 0,
      incarnationId: 0,
    };
    this.actors.set(options.name, actor);
    if (parent !== undefined) this.actors.get(parent)?.children.add(options.name);
    this.startIncarnation(actor);
  }

  private newDisk(name: string): MemoryDisk {
    const disk = new MemoryDisk(
      () => this.prng.next(),
      (delayMs) => this.fsyncBusy(name, delayMs),
      (ms, run) => void this.schedule(ms, run),
    );
    disk.fsyncLatencyMs = this.fsyncLatencyMs;
    return disk;
  }

  private startIncarnation(actor: SimActor): void {
    actor.incarnation++;
    actor.incarnationId = ++this.lastIncarnationId;
    const streamSeed = deriveSeed(this.seed, `${actor.name}#${actor.incarnation}`);
    // What the last incarnation asked of the disk in the background and was not run is dropped with it.
    actor.disk.dropBackground();
    const cell = new ActorCell(actor.name, this, actor.disk, this.log.child({ actor: actor.name }), new Prng(streamSeed));
    actor.cell = cell;
    actor.state = 'running';
    try {
      cell.start(actor.behaviour, actor.args);
    } catch (error) {
      cell.kill();
      actor.cell = undefined;
      this.peerDown(actor, 'crashed');
      this.log.error({ actor: actor.name, err: error }, 'actor failed to start');
      this.afterExit(actor, 'crashed', String(error));
    }
  }

  /**
   * The current incarnation of `actor` ended: its monitors hear of it as an event of its own
   * (after whatever this turn still does, before later deliveries), the way a closed stream is noticed.
   */
  private peerDown(actor: SimActor, reason: PeerDownEvent['reason']): void {
    const incarnationId = actor.incarnationId;
    const event: PeerDownEvent = { name: actor.name, reason };
    this.schedule(0, () => this.monitors.notify(event, incarnationId));
  }

  private afterExit(actor: SimActor, kind: 'stopped' | 'crashed' | 'killed', error: string | undefined): void {
    // Only a dead thread loses its page cache; a handler that throws leaves the thread alive.
    if (kind === 'killed') actor.disk.crash();
    const decision = actor.tracker.onExit(kind, this.clockMs);
    if (decision.restart) {
      actor.state = 'restarting';
      const incarnation = actor.incarnation;
      this.schedule(decision.delayMs, () => {
        if (actor.state === 'restarting' && actor.incarnation === incarnation) this.startIncarnation(actor);
      });
      return;
    }
    this.finish(actor, decision.reason === 'restart-budget-exhausted' ? 'restart-budget-exhausted' : kind, error);
  }

  private finish(actor: SimActor, reason: DownEvent['reason'], error: string | undefined): void {
    actor.state = 'stopped';
    actor.held = [];
    actor.heldTimers = [];
    for (const child of actor.children) this.stopNow(child, 'stopped');
    const event: DownEvent = error === undefined ? { name: actor.name, reason } : { name: actor.name, reason, error };
    for (const watcher of actor.watchers) {
      this.schedule(0, () => this.actors.get(watcher)?.cell?.notifyDown(event));
    }
    actor.watchers.clear();
    for (const listener of this.hostWatchers.get(actor.name) ?? []) listener(event);
  }

  private stopNow(name: string, reason: 'stopped'): void {
    const actor = this.actors.get(name);
    if (actor === undefined || actor.state === 'stopped') return;
    const cell = actor.cell;
    actor.cell = undefined;
    this.endInsideFsync(actor);
    cell?.halt('stopped');
    if (cell !== undefined) this.peerDown(actor, 'stopped');
    this.finish(actor, reason, undefined);
  }

  private killNow(name: string, restartNow: boolean): void {
    const actor = this.actors.get(name);
    if (actor === undefined) throw new ActorNotFoundError(name);
    if (actor.state === 'stopped') return;
    if (actor.cell !== undefined) this.peerDown(actor, 'killed');
    actor.cell?.kill();
    actor.cell = undefined;
    actor.paused = false;
    actor.held = [];
    actor.heldTimers = [];
    this.endInsideFsync(actor);
    actor.busyUntilMs = 0;
    this.asks.failTarget(name, 'killed');
    if (restartNow) {
      actor.disk.crash();
      actor.state = 'restarting';
      this.startIncarnation(actor);
      return;
    }
    this.afterExit(actor, 'killed', undefined);
  }

  /** An incarnation killed or stopped while its fsync runs: what it sends after that fsync must not leave. */
  private endInsideFsync(actor: SimActor): void {
    if (actor.busyUntilMs > this.clockMs) this.endedBusyAtMs.set(actor.incarnationId, this.clockMs);
  }

  private actorOrThrow(name: string): SimActor {
    const actor = this.actors.get(name);
    if (actor === undefined) throw new ActorNotFoundError(name);
    return actor;
  }

  private makeFaultController(): FaultController {
    return {
      link: async (fault: LinkFault) => this.links.add(fault),
      partition: async (a, b) => this.links.partition(a, b),
      heal: async (ids) => {
        if (ids === undefined) this.links.clear();
        else for (const id of typeof ids === 'number' ? [ids] : ids) this.links.remove(id);
      },
      links: (): LinkRule[] => this.links.list(),
      kill: async (name) => this.killNow(name, false),
      restart: async (name) => this.killNow(name, true),
      pause: async (name) => {
        this.actorOrThrow(name).paused = true;
      },
      resume: async (name) => {
        const actor = this.actorOrThrow(name);
        actor.paused = false;
        const held = actor.held;
        actor.held = [];
        for (const deliver of actor.heldTimers.splice(0)) this.schedule(0, deliver);
        for (const envelope of held) this.queue.push(deliverEvent(this.clockMs, this.seq++, envelope, undefined, false, undefined, undefined, undefined, 0));
      },
      clockOffset: async (name, offsetMs) => {
        this.actorOrThrow(name).clockOffsetMs = offsetMs;
      },
      disk: async (name, faults: Partial<DiskFaults>) => {
        const disk = this.actorOrThrow(name).disk;
        disk.faults = { ...disk.faults, ...faults };
      },
      injectFrame: async (name, bytes) => {
        // The simulated runtime has no frames; decode the bytes the way a thread would.
        const result = this.frameDecoder.decode(bytes);
        if (!result.ok) {
          this.decodeFailures++;
          this.log.warn({ to: name, error: result.error }, 'dropped an undecodable frame');
          return;
        }
        if (result.rejected > 0) {
          this.decodeFailures += result.rejected;
          this.log.warn({ to: name, rejected: result.rejected }, 'dropped envelopes of the wrong shape');
        }
        for (const envelope of result.envelopes) this.route(envelope);
      },
    };
  }
}

/** An actor's kind for the census: its name with node and replica numbers folded. */
function kindOf(name: string): string {
  return name.replace(/\d+/g, 'N');
}
