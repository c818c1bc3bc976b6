/**
 * The API server's request handlers, independent of transport: the HTTPS
 * front end and the actor protocol both turn their requests into an
 * `ApiRequest` and call `handle` or `watch`. Here live authorization, the
 * calls of the admission chain (the plugins are in ./admission; defaulting
 * and validation are in the registry's strategies), the choice between the
 * watch cache and the store for lists, namespace deletion and the
 * graceful-deletion reaper.
 */
import { KvError, KvUnavailableError, type KvClient } from '../kv/client/types.js';
import type { UserInfo } from './auth.js';
import { RbacAuthorizer, bootstrapPolicy, type Decision, type RbacSource, type RequestAttributes } from './rbac.js';
import { apiErrors, ApiError } from './errors.js';
import { kindShape, strictDecodingError, unknownFields, withoutUnknownFields, type FieldValidation } from './field-validation.js';
import { isObject } from './patch.js';
import { Registry, decodeContinue, encodeContinue, type IpRange, type PatchType } from './registry.js';
import { ListSnapshots, pageOf, type ListSnapshot } from './list-snapshots.js';
import { RESOURCES, apiVersionOf, findResource, storageKey, storagePrefix, type ResourceInfo } from './resources.js';
import { recount } from './quota.js';
import { SYSTEM_PRIORITY_CLASSES } from './priority.js';
import { AdmissionChain } from './admission/chain.js';
import type { AdmissionContext } from './admission/context.js';
import { NamespaceLifecycle, SYSTEM_NAMESPACES } from './admission/namespace-lifecycle.js';
import { Priority } from './admission/priority.js';
import { RbacEscalation } from './admission/rbac-escalation.js';
import { ResourceQuotaAdmission } from './admission/resource-quota.js';
import { ServiceAccountAdmission } from './admission/service-account.js';
import type { AdmissionAttributes } from './admission/types.js';
import type { WebhookCaller } from './admission/webhook/caller.js';
import { WebhookAdmission } from './admission/webhook/plugin.js';
import { ServiceAccountAuthenticator } from './serviceaccount/authenticator.js';
import { SIGNING_KEY_BYTES_MIN, ServiceAccountTokens } from './serviceaccount/token.js';
import { requestToken } from './serviceaccount/token-request.js';
import { evictPod, type EvictionStore } from './eviction.js';
import { parseResourceVersion } from './resource-version.js';
import { parseFilter } from './selectors.js';
import { WatchCache, type CacheWatch, type WatchRequest, type WatchSink } from './watch-cache.js';
import { watchFromStore } from './store-watch.js';
import { CRD_GROUP, CrdController, servedAs, type CustomResourceDefinition } from './crd/index.js';
import { ApiServerMetrics, meteredKv, reportedVerb, requestKind } from './metrics.js';
import { secondsBetween } from '../metrics/index.js';
import type { Pod, PodDisruptionBudget, ResourceQuota, ServiceAccount, ClusterRole, ClusterRoleBinding, DeleteOptions, KubeObject, List, NonResourceAttributes, ResourceAttributes, Role, RoleBinding, SelfSubjectAccessReview, Status } from './types/index.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ApiQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: DeleteOptions['propagationPolicy'];
  allowWatchBookmarks?: boolean;
  /** A watch's initial state as ADDED events, then a BOOKMARK marking their end (Kubernetes' WatchList). */
  sendInitialEvents?: boolean;
  /** Unknown fields in a written object: rejected (Strict), warned of (Warn, the default) or passed over (Ignore). */
  fieldValidation?: FieldValidation;
}

export interface ApiRequest {
  verb: Verb;
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  body?: unknown;
  patchType?: PatchType;
  query?: ApiQuery;
}

export interface ApiResult {
  /** HTTP status: 200, 201 (created) or 202 (accepted: deletion in progress). */
  code: number;
  body: KubeObject | List | Status;
  /** For the client, as `Warning` headers (kubectl prints them): unknown fields under fieldValidation=Warn. */
  warnings?: string[];
}

export interface ApiHandlersOptions {
  kv: KvClient;
  now(): number;
  random(): number;
  serviceIpRange?: IpRange;
  /**
   * The store's history is compacted this often, to the revision seen one interval earlier (kube-apiserver's
   * --etcd-compaction-interval, 5 min): without it every revision stays in the store and in every snapshot. 0: never.
   */
  compactionIntervalMs?: number;
  /** The API server's registry and series; without it the handlers make their own (tests, library use). */
  metrics?: ApiServerMetrics;
  /**
   * Calls admission webhooks over HTTPS (src/api/http/webhook-client.ts).
   * Without it (the simulated runtime) a matching webhook cannot be called,
   * and its failurePolicy decides: Fail refuses the request, Ignore lets it by.
   */
  webhookCaller?: WebhookCaller;
  /**
   * The key service account tokens are signed with (at least 32 bytes). The
   * actor keeps one on its disk so tokens outlive a restart; without it the
   * handlers draw one from `random` (tokens die with the handlers).
   */
  serviceAccountSigningKey?: Uint8Array;
  /**
   * Resources served from the store rather than a watch cache, as `resource` or `resource.group`
   * (kube-apiserver's `--watch-cache-sizes=<resource>#0`). Default: Events, as Kubernetes (see
   * UNCACHED_RESOURCES_DEFAULT). `[]` caches every resource.
   */
  uncachedResources?: readonly string[];
}

/**
 * kube-apiserver keeps no watch cache of Events (`DefaultWatchCacheSizes` in pkg/kubeapiserver): they are
 * most of a busy cluster's writes and rarely watched, so decoding and holding every one in the API server
 * would cost more than the few reads of them that a cache would serve. Their reads and watches go to the store.
 */
export const UNCACHED_RESOURCES_DEFAULT: readonly string[] = Object.freeze(['events', 'events.events.k8s.io']);

/** Kubernetes' etcd health check gives the store this long to answer (--etcd-healthcheck-timeout, 2 s). */
export const STORE_HEALTH_TIMEOUT_MS = 2_000;
/** The key the store health check reads (Kubernetes reads `<prefix>/health`). */
const STORE_HEALTH_KEY = '/registry/health';

/** kube-apiserver's --etcd-compaction-interval default. */
export const COMPACTION_INTERVAL_MS_DEFAULT = 300_000;

