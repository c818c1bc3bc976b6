/**
 * The kube-proxy actor: informers on Services and EndpointSlices (as
 * Kubernetes' kube-proxy since 1.22: a selectorless Service's Endpoints reach
 * it mirrored into slices by the controller-manager) feed the pure routing table (routing.ts); in the threaded runtime the TCP
 * forwarder listens on every ClusterIP:port and NodePort; in either runtime
 * `proxy.route` picks an endpoint by the same table, so sim workloads can
 * send requests "through the Service" as messages.
 *
 * On one machine every node's proxy would listen on the same ClusterIP:port,
 * and only one socket can hold an address: the first proxy to bind it serves
 * it, the others retry every `listenRetryMs` and take over when it goes (a
 * killed node's thread closes its sockets). NodePorts are served on each
 * node's own IP and, shared the same way, on 127.0.0.1.
 */
import { ClientMetrics } from '../../client/metrics.js';
import { KubeProxyMetrics } from './metrics.js';
import { defineBehaviour, unhandled, type ActorContext, type Message } from '../../actor/index.js';
import type { KubeObject } from '../../api/types/index.js';
import { ActorClock, type ClientTimerMsg } from '../../client/clock.js';
import { Informer } from '../../client/informer.js';
import { ENDPOINT_SLICES, KubeApi, SERVICES, type NodeApi } from '../kubelet/api-client.js';
import { HttpKubeApi, type ApiConnection } from '../kubelet/http-api-client.js';
import { RoundRobin, RoutingTableBuilder, backendId, type Backend, type RoutingTable } from './routing.js';
import type { SimServeReply } from '../runtime/sim/sim-runtime.js';
import type { TcpForwarder } from './tcp-forwarder.js';
import type { EndpointSlice, Service } from './types.js';

export interface KubeProxyArgs {
  nodeName: string;
  zone?: string;
  /** The API server actor (default `apiserver`). */
  apiserver?: string;
  /** Reach the API server over HTTPS instead of actor messages (a node in another process). */
  apiConnection?: ApiConnection;
  /** Run the TCP forwarder (threaded runtime only). */
  forward?: boolean;
  /** The node's own IP: NodePorts listen here (and, shared, on 127.0.0.1). */
  nodeIP?: string;
  /** A change is applied this long after it arrives, so a burst of changes makes one sync (default 50 ms). */
  syncDelayMs?: number;
  /**
   * Syncs run at most this often (Kubernetes' --iptables-min-sync-period, 1 s;
   * default 0: no bound). Changes that arrive sooner wait for the next allowed
   * sync and are applied together, as kube-proxy's bounded-frequency runner does.
   */
  minSyncPeriodMs?: number;
  /** Listeners another node holds are retried this often. */
  listenRetryMs?: number;
  apiAskTimeoutMs?: number;
  /** A node's sim runtime is `${runtimePrefix}${nodeName}` (actors/node.ts names them `runtime-<node>`). */
  runtimePrefix?: string;
  /** How long a request to one endpoint may take before the next is tried. */
  requestTimeoutMs?: number;
}

export type KubeProxyMsg =
  | Message<'proxy.sync', null>
  /** Pick an endpoint of a Service port, as a connection through it would (sim traffic). */
  | Message<'proxy.route', { namespace: string; name: string; port?: string | number; via?: 'cluster' | 'nodePort' }>
  /**
   * Ask: deliver a request through the Service to a sim pod, as a connection
   * through the TCP forwarder would: pick an endpoint, ask its node's runtime
   * (`sim.serve`), and on refusal or silence try another endpoint (at most 3).
   * What service availability under chaos is measured with.
   */
  | Message<'proxy.request', { namespace: string; name: string; port?: string | number; via?: 'cluster' | 'nodePort' }>
  /** The table as plain data, for inspection and tests. */
  | Message<'proxy.table', null>
  | ClientTimerMsg
  | Message<'api.watchEvents' | 'api.watchEnd', never>;

export type ProxyRouteReply = { ok: true; backend: Pick<Backend, 'ip' | 'port' | 'nodeName' | 'podName'>; route: string } | { ok: false; reason: string };

/** Which pod answered a `proxy.request`, after how many tries; or why none did. */
export type ProxyRequestReply = { ok: true; pod: string; ip: string; attempts: number } | { ok: false; reason: string; attempts: number };

/** Endpoints tried per request before it fails, as the TCP forwarder's connect attempts. */
const REQUEST_ATTEMPTS_MAX = 3;
const REQUEST_TIMEOUT_MS_DEFAULT = 1_000;

