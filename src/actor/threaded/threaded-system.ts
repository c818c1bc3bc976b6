import * as fs from 'node:fs';
import { mergeExpositions } from '../../metrics/index.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ActorRef, Behaviour, DownEvent, PeerDownEvent, SpawnOptions } from '../behaviour.js';
import { noDiskFaults, type DiskFaults } from '../disk.js';
import { ActorNotFoundError } from '../errors.js';
import type { LinkFault } from '../faults.js';
import { createLogger } from '../log.js';
import { deriveSeed, freshSeed, Prng } from '../prng.js';
import { HOST_SENDER, type Message } from '../protocol.js';
import { RestartTracker } from '../supervision.js';
import type { ActorStats, ActorSystem, FaultController, ThreadStats } from '../system.js';
import { Comlink, nodeEndpoint } from './comlink.js';
import type { ActorSpec, ThreadControl, ThreadEvent, WorkerData } from './control.js';
import { HOST_THREAD, Router } from './router.js';

export interface ThreadedSystemOptions {
  /** Seed of every random choice (link faults, actors' `random()`, disk faults). Default: a fresh one; read it back from `seed`. */
  seed?: number;
  /** Where actors' disks live (one sub-directory per actor). Default: a temporary directory removed at shutdown. */
  dataDir?: string;
  /** pino level for every thread; default `LOG_LEVEL` or `info`. */
  logLevel?: string;
  logger?: Logger;
}

/** How long `inspect` waits for a busy thread before reporting it as unresponsive. */
const INSPECT_TIMEOUT_MS = 2_000;
/** How long `shutdown` lets a thread stop its actors before terminating it. */
const SHUTDOWN_GRACE_MS = 2_000;

interface ThreadHandle {
  id: number;
  name: string;
  worker: Worker;
  control: Comlink.Remote<ThreadControl>;
  pauseFlag: Int32Array;
  actors: Set<string>;
  /** Created for one actor (no `placement`): retired when that actor stops. */
  dedicated: boolean;
  state: 'up' | 'retiring' | 'dead';
  paused: boolean;
  exited: Promise<void>;
}

interface ActorRecord {
  name: string;
  module: string;
  behaviourId: string;
  args: unknown;
  tracker: RestartTracker;
  threadName: string;
  dedicated: boolean;
  /** SpawnOptions.youngGenerationMb, for a dedicated thread (every incarnation's). */
  youngGenerationMb: number | undefined;
  /** SpawnOptions.cpuNiceIncrement, for the thread this actor starts (every incarnation's). */
  cpuNiceIncrement: number | undefined;
  state: 'starting' | 'running' | 'restarting' | 'stopped';
  incarnation: number;
  /** Unique in this system for each incarnation, respawns under the same name included: how threads drop a repeated down report. */
  incarnationId: number;
  restarts: number;
  watchers: Set<string>;
  parent: string | undefined;
  children: Set<string>;
  clockOffsetMs: number;
  diskFaults: DiskFaults;
  dataDir: string;
  /** Set by `faults.restart`: restart at once, whatever the policy. */
  forceRestart: boolean;
}

/**
 * The threaded runtime: one worker thread per actor by default (or shared
 * by `placement`), a full mesh of MessageChannels between threads so the main
 * thread stays off the data path, comlink for control, and a supervisor here
 * on the main thread.
 */
export class ThreadedSystem implements ActorSystem {
  readonly runtime = 'threaded' as const;
  readonly seed: number;
  readonly faults: FaultController;
  readonly dataDir: string;
  private readonly ownsDataDir: boolean;
  private readonly router: Router;
  private readonly log: Logger;
  private readonly logLevel: string | undefined;
  private readonly threads = new Map<string, ThreadHandle>();
  private readonly actors = new Map<string, ActorRecord>();
  private readonly hostWatchers = new Map<string, Set<(event: DownEvent) => void>>();
  private readonly threadStarts = new Map<string, Promise<ThreadHandle>>();
  private nextThreadId = HOST_THREAD + 1;
  private lastIncarnationId = 0;
  private shuttingDown = false;

