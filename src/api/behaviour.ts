/**
 * The apiserver actor: one `ApiHandlers` over a KvClient, reachable over
 * actor messages (protocol.ts) and, in the threaded runtime, over HTTPS on
 * 127.0.0.1 (the listener lives in this actor's thread).
 *
 * The KvClient comes from `args.kv`: `embedded` builds a LocalKvClient (a
 * single in-memory store, for tests and small embedded use), `replicated`
 * talks to the etcd replica actors, `etcd` to a real etcd cluster over gRPC
 * (threaded runtime only), `module` imports a factory by module URL
 * (args must be serializable, so a factory is named, not passed).
 */
import { defineBehaviour, unhandled, type ActorContext } from '../actor/index.js';
import type { Message } from '../actor/protocol.js';
import { StoredJsonReply } from '../actor/json-event.js';
import type { KvClient } from '../kv/client/types.js';
import { LocalKvClient } from '../kv/client/local-client.js';
import { ReplicatedKvClient, actorKvClientHost, type ReplicatedKvClientOptions } from '../kv/client/replicated-client.js';
import { TokenAuthenticator, formatTokenFile, parseTokenFile, unionAuthenticator, type TokenEntry, type UserInfo } from './auth.js';
import { SIGNING_KEY_BYTES_MIN } from './serviceaccount/token.js';
import { ApiError, apiErrors } from './errors.js';
import { ApiHandlers, type ApiRequest } from './handlers.js';
import { HEALTH_CHECK_NAMES, healthReport, singleHealthCheck, type HealthCheck, type HealthEndpoint } from './health.js';
import { ApiServerMetrics } from './metrics.js';
import { FlowDispatcher, actorFlowUser, classifyRequest, type FlowControlOptions } from './flow-control.js';
import { mergeExpositions } from '../metrics/index.js';
import type { ReplicaMetricsReply } from '../kv/replica/protocol.js';
import { openPodLog, type PodLogReader, type RemoteKubeletLogs } from './pod-log.js';
import { actorWebhookCaller } from './admission/webhook/actor-caller.js';
import { kubeletActorName, type ApiHealthReply, type ApiListSliceMsg, type ApiListSlicing, type ApiMetricsReply, type ApiReply, type ApiServerInfo, type ApiServerMsg, type ApiServerSecrets, type ApiTarget, type ApiWatchMsg, type KubeletLogsMsg, type KubeletLogsReply } from './protocol.js';
import type { KubeObject, List, WatchEvent } from './types/index.js';
import { storedTextOf } from './registry.js';

export type KvSource =
  | { kind: 'embedded' }
  | { kind: 'replicated'; options: ReplicatedKvClientOptions }
  | { kind: 'module'; module: string; export: string; options?: unknown }
  /** A real etcd v3 cluster (threaded runtime only: gRPC is real I/O the simulated runtime cannot replay). */
  | { kind: 'etcd'; endpoints: string[]; requestTimeoutMs?: number };

/** What a `module` KvSource exports: builds the client inside the actor. */
export type KvClientFactory = (ctx: ActorContext<never>, options: unknown) => { client: KvClient; handle?(msg: Message): boolean } | Promise<{ client: KvClient; handle?(msg: Message): boolean }>;

export interface ApiServerArgs {
  kv?: KvSource;
  /** HTTPS face; `false` for none (the simulated runtime, or components-only clusters). */
  http?: false | { host?: string; port?: number };
  /**
   * Admission webhooks are called by asking this actor (`webhook.call`), not
   * over HTTPS: the message-level stand-in the chaos engine's webhook uses,
   * in both runtimes. Without it webhooks go over HTTPS where there is an
   * HTTPS face, and cannot be called where there is none.
   */
  webhookActor?: string;
  /** Period of bookmarks and of reaping pods whose grace period ran out. */
  tickMs?: number;
  serviceIpRange?: { base: string; size: number };
  /** kube-apiserver's --etcd-compaction-interval (default 5 min; 0: never). */
  compactionIntervalMs?: number;
  /**
   * Another API server's secrets (its `api.secrets` answer), for the second and later API servers of a cluster:
   * their tokens and service account signing key are then that one's, not their own disk's.
   */
  secrets?: ApiServerSecrets;
  /**
   * Whether admission webhooks and kubelets in other processes are reached over HTTPS (default: when this
   * server has an HTTPS face). An API server without a listener of its own still calls out (the second and
   * later API servers of a threaded cluster); never in the simulated runtime.
   */
  outboundHttps?: boolean;
  /**
   * API Priority and Fairness (flow-control.ts): once requests wait, each turn starts every waiting priority
   * level's oldest first, so a burst in one level does not hold up another. Default off (the cluster spec's
   * `priorityAndFairness` turns it on in a threaded cluster); in the simulated runtime a handler takes no
   * virtual time, so no queue could form.
   */
  flowControl?: false | FlowControlOptions;
}

