/**
 * Pod status as the kubelet reports it, computed from what the runtime says
 * about each container and what the kubelet knows besides (waiting reasons,
 * probe results, restart decisions). Pure: the rules of Kubernetes'
 * kubelet_pods.go (getPhase, container status conversion, pod conditions).
 */
import type { ContainerStatus as CriContainerStatus } from '../cri/protocol.js';
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '../../api/types/index.js';

/** What the kubelet knows about one container of the pod spec. */
export interface ContainerView {
  name: string;
  image: string;
  /** The newest instance in the runtime, if any. */
  latest?: CriContainerStatus;
  /** The instance before it (kept for `kubectl logs --previous`): the last termination state. */
  previous?: CriContainerStatus;
  /** Why it is not running, when the kubelet knows better than "ContainerCreating" (ErrImagePull, CrashLoopBackOff, ...). */
  waiting?: { reason: string; message?: string };
  /** The latest instance exited and the restart policy will start another. */
  willRestart: boolean;
  /** Readiness probe passed (true when it has none). */
  ready: boolean;
  /** Startup probe passed (true when it has none) and the container runs. */
  started: boolean;
}

export interface PodStatusInput {
  pod: Pod;
  nowMs: number;
  hostIP: string | undefined;
  podIP: string | undefined;
  startTimeMs: number | undefined;
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** A pod-level reason the kubelet cannot run the pod at all (e.g. an unknown runtime class). */
  podMessage?: { reason: string; message: string };
  /** The pod is being deleted and its containers are stopped: report a terminal phase. */
  terminated?: boolean;
}

/** The last second `formatTime` wrote (per thread): a kubelet writes the same second's text many times over (conditions, container states, Events). */
let formattedSecond = Number.NaN;
let formattedText = '';

/** RFC 3339 with seconds, as Kubernetes serializes metav1.Time. */
export function formatTime(ms: number): string {
  // Date truncates a fractional time toward zero before it formats: the same second is named here.
  const second = Math.floor(Math.trunc(ms) / 1000);
  if (second !== formattedSecond) {
    // Throws on NaN, as `toISOString` always did (NaN never equals the memo).
    formattedText = new Date(second * 1000).toISOString().replace(/\.000Z$/, 'Z');
    formattedSecond = second;
  }
  return formattedText;
}

/** RFC 3339 with microseconds, as Kubernetes serializes metav1.MicroTime (Lease times). */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function terminatedState(c: CriContainerStatus): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode,
      reason: c.reason === '' ? (c.exitCode === 0 ? 'Completed' : 'Error') : c.reason,
      ...(c.message !== '' ? { message: c.message } : {}),
      startedAt: c.startedAtMs > 0 ? formatTime(c.startedAtMs) : undefined,
      finishedAt: formatTime(c.finishedAtMs),
      containerID: containerIdUri(c),
    },
  };
}

function containerIdUri(c: CriContainerStatus): string {
  return `${c.imageRef.split('://')[0] || 'cri'}://${c.id}`;
}

/** One container's status, as `kubectl get pod -o yaml` shows it. */
export function containerStatusOf(view: ContainerView): ContainerStatus {
  const latest = view.latest;
  const restartCount = latest?.metadata.attempt ?? 0;
  const base = { name: view.name, image: view.image, imageID: latest?.imageRef ?? '', restartCount };
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (latest === undefined || latest.state === 'CONTAINER_CREATED' || latest.state === 'CONTAINER_UNKNOWN') {
    state = { waiting: view.waiting ?? { reason: 'ContainerCreating' } };
    if (view.previous?.state === 'CONTAINER_EXITED') lastState = terminatedState(view.previous);
  } else if (latest.state === 'CONTAINER_RUNNING') {
    state = { running: { startedAt: formatTime(latest.startedAtMs) } };
    if (view.previous?.state === 'CONTAINER_EXITED') lastState = terminatedState(view.previous);
  } else if (view.willRestart && view.waiting !== undefined) {
    // CrashLoopBackOff: waiting to start the next instance; the one that ended is the last state.
    state = { waiting: view.waiting };
    lastState = terminatedState(latest);
  } else {
    state = terminatedState(latest);
    if (view.previous?.state === 'CONTAINER_EXITED') lastState = terminatedState(view.previous);
  }
  const running = latest?.state === 'CONTAINER_RUNNING';
  return {
    ...base,
    state,
    lastState,
    ready: running && view.ready,
    started: running && view.started,
    ...(latest !== undefined ? { containerID: containerIdUri(latest) } : {}),
  };
}

