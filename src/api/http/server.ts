/**
 * The HTTPS face of the API server, for kubectl and other Kubernetes
 * clients: routing of the REST paths, bearer-token authentication, body
 * decoding (JSON, YAML, the protobuf envelope, the four patch types),
 * content negotiation (Table for `kubectl get`, aggregated discovery),
 * newline-delimited JSON watch streams, and Status objects for every error.
 * Requests become `ApiRequest`s for the shared `ApiHandlers`.
 *
 * This is an I/O edge: it lives only in the threaded runtime and uses
 * node:http(s) and node timers (watch timeouts) directly.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ANONYMOUS, PUBLIC_PATHS, type Authenticator, type UserInfo } from '../auth.js';
import { ApiError, apiErrors } from '../errors.js';
import { parseFieldValidation } from '../field-validation.js';
import { impersonatedUser } from '../impersonation.js';
import type { ApiHandlers, ApiQuery, ApiRequest, Verb } from '../handlers.js';
import type { PatchType } from '../registry.js';
import { RESOURCES, findResource, type ResourceInfo } from '../resources.js';
import type { KubeObject, List, Status, WatchEvent } from '../types/index.js';
import { AGGREGATED_DISCOVERY_CONTENT_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { openApiV2Document, openApiV3Document, openApiV3Index } from './openapi.js';
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE, encodeOpenApiV2, openApiV2Form } from './openapi-protobuf.js';
import { POD_LOG_FOLLOW_WAIT_MS, openPodLog, type PodLogQuery, type PodLogReader, type RemoteKubeletLogs } from '../pod-log.js';
import { decodeProtobufBody, isProtobuf } from './protobuf.js';
import { boolParam } from './query.js';
import { toTable, type IncludeObject } from './tables.js';
import type { TlsMaterial } from './tls.js';
import { parseHealthQuery, type HealthEndpoint } from '../health.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/index.js';

/** Kubernetes' request body limit (3 MiB): larger bodies are 413 before they are parsed. */
export const REQUEST_BODY_BYTES_MAX = 3 * 1024 * 1024;
/** A watch whose client reads slower than this much buffered output is ended (Kubernetes drops slow watchers too). */
export const WATCH_BUFFER_BYTES_MAX = 16 * 1024 * 1024;
/** Watches end after this long unless the client asked for less (kube-apiserver's --min-request-timeout is 1800 s). */
export const WATCH_TIMEOUT_SECONDS_MAX = 1800;

export interface ApiHttpServerOptions {
  handlers: ApiHandlers;
  /** Static tokens, service account tokens (a union of both in the API server). */
  authenticator: Authenticator;
  /** Serve HTTPS with this material; without it plain HTTP (kubectl then sends no token). */
  tls?: TlsMaterial;
  host?: string;
  port?: number;
  now(): number;
  /** Called with errors that are not API errors (bugs): the request gets a 500, the process lives on. */
  onInternalError?(error: unknown, where: string): void;
  /** Reads pod logs from kubelets (GET pods/<name>/log); without it that path answers 503. */
  podLogs?: PodLogReader;
  /** Reads logs of nodes that report a kubelet endpoint (nodes in other processes). */
  remoteKubeletLogs?: RemoteKubeletLogs;
  /** GET /metrics: text exposition; without it that path is 404. */
  metrics?(): Promise<string>;
  /**
   * API Priority and Fairness (flow-control.ts): runs a resource request's handler in its turn. Watches and log
   * reads are long-running and not held (as in Kubernetes); without it every request runs at once.
   */
  flowControl?<T>(request: ApiRequest, user: UserInfo, run: () => Promise<T>): Promise<T>;
  /** /livez, /readyz, /healthz and `/<endpoint>/<check>`; without it they answer a bare `ok`. */
  health?(endpoint: HealthEndpoint, query: { verbose: boolean; exclude: readonly string[] }, check?: string): Promise<{ found: boolean; code: number; body: string }>;
}

const HEALTH_ENDPOINTS = new Set(['livez', 'readyz', 'healthz']);

/** Items of a JSON list written in one turn (`listJson`); a larger list goes over several. kubectl's own chunk is 500. */
export const HTTP_LIST_SLICE_ITEMS = 500;

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

export class ApiHttpServer {
  private server: Server | undefined;
  private readonly options: ApiHttpServerOptions;
  private readonly openWatches = new Set<() => void>();
  /** Requests served, by HTTP status; for inspection. */
  readonly served = new Map<number, number>();
  /** The protobuf OpenAPI v2 document, encoded on first request (the served types never change at run time). */
  private openApiV2Protobuf: Buffer | undefined;

