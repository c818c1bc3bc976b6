/**
 * Entry point of every actor thread: a router on the mesh, the cells it
 * hosts, and the control surface the host drives through comlink.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadBehaviour, type Behaviour, type SpawnOptions } from '../behaviour.js';
import { ActorCell, type CellHost } from '../cell.js';
import type { DiskFaults } from '../disk.js';
import { PeerMonitors } from '../monitors.js';
import { createLogger } from '../log.js';
import { NodeDisk } from '../node-disk.js';
import { deriveSeed, Prng } from '../prng.js';
import type { Envelope } from '../protocol.js';
import type { ActorStats } from '../system.js';
import { actorsExposition } from '../metrics.js';
import { Comlink, nodeEndpoint } from './comlink.js';
import type { ActorSpec, ThreadControl, ThreadEvent, WorkerData } from './control.js';
import { Router } from './router.js';

const data = workerData as WorkerData;
const log = createLogger(data.logLevel === undefined ? {} : { level: data.logLevel as never }).child({ thread: data.threadName });
const router = new Router(data.threadId, log, new Prng(deriveSeed(data.seed, `$links:${data.threadName}`)), 0);
const pauseFlag = new Int32Array(data.pauseFlag);
lowerCpuPriority(data.cpuNiceIncrement ?? 0);
const clockOffsets = new Map<string, number>();
const disks = new Map<string, NodeDisk>();
const incarnations = new Map<string, number>();
/** Monitors set by the cells of this thread: the host broadcasts every ended incarnation, each thread tells its own. */
const monitors = new PeerMonitors<ActorCell>();

function emit(event: ThreadEvent): void {
  data.eventsPort.postMessage(event);
}

const host: CellHost = {
  seed: data.seed,
  asks: router.asks,
  now: (actor) => Date.now() + (clockOffsets.get(actor) ?? 0),
  monotonicNow: () => performance.now(),
  route: (envelope: Envelope) => router.route(envelope),
  schedule: (ms, fn) => router.schedule(ms, fn),
  flushSends: (to?: readonly string[]) => (to === undefined ? router.flushOutboxes() : router.flushOutboxesOf(to)),
  readFirstFrom: (cell, names) => router.readFirstFrom(cell.name, names),
  // The check phase comes after the poll phase has handed over every frame already waiting on the ports.
  afterArrivals: (fn) => void setImmediate(fn),
  spawnChild: (parent: string, behaviour: Behaviour, options: SpawnOptions) =>
    emit({ kind: 'spawn', parent, module: behaviour.module, behaviourId: behaviour.id, options }),
  watch: (watcher, target) => emit({ kind: 'watch', watcher, target }),
  unwatch: (watcher, target) => emit({ kind: 'unwatch', watcher, target }),
  monitor: (cell, target) => monitors.add(cell, target),
  demonitor: (cell, target) => monitors.remove(cell, target),
  exited: (cell: ActorCell, kind, error) => {
    const slot = router.local.get(cell.name);
    if (slot === undefined || slot.cell !== cell) return;
    slot.cell = undefined;
    emit({ kind: 'exited', name: cell.name, incarnation: incarnations.get(cell.name) ?? 0, exit: kind, ...(error === undefined ? {} : { error: String(error) }) });
  },
};

function diskFor(spec: ActorSpec): NodeDisk {
  let disk = disks.get(spec.name);
  if (disk === undefined) {
    const diskRandom = new Prng(deriveSeed(data.seed, `$disk:${spec.name}`));
    disk = new NodeDisk(spec.dataDir, () => diskRandom.next());
    disks.set(spec.name, disk);
  }
  // A new incarnation: what the last one asked of the disk in the background and was not begun is dropped.
  disk.dropBackground();
  disk.faults = { ...spec.diskFaults };
  return disk;
}

/** `summary: false` leaves the behaviour's `inspect` out (a metrics scrape has no use for it). */
function stats(name: string, summary = true): ActorStats {
  const slot = router.local.get(name);
  const cell = slot?.cell;
  return {
    name,
    thread: data.threadName,
    state: slot?.paused ? 'paused' : cell === undefined ? 'restarting' : cell.state,
    restarts: Math.max(0, (incarnations.get(name) ?? 1) - 1),
    mailboxDepth: slot?.held.length ?? 0,
    received: cell?.counters.received ?? 0,
    sent: cell?.counters.sent ?? 0,
    unhandled: cell?.counters.unhandled ?? 0,
    dropped: cell?.counters.dropped ?? 0,
    askTimeouts: cell?.counters.askTimeouts ?? 0,
    ticksDropped: cell?.counters.ticksDropped ?? 0,
    ...(summary ? { summary: cell?.inspect() } : {}),
  };
}

