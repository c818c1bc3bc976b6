import type { MessagePort } from 'node:worker_threads';
import type { DownEvent, PeerDownEvent, SpawnOptions } from '../behaviour.js';
import type { DiskFaults } from '../disk.js';
import type { LinkRule } from '../faults.js';
import type { ActorStats, ThreadStats } from '../system.js';

/** Everything the host needs to start one incarnation of an actor in a thread. */
export interface ActorSpec {
  name: string;
  module: string;
  behaviourId: string;
  args: unknown;
  dataDir: string;
  incarnation: number;
  clockOffsetMs: number;
  diskFaults: DiskFaults;
}

/** Data given to a new worker thread. */
export interface WorkerData {
  threadId: number;
  threadName: string;
  seed: number;
  logLevel: string | undefined;
  /** Thread → host events (exits, spawns, watches). */
  eventsPort: MessagePort;
  /** Int32 flag the thread blocks on while paused. */
  pauseFlag: SharedArrayBuffer;
  /** SpawnOptions.cpuNiceIncrement of the actor that started the thread: added to its nice value at start (Linux). */
  cpuNiceIncrement?: number;
}

/** The host's control over a thread, called through comlink. Not on the data path. */
export interface ThreadControl {
  connect(threadId: number, port: MessagePort): void;
  disconnect(threadId: number): void;
  setDirectory(updates: [string, number | null][]): void;
  /** Mark an actor as down between incarnations (`reason`), or up again (`null`): asks to a marked one fail at their sender. */
  setUnavailable(name: string, reason: string | null): void;
  /** Start an incarnation; rejects with the factory's error (the host treats that as a crash). */
  startActor(spec: ActorSpec): Promise<void>;
  stopActor(name: string): void;
  /** Discard an actor co-hosted with others (a kill that cannot terminate the shared thread). */
  killActor(name: string): void;
  /** Block the whole thread until the host clears the pause flag. */
  pauseThread(): void;
  pauseActor(name: string): void;
  resumeActor(name: string): void;
  setLinkFaults(rules: LinkRule[]): void;
  setClockOffset(name: string, offsetMs: number): void;
  setDiskFaults(name: string, faults: DiskFaults): void;
  /** Asks waiting on `name` fail; local watchers get `event` when given. */
  actorDown(name: string, reason: string, notify: { watchers: string[]; event: DownEvent } | undefined): void;
  /** The incarnation `incarnationId` (unique in the system) of `event.name` ended: this thread's monitors of it are told, once per incarnation. */
  peerDown(event: PeerDownEvent, incarnationId: number): void;
  injectFrame(bytes: Uint8Array): void;
  inspect(): { actors: ActorStats[]; thread: ThreadStats };
  /** The series of the actors this thread hosts (runtime and behaviours'), as text exposition. */
  metrics(): Promise<string>;
  shutdown(): void;
}

/** Thread → host notices. */
export type ThreadEvent =
  | { kind: 'exited'; name: string; incarnation: number; exit: 'stopped' | 'crashed'; error?: string }
  | { kind: 'spawn'; parent: string; module: string; behaviourId: string; options: SpawnOptions }
  | { kind: 'watch'; watcher: string; target: string }
  | { kind: 'unwatch'; watcher: string; target: string };
