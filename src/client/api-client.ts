/**
 * A typed client of the API server's actor protocol (src/api/protocol.ts)
 * for code running inside an actor: get / list / create / update /
 * updateStatus / patch / delete with typed results, errors as
 * `ApiStatusError` (a `ClientError` carrying the Kubernetes Status, so
 * `isConflict` / `isNotFound` and `error.reason` work as in client-go), and a
 * `ListWatcher` over `api.list` + `api.watch` that plugs into the Informer.
 *
 * Watch events arrive at the host actor as `api.watchEvents` / `api.watchEnd`
 * tells; the actor hands every message to `client.handle(msg)` first (as with
 * `actorKvClientHost`), which returns true when the message was the client's.
 *
 * ```ts
 * const clock = new ActorClock(ctx);
 * const api = new ApiClient(ctx, { clock, as: { name: 'system:kube-controller-manager', groups: [] } });
 * const pods = new Informer<Pod>({ name: 'pods', clock, listWatcher: api.listWatcher(PODS) });
 * // in receive(msg): if (api.handle(msg)) return; if (msg.type === 'client.timer') { clock.fire(msg.body.key); return; }
 * ```
 */
import { BucketRateLimiter } from './workqueue.js';
import { restMethod } from './metrics.js';
import type { ActorContext } from '../actor/behaviour.js';
import type { Message } from '../actor/protocol.js';
import { APISERVER_NAME, watchSeqGap, type ApiListSliceMsg, type ApiReply, type ApiServerMsg, type ApiTarget, type ApiWatchMsg } from '../api/protocol.js';
import type { UserInfo } from '../api/auth.js';
import type { ApiQuery } from '../api/handlers.js';
import type { PatchType } from '../api/registry.js';
import type {
  ConfigMap, ControllerRevision, DaemonSet, DeleteOptions, Deployment, EndpointSlice, Endpoints, Event, KubeObject, Lease, List, Namespace, Node, Pod, PodDisruptionBudget, ReplicaSet, Secret, Service, StatefulSet, Status, WatchEvent,
} from '../api/types/index.js';
import type { Clock } from './clock.js';
import type { LeaseClient } from './leader-election.js';
import { ClientError, type ListOptions, type ListResult, type ListWatcher, type WatchHandle, type WatchHandlers } from './list-watch.js';

/** Names a resource, typed by the object it serves. */
export interface ResourceType<T extends KubeObject> {
  group: string;
  version: string;
  /** Plural: 'pods'. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Phantom: carries T for inference; never set. */
  readonly __object?: T;
}

function resourceType<T extends KubeObject>(group: string, version: string, resource: string, kind: string, namespaced: boolean): ResourceType<T> {
  return Object.freeze({ group, version, resource, kind, namespaced });
}

