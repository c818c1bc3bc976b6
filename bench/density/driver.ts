/**
 * The density benchmark's two clients, each an actor in its own thread, both
 * talking to the API server as every component does (actor messages):
 *
 * - the load driver creates D Deployments at once and watches their pods,
 *   recording each pod's startup as Kubernetes' SLO defines it: from its
 *   creationTimestamp to Running observed through a watch;
 * - the probe is the "separate client" of the SLOs: during the burst it
 *   updates ConfigMaps on a fixed schedule (mutating calls) and LISTs the
 *   pods, timing each call from the moment it is sent.
 */
import { phasesOf, type PhaseSample, type PodSightings } from './startup-phases.js';
import { defineBehaviour, unhandled } from '../../src/actor/behaviour.js';
import type { Message } from '../../src/actor/protocol.js';
import { ApiClient, CONFIGMAPS, DEPLOYMENTS, NAMESPACES, PODS } from '../../src/client/api-client.js';
import { ActorClock, type ClientTimerMsg } from '../../src/client/clock.js';
import { ClientError } from '../../src/client/list-watch.js';
import type { ConfigMap, Deployment, Namespace, Pod } from '../../src/api/types/index.js';

export interface DensityRunRequest {
  namespace: string;
  deployments: number;
  replicas: number;
  image: string;
  /** Give up after this long and answer what was reached. */
  deadlineMs: number;
}

export interface DensityRunResult {
  /** Wall clock when the first Deployment create was sent. */
  createsSentAtMs: number;
  /** Creates sent → the last pod seen Running; undefined when the deadline came first. */
  allRunningMs: number | undefined;
  /** Pods seen at all, and seen Running, when the run ended. */
  podsSeen: number;
  podsRunning: number;
  /** Per pod Running: watch-observed Running − creationTimestamp, unclamped (may hold odd values; see `odd`). */
  startupMs: number[];
  /** Per pod Running, the same order as startupMs: its steps (see startup-phases.ts). */
  startupPhases: PhaseSample[];
  /** Pods whose startup could not be measured (no creationTimestamp) or came out negative. */
  odd: number;
  /** Deployment creates that failed (each message). */
  createErrors: string[];
  watchErrors: string[];
}

/**
 * ClusterLoader2's latency phase, after the saturation burst: `pods` single-replica Deployments created one at a
 * time, `qps` a second (CL2's density test: max(500, nodes) one-pod ReplicationControllers at 5 a second, 100m CPU
 * and 350 MB each), and each pod's startup timed as in the burst. Kubernetes judges its pod startup SLO on these
 * pods, with the cluster full but no longer saturated; the saturation pods' own startup CL2 holds only to a
 * generous timeout.
 */
export interface DensityLatencyRequest {
  namespace: string;
  pods: number;
  qps: number;
  image: string;
  deadlineMs: number;
}

export type DensityDriverMsg =
  | Message<'density.run', DensityRunRequest>
  | Message<'density.latency', DensityLatencyRequest>
  | Message<'density.deadline', null>
  | Message<'density.progress', null>
  | ClientTimerMsg;

/** The pods' labels carry their Deployment: `density-<i>`. */
export const DENSITY_APP_LABEL = 'density-app';
/** The latency phase's pods carry this label (`latency`), as CL2's carry `group: latency`. */
export const DENSITY_GROUP_LABEL = 'density-group';

/** Which API server a bench client talks to (default: the first). */
export type DensityClientArgs = { apiserver?: string } | null;

/** One phase's pods as the driver's watch sees them. */
interface PodTracking {
  seen: Set<string>;
  running: Map<string, number>;
  startupMs: number[];
  startupPhases: PhaseSample[];
  odd: number;
  watchErrors: string[];
  /** Resolves once `expected` pods are Running, the watch fails, or `finish` is called. */
  done: Promise<void>;
  finish(): void;
  stop(): void;
}

