/**
 * A node component's view of the API server actor: typed asks whose failures
 * are values (transport errors become a 503 Status), and a `ListWatcher` over
 * `api.list` / `api.watch` so src/client's Informer can drive a watch loop.
 * The owning actor routes `api.watchEvents` / `api.watchEnd` tells to `handle`.
 */
import { restMethod, type ClientMetrics } from '../../client/metrics.js';
import type { ActorContext, Message } from '../../actor/index.js';
import { watchSeqGap, type ApiReply, type ApiServerMsg, type ApiTarget, type ApiWatchMsg } from '../../api/protocol.js';
import type { KubeObject, List, Status } from '../../api/types/index.js';
import type { ListOptions, ListResult, ListWatcher, WatchHandle, WatchHandlers } from '../../client/list-watch.js';

export type Resource = Pick<ApiTarget, 'group' | 'version' | 'resource'>;

export const PODS: Resource = { group: '', version: 'v1', resource: 'pods' };
export const NODES: Resource = { group: '', version: 'v1', resource: 'nodes' };
export const LEASES: Resource = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
export const EVENTS: Resource = { group: '', version: 'v1', resource: 'events' };
export const SERVICES: Resource = { group: '', version: 'v1', resource: 'services' };
export const ENDPOINTS: Resource = { group: '', version: 'v1', resource: 'endpoints' };
export const ENDPOINT_SLICES: Resource = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' };

/** Watches one actor holds at once: a node component needs a handful; more means a leak. */
export const WATCHES_MAX = 64;

function unavailable(error: unknown): { ok: false; status: Status } {
  const message = `the API server did not answer: ${error instanceof Error ? error.message : String(error)}`;
  return { ok: false, status: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 503, message } };
}

export function isApiWatchMsg(msg: Message): msg is ApiWatchMsg {
  return msg.type === 'api.watchEvents' || msg.type === 'api.watchEnd';
}

/**
 * What node components (kubelet, kube-proxy) need of the API server, whatever
 * carries it: actor messages in one process (`KubeApi`), HTTPS from another
 * (`HttpKubeApi`). Failures are values: a Status, 503 when the server did not answer.
 */
export interface NodeApi {
  /** `resourceVersion: '0'`: any version will do, so the API server may answer from its watch cache. */
  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, query?: { resourceVersion: string }): Promise<ApiReply<T>>;
  create<T extends KubeObject>(r: Resource, namespace: string | undefined, object: T): Promise<ApiReply<T>>;
  /** PUT the object, or its `subresource` (status). */
  update<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, object: T, subresource?: string): Promise<ApiReply<T>>;
  /** PATCH the object, or its `subresource`, with a JSON merge patch (RFC 7386): only what the patch names changes. */
  mergePatch<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, patch: Record<string, unknown>, subresource?: string): Promise<ApiReply<T>>;
  delete(r: Resource, namespace: string | undefined, name: string, options: Record<string, unknown>): Promise<ApiReply>;
  listWatcher<T extends KubeObject>(r: Resource, selectors?: { fieldSelector?: string; labelSelector?: string; namespace?: string }): ListWatcher<T>;
  /** Route a message that belongs to this client (actor watch events); false for every other message. */
  handle(msg: Message): boolean;
  /** Drop connections and watches: the component is stopping. */
  close?(): void;
}

export class KubeApi implements NodeApi {
  /** Live watches: their handlers, and the `seq` each one's next message must carry (see ApiWatchMsg). */
  private readonly watches = new Map<string, { handlers: WatchHandlers<KubeObject>; nextSeq: number }>();
  private nextWatch = 1;
  /** Distinguishes this incarnation's watch ids from a crashed one's, whose watches the server may still hold. */
  private readonly incarnation: string;

  /** `metrics`: where rest_client_requests_total counts this component's requests. */
  constructor(private readonly ctx: ActorContext<never>, readonly apiserver: string, private readonly timeoutMs: number, private readonly metrics?: ClientMetrics) {
    this.incarnation = Math.floor(ctx.random() * 0x1_0000_0000).toString(16);
  }

  async ask<T = KubeObject>(msg: ApiServerMsg, timeoutMs = this.timeoutMs): Promise<ApiReply<T>> {
    try {
      const reply = await this.ctx.ask<ApiReply<T>>(this.apiserver, msg, { timeoutMs });
      this.metrics?.request(this.apiserver, restMethod(msg.type), String(reply.ok ? reply.code : reply.status.code ?? 500));
      return reply;
    } catch (error) {
      this.metrics?.request(this.apiserver, restMethod(msg.type), '<error>');
      return unavailable(error);
    }
  }

