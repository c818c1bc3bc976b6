/**
 * The bookkeeping every runtime shares: sandboxes, containers, their CRI
 * state machine, filters and lookups. Pure: no clock (times are passed in),
 * no I/O. Transitions assert their preconditions: a runtime that reports an
 * exit twice or starts a container that is not CREATED has a bug, and stops loudly.
 */
import {
  reasonForExitCode,
  type ContainerConfig,
  type ContainerEventType,
  type ContainerExitReason,
  type ContainerFilter,
  type ContainerState,
  type ContainerStatus,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxState,
  type PodSandboxStatus,
} from '../../cri/protocol.js';

/** Pods per runtime. The kubelet's own default is 110 per node; 10,000 lets one node host a whole scale run while bounding memory. */
export const SANDBOXES_MAX = 10_000;
/** Containers per pod, counting dead ones kept for `--previous`: far above any real pod, low enough that a restart leak shows. */
export const CONTAINERS_PER_SANDBOX_MAX = 64;

export interface SandboxRecord {
  readonly id: string;
  readonly config: PodSandboxConfig;
  state: PodSandboxState;
  readonly createdAtMs: number;
  ip: string;
  readonly containerIds: Set<string>;
}

export interface ContainerRecord {
  readonly id: string;
  readonly podSandboxId: string;
  readonly config: ContainerConfig;
  imageRef: string;
  state: ContainerState;
  readonly createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  exitCode: number;
  reason: ContainerExitReason | '';
  message: string;
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;

function labelsMatch(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  if (selector === undefined) return true;
  for (const key in selector) if (labels?.[key] !== selector[key]) return false;
  return true;
}

/**
 * Records change only through the store's methods, each of which moves
 * `revision`: a lister can keep what it built from a revision (the CRI
 * server's whole-node lists, asked for by every PLEG relist) until it moves.
 */
export class RuntimeStore {
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly exitWaiters = new Map<string, (() => void)[]>();
  private changes = 0;
  /** Told of every container transition, after it (the CRI server's GetContainerEvents stream). */
  onContainerChange: ((c: ContainerRecord, type: ContainerEventType) => void) | undefined;

  /** Moves on every change to a sandbox or container record. */
  get revision(): number {
    return this.changes;
  }

  get sandboxCount(): number {
    return this.sandboxes.size;
  }

  get containerCount(): number {
    return this.containers.size;
  }

  sandbox(id: string): SandboxRecord | undefined {
    return this.sandboxes.get(id);
  }

  container(id: string): ContainerRecord | undefined {
    return this.containers.get(id);
  }

  /** Sandboxes with the same pod uid and attempt are the same pod: the CRI's idempotence key. */
  findSandbox(metadata: PodSandboxConfig['metadata']): SandboxRecord | undefined {
    for (const s of this.sandboxes.values()) {
      if (s.config.metadata.uid === metadata.uid && s.config.metadata.attempt === metadata.attempt) return s;
    }
    return undefined;
  }

  addSandbox(id: string, config: PodSandboxConfig, ip: string, nowMs: number): SandboxRecord {
    if (this.sandboxes.has(id)) throw new Error(`sandbox id ${id} is already taken: ids must be unique`);
    if (this.sandboxes.size >= SANDBOXES_MAX) throw new Error(`a runtime holds at most ${SANDBOXES_MAX} sandboxes; check with canAddSandbox first`);
    const record: SandboxRecord = { id, config, state: 'SANDBOX_READY', createdAtMs: nowMs, ip, containerIds: new Set() };
    this.changes++;
    this.sandboxes.set(id, record);
    return record;
  }

  canAddSandbox(): boolean {
    return this.sandboxes.size < SANDBOXES_MAX;
  }

  markSandboxNotReady(id: string): void {
    const s = this.sandboxes.get(id);
    if (s === undefined) throw new Error(`no sandbox ${id}`);
    for (const cid of s.containerIds) {
      const c = this.containers.get(cid)!;
      if (c.state === 'CONTAINER_RUNNING') throw new Error(`sandbox ${id} cannot stop while container ${cid} runs: stop its containers first`);
    }
    s.state = 'SANDBOX_NOTREADY';
    this.changes++;
  }

  removeSandbox(id: string): void {
    const s = this.sandboxes.get(id);
    if (s === undefined) return;
    if (s.containerIds.size > 0) throw new Error(`sandbox ${id} still has ${s.containerIds.size} containers: remove them first`);
    this.changes++;
    this.sandboxes.delete(id);
  }

  canAddContainer(podSandboxId: string): boolean {
    const s = this.sandboxes.get(podSandboxId);
    return s !== undefined && s.containerIds.size < CONTAINERS_PER_SANDBOX_MAX;
  }

  addContainer(id: string, podSandboxId: string, config: ContainerConfig, imageRef: string, nowMs: number): ContainerRecord {
    const s = this.sandboxes.get(podSandboxId);
    if (s === undefined) throw new Error(`no sandbox ${podSandboxId} for container ${config.metadata.name}`);
    if (s.state !== 'SANDBOX_READY') throw new Error(`sandbox ${podSandboxId} is not ready: no new containers in it`);
    if (this.containers.has(id)) throw new Error(`container id ${id} is already taken: ids must be unique`);
    if (s.containerIds.size >= CONTAINERS_PER_SANDBOX_MAX) throw new Error(`sandbox ${podSandboxId} holds ${CONTAINERS_PER_SANDBOX_MAX} containers already`);
    const record: ContainerRecord = {
      id,
      podSandboxId,
      config,
      imageRef,
      state: 'CONTAINER_CREATED',
      createdAtMs: nowMs,
      startedAtMs: 0,
      finishedAtMs: 0,
      exitCode: 0,
      reason: '',
      message: '',
    };
    this.containers.set(id, record);
    this.changes++;
    s.containerIds.add(id);
    this.onContainerChange?.(record, 'CONTAINER_CREATED_EVENT');
    return record;
  }