export const densityDriver = defineBehaviour<DensityDriverMsg, DensityClientArgs>(import.meta.url, 'density-driver', (ctx, args) => {
  // Generous: a create during the burst may wait on a busy store; a timeout would be a failed create, not a slow one.
  const api = new ApiClient(ctx as never, { requestTimeoutMs: 120_000, apiserver: args?.apiserver });
  const clock = new ActorClock(ctx as never);
  let onDeadline: () => void = () => undefined;
  let progress = { seen: 0, running: 0 };

  /** Watches the namespace's pods (those `labelSelector` selects) from now on, timing each one's startup. */
  async function trackPods(namespace: string, expected: number, labelSelector?: string): Promise<PodTracking> {
    const seen = new Set<string>();
    const running = new Map<string, number>();
    progress = { get seen() { return seen.size; }, get running() { return running.size; } };
    const sightings = new Map<string, PodSightings>();
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const tracking: PodTracking = { seen, running, startupMs: [], startupPhases: [], odd: 0, watchErrors: [], done, finish: () => finish(), stop: () => undefined };
    const scope = { namespace, ...(labelSelector === undefined ? {} : { labelSelector }) };
    const start = await api.list(PODS, { ...scope, limit: 1 });
    const watch = api.watch<Pod>(PODS, start.resourceVersion, {
      onEvent: (event) => {
        if (event.type === 'BOOKMARK' || event.type === 'DELETED') return;
        const pod = event.object;
        const uid = pod.metadata.uid ?? pod.metadata.name!;
        seen.add(uid);
        if (running.has(uid)) return;
        const at = ctx.now();
        const created = Date.parse(pod.metadata.creationTimestamp ?? '');
        let sighted = sightings.get(uid);
        if (sighted === undefined) sightings.set(uid, (sighted = { createdMs: created, firstSeenMs: at, boundSeenMs: undefined, kubeletSeenMs: undefined }));
        if (sighted.boundSeenMs === undefined && pod.spec?.nodeName) sighted.boundSeenMs = at;
        if (sighted.kubeletSeenMs === undefined && pod.status?.startTime) sighted.kubeletSeenMs = at;
        if (pod.status?.phase !== 'Running') return;
        running.set(uid, at);
        sightings.delete(uid);
        const sample = at - created;
        if (!Number.isFinite(sample)) tracking.odd++;
        else {
          if (sample < 0) tracking.odd++;
          tracking.startupMs.push(sample);
          tracking.startupPhases.push(phasesOf(sighted, at));
        }
        if (running.size >= expected) finish();
      },
      onError: (failure) => {
        tracking.watchErrors.push(JSON.stringify(failure));
        finish();
      },
    }, scope);
    tracking.stop = () => watch.stop();
    onDeadline = finish;
    return tracking;
  }

  /** A phase's end: once its pods are Running (or every create failed, or the deadline came), what it reached. */
  async function ended(tracking: PodTracking, expected: number, createsSentAtMs: number, outcomes: PromiseSettledResult<unknown>[]): Promise<DensityRunResult> {
    const createErrors = outcomes.flatMap((o) => (o.status === 'rejected' ? [String((o.reason as Error)?.message ?? o.reason)] : []));
    if (createErrors.length === outcomes.length) tracking.finish();
    await tracking.done;
    const endedAt = ctx.now();
    ctx.cancelTimer('deadline');
    tracking.stop();
    return resultOf(tracking, expected, createsSentAtMs, endedAt, createErrors);
  }

  function resultOf(tracking: PodTracking, expected: number, createsSentAtMs: number, endedAt: number, createErrors: string[]): DensityRunResult {
    return {
      createsSentAtMs,
      allRunningMs: tracking.running.size >= expected ? endedAt - createsSentAtMs : undefined,
      podsSeen: tracking.seen.size,
      podsRunning: tracking.running.size,
      startupMs: tracking.startupMs,
      startupPhases: tracking.startupPhases,
      odd: tracking.odd,
      createErrors,
      watchErrors: tracking.watchErrors,
    };
  }

  async function run(req: DensityRunRequest): Promise<DensityRunResult> {
    const expected = req.deployments * req.replicas;
    await ensureNamespace(api, req.namespace);
    const tracking = await trackPods(req.namespace, expected);
    ctx.timer('deadline', req.deadlineMs, { type: 'density.deadline', body: null });
    const createsSentAtMs = ctx.now();
    // All at once, as ClusterLoader2's density test: the controllers see D Deployments in one burst.
    const outcomes = await Promise.allSettled(Array.from({ length: req.deployments }, (_, i) => api.create(DEPLOYMENTS, deployment(req, i))));
    return ended(tracking, expected, createsSentAtMs, outcomes);
  }

  /** The latency phase: one single-pod Deployment every 1/qps s (not waiting for the last create's answer), each pod timed. */
  async function latency(req: DensityLatencyRequest): Promise<DensityRunResult> {
    await ensureNamespace(api, req.namespace);
    const tracking = await trackPods(req.namespace, req.pods, `${DENSITY_GROUP_LABEL}=latency`);
    ctx.timer('deadline', req.deadlineMs, { type: 'density.deadline', body: null });
    const createsSentAtMs = ctx.now();
    const intervalMs = 1000 / req.qps;
    // Each create settled as it answers: one that fails long before the last is sent is a result, not an unhandled rejection.
    const creates: Promise<PromiseSettledResult<unknown>>[] = [];
    if (req.pods > 0) await new Promise<void>((allSent) => {
      const send = (): void => {
        const i = creates.length;
        creates.push(api.create(DEPLOYMENTS, latencyDeployment(req, i)).then((value) => ({ status: 'fulfilled', value }), (reason: unknown) => ({ status: 'rejected', reason })));
        if (creates.length >= req.pods) return allSent();
        // Paced from the phase's start, not from the last send: a late tick does not slow the rest.
        clock.timer('latency-create', Math.max(0, createsSentAtMs + (i + 1) * intervalMs - ctx.now()), send);
      };
      send();
    });
    return ended(tracking, req.pods, createsSentAtMs, await Promise.all(creates));
  }

  return {
    receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'density.run':
          return run(msg.body);
        case 'density.latency':
          return latency(msg.body);
        case 'density.deadline':
          onDeadline();
          return undefined;
        case 'density.progress':
          return { seen: progress.seen, running: progress.running };
        default:
          return unhandled;
      }
    },
  };
});

