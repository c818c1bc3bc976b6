/**
 * The kubelet: registers its Node, renews its Lease, reports node
 * conditions, watches the pods bound to its node and runs each through a
 * level-triggered sync against the node's container runtime(s) over the CRI
 * protocol: sandbox, image pull (ErrImagePull / ImagePullBackOff), init
 * containers in order, containers, restart policy with CrashLoopBackOff,
 * probes, graceful termination with preStop, status through pods/status,
 * and the confirmation of a graceful deletion. It also serves `kubectl logs`
 * for its pods (the API server asks `kubelet.logs`).
 *
 * All time, timers and randomness come from the actor context. State lives in
 * the runtime: a restarted kubelet finds its sandboxes and containers by
 * their labels and adopts them instead of starting them twice.
 */
import { ClientMetrics } from '../../client/metrics.js';
import { isPlainObject, sameJsonExcept } from '../../api/json-equal.js';
import { secondsBetween } from '../../metrics/index.js';
import { KubeletMetrics } from './metrics.js';
import { defineBehaviour, unhandled, type ActorContext, type Message } from '../../actor/index.js';
import type { ApiReply, KubeletLogsMsg, KubeletLogsReply, KubeletLogsRequest } from '../../api/protocol.js';
import type { Container, EnvVar, KubeObject, Node, Pod, PodStatus } from '../../api/types/index.js';
import { ActorClock, type ClientTimerMsg } from '../../client/clock.js';
import { Informer } from '../../client/informer.js';
import {
  LOG_WAIT_MS_MAX,
  criCall,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerEventMsg,
  type ContainerStatus as CriContainerStatus,
  type CriAsker,
  type CriReply,
  type CriRequestType,
  type CriRequests,
  type PodSandboxConfig,
  type PodSandboxStatus,
} from '../cri/protocol.js';
import { EVENTS, KubeApi, LEASES, NODES, PODS, type NodeApi } from './api-client.js';
import { HttpKubeApi, type ApiConnection } from './http-api-client.js';
import type { KubeletServer } from './server.js';
import { Backoff } from './backoff.js';
import { NODE_LEASE_NAMESPACE, nodeLease, nodeObject, nodeStatus, sameNodeStatus, type NodeIdentity } from './node-status.js';
import { ProbeTracker, SimProber, probeTiming, type LifecycleHandler, type ProbeKind, type Prober } from './probe.js';
import { buildPodStatus, formatTime, type ContainerView } from './status.js';
import { REALISTIC_KUBELET_TIMING, type KubeletTiming } from './timing.js';

export type RuntimeKind = 'sim' | 'process' | 'worker';

export interface KubeletArgs {
  nodeName: string;
  /** The API server actor (default `apiserver`). */
  apiserver?: string;
  /** Reach the API server over HTTPS instead of actor messages (a node in another process). */
  apiConnection?: ApiConnection;
  /**
   * Serve the kubelet's HTTPS endpoint (container logs) on host:port and report the port in the Node's
   * daemonEndpoints, so an API server in another process reads logs from it. Without it the port is 0:
   * the API server reaches this kubelet by actor message only.
   */
  serve?: { host: string; port: number; certPem: string; keyPem: string };
  /** spec.providerID the Node registers with (the kubelet's --provider-id). */
  providerID?: string;
  /** The runtime a pod gets when it names no `runtimeClassName`. */
  defaultRuntime: RuntimeKind;
  /** Runtime actor names by kind; a pod naming a kind not here cannot run on this node. */
  runtimes: Partial<Record<RuntimeKind, string>>;
  timing?: Partial<KubeletTiming>;
  /** The node's InternalIP (pods' hostIP). */
  nodeIP: string;
  podCidr?: string;
  /** Capacity and allocatable: cpu, memory, pods. */
  capacity?: Record<string, string>;
  labels?: Record<string, string>;
  /** Exec probes and hooks of non-sim pods run real commands: only with this. */
  allowProcesses?: boolean;
  /** Kubernetes feature gates of the kubelet that kubethreads models. */
  featureGates?: KubeletFeatureGates;
}

export interface KubeletFeatureGates {
  /**
   * KEP-3386 Evented PLEG: the kubelet subscribes to its runtimes' container events (CRI GetContainerEvents) and syncs
   * a pod when one of its containers changes; the relist runs every `eventedRelistMs` (300 s) as a fallback. A stream
   * that ends (the runtime's incarnation ended) or cannot be opened forces a relist and is opened again; after
   * `EVENTED_PLEG_MAX_STREAM_RETRIES` such failures the kubelet relists every `relistMs` for good. Kubernetes' default:
   * off (alpha, 1.32).
   */
  EventedPLEG?: boolean;
}

/** Kubernetes' `eventedPlegMaxStreamRetries`: stream failures in a kubelet's life before it falls back to the generic PLEG. */
export const EVENTED_PLEG_MAX_STREAM_RETRIES = 5;

/** Node registration retries: the kubelet's registerWithAPIServer starts at 100 ms and doubles up to 7 s. */
const REGISTER_RETRY_FIRST_MS = 100;
const REGISTER_RETRY_MAX_MS = 7_000;

export const DEFAULT_NODE_CAPACITY: Record<string, string> = Object.freeze({ cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '50Gi' });
/** Labels that tie a sandbox and its containers to the pod: how a restarted kubelet adopts them. */
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';
/** Pulls and starts may take long (a slow registry, a sim pull-ms); beyond this the pod worker gives up and retries. */
export const RUNTIME_WORK_TIMEOUT_MS = 300_000;
/** Pods per kubelet: Kubernetes' default max-pods is 110; the sim scale runs put more on a node, so the hard bound is higher. */
export const PODS_PER_NODE_MAX = 10_000;

type InternalMsg =
  | Message<'kubelet.sync', { uid: string }>
  | Message<'kubelet.probe', { uid: string; container: string; kind: ProbeKind; containerId: string }>
  | Message<'kubelet.relist', null>
  | Message<'kubelet.subscribe', { runtime: string }>
  | Message<'kubelet.lease', null>
  | Message<'kubelet.nodeStatus', null>
  | Message<'kubelet.register', null>
  | Message<'kubelet.wake', { id: number }>;

export type KubeletMsg = KubeletLogsMsg | InternalMsg | ClientTimerMsg | ContainerEventMsg | Message<'api.watchEvents' | 'api.watchEnd', never>;

/** What the kubelet knows about one pod besides what the runtime holds. */
interface PodWorker {
  uid: string;
  namespace: string;
  name: string;
  /** Latest from the API; undefined once the API deleted it. */
  pod: Pod | undefined;
  /** The last pod seen (for termination after the API forgot it). */
  lastPod: Pod;
  runtimeKind: RuntimeKind | undefined;
  runtime: string | undefined;
  sandboxId: string | undefined;
  podIP: string | undefined;
  startTimeMs: number | undefined;
  waiting: Map<string, { reason: string; message?: string }>;
  pullFailedAtMs: Map<string, number>;
  probes: Map<string, ProbeTracker>;
  lastStatusJson: string | undefined;
  /** The phase of the status last written (`lastStatusJson`'s), kept beside it so a sync need not parse it back. */
  lastStatusPhase: string | undefined;
  /** Signature of its containers at the last relist (PLEG). */
  signature: string;
  /** The runtime list (by identity) and sandbox the relist last computed `listedSignature` from. */
  listedFrom?: { items: readonly CriContainerStatus[]; sandboxId: string | undefined };
  listedSignature?: string;
  syncing: boolean;
  again: boolean;
  terminated: boolean;
  sandboxStopped: boolean;
  removed: boolean;
}

function restartWanted(policy: string | undefined, exitCode: number): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