  constructor(options: ApiHttpServerOptions) {
    this.options = options;
  }

  async start(): Promise<{ port: number; url: string }> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((error: unknown) => this.fail(res, error, `${req.method} ${req.url}`));
    };
    const tls = this.options.tls;
    this.server = tls ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handler) : createHttpServer(handler);
    this.server.on('clientError', (_error, socket) => socket.destroy());
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, host, () => resolve());
    });
    const port = (this.server.address() as AddressInfo).port;
    return { port, url: `${tls ? 'https' : 'http'}://${host}:${port}` };
  }

  async close(): Promise<void> {
    for (const end of [...this.openWatches]) end();
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Every kind served now: the built-in table, then what CustomResourceDefinitions define. */
  private servedKinds(): ResourceInfo[] {
    return [...RESOURCES, ...this.options.handlers.crds.resources()];
  }

  private get address(): string {
    const a = this.server?.address() as AddressInfo | null;
    return a ? `${a.address}:${a.port}` : '127.0.0.1';
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const authenticated = await this.options.authenticator.authenticate(req.headers.authorization);
    // A wrong token is 401 everywhere; no token is anonymous on the public paths only (then RBAC decides).
    if (authenticated === null) throw apiErrors.unauthorized();
    const healthParts = path.split('/');
    const isHealth = HEALTH_ENDPOINTS.has(healthParts[1] ?? '') && healthParts.length <= 3;
    if (PUBLIC_PATHS.has(path) || isHealth) {
      // `/readyz/<check>` is not public: anonymous callers there are refused by RBAC, as on Kubernetes.
      this.options.handlers.authorizePath(authenticated ?? ANONYMOUS, path);
      if (path === '/version') return this.json(res, 200, versionInfo());
      if (this.options.health === undefined) {
        if (!PUBLIC_PATHS.has(path)) throw apiErrors.pathNotFound(path);
        return this.text(res, 200, 'ok');
      }
      const answer = await this.options.health(healthParts[1] as HealthEndpoint, parseHealthQuery(url.searchParams), healthParts[2]);
      if (!answer.found) throw apiErrors.pathNotFound(path);
      return this.text(res, answer.code, answer.body);
    }
    if (authenticated === undefined) throw apiErrors.unauthorized();
    const user = impersonatedUser(req.headers, authenticated, (u, attributes) => this.options.handlers.decide(u, attributes));
    if (path === '/metrics' && this.options.metrics !== undefined) {
      this.options.handlers.authorizePath(user, path);
      const body = await this.options.metrics();
      this.served.set(200, (this.served.get(200) ?? 0) + 1);
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const accept = req.headers.accept ?? '';
    const segments = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    if (segments[0] === 'openapi') return this.openapi(res, segments, user, accept);
    if (segments[0] === 'api' && segments.length <= 2) {
      this.options.handlers.authorizePath(user, path);
      if (segments.length === 1) {
        if (wantsAggregated(accept)) return this.json(res, 200, aggregatedDiscovery(true), AGGREGATED_DISCOVERY_CONTENT_TYPE);
        return this.json(res, 200, apiVersions(this.address));
      }
      const list = apiResourceList('', segments[1]!);
      if (list === undefined) throw apiErrors.pathNotFound(path);
      return this.json(res, 200, list);
    }
    if (segments[0] === 'apis' && segments.length <= 3) {
      this.options.handlers.authorizePath(user, path);
      if (segments.length === 1) {
        if (wantsAggregated(accept)) return this.json(res, 200, aggregatedDiscovery(false, this.servedKinds()), AGGREGATED_DISCOVERY_CONTENT_TYPE);
        return this.json(res, 200, apiGroupList(this.servedKinds()));
      }
      const doc = segments.length === 2 ? apiGroup(segments[1]!, this.servedKinds()) : apiResourceList(segments[1]!, segments[2]!, this.servedKinds());
      if (doc === undefined) throw apiErrors.pathNotFound(path);
      return this.json(res, 200, doc);
    }
    if (segments[0] !== 'api' && segments[0] !== 'apis') throw apiErrors.pathNotFound(path);
    const request = this.parseResourcePath(segments, req.method ?? 'GET', url.searchParams);
    if (request === undefined) throw apiErrors.pathNotFound(path);
    const info = this.options.handlers.info(request.group, request.version, request.resource);
    if (request.verb === 'watch') return this.watch(req, res, request, info, user, url.searchParams, accept);
    if (request.verb === 'get' && request.resource === 'pods' && request.subresource === 'log') return this.podLog(res, request, user, url.searchParams);
    if (['create', 'update', 'patch', 'delete', 'deletecollection'].includes(request.verb)) {
      await this.readBody(req, request);
    }
    const result = this.options.flowControl === undefined
      ? await this.options.handlers.handle(request, user)
      : await this.options.flowControl(request, user, () => this.options.handlers.handle(request, user));
    if (isTableRequest(accept) && (request.verb === 'list' || request.verb === 'get') && request.subresource === undefined) {
      const include = includeObject(url.searchParams);
      const body = result.body as KubeObject | List;
      const table = 'items' in body
        ? toTable(info, body.items, body.metadata, this.options.now(), include)
        : toTable(info, [body as KubeObject], { resourceVersion: (body as KubeObject).metadata.resourceVersion }, this.options.now(), include);
      return this.json(res, result.code, table);
    }
    // Kubernetes' warning headers (RFC 7234 code 299): kubectl prints each as `Warning: ...`.
    for (const warning of result.warnings ?? []) res.appendHeader('Warning', `299 - ${JSON.stringify(warning)}`);
    if (request.verb === 'list') return this.listJson(res, result.code, result.body as List);
    return this.json(res, result.code, result.body);
  }

  /** `/api/v1/...` and `/apis/<group>/<version>/...` into an ApiRequest (verb, namespace, name, subresource). */
  private parseResourcePath(segments: string[], method: string, params: URLSearchParams): ApiRequest | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api') {
      group = '';
      version = segments[1]!;
      rest = segments.slice(2);
    } else {
      group = segments[1]!;
      version = segments[2]!;
      rest = segments.slice(3);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, subresource, ...extra] = rest;
    if (resource === undefined || extra.length > 0) return undefined;
    const watch = boolParam(params, 'watch') === true;
    let verb: Verb;
    switch (method) {
      case 'GET': verb = watch ? 'watch' : name === undefined ? 'list' : 'get'; break;
      case 'POST': verb = 'create'; break;
      case 'PUT': verb = 'update'; break;
      case 'PATCH': verb = 'patch'; break;
      case 'DELETE': verb = name === undefined ? 'deletecollection' : 'delete'; break;
      default: throw apiErrors.methodNotAllowed(`the server does not allow the method ${method} on this resource`);
    }
    if (watch && name !== undefined) {
      // A watch on one object: the same as a watch with fieldSelector=metadata.name=<name>.
      params.set('fieldSelector', [params.get('fieldSelector'), `metadata.name=${name}`].filter(Boolean).join(','));
    }
    return { verb, group, version, resource, namespace, name: watch ? undefined : name, subresource, query: parseQuery(params) };
  }

  private async readBody(req: IncomingMessage, request: ApiRequest): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > REQUEST_BODY_BYTES_MAX) {
      req.resume();
      throw apiErrors.tooLarge(`the request body is ${declared} bytes; the limit is ${REQUEST_BODY_BYTES_MAX}`);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of req) {
      bytes += (chunk as Buffer).length;
      if (bytes > REQUEST_BODY_BYTES_MAX) {
        req.destroy();
        throw apiErrors.tooLarge(`the request body is over ${REQUEST_BODY_BYTES_MAX} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (request.verb === 'patch') {
      const type = PATCH_TYPES[contentType];
      if (type === undefined) throw apiErrors.unsupportedMediaType(contentType);
      request.patchType = type;
      request.body = type === 'apply' ? parseYamlBody(body) : parseJsonBody(body);
      return;
    }
    if (body.length === 0) {
      request.body = undefined;
      return;
    }
    if (isProtobuf(contentType)) request.body = decodeProtobufBody(body);
    else if (contentType === 'application/json' || contentType === '*/*' || contentType === '') request.body = parseJsonBody(body);
    else if (contentType === 'application/yaml' || contentType === 'application/x-yaml' || contentType === 'text/yaml') request.body = parseYamlBody(body);
    else throw apiErrors.unsupportedMediaType(contentType);
  }

  private watch(req: IncomingMessage, res: ServerResponse, request: ApiRequest, info: ResourceInfo, user: UserInfo, params: URLSearchParams, accept: string): void {
    const asTable = isTableRequest(accept);
    const include = includeObject(params);
    let first = true;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let watch: { cancel(): void } | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      if (timer !== undefined) clearTimeout(timer);
      watch?.cancel();
      this.openWatches.delete(end);
      res.end();
    };
    const write = (event: WatchEvent) => {
      if (ended) return;
      let object: unknown = event.object;
      if (asTable && (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')) {
        object = toTable(info, [event.object as KubeObject], { resourceVersion: (event.object as KubeObject).metadata.resourceVersion }, this.options.now(), include, first);
        first = false;
      }
      res.write(JSON.stringify({ type: event.type, object }) + '\n');
      if (res.writableLength > WATCH_BUFFER_BYTES_MAX) end();
    };
    const startStream = () => {
      if (res.headersSent) return;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
    };
    watch = this.options.handlers.watch(request, user, {
      event: (event) => {
        startStream();
        write(event);
      },
      end: (status?: Status) => {
        if (status !== undefined) {
          startStream();
          if (!ended) res.write(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
        }
        end();
      },
    });
    if (ended) return;
    startStream();
    this.openWatches.add(end);
    const requested = Number(params.get('timeoutSeconds') ?? WATCH_TIMEOUT_SECONDS_MAX);
    const seconds = Number.isFinite(requested) && requested > 0 ? Math.min(requested, WATCH_TIMEOUT_SECONDS_MAX) : WATCH_TIMEOUT_SECONDS_MAX;
    timer = setTimeout(end, seconds * 1000);
    res.on('close', end);
    req.on('error', end);
  }

  /** `kubectl logs [-f] [--previous]`: plain text, streamed while following, read from the pod's kubelet. */
  private async podLog(res: ServerResponse, request: ApiRequest, user: UserInfo, params: URLSearchParams): Promise<void> {
    const int = (name: string): number | undefined => {
      const v = params.get(name);
      if (v === null || v === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n)) throw apiErrors.badRequest(`${name} must be an integer, not ${JSON.stringify(v)}`);
      return n;
    };
    const query: PodLogQuery = {
      container: params.get('container') ?? undefined,
      previous: boolParam(params, 'previous') === true,
      follow: boolParam(params, 'follow') === true,
      tailLines: int('tailLines'),
      limitBytes: int('limitBytes'),
    };
    const stream = await openPodLog(this.options.handlers, this.options.podLogs, request.namespace ?? 'default', request.name ?? '', user, query, this.options.remoteKubeletLogs);
    // The first read happens before the headers, so "no previous container" and friends arrive as a Status.
    let chunk = await stream.next(0);
    let closed = false;
    res.on('close', () => {
      closed = true;
      // A kubelet connection behind the stream is released now, not after the next read's wait.
      stream.close?.();
    });
    this.served.set(200, (this.served.get(200) ?? 0) + 1);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    for (;;) {
      if (chunk.data !== '') res.write(chunk.data);
      if (chunk.complete || closed) break;
      if (!query.follow) {
        if (chunk.data === '') break;
        chunk = await stream.next(0);
        continue;
      }
      chunk = await stream.next(POD_LOG_FOLLOW_WAIT_MS);
    }
    stream.close?.();
    res.end();
  }

  private openapi(res: ServerResponse, segments: string[], user: UserInfo, accept: string): void {
    this.options.handlers.authorizePath(user, `/${segments.join('/')}`);
    if (segments[1] === 'v2' && segments.length === 2) {
      // kubectl asks for protobuf only (client-go's OpenAPISchema), others for JSON: the first one listed wins.
      const form = openApiV2Form(accept);
      if (form === undefined) throw apiErrors.notAcceptable(`only application/json and ${OPENAPI_V2_PROTOBUF_CONTENT_TYPE} are served for /openapi/v2, not ${accept}`);
      if (form === 'json') return this.json(res, 200, openApiV2Document());
      this.openApiV2Protobuf ??= encodeOpenApiV2(openApiV2Document());
      this.served.set(200, (this.served.get(200) ?? 0) + 1);
      res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF_CONTENT_TYPE, 'Content-Length': this.openApiV2Protobuf.length });
      res.end(this.openApiV2Protobuf);
      return;
    }
    if (segments[1] !== 'v3') throw apiErrors.pathNotFound(`/${segments.join('/')}`);
    // The hash moves with the kinds CRDs define, so kubectl's cached documents go stale when they change.
    if (segments.length === 2) return this.json(res, 200, openApiV3Index(`${OPENAPI_HASH}-${this.options.handlers.crds.generation}`, this.servedKinds()));
    const doc = openApiV3Document(segments.slice(2).join('/'), this.servedKinds());
    if (doc === undefined) throw apiErrors.pathNotFound(`/${segments.join('/')}`);
    this.json(res, 200, doc);
  }

  private json(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    const text = JSON.stringify(body);
    this.served.set(code, (this.served.get(code) ?? 0) + 1);
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  /**
   * A list as JSON, a large one in slices of HTTP_LIST_SLICE_ITEMS items written one per turn of this thread
   * (chunked, as kube-apiserver streams a list's items): encoding 20,000 pods is a few hundred ms, which
   * every request and store reply arriving meanwhile would wait for. The items are the one array the
   * handler built (the cache's objects at one revision, never changed in place), so the body is the one
   * list at its resourceVersion whatever is written between slices; `items` comes last, as Kubernetes
   * writes it.
   */
  private listJson(res: ServerResponse, code: number, body: List): void {
    const items: readonly unknown[] = Array.isArray(body.items) ? body.items : [];
    if (items.length <= HTTP_LIST_SLICE_ITEMS) return this.json(res, code, body);
    const { items: _items, ...rest } = body;
    const head = JSON.stringify(rest);
    this.served.set(code, (this.served.get(code) ?? 0) + 1);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.write(`${head.slice(0, -1)}${head === '{}' ? '' : ','}"items":[`);
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    let next = 0;
    const writeSlice = (): void => {
      if (closed) return;
      const slice = JSON.stringify(items.slice(next, next + HTTP_LIST_SLICE_ITEMS));
      res.write(`${next === 0 ? '' : ','}${slice.slice(1, -1)}`);
      next += HTTP_LIST_SLICE_ITEMS;
      if (next < items.length) setImmediate(writeSlice);
      else res.end(']}');
    };
    writeSlice();
  }

  private text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private fail(res: ServerResponse, error: unknown, where: string): void {
    let status: Status;
    if (error instanceof ApiError) status = error.status;
    else {
      this.options.onInternalError?.(error, where);
      status = apiErrors.internal(error instanceof Error ? error.message : String(error)).status;
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    this.json(res, status.code, status);
  }
}

/** The served types never change at run time: one constant hash keeps kubectl's OpenAPI cache valid. */
const OPENAPI_HASH = 'kubethreads-2';


function wantsAggregated(accept: string): boolean {
  return accept.includes('as=APIGroupDiscoveryList') && accept.includes('v=v2');
}

function isTableRequest(accept: string): boolean {
  return accept.split(',').some((part) => part.includes('as=Table') && part.includes('g=meta.k8s.io'));
}

function includeObject(params: URLSearchParams): IncludeObject {
  const v = params.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw apiErrors.badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}

function parseYamlBody(body: Buffer): unknown {
  try {
    return parseYaml(body.toString('utf8'), { maxAliasCount: 100 });
  } catch (error) {
    throw apiErrors.badRequest(`the request body is not valid YAML: ${(error as Error).message}`);
  }
}

function parseQuery(params: URLSearchParams): ApiQuery {
  const int = (name: string): number | undefined => {
    const v = params.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw apiErrors.badRequest(`${name} must be an integer, not ${JSON.stringify(v)}`);
    return n;
  };
  const q: ApiQuery = {};
  const set = <K extends keyof ApiQuery>(k: K, v: ApiQuery[K] | undefined) => {
    if (v !== undefined) q[k] = v;
  };
  set('labelSelector', params.get('labelSelector') ?? undefined);
  set('fieldSelector', params.get('fieldSelector') ?? undefined);
  set('limit', int('limit'));
  set('continue', params.get('continue') || undefined);
  set('resourceVersion', params.get('resourceVersion') ?? undefined);
  set('fieldManager', params.get('fieldManager') ?? undefined);
  set('force', boolParam(params, 'force'));
  if (params.getAll('dryRun').includes('All')) q.dryRun = true;
  set('gracePeriodSeconds', int('gracePeriodSeconds'));
  const propagation = params.get('propagationPolicy');
  if (propagation !== null) q.propagationPolicy = propagation as ApiQuery['propagationPolicy'];
  set('allowWatchBookmarks', boolParam(params, 'allowWatchBookmarks'));
  set('sendInitialEvents', boolParam(params, 'sendInitialEvents'));
  set('fieldValidation', parseFieldValidation(params.get('fieldValidation')));
  return q;
}

export { findResource };
