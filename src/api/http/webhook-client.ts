/**
 * The API server's HTTPS client for admission webhooks (an I/O edge, like
 * the server itself: node:https and a node timer for the call's deadline).
 * Errors read as Go's do in Kubernetes' messages (`Post "URL": dial tcp
 * ADDR: connect: connection refused`, `context deadline exceeded`), so
 * what kubectl prints matches a real cluster.
 */
import { request as httpsRequest } from 'node:https';
import type { WebhookCall, WebhookCallResult, WebhookCaller } from '../admission/webhook/caller.js';
import { WEBHOOK_RESPONSE_BYTES_MAX } from '../admission/webhook/plugin.js';

export const httpsWebhookCaller: WebhookCaller = (call: WebhookCall) => new Promise<WebhookCallResult>((resolve) => {
  let settled = false;
  let deadline: NodeJS.Timeout | undefined;
  const finish = (result: WebhookCallResult) => {
    if (settled) return;
    settled = true;
    clearTimeout(deadline);
    resolve(result);
  };
  const post = `Post "${call.url}"`;
  let url: URL;
  try {
    url = new URL(call.url);
  } catch {
    finish({ ok: false, message: `${post}: invalid URL` });
    return;
  }
  const options = {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(call.body) },
    ...(call.caPem === undefined ? {} : { ca: call.caPem }),
    ...(call.serverName === undefined ? {} : { servername: call.serverName }),
    // Each call its own connection: a webhook that went down must not be reached through a pooled socket.
    agent: false as const,
  };
  let req: ReturnType<typeof httpsRequest>;
  try {
    req = httpsRequest(url, options, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > WEBHOOK_RESPONSE_BYTES_MAX) {
          finish({ ok: false, message: `${post}: the webhook's answer is over ${WEBHOOK_RESPONSE_BYTES_MAX} bytes` });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish({ ok: true, statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => finish({ ok: false, message: `${post}: ${error.message}` }));
    });
  } catch (error) {
    // A caBundle node cannot read fails here, before any socket: the webhook's failure, not the server's.
    finish({ ok: false, message: `${post}: ${error instanceof Error ? error.message : String(error)}` });
    return;
  }
  deadline = setTimeout(() => {
    finish({ ok: false, message: `${post}: context deadline exceeded` });
    req.destroy();
  }, call.timeoutMs);
  req.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, message: `${post}: ${goError(error, url)}` }));
  req.end(call.body);
});

/** Node's socket errors in the words of Go's net package, which Kubernetes' messages carry. */
function goError(error: NodeJS.ErrnoException, url: URL): string {
  const address = `${url.hostname}:${url.port || '443'}`;
  switch (error.code) {
    case 'ECONNREFUSED': return `dial tcp ${address}: connect: connection refused`;
    case 'ECONNRESET': return `read tcp ${address}: read: connection reset by peer`;
    case 'ENOTFOUND': return `dial tcp: lookup ${url.hostname}: no such host`;
    default: return error.message.startsWith('unable to verify') || error.code?.startsWith('ERR_TLS') || error.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || error.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || error.code === 'SELF_SIGNED_CERT_IN_CHAIN'
      ? `tls: failed to verify certificate: x509: certificate signed by unknown authority (${error.message})`
      : error.message;
  }
}