/** The namespaces every cluster has. */
export { SYSTEM_NAMESPACES };
/** Holds a terminating namespace until its content is gone (Kubernetes' namespace controller does this with spec.finalizers). */
const NAMESPACE_FINALIZER = 'kubethreads.io/namespace-content';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SCHEDULING_GROUP = 'scheduling.k8s.io';
/** Kubernetes' opt-out of the start-up reconciliation of a bootstrap role or binding. */
const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';
const EVERYTHING = { labels: [], fields: [] };
/**
 * Bookmarks go to each watcher that allows them this often: Kubernetes' cacher
 * sends one about once a minute. Every second (the tick) cost a message per
 * watcher per second: 400 a second at 100 nodes, most of an idle cluster's traffic.
 */
export const BOOKMARK_EVERY_MS = 60_000;
/** A consistent list waits this long for the watch cache to catch up, then reads the store (Kubernetes' cacher: 3 s). */
const CONSISTENT_LIST_WAIT_MS = 3_000;

export class ApiHandlers {
  readonly registry: Registry;
  private readonly caches = new Map<string, WatchCache>();
  private readonly authorizer: RbacAuthorizer;
  private readonly now: () => number;
  /** Mutating then validating plugins, in Kubernetes' order; see the constructor. */
  readonly admission: AdmissionChain;
  private readonly quotaAdmission: ResourceQuotaAdmission;
  private tokens: ServiceAccountTokens | undefined;
  private readonly signingKey: Uint8Array | undefined;
  private readonly random: () => number;
  /** Cleanups of terminating namespaces in flight (awaited by `settle` in tests). */
  private readonly pending = new Set<Promise<unknown>>();
  /** The revision to compact to at the next compaction (seen one interval ago), and when that is due. */
  private compaction: { revision: number; dueMs: number } | undefined;
  private readonly compactionIntervalMs: number;
  /** The first tick sends bookmarks; then one every BOOKMARK_EVERY_MS. */
  private nextBookmarkMs = Number.NEGATIVE_INFINITY;
  readonly metrics: ApiServerMetrics;
  private readonly kv: KvClient;
  /** Serves the kinds CustomResourceDefinitions define (info() falls back to it for what the built-in table lacks). */
  readonly crds: CrdController;
  /** Per custom resource cache: the kind whose schema normalizes what the cache decodes (the storage version's). */
  private readonly customDecodeInfo = new Map<string, ResourceInfo>();
  /** Snapshots of the cache that serve the pages of consistent paged lists. */
  private readonly listSnapshots = new ListSnapshots();
  /** Resources served from the store, by cacheId (UNCACHED_RESOURCES_DEFAULT). */
  private readonly uncached: ReadonlySet<string>;

  constructor(options: ApiHandlersOptions) {
    this.metrics = options.metrics ?? new ApiServerMetrics();
    // Every store call of the registry and the watch caches is timed (etcd_request_duration_seconds).
    const kv = (this.kv = meteredKv(options.kv, this.metrics, options.now));
    options = { ...options, kv };
    this.registry = new Registry({
      kv: options.kv, now: options.now, random: options.random, serviceIpRange: options.serviceIpRange,
      cached: (info, key) => this.caches.get(cacheId(info))?.get(key),
      stored: (info, key, object, revision) => this.caches.get(cacheId(info))?.stored(key, object, revision),
    });
    this.now = options.now;
    this.random = options.random;
    this.signingKey = options.serviceAccountSigningKey;
    this.compactionIntervalMs = options.compactionIntervalMs ?? COMPACTION_INTERVAL_MS_DEFAULT;
    this.uncached = new Set((options.uncachedResources ?? UNCACHED_RESOURCES_DEFAULT).map((r) => {
      const dot = r.indexOf('.');
      return dot < 0 ? `/${r}` : `${r.slice(dot + 1)}/${r.slice(0, dot)}`;
    }));
    for (const info of RESOURCES) if (!info.virtual && !this.uncached.has(cacheId(info))) this.caches.set(cacheId(info), new WatchCache(info, options.kv, (kv) => this.registry.decode(kv), { storedJsonOnWire: true }));
    this.authorizer = new RbacAuthorizer(this.rbacSource());
    this.crds = this.crdController();
    const context: AdmissionContext = {
      registry: this.registry, cache: (info) => this.cache(info), lookup: (info, namespace, name) => this.lookup(info, namespace, name),
      info: (g, v, r) => this.info(g, v, r), now: options.now,
    };
    this.quotaAdmission = new ResourceQuotaAdmission(context);
    const webhooks = { context, caller: options.webhookCaller, random: options.random };
    // Kubernetes' order (AllOrderedPlugins): NamespaceLifecycle, ServiceAccount, Priority, the webhooks, ResourceQuota last.
    this.admission = new AdmissionChain([
      new NamespaceLifecycle(context),
      new RbacEscalation(context, { decide: (user, attributes) => this.decide(user, attributes), uncovered: (user, rules, ns) => this.authorizer.uncovered(user, rules, ns) }),
      new ServiceAccountAdmission(),
      new Priority(context),
      new WebhookAdmission('mutating', webhooks),
      new WebhookAdmission('validating', webhooks),
      this.quotaAdmission,
    ]);
    this.metrics.observeState({
      watchers: () => [...this.caches.values()].map((c) => ({ group: c.info.group, version: c.info.version, kind: c.info.kind, count: c.watcherCount })),
      objects: () => [...this.caches.values()].map((c) => ({ resource: c.info.group === '' ? c.info.resource : `${c.info.resource}.${c.info.group}`, count: c.objectCount })),
    });
  }