/** A burst Deployment: `replicas` pods of 10m CPU and 16 MiB. */
function deployment(req: DensityRunRequest, index: number): Deployment {
  return densityDeployment(req.namespace, `density-${index}`, req.replicas, req.image, { cpu: '10m', memory: '16Mi' }, {});
}

/** CL2's latency pod: one replica, 100m CPU and 350 MB (its LATENCY_POD_CPU / LATENCY_POD_MEMORY), so they spread over the nodes. */
function latencyDeployment(req: DensityLatencyRequest, index: number): Deployment {
  return densityDeployment(req.namespace, `density-latency-${index}`, 1, req.image, { cpu: '100m', memory: '350M' }, { [DENSITY_GROUP_LABEL]: 'latency' });
}

/** A Deployment whose pods carry its name in DENSITY_APP_LABEL (its selector) and `group` on it and them. */
function densityDeployment(namespace: string, name: string, replicas: number, image: string, requests: Record<string, string>, group: Record<string, string>): Deployment {
  const metadata = Object.keys(group).length === 0 ? { name, namespace } : { name, namespace, labels: group };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata,
    spec: {
      replicas, selector: { matchLabels: { [DENSITY_APP_LABEL]: name } },
      template: {
        metadata: { labels: { [DENSITY_APP_LABEL]: name, ...group } },
        spec: { containers: [{ name: 'app', image, resources: { requests } }] },
      },
    },
  } as Deployment;
}

async function ensureNamespace(api: ApiClient, namespace: string): Promise<void> {
  if ((await api.tryGet(NAMESPACES, undefined, namespace)) !== null) return;
  await api.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } as Namespace);
}

// ---------- the probe: mutating calls and LISTs during the burst ----------

export interface ProbeStartRequest {
  namespace: string;
  /** One ConfigMap update every this many ms, whether or not the last one answered (no coordinated omission). */
  mutatingEveryMs: number;
  /** One LIST of the namespace's pods, then the next this long after it answered (at least). */
  listPauseMs: number;
  /**
   * LISTs start this far apart (the next at once, after `listPauseMs`, when one took longer): the LIST load then
   * does not grow as the server answers faster, which a pause after each answer would make it do (an A/B of two
   * servers would load the faster one more). Absent: `listPauseMs` after each answer alone.
   */
  listEveryMs?: number;
  /** Each LIST in pages of this many, one revision throughout (the continue tokens pin it); 0: one unpaged LIST. */
  listPageLimit: number;
  /** An unpaged LIST asked for in slices of this many items (ApiClient's `listSliceItems`); 0: whole. */
  listSliceItems?: number;
  /**
   * Which calls this probe makes (default both). Two probes in two threads, one `mutating` and one `list`, keep a
   * mutating call's time free of the LIST client's decoding and collecting of 20,000 pods, as ClusterLoader2's
   * separate clients are.
   */
  calls?: ProbeCalls;
}

export type ProbeCalls = 'both' | 'mutating' | 'list';

