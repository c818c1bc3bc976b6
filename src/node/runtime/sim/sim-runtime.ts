/**
 * The `sim` runtime: containers without processes. Each container is a few
 * fields and a timer; what it does comes from its image name and its pod's
 * annotations (see script.ts). All time goes through ctx.now()/ctx.timer()
 * and all randomness through ctx.random(), so a run replays exactly in the
 * SimulatedSystem, and a thousand of these actors share one thread.
 */
import { defineBehaviour, unhandled, type ActorContext, type Message } from '../../../actor/index.js';
import { EXIT_CODE_SIGKILL, criError, type CriError, type CriResult, type PodSandboxConfig } from '../../cri/protocol.js';
import { IpAllocator } from '../core/ip-allocator.js';
import { MemoryLog } from '../core/memory-log.js';
import { serveCri, type RuntimeBackend, type RuntimeEvents } from '../core/server.js';
import type { ContainerRecord, SandboxRecord } from '../core/store.js';
import { DEFAULT_SIM_DEFAULTS, SimScriptError, jittered, parseSimScript, type SimDefaults, type SimScript } from './script.js';

/** A sim container's log stays this small: ten thousand of them must fit, and the lines are synthetic anyway. */
export const SIM_LOG_BYTES_MAX = 4 * 1024;

export interface SimRuntimeArgs {
  /** Pod IPs come from here; give each node its own range (default 10.244.0.0/16). */
  podCidr?: string;
  /** Latencies when neither image nor annotations say otherwise. */
  defaults?: Partial<SimDefaults>;
  /** Images already on the node (pulls of these are instant). */
  preloadedImages?: string[];
}

type SimEvent = 'exit' | 'term-exit' | 'kill' | 'log';

export type SimInternalMsg =
  | Message<'sim.fire', { containerId: string; event: SimEvent }>
  | Message<'sim.wake', { waitId: number }>
  /**
   * Ask: a request to the pod at `ip` (Service traffic routed by kube-proxy's table).
   * A sim pod has no process to answer; its runtime answers for it when the pod's
   * sandbox is up and one of its containers is running, as a server in it would.
   */
  | Message<'sim.serve', { ip: string }>;

/** The answer of a sim pod to a request: which pod answered, or why none did. */
export type SimServeReply = { ok: true; pod: string; namespace: string } | { ok: false; reason: string };

interface SimContainer {
  script: SimScript;
  log: MemoryLog;
  stopping: boolean;
}

export class SimBackend implements RuntimeBackend<SimInternalMsg> {
  readonly runtimeName = 'sim';
  readonly runtimeVersion = '0.1.0';
  readonly pollLogs = false;
  private readonly ips: IpAllocator;
  private readonly defaults: SimDefaults;
  private readonly images = new Set<string>();
  private readonly pulling = new Map<string, Promise<CriResult<{ imageRef: string }>>>();
  private readonly containers = new Map<string, SimContainer>();
  private readonly wakes = new Map<number, () => void>();
  private nextWaitId = 1;
  pullsDone = 0;

  constructor(
    private readonly ctx: ActorContext<Message>,
    private readonly events: RuntimeEvents,
    args: SimRuntimeArgs,
  ) {
    this.ips = new IpAllocator(args.podCidr ?? '10.244.0.0/16');
    this.defaults = { ...DEFAULT_SIM_DEFAULTS, ...args.defaults };
    for (const image of args.preloadedImages ?? []) this.images.add(image);
  }

  runSandbox(): CriResult<{ ip: string }> {
    const ip = this.ips.allocate();
    if (ip === undefined) return criError('ResourceExhausted', `pod range ${this.ips.capacity} addresses is full; give the node a larger podCidr`);
    return { ok: true, ip };
  }

  releaseSandbox(sandbox: SandboxRecord): void {
    this.ips.release(sandbox.ip);
  }