  /** The `etcd` health check: a linearizable read, which needs a store leader, within Kubernetes' 2 s. */
  async storeHealth(): Promise<string | undefined> {
    try {
      await this.kv.range(STORE_HEALTH_KEY, { countOnly: true, timeoutMs: STORE_HEALTH_TIMEOUT_MS });
      return undefined;
    } catch (error) {
      return `the store did not answer a read: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** The `informer-sync` health check: every watch cache has listed the store once. */
  cachesSynced(): string | undefined {
    const waiting = [...this.caches.values()].filter((c) => !c.synced).map((c) => c.info.resource);
    return waiting.length === 0 ? undefined : `watch caches not yet synced: ${waiting.join(', ')}`;
  }

  /** Fills every watch cache, creates the system namespaces and reconciles the bootstrap RBAC policy. */
  async start(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.start()));
    await this.serveStoredDefinitions();
    const namespaces = this.info('', 'v1', 'namespaces');
    for (const name of SYSTEM_NAMESPACES) {
      try {
        await this.registry.create(namespaces, undefined, { metadata: { name } });
      } catch (error) {
        if (!(error instanceof ApiError && error.reason === 'AlreadyExists')) throw error;
      }
    }
    await this.reconcileBootstrapPolicy();
    await this.createSystemPriorityClasses();
  }

  /** The built-in system-node-critical and system-cluster-critical classes, as Kubernetes' scheduling storage creates them at start. */
  private async createSystemPriorityClasses(): Promise<void> {
    const info = this.info(SCHEDULING_GROUP, 'v1', 'priorityclasses');
    let revision = 0;
    for (const pc of SYSTEM_PRIORITY_CLASSES) {
      try {
        const created = await this.registry.create(info, undefined, structuredClone(pc));
        revision = Math.max(revision, Number(created.metadata.resourceVersion));
      } catch (error) {
        if (!(error instanceof ApiError && error.reason === 'AlreadyExists')) throw error;
      }
    }
    // The first pod create must find them in the cache.
    if (revision > 0) await this.cache(info).waitFor(revision);
  }

  /**
   * Kubernetes' rbac/bootstrap-roles start hook: creates missing bootstrap
   * ClusterRoles and ClusterRoleBindings, and adds missing rules / subjects to
   * existing ones unless they opted out (autoupdate: "false"). Waits until
   * the RBAC caches hold the result, so the first request is authorized by it.
   */
  private async reconcileBootstrapPolicy(): Promise<void> {
    const policy = bootstrapPolicy();
    const roles = this.info(RBAC_GROUP, 'v1', 'clusterroles');
    const bindings = this.info(RBAC_GROUP, 'v1', 'clusterrolebindings');
    // Per cache: a cache's revision moves only with its own prefix's events.
    const revisions = new Map<ResourceInfo, number>();
    const reconcile = async (info: ResourceInfo, wanted: KubeObject, merge: (existing: KubeObject) => Record<string, unknown> | undefined) => {
      const name = wanted.metadata.name ?? '';
      const stored = await this.registry.read(info, undefined, name);
      let object: KubeObject;
      if (stored === undefined) object = await this.registry.create(info, undefined, wanted);
      else {
        const patch = stored.object.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false' ? undefined : merge(stored.object);
        object = patch === undefined ? stored.object : (await this.registry.patch(info, undefined, name, 'merge', patch)).object;
      }
      revisions.set(info, Math.max(revisions.get(info) ?? 0, Number(object.metadata.resourceVersion)));
    };
    const missing = <T>(have: T[], want: T[]) => want.filter((w) => !have.some((h) => JSON.stringify(h) === JSON.stringify(w)));
    for (const role of policy.clusterRoles) {
      await reconcile(roles, role, (existing) => {
        const have = (existing as ClusterRole).rules ?? [];
        const add = missing(have, role.rules ?? []);
        return add.length === 0 ? undefined : { rules: [...have, ...add] };
      });
    }
    for (const binding of policy.clusterRoleBindings) {
      await reconcile(bindings, binding, (existing) => {
        const have = (existing as ClusterRoleBinding).subjects ?? [];
        const add = missing(have, binding.subjects ?? []);
        return add.length === 0 ? undefined : { subjects: [...have, ...add] };
      });
    }
    await Promise.all([...revisions].map(([info, revision]) => this.cache(info).waitFor(revision)));
  }

  /** The CRD controller's view of this server: the registry, the CRD cache, and the watch caches of what CRDs define. */
  private crdController(): CrdController {
    const crdInfo = this.info(CRD_GROUP, 'v1', 'customresourcedefinitions');
    return new CrdController({
      registry: this.registry,
      crdInfo,
      now: this.now,
      definitions: () => this.cache(crdInfo).list(undefined, EVERYTHING).items as CustomResourceDefinition[],
      startServing: async (info) => {
        const id = cacheId(info);
        if (!this.customDecodeInfo.has(id) || info.version === info.custom?.storageVersion) this.customDecodeInfo.set(id, info);
        let cache = this.caches.get(id);
        if (cache === undefined) {
          cache = new WatchCache(info, this.kv, (kv) => this.registry.decodeFor(this.customDecodeInfo.get(id) ?? info, { ...kv, createRevision: 0, version: 0, lease: 0 }));
          this.caches.set(id, cache);
        }
        await cache.start();
      },
      stopServing: (info) => {
        const id = cacheId(info);
        this.caches.get(id)?.stop();
        this.caches.delete(id);
        this.customDecodeInfo.delete(id);
      },
    });
  }

  /**
   * Serves what the stored CRDs define before the first request, then
   * follows every CRD change; a watch the cache ended (it restarted) is
   * opened again, and its initial events reconcile every CRD once more.
   */
  private async serveStoredDefinitions(): Promise<void> {
    const crdInfo = this.info(CRD_GROUP, 'v1', 'customresourcedefinitions');
    const initial: Promise<void>[] = [];
    let starting = true;
    const follow = () => {
      this.cache(crdInfo).watch({ filter: EVERYTHING }, {
        event: (event) => {
          if (event.type === 'BOOKMARK' || event.type === 'ERROR') return;
          const reconciled = this.crds.enqueue((event.object as KubeObject).metadata.name ?? '');
          if (starting) initial.push(reconciled);
        },
        end: (status) => {
          if (status !== undefined) follow();
        },
      });
    };
    follow();
    starting = false;
    await Promise.all(initial);
  }

  /** The RBAC policy as the authorizer sees it: the four watch caches, indexed again only when one changed. */
  private rbacSource(): RbacSource {
    const caches = ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'].map((r) => this.cache(this.info(RBAC_GROUP, 'v1', r)));
    const items = (i: number) => caches[i]!.list(undefined, EVERYTHING).items;
    return {
      generation: () => caches.reduce((sum, c) => sum + c.stats.eventsApplied + c.stats.relists, 0),
      roles: () => items(0) as Role[],
      clusterRoles: () => items(1) as ClusterRole[],
      roleBindings: () => items(2) as RoleBinding[],
      clusterRoleBindings: () => items(3) as ClusterRoleBinding[],
    };
  }

  /**
   * Signs the tokens TokenRequest hands out and verifies them when they come
   * back. A key drawn from `random` is drawn on first use, so handlers that
   * never see a service account token draw no more randomness than before.
   */
  get serviceAccountTokens(): ServiceAccountTokens {
    this.tokens ??= new ServiceAccountTokens(this.signingKey ?? Uint8Array.from({ length: SIGNING_KEY_BYTES_MIN }, () => Math.floor(this.random() * 256)));
    return this.tokens;
  }

  /**
   * Authenticates the tokens TokenRequest issued; accounts and bound objects
   * come from the watch caches, or the store when the cache does not show
   * them yet (an account created a moment ago), as Kubernetes' token getter.
   */
  serviceAccountAuthenticator(rejected?: (reason: string) => void): ServiceAccountAuthenticator {
    const accounts = this.info('', 'v1', 'serviceaccounts');
    return new ServiceAccountAuthenticator(() => this.serviceAccountTokens, {
      serviceAccountUid: async (namespace, name) => (await this.lookup(accounts, namespace, name))?.metadata.uid,
      boundObject: (kind, namespace, name) => this.lookup(this.info('', 'v1', kind === 'Pod' ? 'pods' : kind === 'Secret' ? 'secrets' : 'nodes'), kind === 'Node' ? undefined : namespace, name),
      now: () => this.now(),
      rejected,
    });
  }

  /** An object from the watch cache, or from the store when the cache does not have it (yet). */
  private async lookup(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    return this.caches.get(cacheId(info))?.get(storageKey(info, namespace, name)) ?? (await this.registry.read(info, namespace, name))?.object;
  }

  /** The authorizer's decision, without throwing (SelfSubjectAccessReview, tests). */
  decide(user: UserInfo, attributes: RequestAttributes): Decision {
    return this.authorizer.authorize(user, attributes);
  }

  stop(): void {
    for (const c of this.caches.values()) c.stop();
  }

  cache(info: ResourceInfo): WatchCache {
    const cache = this.caches.get(cacheId(info));
    assert(cache !== undefined, `a cache per resource (${info.resource})`);
    return cache;
  }

  info(group: string, version: string, resource: string): ResourceInfo {
    const info = findResource(group, version, resource) ?? this.crds?.find(group, version, resource);
    if (info === undefined) throw apiErrors.pathNotFound(`${group === '' ? '' : group + '/'}${version}, Resource=${resource}`);
    return info;
  }

  authorize(user: UserInfo, request: Pick<ApiRequest, 'verb' | 'group' | 'resource' | 'subresource' | 'namespace' | 'name'>): void {
    const decision = this.authorizer.authorize(user, {
      verb: request.verb, apiGroup: request.group, resource: request.resource, subresource: request.subresource, namespace: request.namespace, name: request.name,
    });
    if (!decision.allowed) {
      const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
      throw apiErrors.forbidden(user.name, request.verb, resource, request.group, request.namespace, decision.reason, request.name);
    }
  }

  authorizePath(user: UserInfo, path: string): void {
    const decision = this.authorizer.authorize(user, { verb: 'get', apiGroup: '', resource: '', path });
    if (!decision.allowed) throw new ApiError(403, 'Forbidden', `forbidden: User "${user.name}" cannot get path "${path}"`);
  }

  /** Every verb but watch. Throws ApiError for every failure. Counted and timed (apiserver_request_*). */
  async handle(request: ApiRequest, user: UserInfo): Promise<ApiResult> {
    const kind = requestKind(request.verb);
    const verb = reportedVerb(request.verb, request.patchType === 'apply');
    // Only a served resource names a series: a request for an unknown one must not grow the label set.
    const served = findResource(request.group, request.version, request.resource) ?? this.crds.find(request.group, request.version, request.resource);
    const resource = served === undefined ? '' : request.resource;
    const startMs = this.now();
    this.metrics.started(kind);
    let code = 500;
    try {
      const result = await this.handleUnmetered(request, user, served);
      code = result.code;
      return result;
    } catch (error) {
      if (error instanceof ApiError) code = error.status.code;
      throw error;
    } finally {
      this.metrics.finished(kind, verb, resource, code, secondsBetween(startMs, this.now()));
    }
  }

  private async handleUnmetered(request: ApiRequest, user: UserInfo, served: ResourceInfo | undefined): Promise<ApiResult> {
    const info = served ?? this.info(request.group, request.version, request.resource);
    if (info.namespaced && request.namespace === undefined && !['list', 'watch', 'deletecollection'].includes(request.verb)) {
      if (request.verb !== 'create' || request.name !== undefined) throw apiErrors.pathNotFound(`${info.resource} needs a namespace`);
    }
    if (!info.namespaced && request.namespace !== undefined) throw apiErrors.pathNotFound(`${info.resource} is not namespaced`);
    if (request.subresource !== undefined && !info.subresources.includes(request.subresource)) {
      throw apiErrors.pathNotFound(`${info.resource}/${request.subresource}`);
    }
    this.authorize(user, request);
    if (request.verb === 'get' || request.verb === 'list') parseResourceVersion(request.query?.resourceVersion);
    const warnings = this.validateFields(info, request);
    let result = await this.handleVerb(info, request, user).catch((error: unknown) => {
      throw storeDeadlineAsTimeout(error);
    });
    if (info.custom !== undefined) result = { ...result, body: servedAs(info, result.body) };
    const all = [...warnings, ...(result.warnings ?? [])];
    return all.length === 0 ? result : { ...result, warnings: all };
  }

  /**
   * Unknown fields in the object a create, update or patch writes (a JSON
   * patch names paths, not fields: not checked). Throws under Strict; else
   * drops them from the request's body, and returns warnings under Warn.
   */
  private validateFields(info: ResourceInfo, request: ApiRequest): string[] {
    if (request.body === undefined) return [];
    const writesObject = (request.verb === 'create' || request.verb === 'update') && request.subresource === undefined;
    const patchesObject = request.verb === 'patch' && (request.subresource === undefined || request.subresource === 'apply') && request.patchType !== 'json';
    if (!writesObject && !patchesObject) return [];
    const shape = kindShape(info.kind);
    // A custom resource's fields are its schema's; what it does not declare is pruned on write anyway.
    const unknown = info.custom !== undefined ? info.custom.unknownFields(request.body) : unknownFields(request.body, shape);
    if (unknown.length === 0) return [];
    const mode = request.query?.fieldValidation ?? 'Warn';
    if (mode === 'Strict') throw apiErrors.badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${strictDecodingError(unknown)}`);
    if (info.custom === undefined) request.body = withoutUnknownFields(request.body, shape);
    return mode === 'Warn' ? unknown.map((path) => `unknown field "${path}"`) : [];
  }

