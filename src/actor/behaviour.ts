import type { Logger } from 'pino';
import type { Disk } from './disk.js';
import type { Message } from './protocol.js';

/** Options of an ask. */
export interface AskOptions {
  /** Reject with `AskTimeoutError` after this many milliseconds (virtual ones in the simulated runtime). Default 5,000. */
  timeoutMs?: number;
  /**
   * Asked each time the timeout passes without a reply: how many more
   * milliseconds to wait (0 gives up, rejecting with `AskTimeoutError`).
   * What a connection's keepalive does for a request: a target that is slow
   * but seen alive keeps the request, where a silent one loses it. The
   * asker decides what "alive" means (e.g. other messages from the target
   * since the last check).
   */
  keepWaiting?: (waitedMs: number) => number;
}

export const DEFAULT_ASK_TIMEOUT_MS = 5_000;

/**
 * A handle to an actor, by name. Cheap, serializable as its name, and usable
 * from behaviours and from plain library code on the main thread alike.
 */
export interface ActorRef<M extends Message = Message> {
  readonly name: string;
  /** Fire and forget. Delivery is not guaranteed (faults may drop it); order per sender is kept unless a fault reorders. */
  tell(msg: M): void;
  /** Request and reply. Rejects with `AskTimeoutError`, `ActorUnavailableError`, `ActorNotFoundError`, `UnhandledMessageError` or `RemoteError`. */
  ask<R = unknown>(msg: M, options?: AskOptions): Promise<R>;
}

/** Restart policy, as in Erlang/OTP: permanent always restarts, transient only after a crash, temporary never. */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

