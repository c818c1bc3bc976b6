import type { Logger } from 'pino';
import {
  DEFAULT_ASK_TIMEOUT_MS,
  refName,
  unhandled,
  type ActorContext,
  type ActorRef,
  type AskOptions,
  type Behaviour,
  type DownEvent,
  type Handlers,
  type PeerDownEvent,
  type SpawnOptions,
} from './behaviour.js';
import type { BackgroundDone, Disk, DiskError } from './disk.js';
import { ActorUnavailableError, AskTimeoutError, fromErrorValue, toErrorValue, UnhandledMessageError } from './errors.js';
import { Prng } from './prng.js';
import { DISK_DONE_TYPE, REPLY_TYPE, type Envelope, type Message, type ReplyBody } from './protocol.js';

/** Cancels a scheduled callback. */
export type Cancel = () => void;

/**
 * What a runtime gives the actors it hosts. The threaded and simulated
 * runtimes each implement it; `ActorCell` and `AskRegistry` are shared.
 */
export interface CellHost {
  readonly seed: number;
  /** Current time for an actor (its clock offset included). */
  now(actor: string): number;
  /** A clock no offset fault moves, in ms, for schedules (tickers); without it, `now` of the actor. */
  monotonicNow?(): number;
  /**
   * Route an envelope (faults are applied on the way). `answering`: for a reply, the type of the message it answers
   * (the simulated runtime delivers the answers of some types uncopied: sim/message-copy.ts).
   */
  route(envelope: Envelope, answering?: string): void;
  /** Run `fn` after `ms` of this runtime's time. */
  schedule(ms: number, fn: () => void): Cancel;
  spawnChild(parent: string, behaviour: Behaviour, options: SpawnOptions): void;
  watch(watcher: string, target: string): void;
  unwatch(watcher: string, target: string): void;
  /** Arm a monitor of `target` for this cell (`ActorContext.monitor`), in the table of the thread that hosts the cell. */
  monitor(cell: ActorCell, target: string): void;
  demonitor(cell: ActorCell, target: string): void;
  /** The cell ended itself (`stopSelf`) or threw. */
  exited(cell: ActorCell, kind: 'stopped' | 'crashed', error?: unknown): void;
  asks: AskRegistry;
  /**
   * Deliver a timer's message to its own cell, then call `delivered` (if
   * given). The simulated runtime holds it while the actor is paused or busy
   * (a slow fsync), as a blocked thread would; without this hook the cell
   * delivers at once.
   */
  deliverTimer?(cell: ActorCell, envelope: Envelope, delivered?: () => void): void;
  /** Send what was routed so far now (threads batch a turn's sends into one frame per thread). */
  flushSends?(to?: readonly string[]): void;
  /** ActorContext.readFirstFrom for this cell (threaded runtime only). */
  readFirstFrom?(cell: ActorCell, names: readonly string[]): void;
  /**
   * Run `fn` after the messages already waiting for this thread (for `cell`,
   * in the simulated runtime, which also waits out its fsync) are delivered;
   * without this hook, at the end of the turn.
   */
  afterArrivals?(fn: () => void, cell: ActorCell): void;
  /** `ActorContext.busyFor`: the simulated runtime makes the actor busy; hosts without it ignore it. */
  busyFor?(cell: ActorCell, ms: number): void;
}

/**
 * Wrap a disk so that calls fail once `alive()` turns false, and a background
 * operation's `done` reaches the actor through `deliverDone` (a turn of its own).
 */
function fenceDisk(disk: Disk, alive: () => boolean, name: string, deliverDone: (done: BackgroundDone, error: DiskError | undefined) => void): Disk {
  const check = (): void => {
    if (!alive()) throw new ActorUnavailableError(name, 'its disk was used after the actor died (a stale continuation)');
  };
  const fsyncWithin = disk.fsyncWithin?.bind(disk);
  return {
    ...(fsyncWithin === undefined ? {} : { fsyncWithin: (p: string, w: number, done: BackgroundDone) => (check(), fsyncWithin(p, w, (error) => deliverDone(done, error))) }),
    append: (p, d) => (check(), disk.append(p, d)),
    write: (p, d) => (check(), disk.write(p, d)),
    fsync: (p) => (check(), disk.fsync(p)),
    fsyncDir: (d) => (check(), disk.fsyncDir(d)),
    read: (p) => (check(), disk.read(p)),
    readRange: (p, o, n) => (check(), disk.readRange(p, o, n)),
    rename: (a, b) => (check(), disk.rename(a, b)),
    list: (d) => (check(), disk.list(d)),
    remove: (p) => (check(), disk.remove(p)),
    truncate: (p, n) => (check(), disk.truncate(p, n)),
    size: (p) => (check(), disk.size(p)),
    inBackground: (op, done, lane) => (check(), disk.inBackground(op, (error) => deliverDone(done, error), lane)),
  };
}