  private async handleVerb(info: ResourceInfo, request: ApiRequest, user: UserInfo): Promise<ApiResult> {
    const ns = request.namespace;
    const q = request.query ?? {};
    switch (request.verb) {
      case 'get': {
        const name = need(request.name);
        if (request.subresource === 'scale') return ok(await this.registry.getScale(info, ns, name));
        if (request.subresource === 'log') return this.podLog(info, ns, name);
        // resourceVersion "0": any version will do, so the watch cache answers (Kubernetes' semantics; the kubelet reads its Node so).
        if (q.resourceVersion === '0' && request.subresource === undefined) {
          const cached = this.caches.get(cacheId(info))?.get(storageKey(info, ns, name));
          if (cached !== undefined) return ok(cached);
        }
        return ok(await this.registry.get(info, ns, name));
      }
      case 'list':
        return ok(await this.list(info, ns, q));
      case 'create':
        return this.create(info, request, user);
      case 'update': {
        const name = need(request.name);
        if (request.subresource === 'scale') return ok(await this.registry.updateScale(info, ns, name, request.body));
        const attributes = this.attributes('UPDATE', info, request, user, ns, name);
        await this.admission.run(attributes);
        const result = await this.registry.update(info, ns, name, attributes.object ?? request.body, { subresource: request.subresource, fieldManager: q.fieldManager, dryRun: q.dryRun });
        return withWarnings({ code: result.created ? 201 : 200, body: result.object }, attributes.warnings);
      }
      case 'patch': {
        const name = need(request.name);
        if (request.patchType === undefined) throw apiErrors.unsupportedMediaType('(none)');
        const subresource = request.patchType === 'apply' ? (request.subresource ?? 'apply') : request.subresource;
        const options = { subresource: subresource === 'apply' ? 'apply' : subresource, fieldManager: q.fieldManager, force: q.force, dryRun: q.dryRun };
        const result = await this.admittedPatch(info, ns, name, request, user, options);
        const body = request.subresource === 'scale' ? await this.registry.getScale(info, ns, name) : result.object;
        return withWarnings({ code: result.created ? 201 : 200, body }, result.warnings);
      }
      case 'delete': {
        const name = need(request.name);
        const options = deleteOptions(request.body, q);
        await this.admission.run(this.attributes('DELETE', info, { ...request, body: undefined }, user, ns, name));
        return this.delete(info, ns, name, options);
      }
      case 'deletecollection':
        return this.deleteCollection(info, ns, q, deleteOptions(request.body, q));
      case 'watch':
        throw apiErrors.badRequest('watch is served by ApiHandlers.watch');
    }
  }