export const PODS = resourceType<Pod>('', 'v1', 'pods', 'Pod', true);
export const NODES = resourceType<Node>('', 'v1', 'nodes', 'Node', false);
export const NAMESPACES = resourceType<Namespace>('', 'v1', 'namespaces', 'Namespace', false);
export const SERVICES = resourceType<Service>('', 'v1', 'services', 'Service', true);
export const ENDPOINTS = resourceType<Endpoints>('', 'v1', 'endpoints', 'Endpoints', true);
export const EVENTS = resourceType<Event>('', 'v1', 'events', 'Event', true);
export const CONFIGMAPS = resourceType<ConfigMap>('', 'v1', 'configmaps', 'ConfigMap', true);
export const SECRETS = resourceType<Secret>('', 'v1', 'secrets', 'Secret', true);
export const DEPLOYMENTS = resourceType<Deployment>('apps', 'v1', 'deployments', 'Deployment', true);
export const REPLICASETS = resourceType<ReplicaSet>('apps', 'v1', 'replicasets', 'ReplicaSet', true);
export const STATEFULSETS = resourceType<StatefulSet>('apps', 'v1', 'statefulsets', 'StatefulSet', true);
export const PODDISRUPTIONBUDGETS = resourceType<PodDisruptionBudget>('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true);
export const DAEMONSETS = resourceType<DaemonSet>('apps', 'v1', 'daemonsets', 'DaemonSet', true);
export const CONTROLLERREVISIONS = resourceType<ControllerRevision>('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true);
export const LEASES = resourceType<Lease>('coordination.k8s.io', 'v1', 'leases', 'Lease', true);
export const ENDPOINTSLICES = resourceType<EndpointSlice>('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true);

/** `apiVersion` of a resource type: 'v1' or 'apps/v1'. */
export function apiVersionOfType(type: ResourceType<KubeObject>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** A failed request: the server's Status (or one made up for a transport failure: 504 Timeout, 503 ServiceUnavailable). */
export class ApiStatusError extends ClientError {
  constructor(readonly status: Status) {
    super(status.code, status.reason ?? '', status.message ?? `request failed with ${status.code}`);
    this.name = 'ApiStatusError';
  }
}

function transportStatus(code: number, reason: 'Timeout' | 'ServiceUnavailable', message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message };
}

/** What the client needs of its actor: a subset of ActorContext, so tests may pass a stand-in. */
export type ApiClientHost = Pick<ActorContext, 'name' | 'ask' | 'send' | 'random'>;

export interface ApiClientOptions {
  /** The API server actor's name (default 'apiserver'). */
  apiserver?: string;
  /** Run requests as this user (RBAC applies); default: the actor's trusted, unrestricted identity. */
  as?: UserInfo;
  /** Per-request ask timeout. */
  requestTimeoutMs?: number;
  /**
   * Needed for watches: each watch is ended and restarted from its last
   * resourceVersion after `watchRestartMs` (jittered up to 2x), as client-go's
   * reflector asks for `timeoutSeconds`. That bounds how long a watch the
   * server silently lost (an apiserver restart) goes unnoticed.
   */
  clock?: Clock;
  watchRestartMs?: number;
  /**
   * Ask for unpaged lists in slices of this many items (`ApiListSlicing`): the API server then sends a large
   * list over several of its turns instead of one, and this client puts it together (every slice is at the
   * list's one resourceVersion). The owning actor must route `api.listSlice` tells to `handle` (as it does
   * watch messages). A slice that goes missing fails the list: at once when a later one arrives first, and,
   * with a `clock`, when none arrives within `requestTimeoutMs`. Default: lists come whole.
   */
  listSliceItems?: number;
  /**
   * client-go's rest.Config QPS and Burst: every request waits its turn in a token bucket of `qps` tokens a
   * second, at most `burst` saved up (kube-controller-manager's `--kube-api-qps` / `--kube-api-burst`,
   * Kubernetes' defaults 20 / 30; its 5,000-node scale tests raise them to 100). Needs a `clock`. Lease
   * requests (`leaseClient`) do not wait in it: Kubernetes' components elect their leader through a client
   * of their own. Undefined: no limit.
   */
  qps?: number;
  /** The bucket's size with `qps` (default: qps, at least 1). */
  burst?: number;
}

/**
 * Slice size of the control plane's own lists (the controller-manager's, the scheduler's, the cloud
 * controller-manager's informers): client-go's pager and kubectl's chunks are 500. kube-apiserver serves
 * a 100,000-pod LIST on a goroutine of its own; our API server has one thread, and an unsliced list is one
 * job of it (150–370 ms at 20,000 pods, docs/performance.md), so a controller-manager taking over at 5,000
 * nodes would hold every other request for seconds. A list of at most this many items is one reply.
 */
export const CONTROL_PLANE_LIST_SLICE_ITEMS = 500;

/** `request`'s second argument for the lease client's requests, which skip the token bucket. */
const UNTHROTTLED = true;

/** The object, or null for a NotFound error. */
async function nullIfNotFound<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ClientError && error.code === 404) return null;
    throw error;
  }
}

/** client-go's reflector default request timeout is 60 s; an actor ask inside one process needs far less, but a Raft election may stall the store a few seconds. */
export const API_REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** client-go's minWatchTimeout is 5 minutes (jittered to 10): a lost watch costs at most that long. */
export const API_WATCH_RESTART_MS_DEFAULT = 300_000;
/** Events one `api.watchEvents` may carry (the server batches at most 500); a larger batch is a protocol error. */
const WATCH_EVENTS_PER_MESSAGE_MAX = 10_000;

