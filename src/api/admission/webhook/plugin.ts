/**
 * MutatingAdmissionWebhook and ValidatingAdmissionWebhook: the webhooks of
 * the stored configurations (from the watch caches, in configuration name
 * order) that match a request are called with an AdmissionReview v1.
 * Mutating webhooks run one after the other, each seeing the previous
 * one's JSONPatch applied; validating webhooks run in parallel. A webhook
 * that cannot be called (down, slow past its timeoutSeconds, a bad answer)
 * fails the request with 500 `failed calling webhook` under failurePolicy
 * Fail, and is passed over under Ignore.
 */
import { ApiError, apiErrors } from '../../errors.js';
import type { ResourceInfo } from '../../resources.js';
import type { KubeObject, MutatingWebhook, MutatingWebhookConfiguration, Namespace, Service, Endpoints, ValidatingWebhook } from '../../types/index.js';
import type { AdmissionContext } from '../context.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from '../types.js';
import { NO_WEBHOOK_CALLER, type WebhookCaller } from './caller.js';
import { webhookMatches, ruleMatches } from './matching.js';
import { BadWebhookResponse, applyWebhookPatch, readReviewResponse, reviewRequest } from './review.js';
import { WEBHOOK_TIMEOUT_SECONDS_DEFAULT } from './validation.js';

const ADMISSIONREGISTRATION_GROUP = 'admissionregistration.k8s.io';
/** Webhook answers beyond this are not read (a runaway webhook must not fill the API server's memory). */
export const WEBHOOK_RESPONSE_BYTES_MAX = 3 * 1024 * 1024;

type Kind = 'mutating' | 'validating';

export interface WebhookPluginOptions {
  context: AdmissionContext;
  /** The HTTPS call (or its message-level stand-in); undefined: webhooks cannot be called here. */
  caller: WebhookCaller | undefined;
  /** For AdmissionReview uids: the actor's seeded random source. */
  random(): number;
}

export class WebhookAdmission implements AdmissionPlugin {
  readonly name: string;

  constructor(private readonly kind: Kind, private readonly options: WebhookPluginOptions) {
    this.name = kind === 'mutating' ? 'MutatingAdmissionWebhook' : 'ValidatingAdmissionWebhook';
  }

  handles(operation: Operation): boolean {
    return operation !== 'CONNECT';
  }

  /** A patch some webhook's rules match is admitted with its patched object. */
  wantsObject(a: AdmissionAttributes): boolean {
    return this.candidates(a).length > 0;
  }

  // Not async: without a matching webhook (the common case) a write passes without a promise (see the chain).
  admit(a: AdmissionAttributes): Promise<void> | undefined {
    return this.kind === 'mutating' ? this.dispatch(a) : undefined;
  }

  validate(a: AdmissionAttributes): Promise<void> | undefined {
    return this.kind === 'validating' ? this.dispatch(a) : undefined;
  }