  constructor(options: ThreadedSystemOptions = {}) {
    this.seed = (options.seed ?? freshSeed()) >>> 0;
    this.logLevel = options.logLevel;
    this.log = options.logger ?? createLogger(options.logLevel === undefined ? {} : { level: options.logLevel as never });
    this.ownsDataDir = options.dataDir === undefined;
    this.dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-'));
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.router = new Router(HOST_THREAD, this.log.child({ thread: '$host' }), new Prng(deriveSeed(this.seed, '$links:$host')), undefined);
    this.router.setDirectory([[HOST_SENDER, HOST_THREAD]]);
    this.faults = this.makeFaultController();
  }

  // ----- ActorSystem -----

  async spawn<M extends Message, A>(behaviour: Behaviour<M, A>, options: SpawnOptions<A>): Promise<ActorRef<M>> {
    await this.spawnActor(behaviour.module, behaviour.id, options as SpawnOptions, undefined);
    return this.ref<M>(options.name);
  }

  async stop(target: ActorRef | string): Promise<void> {
    const name = typeof target === 'string' ? target : target.name;
    const record = this.actors.get(name);
    if (record === undefined || record.state === 'stopped') return;
    const thread = this.threads.get(record.threadName);
    if (thread !== undefined && thread.state === 'up') await this.call(thread, (c) => c.stopActor(name));
    await this.finish(record, 'stopped', undefined);
  }

  lookup<M extends Message = Message>(name: string): ActorRef<M> | undefined {
    const record = this.actors.get(name);
    return record !== undefined && record.state !== 'stopped' ? this.ref<M>(name) : undefined;
  }

  ref<M extends Message = Message>(name: string): ActorRef<M> {
    return this.router.makeRef(name, HOST_SENDER) as ActorRef<M>;
  }