/** Kubernetes sends bookmarks about once a minute; we tick faster so graceful deletions end close to their deadline. */
const TICK_MS_DEFAULT = 1_000;
/** Events per watch message: bounds a message while a watcher catches up on a large list. */
const WATCH_BATCH_EVENTS_MAX = 500;
/**
 * A sliced list's slices go one per turn of this actor, this long apart (a timer: in the threaded runtime
 * setTimeout's 1 ms floor, so the thread reads its ports between two slices; in the simulated runtime one
 * virtual millisecond, so what arrives meanwhile is delivered between them).
 */
const LIST_SLICE_GAP_MS = 1;
/** Items per slice at least: a slice of fewer costs more in frames than it saves in turn length. */
const LIST_SLICE_ITEMS_MIN = 1;
/**
 * Slices per list at most: larger slices beyond it. Each slice waits for a turn of a busy thread, so a list's
 * latency grows with its slice count: at 5,000 nodes × 100,000 pods, 200 slices of 500 took the LIST p99 to
 * 38 s, past Kubernetes' 30 s SLO (docs/performance.md, "The night's merged code on a quiet machine").
 */
const LIST_SLICES_MAX = 32;
const TOKEN_FILE = 'tokens.csv';
/** A log read may wait at the kubelet for `waitMs`; the ask allows this much more for the kubelet and its runtime to answer. */
const KUBELET_LOG_ASK_MARGIN_MS = 15_000;
/** A store replica that does not answer a scrape within this is left out of it (Prometheus' own scrape timeout is 10 s). */
const REPLICA_METRICS_ASK_TIMEOUT_MS = 2_000;
/** The component users and their groups; their rights are the bootstrap RBAC policy's (rbac.ts bootstrapPolicy). */
const COMPONENT_USERS: { user: string; groups: string[] }[] = [
  { user: 'admin', groups: ['system:masters'] },
  { user: 'system:kube-scheduler', groups: [] },
  { user: 'system:kube-controller-manager', groups: [] },
  { user: 'system:node', groups: ['system:nodes'] },
  { user: 'system:kube-proxy', groups: [] },
];

const ACTOR_USER: UserInfo = Object.freeze({ name: 'system:apiserver-actor-client', groups: ['system:masters', 'system:authenticated'] });

function loadOrCreateTokens(ctx: ActorContext<ApiServerMsg>): TokenEntry[] {
  const existing = ctx.disk.read(TOKEN_FILE);
  if (existing !== undefined) return parseTokenFile(Buffer.from(existing).toString('utf8'));
  const entries = COMPONENT_USERS.map(({ user, groups }) => {
    let token = '';
    for (let i = 0; i < 32; i++) token += Math.floor(ctx.random() * 16).toString(16);
    return { token, user, groups };
  });
  ctx.disk.write(`${TOKEN_FILE}.tmp`, Buffer.from(formatTokenFile(entries), 'utf8'));
  ctx.disk.fsync(`${TOKEN_FILE}.tmp`);
  ctx.disk.rename(`${TOKEN_FILE}.tmp`, TOKEN_FILE);
  ctx.disk.fsyncDir();
  return entries;
}

/** The key service account tokens are signed with: on the actor's disk, so tokens handed out survive a restart. */
const SERVICE_ACCOUNT_KEY_FILE = 'sa-signing.key';

