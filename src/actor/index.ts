/**
 * kubethreads' actor runtime. Behaviours are defined once and run in either
 * runtime: `ThreadedSystem` (worker threads, real time, real disk) or
 * `SimulatedSystem` (one thread, virtual time, seeded, replayable).
 */
export {
  defineBehaviour,
  unhandled,
  DEFAULT_ASK_TIMEOUT_MS,
  DEFAULT_SUPERVISION,
  type ActorContext,
  type ActorRef,
  type AskOptions,
  type Behaviour,
  type BehaviourFactory,
  type DownEvent,
  type PeerDownEvent,
  type Handlers,
  type ReceiveMeta,
  type RestartPolicy,
  type SpawnOptions,
  type SupervisionOptions,
} from './behaviour.js';
export type { ActorStats, ActorSystem, FaultController, ThreadStats } from './system.js';
export type { Envelope, Message } from './protocol.js';
export { ActorError, ActorNotFoundError, ActorUnavailableError, AskTimeoutError, RemoteError, UnhandledMessageError } from './errors.js';
export { DiskError, MemoryDisk, noDiskFaults, type BackgroundDone, type BackgroundOp, type Disk, type DiskFaults } from './disk.js';
export { NodeDisk } from './node-disk.js';
export type { ActorSet, LinkFault, LinkRule } from './faults.js';
export { createLogger, type Logger, type LogOptions } from './log.js';
export { Prng, deriveSeed, freshSeed } from './prng.js';
export { markShared } from './shared.js';
export { SimulatedSystem, type SimulatedSystemOptions } from './sim/sim-system.js';
export { ThreadedSystem, type ThreadedSystemOptions } from './threaded/threaded-system.js';