export interface RequestOptions {
  /** dryRun, fieldManager, force, propagationPolicy... as the query string would carry them. */
  query?: ApiQuery;
}

export interface ClientListOptions extends ListOptions {
  namespace?: string;
  limit?: number;
  continue?: string;
}

/** A sliced list being put together: slice 0 is the ask's reply, the others `api.listSlice` tells. */
interface PendingList {
  id: string;
  /** Known once the reply has come. */
  reply: { code: number; body: List<KubeObject>; count: number } | undefined;
  /** Slices 1.. in order; `parts[i - 1]` is slice i. */
  parts: unknown[][];
  done: (error: unknown, list?: List<KubeObject>) => void;
}

interface ActiveWatch {
  watchId: string;
  handlers: WatchHandlers<KubeObject>;
  /** Set once the watch has ended (by us, by the server, or by an error) so nothing more is delivered. */
  ended: boolean;
  /** The `seq` the next message must carry (see ApiWatchMsg). */
  nextSeq: number;
}

export class ApiClient {
  private readonly apiserver: string;
  private readonly requestTimeoutMs: number;
  /** The client-side token bucket (`qps` / `burst`); undefined: no limit. */
  private readonly limiter: BucketRateLimiter<void> | undefined;
  private throttleSeq = 0;
  private readonly watchRestartMs: number;
  private readonly watches = new Map<string, ActiveWatch>();
  private readonly pendingLists = new Map<string, PendingList>();
  private listSeq = 0;
  /** Random per incarnation: the apiserver keys watches by id, and a restarted actor must not reuse its predecessor's ids. */
  private readonly watchIdPrefix: string;
  private watchSeq = 0;
  readonly stats = { requests: 0, failures: 0, watchesStarted: 0, watchEvents: 0, watchRestarts: 0, watchGaps: 0, listsSliced: 0, listSliceGaps: 0, throttled: 0, throttledMs: 0 };

  constructor(private readonly host: ApiClientHost, private readonly options: ApiClientOptions = {}) {
    this.apiserver = options.apiserver ?? APISERVER_NAME;
    this.requestTimeoutMs = options.requestTimeoutMs ?? API_REQUEST_TIMEOUT_MS_DEFAULT;
    if (options.qps !== undefined) {
      if (options.clock === undefined) throw new Error('ApiClient: qps needs a clock (requests wait on its timers)');
      const burst = options.burst ?? Math.max(1, Math.floor(options.qps));
      this.limiter = new BucketRateLimiter<void>(options.clock, options.qps, burst);
    }
    this.watchRestartMs = options.watchRestartMs ?? API_WATCH_RESTART_MS_DEFAULT;
    let suffix = '';
    for (let i = 0; i < 8; i++) suffix += Math.floor(host.random() * 36).toString(36);
    this.watchIdPrefix = `${host.name}/${suffix}/`;
  }

  // ---------- requests ----------

