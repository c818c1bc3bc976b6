/**
 * The `process` runtime: containers are real child processes of this
 * machine. Each pod gets its own loopback address (POD_IP, from
 * 127.10.0.0/16 by default: Linux routes all of 127/8 to lo, so binding
 * needs no privilege); stdout and stderr go to a log file per container
 * instance; stop is SIGTERM to the container's process group, then SIGKILL
 * after the grace period. A watchdog wrapper (watchdog.ts) kills a
 * container's group when the runtime's process or thread dies, and a sweep
 * at start-up kills whatever an earlier incarnation left.
 *
 * It runs nothing unless its args carry `allowProcesses: true`, which the
 * cluster spec sets only when the user asked for it. Real I/O: threaded runtime only.
 */
import { defineBehaviour, unhandled, type ActorContext, type Message } from '../../../actor/index.js';
import { EXIT_CODE_SIGKILL, criError, type ContainerConfig, type CriError, type CriResult } from '../../cri/protocol.js';
import { IpAllocator } from '../core/ip-allocator.js';
import { serveCri, type LogSlice, type RuntimeBackend, type RuntimeEvents } from '../core/server.js';
import type { ContainerRecord, SandboxRecord } from '../core/store.js';
import { imageParts } from '../core/image.js';
import { NodeProcessIo, type ProcessIo } from './process-io.js';
import { RUNTIME_ID_ENV } from './watchdog.js';

export const DEFAULT_PROCESS_POD_CIDR = '127.10.0.0/16';

export interface ProcessRuntimeArgs {
  /** Must be true, or every call that would run something is refused. The cluster spec's `allowProcesses`. */
  allowProcesses?: boolean;
  /** Logs and pid records live here (required with allowProcesses; the cluster passes the node's data dir). */
  dataDir?: string;
  /** Pod IPs come from here. Give each node of one machine its own slice (e.g. 127.10.<node>.0/24). */
  podCidr?: string;
  /** Marks this runtime's processes so a restart can find orphans. Default: actor name and data dir. */
  runtimeId?: string;
  /** PATH for containers and for finding their executables. Default: the host's PATH. */
  path?: string;
}

export type ProcessInternalMsg = Message<'proc.kill', { containerId: string }>;

interface Running {
  pid: number;
  pgid: number;
}

const NO_DATA_DIR = 'the process runtime needs a directory for logs and pid records: pass dataDir in its args';
const NOT_ALLOWED =
  'the process runtime runs real programs on this machine and is disabled: set allowProcesses: true in the cluster spec (or the runtime args) to enable it';

/** The executable a container runs: its command's first word, or else its image's name (`node:20` runs `node`). */
export function executableOf(config: ContainerConfig): { executable: string; args: string[] } {
  if (config.command !== undefined && config.command.length > 0) {
    return { executable: config.command[0]!, args: [...config.command.slice(1), ...(config.args ?? [])] };
  }
  return { executable: imageParts(config.image).name, args: [...(config.args ?? [])] };
}

export class ProcessBackend implements RuntimeBackend<ProcessInternalMsg> {
  readonly runtimeName = 'process';
  readonly runtimeVersion = '0.1.0';
  readonly pollLogs = true;
  private readonly ips: IpAllocator;
  private readonly images = new Set<string>();
  private readonly running = new Map<string, Running>();
  private readonly logPaths = new Map<string, string>();
  readonly orphansKilled: number[];

  constructor(
    private readonly ctx: ActorContext<Message>,
    private readonly events: RuntimeEvents,
    private readonly io: ProcessIo | undefined,
    private readonly runtimeId: string,
    private readonly pathEnv: string,
    podCidr: string,
    /** Why it runs nothing, when `io` is undefined. */
    private readonly disabledReason = NOT_ALLOWED,
  ) {
    this.ips = new IpAllocator(podCidr);
    this.orphansKilled = io === undefined ? [] : io.killOrphans(runtimeId);
    if (this.orphansKilled.length > 0) ctx.log.warn({ pids: this.orphansKilled }, 'killed processes an earlier incarnation of this runtime left behind');
  }

  runSandbox(): CriResult<{ ip: string }> {
    if (this.io === undefined) return criError('PermissionDenied', this.disabledReason);
    const ip = this.ips.allocate();
    if (ip === undefined) return criError('ResourceExhausted', `all ${this.ips.capacity} pod addresses are in use; give the node a larger podCidr`);
    return { ok: true, ip };
  }

  releaseSandbox(sandbox: SandboxRecord): void {
    this.ips.release(sandbox.ip);
  }

  pullImage(image: string): CriResult<{ imageRef: string }> {
    if (this.io === undefined) return criError('PermissionDenied', this.disabledReason);
    // Nothing to download: an image only names the default executable, checked when a container is created.
    this.images.add(image);
    return { ok: true, imageRef: `process://${image}` };
  }

  imageRef(image: string): string | undefined {
    return this.images.has(image) ? `process://${image}` : undefined;
  }

  validateContainer(config: ContainerConfig): CriError | undefined {
    if (this.io === undefined) return { code: 'PermissionDenied', message: this.disabledReason };
    const { executable } = executableOf(config);
    if (this.io.findExecutable(executable, this.pathEnv) === undefined) {
      return { code: 'RunContainerError', message: `executable ${JSON.stringify(executable)} not found on PATH (${this.pathEnv}); set the container's command, or an image named after an installed program` };
    }
    if (config.workingDir !== undefined && !this.io.isDirectory(config.workingDir)) {
      return { code: 'RunContainerError', message: `workingDir ${config.workingDir} is not a directory` };
    }
    return undefined;
  }

