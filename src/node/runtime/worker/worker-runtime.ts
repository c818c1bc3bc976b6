/**
 * The `worker` runtime: a container is a JS task on the node's Piscina pool,
 * for Jobs and CPU-bound work. The image names the module (`js:/abs/task.mjs`
 * or a file URL); its default export runs with the container's args and env
 * (see task-runner.ts). The pool has as many threads as the node has CPUs, so
 * a node's capacity is real. Exit code from the task's result or error;
 * console output is the container's log. Stop aborts the task's signal (its
 * SIGTERM), then terminates its thread after the grace period (137).
 * Real threads: threaded runtime only.
 */
import { defineBehaviour, unhandled, type ActorContext, type Message } from '../../../actor/index.js';
import { criError, type ContainerConfig, type CriError, type CriResult } from '../../cri/protocol.js';
import { IpAllocator } from '../core/ip-allocator.js';
import { MemoryLog } from '../core/memory-log.js';
import { serveCri, type LogSlice, type RuntimeBackend, type RuntimeEvents } from '../core/server.js';
import type { ContainerRecord, SandboxRecord } from '../core/store.js';
import { PiscinaWorkerIo, defaultCpus, moduleUrlOf, type TaskHandle, type WorkerIo } from './worker-io.js';

/** A task's log kept in memory: a megabyte is plenty for a task's console and bounds a chatty one. */
export const WORKER_LOG_BYTES_MAX = 1024 * 1024;
/** The pool never grows past this, whatever the node claims: threads beyond the machine's cores only add switching. */
export const WORKER_CPUS_MAX = 256;

export interface WorkerRuntimeArgs {
  /** The node's CPU capacity: the pool's size. Default: the machine's available parallelism. */
  cpus?: number;
  /** Pod IPs for bookkeeping (worker tasks have no network of their own). Default 127.11.0.0/16. */
  podCidr?: string;
}

export type WorkerInternalMsg = Message<'worker.kill', { containerId: string }>;

interface Task {
  handle: TaskHandle;
  log: MemoryLog;
}

export class WorkerBackend implements RuntimeBackend<WorkerInternalMsg> {
  readonly runtimeName = 'worker';
  readonly runtimeVersion = '0.1.0';
  readonly pollLogs = false;
  private readonly ips: IpAllocator;
  private readonly images = new Map<string, string>();
  private readonly tasks = new Map<string, Task>();
  private readonly logs = new Map<string, MemoryLog>();

  constructor(
    private readonly ctx: ActorContext<Message>,
    private readonly events: RuntimeEvents,
    private readonly io: WorkerIo,
    podCidr: string,
  ) {
    this.ips = new IpAllocator(podCidr);
  }

  runSandbox(): CriResult<{ ip: string }> {
    const ip = this.ips.allocate();
    if (ip === undefined) return criError('ResourceExhausted', `all ${this.ips.capacity} pod addresses are in use`);
    return { ok: true, ip };
  }

  releaseSandbox(sandbox: SandboxRecord): void {
    this.ips.release(sandbox.ip);
  }

  pullImage(image: string): CriResult<{ imageRef: string }> {
    if (moduleUrlOf(image) === undefined) return criError('ErrImagePull', `image ${image} does not name a JS module; use js:/absolute/path/task.mjs or a file:// URL`);
    const url = this.io.resolveModule(image);
    if (url === undefined) return criError('ErrImagePull', `module ${image} does not exist on this machine`);
    this.images.set(image, url);
    return { ok: true, imageRef: url };
  }

  imageRef(image: string): string | undefined {
    return this.images.get(image);
  }

  validateContainer(config: ContainerConfig): CriError | undefined {
    if (config.command !== undefined && config.command.length > 0) {
      return { code: 'InvalidArgument', message: 'worker containers run their image\'s default export: leave command empty and pass inputs as args' };
    }
    return undefined;
  }

  startContainer(c: ContainerRecord, sandbox: SandboxRecord): CriResult {
    const moduleUrl = this.images.get(c.config.image);
    if (moduleUrl === undefined) return criError('RunContainerError', `image ${c.config.image} was not pulled`);
    const pod = sandbox.config.metadata;
    const env: Record<string, string> = { HOSTNAME: sandbox.config.hostname ?? pod.name, POD_IP: sandbox.ip, POD_NAME: pod.name, POD_NAMESPACE: pod.namespace, POD_UID: pod.uid };
    for (const { name, value } of c.config.envs ?? []) env[name] = value;
    const log = new MemoryLog(WORKER_LOG_BYTES_MAX);
    this.logs.set(c.id, log);
    const handle = this.io.run(
      { moduleUrl, args: c.config.args ?? [], env },
      (text) => {
        log.append(text);
        this.events.logAppended(c.id);
      },
      (exitCode, message) => this.onExit(c.id, exitCode, message),
    );
    this.tasks.set(c.id, { handle, log });
    return { ok: true };
  }

  stopContainer(c: ContainerRecord, timeoutMs: number): void {
    const task = this.tasks.get(c.id);
    if (task === undefined) {
      this.events.exited(c.id, 137, 'Error', 'the runtime lost track of its task');
      return;
    }
    if (timeoutMs === 0) {
      task.handle.kill();
      return;
    }
    task.handle.requestStop();
    this.ctx.timer(`worker.kill:${c.id}`, timeoutMs, { type: 'worker.kill', body: { containerId: c.id } });
  }

  removeContainer(c: ContainerRecord): void {
    this.logs.delete(c.id);
  }

  readLog(c: ContainerRecord, offsetBytes: number, limitBytes: number): LogSlice {
    return this.logs.get(c.id)?.read(offsetBytes, limitBytes) ?? { data: '', nextOffsetBytes: offsetBytes };
  }

  logSizeBytes(c: ContainerRecord): number {
    return this.logs.get(c.id)?.sizeBytes ?? 0;
  }

  tailOffset(c: ContainerRecord, lines: number): number {
    return this.logs.get(c.id)?.tailOffset(lines) ?? 0;
  }

  receive(msg: WorkerInternalMsg): unknown {
    if (msg.type !== 'worker.kill') return unhandled;
    this.tasks.get(msg.body.containerId)?.handle.kill();
    return null;
  }

  stop(): void {
    for (const task of this.tasks.values()) task.handle.kill();
    void this.io.destroy();
  }

  inspect(): Record<string, unknown> {
    return { running: this.tasks.size, images: this.images.size };
  }

  private onExit(containerId: string, exitCode: number, message: string): void {
    if (!this.tasks.delete(containerId)) return;
    this.ctx.cancelTimer(`worker.kill:${containerId}`);
    this.events.exited(containerId, exitCode, undefined, message);
  }
}

/** The worker runtime actor. */
export const workerRuntime = defineBehaviour<Message, WorkerRuntimeArgs | undefined>(import.meta.url, 'runtime-worker', (ctx, args) => {
  const cpus = Math.min(WORKER_CPUS_MAX, Math.max(1, Math.floor(args?.cpus ?? defaultCpus())));
  return serveCri(ctx, (events) => new WorkerBackend(ctx, events, new PiscinaWorkerIo(cpus), args?.podCidr ?? '127.11.0.0/16'));
});