function loadOrCreateSigningKey(ctx: ActorContext<ApiServerMsg>): Uint8Array {
  const existing = ctx.disk.read(SERVICE_ACCOUNT_KEY_FILE);
  if (existing !== undefined && existing.length >= SIGNING_KEY_BYTES_MIN) return existing;
  const key = Uint8Array.from({ length: SIGNING_KEY_BYTES_MIN }, () => Math.floor(ctx.random() * 256));
  ctx.disk.write(`${SERVICE_ACCOUNT_KEY_FILE}.tmp`, key);
  ctx.disk.fsync(`${SERVICE_ACCOUNT_KEY_FILE}.tmp`);
  ctx.disk.rename(`${SERVICE_ACCOUNT_KEY_FILE}.tmp`, SERVICE_ACCOUNT_KEY_FILE);
  ctx.disk.fsyncDir();
  return key;
}

/** `onHandle` gets the client's message hook before the client is ready: connecting may already sleep on the actor's timers. */
async function buildKv(ctx: ActorContext<ApiServerMsg>, source: KvSource, onHandle: (handle: (msg: Message) => boolean) => void): Promise<{ client: KvClient; handle?(msg: Message): boolean }> {
  switch (source.kind) {
    case 'embedded':
      return { client: new LocalKvClient({ now: () => ctx.now() }) };
    case 'replicated': {
      const { host, handle } = actorKvClientHost(ctx as never);
      const client = new ReplicatedKvClient(host, source.options);
      return { client, handle: (msg) => handle(msg) || client.handle(msg) };
    }
    case 'etcd': {
      // Loaded only when asked for: the gRPC client is an I/O edge the other sources never touch.
      const { EtcdKvClient } = await import('../kv/etcd/client.js');
      // The actor's clock and timers (never global ones), as the replicated client gets them.
      const { host, handle } = actorKvClientHost(ctx as never);
      onHandle(handle);
      const client = await EtcdKvClient.connect({ endpoints: source.endpoints, requestTimeoutMs: source.requestTimeoutMs, clock: host });
      ctx.log.info({ endpoints: source.endpoints, version: client.serverVersion, progressRequests: client.supportsProgressRequests }, 'apiserver on etcd');
      return { client, handle };
    }
    case 'module': {
      const exports = (await import(source.module)) as Record<string, unknown>;
      const factory = exports[source.export];
      if (typeof factory !== 'function') throw new Error(`${source.module} exports no function ${source.export}`);
      return (factory as KvClientFactory)(ctx as never, source.options);
    }
  }
}

