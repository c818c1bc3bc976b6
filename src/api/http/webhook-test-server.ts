/**
 * An admission webhook for tests and chaos scenarios: an HTTPS server on
 * 127.0.0.1 whose answer per path is set by the caller (allow, deny with a
 * message, patch, answer slowly, answer with an HTTP error) and which keeps
 * every AdmissionReview it received. A real endpoint, so the API server's
 * webhook client, TLS and timeouts are exercised as they are in use.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AdmissionReview } from '../types/index.js';
import type { TlsMaterial } from './tls.js';

export type WebhookBehaviour =
  | { kind: 'allow'; warnings?: string[] }
  | { kind: 'deny'; message: string; code?: number }
  | { kind: 'patch'; ops: unknown[] }
  /** Answers `allowed` after `delayMs` (past the webhook's timeoutSeconds: the API server gives up first). */
  | { kind: 'slow'; delayMs: number }
  /** Answers this HTTP status with no AdmissionReview. */
  | { kind: 'error'; statusCode: number };

export interface WebhookServer {
  /** `https://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** The reviews received, per path, oldest first. */
  reviews: Map<string, AdmissionReview[]>;
  set(path: string, behaviour: WebhookBehaviour): void;
  close(): Promise<void>;
}

export async function startWebhookServer(tls: TlsMaterial, routes: Record<string, WebhookBehaviour>, port = 0): Promise<WebhookServer> {
  const behaviours = new Map(Object.entries(routes));
  const reviews = new Map<string, AdmissionReview[]>();
  const pending = new Set<NodeJS.Timeout>();
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'https://localhost').pathname;
      let review: AdmissionReview;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
      } catch {
        res.writeHead(400).end('not JSON');
        return;
      }
      reviews.set(path, [...(reviews.get(path) ?? []), review]);
      const behaviour = behaviours.get(path) ?? { kind: 'error', statusCode: 404 };
      const uid = review.request?.uid ?? '';
      const reply = (response: NonNullable<AdmissionReview['response']>) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      };
      switch (behaviour.kind) {
        case 'allow': return reply({ uid, allowed: true, ...(behaviour.warnings === undefined ? {} : { warnings: behaviour.warnings }) });
        case 'deny': return reply({ uid, allowed: false, status: { message: behaviour.message, ...(behaviour.code === undefined ? {} : { code: behaviour.code }) } });
        case 'patch': return reply({ uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(behaviour.ops)).toString('base64') });
        case 'slow': {
          const timer = setTimeout(() => {
            pending.delete(timer);
            if (!res.destroyed) reply({ uid, allowed: true });
          }, behaviour.delayMs);
          pending.add(timer);
          return;
        }
        case 'error': return void res.writeHead(behaviour.statusCode).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${bound}`, port: bound, reviews,
    set: (path, behaviour) => void behaviours.set(path, behaviour),
    async close() {
      for (const timer of pending) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