export interface ProbeResult {
  /** Each mutating call: sent → answered (failures included, as the SLO counts them). */
  mutatingMs: number[];
  /** Each LIST, every page of it: sent → last page answered. */
  listMs: number[];
  /** Pages fetched by the LISTs counted in listMs. */
  listPages: number;
  mutatingErrors: number;
  /** The failed mutating calls by status (`504 Timeout`, `500 InternalError`...): which failure, not only how many. */
  mutatingErrorsByStatus: Record<string, number>;
  /** The first few failure messages, each once: what to look at first. */
  mutatingErrorExamples: string[];
  listErrors: number;
  /** Mutating calls still unanswered when the probe stopped and its wait for them ran out (not in `mutatingMs`). */
  mutatingInFlight: number;
  /** Items in the last LIST (a check that the LISTs carried the pods). */
  lastListItems: number;
  /** 1 when a LIST was still in flight at the stop (not in `listMs`; see `settled` for why it is not waited for). */
  listInFlightAtStop: number;
}

export type DensityProbeMsg =
  | Message<'probe.start', ProbeStartRequest>
  | Message<'probe.stop', null>
  | Message<'probe.mutate', null>
  | Message<'probe.list', null>
  | Message<'probe.stopWaitOver', null>
  | ClientTimerMsg;

/** ConfigMaps the probe updates in turn. Why ten: one a second each at the default 10 updates/s. */
const PROBE_CONFIGMAPS = 10;
/** Distinct failure messages kept: enough to see the kinds, few enough for a report. */
const PROBE_ERROR_EXAMPLES_MAX = 5;
/** Unanswered mutating calls at most: past this the API server is stalled and more would only pile up. */
const PROBE_IN_FLIGHT_MAX = 1_000;
/**
 * How long `probe.stop` waits for calls sent during the burst to answer. Why wait at all: a call sent
 * during the burst is a sample of it however late it answers, and a burst shorter than one call (a
 * 3-node smoke run on a fast machine) would otherwise report no sample; why bounded: a stalled API
 * server must not hold the report (what is still unanswered is counted in `mutatingInFlight`).
 */
const PROBE_STOP_WAIT_MS = 30_000;

