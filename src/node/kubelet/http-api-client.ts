/**
 * The node components' API client over HTTPS: the same `NodeApi` as the
 * actor-message `KubeApi`, spoken as a real kubelet speaks to any conformant
 * API server — REST paths, a bearer token or a client certificate, JSON, and
 * watches as chunked streams of `{"type","object"}` lines with bookmarks and
 * 410 Gone. Used by nodes that run in another process (`kubethreads nodes`).
 *
 * An I/O edge: it runs in the threaded runtime only, so its sockets and
 * timeouts are Node's own rather than the actor context's.
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Message } from '../../actor/index.js';
import type { ApiReply } from '../../api/protocol.js';
import type { KubeObject, List, Status, StatusReason } from '../../api/types/index.js';
import type { ClientMetrics } from '../../client/metrics.js';
import type { ListOptions, ListResult, ListWatcher, WatchHandle, WatchHandlers } from '../../client/list-watch.js';
import type { NodeApi, Resource } from './api-client.js';

/** How to reach and authenticate to an API server, as a kubeconfig's cluster and user say. */
export interface ApiConnection {
  /** `https://host:port`, possibly with a path prefix. */
  server: string;
  /** The cluster CA; undefined: the system's roots. */
  caPem?: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** kubeconfig's insecure-skip-tls-verify. */
  insecureSkipTlsVerify?: boolean;
}

/** client-go's reflector asks for watches of 5 to 10 minutes, spread so that a fleet's watches do not all end together. */
const WATCH_TIMEOUT_SECONDS_MIN = 300;
/** A watch that has sent nothing, not even a bookmark, this long past its own timeout is dead (a stopped server). */
const WATCH_IDLE_MARGIN_MS = 30_000;
/** One watch line larger than this is not an object a node needs: the stream is broken, not the node. */
export const WATCH_LINE_BYTES_MAX = 16 * 1024 * 1024;
/**
 * Request sockets per thread and server, shared by every client of the thread (its nodes' kubelets and
 * proxies). Heartbeats are a fraction of a request per node per second, so a pool this size carries
 * hundreds of nodes and stays busy enough to be reused: a socket per client idles past the server's
 * keep-alive timeout between heartbeats and pays a TLS handshake every time (docs/remote-nodes.md).
 */
export const SHARED_SOCKETS_MAX = 64;

/** The thread's pools of request sockets, one per server and credentials, kept while a client uses them. */
const sharedAgents = new Map<string, { agent: Agent; users: number }>();

function tlsOptions(connection: ApiConnection): { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean } {
  return {
    ...(connection.caPem !== undefined ? { ca: connection.caPem } : {}),
    ...(connection.clientCertPem !== undefined ? { cert: connection.clientCertPem } : {}),
    ...(connection.clientKeyPem !== undefined ? { key: connection.clientKeyPem } : {}),
    rejectUnauthorized: connection.insecureSkipTlsVerify !== true,
  };
}

function acquireAgent(key: string, connection: ApiConnection): Agent {
  let entry = sharedAgents.get(key);
  if (entry === undefined) sharedAgents.set(key, (entry = { agent: new Agent({ keepAlive: true, maxSockets: SHARED_SOCKETS_MAX, ...tlsOptions(connection) }), users: 0 }));
  entry.users++;
  return entry.agent;
}

function releaseAgent(key: string): void {
  const entry = sharedAgents.get(key);
  if (entry === undefined || --entry.users > 0) return;
  sharedAgents.delete(key);
  entry.agent.destroy();
}

const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict',
  410: 'Gone', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

function failure(code: number, message: string, reason?: StatusReason): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: reason ?? REASONS[code] ?? 'InternalError', code, message };
}

/** A response body as a Status: the server's own when it sent one, else one made from the code and text. */
export function statusOf(code: number, text: string): Status {
  try {
    const parsed = JSON.parse(text) as Partial<Status>;
    if (parsed !== null && typeof parsed === 'object' && parsed.kind === 'Status') return { ...failure(code, text), ...parsed, code: parsed.code ?? code } as Status;
  } catch {
    // Not JSON (a proxy's HTML page, a plain-text error): keep the text as the message.
  }
  return failure(code, text.trim() === '' ? `the API server answered ${code}` : text.trim().slice(0, 1_000));
}