  /** `resourceVersion: '0'`: any version will do, so the API server may answer from its watch cache. */
  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, query?: { resourceVersion: string }): Promise<ApiReply<T>> {
    return this.ask<T>({ type: 'api.get', body: { ...r, namespace, name, ...(query !== undefined ? { query } : {}) } });
  }

  create<T extends KubeObject>(r: Resource, namespace: string | undefined, object: T): Promise<ApiReply<T>> {
    return this.ask<T>({ type: 'api.create', body: { ...r, namespace, object } });
  }

  update<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, object: T, subresource?: string): Promise<ApiReply<T>> {
    return this.ask<T>({ type: 'api.update', body: { ...r, namespace, name, object, subresource } });
  }

  mergePatch<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, patch: Record<string, unknown>, subresource?: string): Promise<ApiReply<T>> {
    return this.ask<T>({ type: 'api.patch', body: { ...r, namespace, name, patchType: 'merge', patch, subresource } });
  }

  delete(r: Resource, namespace: string | undefined, name: string, options: Record<string, unknown>): Promise<ApiReply> {
    return this.ask({ type: 'api.delete', body: { ...r, namespace, name, options } });
  }

  listWatcher<T extends KubeObject>(r: Resource, selectors: { fieldSelector?: string; labelSelector?: string; namespace?: string } = {}): ListWatcher<T> {
    return {
      list: async (options: ListOptions): Promise<ListResult<T>> => {
        const reply = await this.ask<List<T>>({
          type: 'api.list',
          body: { ...r, namespace: selectors.namespace, query: { fieldSelector: selectors.fieldSelector, labelSelector: selectors.labelSelector, ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}) } },
        });
        if (!reply.ok) throw new Error(`list ${r.resource}: ${reply.status.message ?? reply.status.reason}`);
        return { items: reply.body.items, resourceVersion: reply.body.metadata?.resourceVersion ?? '' };
      },
      watch: (resourceVersion: string, handlers: WatchHandlers<T>): WatchHandle => {
        if (this.watches.size >= WATCHES_MAX) throw new Error(`at most ${WATCHES_MAX} watches per actor; one is leaking`);
        const watchId = `${this.ctx.name}/${this.incarnation}/${this.nextWatch++}`;
        this.watches.set(watchId, { handlers: handlers as unknown as WatchHandlers<KubeObject>, nextSeq: 1 });
        void this.ask({
          type: 'api.watch',
          body: { ...r, namespace: selectors.namespace, watchId, query: { resourceVersion, fieldSelector: selectors.fieldSelector, labelSelector: selectors.labelSelector, allowWatchBookmarks: true } },
        }).then((reply) => {
          if (reply.ok || !this.watches.has(watchId)) return;
          this.watches.delete(watchId);
          handlers.onError({ code: reply.status.code, reason: reply.status.reason, message: reply.status.message });
        });
        return {
          stop: () => {
            if (!this.watches.delete(watchId)) return;
            this.ctx.send(this.apiserver, { type: 'api.unwatch', body: { watchId } } satisfies ApiServerMsg);
          },
        };
      },
    };
  }

  /** Route a watch message; returns false for other messages. */
  handle(msg: Message): boolean {
    if (!isApiWatchMsg(msg)) return false;
    const watch = this.watches.get(msg.body.watchId);
    if (watch === undefined) {
      // A watch we no longer want (stopped, or an earlier incarnation's): tell the server to drop it.
      if (msg.type === 'api.watchEvents') this.ctx.send(this.apiserver, { type: 'api.unwatch', body: { watchId: msg.body.watchId } } satisfies ApiServerMsg);
      return true;
    }
    const handlers = watch.handlers;
    const gap = watchSeqGap(watch.nextSeq, msg.body.seq);
    if (gap !== undefined) {
      // Lost messages: the watch is broken, as a reset stream would be; the informer watches again.
      this.watches.delete(msg.body.watchId);
      this.ctx.send(this.apiserver, { type: 'api.unwatch', body: { watchId: msg.body.watchId } } satisfies ApiServerMsg);
      handlers.onError({ code: 500, reason: 'InternalError', message: gap });
      return true;
    }
    watch.nextSeq++;
    if (msg.type === 'api.watchEnd') {
      this.watches.delete(msg.body.watchId);
      const status = msg.body.status;
      if (status !== undefined && status.code !== 200) handlers.onError({ code: status.code, reason: status.reason, message: status.message });
      else handlers.onClose?.();
      return true;
    }
    for (const event of msg.body.events) {
      if (!this.watches.has(msg.body.watchId)) break;
      if (event.type === 'ERROR') {
        const status = event.object as Status;
        this.watches.delete(msg.body.watchId);
        handlers.onError({ code: status.code, reason: status.reason, message: status.message });
        break;
      }
      handlers.onEvent({ type: event.type, object: event.object as KubeObject });
    }
    return true;
  }
}