interface PendingAsk {
  target: string;
  type: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cancelTimeout: Cancel;
}

/**
 * The asking side of request/reply, one per thread (or per simulation):
 * correlation ids, timeouts, and failing fast when a target goes down.
 */
export class AskRegistry {
  private nextCorr = 1;
  private readonly pending = new Map<number, PendingAsk>();

  constructor(private readonly schedule: (ms: number, fn: () => void) => Cancel) {}

  get size(): number {
    return this.pending.size;
  }

  /** Register an ask; returns its correlation id and the promise of its reply. */
  open<R>(target: string, type: string, options: AskOptions | undefined, asker?: CellCounters): { corr: number; reply: Promise<R> } {
    const corr = this.nextCorr++;
    const timeoutMs = options?.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
    const keepWaiting = options?.keepWaiting;
    const reply = new Promise<R>((resolve, reject) => {
      let waitedMs = 0;
      const expire = (afterMs: number): Cancel =>
        this.schedule(afterMs, () => {
          const ask = this.pending.get(corr);
          if (ask === undefined) return;
          waitedMs += afterMs;
          const moreMs = keepWaiting === undefined ? 0 : keepWaiting(waitedMs);
          if (moreMs > 0) {
            ask.cancelTimeout = expire(moreMs);
            return;
          }
          this.pending.delete(corr);
          if (asker !== undefined) asker.askTimeouts++;
          reject(new AskTimeoutError(target, type, waitedMs));
        });
      this.pending.set(corr, { target, type, resolve: resolve as (value: unknown) => void, reject, cancelTimeout: expire(timeoutMs) });
    });
    return { corr, reply };
  }

  /** A reply arrived; returns false for a late or duplicated reply (already settled), which is dropped. */
  settle(corr: number, body: ReplyBody): boolean {
    const ask = this.pending.get(corr);
    if (ask === undefined) return false;
    this.pending.delete(corr);
    ask.cancelTimeout();
    if (body.ok) ask.resolve(body.value);
    else ask.reject(fromErrorValue(body.error));
    return true;
  }

  /** Fail one ask now (its envelope could not be delivered). */
  fail(corr: number, error: Error): void {
    const ask = this.pending.get(corr);
    if (ask === undefined) return;
    this.pending.delete(corr);
    ask.cancelTimeout();
    ask.reject(error);
  }

  /** The target went down: every ask waiting on it fails fast instead of timing out. */
  failTarget(target: string, reason: string): number {
    let failed = 0;
    for (const [corr, ask] of this.pending) {
      if (ask.target !== target) continue;
      this.pending.delete(corr);
      ask.cancelTimeout();
      ask.reject(new ActorUnavailableError(target, reason));
      failed++;
    }
    return failed;
  }

  failAll(reason: string): void {
    for (const target of new Set([...this.pending.values()].map((a) => a.target))) this.failTarget(target, reason);
  }
}

/** Counters every actor keeps; `inspect` reports them. */
export interface CellCounters {
  received: number;
  sent: number;
  unhandled: number;
  /** Messages this incarnation received and did not handle: unhandled types, and those that reached it after it stopped. */
  dropped: number;
  asksAnswered: number;
  /** Asks this incarnation made that timed out. */
  askTimeouts: number;
  /** Ticks of fixed-rate tickers dropped because the actor was still busy (or paused) when they fell due. */
  ticksDropped: number;
}

export type CellState = 'running' | 'stopped' | 'crashed';

/**
 * One incarnation of an actor: its handlers, its context, its timers, and
 * the asks it has received but not yet answered. Both runtimes host cells.
 */