/** Instances by container name, newest (highest attempt) first. */
function byName(items: CriContainerStatus[]): Map<string, CriContainerStatus[]> {
  const out = new Map<string, CriContainerStatus[]>();
  for (const c of items) {
    const name = c.labels[CONTAINER_NAME_LABEL] ?? c.metadata.name;
    let list = out.get(name);
    if (list === undefined) out.set(name, (list = []));
    list.push(c);
  }
  for (const list of out.values()) list.sort((a, b) => b.metadata.attempt - a.metadata.attempt || b.createdAtMs - a.createdAtMs);
  return out;
}

/**
 * The pod status write as Kubernetes' status manager sends it (`PatchPodStatus`): a PATCH of pods/status naming the
 * pod's uid and its status, not a PUT of the whole pod, whose spec and metadata the API server ignores on this
 * subresource but would still have to be encoded here and decoded there. A JSON merge patch replaces each list
 * whole, so the status the API server stores is the one built here; a field the pod's status has and this one
 * lacks is removed by a null, as Kubernetes' two-way patch of old and new removes it.
 */
export function statusPatch(pod: Pod, status: PodStatus): { metadata: { uid?: string }; status: Record<string, unknown> } {
  const patch: Record<string, unknown> = { ...status };
  const previous = pod.status as Record<string, unknown> | undefined;
  if (previous !== undefined) for (const key of Object.keys(previous)) if (!(key in patch)) patch[key] = null;
  return { metadata: { uid: pod.metadata.uid }, status: patch };
}

/** Equal but for status and the bookkeeping every write changes. */
function sameExceptStatus(a: Pod, b: Pod): boolean {
  // Field by field (asked of every pod event the kubelet sees): the texts below, without writing them.
  if (isPlainObject(a) && isPlainObject(b) && isPlainObject(a.metadata) && isPlainObject(b.metadata)) {
    return sameJsonExcept(a, b, STATUS, { metadata: sameMetadataButVersion });
  }
  const strip = (p: Pod) => JSON.stringify({ ...p, status: undefined, metadata: { ...p.metadata, resourceVersion: undefined, managedFields: undefined } });
  return strip(a) === strip(b);
}

const STATUS: ReadonlySet<string> = new Set(['status']);
const VERSION_AND_MANAGED_FIELDS: ReadonlySet<string> = new Set(['resourceVersion', 'managedFields']);

function sameMetadataButVersion(a: unknown, b: unknown): boolean {
  return sameJsonExcept(a as Record<string, unknown>, b as Record<string, unknown>, VERSION_AND_MANAGED_FIELDS);
}

function runtimeClassOf(pod: Pod): string | undefined {
  const name = (pod.spec as { runtimeClassName?: string } | undefined)?.runtimeClassName;
  return name === undefined || name === '' ? undefined : name;
}

/** Env of a container: literal values and the downward-API fields a pod commonly reads. */
function envOf(c: Container, pod: Pod, podIP: string | undefined, nodeName: string, hostIP: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const e of c.env ?? ([] as EnvVar[])) {
    if (e.value !== undefined) out.push({ name: e.name, value: e.value });
    else {
      const path = (e.valueFrom as { fieldRef?: { fieldPath?: string } } | undefined)?.fieldRef?.fieldPath;
      const value =
        path === 'metadata.name' ? pod.metadata.name
        : path === 'metadata.namespace' ? pod.metadata.namespace
        : path === 'metadata.uid' ? pod.metadata.uid
        : path === 'status.podIP' ? podIP
        : path === 'spec.nodeName' ? nodeName
        : path === 'status.hostIP' ? hostIP
        : undefined;
      if (value !== undefined) out.push({ name: e.name, value });
    }
  }
  return out;
}

