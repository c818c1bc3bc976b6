/**
 * The CRI server every runtime shares: it owns the RuntimeStore and answers
 * the protocol, and asks a RuntimeBackend for what differs between runtimes
 * (how a pod gets its IP, what pulling and starting mean, how a container is
 * stopped, where logs live). Backends report exits and new log bytes through
 * RuntimeEvents. Time and timers come from the actor context only.
 */
import { markShared, unhandled, type ActorContext, type Handlers, type Message, type ReceiveMeta } from '../../../actor/index.js';
import {
  CRI_REQUEST_TYPES,
  EXIT_CODE_CANNOT_RUN,
  LOG_READ_BYTES_MAX,
  LOG_WAIT_MS_MAX,
  criError,
  type ContainerConfig,
  type ContainerEventMsg,
  type ContainerEventType,
  type ContainerExitReason,
  type ContainerLogsReply,
  type ContainerLogsRequest,
  type CriError,
  type CriReplies,
  type CriReply,
  type CriRequest,
  type CriRequestType,
  type CriRequests,
  type CriResult,
  type PodSandboxConfig,
} from '../../cri/protocol.js';
import { RuntimeStore, containerStatus, sandboxStatus, type ContainerRecord, type SandboxRecord } from './store.js';

/** Long-polling log readers held at once; each holds an open ask, and a runaway follower must not grow memory without bound. */
export const LOG_WAITS_MAX = 1_000;
/** How often followers of logs written by other processes re-check the file: a tenth of a second feels live to `kubectl logs -f`. */
export const LOG_POLL_MS = 100;

export type CoreInternalMsg = Message<'cri.wake', { waitId: number }> | Message<'cri.logpoll', null>;

export interface RuntimeEvents {
  /** The container ended. Later reports for the same container are ignored. */
  exited(containerId: string, exitCode: number, reason?: ContainerExitReason, message?: string): void;
  /** The container's log grew: wakes its followers. */
  logAppended(containerId: string): void;
  readonly store: RuntimeStore;
}

export type MaybePromise<T> = T | Promise<T>;

export interface LogSlice {
  data: string;
  nextOffsetBytes: number;
}

/** What a runtime must provide. Methods that return a CriResult report expected failures as values. */
export interface RuntimeBackend<I extends Message = never> {
  readonly runtimeName: string;
  readonly runtimeVersion: string;
  /** Logs are written by someone else (a child process): followers must poll instead of waiting for `logAppended`. */
  readonly pollLogs: boolean;
  /** Give the pod its network: its IP. */
  runSandbox(config: PodSandboxConfig): CriResult<{ ip: string }>;
  /** Undo `runSandbox` (called once per sandbox, after its containers stopped). */
  releaseSandbox(sandbox: SandboxRecord): void;
  pullImage(image: string, sandboxConfig: PodSandboxConfig | undefined): MaybePromise<CriResult<{ imageRef: string }>>;
  /** The image's ref when it is present on the node. */
  imageRef(image: string): string | undefined;
  /** Can this config run here? Checked at CreateContainer, with no side effects. */
  validateContainer(config: ContainerConfig, sandbox: SandboxRecord): CriError | undefined;
  /** Start it. A failure is reported as a value (the container is then EXITED with ContainerCannotRun). */
  startContainer(container: ContainerRecord, sandbox: SandboxRecord): MaybePromise<CriResult>;
  /** Called once the container is RUNNING in the store. */
  started?(container: ContainerRecord, sandbox: SandboxRecord): void;
  /** Ask a RUNNING container to stop and kill it after `timeoutMs`; it must end in `events.exited`. */
  stopContainer(container: ContainerRecord, timeoutMs: number): void;
  /** Forget an EXITED container and its log. */
  removeContainer(container: ContainerRecord): void;
  readLog(container: ContainerRecord, offsetBytes: number, limitBytes: number): LogSlice;
  logSizeBytes(container: ContainerRecord): number;
  /** Byte offset where the last `lines` lines of the log begin. */
  tailOffset(container: ContainerRecord, lines: number): number;
  /** The backend's own messages (its timers); `unhandled` for a type it does not know. */
  receive?(msg: I): unknown;
  /** The actor is stopping normally. */
  stop?(): void;
  inspect?(): Record<string, unknown>;
}

const REQUEST_TYPES = new Set<string>(CRI_REQUEST_TYPES);

export function isCriRequest(msg: Message): msg is CriRequest {
  return REQUEST_TYPES.has(msg.type);
}