/** The REST path of a resource, its object and subresource: /api/v1/namespaces/ns/pods/name/status. */
export function resourcePath(r: Resource, namespace: string | undefined, name?: string, subresource?: string): string {
  const parts = [r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`];
  if (namespace !== undefined && namespace !== '') parts.push('namespaces', encodeURIComponent(namespace));
  parts.push(r.resource);
  if (name !== undefined) parts.push(encodeURIComponent(name));
  if (subresource !== undefined && subresource !== '') parts.push(subresource);
  return parts.join('/');
}

/**
 * Splits a watch stream into its JSON lines. Pure: fed chunks as they come,
 * it returns the complete lines and keeps the rest; a line past the bound is
 * an error, not a growing buffer.
 */
export class WatchLineDecoder {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    if (this.rest.length > WATCH_LINE_BYTES_MAX) throw new Error(`a watch event longer than ${WATCH_LINE_BYTES_MAX} bytes`);
    return lines.filter((line) => line.trim() !== '');
  }

  /** What is left when the stream ends: a last line without its newline. */
  end(): string[] {
    const last = this.rest.trim();
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

/** One watch event line as the informer wants it, or the failure an ERROR event (or a bad line) means. */
export function parseWatchLine(line: string): { event: { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: KubeObject } } | { failure: { code: number; reason?: string; message?: string } } {
  let parsed: { type?: unknown; object?: unknown };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return { failure: { code: 500, reason: 'InternalError', message: `the watch stream sent a line that is not JSON: ${line.slice(0, 200)}` } };
  }
  const object = parsed?.object as KubeObject | undefined;
  if (parsed?.type === 'ERROR') {
    const status = (object ?? {}) as Partial<Status>;
    return { failure: { code: status.code ?? 500, reason: status.reason, message: status.message } };
  }
  if ((parsed?.type === 'ADDED' || parsed?.type === 'MODIFIED' || parsed?.type === 'DELETED' || parsed?.type === 'BOOKMARK') && object !== null && typeof object === 'object' && typeof object.metadata === 'object') {
    return { event: { type: parsed.type, object } };
  }
  return { failure: { code: 500, reason: 'InternalError', message: `the watch stream sent an event that is not one: ${line.slice(0, 200)}` } };
}

export class HttpKubeApi implements NodeApi {
  /** Requests go through the thread's shared pool; each watch holds a socket of its own for as long as it runs. */
  private readonly agent: Agent;
  private readonly agentKey: string;
  private closed = false;
  private readonly base: URL;
  private readonly openWatches = new Set<() => void>();

  /**
   * `timeoutMs` bounds each request; `random` spreads watch timeouts (the actor's, so a seed still names the run);
   * `metrics` counts rest_client_requests_total by host, method and code.
   */
  constructor(private readonly connection: ApiConnection, private readonly timeoutMs: number, private readonly random: () => number, private readonly metrics?: ClientMetrics) {
    this.base = new URL(connection.server);
    if (this.base.protocol !== 'https:') throw new Error(`the API server must be reached over https://, not ${connection.server}`);
    this.agentKey = JSON.stringify(connection);
    this.agent = acquireAgent(this.agentKey, connection);
  }

  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, query?: { resourceVersion: string }): Promise<ApiReply<T>> {
    const search = query !== undefined ? `?resourceVersion=${encodeURIComponent(query.resourceVersion)}` : '';
    return this.call<T>('GET', resourcePath(r, namespace, name) + search);
  }

  create<T extends KubeObject>(r: Resource, namespace: string | undefined, object: T): Promise<ApiReply<T>> {
    return this.call<T>('POST', resourcePath(r, namespace), object);
  }

  update<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, object: T, subresource?: string): Promise<ApiReply<T>> {
    return this.call<T>('PUT', resourcePath(r, namespace, name, subresource), object);
  }

  mergePatch<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, patch: Record<string, unknown>, subresource?: string): Promise<ApiReply<T>> {
    return this.call<T>('PATCH', resourcePath(r, namespace, name, subresource), patch, 'application/merge-patch+json');
  }

  delete(r: Resource, namespace: string | undefined, name: string, options: Record<string, unknown>): Promise<ApiReply> {
    return this.call('DELETE', resourcePath(r, namespace, name), { kind: 'DeleteOptions', apiVersion: 'v1', ...options });
  }

  listWatcher<T extends KubeObject>(r: Resource, selectors: { fieldSelector?: string; labelSelector?: string; namespace?: string } = {}): ListWatcher<T> {
    const selectorParams = (params: URLSearchParams) => {
      if (selectors.fieldSelector !== undefined) params.set('fieldSelector', selectors.fieldSelector);
      if (selectors.labelSelector !== undefined) params.set('labelSelector', selectors.labelSelector);
      return params;
    };
    const collection = resourcePath(r, selectors.namespace);
    return {
      list: async (options: ListOptions): Promise<ListResult<T>> => {
        const params = selectorParams(new URLSearchParams());
        if (options.resourceVersion) params.set('resourceVersion', options.resourceVersion);
        const reply = await this.call<List<T>>('GET', `${collection}?${params}`);
        if (!reply.ok) throw new Error(`list ${r.resource}: ${reply.status.message ?? reply.status.reason}`);
        return { items: reply.body.items ?? [], resourceVersion: reply.body.metadata?.resourceVersion ?? '' };
      },
      watch: (resourceVersion: string, handlers: WatchHandlers<T>): WatchHandle => {
        const timeoutSeconds = Math.floor(WATCH_TIMEOUT_SECONDS_MIN * (1 + this.random()));
        const params = selectorParams(new URLSearchParams({ watch: 'true', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }));
        return this.watch(`${collection}?${params}`, timeoutSeconds * 1000 + WATCH_IDLE_MARGIN_MS, handlers as unknown as WatchHandlers<KubeObject>);
      },
    };
  }

  /** HTTP carries no actor messages. */
  handle(_msg: Message): boolean {
    return false;
  }

  close(): void {
    for (const stop of [...this.openWatches]) stop();
    if (this.closed) return;
    this.closed = true;
    releaseAgent(this.agentKey);
  }

  private headers(body: string | undefined, contentType = 'application/json'): Record<string, string | number> {
    return {
      Accept: 'application/json',
      'User-Agent': 'kubethreads-node/v1.32.0',
      ...(this.connection.token !== undefined ? { Authorization: `Bearer ${this.connection.token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } : {}),
    };
  }

  private url(path: string): URL {
    const prefix = this.base.pathname.replace(/\/$/, '');
    return new URL(prefix + path, this.base);
  }

  private call<T>(method: string, path: string, object?: unknown, contentType?: string): Promise<ApiReply<T>> {
    const body = object === undefined ? undefined : JSON.stringify(object);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (reply: ApiReply<T>, code: string) => {
        if (settled) return;
        settled = true;
        this.metrics?.request(this.base.host, method, code);
        resolve(reply);
      };
      const req = httpsRequest(this.url(path), { method, agent: this.agent, headers: this.headers(body, contentType), timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => settle({ ok: false, status: failure(503, `the API server did not answer: ${error.message}`) }, '<error>'));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 500;
          if (code < 200 || code >= 300) return settle({ ok: false, status: statusOf(code, text) }, String(code));
          try {
            settle({ ok: true, code, body: JSON.parse(text) as T }, String(code));
          } catch {
            settle({ ok: false, status: failure(500, `the API server answered ${method} ${path} with a body that is not JSON`) }, String(code));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (error) => settle({ ok: false, status: failure(503, `the API server did not answer: ${error.message}`) }, '<error>'));
      req.end(body);
    });
  }

  private watch(path: string, idleMs: number, handlers: WatchHandlers<KubeObject>): WatchHandle {
    let over = false;
    // Exactly one of onError / onClose, once, and nothing after stop().
    const finish = (end: (() => void) | undefined) => {
      if (over) return;
      over = true;
      this.openWatches.delete(stop);
      req.destroy();
      end?.();
    };
    const stop = () => finish(undefined);
    const fail = (code: number, message: string, reason?: string) => finish(() => handlers.onError({ code, reason: reason ?? REASONS[code] ?? 'InternalError', message }));
    this.openWatches.add(stop);
    // A watch's socket is its own (no pool): a long-lived stream must not hold one of the shared request sockets.
    const req = httpsRequest(this.url(path), { method: 'GET', agent: false, ...tlsOptions(this.connection), headers: this.headers(undefined), timeout: idleMs }, (res: IncomingMessage) => {
      const code = res.statusCode ?? 500;
      this.metrics?.request(this.base.host, 'WATCH', String(code));
      if (code !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = statusOf(code, Buffer.concat(chunks).toString('utf8'));
          fail(status.code ?? code, status.message ?? '', status.reason);
        });
        res.on('error', (error) => fail(503, error.message));
        return;
      }
      const decoder = new WatchLineDecoder();
      const deliver = (lines: string[]) => {
        for (const line of lines) {
          if (over) return;
          const parsed = parseWatchLine(line);
          if ('failure' in parsed) return fail(parsed.failure.code, parsed.failure.message ?? '', parsed.failure.reason);
          handlers.onEvent(parsed.event);
        }
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        try {
          deliver(decoder.push(chunk));
        } catch (error) {
          fail(500, (error as Error).message);
        }
      });
      res.on('end', () => {
        deliver(decoder.end());
        finish(() => handlers.onClose?.());
      });
      res.on('error', (error) => fail(503, `the watch stream broke: ${error.message}`));
      // Closed without an end (the server or the connection went away): a broken watch, not a finished one.
      res.on('close', () => fail(503, 'the watch stream was cut'));
    });
    req.on('timeout', () => fail(504, `the watch sent nothing for ${idleMs} ms`));
    req.on('error', (error) => fail(503, `the API server did not answer: ${error.message}`));
    req.end();
    return { stop };
  }
}