export class ActorCell {
  state: CellState = 'running';
  readonly counters: CellCounters = { received: 0, sent: 0, unhandled: 0, dropped: 0, asksAnswered: 0, askTimeouts: 0, ticksDropped: 0 };
  handlers!: Handlers;
  readonly ctx: ActorContext;
  /** The actor's disk, fenced: a continuation of a dead incarnation cannot write after its death. */
  readonly disk: Disk;
  private readonly timers = new Map<string, Cancel>();
  /**
   * Asks received whose (async) reply is still pending: replied with an error if this cell dies. The envelope itself
   * (its continuation holds it anyway), not a text of its sender and correlation built per ask.
   */
  private readonly openAsks = new Map<number, Envelope>();
  private nextOpenAsk = 1;
  /** Ends of background disk operations on their way to this cell as `DISK_DONE_TYPE` envelopes, by number. */
  private readonly diskDone = new Map<number, { done: BackgroundDone; error: DiskError | undefined }>();
  private nextDiskDone = 1;

  constructor(
    readonly name: string,
    private readonly host: CellHost,
    disk: Disk,
    readonly log: Logger,
    private readonly prng: Prng,
  ) {
    this.disk = fenceDisk(disk, () => this.state === 'running', name, (done, error) => this.deliverDiskDone(done, error));
    this.ctx = this.makeContext();
  }

  /** Run the factory. Throws if the factory throws (the caller treats that as a crash). */
  start(behaviour: Behaviour, args: unknown): void {
    this.handlers = behaviour.factory(this.ctx as ActorContext<never>, args as never) as Handlers;
    if (typeof this.handlers?.receive !== 'function') {
      throw new Error(`behaviour ${behaviour.id} returned no receive handler`);
    }
  }

  /**
   * A background disk operation ended: its `done` runs as a turn of this cell,
   * through the host's timer path, so the simulated runtime holds it while the
   * actor is paused or busy as it holds a timer. A dead incarnation gets none.
   */
  private deliverDiskDone(done: BackgroundDone, error: DiskError | undefined): void {
    if (this.state !== 'running') return;
    const id = this.nextDiskDone++;
    this.diskDone.set(id, { done, error });
    const envelope: Envelope = { to: this.name, from: this.name, type: DISK_DONE_TYPE, corr: 0, body: id };
    if (this.host.deliverTimer !== undefined) this.host.deliverTimer(this, envelope);
    else this.deliver(envelope);
  }

  /** Deliver one envelope to the handlers. Never throws: a handler error crashes the cell. */
  deliver(envelope: Envelope): void {
    if (envelope.type === DISK_DONE_TYPE && envelope.from === this.name) {
      const entry = this.diskDone.get(envelope.body as number);
      this.diskDone.delete(envelope.body as number);
      if (entry === undefined || this.state !== 'running') return;
      try {
        entry.done(entry.error);
      } catch (error) {
        this.crash(error);
      }
      return;
    }
    if (this.state !== 'running') {
      this.counters.dropped++;
      if (envelope.corr !== 0) this.replyError(envelope, new ActorUnavailableError(this.name, this.state));
      return;
    }
    this.counters.received++;
    const msg = { type: envelope.type, body: envelope.body } as Message;
    let result: unknown;
    try {
      result = this.handlers.receive(msg, { from: envelope.from, isAsk: envelope.corr !== 0 });
    } catch (error) {
      if (envelope.corr !== 0) this.replyError(envelope, new ActorUnavailableError(this.name, `crashed handling ${envelope.type}`));
      this.crash(error);
      return;
    }
    if (result === unhandled) {
      this.counters.unhandled++;
      this.counters.dropped++;
      this.log.warn({ from: envelope.from, type: envelope.type }, 'dropped a message of a type this actor does not handle');
      if (envelope.corr !== 0) this.replyError(envelope, new UnhandledMessageError(this.name, envelope.type));
      return;
    }
    if (result instanceof Promise) {
      this.settleLater(envelope, result);
      return;
    }
    if (envelope.corr !== 0) this.reply(envelope, { ok: true, value: result });
  }

  private settleLater(envelope: Envelope, result: Promise<unknown>): void {
    const openId = this.nextOpenAsk++;
    if (envelope.corr !== 0) this.openAsks.set(openId, envelope);
    result.then(
      (value) => {
        if (!this.openAsks.delete(openId) && envelope.corr !== 0) return; // the cell died first and already answered
        if (this.state !== 'running') return;
        if (value === unhandled) {
          this.counters.unhandled++;
          this.counters.dropped++;
          this.log.warn({ from: envelope.from, type: envelope.type }, 'dropped a message of a type this actor does not handle');
          if (envelope.corr !== 0) this.replyError(envelope, new UnhandledMessageError(this.name, envelope.type));
          return;
        }
        if (envelope.corr !== 0) this.reply(envelope, { ok: true, value });
      },
      (error: unknown) => {
        const wasOpen = this.openAsks.delete(openId);
        if (this.state !== 'running') return;
        if (envelope.corr !== 0 && wasOpen) this.replyError(envelope, new ActorUnavailableError(this.name, `crashed handling ${envelope.type}`));
        this.crash(error);
      },
    );
  }

