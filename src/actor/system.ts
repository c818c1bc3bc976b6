import type { ActorRef, Behaviour, DownEvent, SpawnOptions } from './behaviour.js';
import type { DiskFaults } from './disk.js';
import type { LinkFault, LinkRule } from './faults.js';
import type { Message } from './protocol.js';

/** One actor as `inspect` reports it. */
export interface ActorStats {
  name: string;
  thread: string;
  state: 'running' | 'paused' | 'restarting' | 'stopped' | 'crashed';
  restarts: number;
  /** Messages queued for it and not yet handled (paused actors queue). */
  mailboxDepth: number;
  received: number;
  sent: number;
  unhandled: number;
  /** Received and not handled: unhandled types, and messages that reached a stopped incarnation. */
  dropped: number;
  /** Asks it made that timed out. */
  askTimeouts: number;
  /** Ticks of its fixed-rate tickers dropped because it was still busy or paused when they fell due. */
  ticksDropped: number;
  /** The behaviour's own summary (`Handlers.inspect`). */
  summary?: unknown;
}

/** One thread (or the simulation) as `inspect` reports it. */
export interface ThreadStats {
  thread: string;
  actors: string[];
  /** Envelopes addressed to actors this thread does not host. */
  dropped: number;
  /** Frames that could not be decoded, and envelopes of the wrong shape. */
  decodeFailures: number;
  framesReceived: number;
  envelopesReceived: number;
  /** Threaded runtime: frames this thread wrote into a frame ring (src/actor/threaded/frame-ring.ts). */
  framesSentViaRing?: number;
  /** Threaded runtime: frames that found no room in a ring and went as a transferred buffer. */
  framesSentTransferred?: number;
  /** Threaded runtime: postMessages sent only to wake a receiver whose ring had been empty. */
  ringWakesSent?: number;
  /** Threaded runtime: shared memory of this thread's outgoing rings. */
  ringBytes?: number;
}

/**
 * Faults, the same API in both runtimes. Every random choice draws from the
 * system's seed. Each call resolves once the fault is in force everywhere.
 */
export interface FaultController {
  /** Add a link fault (drop, delay ± jitter, duplicate) from → to. Returns its id. */
  link(fault: LinkFault): Promise<number>;
  /** Cut both directions between two groups of actors. Returns the rule ids. */
  partition(a: readonly string[], b: readonly string[]): Promise<number[]>;
  /** Remove the given link rules, or all of them. */
  heal(ids?: number | readonly number[]): Promise<void>;
  links(): LinkRule[];
  /** Terminate the actor's thread (its memory is lost; its disk survives, minus unsynced writes if so armed). The supervisor restarts it by policy. */
  kill(name: string): Promise<void>;
  /** Kill and restart at once, whatever the policy. */
  restart(name: string): Promise<void>;
  /** Block the actor (its thread waits; messages queue): a stalled leader. */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /** Shift the actor's `now()` by `offsetMs`. */
  clockOffset(name: string, offsetMs: number): Promise<void>;
  /** Arm disk faults for the actor's disk. */
  disk(name: string, faults: Partial<DiskFaults>): Promise<void>;
  /** Deliver raw bytes to the actor's thread as if they were a frame (tests of bad input). */
  injectFrame(name: string, bytes: Uint8Array): Promise<void>;
}

/** The actor system: what both runtimes offer to library code on the main thread. */
export interface ActorSystem {
  readonly runtime: 'threaded' | 'simulated';
  readonly seed: number;
  readonly faults: FaultController;
  spawn<M extends Message, A>(behaviour: Behaviour<M, A>, options: SpawnOptions<A>): Promise<ActorRef<M>>;
  /** Stop an actor normally (not restarted). */
  stop(target: ActorRef | string): Promise<void>;
  /** A ref to a spawned, live actor, or undefined. */
  lookup<M extends Message = Message>(name: string): ActorRef<M> | undefined;
  /** A ref by name, whether or not the actor exists yet. */
  ref<M extends Message = Message>(name: string): ActorRef<M>;
  /** Call `listener` when the actor stops for good. Returns an unsubscribe function. */
  onDown(target: string, listener: (event: DownEvent) => void): () => void;
  inspect(): Promise<{ actors: ActorStats[]; threads: ThreadStats[] }>;
  /**
   * Every actor's Prometheus series as one text exposition: the runtime's
   * own (`kubethreads_actor_*`) and each behaviour's (`Handlers.metrics`),
   * each sample labelled with its actor as `component`. Gathered from each
   * thread over its control channel, never through the actors' data path; a
   * paused or unresponsive thread's actors are left out of that scrape.
   */
  metrics(): Promise<string>;
  /** The system's time: real milliseconds, or virtual ones. */
  now(): number;
  /** Stop every actor and thread. */
  shutdown(): Promise<void>;
}