  /** The webhooks whose rules match (selectors are judged later, once the old object is known). */
  private candidates(a: AdmissionAttributes): ValidatingWebhook[] {
    // Webhook configurations are never subject to webhooks: a broken webhook must stay removable.
    if (a.resource.group === ADMISSIONREGISTRATION_GROUP) return [];
    const { context } = this.options;
    const info = context.info(ADMISSIONREGISTRATION_GROUP, 'v1', this.kind === 'mutating' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations');
    // Every write asks: without configurations (the common case) that must cost nothing.
    const cache = context.cache(info);
    if (cache.objectCount === 0) return [];
    const configurations = [...cache.objectsUnordered()] as MutatingWebhookConfiguration[];
    const sorted = [...configurations].sort((x, y) => ((x.metadata.name ?? '') < (y.metadata.name ?? '') ? -1 : 1));
    return sorted.flatMap((c) => c.webhooks ?? []).filter((w) => (w.rules ?? []).some((rule) => ruleMatches(rule, a)));
  }

  private dispatch(a: AdmissionAttributes): Promise<void> | undefined {
    const candidates = this.candidates(a);
    return candidates.length === 0 ? undefined : this.dispatchTo(candidates, a);
  }

  private async dispatchTo(candidates: ValidatingWebhook[], a: AdmissionAttributes): Promise<void> {
    if ((a.operation === 'UPDATE' || a.operation === 'DELETE') && a.oldObject === undefined) a.oldObject = await this.stored(a.resource, a.namespace, a.name);
    const namespaceLabels = a.resource.namespaced && a.namespace !== undefined ? await this.namespaceLabels(a.namespace) : undefined;
    const matched = candidates.filter((w) => webhookMatches(w, a, namespaceLabels));
    if (this.kind === 'mutating') {
      for (const webhook of matched) await this.call(webhook as MutatingWebhook, a);
      return;
    }
    // Validating webhooks cannot change anything, so Kubernetes calls them in parallel; the first refusal in order wins.
    const outcomes = await Promise.all(matched.map((w) => this.call(w, a).then(() => undefined, (error: unknown) => error)));
    const refusal = outcomes.find((o) => o !== undefined);
    if (refusal !== undefined) throw refusal;
  }

  /** One webhook call: the request, the answer, and failurePolicy on a failure to call. */
  private async call(webhook: ValidatingWebhook, a: AdmissionAttributes): Promise<void> {
    if (a.dryRun && webhook.sideEffects !== 'None' && webhook.sideEffects !== 'NoneOnDryRun') {
      throw apiErrors.badRequest(`admission webhook "${webhook.name}" does not support dry run`);
    }
    const uid = this.uid();
    const failed = (message: string): void => {
      if (webhook.failurePolicy === 'Ignore') return;
      throw apiErrors.internal(`failed calling webhook "${webhook.name}": ${message}`);
    };
    const caller = this.options.caller;
    if (caller === undefined) return failed(NO_WEBHOOK_CALLER);
    const timeoutSeconds = webhook.timeoutSeconds ?? WEBHOOK_TIMEOUT_SECONDS_DEFAULT;
    let endpoint: { url: string; serverName?: string };
    try {
      endpoint = await this.endpoint(webhook, timeoutSeconds);
    } catch (error) {
      return failed(`failed to call webhook: ${error instanceof Error ? error.message : String(error)}`);
    }
    const caPem = webhook.clientConfig.caBundle ? Buffer.from(webhook.clientConfig.caBundle, 'base64').toString('utf8') : undefined;
    const result = await caller({ url: endpoint.url, serverName: endpoint.serverName, caPem, body: JSON.stringify(reviewRequest(uid, a)), timeoutMs: timeoutSeconds * 1000 });
    if (!result.ok) return failed(`failed to call webhook: ${result.message}`);
    if (result.statusCode < 200 || result.statusCode >= 300) return failed(`received invalid webhook response: the server responded with the status code ${result.statusCode}`);
    try {
      const verdict = readReviewResponse(webhook.name, uid, parseJson(result.body), this.kind === 'mutating');
      if (!verdict.allowed) throw verdict.error;
      if (verdict.warnings.length > 0) (a.warnings ??= []).push(...verdict.warnings);
      if (verdict.patch !== undefined && a.object !== undefined) a.object = applyWebhookPatch(a.object, verdict.patch);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error instanceof BadWebhookResponse) return failed(`received invalid webhook response: ${error.message}`);
      throw error;
    }
  }

  /**
   * Where to POST: the configured url, or a ready endpoint of the
   * configured service (its first address, at the target of the service
   * port), verified as `NAME.NAMESPACE.svc` as Kubernetes does.
   */
  private async endpoint(webhook: ValidatingWebhook, timeoutSeconds: number): Promise<{ url: string; serverName?: string }> {
    const config = webhook.clientConfig;
    const withTimeout = (url: string) => `${url}${url.includes('?') ? '&' : '?'}timeout=${timeoutSeconds}s`;
    if (config.url !== undefined) return { url: withTimeout(config.url) };
    const ref = config.service!;
    const servicePort = ref.port ?? 443;
    const { context } = this.options;
    const service = (await this.stored(context.info('', 'v1', 'services'), ref.namespace, ref.name)) as Service | undefined;
    if (service === undefined) throw new Error(`service "${ref.name}" not found`);
    const port = (service.spec?.ports ?? []).find((p) => p.port === servicePort);
    if (port === undefined) throw new Error(`service ${ref.namespace}/${ref.name} has no port ${servicePort}`);
    const endpoints = (await this.stored(context.info('', 'v1', 'endpoints'), ref.namespace, ref.name)) as Endpoints | undefined;
    for (const subset of endpoints?.subsets ?? []) {
      const target = (subset.ports ?? []).find((p) => (port.name ?? '') === (p.name ?? '')) ?? (subset.ports?.length === 1 ? subset.ports[0] : undefined);
      const address = subset.addresses?.[0]?.ip;
      if (target !== undefined && address !== undefined) {
        return { url: withTimeout(`https://${address}:${target.port}${ref.path ?? ''}`), serverName: `${ref.name}.${ref.namespace}.svc` };
      }
    }
    throw new Error(`service ${ref.namespace}/${ref.name} has no ready endpoints`);
  }

  private async namespaceLabels(namespace: string): Promise<Record<string, string>> {
    const ns = (await this.stored(this.options.context.info('', 'v1', 'namespaces'), undefined, namespace)) as Namespace | undefined;
    return ns?.metadata.labels ?? {};
  }

  /** From the watch cache, or the store when the cache does not show it yet. */
  private async stored(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    if (name === '') return undefined;
    return this.options.context.lookup(info, namespace, name);
  }

  private uid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.options.random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadWebhookResponse('the answer is not JSON');
  }
}