  async get<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string, options: { subresource?: string } = {}): Promise<T> {
    return this.request<T>(this.getMsg(type, namespace, name, options.subresource));
  }

  /** Like `get`, but null instead of a NotFound error. */
  async tryGet<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string): Promise<T | null> {
    return nullIfNotFound(this.get(type, namespace, name));
  }

  async list<T extends KubeObject>(type: ResourceType<T>, options: ClientListOptions = {}): Promise<ListResult<T> & { continue?: string }> {
    const query: ApiQuery = {};
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
    if (options.resourceVersion) query.resourceVersion = options.resourceVersion;
    if (options.limit !== undefined) query.limit = options.limit;
    if (options.continue) query.continue = options.continue;
    const sliceItems = this.options.listSliceItems;
    const list = sliceItems !== undefined && sliceItems > 0 && options.limit === undefined
      ? await this.slicedList<T>({ ...this.target(type, options.namespace), query }, sliceItems)
      : await this.request<List<T>>({ type: 'api.list', body: { ...this.target(type, options.namespace), query } });
    if (!Array.isArray(list.items)) throw new Error(`api.list ${type.resource}: reply has no items array`);
    const result: ListResult<T> & { continue?: string } = { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    if (list.metadata?.continue) result.continue = list.metadata.continue;
    return result;
  }

  async create<T extends KubeObject>(type: ResourceType<T>, object: T, options: RequestOptions = {}): Promise<T> {
    return this.request<T>(this.createMsg(type, object, options));
  }

  /**
   * POST to a subresource of an existing object: `pods/<name>/binding` (a
   * Binding), `pods/<name>/eviction` (an Eviction). Answers what the server
   * answers (a Status for binding and eviction).
   */
  async createSubresource<R = Status>(type: ResourceType<KubeObject>, namespace: string | undefined, name: string, subresource: string, object: KubeObject): Promise<R> {
    return this.request<R>({ type: 'api.create', body: { ...this.target(type, namespace, name, subresource), object, query: undefined } });
  }

  /** Binds a pod to a node (what the scheduler does): 409 Conflict when it is already bound. */
  async bind(namespace: string, podName: string, nodeName: string): Promise<void> {
    await this.createSubresource(PODS as ResourceType<KubeObject>, namespace, podName, 'binding', {
      apiVersion: 'v1', kind: 'Binding', metadata: { name: podName, namespace }, target: { kind: 'Node', name: nodeName },
    } as KubeObject);
  }

  /** Compare-and-swap on `metadata.resourceVersion` when set (409 Conflict when stale); without it, last writer wins. */
  async update<T extends KubeObject>(type: ResourceType<T>, object: T, options: RequestOptions = {}): Promise<T> {
    return this.put(type, object, undefined, options);
  }

  /** Writes only `.status` (the status subresource); same CAS rule as `update`. */
  async updateStatus<T extends KubeObject>(type: ResourceType<T>, object: T, options: RequestOptions = {}): Promise<T> {
    return this.put(type, object, 'status', options);
  }

  async patch<T extends KubeObject>(
    type: ResourceType<T>, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options: RequestOptions & { subresource?: string } = {},
  ): Promise<T> {
    return this.request<T>({ type: 'api.patch', body: { ...this.target(type, namespace, name, options.subresource), name, patchType, patch, query: options.query } });
  }

  /** Returns the object as it is after the request (still present while finalizers or a grace period hold it) or the server's Status. */
  async delete<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string, options?: DeleteOptions): Promise<T | Status> {
    return this.request<T | Status>({ type: 'api.delete', body: { ...this.target(type, namespace, name), name, options } });
  }

  /** A LeaseClient for LeaderElector: get returns null on NotFound; update is CAS on resourceVersion. */
  leaseClient(): LeaseClient {
    return {
      get: (namespace, name) => nullIfNotFound(this.request<Lease>(this.getMsg(LEASES, namespace, name), UNTHROTTLED)),
      create: async (lease) => this.request<Lease>(this.createMsg(LEASES, lease, {}), UNTHROTTLED),
      update: async (lease) => this.request<Lease>(this.updateMsg(LEASES, lease, undefined, {}), UNTHROTTLED),
    };
  }

  // ---------- watches ----------

  /** A ListWatcher for an Informer, over one resource (optionally one namespace and selectors). */
  listWatcher<T extends KubeObject>(type: ResourceType<T>, scope: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}): ListWatcher<T> {
    return {
      list: (options) => this.list(type, { ...scope, ...options, labelSelector: options.labelSelector ?? scope.labelSelector, fieldSelector: options.fieldSelector ?? scope.fieldSelector }),
      watch: (resourceVersion, handlers) => this.watch(type, resourceVersion, handlers, scope),
    };
  }

  watch<T extends KubeObject>(
    type: ResourceType<T>, resourceVersion: string, handlers: WatchHandlers<T>, scope: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): WatchHandle {
    const watchId = `${this.watchIdPrefix}${++this.watchSeq}`;
    const active: ActiveWatch = { watchId, handlers: handlers as WatchHandlers<KubeObject>, ended: false, nextSeq: 1 };
    this.watches.set(watchId, active);
    this.stats.watchesStarted++;
    const query: ApiQuery = { allowWatchBookmarks: true };
    if (resourceVersion !== '') query.resourceVersion = resourceVersion;
    if (scope.labelSelector) query.labelSelector = scope.labelSelector;
    if (scope.fieldSelector) query.fieldSelector = scope.fieldSelector;
    const msg: ApiServerMsg = { type: 'api.watch', body: { ...this.target(type, scope.namespace), watchId, query } };
    const metrics = this.options.clock?.metrics;
    this.host.ask<ApiReply>(this.apiserver, msg, { timeoutMs: this.requestTimeoutMs }).then(
      (reply) => {
        metrics?.request(this.apiserver, 'GET', String(reply.ok ? reply.code : reply.status.code ?? 500));
        if (reply.ok) return;
        this.fail(active, reply.status);
      },
      (error: unknown) => {
        metrics?.request(this.apiserver, 'GET', '<error>');
        this.fail(active, this.transportFailure(error));
      },
    );
    const clock = this.options.clock;
    const restartKey = `api-client/watch/${watchId}`;
    if (clock !== undefined && this.watchRestartMs > 0) {
      const delayMs = this.watchRestartMs * (1 + clock.random());
      clock.timer(restartKey, delayMs, () => {
        if (active.ended) return;
        this.stats.watchRestarts++;
        this.finish(active, true);
        active.handlers.onClose?.();
      });
    }
    return {
      stop: () => {
        if (active.ended) return;
        this.finish(active, true);
      },
    };
  }

  /**
   * Route a message to the client; true when it was a watch message, or a slice of one of this client's lists
   * (whether or not still wanted). Another client's slice is left to it: an actor may hold several clients.
   */
  handle(msg: Message): boolean {
    if (msg.type === 'api.listSlice') {
      const body = (msg as ApiListSliceMsg).body;
      if (typeof body?.id !== 'string' || !body.id.startsWith(this.watchIdPrefix)) return false;
      this.onListSlice(body);
      return true;
    }
    if (msg.type !== 'api.watchEvents' && msg.type !== 'api.watchEnd') return false;
    const watchMsg = msg as ApiWatchMsg;
    const active = this.watches.get(watchMsg.body.watchId);
    if (active === undefined || active.ended) return true; // a late message of a stopped watch
    const gap = watchSeqGap(active.nextSeq, watchMsg.body.seq);
    if (gap !== undefined) {
      this.stats.watchGaps++;
      this.fail(active, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError', message: gap });
      return true;
    }
    active.nextSeq++;
    if (watchMsg.type === 'api.watchEvents') {
      const events = watchMsg.body.events;
      if (!Array.isArray(events) || events.length > WATCH_EVENTS_PER_MESSAGE_MAX) throw new Error(`api.watchEvents for ${active.watchId}: events must be an array of at most ${WATCH_EVENTS_PER_MESSAGE_MAX}`);
      for (const event of events) {
        if (active.ended) break;
        this.deliver(active, event);
      }
      return true;
    }
    const status = watchMsg.body.status;
    this.finish(active, false);
    if (status !== undefined && status.status === 'Failure') active.handlers.onError({ code: status.code, reason: status.reason, message: status.message });
    else active.handlers.onClose?.();
    return true;
  }

  /** End every watch (the actor is stopping). */
  close(): void {
    for (const active of [...this.watches.values()]) this.finish(active, true);
  }

  get activeWatches(): number {
    return this.watches.size;
  }

  // ---------- internals ----------

  /** A list asked for in slices; resolves with the whole list once every slice is in, in order. */
  private slicedList<T extends KubeObject>(target: ApiTarget & { query: ApiQuery }, sliceItems: number): Promise<List<T>> {
    const id = `${this.watchIdPrefix}list/${++this.listSeq}`;
    const timerKey = `api-client/list/${id}`;
    const clock = this.options.clock;
    return new Promise<List<T>>((resolve, reject) => {
      const pending: PendingList = {
        id, reply: undefined, parts: [],
        done: (error, list) => {
          if (this.pendingLists.get(id) !== pending) return;
          this.pendingLists.delete(id);
          clock?.cancelTimer(timerKey);
          if (error !== undefined) reject(error);
          else resolve(list as List<T>);
        },
      };
      this.pendingLists.set(id, pending);
      this.requestReply<List<T>>({ type: 'api.list', body: { ...target, slices: { id, items: sliceItems } } }).then(
        ({ body, code, slices }) => {
          if (slices === undefined || slices <= 1) return pending.done(undefined, body);
          this.stats.listsSliced++;
          pending.reply = { code, body, count: slices };
          this.armListTimer(pending, timerKey);
          this.completeList(pending);
        },
        (error: unknown) => pending.done(error),
      );
    });
  }

  private armListTimer(pending: PendingList, timerKey: string): void {
    this.options.clock?.timer(timerKey, this.requestTimeoutMs, () => {
      this.stats.failures++;
      pending.done(new ApiStatusError(transportStatus(504, 'Timeout', `list ${pending.id}: no slice came within ${this.requestTimeoutMs} ms (${pending.parts.length + 1} of ${pending.reply?.count ?? '?'} in)`)));
    });
  }

  private onListSlice(body: ApiListSliceMsg['body']): void {
    const pending = this.pendingLists.get(body.id);
    if (pending === undefined) return; // a slice of a list that already failed or was never ours
    const expected = pending.parts.length + 1;
    if (body.index !== expected || !Array.isArray(body.items) || (pending.reply !== undefined && body.count !== pending.reply.count)) {
      this.stats.listSliceGaps++;
      this.stats.failures++;
      pending.done(new ApiStatusError({
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError',
        message: `list ${body.id} lost a slice (got slice ${body.index} of ${body.count}, expected ${expected}); list again`,
      }));
      return;
    }
    pending.parts.push(body.items);
    if (pending.reply !== undefined) this.armListTimer(pending, `api-client/list/${pending.id}`);
    this.completeList(pending);
  }

  private completeList(pending: PendingList): void {
    const reply = pending.reply;
    if (reply === undefined || pending.parts.length + 1 < reply.count) return;
    const items = reply.body.items.slice();
    for (const part of pending.parts) for (const item of part) items.push(item as KubeObject);
    pending.done(undefined, { ...reply.body, items });
  }

  private deliver(active: ActiveWatch, event: WatchEvent): void {
    if (event.type === 'ERROR') {
      const status = event.object as Status;
      this.finish(active, true);
      active.handlers.onError({ code: status.code ?? 500, reason: status.reason, message: status.message });
      return;
    }
    this.stats.watchEvents++;
    active.handlers.onEvent({ type: event.type, object: event.object as KubeObject });
  }

  private fail(active: ActiveWatch, status: Status): void {
    if (active.ended) return;
    this.finish(active, true);
    active.handlers.onError({ code: status.code, reason: status.reason, message: status.message });
  }

  /** Forget the watch; tell the server when it may still be running there. */
  private finish(active: ActiveWatch, tellServer: boolean): void {
    active.ended = true;
    this.watches.delete(active.watchId);
    this.options.clock?.cancelTimer(`api-client/watch/${active.watchId}`);
    if (tellServer) this.host.send(this.apiserver, { type: 'api.unwatch', body: { watchId: active.watchId } } satisfies ApiServerMsg);
  }

  private async put<T extends KubeObject>(type: ResourceType<T>, object: T, subresource: string | undefined, options: RequestOptions): Promise<T> {
    return this.request<T>(this.updateMsg(type, object, subresource, options));
  }

  private getMsg(type: ResourceType<KubeObject>, namespace: string | undefined, name: string, subresource?: string): ApiServerMsg {
    return { type: 'api.get', body: { ...this.target(type, namespace, name, subresource), name } };
  }

  private createMsg<T extends KubeObject>(type: ResourceType<T>, object: T, options: RequestOptions): ApiServerMsg {
    return { type: 'api.create', body: { ...this.target(type, this.namespaceOf(type, object)), object: this.withTypeMeta(type, object), query: options.query } };
  }

  private updateMsg<T extends KubeObject>(type: ResourceType<T>, object: T, subresource: string | undefined, options: RequestOptions): ApiServerMsg {
    const name = object.metadata.name;
    if (name === undefined || name === '') throw new Error(`update ${type.resource}: object has no metadata.name`);
    return { type: 'api.update', body: { ...this.target(type, this.namespaceOf(type, object), name, subresource), name, object: this.withTypeMeta(type, object), query: options.query } };
  }

  private async request<R>(msg: ApiServerMsg, unthrottled = false): Promise<R> {
    return (await this.requestReply<R>(msg, unthrottled)).body;
  }

  /** Waits for a token of the client-side bucket, as client-go's rate limiter does before every request. */
  private throttle(): Promise<void> | undefined {
    if (this.limiter === undefined) return undefined;
    const waitMs = this.limiter.when(undefined);
    if (waitMs <= 0) return undefined;
    this.stats.throttled++;
    this.stats.throttledMs += waitMs;
    const clock = this.options.clock!;
    return new Promise<void>((resolve) => clock.timer(`api-client/throttle/${this.watchIdPrefix}${++this.throttleSeq}`, waitMs, resolve));
  }

  /** The answer with its code and, for a sliced list, how many slices it has. */
  private async requestReply<R>(msg: ApiServerMsg, unthrottled = false): Promise<{ code: number; body: R; slices: number | undefined }> {
    const waiting = unthrottled ? undefined : this.throttle();
    if (waiting !== undefined) await waiting;
    this.stats.requests++;
    const metrics = this.options.clock?.metrics;
    let reply: ApiReply<unknown>;
    try {
      reply = await this.host.ask<ApiReply<unknown>>(this.apiserver, msg, { timeoutMs: this.requestTimeoutMs });
    } catch (error) {
      this.stats.failures++;
      metrics?.request(this.apiserver, restMethod(msg.type), '<error>');
      throw new ApiStatusError(this.transportFailure(error));
    }
    metrics?.request(this.apiserver, restMethod(msg.type), String(reply.ok ? reply.code : reply.status.code ?? 500));
    if (!reply.ok) {
      this.stats.failures++;
      throw new ApiStatusError(reply.status);
    }
    return { code: reply.code, body: reply.body as R, slices: reply.slices };
  }

  private transportFailure(error: unknown): Status {
    const name = error instanceof Error ? error.name : '';
    const message = error instanceof Error ? error.message : String(error);
    if (name === 'AskTimeoutError') return transportStatus(504, 'Timeout', `the API server did not answer within ${this.requestTimeoutMs} ms: ${message}`);
    return transportStatus(503, 'ServiceUnavailable', `the API server could not be reached: ${message}`);
  }

  private target(type: ResourceType<KubeObject>, namespace: string | undefined, name?: string, subresource?: string): ApiTarget {
    if (type.namespaced && name !== undefined && (namespace === undefined || namespace === '')) {
      throw new Error(`${type.resource} ${name}: a namespaced resource needs a namespace`);
    }
    const target: ApiTarget = { group: type.group, version: type.version, resource: type.resource };
    if (type.namespaced && namespace) target.namespace = namespace;
    if (name !== undefined) target.name = name;
    if (subresource !== undefined) target.subresource = subresource;
    if (this.options.as !== undefined) target.as = this.options.as;
    return target;
  }

  private namespaceOf(type: ResourceType<KubeObject>, object: KubeObject): string | undefined {
    if (!type.namespaced) return undefined;
    const namespace = object.metadata.namespace;
    if (namespace === undefined || namespace === '') throw new Error(`${type.resource}: object ${object.metadata.name ?? object.metadata.generateName ?? ''} has no metadata.namespace`);
    return namespace;
  }

  private withTypeMeta<T extends KubeObject>(type: ResourceType<T>, object: T): T {
    return { ...object, apiVersion: apiVersionOfType(type), kind: type.kind };
  }
}