  /**
   * Lists: paged without a resourceVersion from a snapshot of the cache (see
   * pagedListFromCache), other pages with limit/continue from the store; unpaged without a resourceVersion (a
   * consistent read) from the cache once it has caught up with the store, or
   * from the store if it does not within CONSISTENT_LIST_WAIT_MS; with a
   * resourceVersion the cache has reached, from the cache.
   */
  async list(info: ResourceInfo, namespace: string | undefined, q: ApiQuery): Promise<List> {
    const filter = parseFilter(info.resource, q.labelSelector, q.fieldSelector);
    const listKind = { apiVersion: apiVersionOf(info), kind: `${info.kind}List` };
    if (this.uncached.has(cacheId(info))) {
      // No watch cache (Events, as kube-apiserver): the store answers, at its current revision or the token's.
      const list = await this.registry.listFromStore(info, namespace, filter, q.limit ?? 0, q.continue);
      return { ...list, ...listKind };
    }
    const cache = this.cache(info);
    const rv = q.resourceVersion;
    const unpaged = (q.limit === undefined || q.limit === 0) && !q.continue;
    let fromCache = unpaged && rv !== undefined && rv !== '' && cache.revision >= Number(rv);
    // A store that cannot vouch for the cache's progress (an old etcd) serves consistent lists itself, as in kube-apiserver.
    if (unpaged && (rv === undefined || rv === '') && this.registry.kv.supportsProgressRequests !== false) {
      // A consistent list (Kubernetes' ConsistentListFromCache, on by default since 1.31): learn the store's
      // revision with a cheap linearizable read, wait for the cache to reach it, and serve the cache.
      const revision = await this.registry.currentRevision();
      fromCache = await cache.waitForFresh(revision, this.now());
    }
    if (fromCache) {
      const { items, revision } = cache.list(namespace, filter);
      return { ...listKind, metadata: { resourceVersion: String(revision) }, items };
    }
    if (!unpaged && (rv === undefined || rv === '') && this.registry.kv.supportsProgressRequests !== false) {
      const page = await this.pagedListFromCache(info, cache, namespace, q);
      if (page !== undefined) return { ...listKind, ...page };
    }
    const list = await this.registry.listFromStore(info, namespace, filter, q.limit ?? 0, q.continue);
    return { ...list, ...listKind };
  }

  /**
   * A consistent paged list from a snapshot of the cache (Kubernetes' ListFromCacheSnapshot): the first page
   * snapshots the cache once it has caught up with the store's revision; a continue token is served from its
   * snapshot while that is kept. Undefined when the cache cannot serve it (not caught up, snapshot gone): the
   * store serves it then, at the same revision.
   */
  private async pagedListFromCache(info: ResourceInfo, cache: WatchCache, namespace: string | undefined, q: ApiQuery): Promise<Pick<List, 'metadata' | 'items'> | undefined> {
    const limit = q.limit ?? 0;
    const listId = `${cacheId(info)}|${storagePrefix(info, namespace)}|${q.labelSelector ?? ''}|${q.fieldSelector ?? ''}`;
    let snapshot: ListSnapshot | undefined;
    let startKey: string | undefined;
    if (q.continue) {
      const token = decodeContinue(q.continue);
      if (!token.start.startsWith(storagePrefix(info, namespace))) throw apiErrors.badRequest('the continue token does not belong to this list');
      snapshot = this.listSnapshots.get(listId, token.revision, this.now());
      startKey = token.start;
    } else {
      const revision = await this.registry.currentRevision();
      if (await cache.waitForFresh(revision, this.now())) {
        snapshot = cache.listKeyed(namespace, parseFilter(info.resource, q.labelSelector, q.fieldSelector));
        this.listSnapshots.put(listId, snapshot, this.now());
      }
    }
    if (snapshot === undefined) return undefined;
    const page = pageOf(snapshot, startKey, limit);
    const metadata: List['metadata'] = { resourceVersion: String(snapshot.revision) };
    if (page.nextKey !== undefined) metadata.continue = encodeContinue({ start: page.nextKey, revision: snapshot.revision });
    return { metadata, items: page.items };
  }