const control: ThreadControl = {
  connect: (threadId, port) => router.connect(threadId, port),
  disconnect: (threadId) => router.disconnect(threadId),
  setDirectory: (updates) => router.setDirectory(updates),
  setUnavailable: (name, reason) => router.setUnavailable(name, reason),

  async startActor(spec) {
    const behaviour = await loadBehaviour(spec.module, spec.behaviourId);
    incarnations.set(spec.name, spec.incarnation);
    clockOffsets.set(spec.name, spec.clockOffsetMs);
    const prng = new Prng(deriveSeed(data.seed, `${spec.name}#${spec.incarnation}`));
    const cell = new ActorCell(spec.name, host, diskFor(spec), log.child({ actor: spec.name }), prng);
    const slot = router.local.get(spec.name) ?? { cell: undefined, paused: false, held: [] };
    router.local.set(spec.name, slot);
    router.setDirectory([[spec.name, data.threadId]]);
    slot.cell = cell;
    try {
      cell.start(behaviour, spec.args);
    } catch (error) {
      cell.kill();
      slot.cell = undefined;
      throw error;
    }
  },

  stopActor(name) {
    const slot = router.local.get(name);
    slot?.cell?.halt('stopped');
    router.local.delete(name);
  },

  killActor(name) {
    const slot = router.local.get(name);
    slot?.cell?.kill();
    if (slot !== undefined) {
      slot.cell = undefined;
      slot.held = [];
      slot.paused = false;
    }
    disks.get(name)?.dropUnsynced();
  },

  pauseThread() {
    // Blocks this thread: timers stop, ports queue. The host clears the flag to resume.
    while (Atomics.load(pauseFlag, 0) === 1) Atomics.wait(pauseFlag, 0, 1);
  },
  pauseActor(name) {
    const slot = router.local.get(name);
    if (slot !== undefined) slot.paused = true;
  },
  resumeActor: (name) => router.releaseHeld(name),

  setLinkFaults: (rules) => router.links.replaceAll(rules),
  setClockOffset: (name, offsetMs) => void clockOffsets.set(name, offsetMs),
  setDiskFaults(name, faults: DiskFaults) {
    const disk = disks.get(name);
    if (disk !== undefined) disk.faults = { ...faults };
  },

  actorDown(name, reason, notify) {
    router.asks.failTarget(name, reason);
    if (notify === undefined) return;
    for (const watcher of notify.watchers) router.local.get(watcher)?.cell?.notifyDown(notify.event);
  },

  peerDown: (event, incarnationId) => void monitors.notify(event, incarnationId),

  injectFrame: (bytes) => router.injectFrame(0, bytes),

  inspect() {
    const names = [...router.local.keys()];
    return {
      actors: names.map((name) => stats(name)),
      thread: { thread: data.threadName, actors: names, ...router.stats },
    };
  },

  async metrics() {
    const names = [...router.local.keys()];
    const texts = await Promise.all(names.map((name) => router.local.get(name)?.cell?.metrics() ?? ''));
    return actorsExposition(names.map((name) => stats(name, false)), texts);
  },

  shutdown() {
    for (const slot of router.local.values()) slot.cell?.halt('stopped');
    router.asks.failAll('the system shut down');
    // The descriptors kept for fsyncs are the process's, not this thread's: they would outlive it.
    for (const disk of disks.values()) disk.closeSyncHandles();
    router.close();
    data.eventsPort.close();
  },
};

process.on('uncaughtException', (error) => {
  // A behaviour's stray callback threw outside a handler: log it; the thread lives on.
  log.error({ err: error }, 'uncaught exception in an actor thread');
});
process.on('unhandledRejection', (error) => {
  log.error({ err: error }, 'unhandled rejection in an actor thread');
});

if (parentPort === null) throw new Error('worker-main must run in a worker thread');
Comlink.expose(control, nodeEndpoint(parentPort));

/**
 * SpawnOptions.cpuNiceIncrement: this thread's nice value raised by `increment` (at most 19). Linux
 * schedules threads, not processes, so `setpriority` on this thread's id affects this thread alone
 * (a thread id is read from /proc/thread-self); raising one's own nice needs no privilege. Elsewhere,
 * or if the call fails, the thread runs at the process's priority and says so.
 */
function lowerCpuPriority(increment: number): void {
  if (increment <= 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    const nice = Math.min(19, getPriority(tid) + increment);
    setPriority(tid, nice);
    log.debug({ tid, nice }, 'thread CPU priority lowered');
  } catch (error) {
    log.warn({ err: error, increment }, 'could not lower the thread\'s CPU priority; it runs at the process\'s');
  }
}
