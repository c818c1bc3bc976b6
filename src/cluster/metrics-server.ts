/**
 * `kubethreads up --metrics-port`: one Prometheus endpoint for the whole
 * cluster. `GET /metrics` gathers every actor's series from its thread over
 * the host's control channel (`ActorSystem.metrics`: the runtime's
 * `kubethreads_actor_*` and each component's own, labelled `component`),
 * so the main thread only answers scrapes and is never on the actors' data
 * path. Plain HTTP on 127.0.0.1, without authentication, as kube-scheduler's
 * and etcd's metrics ports listen on localhost by default.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ActorSystem } from '../actor/index.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/index.js';

export interface MetricsServerOptions {
  system: Pick<ActorSystem, 'metrics'>;
  /** Default 127.0.0.1: the metrics carry no secret but are the cluster's alone. */
  host?: string;
  /** 0: any free port (read it back from `port`). */
  port: number;
}

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const METRICS_HOST_DEFAULT = '127.0.0.1';

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) throw new Error(`the metrics port must be an integer 0..65535, not ${options.port}`);
  const host = options.host ?? METRICS_HOST_DEFAULT;
  const server = createServer((req, res) => void serve(options.system, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${options.port} for metrics: ${error.code ?? error.message}`)));
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { url: `http://${host}:${port}/metrics`, port, close: () => closeServer(server) };
}

async function serve(system: Pick<ActorSystem, 'metrics'>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return answer(res, 404, 'text/plain; charset=utf-8', 'only /metrics is served here\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return answer(res, 405, 'text/plain; charset=utf-8', `${req.method ?? ''} is not allowed on /metrics\n`);
  }
  try {
    const text = await system.metrics();
    answer(res, 200, PROMETHEUS_CONTENT_TYPE, req.method === 'HEAD' ? '' : text);
  } catch (error) {
    answer(res, 500, 'text/plain; charset=utf-8', `gathering the metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function answer(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType });
  res.end(body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A `prometheus.yml` that scrapes the cluster's metrics port, ready for `prometheus --config.file`. */
export function prometheusConfig(port: number, host = METRICS_HOST_DEFAULT, scrapeIntervalS = 5): string {
  return [
    '# Written by `kubethreads up --metrics-port`: scrapes every component of the cluster.',
    '# prometheus --config.file=prometheus.yml   (then http://localhost:9090)',
    'global:',
    `  scrape_interval: ${scrapeIntervalS}s`,
    `  evaluation_interval: ${scrapeIntervalS}s`,
    'scrape_configs:',
    '  - job_name: kubethreads',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ['${host}:${port}']`,
    '',
  ].join('\n');
}
