/**
 * I/O EDGE: join an accepted client connection to a backend, stepping over
 * backends that refuse or do not accept in time, then pipe both ways. Shared
 * by kube-proxy's forwarder and the simulated cloud's load balancers, which
 * differ only in how they pick the next backend.
 */
import * as net from 'node:net';

/** Backends one connection tries before it is refused: enough to step over a dead pod or node or two without stalling the client long. */
export const CONNECT_ATTEMPTS_MAX = 3;
/** A backend that has not accepted within this long counts as failed (a paused, stopped or partitioned one). */
export const CONNECT_TIMEOUT_MS = 2_000;

export interface SpliceTarget {
  host: string;
  port: number;
}

export interface SpliceOptions {
  /** The backend for this attempt (0-based), or undefined to refuse the client. `failed` holds `host:port` of those that failed. */
  pick(attempt: number, failed: ReadonlySet<string>): SpliceTarget | undefined;
  /** Every upstream socket, so its owner can cut it (a deleted listener cuts its connections). */
  track(upstream: net.Socket): void;
  onRetry?(): void;
  onRefused?(): void;
}

/** The client should be paused (`client.pause()`) until this resumes it on a connected upstream. */
export function spliceWithRetry(client: net.Socket, options: SpliceOptions, attempt = 0, failed: Set<string> = new Set()): void {
  const target = attempt >= CONNECT_ATTEMPTS_MAX ? undefined : options.pick(attempt, failed);
  if (target === undefined) {
    options.onRefused?.();
    client.destroy();
    return;
  }
  const upstream = net.connect({ host: target.host, port: target.port });
  upstream.setTimeout(CONNECT_TIMEOUT_MS);
  const retry = (): void => {
    upstream.destroy();
    failed.add(`${target.host}:${target.port}`);
    options.onRetry?.();
    spliceWithRetry(client, options, attempt + 1, failed);
  };
  upstream.once('timeout', retry);
  upstream.once('error', retry);
  upstream.once('connect', () => {
    upstream.setTimeout(0);
    upstream.removeListener('timeout', retry);
    upstream.removeListener('error', retry);
    options.track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.end());
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
}
