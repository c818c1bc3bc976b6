/**
 * I/O EDGE of kube-proxy: real TCP listeners on each ClusterIP:port and each
 * NodePort (127.0.0.1:30000-32767 by default), forwarding every connection to
 * an endpoint picked round-robin from the routing table. A connection that
 * cannot reach its endpoint is retried on another (up to
 * CONNECT_ATTEMPTS_MAX). Threaded runtime only; the simulated runtime routes
 * messages with the same table instead.
 */
import * as net from 'node:net';
import { RoundRobin, backendId, type RoutingTable } from './routing.js';

/** Endpoints one connection tries before it is refused: enough to step over a dead pod or two without stalling the client long. */
export const CONNECT_ATTEMPTS_MAX = 3;
/** An endpoint that has not accepted within this long counts as failed (a paused or partitioned pod). */
export const CONNECT_TIMEOUT_MS = 2_000;

interface Binding {
  routeKey: string;
  kind: 'cluster' | 'nodePort';
}

export interface ForwarderStats {
  listeners: number;
  connections: number;
  retries: number;
  refused: number;
}

export class TcpForwarder {
  private table: RoutingTable = { routes: new Map(), byClusterAddress: new Map(), byNodePort: new Map() };
  private readonly balancer = new RoundRobin();
  private readonly listeners = new Map<string, { server: net.Server; binding: Binding }>();
  private readonly sockets = new Set<net.Socket>();
  readonly stats: ForwarderStats = { listeners: 0, connections: 0, retries: 0, refused: 0 };

  constructor(private readonly nodePortAddress = '127.0.0.1') {}

  /** Adopt a new table: open listeners it needs, close those it no longer names. Returns the addresses that failed to listen. */
  async sync(table: RoutingTable): Promise<{ address: string; error: string }[]> {
    this.table = table;
    const wanted = new Map<string, Binding>();
    for (const route of table.routes.values()) {
      if (route.protocol !== 'TCP') continue;
      if (route.clusterIP !== undefined) wanted.set(`${route.clusterIP}:${route.port}`, { routeKey: route.key, kind: 'cluster' });
      if (route.nodePort !== undefined) wanted.set(`${this.nodePortAddress}:${route.nodePort}`, { routeKey: route.key, kind: 'nodePort' });
    }
    for (const [address, listener] of this.listeners) {
      const binding = wanted.get(address);
      if (binding === undefined) {
        listener.server.close();
        this.listeners.delete(address);
      } else listener.binding = binding;
    }
    const failures: { address: string; error: string }[] = [];
    await Promise.all(
      [...wanted].filter(([address]) => !this.listeners.has(address)).map(async ([address, binding]) => {
        const separator = address.lastIndexOf(':');
        const host = address.slice(0, separator);
        const port = Number(address.slice(separator + 1));
        const entry = { server: net.createServer((socket) => this.accept(socket, entry.binding)), binding };
        try {
          await new Promise<void>((resolve, reject) => {
            entry.server.once('error', reject);
            entry.server.listen(port, host, () => {
              entry.server.off('error', reject);
              resolve();
            });
          });
          this.listeners.set(address, entry);
        } catch (error) {
          failures.push({ address, error: (error as Error).message });
        }
      }),
    );
    this.stats.listeners = this.listeners.size;
    return failures;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([...this.listeners.values()].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.listeners.clear();
  }

  private accept(client: net.Socket, binding: Binding): void {
    this.stats.connections++;
    this.sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.on('close', () => this.sockets.delete(client));
    this.connect(client, binding, new Set(), 0);
  }

  private connect(client: net.Socket, binding: Binding, failed: Set<string>, attempt: number): void {
    const route = this.table.routes.get(binding.routeKey);
    const backend = route === undefined || attempt >= CONNECT_ATTEMPTS_MAX ? undefined : this.balancer.pick(route, binding.kind, failed);
    if (backend === undefined) {
      this.stats.refused++;
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: backend.ip, port: backend.port });
    upstream.setTimeout(CONNECT_TIMEOUT_MS);
    const retry = (): void => {
      upstream.destroy();
      failed.add(backendId(backend));
      this.stats.retries++;
      this.connect(client, binding, failed, attempt + 1);
    };
    upstream.once('timeout', retry);
    upstream.once('error', retry);
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      upstream.removeListener('timeout', retry);
      upstream.removeListener('error', retry);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.end());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