export const kubelet = defineBehaviour<KubeletMsg, KubeletArgs>(import.meta.url, 'kubelet', (ctx, args) => {
  const timing: KubeletTiming = { ...REALISTIC_KUBELET_TIMING, ...args.timing };
  const nodeName = args.nodeName;
  assert(typeof nodeName === 'string' && nodeName !== '', 'kubelet needs args.nodeName');
  assert(args.runtimes[args.defaultRuntime] !== undefined, `the default runtime ${args.defaultRuntime} must be among args.runtimes`);
  const clientMetrics = new ClientMetrics(ctx.name);
  const api: NodeApi = args.apiConnection !== undefined
    ? new HttpKubeApi(args.apiConnection, timing.apiAskTimeoutMs, () => ctx.random(), clientMetrics)
    : new KubeApi(ctx as unknown as ActorContext<never>, args.apiserver ?? 'apiserver', timing.apiAskTimeoutMs, clientMetrics);
  const clock = new ActorClock(ctx, undefined, clientMetrics);
  // Read only when scraped: `relisted` is bound below before any scrape can arrive.
  const metrics = new KubeletMetrics(clientMetrics.registry, {
    runningPods: () => {
      let n = 0;
      for (const w of workers.values()) if (w.sandboxId !== undefined && !w.sandboxStopped) n++;
      return n;
    },
    containers: () => [...runtimeContainers.values()].flatMap((byId) => [...byId.values()]),
  });
  const backoff = new Backoff(timing.backoffInitialMs, timing.backoffMaxMs);
  const workers = new Map<string, PodWorker>();
  const identity: NodeIdentity = {
    nodeName,
    nodeIP: args.nodeIP,
    podCidr: args.podCidr,
    defaultRuntime: args.defaultRuntime,
    runtimes: Object.keys(args.runtimes),
    capacity: { ...DEFAULT_NODE_CAPACITY, ...args.capacity },
    labels: args.labels,
    kubeletPort: 0,
    ...(args.providerID !== undefined ? { providerID: args.providerID } : {}),
  };
  const sleeps = new Map<number, () => void>();
  let nextSleep = 1;
  const sleep = (ms: number): Promise<void> => {
    if (ms <= 0) return Promise.resolve();
    const id = nextSleep++;
    return new Promise((resolve) => {
      sleeps.set(id, resolve);
      ctx.timer(`wake/${id}`, ms, { type: 'kubelet.wake', body: { id } });
    });
  };
  const simProber = new SimProber(sleep);
  let stopped = false;
  // A promise, so probes that start together while the module loads share one prober.
  let netProber: Promise<Prober> | undefined;
  const proberFor = async (kind: RuntimeKind | undefined): Promise<Prober> => {
    if (kind === 'sim' || kind === undefined) return simProber;
    // Real sockets and processes: loaded only when a non-sim pod is probed (threaded runtime).
    netProber ??= import('./net-prober.js').then(({ NetProber }) => new NetProber(args.allowProcesses === true, sleep));
    return netProber;
  };
  let nodeUid: string | undefined;
  let lastNodeStatus: Node['status'] | undefined;
  let lastNodeReportMs = 0;
  let registered = false;
  let lastSeenResourceVersion = '';
  const stats = { relists: 0, events: 0, syncs: 0, starts: 0, kills: 0, statusWrites: 0, leaseRenewals: 0, confirmedDeletions: 0, syncErrors: 0 };

  const runtimeAsker = (runtime: string): CriAsker => ({ ask: (msg, options) => ctx.ask(runtime, msg, options) });
  async function cri<K extends CriRequestType>(runtime: string, type: K, body: CriRequests[K], timeoutMs = timing.runtimeAskTimeoutMs): Promise<CriReply<K>> {
    try {
      return await criCall(runtimeAsker(runtime), type, body, { timeoutMs });
    } catch (error) {
      return { ok: false, error: { code: 'Unavailable', message: `runtime ${runtime} did not answer ${type}: ${(error as Error).message}` } };
    }
  }

  // ---------- pods from the API ----------

  const informer = new Informer<Pod>({
    name: 'pods',
    listWatcher: api.listWatcher<Pod>(PODS, { fieldSelector: `spec.nodeName=${nodeName}` }),
    clock,
    resyncPeriodMs: timing.podResyncMs,
  });
  informer.addEventHandler({
    onAdd: (pod) => upsert(pod),
    onUpdate: (old, pod) => {
      // Our own status writes come back as updates: they change nothing to act on.
      const w = workers.get(pod.metadata.uid ?? '');
      if (w !== undefined && sameExceptStatus(old, pod)) {
        w.pod = pod;
        w.lastPod = pod;
        return;
      }
      upsert(pod);
    },
    onDelete: (pod) => {
      const w = workers.get(pod.metadata.uid ?? '');
      if (w === undefined) return;
      w.pod = undefined;
      requestSync(w);
    },
  });

  function upsert(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (uid === undefined) return;
    lastSeenResourceVersion = pod.metadata.resourceVersion ?? lastSeenResourceVersion;
    let w = workers.get(uid);
    if (w === undefined) {
      if (workers.size >= PODS_PER_NODE_MAX) {
        ctx.log.error({ pod: pod.metadata.name, max: PODS_PER_NODE_MAX }, 'too many pods on this node; ignoring one');
        return;
      }
      const kind = (runtimeClassOf(pod) ?? args.defaultRuntime) as RuntimeKind;
      w = {
        uid, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', pod, lastPod: pod,
        runtimeKind: args.runtimes[kind] !== undefined ? kind : undefined, runtime: args.runtimes[kind],
        sandboxId: undefined, podIP: undefined, startTimeMs: undefined, waiting: new Map(), pullFailedAtMs: new Map(), probes: new Map(),
        lastStatusJson: undefined, lastStatusPhase: undefined, signature: '', syncing: false, again: false, terminated: false, sandboxStopped: false, removed: false,
      };
      workers.set(uid, w);
      workersGeneration++;
      metrics.podSeen(uid, ctx.now());
    }
    w.pod = pod;
    w.lastPod = pod;
    requestSync(w);
  }

  function requestSync(w: PodWorker): void {
    if (w.removed) return;
    if (w.syncing) {
      w.again = true;
      return;
    }
    w.syncing = true;
    void runSync(w);
  }

  async function runSync(w: PodWorker): Promise<void> {
    do {
      w.again = false;
      stats.syncs++;
      const startMs = ctx.now();
      try {
        await syncPod(w);
        metrics.podSynced(w.uid, secondsBetween(startMs, ctx.now()));
      } catch (error) {
        // Stopping cuts the syncs' asks short: that is not a failure to report.
        if (stopped) break;
        // A bug or an unexpected reply: retry later rather than wedge the pod; loudly, so it is seen.
        stats.syncErrors++;
        ctx.log.error({ err: error, pod: `${w.namespace}/${w.name}` }, 'pod sync failed');
        ctx.timer(`sync/${w.uid}`, timing.backoffInitialMs, { type: 'kubelet.sync', body: { uid: w.uid } });
      }
    } while (w.again && !w.removed);
    w.syncing = false;
  }

  function scheduleSync(w: PodWorker, atMs: number): void {
    ctx.timer(`sync/${w.uid}`, Math.max(0, atMs - ctx.now()), { type: 'kubelet.sync', body: { uid: w.uid } });
  }

  /** A core/v1 Event about the pod, as `kubectl describe pod` lists them. Fire and forget: an event lost is not worth a retry. */
  function recordEvent(w: PodWorker, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): void {
    stats.events++;
    const nowText = formatTime(ctx.now());
    const suffix = Math.floor(ctx.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    void api.create(EVENTS, w.namespace, {
      metadata: { name: `${w.name}.${suffix}`, namespace: w.namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: w.namespace, name: w.name, uid: w.uid, ...(container !== undefined ? { fieldPath: `spec.containers{${container}}` } : {}) },
      reason, message, type, count: 1, firstTimestamp: nowText, lastTimestamp: nowText,
      source: { component: 'kubelet', host: nodeName }, reportingComponent: 'kubelet', reportingInstance: nodeName,
    } as never);
  }

  /** Set a container's waiting reason; an event when it changes (not on every sync). */
  function setWaiting(w: PodWorker, container: string, reason: string, message: string | undefined, event?: 'Normal' | 'Warning'): void {
    const before = w.waiting.get(container);
    w.waiting.set(container, message === undefined ? { reason } : { reason, message });
    if (event !== undefined && before?.reason !== reason) recordEvent(w, event, reason === 'CrashLoopBackOff' ? 'BackOff' : reason, message ?? reason, container);
  }

  // ---------- one pod's sync ----------

  function sandboxConfig(w: PodWorker, pod: Pod, attempt: number): PodSandboxConfig {
    return {
      metadata: { name: w.name, namespace: w.namespace, uid: w.uid, attempt },
      hostname: w.name,
      labels: { [POD_UID_LABEL]: w.uid, [POD_NAME_LABEL]: w.name, [POD_NAMESPACE_LABEL]: w.namespace },
      annotations: { ...pod.metadata.annotations },
      ...(runtimeClassOf(pod) !== undefined ? { runtimeHandler: runtimeClassOf(pod) } : {}),
    };
  }

  /** Find this pod's sandbox in the runtime (after a kubelet restart), newest ready one first. */
  async function adoptSandbox(w: PodWorker): Promise<PodSandboxStatus[]> {
    const listed = await cri(w.runtime!, 'ListPodSandbox', { filter: { labelSelector: { [POD_UID_LABEL]: w.uid } } });
    if (!listed.ok) throw new Error(listed.error.message);
    const items = [...listed.items].sort((a, b) => b.metadata.attempt - a.metadata.attempt);
    const ready = items.find((s) => s.state === 'SANDBOX_READY');
    if (ready !== undefined) {
      w.sandboxId = ready.id;
      w.podIP = ready.ip;
      w.startTimeMs ??= ready.createdAtMs;
    }
    return items;
  }

  async function listContainers(w: PodWorker): Promise<CriContainerStatus[]> {
    if (w.sandboxId === undefined) return [];
    // Evented PLEG: the pod's containers from the cache the events keep (as Kubernetes' pod workers read the PLEG's
    // pod cache), once a list asked for with the stream open has filled it. It is exact as of the runtime's last answer:
    // the runtime sends an event before the answer to the call that caused it, on the same ordered link.
    const cached = cacheExact.has(w.runtime!) ? runtimeContainers.get(w.runtime!) : undefined;
    if (cached !== undefined) {
      const items: CriContainerStatus[] = [];
      for (const c of cached.values()) if (c.podSandboxId === w.sandboxId) items.push(c);
      plegStats.cacheReads++;
      return items;
    }
    const listed = await cri(w.runtime!, 'ListContainers', { filter: { podSandboxId: w.sandboxId } });
    if (!listed.ok) throw new Error(listed.error.message);
    return listed.items;
  }

  async function syncPod(w: PodWorker): Promise<void> {
    const pod = w.pod;
    if (pod === undefined || pod.metadata.deletionTimestamp !== undefined) return terminatePod(w);
    if (w.runtime === undefined) {
      const kind = runtimeClassOf(pod) ?? args.defaultRuntime;
      return writeStatus(w, pod, [], { reason: 'RuntimeClassNotAvailable', message: `node ${nodeName} has no ${kind} runtime (it offers: ${identity.runtimes.join(', ')})` });
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return stopFinishedPod(w);
    if (w.sandboxId === undefined) {
      const existing = await adoptSandbox(w);
      if (w.sandboxId === undefined) {
        const created = await cri(w.runtime, 'RunPodSandbox', { config: sandboxConfig(w, pod, existing.length) });
        if (!created.ok) {
          ctx.log.warn({ pod: w.name, error: created.error }, 'could not create the pod sandbox');
          for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) w.waiting.set(c.name, { reason: 'ContainerCreating', message: created.error.message });
          scheduleSync(w, ctx.now() + backoff.next(`${w.uid}/sandbox`, ctx.now()));
          return writeStatus(w, pod, []);
        }
        w.sandboxId = created.podSandboxId;
        w.podIP = created.ip;
        w.startTimeMs ??= ctx.now();
      }
    }
    let containers = await listContainers(w);
    const acted = await stepContainers(w, pod, byName(containers));
    if (acted) {
      containers = await listContainers(w);
      // Level-triggered: a step that changed something (a kill, a start) is followed by another look.
      w.again = true;
    }
    const instances = byName(containers);
    await collectGarbage(w, instances);
    manageProbes(w, pod, instances);
    await writeStatus(w, pod, containers);
    w.signature = signatureOf(containers);
    if (phaseOfLastStatus(w) === 'Succeeded' || phaseOfLastStatus(w) === 'Failed') await stopFinishedPod(w);
  }

  function phaseOfLastStatus(w: PodWorker): string | undefined {
    return w.lastStatusPhase;
  }

  /** One step toward the spec: start, restart or kill what needs it. Returns true when it changed something. */
  async function stepContainers(w: PodWorker, pod: Pod, instances: Map<string, CriContainerStatus[]>): Promise<boolean> {
    const policy = pod.spec?.restartPolicy ?? 'Always';
    let acted = false;
    for (const c of pod.spec?.initContainers ?? []) {
      const latest = instances.get(c.name)?.[0];
      if (latest?.state === 'CONTAINER_EXITED' && latest.exitCode === 0) continue;
      if (latest === undefined) acted = (await startContainer(w, pod, c, 0)) || acted;
      else if (latest.state === 'CONTAINER_CREATED') acted = (await startCreated(w, latest)) || acted;
      else if (latest.state === 'CONTAINER_EXITED' && policy !== 'Never') acted = (await restartWithBackoff(w, pod, c, latest)) || acted;
      // Running, or failed for good under Never: either way the next init container waits.
      for (const later of pod.spec?.containers ?? []) if (!instances.has(later.name)) w.waiting.set(later.name, { reason: 'PodInitializing' });
      return acted;
    }
    for (const c of pod.spec?.containers ?? []) {
      const latest = instances.get(c.name)?.[0];
      if (latest === undefined) {
        acted = (await startContainer(w, pod, c, 0)) || acted;
      } else if (latest.state === 'CONTAINER_CREATED') {
        acted = (await startCreated(w, latest)) || acted;
      } else if (latest.state === 'CONTAINER_RUNNING') {
        const failed = ['liveness', 'startup'].map((k) => w.probes.get(`${c.name}/${k}`)).find((t) => t !== undefined && t.containerId === latest.id && t.failedForGood);
        if (failed !== undefined) {
          recordEvent(w, 'Normal', 'Killing', `Container ${c.name} failed ${failed.kind} probe, will be restarted`, c.name);
          stats.kills++;
          await stopContainer(w, pod, c, latest, gracePeriodMs(pod));
          acted = true;
        }
      } else if (latest.state === 'CONTAINER_EXITED' && restartWanted(policy, latest.exitCode)) {
        acted = (await restartWithBackoff(w, pod, c, latest)) || acted;
      }
    }
    return acted;
  }

  async function restartWithBackoff(w: PodWorker, pod: Pod, c: Container, latest: CriContainerStatus): Promise<boolean> {
    const key = `${w.uid}/${c.name}`;
    const nowMs = ctx.now();
    if (backoff.inBackoffSince(key, latest.finishedAtMs, nowMs)) {
      const delayMs = backoff.delayMs(key, nowMs);
      setWaiting(w, c.name, 'CrashLoopBackOff', `back-off ${formatGoDuration(delayMs)} restarting failed container=${c.name} pod=${w.name}_${w.namespace}(${w.uid})`, 'Warning');
      scheduleSync(w, backoff.readyAtMs(key, latest.finishedAtMs));
      return false;
    }
    backoff.next(key, nowMs);
    return startContainer(w, pod, c, latest.metadata.attempt + 1);
  }

  async function startCreated(w: PodWorker, latest: CriContainerStatus): Promise<boolean> {
    await cri(w.runtime!, 'StartContainer', { containerId: latest.id }, RUNTIME_WORK_TIMEOUT_MS);
    return true;
  }

  /** Pull if needed, create and start one container instance. Returns true when the runtime's state changed. */
  async function startContainer(w: PodWorker, pod: Pod, c: Container, attempt: number): Promise<boolean> {
    const runtime = w.runtime!;
    const image = c.image ?? '';
    const pullKey = `${w.uid}/${c.name}/pull`;
    const present = await cri(runtime, 'ImageStatus', { image });
    if (!present.ok) throw new Error(present.error.message);
    if (present.imageRef === undefined || c.imagePullPolicy === 'Always') {
      const failedAtMs = w.pullFailedAtMs.get(c.name);
      if (failedAtMs !== undefined && backoff.inBackoffSince(pullKey, failedAtMs, ctx.now())) {
        setWaiting(w, c.name, 'ImagePullBackOff', `Back-off pulling image "${image}"`, 'Normal');
        scheduleSync(w, backoff.readyAtMs(pullKey, failedAtMs));
        return false;
      }
      if (!w.waiting.has(c.name) || w.waiting.get(c.name)!.reason === 'PodInitializing') w.waiting.set(c.name, { reason: 'ContainerCreating' });
      const pulled = await cri(runtime, 'PullImage', { image, sandboxConfig: sandboxConfig(w, pod, 0) }, RUNTIME_WORK_TIMEOUT_MS);
      if (!pulled.ok) {
        const delayMs = backoff.next(pullKey, ctx.now());
        w.pullFailedAtMs.set(c.name, ctx.now());
        setWaiting(w, c.name, 'ErrImagePull', pulled.error.message);
        recordEvent(w, 'Warning', 'Failed', `Failed to pull image "${image}": ${pulled.error.message}`, c.name);
        // Look again soon so the pod shows ImagePullBackOff while it waits, as Kubernetes' pod workers do.
        scheduleSync(w, ctx.now() + Math.min(delayMs, timing.relistMs));
        return false;
      }
      backoff.forget(pullKey);
      w.pullFailedAtMs.delete(c.name);
      recordEvent(w, 'Normal', 'Pulled', `Successfully pulled image "${image}"`, c.name);
    }
    const config: ContainerConfig = {
      metadata: { name: c.name, attempt },
      image,
      ...(c.command !== undefined ? { command: c.command } : {}),
      ...(c.args !== undefined ? { args: c.args } : {}),
      ...(c.workingDir !== undefined ? { workingDir: c.workingDir } : {}),
      envs: envOf(c, pod, w.podIP, nodeName, args.nodeIP),
      labels: { [POD_UID_LABEL]: w.uid, [POD_NAME_LABEL]: w.name, [POD_NAMESPACE_LABEL]: w.namespace, [CONTAINER_NAME_LABEL]: c.name },
      annotations: { ...pod.metadata.annotations },
    };
    const created = await cri(runtime, 'CreateContainer', { podSandboxId: w.sandboxId!, config });
    if (!created.ok) {
      if (created.error.code === 'AlreadyExists') return true;
      const delayMs = backoff.next(`${w.uid}/${c.name}`, ctx.now());
      w.waiting.set(c.name, { reason: created.error.code === 'RunContainerError' ? 'RunContainerError' : 'CreateContainerError', message: created.error.message });
      scheduleSync(w, ctx.now() + delayMs);
      return false;
    }
    w.waiting.delete(c.name);
    stats.starts++;
    const started = await cri(runtime, 'StartContainer', { containerId: created.containerId }, RUNTIME_WORK_TIMEOUT_MS);
    if (started.ok) recordEvent(w, 'Normal', 'Started', `Started container ${c.name}`, c.name);
    else recordEvent(w, 'Warning', 'Failed', `Error: ${started.error.message}`, c.name);
    return true;
  }

  function gracePeriodMs(pod: Pod): number {
    const seconds = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, seconds) * 1000;
  }

  /** preStop (bounded by the grace period), then SIGTERM and a kill at the end of what is left of it. */
  async function stopContainer(w: PodWorker, pod: Pod, c: Container | undefined, instance: CriContainerStatus, graceMs: number): Promise<void> {
    const startMs = ctx.now();
    const hook = (c as { lifecycle?: { preStop?: LifecycleHandler } } | undefined)?.lifecycle?.preStop;
    if (hook !== undefined && c !== undefined && graceMs > 0) {
      const prober = await proberFor(w.runtimeKind);
      const target = { pod, container: c, containerId: instance.id, podIP: w.podIP ?? '', startedAtMs: instance.startedAtMs, attempt: instance.metadata.attempt, nowMs: ctx.now() };
      const outcome = await Promise.race([Promise.resolve(prober.preStop(hook, target)), sleep(graceMs).then(() => ({ ok: false, message: 'preStop hook did not finish within the grace period' }))]);
      if (!outcome.ok) ctx.log.info({ pod: w.name, container: c.name, message: outcome.message }, 'preStop hook failed');
    }
    // Kubernetes gives the container at least 2 s after its preStop hook, whatever the hook took.
    const remainingMs = graceMs === 0 ? 0 : Math.max(graceMs - (ctx.now() - startMs), Math.min(graceMs, 2_000));
    const stopped = await cri(w.runtime!, 'StopContainer', { containerId: instance.id, timeoutMs: remainingMs }, remainingMs + timing.runtimeAskTimeoutMs);
    if (!stopped.ok && stopped.error.code !== 'NotFound') ctx.log.warn({ pod: w.name, error: stopped.error }, 'StopContainer failed');
  }

  /** Keep the newest instance of each name and the one before it (for `kubectl logs --previous`); remove older dead ones. */
  async function collectGarbage(w: PodWorker, instances: Map<string, CriContainerStatus[]>): Promise<void> {
    for (const list of instances.values()) {
      for (const old of list.slice(2)) {
        if (old.state !== 'CONTAINER_EXITED') continue;
        await cri(w.runtime!, 'RemoveContainer', { containerId: old.id });
      }
    }
  }

  async function stopFinishedPod(w: PodWorker): Promise<void> {
    if (w.sandboxStopped || w.runtime === undefined) return;
    if (w.sandboxId === undefined) await adoptSandbox(w);
    if (w.sandboxId !== undefined) {
      // A finished pod keeps its dead containers (for logs) but gives back its IP.
      const stopped = await cri(w.runtime, 'StopPodSandbox', { podSandboxId: w.sandboxId, gracePeriodMs: 0 });
      if (!stopped.ok && stopped.error.code !== 'NotFound') throw new Error(stopped.error.message);
    }
    w.sandboxStopped = true;
    cancelProbes(w);
  }

  async function terminatePod(w: PodWorker): Promise<void> {
    const pod = w.pod ?? w.lastPod;
    if (!w.terminated && w.runtime !== undefined) {
      if (w.sandboxId === undefined) await adoptSandbox(w);
      cancelProbes(w);
      const graceMs = gracePeriodMs(pod);
      const containers = await listContainers(w);
      for (const c of containers) if (c.state === 'CONTAINER_RUNNING') recordEvent(w, 'Normal', 'Killing', `Stopping container ${c.metadata.name}`, c.metadata.name);
      const specs = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c]));
      await Promise.all(
        containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED').map((c) => stopContainer(w, pod, specs.get(c.metadata.name), c, graceMs)),
      );
      if (w.sandboxId !== undefined) await cri(w.runtime, 'StopPodSandbox', { podSandboxId: w.sandboxId, gracePeriodMs: 0 });
      if (w.pod !== undefined) await writeStatus(w, w.pod, await listContainers(w), undefined, true);
      w.terminated = true;
    }
    if (w.pod !== undefined) {
      // Tell the API server the containers are gone: it removes the pod (graceful deletion ends here).
      const confirmed = await api.delete(PODS, w.namespace, w.name, { gracePeriodSeconds: 0, preconditions: { uid: w.uid } });
      if (confirmed.ok) stats.confirmedDeletions++;
      else if (confirmed.status.code !== 404 && confirmed.status.code !== 409) {
        scheduleSync(w, ctx.now() + timing.backoffInitialMs / 10);
        return;
      }
      return;
    }
    // The API has forgotten the pod: forget it here too.
    if (w.runtime !== undefined) {
      for (const s of await adoptSandboxes(w)) await cri(w.runtime, 'RemovePodSandbox', { podSandboxId: s.id });
    }
    w.removed = true;
    workers.delete(w.uid);
    metrics.podForgotten(w.uid);
    workersGeneration++;
    ctx.cancelTimer(`sync/${w.uid}`);
    backoff.forgetPrefix(`${w.uid}/`);
  }

  async function adoptSandboxes(w: PodWorker): Promise<PodSandboxStatus[]> {
    const listed = await cri(w.runtime!, 'ListPodSandbox', { filter: { labelSelector: { [POD_UID_LABEL]: w.uid } } });
    return listed.ok ? listed.items : [];
  }

  // ---------- status ----------

  function viewsOf(w: PodWorker, specs: Container[], instances: Map<string, CriContainerStatus[]>, policy: string): ContainerView[] {
    return specs.map((c) => {
      const list = instances.get(c.name) ?? [];
      const latest = list[0];
      const readiness = w.probes.get(`${c.name}/readiness`);
      const startup = w.probes.get(`${c.name}/startup`);
      const started = c.startupProbe === undefined || (startup !== undefined && startup.containerId === latest?.id && startup.result);
      const ready = started && (c.readinessProbe === undefined || (readiness !== undefined && readiness.containerId === latest?.id && readiness.result));
      return {
        name: c.name,
        image: c.image ?? '',
        latest,
        previous: list[1],
        waiting: w.waiting.get(c.name),
        willRestart: latest?.state === 'CONTAINER_EXITED' && restartWanted(policy, latest.exitCode) && w.waiting.has(c.name),
        ready,
        started,
      };
    });
  }

  async function writeStatus(w: PodWorker, pod: Pod, containers: CriContainerStatus[], podMessage?: { reason: string; message: string }, terminated = false): Promise<void> {
    const instances = byName(containers);
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const status = buildPodStatus({
      pod,
      nowMs: ctx.now(),
      hostIP: args.nodeIP,
      podIP: w.sandboxStopped || terminated ? pod.status?.podIP : w.podIP,
      startTimeMs: w.startTimeMs ?? (podMessage !== undefined ? undefined : ctx.now()),
      initContainers: viewsOf(w, pod.spec?.initContainers ?? [], instances, policy),
      containers: viewsOf(w, pod.spec?.containers ?? [], instances, policy),
      podMessage,
      terminated,
    });
    const json = JSON.stringify(status);
    if (json === w.lastStatusJson) return;
    const reply = await api.mergePatch(PODS, w.namespace, w.name, statusPatch(pod, status), 'status');
    if (reply.ok) {
      w.lastStatusJson = json;
      w.lastStatusPhase = status.phase;
      stats.statusWrites++;
      if (status.phase === 'Running') metrics.podRunning(w.uid, ctx.now());
    } else if (reply.status.code !== 404) {
      ctx.log.warn({ pod: w.name, status: reply.status.message }, 'pod status write failed; retrying');
      scheduleSync(w, ctx.now() + timing.relistMs);
    }
  }

  // ---------- probes ----------

  function manageProbes(w: PodWorker, pod: Pod, instances: Map<string, CriContainerStatus[]>): void {
    for (const c of pod.spec?.containers ?? []) {
      const latest = instances.get(c.name)?.[0];
      for (const [kind, probe] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe], ['startup', c.startupProbe]] as const) {
        const key = `${c.name}/${kind}`;
        const tracker = w.probes.get(key);
        if (probe === undefined || latest?.state !== 'CONTAINER_RUNNING') {
          if (tracker !== undefined && (probe === undefined || tracker.containerId !== latest?.id)) {
            w.probes.delete(key);
            ctx.cancelTimer(`probe/${w.uid}/${key}`);
          }
          continue;
        }
        if (tracker !== undefined && tracker.containerId === latest.id) continue;
        w.probes.set(key, new ProbeTracker(kind, probe, latest.id));
        const t = probeTiming(probe);
        const firstAtMs = Math.max(ctx.now(), latest.startedAtMs + t.initialDelayMs);
        ctx.timer(`probe/${w.uid}/${key}`, firstAtMs - ctx.now(), { type: 'kubelet.probe', body: { uid: w.uid, container: c.name, kind, containerId: latest.id } });
      }
    }
  }

  function cancelProbes(w: PodWorker): void {
    for (const key of w.probes.keys()) ctx.cancelTimer(`probe/${w.uid}/${key}`);
    w.probes.clear();
  }

  async function runProbe(body: { uid: string; container: string; kind: ProbeKind; containerId: string }): Promise<void> {
    const w = workers.get(body.uid);
    const key = `${body.container}/${body.kind}`;
    const tracker = w?.probes.get(key);
    const pod = w?.pod;
    if (w === undefined || tracker === undefined || tracker.containerId !== body.containerId || pod === undefined) return;
    const container = pod.spec?.containers.find((c) => c.name === body.container);
    if (container === undefined) return;
    const t = probeTiming(tracker.probe);
    const startup = w.probes.get(`${body.container}/startup`);
    // Liveness and readiness wait until the startup probe has passed.
    if (body.kind !== 'startup' && startup !== undefined && startup.containerId === body.containerId && !startup.result) {
      ctx.timer(`probe/${w.uid}/${key}`, t.periodMs, { type: 'kubelet.probe', body });
      return;
    }
    const instance = (await listContainers(w)).find((c) => c.id === body.containerId);
    if (instance === undefined || instance.state !== 'CONTAINER_RUNNING') return;
    const prober = await proberFor(w.runtimeKind);
    const outcome = await prober.probe(body.kind, tracker.probe, { pod, container, containerId: body.containerId, podIP: w.podIP ?? '', startedAtMs: instance.startedAtMs, attempt: instance.metadata.attempt, nowMs: ctx.now() });
    if (w.probes.get(key) !== tracker) return;
    const changed = tracker.record(outcome);
    if (changed && !tracker.result) recordEvent(w, 'Warning', 'Unhealthy', `${body.kind[0]!.toUpperCase()}${body.kind.slice(1)} probe failed: ${outcome.message ?? ''}`, body.container);
    // A startup probe that passed is done; the others keep probing.
    if (!(body.kind === 'startup' && tracker.result)) ctx.timer(`probe/${w.uid}/${key}`, t.periodMs, { type: 'kubelet.probe', body });
    if (changed || tracker.failedForGood) requestSync(w);
  }

  // ---------- PLEG: notice container changes ----------

  function signatureOf(containers: CriContainerStatus[]): string {
    return containers.map((c) => `${c.id}:${c.state}`).sort().join(',');
  }

  /**
   * What the last relist made of each runtime's list: its containers by pod.
   * The simulated runtime answers an unchanged node with the very same frozen
   * list, so the grouping (and each worker's signature of it, kept on the
   * worker) is reused until the list changes; a reply from a thread is always
   * a new object and is grouped afresh. Either way every worker is compared.
   */
  const relisted = new Map<string, { items: readonly CriContainerStatus[]; byPod: Map<string, CriContainerStatus[]> }>();
  /**
   * Every runtime's containers by id as the kubelet last learnt them: from the last relist, then kept current by the
   * container events (Evented PLEG) so `kubelet_running_containers` stays right between the rare relists.
   */
  const runtimeContainers = new Map<string, Map<string, CriContainerStatus>>();
  /**
   * Runtimes whose entry in `runtimeContainers` is exact (Evented PLEG): their stream is open and a list asked for
   * after it opened (`fillContainerCache`, or a relist) filled it, so the events since keep it current. Pod workers
   * read their containers from it.
   */
  const cacheExact = new Set<string>();

  async function relist(): Promise<void> {
    stats.relists++;
    const runtimes = new Set(Object.values(args.runtimes));
    for (const runtime of runtimes) {
      // The list completes the event cache only if the stream was open when it was asked for, and still is.
      const streamedBefore = streaming.has(runtime);
      const listed = await cri(runtime, 'ListContainers', {});
      if (!listed.ok) continue;
      let seen = relisted.get(runtime);
      if (seen === undefined || seen.items !== listed.items) {
        const byPod = new Map<string, CriContainerStatus[]>();
        const byId = new Map<string, CriContainerStatus>();
        for (const c of listed.items) {
          byId.set(c.id, c);
          const uid = c.labels[POD_UID_LABEL];
          if (uid === undefined) continue;
          let list = byPod.get(uid);
          if (list === undefined) byPod.set(uid, (list = []));
          list.push(c);
        }
        seen = { items: listed.items, byPod };
        relisted.set(runtime, seen);
        runtimeContainers.set(runtime, byId);
      }
      if (streamedBefore && streaming.has(runtime)) cacheExact.add(runtime);
      for (const w of workers.values()) {
        if (w.runtime !== runtime || w.terminated) continue;
        if (w.listedFrom?.items !== seen.items || w.listedFrom.sandboxId !== w.sandboxId || w.listedSignature === undefined) {
          w.listedSignature = signatureOf((seen.byPod.get(w.uid) ?? []).filter((c) => w.sandboxId === undefined || c.podSandboxId === w.sandboxId));
          w.listedFrom = { items: seen.items, sandboxId: w.sandboxId };
        }
        if (w.listedSignature !== w.signature) requestSync(w);
      }
      if (informer.hasSynced()) await removeOrphans(runtime);
    }
  }

  // ---------- Evented PLEG (feature gate EventedPLEG, KEP-3386) ----------

  const eventedPleg = args.featureGates?.EventedPLEG === true;
  /** Runtimes whose event stream is open (this kubelet's GetContainerEvents was answered by their live incarnation). */
  const streaming = new Set<string>();
  /** Stream failures so far; at EVENTED_PLEG_MAX_STREAM_RETRIES the kubelet falls back to the generic PLEG for good. */
  let streamFailures = 0;
  const plegStats = { containerEvents: 0, eventSyncs: 0, cacheReads: 0, streamFailures: 0, fellBack: false };

  /** The relist period: the long fallback period while every runtime streams its events, else Kubernetes' 1 s. */
  function relistPeriodMs(): number {
    if (!eventedPleg || plegStats.fellBack) return timing.relistMs;
    for (const runtime of new Set(Object.values(args.runtimes))) if (!streaming.has(runtime)) return timing.relistMs;
    return timing.eventedRelistMs;
  }

  /** Open the runtime's event stream; it lasts as long as the runtime's incarnation (its end is `onPeerDown`). */
  async function openEventStream(runtime: string): Promise<void> {
    if (!eventedPleg || plegStats.fellBack || stopped) return;
    ctx.monitor(runtime);
    const opened = await cri(runtime, 'GetContainerEvents', {});
    if (opened.ok) {
      streaming.add(runtime);
      // Re-arm the relist at the long period (a relist already due keeps its place if sooner).
      if (registered) armRelist(Math.min(relistRemainingMs(), relistPeriodMs()));
      await fillContainerCache(runtime);
      return;
    }
    eventStreamFailed(runtime, opened.error.message);
  }

  /**
   * List the runtime's containers once the stream is open, so the pod workers read the cache from the start (as
   * Kubernetes' PLEG lists when it starts): a list asked for with the stream open, updated by every event after it.
   */
  async function fillContainerCache(runtime: string): Promise<void> {
    const listed = await cri(runtime, 'ListContainers', {});
    if (!listed.ok || !streaming.has(runtime)) return;
    const byId = new Map<string, CriContainerStatus>();
    for (const c of listed.items) byId.set(c.id, c);
    runtimeContainers.set(runtime, byId);
    cacheExact.add(runtime);
  }

  /**
   * The stream could not be opened or has ended: relist now (what changed meanwhile is found so), and open it again
   * after one generic relist period, or fall back to relisting every `relistMs` once the retries are spent. Kubernetes'
   * `watchEventsChannel` does the same but retries at once; a period between tries keeps a runtime that is down for a
   * moment from spending them all.
   */
  function eventStreamFailed(runtime: string, why: string): void {
    streaming.delete(runtime);
    cacheExact.delete(runtime);
    streamFailures++;
    plegStats.streamFailures = streamFailures;
    if (registered) armRelist(0);
    if (streamFailures >= EVENTED_PLEG_MAX_STREAM_RETRIES) {
      if (!plegStats.fellBack) ctx.log.warn({ runtime, failures: streamFailures, why }, 'Evented PLEG is not working; falling back to relisting every period');
      plegStats.fellBack = true;
      return;
    }
    ctx.timer(`subscribe/${runtime}`, timing.relistMs, { type: 'kubelet.subscribe', body: { runtime } });
  }

  let relistDueMs = 0;
  function armRelist(ms: number): void {
    relistDueMs = ctx.now() + ms;
    ctx.timer('relist', ms, { type: 'kubelet.relist', body: null });
  }
  function relistRemainingMs(): number {
    return Math.max(0, relistDueMs - ctx.now());
  }

  /** Is `token` (`id:STATE`, or `id:` for any state) among a worker's signature (ids sorted, comma-separated)? */
  function signatureHas(signature: string, token: string): boolean {
    let at = signature.indexOf(token);
    while (at !== -1) {
      if (at === 0 || signature.charCodeAt(at - 1) === 44 /* , */) {
        const end = at + token.length;
        if (token.endsWith(':') || end === signature.length || signature.charCodeAt(end) === 44) return true;
      }
      at = signature.indexOf(token, at + 1);
    }
    return false;
  }

  /**
   * A container changed in `runtime`: sync its pod unless the kubelet already knows this state (its own last sync
   * saw it), as the relist compares its list with what each pod worker last saw.
   */
  function onContainerEvent(runtime: string, event: ContainerEvent): void {
    plegStats.containerEvents++;
    let byId = runtimeContainers.get(runtime);
    if (byId === undefined) runtimeContainers.set(runtime, (byId = new Map()));
    if (event.type === 'CONTAINER_DELETED_EVENT') byId.delete(event.status.id);
    else byId.set(event.status.id, event.status);
    const w = workers.get(event.podUid);
    if (w === undefined || w.runtime !== runtime || w.terminated) return;
    if (w.sandboxId !== undefined && event.status.podSandboxId !== w.sandboxId) return;
    const deleted = event.type === 'CONTAINER_DELETED_EVENT';
    const known = signatureHas(w.signature, deleted ? `${event.status.id}:` : `${event.status.id}:${event.status.state}`);
    if (deleted === known) {
      plegStats.eventSyncs++;
      requestSync(w);
    }
  }

  /**
   * The sandbox list (by identity) and the pod workers' generation the last
   * orphan sweep found nothing in, per runtime: the same frozen list against
   * the same workers has no orphan either (see `relisted`).
   */
  const sweptClean = new Map<string, { items: readonly unknown[]; workersGeneration: number }>();
  /** Moves whenever a pod worker is added or removed. */
  let workersGeneration = 0;

  /** Sandboxes of pods this node no longer has (deleted while the kubelet was down): stop and remove them. */
  async function removeOrphans(runtime: string): Promise<void> {
    const listed = await cri(runtime, 'ListPodSandbox', {});
    if (!listed.ok) return;
    const clean = sweptClean.get(runtime);
    if (clean !== undefined && clean.items === listed.items && clean.workersGeneration === workersGeneration) return;
    const generation = workersGeneration;
    let orphans = 0;
    for (const s of listed.items) {
      const uid = s.labels[POD_UID_LABEL];
      if (uid === undefined || workers.has(uid)) continue;
      orphans++;
      ctx.log.info({ sandbox: s.id, pod: s.metadata.name }, 'removing the sandbox of a pod this node no longer runs');
      await cri(runtime, 'RemovePodSandbox', { podSandboxId: s.id });
    }
    // Only a sweep that found nothing (and so awaited nothing) vouches for the next identical one.
    if (orphans === 0) sweptClean.set(runtime, { items: listed.items, workersGeneration: generation });
  }

  // ---------- the node: registration, status, lease ----------

  /** Failed registrations in a row: the retry backs off as the kubelet's does (100 ms doubling to 7 s). */
  let registerFailures = 0;

  async function register(): Promise<void> {
    const created = await api.create(NODES, undefined, nodeObject(identity));
    if (!created.ok && created.status.reason !== 'AlreadyExists') {
      // Jittered: a thousand kubelets that failed together against a busy store must not retry together.
      const ceilingMs = Math.min(REGISTER_RETRY_MAX_MS, timing.nodeLeaseRenewMs, REGISTER_RETRY_FIRST_MS * 2 ** Math.min(registerFailures++, 16));
      const delayMs = ceilingMs * (0.5 + ctx.random() / 2);
      ctx.log.warn({ status: created.status.message, retryInMs: Math.round(delayMs) }, 'node registration failed; retrying');
      ctx.timer('register', delayMs, { type: 'kubelet.register', body: null });
      return;
    }
    registerFailures = 0;
    registered = true;
    if (created.ok) nodeUid = created.body.metadata.uid;
    await updateNodeStatus(true);
    await renewLease();
    informer.start();
    // The first relist after one generic period whatever the PLEG (it adopts and sweeps what a restart left).
    armRelist(timing.relistMs);
  }

  async function runtimeHealth(): Promise<{ ready: boolean; message?: string; version: string }> {
    const runtime = args.runtimes[args.defaultRuntime]!;
    const version = await cri(runtime, 'Version', {}, Math.min(timing.runtimeAskTimeoutMs, 5_000));
    return version.ok ? { ready: true, version: `${version.runtimeName}://${version.runtimeVersion}` } : { ready: false, message: version.error.message, version: `${args.defaultRuntime}://unknown` };
  }

  async function updateNodeStatus(force: boolean): Promise<void> {
    const health = await runtimeHealth();
    // As the kubelet: the Node from the API server's cache (resourceVersion 0); the status written is computed whole.
    const current = await api.get<Node>(NODES, undefined, nodeName, { resourceVersion: '0' });
    if (!current.ok) {
      if (current.status.code === 404) {
        // Someone deleted our Node (the node controller, or a user): register again, as the kubelet does.
        registered = false;
        return register();
      }
      return;
    }
    nodeUid = current.body.metadata.uid;
    const status = nodeStatus(identity, { runtimeReady: health.ready, runtimeMessage: health.message }, health.version, ctx.now(), current.body.status);
    const due = ctx.now() - lastNodeReportMs >= timing.nodeStatusReportMs;
    if (!force && !due && sameNodeStatus(lastNodeStatus, status) && sameNodeStatus(current.body.status, status)) return;
    const { resourceVersion: _rv, ...metadata } = current.body.metadata;
    const written = await api.update<Node>(NODES, undefined, nodeName, { ...current.body, metadata, status }, 'status');
    if (written.ok) {
      lastNodeStatus = status;
      lastNodeReportMs = ctx.now();
    }
  }

  /** The Lease as this kubelet last wrote it (undefined: read it first). */
  let latestLease: KubeObject | undefined;

  async function renewLease(): Promise<boolean> {
    const durationSeconds = Math.max(1, Math.round(timing.nodeLeaseDurationMs / 1000));
    const fresh = nodeLease(nodeName, nodeUid, durationSeconds, ctx.now());
    // As Kubernetes' lease controller: renew the Lease last written, with its resourceVersion; read it only when
    // there is none yet or that write conflicts (someone else changed it).
    const renew = (lease: KubeObject): Promise<ApiReply<KubeObject>> => api.update<KubeObject>(LEASES, NODE_LEASE_NAMESPACE, nodeName, { ...lease, spec: { ...(lease as typeof fresh).spec, ...fresh.spec } } as KubeObject);
    let reply: ApiReply<KubeObject> | undefined = latestLease !== undefined ? await renew(latestLease) : undefined;
    if (reply === undefined || (!reply.ok && reply.status.code === 409)) {
      const current = await api.get(LEASES, NODE_LEASE_NAMESPACE, nodeName);
      if (!current.ok && current.status.code === 404) reply = await api.create<KubeObject>(LEASES, NODE_LEASE_NAMESPACE, fresh as KubeObject);
      else if (current.ok) reply = await renew(current.body);
      else reply = current;
    }
    latestLease = reply.ok ? reply.body : undefined;
    if (reply.ok) stats.leaseRenewals++;
    return reply.ok;
  }

  // ---------- logs ----------

  async function logs(req: KubeletLogsRequest): Promise<KubeletLogsReply> {
    const w = [...workers.values()].find((x) => x.namespace === req.namespace && x.name === req.pod && (req.uid === undefined || x.uid === req.uid));
    if (w === undefined || w.runtime === undefined) return { ok: false, code: 404, message: `pod ${req.namespace}/${req.pod} is not running on node ${nodeName}` };
    if (w.sandboxId === undefined) await adoptSandbox(w);
    if (w.sandboxId === undefined) return { ok: false, code: 400, message: `container "${req.container}" in pod "${req.pod}" is waiting to start: ContainerCreating` };
    const waitMs = Math.min(Math.max(0, req.waitMs ?? 0), LOG_WAIT_MS_MAX);
    const read = await cri(
      w.runtime,
      'ContainerLogs',
      {
        target: req.containerId !== undefined ? { containerId: req.containerId } : { podSandboxId: w.sandboxId, containerName: req.container, previous: req.previous === true },
        ...(req.offsetBytes !== undefined ? { offsetBytes: req.offsetBytes } : {}),
        ...(req.tailLines !== undefined ? { tailLines: req.tailLines } : {}),
        ...(req.limitBytes !== undefined ? { limitBytes: req.limitBytes } : {}),
        waitMs,
      },
      waitMs + timing.runtimeAskTimeoutMs,
    );
    if (read.ok) return { ok: true, containerId: read.containerId, data: read.data, nextOffsetBytes: read.nextOffsetBytes, complete: read.complete };
    if (read.error.code === 'NotFound') {
      const waiting = w.waiting.get(req.container);
      const message = req.previous === true
        ? `previous terminated container "${req.container}" in pod "${req.pod}" not found`
        : waiting !== undefined ? `container "${req.container}" in pod "${req.pod}" is waiting to start: ${waiting.reason}` : read.error.message;
      return { ok: false, code: 400, message };
    }
    return { ok: false, code: 500, message: read.error.message };
  }

  // ---------- the actor ----------

  // The endpoint is up before the Node is registered, so the first status already names its port.
  let server: KubeletServer | undefined;
  async function startServer(serve: NonNullable<KubeletArgs['serve']>): Promise<void> {
    try {
      const { KubeletServer } = await import('./server.js');
      server = new KubeletServer({ ...serve, nodeName, readLog: (request) => logs(request) });
      identity.kubeletPort = (await server.start()).port;
      if (stopped) void server.close();
    } catch (error) {
      // The node still runs pods without it; only `kubectl logs` of them fails, and says why.
      ctx.log.error({ err: error, host: serve.host, port: serve.port }, 'the kubelet endpoint could not listen; logs of this node are unavailable');
    }
  }

  // Without an endpoint, registration starts at once, as it always did (the simulated runtime's event order stays the same).
  // The event streams open before registration: the first relist, one period after it, then finds what they missed.
  if (eventedPleg) for (const runtime of new Set(Object.values(args.runtimes))) void openEventStream(runtime).catch((error: unknown) => ctx.log.warn({ err: error }, 'opening the container event stream failed'));
  const started = (args.serve === undefined ? register() : startServer(args.serve).then(register)).catch((error: unknown) => ctx.log.error({ err: error }, 'kubelet failed to start'));
  ctx.timer('lease', timing.nodeLeaseRenewMs, { type: 'kubelet.lease', body: null });
  ctx.timer('nodeStatus', timing.nodeStatusUpdateMs, { type: 'kubelet.nodeStatus', body: null });

  /** Periodic and internal work must not crash the kubelet over one failed ask: log it; the next period retries. */
  const guarded = async (what: string, work: () => Promise<void>): Promise<undefined> => {
    try {
      await work();
    } catch (error) {
      ctx.log.warn({ err: error }, `${what} failed`);
    }
    return undefined;
  };

  return {
    receive(msg, meta) {
      if (api.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'cri.containerEvent':
          if (eventedPleg && streaming.has(meta.from)) onContainerEvent(meta.from, msg.body);
          return undefined;
        case 'kubelet.subscribe':
          return guarded('opening the container event stream', () => openEventStream(msg.body.runtime));
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'kubelet.sync': {
          const w = workers.get(msg.body.uid);
          if (w !== undefined) requestSync(w);
          return undefined;
        }
        case 'kubelet.probe':
          return guarded('probe', () => runProbe(msg.body));
        case 'kubelet.wake':
          sleeps.get(msg.body.id)?.();
          sleeps.delete(msg.body.id);
          return undefined;
        case 'kubelet.relist':
          return guarded('relist', async () => {
            try {
              await relist();
            } finally {
              armRelist(relistPeriodMs());
            }
          });
        case 'kubelet.lease':
          return guarded('lease renewal', async () => {
            await started;
            let ok = false;
            try {
              ok = registered && (await renewLease());
            } finally {
              // A failed renewal is retried soon: the lease must not lapse over one lost message.
              ctx.timer('lease', ok ? timing.nodeLeaseRenewMs : timing.nodeLeaseRenewMs / 5, { type: 'kubelet.lease', body: null });
            }
          });
        case 'kubelet.nodeStatus':
          return guarded('node status update', async () => {
            await started;
            try {
              if (registered) await updateNodeStatus(false);
            } finally {
              ctx.timer('nodeStatus', timing.nodeStatusUpdateMs, { type: 'kubelet.nodeStatus', body: null });
            }
          });
        case 'kubelet.register':
          return guarded('registration', register);
        case 'kubelet.logs':
          return logs(msg.body).catch((error: unknown) => ({ ok: false, code: 500, message: (error as Error).message }) satisfies KubeletLogsReply);
        default:
          return unhandled;
      }
    },
    onPeerDown(event) {
      // A runtime's incarnation ended: its event stream with it.
      if (eventedPleg && streaming.has(event.name)) eventStreamFailed(event.name, `the runtime ${event.reason}`);
    },
    onStop() {
      stopped = true;
      informer.stop();
      api.close?.();
      void server?.close();
    },
    metrics: () => clientMetrics.text(),
    inspect() {
      return {
        node: nodeName, registered, pods: workers.size, informerSynced: informer.hasSynced(), resourceVersion: lastSeenResourceVersion, backoffKeys: backoff.size, ...stats,
        ...(eventedPleg ? { pleg: { evented: !plegStats.fellBack, streaming: [...streaming], relistPeriodMs: relistPeriodMs(), ...plegStats } } : {}),
      };
    },
  };
});

/** A duration as Go's time.Duration prints it, as the real kubelet's messages do: 10s, 1m20s, 5m0s, 1h0m0s, 500ms. */
export function formatGoDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  const secondsText = `${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, '')}s`;
  if (hours > 0) return `${hours}h${minutes}m${secondsText}`;
  return minutes > 0 ? `${minutes}m${secondsText}` : secondsText;
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`kubelet invariant violated: ${message}`);
}
