/**
 * The one piece of I/O admission needs: an HTTPS POST of an AdmissionReview
 * to a webhook. Injected, as the pod log reader is: the threaded API server
 * gives the node:https caller (src/api/http/webhook-client.ts); the
 * simulated runtime has none, and a webhook call there fails with a clear
 * error, which the webhook's failurePolicy then judges.
 */

export interface WebhookCall {
  /** `https://host:port/path?timeout=10s`. */
  url: string;
  /** PEM roots that must sign the webhook's certificate; undefined: the system's roots. */
  caPem?: string;
  /** The TLS server name to verify (a service's `NAME.NAMESPACE.svc`); undefined: the URL's host. */
  serverName?: string;
  body: string;
  timeoutMs: number;
}

/** `message` is what follows `failed to call webhook: ` in Kubernetes' error. */
export type WebhookCallResult = { ok: true; statusCode: number; body: string } | { ok: false; message: string };

export type WebhookCaller = (call: WebhookCall) => Promise<WebhookCallResult>;

/** Said when no caller was given (the simulated runtime, handlers without an HTTPS face). */
export const NO_WEBHOOK_CALLER = 'admission webhooks are called over HTTPS, which this API server has not got (the simulated runtime does not support them)';
