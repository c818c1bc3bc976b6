/**
 * I/O EDGE of kube-proxy: real TCP listeners on each ClusterIP:port and each
 * NodePort (127.0.0.1:30000-32767 by default), forwarding every connection to
 * an endpoint picked round-robin from the routing table. A connection that
 * cannot reach its endpoint is retried on another (up to
 * CONNECT_ATTEMPTS_MAX). Threaded runtime only; the simulated runtime routes
 * messages with the same table instead.
 */
import * as net from 'node:net';
import { RoundRobin, type RoutingTable } from './routing.js';
import { spliceWithRetry } from './tcp-splice.js';

export { CONNECT_ATTEMPTS_MAX, CONNECT_TIMEOUT_MS } from './tcp-splice.js';

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
    spliceWithRetry(client, {
      pick: (_attempt, failed) => {
        const route = this.table.routes.get(binding.routeKey);
        // backendId is `ip:port`, the same key the splice records failures under.
        const backend = route === undefined ? undefined : this.balancer.pick(route, binding.kind, failed);
        return backend === undefined ? undefined : { host: backend.ip, port: backend.port };
      },
      track: (upstream) => {
        this.sockets.add(upstream);
        upstream.on('close', () => this.sockets.delete(upstream));
      },
      onRetry: () => this.stats.retries++,
      onRefused: () => this.stats.refused++,
    });
  }
}