  startContainer(c: ContainerRecord, sandbox: SandboxRecord): CriResult {
    const io = this.io;
    if (io === undefined) return criError('PermissionDenied', this.disabledReason);
    const { executable, args } = executableOf(c.config);
    const pod = sandbox.config.metadata;
    const env: Record<string, string> = { PATH: this.pathEnv, HOSTNAME: sandbox.config.hostname ?? pod.name, POD_IP: sandbox.ip, POD_NAME: pod.name, POD_NAMESPACE: pod.namespace, POD_UID: pod.uid };
    for (const { name, value } of c.config.envs ?? []) env[name] = value;
    env[RUNTIME_ID_ENV] = this.runtimeId;
    const logPath = io.logPathFor(sandbox.id, c.config.metadata.name, c.config.metadata.attempt, c.id);
    this.logPaths.set(c.id, logPath);
    let proc: Running;
    try {
      proc = io.spawn({ containerId: c.id, executable, args, env, cwd: c.config.workingDir, logPath }, (exitCode) => this.onExit(c.id, exitCode));
    } catch (error) {
      return criError('RunContainerError', `could not start ${executable}: ${(error as Error).message}`);
    }
    this.running.set(c.id, proc);
    io.writePidRecord({ containerId: c.id, pid: proc.pid, pgid: proc.pgid, runtimeId: this.runtimeId });
    return { ok: true };
  }

  stopContainer(c: ContainerRecord, timeoutMs: number): void {
    const proc = this.running.get(c.id);
    if (proc === undefined || this.io === undefined) {
      this.events.exited(c.id, EXIT_CODE_SIGKILL, 'Error', 'the runtime lost track of its process');
      return;
    }
    if (timeoutMs === 0) {
      this.io.signalGroup(proc.pgid, 'SIGKILL');
      return;
    }
    this.io.signalGroup(proc.pgid, 'SIGTERM');
    this.ctx.timer(`proc.kill:${c.id}`, timeoutMs, { type: 'proc.kill', body: { containerId: c.id } });
  }

  removeContainer(c: ContainerRecord): void {
    const logPath = this.logPaths.get(c.id);
    if (logPath !== undefined) this.io?.removeLog(logPath);
    this.logPaths.delete(c.id);
  }

  readLog(c: ContainerRecord, offsetBytes: number, limitBytes: number): LogSlice {
    const logPath = this.logPaths.get(c.id);
    return logPath === undefined || this.io === undefined ? { data: '', nextOffsetBytes: offsetBytes } : this.io.readLog(logPath, offsetBytes, limitBytes);
  }

  logSizeBytes(c: ContainerRecord): number {
    const logPath = this.logPaths.get(c.id);
    return logPath === undefined || this.io === undefined ? 0 : this.io.logSize(logPath);
  }

  tailOffset(c: ContainerRecord, lines: number): number {
    const logPath = this.logPaths.get(c.id);
    return logPath === undefined || this.io === undefined ? 0 : this.io.tailOffset(logPath, lines);
  }

  receive(msg: ProcessInternalMsg): unknown {
    if (msg.type !== 'proc.kill') return unhandled;
    const proc = this.running.get(msg.body.containerId);
    if (proc !== undefined) this.io?.signalGroup(proc.pgid, 'SIGKILL');
    return null;
  }

  stop(): void {
    for (const proc of this.running.values()) this.io?.signalGroup(proc.pgid, 'SIGKILL');
  }

  inspect(): Record<string, unknown> {
    return { allowProcesses: this.io !== undefined, running: this.running.size, ipsUsed: this.ips.used, orphansKilled: this.orphansKilled.length };
  }

  private onExit(containerId: string, exitCode: number): void {
    const proc = this.running.get(containerId);
    if (proc === undefined) return;
    this.running.delete(containerId);
    this.ctx.cancelTimer(`proc.kill:${containerId}`);
    // Whatever the container forked and left in its group goes with it, as a cgroup would take it.
    this.io?.signalGroup(proc.pgid, 'SIGKILL');
    this.io?.removePidRecord(containerId);
    this.events.exited(containerId, exitCode);
  }
}

/** The process runtime actor. */
export const processRuntime = defineBehaviour<Message, ProcessRuntimeArgs | undefined>(import.meta.url, 'runtime-process', (ctx, args) => {
  const options = args ?? {};
  return serveCri(ctx, (events) => {
    if (options.allowProcesses !== true || options.dataDir === undefined) {
      const reason = options.allowProcesses !== true ? NOT_ALLOWED : NO_DATA_DIR;
      ctx.log.warn(reason);
      return new ProcessBackend(ctx, events, undefined, '', '', options.podCidr ?? DEFAULT_PROCESS_POD_CIDR, reason);
    }
    const dataDir = options.dataDir;
    const runtimeId = options.runtimeId ?? `${ctx.name}@${dataDir}`;
    return new ProcessBackend(ctx, events, new NodeProcessIo(dataDir), runtimeId, options.path ?? hostPath(), options.podCidr ?? DEFAULT_PROCESS_POD_CIDR);
  });
});

function hostPath(): string {
  return process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
}