  onDown(target: string, listener: (event: DownEvent) => void): () => void {
    let set = this.hostWatchers.get(target);
    if (set === undefined) this.hostWatchers.set(target, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  async metrics(): Promise<string> {
    const texts = await Promise.all(
      [...this.threads.values()].map((thread) => (thread.state !== 'up' || thread.paused ? undefined : withTimeout(thread.control.metrics(), INSPECT_TIMEOUT_MS))),
    );
    return mergeExpositions(texts.filter((t): t is string => t !== undefined));
  }

  async inspect(): Promise<{ actors: ActorStats[]; threads: ThreadStats[] }> {
    const actors: ActorStats[] = [];
    const threads: ThreadStats[] = [{ thread: '$host', actors: [], ...this.router.stats }];
    await Promise.all(
      [...this.threads.values()].map(async (thread) => {
        if (thread.state !== 'up') return;
        if (thread.paused) {
          for (const name of thread.actors) actors.push(this.placeholderStats(name, thread.name, 'paused'));
          return;
        }
        const result = await withTimeout(thread.control.inspect(), INSPECT_TIMEOUT_MS);
        if (result === undefined) {
          for (const name of thread.actors) actors.push(this.placeholderStats(name, thread.name, 'running'));
          return;
        }
        threads.push(result.thread);
        for (const stats of result.actors) actors.push({ ...stats, restarts: this.actors.get(stats.name)?.restarts ?? stats.restarts });
      }),
    );
    for (const record of this.actors.values()) {
      if (record.state === 'restarting' || record.state === 'stopped') {
        if (!actors.some((a) => a.name === record.name)) actors.push(this.placeholderStats(record.name, record.threadName, record.state));
      }
    }
    actors.sort((a, b) => a.name.localeCompare(b.name));
    return { actors, threads };
  }

  now(): number {
    return Date.now();
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    // A restart may be creating a thread right now (a kill just before shutdown): let it come up, so it is stopped
    // too; left out, its worker kept the process alive.
    await Promise.all([...this.threadStarts.values()].map((starting) => withTimeout(starting, SHUTDOWN_GRACE_MS)));
    const threads = [...this.threads.values()];
    for (const thread of threads) this.unpause(thread);
    await Promise.all(
      threads.map(async (thread) => {
        if (thread.state === 'dead') return;
        thread.state = 'retiring';
        await withTimeout(thread.control.shutdown(), SHUTDOWN_GRACE_MS);
        await thread.worker.terminate();
      }),
    );
    this.router.asks.failAll('the system shut down');
    this.router.close();
    this.threads.clear();
    if (this.ownsDataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  // ----- threads -----

  private ensureThread(name: string, dedicated: boolean, youngGenerationMb?: number, cpuNiceIncrement?: number): Promise<ThreadHandle> {
    const existing = this.threads.get(name);
    if (existing !== undefined && existing.state === 'up') return Promise.resolve(existing);
    let starting = this.threadStarts.get(name);
    if (starting === undefined) {
      starting = this.createThread(name, dedicated, youngGenerationMb, cpuNiceIncrement).finally(() => this.threadStarts.delete(name));
      this.threadStarts.set(name, starting);
    }
    return starting;
  }

  private async createThread(name: string, dedicated: boolean, youngGenerationMb?: number, cpuNiceIncrement?: number): Promise<ThreadHandle> {
    if (this.shuttingDown) throw new Error('the actor system is shutting down');
    const id = this.nextThreadId++;
    const events = new MessageChannel();
    const pauseBuffer = new SharedArrayBuffer(4);
    const workerData: WorkerData = { threadId: id, threadName: name, seed: this.seed, logLevel: this.logLevel, eventsPort: events.port2, pauseFlag: pauseBuffer, cpuNiceIncrement };
    const resourceLimits = youngGenerationMb === undefined ? undefined : { maxYoungGenerationSizeMb: youngGenerationMb };
    const worker = new Worker(new URL('./worker-main.js', import.meta.url), { workerData, transferList: [events.port2], name: `kubethreads:${name}`, resourceLimits });
    let markExited!: () => void;
    const thread: ThreadHandle = {
      id,
      name,
      worker,
      control: Comlink.wrap<ThreadControl>(nodeEndpoint(worker)),
      pauseFlag: new Int32Array(pauseBuffer),
      actors: new Set(),
      dedicated,
      state: 'up',
      paused: false,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
    };
    events.port1.on('message', (event: ThreadEvent) => this.onThreadEvent(event));
    worker.on('error', (error) => this.log.error({ thread: name, err: error }, 'actor thread failed'));
    worker.on('exit', (code) => {
      events.port1.close();
      this.onThreadExit(thread, code);
      markExited();
    });

    // The mesh: a direct channel to the host and to every live thread.
    const toHost = new MessageChannel();
    this.router.connect(id, toHost.port1);
    await thread.control.connect(HOST_THREAD, Comlink.transfer(toHost.port2, [toHost.port2]));
    await Promise.all(
      [...this.threads.values()]
        .filter((other) => other.state === 'up')
        .map(async (other) => {
          const channel = new MessageChannel();
          await Promise.all([
            this.call(other, (c) => c.connect(id, Comlink.transfer(channel.port1, [channel.port1]))),
            thread.control.connect(other.id, Comlink.transfer(channel.port2, [channel.port2])),
          ]);
        }),
    );
    const directory: [string, number | null][] = [];
    for (const record of this.actors.values()) {
      const host = this.threads.get(record.threadName);
      if (record.state !== 'stopped' && host !== undefined && host.state === 'up') directory.push([record.name, host.id]);
    }
    await thread.control.setDirectory(directory);
    const rules = this.router.links.list();
    if (rules.length > 0) await thread.control.setLinkFaults(rules);
    this.threads.set(name, thread);
    // Issued in the same turn as the line above: a restart that completes later broadcasts its "up" to this thread too, after these.
    const restarting = [...this.actors.values()].filter((r) => r.state === 'restarting');
    await Promise.all(restarting.map((r) => thread.control.setUnavailable(r.name, NOT_SENT_RESTARTING)));
    return thread;
  }

  /** Call a thread's control unless it is paused (a paused thread answers only after resume: do not wait for it). */
  private async call(thread: ThreadHandle, fn: (control: Comlink.Remote<ThreadControl>) => Promise<unknown>): Promise<void> {
    const pending = fn(thread.control).catch((error: unknown) => {
      if (thread.state === 'up') this.log.warn({ thread: thread.name, err: error }, 'control call failed');
    });
    if (!thread.paused) await pending;
  }

  private async broadcast(fn: (control: Comlink.Remote<ThreadControl>) => Promise<unknown>): Promise<void> {
    await Promise.all([...this.threads.values()].filter((t) => t.state === 'up').map((t) => this.call(t, fn)));
  }

  /**
   * Tell every thread where actors live. Updates made in one turn go out as
   * one broadcast: a cluster spawning 3,000 node actors at once sent 3,000
   * control calls to each of its threads, most of the main thread's work in
   * start-up. Each caller's promise settles once its batch reached every thread.
   */
  private setDirectory(updates: [string, number | null][]): Promise<void> {
    this.router.setDirectory(updates);
    let batch = this.directoryBatch;
    if (batch === undefined) {
      const pending: [string, number | null][] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        // Later updates start the next batch, broadcast after this one (control calls to a thread are handled in order).
        this.directoryBatch = undefined;
        return this.broadcast((c) => c.setDirectory(pending));
      });
      this.directoryBatch = batch = { updates: pending, done };
    }
    batch.updates.push(...updates);
    return batch.done;
  }

  private directoryBatch: { updates: [string, number | null][]; done: Promise<void> } | undefined;

  private onThreadExit(thread: ThreadHandle, code: number): void {
    const wasRetiring = thread.state === 'retiring';
    thread.state = 'dead';
    if (this.threads.get(thread.name) === thread) this.threads.delete(thread.name);
    this.router.disconnect(thread.id);
    if (this.shuttingDown) return;
    void this.broadcast((c) => c.disconnect(thread.id));
    if (wasRetiring) return;
    this.log.warn({ thread: thread.name, code }, 'actor thread exited');
    for (const name of thread.actors) {
      const record = this.actors.get(name);
      if (record !== undefined && record.state !== 'stopped') void this.handleExit(record, 'killed', undefined);
    }
    thread.actors.clear();
  }

  private retireIfIdle(thread: ThreadHandle | undefined): void {
    if (thread === undefined || !thread.dedicated || thread.actors.size > 0 || thread.state !== 'up') return;
    thread.state = 'retiring';
    void withTimeout(thread.control.shutdown(), SHUTDOWN_GRACE_MS).finally(() => thread.worker.terminate());
  }

  private unpause(thread: ThreadHandle): void {
    if (!thread.paused) return;
    thread.paused = false;
    Atomics.store(thread.pauseFlag, 0, 0);
    Atomics.notify(thread.pauseFlag, 0);
  }

  // ----- actors and supervision -----

  private async spawnActor(module: string, behaviourId: string, options: SpawnOptions, parent: string | undefined): Promise<void> {
    const existing = this.actors.get(options.name);
    if (existing !== undefined && existing.state !== 'stopped') throw new Error(`an actor named ${options.name} already exists; names are unique`);
    if (options.name.startsWith('$')) throw new Error(`actor names starting with $ are reserved (got ${options.name})`);
    const young = options.youngGenerationMb;
    if (young !== undefined && !(Number.isFinite(young) && young > 0)) throw new Error(`youngGenerationMb must be a positive number of MB (got ${young} for ${options.name})`);
    const nice = options.cpuNiceIncrement;
    if (nice !== undefined && !(Number.isInteger(nice) && nice >= 0 && nice <= 19)) throw new Error(`cpuNiceIncrement must be an integer from 0 to 19 (got ${nice} for ${options.name})`);
    const record: ActorRecord = {
      name: options.name,
      module,
      behaviourId,
      args: options.args,
      tracker: new RestartTracker(options.supervision),
      threadName: options.placement ?? options.name,
      dedicated: options.placement === undefined,
      youngGenerationMb: options.placement === undefined ? options.youngGenerationMb : undefined,
      cpuNiceIncrement: options.cpuNiceIncrement,
      state: 'starting',
      incarnation: 0,
      incarnationId: 0,
      restarts: 0,
      watchers: new Set(),
      parent,
      children: new Set(),
      clockOffsetMs: existing?.clockOffsetMs ?? 0,
      diskFaults: existing?.diskFaults ?? { ...noDiskFaults },
      dataDir: path.join(this.dataDir, options.name),
      forceRestart: false,
    };
    this.actors.set(record.name, record);
    if (parent !== undefined) this.actors.get(parent)?.children.add(record.name);
    await this.startIncarnation(record);
  }

  private async startIncarnation(record: ActorRecord): Promise<void> {
    const thread = await this.ensureThread(record.threadName, record.dedicated, record.youngGenerationMb, record.cpuNiceIncrement);
    thread.actors.add(record.name);
    record.incarnation++;
    record.incarnationId = ++this.lastIncarnationId;
    record.state = 'starting';
    await this.setDirectory([[record.name, thread.id]]);
    const spec: ActorSpec = {
      name: record.name,
      module: record.module,
      behaviourId: record.behaviourId,
      args: record.args,
      dataDir: record.dataDir,
      incarnation: record.incarnation,
      clockOffsetMs: record.clockOffsetMs,
      diskFaults: record.diskFaults,
    };
    try {
      await thread.control.startActor(spec);
      record.state = 'running';
      // Only a restart marked it: a first start costs no broadcast (a cluster spawns thousands of actors).
      if (this.router.isUnavailable(record.name)) await this.markUnavailable(record.name, null);
    } catch (error) {
      this.log.error({ actor: record.name, err: error }, 'actor failed to start');
      await this.handleExit(record, 'crashed', String(error));
    }
  }

  private onThreadEvent(event: ThreadEvent): void {
    switch (event.kind) {
      case 'exited': {
        const record = this.actors.get(event.name);
        if (record === undefined || record.incarnation !== event.incarnation || record.state === 'stopped') return;
        void this.handleExit(record, event.exit, event.error);
        return;
      }
      case 'spawn':
        this.spawnActor(event.module, event.behaviourId, event.options, event.parent).catch((error: unknown) =>
          this.log.error({ parent: event.parent, child: event.options.name, err: error }, 'spawning a child failed'),
        );
        return;
      case 'watch': {
        const target = this.actors.get(event.target);
        if (target === undefined || target.state === 'stopped') {
          void this.notifyDown([event.watcher], { name: event.target, reason: 'stopped' });
          return;
        }
        target.watchers.add(event.watcher);
        return;
      }
      case 'unwatch':
        this.actors.get(event.target)?.watchers.delete(event.watcher);
        return;
      default: {
        const unknown: never = event;
        this.log.warn({ event: unknown }, 'ignored an unknown thread event');
      }
    }
  }

  /**
   * Tell every router (this one first) that asks to `name` fail at once with
   * `reason` (between incarnations), or that it answers again (`null`).
   */
  private async markUnavailable(name: string, reason: string | null): Promise<void> {
    this.router.setUnavailable(name, reason);
    await this.broadcast((c) => c.setUnavailable(name, reason));
  }

  private async handleExit(record: ActorRecord, kind: 'stopped' | 'crashed' | 'killed', error: string | undefined): Promise<void> {
    if (record.state === 'stopped') return;
    record.state = 'restarting';
    if (!this.shuttingDown) {
      void this.markUnavailable(record.name, NOT_SENT_RESTARTING);
      this.peerDown(record, kind);
    }
    if (kind === 'killed') {
      // Nobody is left to answer what was asked of it: fail those asks now, everywhere.
      this.router.asks.failTarget(record.name, 'killed');
      await this.broadcast((c) => c.actorDown(record.name, 'killed', undefined));
    }
    if (this.shuttingDown) return;
    if (record.forceRestart) {
      record.forceRestart = false;
      record.restarts++;
      await this.startIncarnation(record);
      return;
    }
    const decision = record.tracker.onExit(kind, Date.now());
    if (decision.restart) {
      const incarnation = record.incarnation;
      setTimeout(() => {
        if (record.state !== 'restarting' || record.incarnation !== incarnation || this.shuttingDown) return;
        record.restarts++;
        void this.startIncarnation(record);
      }, decision.delayMs);
      return;
    }
    await this.finish(record, decision.reason === 'restart-budget-exhausted' ? 'restart-budget-exhausted' : kind, error);
  }

  private async finish(record: ActorRecord, reason: DownEvent['reason'], error: string | undefined): Promise<void> {
    if (record.state === 'stopped') return;
    // A stop that ended a running incarnation (a kill or crash already told of theirs; threads drop the repeat).
    if (!this.shuttingDown) this.peerDown(record, reason === 'stopped' ? 'stopped' : reason === 'killed' ? 'killed' : 'crashed');
    record.state = 'stopped';
    // Stopped for good: the directory forgets it and asks get ActorNotFoundError, not "restarting".
    if (this.router.isUnavailable(record.name)) void this.markUnavailable(record.name, null);
    const thread = this.threads.get(record.threadName);
    thread?.actors.delete(record.name);
    await this.setDirectory([[record.name, null]]);
    this.retireIfIdle(thread);
    for (const child of record.children) await this.stop(child);
    const event: DownEvent = error === undefined ? { name: record.name, reason } : { name: record.name, reason, error };
    await this.notifyDown([...record.watchers], event);
    record.watchers.clear();
    for (const listener of this.hostWatchers.get(record.name) ?? []) listener(event);
  }

  /** Tell every thread's monitors that the current incarnation of `record` ended (not awaited: nothing waits on it). */
  private peerDown(record: ActorRecord, reason: PeerDownEvent['reason']): void {
    const event: PeerDownEvent = { name: record.name, reason };
    const incarnationId = record.incarnationId;
    void this.broadcast((c) => c.peerDown(event, incarnationId));
  }

  private async notifyDown(watchers: string[], event: DownEvent): Promise<void> {
    const byThread = new Map<ThreadHandle, string[]>();
    for (const watcher of watchers) {
      const record = this.actors.get(watcher);
      const thread = record === undefined ? undefined : this.threads.get(record.threadName);
      if (thread === undefined || thread.state !== 'up') continue;
      byThread.set(thread, [...(byThread.get(thread) ?? []), watcher]);
    }
    await Promise.all([...byThread].map(([thread, names]) => this.call(thread, (c) => c.actorDown(event.name, event.reason, { watchers: names, event }))));
  }

  private placeholderStats(name: string, thread: string, state: ActorStats['state']): ActorStats {
    return { name, thread, state, restarts: this.actors.get(name)?.restarts ?? 0, mailboxDepth: 0, received: 0, sent: 0, unhandled: 0, dropped: 0, askTimeouts: 0, ticksDropped: 0 };
  }

  private recordOrThrow(name: string): { record: ActorRecord; thread: ThreadHandle | undefined } {
    const record = this.actors.get(name);
    if (record === undefined || record.state === 'stopped') throw new ActorNotFoundError(name);
    return { record, thread: this.threads.get(record.threadName) };
  }

  private async kill(name: string, restartNow: boolean): Promise<void> {
    const { record, thread } = this.recordOrThrow(name);
    record.forceRestart = restartNow;
    if (thread === undefined || thread.state !== 'up') return;
    // Whatever it was asked will not be answered: fail those asks, and new ones, now rather than once the
    // thread has gone (terminating a busy thread takes hundreds of ms on a loaded machine).
    this.router.asks.failTarget(name, 'killed');
    // Not awaited: the kill itself must not wait for every thread to hear of it.
    // The mark's reason must not say "killed": an ask refused at its sender was never delivered, and callers
    // (the kv client) read "killed" as "it may have been handled".
    void Promise.all([this.markUnavailable(name, NOT_SENT_DOWN), this.broadcast((c) => c.actorDown(name, 'killed', undefined))]);
    // Its monitors hear of it now, as peers of a killed process see its connections close at once.
    this.peerDown(record, 'killed');
    if (thread.actors.size === 1) {
      // Its own thread: terminate it for real; the exit handler runs supervision.
      this.unpause(thread);
      await thread.worker.terminate();
      await thread.exited;
      return;
    }
    await this.call(thread, (c) => c.killActor(name));
    await this.handleExit(record, 'killed', undefined);
  }

  private makeFaultController(): FaultController {
    const publishLinks = (): Promise<void> => {
      const rules = this.router.links.list();
      return this.broadcast((c) => c.setLinkFaults(rules));
    };
    return {
      link: async (fault: LinkFault) => {
        const id = this.router.links.add(fault);
        await publishLinks();
        return id;
      },
      partition: async (a, b) => {
        const ids = this.router.links.partition(a, b);
        await publishLinks();
        return ids;
      },
      heal: async (ids) => {
        if (ids === undefined) this.router.links.clear();
        else for (const id of typeof ids === 'number' ? [ids] : ids) this.router.links.remove(id);
        await publishLinks();
      },
      links: () => this.router.links.list(),
      kill: (name) => this.kill(name, false),
      restart: (name) => this.kill(name, true),
      pause: async (name) => {
        const { thread } = this.recordOrThrow(name);
        if (thread === undefined || thread.state !== 'up') return;
        if (thread.actors.size === 1) {
          if (thread.paused) return;
          thread.paused = true;
          Atomics.store(thread.pauseFlag, 0, 1);
          void thread.control.pauseThread();
          return;
        }
        await this.call(thread, (c) => c.pauseActor(name));
      },
      resume: async (name) => {
        const { thread } = this.recordOrThrow(name);
        if (thread === undefined || thread.state !== 'up') return;
        if (thread.paused) this.unpause(thread);
        else await this.call(thread, (c) => c.resumeActor(name));
      },
      clockOffset: async (name, offsetMs) => {
        const { record, thread } = this.recordOrThrow(name);
        record.clockOffsetMs = offsetMs;
        if (thread !== undefined && thread.state === 'up') await this.call(thread, (c) => c.setClockOffset(name, offsetMs));
      },
      disk: async (name, faults) => {
        const { record, thread } = this.recordOrThrow(name);
        record.diskFaults = { ...record.diskFaults, ...faults };
        const armed = record.diskFaults;
        if (thread !== undefined && thread.state === 'up') await this.call(thread, (c) => c.setDiskFaults(name, armed));
      },
      injectFrame: async (name, bytes) => {
        const { thread } = this.recordOrThrow(name);
        if (thread !== undefined && thread.state === 'up') await this.call(thread, (c) => c.injectFrame(bytes));
      },
    };
  }
}

/** Reasons of asks refused at their sender (never delivered) while the target is going down or restarting. */
const NOT_SENT_DOWN = 'going down (the ask was not sent)';
const NOT_SENT_RESTARTING = 'restarting';

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
