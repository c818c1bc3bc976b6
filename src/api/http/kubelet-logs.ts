/**
 * The API server's side of `pods/log` for a kubelet in another process: one
 * GET of the kubelet's `/containerLogs/{namespace}/{pod}/{container}`, its
 * text handed on as it arrives. As kube-apiserver without
 * --kubelet-certificate-authority, the kubelet's serving certificate is not
 * verified (each node process makes its own); the connection is still TLS.
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { ApiError, apiErrors } from '../errors.js';
import type { KubeletEndpoint, PodLogQuery, PodLogSource } from '../pod-log.js';

/** How long the kubelet may take to answer at all: a node that is gone must not hold `kubectl logs` for long. */
export const KUBELET_CONNECT_TIMEOUT_MS = 10_000;
/** A log read without follow is bounded: kubectl prints it whole, so it must fit in memory. */
export const KUBELET_LOG_BYTES_MAX = 64 * 1024 * 1024;

/** The query string the kubelet's containerLogs endpoint reads. */
export function containerLogsPath(target: { namespace: string; pod: string; container: string }, query: PodLogQuery): string {
  const params = new URLSearchParams();
  if (query.follow === true) params.set('follow', 'true');
  if (query.previous === true) params.set('previous', 'true');
  if (query.tailLines !== undefined) params.set('tailLines', String(query.tailLines));
  if (query.limitBytes !== undefined) params.set('limitBytes', String(query.limitBytes));
  const search = params.toString();
  return `/containerLogs/${encodeURIComponent(target.namespace)}/${encodeURIComponent(target.pod)}/${encodeURIComponent(target.container)}${search === '' ? '' : `?${search}`}`;
}

/** The kubelet's error answer as the Status the API server returns for it. */
export function kubeletError(code: number, text: string, pod: string): ApiError {
  const message = text.trim() === '' ? `the kubelet answered ${code}` : text.trim().slice(0, 1_000);
  if (code === 404) return apiErrors.notFound('pods', '', pod);
  if (code === 400) return new ApiError(400, 'BadRequest', message);
  return new ApiError(code >= 500 ? code : 500, code === 503 ? 'ServiceUnavailable' : 'InternalError', message);
}

class KubeletLogStream implements PodLogSource {
  private pieces: string[] = [];
  private bytes = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly res: IncomingMessage, private readonly follow: boolean) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.pieces.push(chunk);
      this.bytes += Buffer.byteLength(chunk);
      // Unfollowed reads are buffered whole; past the bound the rest is dropped, as kubectl's own --limit-bytes would.
      if (!this.follow && this.bytes > KUBELET_LOG_BYTES_MAX) res.destroy();
      this.signal();
    });
    const end = () => {
      this.ended = true;
      this.signal();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private waitFor(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
    });
  }

  async next(waitMs: number): Promise<{ data: string; complete: boolean }> {
    // Without follow the answer is read whole first: "no more now" and "no more ever" are the same thing.
    if (!this.follow) while (!this.ended) await this.waitFor(undefined);
    else if (this.pieces.length === 0 && !this.ended && waitMs > 0) await this.waitFor(waitMs);
    const data = this.pieces.join('');
    this.pieces = [];
    return { data, complete: this.ended };
  }

  async readAll(): Promise<string> {
    while (!this.ended) await this.waitFor(undefined);
    return (await this.next(0)).data;
  }

  close(): void {
    this.res.destroy();
  }
}

/** Opens the log at the kubelet; resolves once it answered 200, fails with the kubelet's error otherwise. */
export function openKubeletLog(endpoint: KubeletEndpoint, target: { namespace: string; pod: string; container: string }, query: PodLogQuery): Promise<PodLogSource> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: endpoint.host, port: endpoint.port, method: 'GET', path: containerLogsPath(target, query),
      rejectUnauthorized: false, timeout: KUBELET_CONNECT_TIMEOUT_MS, headers: { Accept: 'text/plain' },
    }, (res) => {
      // Connected and answering: a follow may now be quiet for as long as the container is.
      req.setTimeout(0);
      const code = res.statusCode ?? 500;
      if (code === 200) return resolve(new KubeletLogStream(res, query.follow === true));
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => reject(kubeletError(code, Buffer.concat(chunks).toString('utf8'), target.pod)));
      res.on('error', (error) => reject(apiErrors.unavailable(`the kubelet at ${endpoint.host}:${endpoint.port} broke off: ${error.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${KUBELET_CONNECT_TIMEOUT_MS} ms`)));
    req.on('error', (error) => reject(apiErrors.unavailable(`the kubelet at ${endpoint.host}:${endpoint.port} did not answer: ${error.message}`)));
    req.end();
  });
}
