/**
 * The container runtime interface between a kubelet and its runtime actor,
 * shaped after the Kubernetes CRI (k8s.io/cri-api runtime/v1): the same calls,
 * states and reasons, as actor messages instead of gRPC. Every runtime (sim,
 * process, worker) answers this protocol; the kubelet drives it with asks.
 *
 * Replies are values: `{ ok: true, ... }` or `{ ok: false, error }`. A runtime
 * never throws at its caller (a throwing handler would crash the actor).
 * Times are milliseconds since the epoch from the runtime's clock (`...AtMs`),
 * 0 when the event has not happened.
 */
import type { Message } from '../../actor/index.js';

// ---------- sandboxes ----------

/** What the kubelet tells the runtime about a pod (CRI PodSandboxConfig). */
export interface PodSandboxConfig {
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  hostname?: string;
  labels?: Record<string, string>;
  /** The pod's annotations; the sim runtime reads its schedule from `sim.kubethreads.io/*` keys here. */
  annotations?: Record<string, string>;
  /** The pod's `runtimeClassName`, when it named one. */
  runtimeHandler?: string;
}

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxConfig['metadata'];
  state: PodSandboxState;
  createdAtMs: number;
  /** The pod's IP (POD_IP of its containers). */
  ip: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

// ---------- containers ----------

/** CRI ContainerState. CREATED: made but not started; EXITED: ran and ended (or failed to start). */
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

/** Reasons a container ended, as the CRI and `kubectl get pod` show them. */
export type ContainerExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'ContainerCannotRun';

/** Exit codes of a process killed by a signal are 128 + the signal's number, as a shell reports them. */
export const EXIT_CODE_SIGNAL_BASE = 128;
export const EXIT_CODE_SIGTERM = EXIT_CODE_SIGNAL_BASE + 15;
export const EXIT_CODE_SIGKILL = EXIT_CODE_SIGNAL_BASE + 9;
/** What a container that could not even start reports (the CRI has no code for it; runc uses 128). */
export const EXIT_CODE_CANNOT_RUN = 128;

/** The reason Kubernetes reports for an exit code, unless the runtime knows better (OOM, failed start). */
export function reasonForExitCode(exitCode: number): ContainerExitReason {
  return exitCode === 0 ? 'Completed' : 'Error';
}

export interface KeyValue {
  name: string;
  value: string;
}