  private reply(envelope: Envelope, body: ReplyBody): void {
    this.counters.asksAnswered++;
    this.host.route({ to: envelope.from, from: this.name, type: REPLY_TYPE, corr: envelope.corr, body }, envelope.type);
  }

  private replyError(envelope: Envelope, error: Error): void {
    this.reply(envelope, { ok: false, error: toErrorValue(error) });
  }

  private crash(error: unknown): void {
    if (this.state !== 'running') return;
    this.log.error({ err: error }, 'actor crashed');
    this.halt('crashed');
    this.host.exited(this, 'crashed', error);
  }

  /**
   * End this incarnation: cancel timers, and answer every ask it still owed
   * so askers fail fast instead of waiting for their timeout.
   */
  halt(state: Exclude<CellState, 'running'>): void {
    if (this.state !== 'running') return;
    this.state = state;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.diskDone.clear();
    for (const open of this.openAsks.values()) {
      this.host.route({
        to: open.from,
        from: this.name,
        type: REPLY_TYPE,
        corr: open.corr,
        body: { ok: false, error: toErrorValue(new ActorUnavailableError(this.name, state)) },
      });
    }
    this.openAsks.clear();
    if (state === 'stopped') {
      try {
        this.handlers?.onStop?.();
      } catch (error) {
        this.log.error({ err: error }, 'onStop threw');
      }
    }
  }

  /** The thread died under this cell: no replies, no onStop, nothing more it can do. */
  kill(): void {
    if (this.state !== 'running') return;
    this.state = 'crashed';
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    this.openAsks.clear();
    this.diskDone.clear();
  }

  notifyDown(event: DownEvent): void {
    if (this.state !== 'running') return;
    try {
      this.handlers.onDown?.(event);
    } catch (error) {
      this.crash(error);
    }
  }

  notifyPeerDown(event: PeerDownEvent): void {
    if (this.state !== 'running') return;
    try {
      this.handlers.onPeerDown?.(event);
    } catch (error) {
      this.crash(error);
    }
  }

  /** The behaviour's own series (`Handlers.metrics`), or '' when it has none or fails to give them. */
  async metrics(): Promise<string> {
    if (this.state !== 'running' || this.handlers?.metrics === undefined) return '';
    try {
      return await this.handlers.metrics();
    } catch (error) {
      this.log.warn({ err: error }, 'metrics of this actor could not be gathered');
      return '';
    }
  }

  inspect(): unknown {
    try {
      return this.handlers?.inspect?.();
    } catch (error) {
      return { inspectError: String(error) };
    }
  }

  /**
   * A fixed-rate ticker (`ActorContext.ticker`). Each due time is the last
   * one plus the period, never "now plus the period", so neither timer
   * lateness nor handlers' work accumulates. At most one tick waits for
   * delivery (Go's ticker channel holds one); due times that pass meanwhile
   * are dropped and the next one is the first grid point still ahead.
   */
  startTicker(key: string, periodMs: number, msg: Message): void {
    const host = this.host;
    // A clock-offset fault moves the actor's now(), not its ticks: a monotonic clock keeps the grid (etcd ticks on one too).
    const clock = (): number => host.monotonicNow?.() ?? host.now(this.name);
    let dueAtMs = clock() + periodMs;
    let waiting = false;
    const delivered = (): void => {
      waiting = false;
    };
    let cancelCurrent: Cancel | undefined;
    const fire = (): void => {
      if (this.state !== 'running') return;
      if (!waiting) {
        waiting = true;
        const envelope: Envelope = { to: this.name, from: this.name, type: msg.type, corr: 0, body: msg.body };
        if (host.deliverTimer !== undefined) host.deliverTimer(this, envelope, delivered);
        else {
          this.deliver(envelope);
          delivered();
        }
      } else {
        this.counters.ticksDropped++;
      }
      // The handler may have cancelled or replaced this ticker.
      if (this.timers.get(key) === cancelCurrent) arm();
    };
    const arm = (): void => {
      if (this.state !== 'running') return;
      const nowMs = clock();
      dueAtMs += periodMs;
      if (dueAtMs <= nowMs) {
        // Behind by whole periods (a blocked thread, a paused actor): skip to the grid's next point, dropping the rest.
        const missed = Math.floor((nowMs - dueAtMs) / periodMs) + 1;
        this.counters.ticksDropped += missed;
        dueAtMs += missed * periodMs;
      }
      cancelCurrent = host.schedule(dueAtMs - nowMs, fire);
      this.timers.set(key, cancelCurrent);
    };
    dueAtMs -= periodMs;
    arm();
  }