  watch(request: ApiRequest, user: UserInfo, sink: WatchSink): CacheWatch {
    const resource = findResource(request.group, request.version, request.resource) === undefined && this.crds.find(request.group, request.version, request.resource) === undefined ? '' : request.resource;
    try {
      const watch = this.watchUnmetered(request, user, sink);
      this.metrics.finished(undefined, 'WATCH', resource, 200, undefined);
      return watch;
    } catch (error) {
      this.metrics.finished(undefined, 'WATCH', resource, error instanceof ApiError ? error.status.code : 500, undefined);
      throw error;
    }
  }

  private watchUnmetered(request: ApiRequest, user: UserInfo, sink: WatchSink): CacheWatch {
    const info = this.info(request.group, request.version, request.resource);
    this.authorize(user, { ...request, verb: 'watch' });
    const q = request.query ?? {};
    parseResourceVersion(q.resourceVersion);
    const filter = parseFilter(info.resource, q.labelSelector, q.fieldSelector);
    const sent = this.metrics.watchEventCounter(info.group, info.version, info.kind);
    const counted: WatchSink = {
      event: (event) => {
        sent.inc();
        sink.event(info.custom !== undefined && event.type !== 'ERROR' ? { ...event, object: servedAs(info, event.object as KubeObject) } : event);
      },
      end: (status) => sink.end(status),
    };
    const watchRequest: WatchRequest = { namespace: request.namespace, filter, resourceVersion: q.resourceVersion, allowBookmarks: q.allowWatchBookmarks, sendInitialEvents: q.sendInitialEvents };
    if (this.uncached.has(cacheId(info))) return watchFromStore({ kv: this.kv, decode: (kv) => this.registry.decode(kv) }, info, watchRequest, counted);
    return this.cache(info).watch(watchRequest, counted);
  }

  private async create(info: ResourceInfo, request: ApiRequest, user: UserInfo): Promise<ApiResult> {
    const ns = request.namespace;
    const q = request.query ?? {};
    if (request.subresource === 'binding') {
      const name = need(request.name);
      await this.registry.bind(info, ns, name, request.body);
      return { code: 201, body: successStatus(201) };
    }
    if (request.subresource === 'eviction') {
      await evictPod(this.evictionStore(info), ns ?? 'default', need(request.name), request.body);
      return { code: 201, body: successStatus(201) };
    }
    if (request.subresource === 'token') {
      const accounts = this.info('', 'v1', 'serviceaccounts');
      const tokenRequest = await requestToken(this.serviceAccountTokens, {
        serviceAccount: async (namespace, name) => (await this.lookup(accounts, namespace, name)) as ServiceAccount | undefined,
        boundObject: (kind, namespace, name) => this.lookup(this.info('', 'v1', kind === 'Pod' ? 'pods' : kind === 'Secret' ? 'secrets' : 'nodes'), kind === 'Node' ? undefined : namespace, name),
        now: () => this.now(),
        random: () => this.random(),
      }, ns ?? 'default', need(request.name), request.body);
      return { code: 201, body: tokenRequest };
    }
    if (request.subresource !== undefined) throw apiErrors.methodNotAllowed(`create is not supported on ${info.resource}/${request.subresource}`);
    if (info.resource === 'selfsubjectaccessreviews') return this.selfSubjectAccessReview(user, request.body);
    if (info.custom !== undefined && this.crds.isTerminating(info.custom.definition)) {
      throw apiErrors.methodNotAllowed('create not allowed while custom resource definition is terminating');
    }
    let namespace = ns;
    if (info.namespaced && namespace === undefined) {
      const meta = isObject(request.body) && isObject(request.body.metadata) ? request.body.metadata : {};
      namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
      this.authorize(user, { ...request, namespace });
    }
    const meta = isObject(request.body) && isObject(request.body.metadata) ? request.body.metadata : {};
    const attributes = this.attributes('CREATE', info, request, user, namespace, typeof meta.name === 'string' ? meta.name : '');
    await this.admission.admit(attributes);
    let written: KubeObject | undefined;
    try {
      await this.admission.validate(attributes);
      const body = attributes.object ?? request.body;
      if (info.resource === 'resourcequotas') written = await this.createQuota(info, namespace!, body, q);
      else written = await this.registry.create(info, namespace, body, { fieldManager: q.fieldManager, dryRun: q.dryRun });
    } finally {
      this.admission.finished(attributes, q.dryRun ? undefined : written);
    }
    return withWarnings({ code: 201, body: written! }, attributes.warnings);
  }

  /** The admission attributes of a request; its body is the object admission sees (and mutating plugins change). */
  private attributes(operation: AdmissionAttributes['operation'], info: ResourceInfo, request: ApiRequest, user: UserInfo, namespace: string | undefined, name: string): AdmissionAttributes {
    return {
      operation, resource: info, subresource: request.subresource, namespace, name,
      object: isObject(request.body) ? request.body : undefined,
      userInfo: user, dryRun: request.query?.dryRun === true, fieldManager: request.query?.fieldManager,
    };
  }

  /**
   * A patch goes through admission as an UPDATE. When a plugin must see the
   * patched object (RBAC escalation, a matching webhook), the patch is
   * computed as a dry run, admitted (mutating plugins may change it), then
   * written as an update pinned to the revision it was computed from (409
   * if the object moved meanwhile). A scale patch is admitted without it.
   */
  private async admittedPatch(info: ResourceInfo, ns: string | undefined, name: string, request: ApiRequest, user: UserInfo, options: { subresource?: string; fieldManager?: string; force?: boolean; dryRun?: boolean }) {
    const attributes = this.attributes('UPDATE', info, { ...request, body: undefined }, user, ns, name);
    if (options.subresource === 'scale' || !this.admission.wantsObject(attributes)) {
      await this.admission.run(attributes);
      return { ...(await this.registry.patch(info, ns, name, request.patchType!, request.body, options)), warnings: attributes.warnings };
    }
    const preview = await this.registry.patch(info, ns, name, request.patchType!, request.body, { ...options, dryRun: true });
    attributes.object = preview.object;
    if (preview.created) attributes.operation = 'CREATE';
    await this.admission.run(attributes);
    const warnings = attributes.warnings;
    if (options.dryRun) return { object: attributes.object as typeof preview.object, created: preview.created, warnings };
    if (preview.created) return { ...(await this.registry.patch(info, ns, name, request.patchType!, request.body, options)), warnings };
    const subresource = options.subresource === 'apply' ? undefined : options.subresource;
    return { ...(await this.registry.update(info, ns, name, attributes.object, { subresource, fieldManager: options.fieldManager })), warnings };
  }