/** What the kubelet asks the runtime to run (CRI ContainerConfig). */
export interface ContainerConfig {
  metadata: { name: string; attempt: number };
  image: string;
  /** The entrypoint (a Kubernetes container's `command`). */
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ContainerStatus {
  id: string;
  podSandboxId: string;
  metadata: ContainerConfig['metadata'];
  state: ContainerState;
  image: string;
  /** What the image resolved to when it was pulled (the `imageID` of a pod's container status). */
  imageRef: string;
  createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  /** Meaningful only when EXITED. */
  exitCode: number;
  /** Empty unless EXITED. */
  reason: ContainerExitReason | '';
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  /** Every pair must match the container's labels. */
  labelSelector?: Record<string, string>;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

// ---------- container events (CRI GetContainerEvents, for the kubelet's Evented PLEG) ----------

/** CRI ContainerEventType. */
export type ContainerEventType = 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';

/**
 * One change of one container (CRI ContainerEventResponse): the container's status after it (for a deleted one, its
 * last status). The runtime sends these, in the order they happened, to every subscriber as `cri.containerEvent`.
 */
export interface ContainerEvent {
  type: ContainerEventType;
  /** The pod's uid (the sandbox's metadata.uid): which pod worker the event is for. */
  podUid: string;
  status: ContainerStatus;
  createdAtMs: number;
}

export type ContainerEventMsg = Message<'cri.containerEvent', ContainerEvent>;

// ---------- logs ----------

/**
 * Which container's log to read: by id, or by pod and name. `previous` picks
 * the instance before the newest one of that name (what `kubectl logs
 * --previous` shows after a restart); it exists only while the kubelet has
 * not removed that dead container.
 */
export type LogTarget = { containerId: string } | { podSandboxId: string; containerName: string; previous?: boolean };

/**
 * Read a container's log from a byte offset. Following (`kubectl logs -f`) is
 * a loop of these: pass the last reply's `nextOffsetBytes` and `containerId`,
 * with `waitMs` to have the runtime hold the reply until new bytes arrive,
 * the container exits, or `waitMs` passes; stop when `complete`.
 */
export interface ContainerLogsRequest {
  target: LogTarget;
  /** Start here; default 0 (or the start of the last `tailLines` lines). */
  offsetBytes?: number;
  /** Only the last N lines (applies when `offsetBytes` is not given). */
  tailLines?: number;
  /** At most this many bytes in the reply; capped by LOG_READ_BYTES_MAX. */
  limitBytes?: number;
  /** Long-poll: wait up to this long for bytes past the offset. 0 or absent: answer at once. */
  waitMs?: number;
}

/** A reply carries at most this many log bytes: a message must stay small enough for one frame between threads. */
export const LOG_READ_BYTES_MAX = 1024 * 1024;
/** A long-poll waits at most this long: the asker's timeout must outlast it, and a minute keeps a lost asker cheap. */
export const LOG_WAIT_MS_MAX = 60_000;

export interface ContainerLogsReply {
  containerId: string;
  /** UTF-8 text of the bytes [offset, nextOffsetBytes). */
  data: string;
  nextOffsetBytes: number;
  /** The container has exited and everything it wrote has been returned: a follower stops here. */
  complete: boolean;
}

// ---------- errors ----------

/** Error codes, after gRPC's as the CRI uses them, plus the image pull failures the kubelet surfaces as reasons. */
export type CriErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'Unavailable'
  /** The image could not be pulled: the kubelet shows ErrImagePull, then ImagePullBackOff. */
  | 'ErrImagePull'
  /** The container could not be started: the kubelet shows RunContainerError. */
  | 'RunContainerError'
  | 'Internal';

export interface CriError {
  code: CriErrorCode;
  /** Says what went wrong and what to do. */
  message: string;
}

export type CriResult<T extends object = Record<never, never>> = ({ ok: true } & T) | { ok: false; error: CriError };

export function criError(code: CriErrorCode, message: string): { ok: false; error: CriError } {
  return { ok: false, error: { code, message } };
}

// ---------- the messages ----------

export interface VersionInfo {
  /** `sim`, `process` or `worker`. */
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: 'v1';
}

/** Request bodies by message type. */
export interface CriRequests {
  Version: Record<never, never>;
  RunPodSandbox: { config: PodSandboxConfig };
  /** Stop every container of the pod (each with `gracePeriodMs`, default 0: kill) and release its IP. */
  StopPodSandbox: { podSandboxId: string; gracePeriodMs?: number };
  /** Remove the pod and all its containers (killed first if still running). Removing an unknown pod succeeds. */
  RemovePodSandbox: { podSandboxId: string };
  PodSandboxStatus: { podSandboxId: string };
  ListPodSandbox: { filter?: PodSandboxFilter };
  /** The sandbox config lets a runtime decide per pod (the sim runtime reads its annotations). */
  PullImage: { image: string; sandboxConfig?: PodSandboxConfig };
  ImageStatus: { image: string };
  CreateContainer: { podSandboxId: string; config: ContainerConfig };
  StartContainer: { containerId: string };
  /** SIGTERM (or the runtime's equivalent), then a kill after `timeoutMs`. Replies once the container has exited. Ask with a timeout longer than `timeoutMs`. */
  StopContainer: { containerId: string; timeoutMs: number };
  /** Remove an exited container (a running one is killed first) and its log. Removing an unknown container succeeds. */
  RemoveContainer: { containerId: string };
  ContainerStatus: { containerId: string };
  ListContainers: { filter?: ContainerFilter };
  ContainerLogs: ContainerLogsRequest;
  /**
   * CRI GetContainerEvents: subscribe the asker to this runtime's container events (`cri.containerEvent`, sent to it
   * from then on until this runtime's incarnation ends; asking again changes nothing). The gRPC call is a stream; here
   * the stream's end is the end of the runtime's incarnation, which the subscriber sees by monitoring the runtime.
   */
  GetContainerEvents: Record<never, never>;
}

/** Reply bodies (on success) by message type. */
export interface CriReplies {
  Version: VersionInfo;
  RunPodSandbox: { podSandboxId: string; ip: string };
  StopPodSandbox: Record<never, never>;
  RemovePodSandbox: Record<never, never>;
  PodSandboxStatus: { status: PodSandboxStatus };
  ListPodSandbox: { items: PodSandboxStatus[] };
  PullImage: { imageRef: string };
  /** `imageRef` is absent when the image is not present on the node. */
  ImageStatus: { imageRef?: string };
  CreateContainer: { containerId: string };
  StartContainer: Record<never, never>;
  StopContainer: { status: ContainerStatus };
  RemoveContainer: Record<never, never>;
  ContainerStatus: { status: ContainerStatus };
  ListContainers: { items: ContainerStatus[] };
  ContainerLogs: ContainerLogsReply;
  GetContainerEvents: Record<never, never>;
}

export type CriRequestType = keyof CriRequests;

/** The protocol as a discriminated union of actor messages. */
export type CriRequest = { [K in CriRequestType]: Message<K, CriRequests[K]> }[CriRequestType];

/** The reply to a request of type K. */
export type CriReply<K extends CriRequestType> = CriResult<CriReplies[K]>;

export const CRI_REQUEST_TYPES: readonly CriRequestType[] = [
  'Version',
  'RunPodSandbox',
  'StopPodSandbox',
  'RemovePodSandbox',
  'PodSandboxStatus',
  'ListPodSandbox',
  'PullImage',
  'ImageStatus',
  'CreateContainer',
  'StartContainer',
  'StopContainer',
  'RemoveContainer',
  'ContainerStatus',
  'ListContainers',
  'ContainerLogs',
  'GetContainerEvents',
];

/** Anything that can ask: an `ActorContext` (with a target) or an `ActorRef`. */
export interface CriAsker {
  ask<R>(msg: CriRequest, options?: { timeoutMs?: number }): Promise<R>;
}

/**
 * A typed ask: `await criCall(ref, 'StartContainer', { containerId })` returns
 * that call's reply type. Transport errors (timeouts, a dead runtime) still reject.
 */
export function criCall<K extends CriRequestType>(
  runtime: CriAsker,
  type: K,
  body: CriRequests[K],
  options?: { timeoutMs?: number },
): Promise<CriReply<K>> {
  return runtime.ask<CriReply<K>>({ type, body } as CriRequest, options);
}