  private makeContext(): ActorContext {
    const host = this.host;
    const cell = this;
    const send = (to: ActorRef | string, msg: Message): void => {
      if (cell.state !== 'running') return;
      cell.counters.sent++;
      host.route({ to: refName(to), from: cell.name, type: msg.type, corr: 0, body: msg.body });
    };
    const ask = <R>(to: ActorRef | string, msg: Message, options?: AskOptions): Promise<R> => {
      const target = refName(to);
      if (cell.state !== 'running') return Promise.reject(new ActorUnavailableError(cell.name, 'the asker itself is no longer running'));
      const { corr, reply } = host.asks.open<R>(target, msg.type, options, cell.counters);
      cell.counters.sent++;
      host.route({ to: target, from: cell.name, type: msg.type, corr, body: msg.body });
      return reply;
    };
    // Refs made inside an actor send as that actor.
    const boundRef = (name: string): ActorRef => ({
      name,
      tell: (msg: Message) => send(name, msg),
      ask: <R>(msg: Message, options?: AskOptions) => ask<R>(name, msg, options),
    });
    return {
      self: boundRef(this.name),
      name: this.name,
      seed: host.seed,
      send,
      ask,
      ref: <N extends Message>(name: string) => boundRef(name) as ActorRef<N>,
      now: () => host.now(cell.name),
      timer: (key: string, ms: number, msg: Message) => {
        if (cell.state !== 'running') return;
        cell.timers.get(key)?.();
        const cancel = host.schedule(ms, () => {
          cell.timers.delete(key);
          const envelope: Envelope = { to: cell.name, from: cell.name, type: msg.type, corr: 0, body: msg.body };
          if (host.deliverTimer !== undefined) host.deliverTimer(cell, envelope);
          else cell.deliver(envelope);
        });
        cell.timers.set(key, cancel);
      },
      ticker: (key: string, periodMs: number, msg: Message) => {
        if (cell.state !== 'running') return;
        if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new Error(`ticker ${key}: the period must be a positive number of ms, not ${periodMs}`);
        cell.timers.get(key)?.();
        cell.startTicker(key, periodMs, msg);
      },
      cancelTimer: (key: string) => {
        cell.timers.get(key)?.();
        cell.timers.delete(key);
      },
      random: () => cell.prng.next(),
      disk: this.disk,
      log: this.log,
      spawn: <N extends Message, A>(behaviour: Behaviour<N, A>, options: SpawnOptions<A>) => {
        host.spawnChild(cell.name, behaviour as unknown as Behaviour, options as SpawnOptions);
        return boundRef(options.name) as ActorRef<N>;
      },
      watch: (target: ActorRef | string) => host.watch(cell.name, refName(target)),
      unwatch: (target: ActorRef | string) => host.unwatch(cell.name, refName(target)),
      monitor: (target: ActorRef | string) => {
        if (cell.state === 'running') host.monitor(cell, refName(target));
      },
      demonitor: (target: ActorRef | string) => host.demonitor(cell, refName(target)),
      stopSelf: () => {
        if (cell.state !== 'running') return;
        cell.halt('stopped');
        host.exited(cell, 'stopped');
      },
      flushSends: (to?: readonly string[]) => host.flushSends?.(to),
      readFirstFrom: (names: readonly string[]) => host.readFirstFrom?.(cell, names),
      busyFor: (ms: number) => {
        if (ms > 0 && cell.state === 'running') host.busyFor?.(cell, ms);
      },
      afterArrivals: (fn: () => void) => {
        const run = (): void => {
          if (cell.state !== 'running') return;
          try {
            fn();
          } catch (error) {
            cell.crash(error);
          }
        };
        if (host.afterArrivals !== undefined) host.afterArrivals(run, cell);
        else void Promise.resolve().then(run);
      },
    };
  }
}