export const apiServer = defineBehaviour<ApiServerMsg, ApiServerArgs | undefined>(import.meta.url, 'apiserver', (ctx, rawArgs) => {
  const args: ApiServerArgs = rawArgs ?? {};
  const tickMs = args.tickMs ?? TICK_MS_DEFAULT;
  const tokens = args.secrets?.tokens ?? loadOrCreateTokens(ctx);
  const outboundHttps = args.outboundHttps ?? args.http !== false;
  const adminToken = tokens.find((t) => t.user === 'admin')!.token;
  let kvHandle: ((msg: Message) => boolean) | undefined;
  let handlers: ApiHandlers | undefined;
  let kvClient: KvClient | undefined;
  let http: { close(): Promise<void> } | undefined;
  const info: ApiServerInfo = {
    url: undefined, caPem: undefined, adminToken, kubeconfig: undefined,
    componentTokens: Object.fromEntries(tokens.map((t) => [t.user, t.token])),
  };
  const watches = new ServedWatches();
  /** Sliced lists still sending, served in turn: one slice of the first, then it goes to the back. */
  const listSlicing: { to: string; id: string; items: readonly unknown[]; size: number; next: number; count: number }[] = [];
  const metrics = new ApiServerMetrics(ctx.name);
  let stopping = false;
  const replicaNames = args.kv?.kind === 'replicated' ? args.kv.options.replicas : [];
  // The store's answers and events before new requests: the requests already started finish first (readFirstFrom).
  ctx.readFirstFrom(replicaNames);

  /** The API server's series and, asked by message (no shared memory), each store replica's; one family each. */
  async function metricsText(): Promise<string> {
    const texts = await Promise.all([
      metrics.text(),
      ...replicaNames.map((name) => ctx.ask<ReplicaMetricsReply>(name, { type: 'metrics', body: null }, { timeoutMs: REPLICA_METRICS_ASK_TIMEOUT_MS }).then(
        (reply) => reply.text,
        (error: unknown) => {
          ctx.log.debug({ replica: name, err: error }, 'a store replica did not answer the metrics scrape');
          return '';
        },
      )),
    ]);
    return mergeExpositions(texts);
  }

  const healthChecks: HealthCheck[] = [
    { name: 'ping', run: async () => undefined },
    { name: 'etcd', run: async () => (handlers === undefined ? 'the API server is starting' : handlers.storeHealth()) },
    { name: 'informer-sync', run: async () => (handlers === undefined ? 'the API server is starting' : handlers.cachesSynced()) },
    { name: 'shutdown', run: async () => (stopping ? 'the API server is shutting down' : undefined) },
  ];

  async function health(endpoint: HealthEndpoint, query: { verbose: boolean; exclude: readonly string[] }, check?: string): Promise<ApiHealthReply> {
    const checks = healthChecks.filter((c) => HEALTH_CHECK_NAMES[endpoint].includes(c.name));
    const answer = check === undefined ? await healthReport(endpoint, checks, query) : await singleHealthCheck(checks, check);
    if (answer === undefined) return { found: false, code: 404, body: '' };
    // The reasons are withheld from callers; they belong in the log.
    for (const failure of answer.failures) ctx.log.debug({ endpoint, check: failure.name, reason: failure.reason }, 'health check failed');
    return { found: true, code: answer.code, body: answer.body };
  }

  // pods/log: ask the kubelet of the pod's node; a kubelet that does not answer is a 503, not a crash.
  const podLogs: PodLogReader = async (nodeName, request) => {
    try {
      return await ctx.ask<KubeletLogsReply>(kubeletActorName(nodeName), { type: 'kubelet.logs', body: request } satisfies KubeletLogsMsg, { timeoutMs: (request.waitMs ?? 0) + KUBELET_LOG_ASK_MARGIN_MS });
    } catch (error) {
      return { ok: false, code: 503, message: `the kubelet of node ${nodeName} did not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
  };

  /** Kubelets in other processes are read over HTTPS: set with the HTTPS face, which only the threaded runtime has. */
  let remoteKubeletLogs: RemoteKubeletLogs | undefined;

  /** Set once started (where it always was read: the order of the actor's random draws is the simulated runtime's replay). */
  let signingKey: Uint8Array | undefined;

  // Before `ready`: the HTTPS face it starts takes its turns too.
  const flow = args.flowControl === undefined || args.flowControl === false
    ? undefined
    : new FlowDispatcher((fn) => ctx.afterArrivals(fn), () => ctx.now(), args.flowControl, metrics.flowControlObserver());
  if (flow !== undefined) metrics.observeFlowControl(flow);

  const ready = (async () => {
    const kv = await buildKv(ctx, args.kv ?? { kind: 'embedded' }, (handle) => {
      kvHandle = handle;
    });
    kvClient = kv.client;
    kvHandle = kv.handle;
    // Webhooks are called over HTTPS, an I/O edge: only where this server calls out (never in the simulated runtime).
    const webhookCaller = args.webhookActor !== undefined
      ? actorWebhookCaller(args.webhookActor, (to, msg, options) => ctx.ask(to, msg, options))
      : !outboundHttps ? undefined : (await import('./http/webhook-client.js')).httpsWebhookCaller;
    handlers = new ApiHandlers({
      webhookCaller,
      kv: kv.client, now: () => ctx.now(), random: () => ctx.random(), serviceIpRange: args.serviceIpRange, compactionIntervalMs: args.compactionIntervalMs, metrics,
      serviceAccountSigningKey: (signingKey = args.secrets?.serviceAccountSigningKey ?? loadOrCreateSigningKey(ctx)),
    });
    await handlers.start();
    if (args.http === false && outboundHttps) remoteKubeletLogs = (await import('./http/kubelet-logs.js')).openKubeletLog;
    if (args.http !== false) {
      // The HTTPS face is an I/O edge: loaded only when asked for, so the simulated runtime never touches sockets.
      const [{ ApiHttpServer }, { ensureTls, kubeconfig }, { openKubeletLog }] = await Promise.all([import('./http/server.js'), import('./http/tls.js'), import('./http/kubelet-logs.js')]);
      remoteKubeletLogs = openKubeletLog;
      const tls = ensureTls(ctx.disk);
      const server = new ApiHttpServer({
        handlers,
        authenticator: unionAuthenticator([
          new TokenAuthenticator(tokens),
          handlers.serviceAccountAuthenticator((reason) => ctx.log.debug({ reason }, 'a service account token was refused')),
        ]),
        tls, host: args.http?.host, port: args.http?.port, now: () => ctx.now(),
        onInternalError: (error, where) => ctx.log.error({ err: error, where }, 'internal error serving a request'),
        podLogs,
        remoteKubeletLogs,
        metrics: metricsText,
        health,
        ...(flow === undefined ? {} : { flowControl: <T>(request: ApiRequest, user: UserInfo, run: () => Promise<T>) => inTurn(flow, request, user, run) }),
      });
      const { url } = await server.start();
      http = server;
      info.url = url;
      info.caPem = tls.caPem;
      info.kubeconfig = kubeconfig(url, tls.caPem, adminToken);
      ctx.log.info({ url }, 'apiserver serving');
    }
    ctx.timer('tick', tickMs, { type: 'api.tick', body: null });
  })();
  ready.catch((error: unknown) => ctx.log.error({ err: error }, 'apiserver failed to start'));

  /**
   * Serve an actor's request, through flow control when it is on: classified as the user it acts as, or as the
   * cluster component the actor is (`actorFlowUser`), and started in its turn. The fast path starts it at once.
   */
  function serve(build: () => ApiRequest, as: UserInfo | undefined, from: string): Promise<ApiReply> {
    if (flow === undefined) return serveNow(build, as);
    const request = build();
    return inTurn(flow, request, as ?? actorFlowUser(from), () => serveNow(() => request, as));
  }

  /** `run` started in its turn of flow control; `run` must not throw synchronously (an async function). */
  function inTurn<T>(dispatcher: FlowDispatcher, request: ApiRequest, user: UserInfo, run: () => Promise<T>): Promise<T> {
    const c = classifyRequest({ user, verb: request.verb, group: request.group, resource: request.resource, subresource: request.subresource, namespace: request.namespace });
    return new Promise((resolve, reject) => dispatcher.submit(c, () => run().then(resolve, reject)));
  }

  async function serveNow(build: () => ApiRequest, as: UserInfo | undefined): Promise<ApiReply> {
    try {
      await ready;
      const result = await handlers!.handle(build(), as ?? ACTOR_USER);
      // The object a write just stored goes to another thread as the store's text, not encoded again (json-event.ts).
      const stored = storedTextOf(result.body);
      if (stored !== undefined) return new StoredJsonReply(result.code, result.body, stored, (result.body as KubeObject).metadata.resourceVersion!) as ApiReply;
      return { ok: true, code: result.code, body: result.body };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, status: error.status };
      ctx.log.error({ err: error }, 'internal error serving an actor request');
      return { ok: false, status: apiErrors.internal(error instanceof Error ? error.message : String(error)).status };
    }
  }

  /**
   * A list reply in slices (`ApiListSlicing`, asked for by the client): the reply carries the first slice and
   * how many there are; the rest are sent one per turn (`api.listSliceNext`). Each slice is a range of the one
   * items array the handler built (the cache's objects at one revision, never changed in place: watch-cache.ts
   * marks them shared), so every slice is at the reply's resourceVersion whatever is written between slices.
   */
  function sliced(reply: ApiReply, slicing: ApiListSlicing | undefined, to: string): ApiReply {
    if (slicing === undefined || !reply.ok) return reply;
    const list = reply.body as { items?: unknown };
    if (!Array.isArray(list.items)) return reply;
    const items: readonly unknown[] = list.items;
    const size = Math.max(LIST_SLICE_ITEMS_MIN, Math.floor(slicing.items), Math.ceil(items.length / LIST_SLICES_MAX));
    if (!(items.length > size)) return reply;
    const count = Math.ceil(items.length / size);
    if (listSlicing.length === 0) ctx.timer('list-slices', LIST_SLICE_GAP_MS, { type: 'api.listSliceNext', body: null });
    listSlicing.push({ to, id: slicing.id, items, size, next: 1, count });
    return { ok: true, code: reply.code, body: { ...(reply.body as List), items: items.slice(0, size) } as List, slices: count };
  }

  /** One slice of the sliced list at the head of the queue; the list goes to the back while it has more. */
  function sendNextSlice(): void {
    const job = listSlicing.shift();
    if (job === undefined) return;
    const index = job.next++;
    const items = job.items.slice(index * job.size, (index + 1) * job.size);
    ctx.send(job.to, { type: 'api.listSlice', body: { id: job.id, index, count: job.count, items } } satisfies ApiListSliceMsg);
    if (job.next < job.count) listSlicing.push(job);
    if (listSlicing.length > 0) ctx.timer('list-slices', LIST_SLICE_GAP_MS, { type: 'api.listSliceNext', body: null });
  }

  const target = (t: ApiTarget) => ({ group: t.group, version: t.version, resource: t.resource, namespace: t.namespace, name: t.name, subresource: t.subresource });

  async function watch(body: ApiTarget & { watchId: string; query?: ApiRequest['query'] }, subscriber: string): Promise<ApiReply | { ok: true; code: 200; body: null }> {
    try {
      await ready;
      if (watches.has(body.watchId)) throw apiErrors.badRequest(`watch id ${body.watchId} is already in use`);
      let batch: WatchEvent[] = [];
      let scheduled = false;
      let seq = 0;
      const flush = () => {
        scheduled = false;
        while (batch.length > 0) {
          // The whole batch as it is when it fits (the common case): no copy of it and no empty rest to allocate.
          const events = batch.length <= WATCH_BATCH_EVENTS_MAX ? batch : batch.slice(0, WATCH_BATCH_EVENTS_MAX);
          batch = batch.length <= WATCH_BATCH_EVENTS_MAX ? [] : batch.slice(WATCH_BATCH_EVENTS_MAX);
          ctx.send(subscriber, { type: 'api.watchEvents', body: { watchId: body.watchId, events, seq: ++seq } } satisfies ApiWatchMsg);
        }
      };
      const handle = handlers!.watch({ verb: 'watch', ...target(body), query: body.query }, body.as ?? ACTOR_USER, {
        event: (event) => {
          batch.push(event);
          if (!scheduled) {
            scheduled = true;
            void Promise.resolve().then(flush);
          }
        },
        end: (status) => {
          flush();
          watches.delete(body.watchId);
          ctx.send(subscriber, { type: 'api.watchEnd', body: { watchId: body.watchId, status, seq: ++seq } } satisfies ApiWatchMsg);
        },
      });
      watches.add(body.watchId, { cancel: () => handle.cancel(), subscriber });
      // Library code on the host ($host) is not an actor that can go down.
      if (!subscriber.startsWith('$')) ctx.watch(subscriber);
      return { ok: true, code: 200, body: null };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, status: error.status };
      throw error;
    }
  }

  return {
    async receive(msg, meta) {
      if (kvHandle?.(msg as Message)) return undefined;
      switch (msg.type) {
        case 'api.get':
          return serve(() => ({ verb: 'get', ...target(msg.body), query: msg.body.query }), msg.body.as, meta.from);
        case 'api.list':
          return sliced(await serve(() => ({ verb: 'list', ...target(msg.body), query: msg.body.query }), msg.body.as, meta.from), msg.body.slices, meta.from);
        case 'api.listSliceNext':
          sendNextSlice();
          return undefined;
        case 'api.create':
          return serve(() => ({ verb: 'create', ...target(msg.body), body: msg.body.object, query: msg.body.query }), msg.body.as, meta.from);
        case 'api.update':
          return serve(() => ({ verb: 'update', ...target(msg.body), body: msg.body.object, query: msg.body.query }), msg.body.as, meta.from);
        case 'api.patch':
          return serve(() => ({ verb: 'patch', ...target(msg.body), body: msg.body.patch, patchType: msg.body.patchType, query: msg.body.query }), msg.body.as, meta.from);
        case 'api.delete':
          return serve(() => ({ verb: 'delete', ...target(msg.body), body: msg.body.options }), msg.body.as, meta.from);
        case 'api.deleteCollection':
          return serve(() => ({ verb: 'deletecollection', ...target(msg.body), body: msg.body.options, query: msg.body.query }), msg.body.as, meta.from);
        case 'api.watch':
          return watch(msg.body, meta.from);
        case 'api.unwatch': {
          const w = watches.get(msg.body.watchId);
          if (w !== undefined && w.subscriber === meta.from) {
            w.cancel();
            watches.delete(msg.body.watchId);
          }
          return { ok: true, code: 200, body: null };
        }
        case 'api.podLog':
          try {
            await ready;
            const stream = await openPodLog(handlers!, podLogs, msg.body.namespace, msg.body.name, msg.body.as ?? ACTOR_USER, msg.body.query ?? {}, remoteKubeletLogs);
            return { ok: true, code: 200, body: { log: await stream.readAll() } };
          } catch (error) {
            if (error instanceof ApiError) return { ok: false, status: error.status };
            throw error;
          }
        case 'api.info':
          await ready;
          return info;
        case 'api.secrets':
          await ready;
          return { tokens, serviceAccountSigningKey: signingKey! } satisfies ApiServerSecrets;
        case 'api.metrics':
          return { text: await metricsText() } satisfies ApiMetricsReply;
        case 'api.health':
          return health(msg.body.endpoint, { verbose: msg.body.verbose === true, exclude: msg.body.exclude ?? [] }, msg.body.check);
        case 'api.tick': {
          if (handlers !== undefined) {
            try {
              const { reaped } = await handlers.tick();
              if (reaped.length > 0) ctx.log.debug({ reaped }, 'removed pods whose grace period ended');
            } catch (error) {
              // The store may be briefly unavailable (a Raft election): the next tick retries.
              ctx.log.warn({ err: error }, 'apiserver tick failed');
            }
          }
          ctx.timer('tick', tickMs, { type: 'api.tick', body: null });
          return undefined;
        }
        default:
          return unhandled;
      }
    },
    onDown(event) {
      for (const w of watches.removeSubscriber(event.name)) w.cancel();
    },
    onStop() {
      stopping = true;
      listSlicing.length = 0;
      for (const w of watches.removeAll()) w.cancel();
      handlers?.stop();
      void http?.close();
      kvClient?.close();
    },
    // Its own series only: the system-wide scrape asks each replica itself.
    metrics: () => metrics.text(),
    inspect() {
      return { url: info.url, watches: watches.size };
    },
  };
});

interface ServedWatch {
  cancel(): void;
  subscriber: string;
}

/**
 * The API watches a server serves, by watch id and by subscriber: a subscriber that goes down ends its own
 * watches without a walk over every watch (a cluster's teardown, or a node pool's thread dying, took one walk of
 * thousands of watches per actor going down: 143 MB of entry arrays in a 1,000-node teardown, issue #16).
 */
class ServedWatches {
  private readonly byId = new Map<string, ServedWatch>();
  private readonly bySubscriber = new Map<string, Set<string>>();

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): ServedWatch | undefined {
    return this.byId.get(id);
  }

  add(id: string, watch: ServedWatch): void {
    this.byId.set(id, watch);
    let ids = this.bySubscriber.get(watch.subscriber);
    if (ids === undefined) this.bySubscriber.set(watch.subscriber, (ids = new Set()));
    ids.add(id);
  }

  delete(id: string): void {
    const watch = this.byId.get(id);
    if (watch === undefined) return;
    this.byId.delete(id);
    const ids = this.bySubscriber.get(watch.subscriber);
    ids?.delete(id);
    if (ids?.size === 0) this.bySubscriber.delete(watch.subscriber);
  }

  /** Forgets the subscriber's watches and returns them, in the order they were added. */
  removeSubscriber(subscriber: string): ServedWatch[] {
    const ids = this.bySubscriber.get(subscriber);
    if (ids === undefined) return [];
    this.bySubscriber.delete(subscriber);
    const removed: ServedWatch[] = [];
    for (const id of ids) {
      const watch = this.byId.get(id);
      if (watch === undefined) continue;
      this.byId.delete(id);
      removed.push(watch);
    }
    return removed;
  }

  removeAll(): ServedWatch[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    this.bySubscriber.clear();
    return all;
  }
}