/** No filter, or one that selects nothing out. */
function isEmptyFilter(filter: object | undefined): boolean {
  if (filter === undefined || filter === null) return true;
  for (const key in filter) if ((filter as Record<string, unknown>)[key] !== undefined) return false;
  return true;
}

function ok<T extends object>(value: T): { ok: true } & T {
  return { ok: true, ...value };
}

/** A fresh id: 16 hex digits from the actor's seeded stream, so sim runs replay exactly. */
export function randomId(random: () => number): string {
  const hi = Math.floor(random() * 0x1_0000_0000);
  const lo = Math.floor(random() * 0x1_0000_0000);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/**
 * Build the handlers of a runtime actor. `makeBackend` receives the events
 * the backend reports through, so backend and server can be wired in one go.
 */
export function serveCri<I extends Message>(
  ctx: ActorContext<Message>,
  makeBackend: (events: RuntimeEvents) => RuntimeBackend<I>,
): Handlers<CriRequest | CoreInternalMsg | I> {
  const server = new CriServer<I>(ctx, makeBackend);
  return {
    receive: (msg, meta) => server.receive(msg as CriRequest | CoreInternalMsg | I, meta),
    onStop: () => server.backend.stop?.(),
    inspect: () => server.inspect(),
  };
}

interface LogWait {
  containerId: string;
  wake: () => void;
}

class CriServer<I extends Message> {
  readonly store = new RuntimeStore();
  readonly backend: RuntimeBackend<I>;
  private readonly released = new Set<string>();
  private readonly waits = new Map<number, LogWait>();
  private nextWaitId = 1;
  private pollArmed = false;
  /**
   * The unfiltered lists as of a store revision, marked shared: the kubelet's
   * PLEG asks for both every relist period and they rarely change, so the
   * simulated runtime hands every relist the same frozen copy instead of
   * building and copying a node's worth of statuses each time.
   */
  private readonly lists = new Map<'containers' | 'sandboxes', { revision: number; reply: object }>();
  /** Who asked GetContainerEvents of this incarnation, in the order they asked: each is sent every container event. */
  private readonly eventSubscribers: string[] = [];

  constructor(
    private readonly ctx: ActorContext<Message>,
    makeBackend: (events: RuntimeEvents) => RuntimeBackend<I>,
  ) {
    const events: RuntimeEvents = {
      store: this.store,
      exited: (id, exitCode, reason, message) => {
        if (this.store.markExited(id, this.ctx.now(), exitCode, reason, message)) this.wakeFollowers(id);
      },
      logAppended: (id) => this.wakeFollowers(id),
    };
    this.backend = makeBackend(events);
    this.store.onContainerChange = (c, type) => this.containerEvent(c, type);
  }

  /** The GetContainerEvents stream: one message per transition, in order, to every subscriber. */
  private containerEvent(c: ContainerRecord, type: ContainerEventType): void {
    if (this.eventSubscribers.length === 0) return;
    const podUid = this.store.sandbox(c.podSandboxId)?.config.metadata.uid ?? '';
    const status = containerStatus(c);
    const createdAtMs = this.ctx.now();
    for (const to of this.eventSubscribers) this.ctx.send(to, { type: 'cri.containerEvent', body: { type, podUid, status, createdAtMs } } satisfies ContainerEventMsg);
  }

  receive(msg: CriRequest | CoreInternalMsg | I, meta?: ReceiveMeta): unknown {
    if (msg.type === 'GetContainerEvents') {
      const from = meta?.from;
      if (from === undefined || from === '') return criError('InvalidArgument', 'GetContainerEvents needs a sender to stream the events to');
      if (!this.eventSubscribers.includes(from)) this.eventSubscribers.push(from);
      return ok({});
    }
    if (isCriRequest(msg)) return this.handle(msg);
    const internal = msg as CoreInternalMsg;
    if (internal.type === 'cri.wake') {
      this.waits.get(internal.body.waitId)?.wake();
      return null;
    }
    if (internal.type === 'cri.logpoll') {
      this.pollArmed = false;
      for (const wait of [...this.waits.values()]) wait.wake();
      return null;
    }
    // Not `?? unhandled`: a backend's handled message may well answer null.
    return this.backend.receive === undefined ? unhandled : this.backend.receive(msg as I);
  }

  inspect(): Record<string, unknown> {
    return { runtime: this.backend.runtimeName, sandboxes: this.store.sandboxCount, containers: this.store.containerCount, logWaits: this.waits.size, eventSubscribers: this.eventSubscribers.length, ...this.backend.inspect?.() };
  }

  private handle(msg: CriRequest): MaybePromise<CriReply<CriRequestType>> {
    switch (msg.type) {
      case 'Version':
        return ok({ runtimeName: this.backend.runtimeName, runtimeVersion: this.backend.runtimeVersion, runtimeApiVersion: 'v1' as const });
      case 'RunPodSandbox':
        return this.runPodSandbox(msg.body);
      case 'StopPodSandbox':
        return this.stopPodSandbox(msg.body);
      case 'RemovePodSandbox':
        return this.removePodSandbox(msg.body);
      case 'PodSandboxStatus': {
        const s = this.store.sandbox(msg.body.podSandboxId);
        return s === undefined ? notFoundSandbox(msg.body.podSandboxId) : ok({ status: sandboxStatus(s) });
      }
      case 'ListPodSandbox':
        if (isEmptyFilter(msg.body.filter)) return this.wholeList('sandboxes', () => ok({ items: this.store.listSandboxes().map(sandboxStatus) }));
        return ok({ items: this.store.listSandboxes(msg.body.filter).map(sandboxStatus) });
      case 'PullImage':
        return this.backend.pullImage(msg.body.image, msg.body.sandboxConfig);
      case 'ImageStatus': {
        const imageRef = this.backend.imageRef(msg.body.image);
        return ok(imageRef === undefined ? {} : { imageRef });
      }
      case 'CreateContainer':
        return this.createContainer(msg.body);
      case 'StartContainer':
        return this.startContainer(msg.body);
      case 'StopContainer':
        return this.stopContainer(msg.body);
      case 'RemoveContainer':
        return this.removeContainer(msg.body);
      case 'ContainerStatus': {
        const c = this.store.container(msg.body.containerId);
        return c === undefined ? notFoundContainer(msg.body.containerId) : ok({ status: containerStatus(c) });
      }
      case 'ListContainers':
        if (isEmptyFilter(msg.body.filter)) return this.wholeList('containers', () => ok({ items: this.store.listContainers().map(containerStatus) }));
        return ok({ items: this.store.listContainers(msg.body.filter).map(containerStatus) });
      case 'ContainerLogs':
        return this.containerLogs(msg.body);
      case 'GetContainerEvents':
        // Answered in `receive`, which knows the sender.
        return criError('Internal', 'GetContainerEvents is answered where the sender is known');
      default: {
        const never: never = msg;
        throw new Error(`unreachable: ${JSON.stringify(never)}`);
      }
    }
  }

  private wholeList<R extends object>(kind: 'containers' | 'sandboxes', build: () => R): R {
    const cached = this.lists.get(kind);
    if (cached !== undefined && cached.revision === this.store.revision) return cached.reply as R;
    const reply = markShared(build());
    this.lists.set(kind, { revision: this.store.revision, reply });
    return reply;
  }

  private runPodSandbox(body: CriRequests['RunPodSandbox']): CriReply<'RunPodSandbox'> {
    const config = body.config;
    if (typeof config?.metadata?.uid !== 'string' || config.metadata.uid === '' || typeof config.metadata.name !== 'string') {
      return criError('InvalidArgument', 'RunPodSandbox needs config.metadata with name, namespace, uid and attempt');
    }
    const existing = this.store.findSandbox(config.metadata);
    if (existing !== undefined && existing.state === 'SANDBOX_READY') return ok({ podSandboxId: existing.id, ip: existing.ip });
    if (!this.store.canAddSandbox()) return criError('ResourceExhausted', `this runtime already holds ${this.store.sandboxCount} pods; remove some first`);
    const network = this.backend.runSandbox(config);
    if (!network.ok) return network;
    const sandbox = this.store.addSandbox(this.newId(), config, network.ip, this.ctx.now());
    return ok({ podSandboxId: sandbox.id, ip: sandbox.ip });
  }

  private async stopPodSandbox(body: CriRequests['StopPodSandbox']): Promise<CriReply<'StopPodSandbox'>> {
    const s = this.store.sandbox(body.podSandboxId);
    if (s === undefined) return notFoundSandbox(body.podSandboxId);
    await this.stopAll(s, Math.max(0, body.gracePeriodMs ?? 0));
    if (this.store.sandbox(s.id) === undefined) return ok({});
    this.store.markSandboxNotReady(s.id);
    this.release(s);
    return ok({});
  }

  private async removePodSandbox(body: CriRequests['RemovePodSandbox']): Promise<CriReply<'RemovePodSandbox'>> {
    const s = this.store.sandbox(body.podSandboxId);
    if (s === undefined) return ok({});
    await this.stopAll(s, 0);
    for (const id of [...s.containerIds]) this.forget(id);
    this.release(s);
    this.store.removeSandbox(s.id);
    this.released.delete(s.id);
    return ok({});
  }

  private async stopAll(s: SandboxRecord, gracePeriodMs: number): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of s.containerIds) {
      const c = this.store.container(id)!;
      if (c.state === 'CONTAINER_CREATED') this.store.markExited(id, this.ctx.now(), 0, 'Completed', 'stopped before it started');
      if (c.state !== 'CONTAINER_RUNNING') continue;
      this.backend.stopContainer(c, gracePeriodMs);
      waits.push(this.store.whenExited(id));
    }
    await Promise.all(waits);
  }

  private release(s: SandboxRecord): void {
    if (this.released.has(s.id)) return;
    this.released.add(s.id);
    this.backend.releaseSandbox(s);
  }

  private createContainer(body: CriRequests['CreateContainer']): CriReply<'CreateContainer'> {
    const s = this.store.sandbox(body.podSandboxId);
    if (s === undefined) return notFoundSandbox(body.podSandboxId);
    if (s.state !== 'SANDBOX_READY') return criError('FailedPrecondition', `pod sandbox ${s.id} is stopped; run a new sandbox for new containers`);
    const config = body.config;
    if (typeof config?.metadata?.name !== 'string' || typeof config.image !== 'string') {
      return criError('InvalidArgument', 'CreateContainer needs config.metadata.name and config.image');
    }
    for (const id of s.containerIds) {
      const other = this.store.container(id)!;
      if (other.config.metadata.name === config.metadata.name && other.config.metadata.attempt === config.metadata.attempt) {
        return criError('AlreadyExists', `container ${config.metadata.name} attempt ${config.metadata.attempt} already exists in pod ${s.id} as ${id}; raise the attempt`);
      }
    }
    if (!this.store.canAddContainer(s.id)) return criError('ResourceExhausted', `pod ${s.id} holds too many containers; remove dead ones`);
    const imageRef = this.backend.imageRef(config.image);
    if (imageRef === undefined) return criError('FailedPrecondition', `image ${config.image} is not present on this node; PullImage it first`);
    const invalid = this.backend.validateContainer(config, s);
    if (invalid !== undefined) return { ok: false, error: invalid };
    const c = this.store.addContainer(this.newId(), s.id, config, imageRef, this.ctx.now());
    return ok({ containerId: c.id });
  }

  private async startContainer(body: CriRequests['StartContainer']): Promise<CriReply<'StartContainer'>> {
    const c = this.store.container(body.containerId);
    if (c === undefined) return notFoundContainer(body.containerId);
    if (c.state !== 'CONTAINER_CREATED') return criError('FailedPrecondition', `container ${c.id} is ${c.state}; only a created container can start (create a new attempt to restart)`);
    const s = this.store.sandbox(c.podSandboxId)!;
    const pending = this.backend.startContainer(c, s);
    const result = pending instanceof Promise ? await pending : pending;
    if (!result.ok) {
      this.store.markExited(c.id, this.ctx.now(), EXIT_CODE_CANNOT_RUN, 'ContainerCannotRun', result.error.message);
      this.wakeFollowers(c.id);
      return result;
    }
    if (this.store.container(c.id) !== c || c.state !== 'CONTAINER_CREATED') {
      // Stopped or removed while it was starting: the start lost the race.
      return criError('FailedPrecondition', `container ${c.id} was stopped while it was starting`);
    }
    this.store.markRunning(c.id, this.ctx.now());
    this.backend.started?.(c, s);
    return ok({});
  }

  private async stopContainer(body: CriRequests['StopContainer']): Promise<CriReply<'StopContainer'>> {
    const c = this.store.container(body.containerId);
    if (c === undefined) return notFoundContainer(body.containerId);
    const timeoutMs = Math.max(0, body.timeoutMs ?? 0);
    if (c.state === 'CONTAINER_CREATED') {
      this.store.markExited(c.id, this.ctx.now(), 0, 'Completed', 'stopped before it started');
    } else if (c.state === 'CONTAINER_RUNNING') {
      this.backend.stopContainer(c, timeoutMs);
      await this.store.whenExited(c.id);
    }
    return ok({ status: containerStatus(c) });
  }

  private async removeContainer(body: CriRequests['RemoveContainer']): Promise<CriReply<'RemoveContainer'>> {
    const c = this.store.container(body.containerId);
    if (c === undefined) return ok({});
    if (c.state === 'CONTAINER_CREATED') this.store.markExited(c.id, this.ctx.now(), 0, 'Completed', 'removed before it started');
    if (c.state === 'CONTAINER_RUNNING') {
      this.backend.stopContainer(c, 0);
      await this.store.whenExited(c.id);
    }
    this.forget(c.id);
    return ok({});
  }

  private forget(id: string): void {
    const c = this.store.container(id);
    if (c === undefined) return;
    this.backend.removeContainer(c);
    this.store.removeContainer(id);
    this.wakeFollowers(id);
  }

  private resolveLogTarget(req: ContainerLogsRequest): ContainerRecord | CriError {
    const target = req.target;
    if (target !== undefined && 'containerId' in target) {
      return this.store.container(target.containerId) ?? { code: 'NotFound', message: `no container ${target.containerId}; it may have been removed` };
    }
    if (target === undefined || typeof target.podSandboxId !== 'string' || typeof target.containerName !== 'string') {
      return { code: 'InvalidArgument', message: 'ContainerLogs needs target {containerId} or {podSandboxId, containerName, previous?}' };
    }
    const c = this.store.findByName(target.podSandboxId, target.containerName, target.previous === true);
    if (c !== undefined) return c;
    return {
      code: 'NotFound',
      message:
        target.previous === true
          ? `container ${target.containerName} in pod ${target.podSandboxId} has no previous instance (it has not restarted, or the dead one was removed)`
          : `no container ${target.containerName} in pod ${target.podSandboxId}`,
    };
  }

  private async containerLogs(req: ContainerLogsRequest): Promise<CriReply<'ContainerLogs'>> {
    const found = this.resolveLogTarget(req);
    if ('code' in found) return { ok: false, error: found };
    const c = found;
    const limitBytes = Math.min(Math.max(1, req.limitBytes ?? LOG_READ_BYTES_MAX), LOG_READ_BYTES_MAX);
    const waitMs = Math.min(Math.max(0, req.waitMs ?? 0), LOG_WAIT_MS_MAX);
    const deadlineMs = this.ctx.now() + waitMs;
    let offsetBytes = req.offsetBytes ?? (req.tailLines !== undefined ? this.backend.tailOffset(c, Math.max(0, req.tailLines)) : 0);
    if (!Number.isInteger(offsetBytes) || offsetBytes < 0) return criError('InvalidArgument', `offsetBytes must be a non-negative integer, got ${offsetBytes}`);
    for (;;) {
      if (this.store.container(c.id) !== c) return ok({ containerId: c.id, data: '', nextOffsetBytes: offsetBytes, complete: true } satisfies ContainerLogsReply);
      const sizeBytes = this.backend.logSizeBytes(c);
      offsetBytes = Math.min(offsetBytes, sizeBytes);
      const exited = c.state === 'CONTAINER_EXITED';
      const remainingMs = deadlineMs - this.ctx.now();
      if (sizeBytes > offsetBytes || exited || remainingMs <= 0 || this.waits.size >= LOG_WAITS_MAX) {
        const slice = this.backend.readLog(c, offsetBytes, limitBytes);
        return ok({ containerId: c.id, data: slice.data, nextOffsetBytes: slice.nextOffsetBytes, complete: exited && slice.nextOffsetBytes >= this.backend.logSizeBytes(c) });
      }
      await this.waitForLog(c.id, remainingMs);
    }
  }

  private waitForLog(containerId: string, ms: number): Promise<void> {
    const waitId = this.nextWaitId++;
    const key = `cri.wake:${waitId}`;
    return new Promise((resolve) => {
      this.waits.set(waitId, {
        containerId,
        wake: () => {
          this.waits.delete(waitId);
          this.ctx.cancelTimer(key);
          resolve();
        },
      });
      this.ctx.timer(key, ms, { type: 'cri.wake', body: { waitId } });
      if (this.backend.pollLogs && !this.pollArmed) {
        this.pollArmed = true;
        this.ctx.timer('cri.logpoll', LOG_POLL_MS, { type: 'cri.logpoll', body: null });
      }
    });
  }

  private wakeFollowers(containerId: string): void {
    for (const wait of [...this.waits.values()]) if (wait.containerId === containerId) wait.wake();
  }

  private newId(): string {
    for (;;) {
      const id = randomId(() => this.ctx.random());
      if (this.store.container(id) === undefined && this.store.sandbox(id) === undefined) return id;
    }
  }
}

function notFoundSandbox(id: string): { ok: false; error: CriError } {
  return criError('NotFound', `no pod sandbox ${id}; it was removed, or the runtime restarted and forgot it`);
}

function notFoundContainer(id: string): { ok: false; error: CriError } {
  return criError('NotFound', `no container ${id}; it was removed, or the runtime restarted and forgot it`);
}

export type { CriReplies };