const SYNC_DELAY_MS_DEFAULT = 50;
const LISTEN_RETRY_MS_DEFAULT = 2_000;

export const kubeProxy = defineBehaviour<KubeProxyMsg, KubeProxyArgs>(import.meta.url, 'kube-proxy', (ctx, args) => {
  const clientMetrics = new ClientMetrics(ctx.name);
  const metrics = new KubeProxyMetrics(clientMetrics.registry);
  const api: NodeApi = args.apiConnection !== undefined
    ? new HttpKubeApi(args.apiConnection, args.apiAskTimeoutMs ?? 10_000, () => ctx.random(), clientMetrics)
    : new KubeApi(ctx as unknown as ActorContext<never>, args.apiserver ?? 'apiserver', args.apiAskTimeoutMs ?? 10_000, clientMetrics);
  const clock = new ActorClock(ctx, undefined, clientMetrics);
  const node = { nodeName: args.nodeName, ...(args.zone !== undefined ? { zone: args.zone } : {}) };
  const informer = <T extends KubeObject>(name: string, lw: ReturnType<typeof api.listWatcher<T>>) => new Informer<T>({ name, listWatcher: lw, clock });
  const services = informer<Service & KubeObject>('services', api.listWatcher(SERVICES));
  const slices = informer<EndpointSlice & KubeObject>('endpointslices', api.listWatcher(ENDPOINT_SLICES));
  const balancer = new RoundRobin();
  const builder = new RoutingTableBuilder(node);
  let table: RoutingTable = builder.build({ services: [] });
  let syncPending = false;
  /** When the last sync ran (undefined: never), for the min-sync-period bound. */
  let lastSyncAtMs: number | undefined;
  const forwarders: { node?: TcpForwarder; loopback?: TcpForwarder } = {};
  const stats = { syncs: 0, listenFailures: 0, routes: 0, forwarders: 0 };
  const failingAddresses = new Set<string>();
  /**
   * Syncs run one after another. `receive` does not wait for one message's
   * promise before the next, and two overlapping syncs would each create a
   * forwarder while the first awaits the module: the first then holds the
   * ports with a table that never changes again (a NodePort that refuses
   * every connection for good), the second retries its binds forever.
   */
  let syncs: Promise<void> = Promise.resolve();
  const syncSerially = (): Promise<void> =>
    (syncs = syncs.then(sync).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'kube-proxy sync failed; retrying');
      requestSync();
    }));

  const requestSync = () => {
    if (syncPending) return;
    syncPending = true;
    const delayMs = args.syncDelayMs ?? SYNC_DELAY_MS_DEFAULT;
    const boundMs = lastSyncAtMs === undefined ? 0 : lastSyncAtMs + (args.minSyncPeriodMs ?? 0) - ctx.now();
    ctx.timer('sync', Math.max(delayMs, boundMs), { type: 'proxy.sync', body: null });
  };
  for (const i of [services, slices] as Informer<KubeObject>[]) {
    i.addEventHandler({ onAdd: requestSync, onUpdate: requestSync, onDelete: requestSync });
    i.start();
  }

  async function sync(): Promise<void> {
    syncPending = false;
    if (!services.hasSynced()) return;
    stats.syncs++;
    const startMs = (lastSyncAtMs = ctx.now());
    table = builder.build({ services: services.store.list(), endpointSlices: slices.store.list() });
    stats.routes = table.routes.size;
    if (args.forward !== true) {
      metrics.synced(startMs, ctx.now());
      return;
    }
    if (forwarders.node === undefined) {
      // Real sockets: loaded only when forwarding (threaded runtime).
      const { TcpForwarder } = await import('./tcp-forwarder.js');
      forwarders.node = new TcpForwarder(args.nodeIP ?? '127.0.0.1');
      stats.forwarders++;
      if (args.nodeIP !== undefined && args.nodeIP !== '127.0.0.1') forwarders.loopback = new TcpForwarder('127.0.0.1');
    }
    const failures = [...(await forwarders.node.sync(table))];
    if (forwarders.loopback !== undefined) {
      // The shared 127.0.0.1 NodePorts only: ClusterIPs are already served by the node forwarder.
      const nodePortsOnly: RoutingTable = { ...table, routes: new Map([...table.routes].map(([k, r]) => [k, { ...r, clusterIP: undefined }])), byClusterAddress: new Map() };
      failures.push(...(await forwarders.loopback.sync(nodePortsOnly)));
    }
    stats.listenFailures = failures.length;
    metrics.synced(startMs, ctx.now());
    for (const f of failures) {
      if (!failingAddresses.has(f.address)) ctx.log.debug({ address: f.address, error: f.error }, 'cannot listen (another node may hold it); will retry');
    }
    failingAddresses.clear();
    for (const f of failures) failingAddresses.add(f.address);
    if (failures.length > 0) ctx.timer('retry', args.listenRetryMs ?? LISTEN_RETRY_MS_DEFAULT, { type: 'proxy.sync', body: null });
  }

  function route(body: { namespace: string; name: string; port?: string | number; via?: 'cluster' | 'nodePort' }): ProxyRouteReply {
    const serviceKey = `${body.namespace}/${body.name}`;
    const candidates = [...table.routes.values()].filter((r) => r.serviceKey === serviceKey);
    const chosen = body.port === undefined ? (candidates.length === 1 ? candidates[0] : undefined) : candidates.find((r) => r.portName === body.port || r.port === body.port);
    if (chosen === undefined) return { ok: false, reason: candidates.length === 0 ? `no service ${serviceKey} on this node's table` : `service ${serviceKey} has ports ${candidates.map((r) => r.portName || r.port).join(', ')}: name one` };
    const backend = balancer.pick(chosen, body.via ?? 'cluster');
    if (backend === undefined) return { ok: false, reason: `service ${serviceKey} has no usable endpoint (tier ${chosen.clusterTier})` };
    return { ok: true, route: chosen.key, backend: { ip: backend.ip, port: backend.port, nodeName: backend.nodeName, podName: backend.podName } };
  }

  async function request(body: { namespace: string; name: string; port?: string | number; via?: 'cluster' | 'nodePort' }): Promise<ProxyRequestReply> {
    const failed = new Set<string>();
    let lastReason = 'no attempt';
    for (let attempt = 1; attempt <= REQUEST_ATTEMPTS_MAX; attempt++) {
      const serviceKey = `${body.namespace}/${body.name}`;
      const candidates = [...table.routes.values()].filter((r) => r.serviceKey === serviceKey);
      const chosen = body.port === undefined ? (candidates.length === 1 ? candidates[0] : undefined) : candidates.find((r) => r.portName === body.port || r.port === body.port);
      if (chosen === undefined) {
        const routed = route(body);
        return { ok: false, reason: routed.ok ? `service ${serviceKey} has no such port` : routed.reason, attempts: attempt - 1 };
      }
      const backend = balancer.pick(chosen, body.via ?? 'cluster', failed);
      if (backend === undefined) return { ok: false, reason: `no usable endpoint left (last: ${lastReason})`, attempts: attempt - 1 };
      try {
        const reply = await ctx.ask<SimServeReply>(`${args.runtimePrefix ?? 'runtime-'}${backend.nodeName ?? ''}`, { type: 'sim.serve', body: { ip: backend.ip } }, { timeoutMs: args.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT });
        if (reply.ok) return { ok: true, pod: reply.pod, ip: backend.ip, attempts: attempt };
        lastReason = reply.reason;
      } catch (error) {
        lastReason = error instanceof Error ? error.message : String(error);
      }
      failed.add(backendId(backend));
    }
    return { ok: false, reason: `${REQUEST_ATTEMPTS_MAX} endpoints failed (last: ${lastReason})`, attempts: REQUEST_ATTEMPTS_MAX };
  }

  return {
    async receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'proxy.sync':
          await syncSerially();
          return undefined;
        case 'proxy.route':
          return route(msg.body);
        case 'proxy.request':
          return request(msg.body);
        case 'proxy.table':
          return [...table.routes.values()].map((r) => ({
            key: r.key, clusterIP: r.clusterIP, port: r.port, nodePort: r.nodePort, tier: r.clusterTier,
            backends: r.clusterBackends.map((b) => `${b.ip}:${b.port}`), all: r.allBackends.length,
          }));
        default:
          return unhandled;
      }
    },
    onStop() {
      for (const i of [services, slices] as Informer<KubeObject>[]) i.stop();
      api.close?.();
      void forwarders.node?.close();
      void forwarders.loopback?.close();
    },
    metrics: () => clientMetrics.text(),
    inspect() {
      return { node: args.nodeName, ...stats, forwarding: args.forward === true, listeners: (forwarders.node?.stats.listeners ?? 0) + (forwarders.loopback?.stats.listeners ?? 0) };
    },
  };
});
