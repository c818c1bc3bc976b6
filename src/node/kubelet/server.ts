/**
 * The kubelet's HTTPS endpoint (the real kubelet's :10250), for nodes in
 * another process than the API server: `GET /containerLogs/{namespace}/{pod}/{container}`
 * with `follow`, `previous`, `tailLines` and `limitBytes`, which the API
 * server's `pods/log` proxies to, and `/healthz`. The log itself comes from
 * the kubelet's own reads of its runtime, walked by a `PodLogStream`.
 *
 * An I/O edge, loaded only by kubelets that are told to serve (threaded runtime).
 * Like a kubelet run with --anonymous-auth it does not authenticate callers:
 * bind it to an address only the API server reaches.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError } from '../../api/errors.js';
import { POD_LOG_FOLLOW_WAIT_MS, PodLogStream } from '../../api/pod-log.js';
import type { KubeletLogsReply, KubeletLogsRequest } from '../../api/protocol.js';

export interface KubeletServerOptions {
  host: string;
  /** 0: any free port (read it back from `start`). */
  port: number;
  certPem: string;
  keyPem: string;
  nodeName: string;
  /** One read of a container's log, as the API server's actor protocol asks it (`kubelet.logs`). */
  readLog(request: KubeletLogsRequest): Promise<KubeletLogsReply>;
}

/** Query values bounded as the API server bounds them before it calls a kubelet. */
function intParam(params: URLSearchParams, name: string, min: number): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ApiError(400, 'BadRequest', `${name} must be an integer >= ${min}, not ${JSON.stringify(raw)}`);
  return n;
}

function boolParam(params: URLSearchParams, name: string): boolean {
  const raw = params.get(name);
  return raw === '' || raw === 'true' || raw === '1';
}

export class KubeletServer {
  private server: Server | undefined;
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly options: KubeletServerOptions) {}

  /** Listens; resolves with the port bound. */
  start(): Promise<{ port: number }> {
    const server = createServer({ cert: this.options.certPem, key: this.options.keyPem }, (req, res) => {
      this.serve(req, res).catch((error: unknown) => this.fail(res, error));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve({ port: (server.address() as AddressInfo).port });
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const res of this.open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    if (segments.length === 1 && segments[0] === 'healthz') return this.text(res, 200, 'ok');
    if (segments[0] !== 'containerLogs' || segments.length !== 4) return this.text(res, 404, `404 page not found: ${url.pathname}`);
    if (req.method !== 'GET') return this.text(res, 405, `${req.method} is not allowed on ${url.pathname}`);
    const [, namespace, pod, container] = segments as [string, string, string, string];
    const follow = boolParam(url.searchParams, 'follow');
    const tailLines = intParam(url.searchParams, 'tailLines', 0);
    const limitBytes = intParam(url.searchParams, 'limitBytes', 1);
    const stream = new PodLogStream((_node, request) => this.options.readLog(request), this.options.nodeName, {
      namespace, pod, container,
      ...(boolParam(url.searchParams, 'previous') ? { previous: true } : {}),
      ...(tailLines !== undefined ? { tailLines } : {}),
    }, limitBytes);
    // The first read comes before the headers, so a container that is not there is an error code, not an empty 200.
    let chunk = await stream.next(0);
    let closed = false;
    this.open.add(res);
    res.on('close', () => {
      closed = true;
      this.open.delete(res);
    });
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    for (;;) {
      if (chunk.data !== '') res.write(chunk.data);
      if (chunk.complete || closed) break;
      if (!follow && chunk.data === '') break;
      chunk = await stream.next(follow ? POD_LOG_FOLLOW_WAIT_MS : 0);
    }
    res.end();
  }

  private fail(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = error instanceof ApiError ? error.code : 500;
    this.text(res, code, error instanceof Error ? error.message : String(error));
  }

  private text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}