  markRunning(id: string, nowMs: number): void {
    const c = this.containers.get(id);
    if (c === undefined) throw new Error(`no container ${id}`);
    if (c.state !== 'CONTAINER_CREATED') throw new Error(`container ${id} is ${c.state}: only a CREATED container starts`);
    c.state = 'CONTAINER_RUNNING';
    c.startedAtMs = nowMs;
    this.changes++;
    this.onContainerChange?.(c, 'CONTAINER_STARTED_EVENT');
  }

  /**
   * Record the end of a container (from RUNNING, or from CREATED when it
   * never started). Returns false when it had already exited or is gone:
   * late reports from I/O after a forced stop are expected and harmless.
   */
  markExited(id: string, nowMs: number, exitCode: number, reason?: ContainerExitReason, message = ''): boolean {
    const c = this.containers.get(id);
    if (c === undefined || c.state === 'CONTAINER_EXITED') return false;
    if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) throw new Error(`exit code ${exitCode} of ${id} is not in 0..255`);
    c.state = 'CONTAINER_EXITED';
    c.finishedAtMs = nowMs;
    c.exitCode = exitCode;
    c.reason = reason ?? reasonForExitCode(exitCode);
    c.message = message;
    this.changes++;
    this.onContainerChange?.(c, 'CONTAINER_STOPPED_EVENT');
    const waiters = this.exitWaiters.get(id);
    if (waiters !== undefined) {
      this.exitWaiters.delete(id);
      for (const wake of waiters) wake();
    }
    return true;
  }

  /** Resolves when the container has exited (at once if it has, or is gone). */
  whenExited(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c === undefined || c.state === 'CONTAINER_EXITED') return Promise.resolve();
    return new Promise((resolve) => {
      let list = this.exitWaiters.get(id);
      if (list === undefined) this.exitWaiters.set(id, (list = []));
      list.push(resolve);
    });
  }

  removeContainer(id: string): void {
    const c = this.containers.get(id);
    if (c === undefined) return;
    if (c.state === 'CONTAINER_RUNNING') throw new Error(`container ${id} is running: stop it before removing it`);
    this.changes++;
    this.containers.delete(id);
    this.sandboxes.get(c.podSandboxId)?.containerIds.delete(id);
    this.onContainerChange?.(c, 'CONTAINER_DELETED_EVENT');
    const waiters = this.exitWaiters.get(id);
    if (waiters !== undefined) {
      this.exitWaiters.delete(id);
      for (const wake of waiters) wake();
    }
  }

  /**
   * The newest container of that name in the pod (highest attempt), or with
   * `previous` the one before it: what `kubectl logs [--previous]` reads.
   */
  findByName(podSandboxId: string, name: string, previous: boolean): ContainerRecord | undefined {
    const s = this.sandboxes.get(podSandboxId);
    if (s === undefined) return undefined;
    const named: ContainerRecord[] = [];
    for (const cid of s.containerIds) {
      const c = this.containers.get(cid)!;
      if (c.config.metadata.name === name) named.push(c);
    }
    named.sort((a, b) => b.config.metadata.attempt - a.config.metadata.attempt || b.createdAtMs - a.createdAtMs);
    return named[previous ? 1 : 0];
  }

  listContainers(filter: ContainerFilter = {}): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    const candidates = filter.podSandboxId !== undefined ? [...(this.sandboxes.get(filter.podSandboxId)?.containerIds ?? [])].map((id) => this.containers.get(id)!) : this.containers.values();
    for (const c of candidates) {
      if (filter.id !== undefined && c.id !== filter.id) continue;
      if (filter.state !== undefined && c.state !== filter.state) continue;
      if (!labelsMatch(c.config.labels, filter.labelSelector)) continue;
      out.push(c);
    }
    return out;
  }

  listSandboxes(filter: PodSandboxFilter = {}): SandboxRecord[] {
    const out: SandboxRecord[] = [];
    for (const s of this.sandboxes.values()) {
      if (filter.id !== undefined && s.id !== filter.id) continue;
      if (filter.state !== undefined && s.state !== filter.state) continue;
      if (!labelsMatch(s.config.labels, filter.labelSelector)) continue;
      out.push(s);
    }
    return out;
  }

  *allContainers(): IterableIterator<ContainerRecord> {
    yield* this.containers.values();
  }
}

export function containerStatus(c: ContainerRecord): ContainerStatus {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    metadata: { name: c.config.metadata.name, attempt: c.config.metadata.attempt },
    state: c.state,
    image: c.config.image,
    imageRef: c.imageRef,
    createdAtMs: c.createdAtMs,
    startedAtMs: c.startedAtMs,
    finishedAtMs: c.finishedAtMs,
    exitCode: c.exitCode,
    reason: c.reason,
    message: c.message,
    labels: c.config.labels ?? EMPTY,
    annotations: c.config.annotations ?? EMPTY,
  };
}

export function sandboxStatus(s: SandboxRecord): PodSandboxStatus {
  return {
    id: s.id,
    metadata: s.config.metadata,
    state: s.state,
    createdAtMs: s.createdAtMs,
    ip: s.ip,
    labels: s.config.labels ?? EMPTY,
    annotations: s.config.annotations ?? EMPTY,
  };
}