  pullImage(image: string, sandboxConfig: PodSandboxConfig | undefined): Promise<CriResult<{ imageRef: string }>> | CriResult<{ imageRef: string }> {
    if (this.images.has(image)) return { ok: true, imageRef: imageRefOf(image) };
    let script: SimScript;
    try {
      script = parseSimScript(image, '', 0, sandboxConfig?.annotations, this.defaults);
    } catch (error) {
      return criError('ErrImagePull', (error as Error).message);
    }
    const inFlight = this.pulling.get(image);
    if (inFlight !== undefined) return inFlight;
    const pull = (async (): Promise<CriResult<{ imageRef: string }>> => {
      await this.sleep(jittered(script.pullMs, script.jitter, () => this.ctx.random()));
      this.pulling.delete(image);
      if (script.pullFail) return criError('ErrImagePull', `image ${image}: the simulated registry refused the pull (sim pull-fail)`);
      this.images.add(image);
      this.pullsDone++;
      return { ok: true, imageRef: imageRefOf(image) };
    })();
    this.pulling.set(image, pull);
    return pull;
  }

  imageRef(image: string): string | undefined {
    return this.images.has(image) ? imageRefOf(image) : undefined;
  }

  validateContainer(config: ContainerRecord['config'], sandbox: SandboxRecord): CriError | undefined {
    try {
      parseSimScript(config.image, config.metadata.name, config.metadata.attempt, sandbox.config.annotations, this.defaults);
      return undefined;
    } catch (error) {
      if (error instanceof SimScriptError) return { code: 'InvalidArgument', message: error.message };
      throw error;
    }
  }

  async startContainer(c: ContainerRecord, sandbox: SandboxRecord): Promise<CriResult> {
    const script = parseSimScript(c.config.image, c.config.metadata.name, c.config.metadata.attempt, sandbox.config.annotations, this.defaults);
    const state: SimContainer = { script, log: new MemoryLog(SIM_LOG_BYTES_MAX), stopping: false };
    this.containers.set(c.id, state);
    await this.sleep(jittered(script.startMs, script.jitter, () => this.ctx.random()));
    if (script.startFail) {
      state.log.append(`sim: cannot start ${c.config.image}\n`);
      return criError('RunContainerError', `container ${c.config.metadata.name}: the simulated start failed (sim start-fail)`);
    }
    return { ok: true };
  }

  started(c: ContainerRecord): void {
    const state = this.containers.get(c.id)!;
    this.appendLog(c.id, state, `sim: started ${c.config.image} attempt ${c.config.metadata.attempt} at ${this.ctx.now()}\n`);
    const { script } = state;
    if (script.exitAfterMs >= 0) this.fire(c.id, 'exit', jittered(script.exitAfterMs, script.jitter, () => this.ctx.random()));
    if (script.logEveryMs > 0) this.ctx.timer(`sim.log:${c.id}`, script.logEveryMs, { type: 'sim.fire', body: { containerId: c.id, event: 'log' } });
  }

  stopContainer(c: ContainerRecord, timeoutMs: number): void {
    const state = this.containers.get(c.id);
    if (state === undefined) {
      this.events.exited(c.id, EXIT_CODE_SIGKILL, 'Error', 'killed');
      return;
    }
    if (state.stopping && timeoutMs > 0) return;
    state.stopping = true;
    // As in containerd: no grace means SIGKILL at once.
    if (timeoutMs === 0) return this.fire(c.id, 'kill', 0);
    this.appendLog(c.id, state, `sim: SIGTERM, grace ${timeoutMs} ms\n`);
    const stopMs = jittered(state.script.stopMs, state.script.jitter, () => this.ctx.random());
    if (state.script.ignoreSigterm || stopMs > timeoutMs) this.fire(c.id, 'kill', timeoutMs);
    else this.fire(c.id, 'term-exit', stopMs);
  }

  removeContainer(c: ContainerRecord): void {
    this.containers.delete(c.id);
    this.ctx.cancelTimer(`sim:${c.id}`);
    this.ctx.cancelTimer(`sim.log:${c.id}`);
  }

  readLog(c: ContainerRecord, offsetBytes: number, limitBytes: number): { data: string; nextOffsetBytes: number } {
    const log = this.containers.get(c.id)?.log;
    return log === undefined ? { data: '', nextOffsetBytes: 0 } : log.read(offsetBytes, limitBytes);
  }