export interface SupervisionOptions {
  restart: RestartPolicy;
  /** First restart delay; doubles on each restart inside the window, up to `backoffMaxMs`. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** At most this many restarts within `windowMs`; one more and the actor stops for good and its watchers are told. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionOptions = Object.freeze({
  restart: 'permanent',
  backoffMinMs: 10,
  backoffMaxMs: 5_000,
  maxRestarts: 10,
  windowMs: 60_000,
});

/** Options of `spawn`. */
export interface SpawnOptions<A = unknown> {
  /** Unique name in the system; the address other actors use. */
  name: string;
  /** Passed to the behaviour's factory on every (re)start. Must be msgpack-serializable. */
  args?: A;
  supervision?: Partial<SupervisionOptions>;
  /** Name of a thread shared with other actors; default: a thread of the actor's own. */
  placement?: string;
  /**
   * Threaded runtime, an actor in a thread of its own (no `placement`): the
   * V8 heap for recently created objects in that thread, in MB (Node's
   * `resourceLimits.maxYoungGenerationSizeMb`; V8's default is 48). A busy
   * actor that allocates much short-lived garbage collects less often, and
   * less in all, with more. Ignored elsewhere: it is memory, not behaviour.
   */
  youngGenerationMb?: number;
  /**
   * Threaded runtime on Linux: how much lower than the process's this actor's thread runs in the CPU
   * scheduler (added to the thread's nice value when the thread starts: 0-19; Linux lets any thread
   * lower its own priority). For actors standing in for other machines (a cluster's nodes), so that
   * on a small machine they do not hold the cores the control plane's store needs to tick and answer,
   * as etcd is given its own machines, or a higher priority beside other work. A shared thread takes
   * the value of the actor that started it. Ignored elsewhere: it is scheduling, not behaviour.
   */
  cpuNiceIncrement?: number;
}

/** Why an actor stopped, as told to its watchers. */
export interface DownEvent {
  name: string;
  reason: 'stopped' | 'crashed' | 'killed' | 'restart-budget-exhausted';
  error?: string;
}

/**
 * One incarnation of a monitored actor ended (`ActorContext.monitor`): it was
 * killed (its thread terminated, or a restart fault), crashed, or stopped. The
 * supervisor may start it again; the monitor stays armed for that incarnation.
 */
export interface PeerDownEvent {
  name: string;
  reason: 'killed' | 'crashed' | 'stopped';
}

/** What the runtime tells a handler about the message it is receiving. */
export interface ReceiveMeta {
  /** The sender's name (`$host` for library code on the main thread). */
  from: string;
  /** True for an ask: the handler's return value (awaited) is the reply. */
  isAsk: boolean;
}

/**
 * Everything a behaviour may use. Time, timers, randomness and files come
 * only from here, so the same behaviour replays exactly in the simulated runtime.
 * To defer work to the end of the current turn, chain a promise
 * (`void Promise.resolve().then(f)`) or queue a microtask: the simulated
 * runtime runs every continuation an event started before the next event.
 * Not `process.nextTick`: the simulated runtime's own turns are ticks.
 */
export interface ActorContext<M extends Message = Message> {
  readonly self: ActorRef<M>;
  readonly name: string;
  /** The run's seed (behaviours that need sub-streams derive from it). */
  readonly seed: number;
  send(to: ActorRef | string, msg: Message): void;
  ask<R = unknown>(to: ActorRef | string, msg: Message, options?: AskOptions): Promise<R>;
  /** A ref by name; the actor need not exist yet. */
  ref<N extends Message = Message>(name: string): ActorRef<N>;
  /** Milliseconds since the epoch: real time plus this actor's clock offset, or virtual time. */
  now(): number;
  /** Deliver `msg` to self after `ms`; a timer with the same key is replaced. */
  timer(key: string, ms: number, msg: M): void;
  cancelTimer(key: string): void;
  /**
   * Deliver `msg` to self every `periodMs`, on a fixed schedule from now
   * (now + periodMs, now + 2 × periodMs, ...) however long handlers take, as
   * Go's time.Ticker that etcd ticks Raft with: one tick waits while the actor
   * is busy, the ones that fall due meanwhile are dropped, not burst, and the
   * schedule stays on its grid. Shares the key space of `timer`; replaced by a
   * later `timer` or `ticker` with the same key, stopped by `cancelTimer`.
   */
  ticker(key: string, periodMs: number, msg: M): void;
  /** A float in [0, 1) from this actor's seeded stream. */
  random(): number;
  /** This actor's durable directory; it survives restarts. */
  readonly disk: Disk;
  readonly log: Logger;
  /** Spawn a child; it stops when this actor stops. */
  spawn<N extends Message, A>(behaviour: Behaviour<N, A>, options: SpawnOptions<A>): ActorRef<N>;
  /** Get an `onDown` call when the named actor stops for good. */
  watch(target: ActorRef | string): void;
  unwatch(target: ActorRef | string): void;
  /**
   * Get an `onPeerDown` call each time an incarnation of the named actor ends
   * (killed, crashed, restarted by a fault, stopped), the way a process sees
   * a TCP peer's connection close when the process on the other end exits:
   * an Erlang monitor that outlives the target's restarts. Only the end of
   * an incarnation is reported: a link fault (drop, delay, partition) or a
   * paused actor never is, as a cut or silent network closes no stream.
   * Messages the ended incarnation sent may still arrive after the call.
   * Armed until `demonitor` or the end of this incarnation; calling it
   * again for the same target changes nothing.
   */
  monitor(target: ActorRef | string): void;
  demonitor(target: ActorRef | string): void;
  /** Stop this actor (normal exit: a transient actor is not restarted). */
  stopSelf(): void;
  /**
   * Put every message this actor has sent so far on its way now, not at the
   * end of the turn. Call it before a long blocking step (an fsync) so that
   * receivers on other threads work meanwhile. Where sending is immediate
   * (the simulated runtime) it does nothing. With `to`, only what went to
   * those actors' threads leaves now (a frame is per thread, so anything else
   * queued for those threads goes with it); the rest waits for the turn's end,
   * still one frame per thread.
   */
  flushSends(to?: readonly string[]): void;
  /**
   * Run `fn` once, after every message that has already reached this actor's
   * thread has been delivered: the point for a group commit (one Ready and
   * one fsync for everything that arrived together). On threads, after the
   * frames waiting in the event loop; in the simulated runtime, at the end of
   * the current event's turn (one event is one turn there). A throw from `fn`
   * crashes the actor; nothing runs once the actor has stopped.
   */
  afterArrivals(fn: () => void): void;
  /**
   * Model CPU work of `ms` done in this turn. In the simulated runtime, where a
   * turn takes no virtual time, the actor is busy `ms` more (as in an fsync):
   * its timers and messages wait, what it sends later in the turn leaves after.
   * On threads it does nothing: the work took its real time. For tests that
   * need a turn's cost to show (a drain that holds the ticks); 0 does nothing.
   */
  busyFor(ms: number): void;
  /**
   * On threads: whenever this actor's thread wakes to read frames, it first reads what the threads hosting these
   * actors have sent, then the rest (in the order they woke it). The API server names its store's replicas, so the
   * answers to the requests it has started (and the store's events) are handled before new requests are started:
   * work in flight finishes first, rather than waiting behind every request that arrived after it. A call replaces
   * this actor's earlier list; `[]` clears it. Where delivery has no order to choose (the simulated runtime, whose
   * messages arrive one event at a time) it does nothing.
   */
  readFirstFrom(names: readonly string[]): void;
}

/** Returned by `receive` for a message type the behaviour does not handle: counted, logged, dropped. */
export const unhandled: unique symbol = Symbol('unhandled');

/** The live half of a behaviour: what one incarnation of an actor does. */
export interface Handlers<M extends Message = Message> {
  /** Handle one message; the (awaited) return value is the reply to an ask. Throwing crashes the actor. */
  receive(msg: M, meta: ReceiveMeta): unknown;
  /** A watched actor stopped for good. */
  onDown?(event: DownEvent): void;
  /** An incarnation of an actor this one monitors ended (`ActorContext.monitor`). Throwing crashes this actor. */
  onPeerDown?(event: PeerDownEvent): void;
  /** Called when the actor stops normally (not on crash or kill). */
  onStop?(): void;
  /** A small summary of state for `inspect` (must be serializable). */
  inspect?(): unknown;
  /**
   * The behaviour's Prometheus series as text exposition, each carrying its
   * `component` label (src/metrics' `componentRegistry`). Called when the
   * system is scraped (`ActorSystem.metrics`), never on a message path.
   */
  metrics?(): string | Promise<string>;
}

export type BehaviourFactory<M extends Message, A> = (ctx: ActorContext<M>, args: A) => Handlers<M>;

const BEHAVIOUR_MARK = Symbol.for('kubethreads.behaviour');

/**
 * A behaviour: a factory of handlers plus where to find it, so a worker thread
 * can import it. Define it at module top level and export it.
 */
export interface Behaviour<M extends Message = Message, A = unknown> {
  readonly [BEHAVIOUR_MARK]: true;
  /** `import.meta.url` of the defining module. */
  readonly module: string;
  /** Unique within the module. */
  readonly id: string;
  readonly factory: BehaviourFactory<M, A>;
}

/**
 * Define a behaviour. `module` must be the defining module's `import.meta.url`
 * and the returned value must be exported, so threads can load it. Each
 * thread that hosts the behaviour imports that module, so its top-level code
 * runs there too: keep a program's `main` out of behaviour modules, or guard
 * it with `isMainThread` from `node:worker_threads`.
 *
 * ```ts
 * export const counter = defineBehaviour<CounterMsg, { start: number }>(import.meta.url, 'counter', (ctx, args) => {
 *   let n = args.start;
 *   return { receive: (msg) => (msg.type === 'inc' ? ++n : unhandled) };
 * });
 * ```
 */
export function defineBehaviour<M extends Message, A = void>(
  module: string,
  id: string,
  factory: BehaviourFactory<M, A>,
): Behaviour<M, A> {
  return { [BEHAVIOUR_MARK]: true, module, id, factory };
}

export function isBehaviour(value: unknown): value is Behaviour {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BEHAVIOUR_MARK] === true;
}

/** Load a behaviour by module URL and id (used by worker threads). */
export async function loadBehaviour(module: string, id: string): Promise<Behaviour> {
  const exports = (await import(module)) as Record<string, unknown>;
  for (const value of Object.values(exports)) {
    if (isBehaviour(value) && value.id === id) return value;
  }
  throw new Error(`module ${module} exports no behaviour with id ${JSON.stringify(id)}; export the value returned by defineBehaviour`);
}

export function refName(target: ActorRef | string): string {
  return typeof target === 'string' ? target : target.name;
}