export const densityProbe = defineBehaviour<DensityProbeMsg, DensityClientArgs>(import.meta.url, 'density-probe', (ctx, args) => {
  const api = new ApiClient(ctx as never, { requestTimeoutMs: 120_000, apiserver: args?.apiserver });
  const clock = new ActorClock(ctx as never);
  /** The LISTs' client: slices as `probe.start` asks (its clock times out a list whose slices stop coming). */
  let listApi = api;
  const fresh = (): ProbeResult => ({ mutatingMs: [], listMs: [], listPages: 0, mutatingErrors: 0, mutatingErrorsByStatus: {}, mutatingErrorExamples: [], listErrors: 0, mutatingInFlight: 0, lastListItems: 0, listInFlightAtStop: 0 });
  /** This session's figures (`probe.start` to `probe.stop`); a later start begins a new one (the bench's latency phase). */
  let result = fresh();
  let config: ProbeStartRequest | undefined;
  let running = false;
  let seq = 0;
  /** The LIST in flight, if one is. */
  let listing = false;
  /** Set while `probe.stop` waits for calls in flight: called when the last answers or the wait runs out. */
  let stopped: (() => void) | undefined;

  async function start(req: ProbeStartRequest): Promise<void> {
    config = req;
    result = fresh();
    if ((req.listSliceItems ?? 0) > 0) listApi = new ApiClient(ctx as never, { requestTimeoutMs: 120_000, apiserver: args?.apiserver, clock, listSliceItems: req.listSliceItems });
    const calls = req.calls ?? 'both';
    await ensureNamespace(api, req.namespace);
    if (calls !== 'list') for (let i = 0; i < PROBE_CONFIGMAPS; i++) {
      const existing = await api.tryGet(CONFIGMAPS, req.namespace, probeName(i));
      if (existing === null) await api.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: probeName(i), namespace: req.namespace }, data: { seq: '0' } } as ConfigMap);
    }
    running = true;
    // The first call and the first LIST leave before the burst is started, so even a burst shorter than one call has one of each.
    if (calls !== 'list') mutate();
    if (calls !== 'mutating') void list();
  }

  function mutate(): void {
    if (!running || config === undefined) return;
    ctx.timer('mutate', config.mutatingEveryMs, { type: 'probe.mutate', body: null });
    if (result.mutatingInFlight >= PROBE_IN_FLIGHT_MAX) return;
    const n = seq++;
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: probeName(n % PROBE_CONFIGMAPS), namespace: config.namespace }, data: { seq: String(n) } } as ConfigMap;
    const sentAt = ctx.now();
    // Counted in the session it was sent in, however late it answers.
    const session = result;
    session.mutatingInFlight++;
    // An update without resourceVersion: last writer wins, so the probe's own calls never conflict with each other.
    api.update(CONFIGMAPS, cm).then(
      () => answered(session, sentAt, undefined),
      (error: unknown) => answered(session, sentAt, error),
    );
  }

  function answered(session: ProbeResult, sentAt: number, error: unknown): void {
    session.mutatingInFlight--;
    if (settled()) stopped?.();
    session.mutatingMs.push(ctx.now() - sentAt);
    if (error === undefined) return;
    session.mutatingErrors++;
    const status = error instanceof ClientError ? `${error.code} ${error.reason}` : error instanceof Error ? error.name : 'unknown';
    session.mutatingErrorsByStatus[status] = (session.mutatingErrorsByStatus[status] ?? 0) + 1;
    const message = `${status}: ${error instanceof Error ? error.message : String(error)}`;
    if (session.mutatingErrorExamples.length < PROBE_ERROR_EXAMPLES_MAX && !session.mutatingErrorExamples.includes(message)) session.mutatingErrorExamples.push(message);
  }

  async function list(): Promise<void> {
    if (!running || config === undefined) return;
    const sentAt = ctx.now();
    let pages = 0;
    listing = true;
    try {
      let items = 0;
      let revision: string | undefined;
      let next: string | undefined;
      do {
        const listed = await listApi.list(PODS, { namespace: config.namespace, ...(config.listPageLimit > 0 ? { limit: config.listPageLimit } : {}), ...(next === undefined ? {} : { continue: next }) });
        pages++;
        // Every page at the first page's revision: the LIST is one consistent snapshot however it is paged.
        if (revision !== undefined && listed.resourceVersion !== revision) throw new Error(`page ${pages} at revision ${listed.resourceVersion}, the first at ${revision}`);
        revision = listed.resourceVersion;
        items += listed.items.length;
        next = listed.continue;
      } while (next !== undefined && next !== '');
      result.lastListItems = items;
    } catch {
      result.listErrors++;
    }
    listing = false;
    result.listMs.push(ctx.now() - sentAt);
    result.listPages += pages;
    if (running) ctx.timer('list', Math.max(config.listPauseMs, (config.listEveryMs ?? 0) - (ctx.now() - sentAt)), { type: 'probe.list', body: null });
    else if (settled()) stopped?.();
  }

  /**
   * Nothing left to wait for: every mutating call answered, and a LIST answered at least once. A LIST
   * still in flight when there is already one is not waited for (at 5,000 nodes one takes 15-40 s, and
   * the loop-delay and CPU figures read after the stop would be diluted by the idle wait): counted in
   * `listInFlightAtStop` instead.
   */
  function settled(): boolean {
    return result.mutatingInFlight === 0 && !(listing && result.listMs.length === 0);
  }

  /** Stops sending, then answers once every call sent has answered, or after PROBE_STOP_WAIT_MS. */
  function stop(): Promise<ProbeResult> {
    running = false;
    ctx.cancelTimer('mutate');
    ctx.cancelTimer('list');
    const snapshot = (): ProbeResult => ({ ...result, listInFlightAtStop: listing ? 1 : 0 });
    if (settled()) return Promise.resolve(snapshot());
    return new Promise((resolve) => {
      stopped = () => {
        stopped = undefined;
        ctx.cancelTimer('stop-wait');
        resolve(snapshot());
      };
      ctx.timer('stop-wait', PROBE_STOP_WAIT_MS, { type: 'probe.stopWaitOver', body: null });
    });
  }

  return {
    receive(msg) {
      if (api.handle(msg as Message) || (listApi !== api && listApi.handle(msg as Message))) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'probe.start':
          return start(msg.body);
        case 'probe.mutate':
          mutate();
          return undefined;
        case 'probe.list':
          return list();
        case 'probe.stop':
          return stop();
        case 'probe.stopWaitOver':
          stopped?.();
          return undefined;
        default:
          return unhandled;
      }
    },
  };
});

function probeName(i: number): string {
  return `density-probe-${i}`;
}