/** Init containers not yet done, and whether one failed for good. */
function initProgress(views: ContainerView[], restartPolicy: string): { pending: string[]; failed: boolean } {
  const pending: string[] = [];
  let failed = false;
  for (const v of views) {
    const latest = v.latest;
    if (latest?.state === 'CONTAINER_EXITED' && latest.exitCode === 0) continue;
    pending.push(v.name);
    if (latest?.state === 'CONTAINER_EXITED' && restartPolicy === 'Never') failed = true;
  }
  return { pending, failed };
}

/** Kubernetes' getPhase. */
export function podPhase(input: Pick<PodStatusInput, 'pod' | 'initContainers' | 'containers' | 'terminated'>): PodPhase {
  const restartPolicy = input.pod.spec?.restartPolicy ?? 'Always';
  const init = initProgress(input.initContainers, restartPolicy);
  if (init.failed) return 'Failed';
  if (init.pending.length > 0 && !input.terminated) return 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const v of input.containers) {
    const s = v.latest?.state;
    if (s === 'CONTAINER_RUNNING') running++;
    else if (s === 'CONTAINER_EXITED') {
      stopped++;
      if (v.latest!.exitCode === 0) succeeded++;
    } else if (v.previous?.state === 'CONTAINER_EXITED') stopped++;
    else waiting++;
  }
  if (input.terminated) {
    // A deleted pod whose containers all stopped is terminal: Succeeded only if every container exited 0.
    return running === 0 && waiting === 0 && stopped === succeeded ? 'Succeeded' : 'Failed';
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, nowMs: number, previous: PodCondition[] | undefined, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  const lastTransitionTime = before !== undefined && before.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : formatTime(nowMs);
  return { type, status, lastProbeTime: null, lastTransitionTime, ...(ok || reason === undefined ? {} : { reason }), ...(ok || message === undefined ? {} : { message }) };
}

/** The pod's whole status. Fields the kubelet does not own (qosClass, PodScheduled, other writers' conditions) are carried over. */
export function buildPodStatus(input: PodStatusInput): PodStatus {
  const pod = input.pod;
  const previous = pod.status ?? {};
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  let phase = podPhase(input);
  // A pod never leaves a terminal phase (Kubernetes enforces it too).
  if (previous.phase === 'Succeeded' || previous.phase === 'Failed') phase = previous.phase;
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const init = initProgress(input.initContainers, restartPolicy);
  const initStatuses = input.initContainers.map(containerStatusOf);
  const statuses = input.containers.map(containerStatusOf);
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const initialized = init.pending.length === 0;
  const containersReady = unready.length === 0 && initialized && !terminal;
  const readyReason = terminal ? 'PodCompleted' : initialized ? 'ContainersNotReady' : 'ContainersNotInitialized';
  const readyMessage = terminal ? undefined : initialized ? `containers with unready status: [${unready.join(' ')}]` : `containers with incomplete status: [${init.pending.join(' ')}]`;
  const prevConditions = previous.conditions;
  const owned = new Set(['Initialized', 'ContainersReady', 'Ready', 'PodScheduled']);
  const conditions: PodCondition[] = [
    condition('Initialized', initialized, input.nowMs, prevConditions, terminal ? 'PodCompleted' : 'ContainersNotInitialized', `containers with incomplete status: [${init.pending.join(' ')}]`),
    condition('Ready', containersReady, input.nowMs, prevConditions, readyReason, readyMessage),
    condition('ContainersReady', containersReady, input.nowMs, prevConditions, readyReason, readyMessage),
    prevConditions?.find((c) => c.type === 'PodScheduled') ?? condition('PodScheduled', true, input.nowMs, prevConditions),
    ...(prevConditions ?? []).filter((c) => !owned.has(c.type)),
  ];
  const status: PodStatus = {
    phase,
    conditions,
    ...(input.hostIP !== undefined ? { hostIP: input.hostIP } : {}),
    ...(input.podIP !== undefined ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
    ...(input.startTimeMs !== undefined ? { startTime: previous.startTime ?? formatTime(input.startTimeMs) } : {}),
    ...(initStatuses.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
    ...(previous.qosClass !== undefined ? { qosClass: previous.qosClass } : {}),
  };
  if (input.podMessage !== undefined) {
    status.reason = input.podMessage.reason;
    status.message = input.podMessage.message;
  }
  return status;
}