  logSizeBytes(c: ContainerRecord): number {
    return this.containers.get(c.id)?.log.sizeBytes ?? 0;
  }

  tailOffset(c: ContainerRecord, lines: number): number {
    return this.containers.get(c.id)?.log.tailOffset(lines) ?? 0;
  }

  receive(msg: SimInternalMsg): unknown {
    switch (msg.type) {
      case 'sim.wake':
        this.wakes.get(msg.body.waitId)?.();
        this.wakes.delete(msg.body.waitId);
        return null;
      case 'sim.fire':
        this.onFire(msg.body.containerId, msg.body.event);
        return null;
      case 'sim.serve':
        return this.serve(msg.body.ip);
      default:
        return unhandled;
    }
  }

  private serve(ip: string): SimServeReply {
    const sandbox = this.events.store.listSandboxes().find((s) => s.ip === ip && s.state === 'SANDBOX_READY');
    if (sandbox === undefined) return { ok: false, reason: `connection refused: no pod at ${ip} on this node` };
    const running = this.events.store.listContainers({ podSandboxId: sandbox.id }).some((c) => c.state === 'CONTAINER_RUNNING' && this.containers.get(c.id)?.stopping !== true);
    if (!running) return { ok: false, reason: `connection refused: pod ${sandbox.config.metadata.namespace}/${sandbox.config.metadata.name} has no running container` };
    return { ok: true, pod: sandbox.config.metadata.name, namespace: sandbox.config.metadata.namespace };
  }

  inspect(): Record<string, unknown> {
    return { images: this.images.size, ipsUsed: this.ips.used };
  }

  private onFire(containerId: string, event: SimEvent): void {
    const state = this.containers.get(containerId);
    const c = this.events.store.container(containerId);
    if (state === undefined || c === undefined || c.state !== 'CONTAINER_RUNNING') return;
    switch (event) {
      case 'log':
        this.appendLog(containerId, state, `sim: alive at ${this.ctx.now()}\n`);
        this.ctx.timer(`sim.log:${containerId}`, state.script.logEveryMs, { type: 'sim.fire', body: { containerId, event: 'log' } });
        return;
      case 'exit':
        this.appendLog(containerId, state, state.script.oom ? 'sim: out of memory\n' : `sim: exiting with code ${state.script.exitCode}\n`);
        this.exit(containerId, state.script.exitCode, state.script.oom ? 'OOMKilled' : undefined);
        return;
      case 'term-exit':
        this.appendLog(containerId, state, `sim: exiting after SIGTERM with code ${state.script.termExitCode}\n`);
        this.exit(containerId, state.script.termExitCode, undefined);
        return;
      case 'kill':
        this.appendLog(containerId, state, 'sim: SIGKILL\n');
        this.exit(containerId, EXIT_CODE_SIGKILL, undefined);
        return;
    }
  }

  private exit(containerId: string, exitCode: number, reason: 'OOMKilled' | undefined): void {
    this.ctx.cancelTimer(`sim:${containerId}`);
    this.ctx.cancelTimer(`sim.log:${containerId}`);
    this.events.exited(containerId, exitCode, reason);
  }

  private appendLog(containerId: string, state: SimContainer, line: string): void {
    state.log.append(line);
    this.events.logAppended(containerId);
  }

  /** One timer per container: a stop replaces a pending exit, as a signal preempts a process. */
  private fire(containerId: string, event: SimEvent, ms: number): void {
    this.ctx.timer(`sim:${containerId}`, ms, { type: 'sim.fire', body: { containerId, event } });
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    const waitId = this.nextWaitId++;
    return new Promise((resolve) => {
      this.wakes.set(waitId, resolve);
      this.ctx.timer(`sim.wake:${waitId}`, ms, { type: 'sim.wake', body: { waitId } });
    });
  }
}

function imageRefOf(image: string): string {
  return `sim://${image}`;
}

/** The sim runtime actor. */
export const simRuntime = defineBehaviour<Message, SimRuntimeArgs | undefined>(import.meta.url, 'runtime-sim', (ctx, args) =>
  serveCri(ctx, (events) => new SimBackend(ctx, events, args ?? {})),
);
