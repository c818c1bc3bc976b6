/**
 * I/O EDGE — the load balancers' data plane, threaded runtime only. Each
 * listener of each load balancer is a real TCP server on the load
 * balancer's loopback address (127.30.0.0/16 by default) and port; every
 * connection is forwarded to a running target instance's InternalIP at the
 * listener's target port (a Service's NodePort, where kube-proxy listens),
 * round-robin, stepping over a target that refuses. Nothing else in
 * src/cloud opens a socket.
 */
import * as net from 'node:net';
import { spliceWithRetry } from '../../node/proxy/tcp-splice.js';
import type { DataPlaneEntry } from './state.js';

interface Listener {
  server: net.Server;
  entry: DataPlaneEntry;
  next: number;
  /** Its connections, both sides: a deleted load balancer cuts them, as a real one does. */
  sockets: Set<net.Socket>;
}

export class TcpLoadBalancerDataPlane {
  private readonly listeners = new Map<string, Listener>();
  private failures: Array<{ address: string; error: string }> = [];
  connections = 0;

  /** Open what the entries need, close what they no longer name, retarget the rest. Ports below 1024 need privileges. */
  async sync(entries: DataPlaneEntry[]): Promise<void> {
    const wanted = new Map(entries.map((e) => [`${e.address}:${e.port}`, e]));
    for (const [key, listener] of this.listeners) {
      const entry = wanted.get(key);
      if (entry === undefined) {
        listener.server.close();
        for (const socket of listener.sockets) socket.destroy();
        this.listeners.delete(key);
      } else listener.entry = entry;
    }
    const failures: Array<{ address: string; error: string }> = [];
    await Promise.all(
      [...wanted].filter(([key]) => !this.listeners.has(key)).map(async ([key, entry]) => {
        const listener: Listener = { server: net.createServer((socket) => this.accept(socket, listener)), entry, next: 0, sockets: new Set() };
        try {
          await new Promise<void>((resolve, reject) => {
            listener.server.once('error', reject);
            listener.server.listen(entry.port, entry.address, () => {
              listener.server.off('error', reject);
              resolve();
            });
          });
          this.listeners.set(key, listener);
        } catch (error) {
          failures.push({ address: key, error: (error as Error).message });
        }
      }),
    );
    this.failures = failures;
  }

  status(): { listeners: string[]; failures: Array<{ address: string; error: string }>; connections: number } {
    return { listeners: [...this.listeners.keys()].sort(), failures: [...this.failures], connections: this.connections };
  }

  async close(): Promise<void> {
    for (const listener of this.listeners.values()) for (const socket of listener.sockets) socket.destroy();
    await Promise.all([...this.listeners.values()].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.listeners.clear();
  }

  private accept(client: net.Socket, listener: Listener): void {
    this.connections++;
    listener.sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    client.on('close', () => listener.sockets.delete(client));
    this.connect(client, listener);
  }

  private connect(client: net.Socket, listener: Listener): void {
    spliceWithRetry(client, {
      // Round robin over the targets, each tried at most once per connection.
      pick: (attempt) => {
        const backends = listener.entry.backends;
        if (backends.length === 0 || attempt >= backends.length) return undefined;
        return backends[listener.next++ % backends.length];
      },
      track: (upstream) => {
        listener.sockets.add(upstream);
        upstream.on('close', () => listener.sockets.delete(upstream));
      },
    });
  }
}

/**
 * One data plane per cloud actor name and thread: a restarted incarnation
 * (same thread after a crash) takes over its predecessor's listeners instead
 * of failing to bind the same addresses.
 */
const planes = new Map<string, TcpLoadBalancerDataPlane>();

export function acquireDataPlane(owner: string): TcpLoadBalancerDataPlane {
  let plane = planes.get(owner);
  if (plane === undefined) planes.set(owner, (plane = new TcpLoadBalancerDataPlane()));
  return plane;
}

export async function releaseDataPlane(owner: string): Promise<void> {
  const plane = planes.get(owner);
  planes.delete(owner);
  await plane?.close();
}