  /** The API server's side of an eviction: the pod and its budgets through this server's registry and watch cache. */
  private evictionStore(pods: ResourceInfo): EvictionStore {
    const pdbs = this.info('policy', 'v1', 'poddisruptionbudgets');
    return {
      getPod: async (namespace, name) => (await this.registry.get(pods, namespace, name)) as Pod,
      budgets: (namespace) => this.cache(pdbs).list(namespace, EVERYTHING).items as PodDisruptionBudget[],
      getBudget: async (namespace, name) => (await this.registry.get(pdbs, namespace, name)) as PodDisruptionBudget,
      updateBudgetStatus: async (budget) => {
        await this.registry.update(pdbs, budget.metadata.namespace, budget.metadata.name ?? '', budget, { subresource: 'status' });
      },
      markDisruptionTarget: async (pod) => {
        const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
          { type: 'DisruptionTarget', status: 'True' as const, reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: new Date(Math.floor(this.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z') }];
        await this.registry.patch(pods, pod.metadata.namespace, pod.metadata.name ?? '', 'merge', { status: { conditions } }, { subresource: 'status' });
      },
      deletePod: async (namespace, name, options) => {
        await this.registry.delete(pods, namespace, name, options);
      },
      now: () => this.now(),
    };
  }

  private podsOf(namespace: string): Pod[] {
    return this.cache(this.info('', 'v1', 'pods')).list(namespace, EVERYTHING).items as Pod[];
  }

  /** A new quota starts with its usage counted from the namespace's pods (the quota controller's first sync). */
  private async createQuota(info: ResourceInfo, namespace: string, body: unknown, q: ApiQuery): Promise<KubeObject> {
    const input = isObject(body) ? { ...body } : {};
    const quota = input as unknown as ResourceQuota;
    const hard = isObject(quota.spec) && isObject(quota.spec.hard) ? quota.spec.hard : {};
    input.status = { hard, used: recount({ metadata: {}, spec: { hard } }, this.podsOf(namespace), this.now()) };
    return this.registry.create(info, namespace, input, { fieldManager: q.fieldManager, dryRun: q.dryRun });
  }

  /**
   * The quota controller's recount: status.used from the pods the cache
   * holds. Skipped for a namespace while a charged create is in flight or
   * the pod cache has not yet seen the last charged pod, so a recount never
   * erases a charge whose pod is not visible yet.
   */
  async recountQuotas(): Promise<number> {
    const quotaInfo = this.info('', 'v1', 'resourcequotas');
    const podCache = this.cache(this.info('', 'v1', 'pods'));
    let written = 0;
    for (const quota of this.cache(quotaInfo).list(undefined, EVERYTHING).items as ResourceQuota[]) {
      const namespace = quota.metadata.namespace ?? '';
      if (!this.quotaAdmission.mayRecount(namespace, podCache.revision)) continue;
      const hard = quota.spec?.hard ?? {};
      const used = recount(quota, this.podsOf(namespace), this.now());
      if (JSON.stringify(used) === JSON.stringify(quota.status?.used ?? {}) && JSON.stringify(hard) === JSON.stringify(quota.status?.hard ?? {})) continue;
      try {
        await this.registry.update(quotaInfo, namespace, quota.metadata.name ?? '', { ...quota, status: { hard, used } }, { subresource: 'status' });
        written++;
      } catch (error) {
        // Changed meanwhile (a charge won): the next tick recounts.
        if (!(error instanceof ApiError && (error.reason === 'Conflict' || error.code === 404))) throw error;
      }
    }
    return written;
  }

  /** SelfSubjectAccessReview (`kubectl auth can-i`): the requester's own decision; nothing is stored. */
  private selfSubjectAccessReview(user: UserInfo, body: unknown): ApiResult {
    const spec = isObject(body) && isObject(body.spec) ? (body.spec as SelfSubjectAccessReview['spec']) : {};
    const r = isObject(spec.resourceAttributes) ? (spec.resourceAttributes as ResourceAttributes) : undefined;
    const n = isObject(spec.nonResourceAttributes) ? (spec.nonResourceAttributes as NonResourceAttributes) : undefined;
    if ((r === undefined) === (n === undefined)) {
      throw apiErrors.invalid('SelfSubjectAccessReview', 'authorization.k8s.io', '', [
        { reason: 'FieldValueRequired', field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' },
      ]);
    }
    const attributes: RequestAttributes = n !== undefined
      ? { verb: n.verb ?? '', apiGroup: '', resource: '', path: n.path ?? '' }
      : { verb: r!.verb ?? '', apiGroup: r!.group ?? '', resource: r!.resource ?? '', subresource: r!.subresource || undefined, namespace: r!.namespace || undefined, name: r!.name || undefined };
    const decision = this.decide(user, attributes);
    const review: SelfSubjectAccessReview = {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {}, spec,
      status: decision.reason === '' ? { allowed: decision.allowed } : { allowed: decision.allowed, reason: decision.reason },
    };
    return { code: 201, body: review };
  }

  private async delete(info: ResourceInfo, ns: string | undefined, name: string, options: DeleteOptions): Promise<ApiResult> {
    if (info.resource === 'namespaces') return this.deleteNamespace(info, name, options);
    const result = await this.registry.delete(info, ns, name, options);
    return { code: result.deleted ? 200 : 202, body: result.object };
  }

  private async deleteNamespace(info: ResourceInfo, name: string, options: DeleteOptions): Promise<ApiResult> {
    const current = await this.registry.get(info, undefined, name);
    if (current.metadata.deletionTimestamp === undefined) {
      await this.registry.patch(info, undefined, name, 'strategic', { metadata: { finalizers: [NAMESPACE_FINALIZER] } });
    }
    const result = await this.registry.delete(info, undefined, name, options);
    const cleanup = this.emptyNamespace(name).finally(() => this.pending.delete(cleanup));
    this.pending.add(cleanup);
    return { code: result.deleted ? 200 : 202, body: result.object };
  }

  /** Deletes every object in a terminating namespace, then lets the namespace go. */
  private async emptyNamespace(name: string): Promise<void> {
    for (const info of [...RESOURCES, ...this.crds.storedResources()]) {
      if (!info.namespaced || info.virtual) continue;
      const list = await this.registry.listFromStore(info, name, { labels: [], fields: [] }, 0);
      for (const item of list.items) {
        try {
          await this.registry.delete(info, name, item.metadata.name ?? '', { gracePeriodSeconds: 0 });
        } catch (error) {
          if (!(error instanceof ApiError && error.code === 404)) throw error;
        }
      }
    }
    const nsInfo = this.info('', 'v1', 'namespaces');
    const ns = await this.registry.read(nsInfo, undefined, name);
    if (ns === undefined) return;
    const finalizers = (ns.object.metadata.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
    await this.registry.patch(nsInfo, undefined, name, 'merge', { metadata: { finalizers: finalizers.length > 0 ? finalizers : null } });
  }

  private async deleteCollection(info: ResourceInfo, ns: string | undefined, q: ApiQuery, options: DeleteOptions): Promise<ApiResult> {
    const list = await this.registry.listFromStore(info, ns, parseFilter(info.resource, q.labelSelector, q.fieldSelector), 0);
    const items: KubeObject[] = [];
    for (const item of list.items) {
      try {
        items.push((await this.registry.delete(info, item.metadata.namespace, item.metadata.name ?? '', options)).object);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
    return { code: 200, body: { apiVersion: apiVersionOf(info), kind: `${info.kind}List`, metadata: {}, items } };
  }

  private async podLog(info: ResourceInfo, ns: string | undefined, name: string): Promise<ApiResult> {
    await this.registry.get(info, ns, name);
    throw apiErrors.badRequest(`pods/log is read with api.podLog (GET .../pods/${name}/log over HTTPS), which streams it from the pod's kubelet, not with api.get`);
  }

  /**
   * Periodic work (the actor calls it every second): bookmarks to watchers
   * that allow them (once a minute, as Kubernetes), and removal of pods whose grace period ran out.
   */
  async tick(): Promise<{ reaped: string[] }> {
    const nowMs = this.now();
    for (const cache of this.caches.values()) cache.giveUpWaiting(nowMs - CONSISTENT_LIST_WAIT_MS);
    if (nowMs >= this.nextBookmarkMs) {
      for (const cache of this.caches.values()) cache.bookmark();
      this.nextBookmarkMs = nowMs + BOOKMARK_EVERY_MS;
    }
    const pods = this.info('', 'v1', 'pods');
    // Every second, over every pod: a scan, not a sorted LIST (sorting 10,000 keys a second was 3 % of a 1,000-node run).
    const expired: KubeObject[] = [];
    for (const p of this.cache(pods).objectsUnordered()) {
      const ts = p.metadata.deletionTimestamp;
      if (ts !== undefined && Date.parse(ts) <= nowMs) expired.push(p);
    }
    // In key order, as the LIST gave them: the order deletions are written in stays what it was.
    expired.sort((a, b) => (keyOrder(a) < keyOrder(b) ? -1 : keyOrder(a) > keyOrder(b) ? 1 : 0));
    const reaped = await this.registry.reapExpired(pods, expired);
    await this.recountQuotas();
    await this.crds.resync();
    await this.compactIfDue(nowMs);
    return { reaped };
  }

  /** As kube-apiserver's compactor: every interval, compact to the revision seen at the previous one, so watchers have an interval to catch up. */
  private async compactIfDue(nowMs: number): Promise<void> {
    const intervalMs = this.compactionIntervalMs;
    if (intervalMs <= 0) return;
    if (this.compaction !== undefined && nowMs < this.compaction.dueMs) return;
    const revision = await this.registry.currentRevision();
    const previous = this.compaction;
    this.compaction = { revision, dueMs: nowMs + intervalMs };
    if (previous === undefined || previous.revision <= 1) return;
    try {
      await this.registry.kv.compact(previous.revision);
    } catch (error) {
      // Compacted already (another compaction got there first): nothing to do.
      if (!(error instanceof KvError && error.code === 'compacted')) throw error;
    }
  }

  /** Resolves when background namespace cleanups and CRD reconciles are done (tests). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await this.crds.settle();
  }

  /** Key of an object in the store, for tests and tools. */
  keyOf(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return storageKey(info, namespace, name);
  }
}

function cacheId(info: ResourceInfo): string {
  return `${info.group}/${info.resource}`;
}

function need(name: string | undefined): string {
  if (name === undefined || name === '') throw apiErrors.badRequest('a name is required for this request');
  return name;
}

/** A result with admission's warnings, if there are any. */
function withWarnings(result: ApiResult, warnings: string[] | undefined): ApiResult {
  return warnings === undefined || warnings.length === 0 ? result : { ...result, warnings };
}

function ok(body: KubeObject | List): ApiResult {
  return { code: 200, body };
}

export function successStatus(code: number): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
}

function deleteOptions(body: unknown, q: ApiQuery): DeleteOptions {
  const options: DeleteOptions = isObject(body) ? { ...(body as DeleteOptions) } : {};
  if (q.gracePeriodSeconds !== undefined) options.gracePeriodSeconds = q.gracePeriodSeconds;
  if (q.propagationPolicy !== undefined) options.propagationPolicy = q.propagationPolicy;
  if (options.gracePeriodSeconds !== undefined && (typeof options.gracePeriodSeconds !== 'number' || options.gracePeriodSeconds < 0)) {
    throw apiErrors.badRequest('gracePeriodSeconds must be a number >= 0');
  }
  if (options.propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(options.propagationPolicy)) {
    throw apiErrors.badRequest(`propagationPolicy must be Orphan, Background or Foreground, not ${JSON.stringify(options.propagationPolicy)}`);
  }
  return options;
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`api handlers invariant violated: ${message}`);
}

/** A namespaced object's store-key order: namespace, then name. */
function keyOrder(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

/**
 * A store call whose whole deadline ran out is kube-apiserver's request
 * context expiring: 504 Timeout, the outcome unknown. Any other store
 * trouble stays a 500 internal error (etcd's "request timed out" reaches
 * Kubernetes' clients the same way).
 */
function storeDeadlineAsTimeout(error: unknown): unknown {
  if (!(error instanceof KvUnavailableError) || !error.deadlineExceeded) return error;
  return apiErrors.timeout(`request did not complete within requested timeout - ${error.message}`);
}
