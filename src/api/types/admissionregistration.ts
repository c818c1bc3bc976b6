/** admissionregistration.k8s.io/v1: the webhook configurations and the AdmissionReview sent to webhooks. */
import type { KubeObject, LabelSelector } from './meta.js';

export type WebhookOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | '*';

/** Which requests a webhook sees: every list is OR'ed within, AND'ed across (Kubernetes' RuleWithOperations). */
export interface RuleWithOperations {
  operations?: WebhookOperation[];
  apiGroups?: string[];
  apiVersions?: string[];
  /** `pods`, `pods/status`, `*` (every resource, no subresource), `*\/*`, `pods/*`, `*\/scale`. */
  resources?: string[];
  scope?: '*' | 'Cluster' | 'Namespaced';
}

export interface WebhookClientConfig {
  /** `https://host:port/path`; exactly one of url and service. */
  url?: string;
  service?: { namespace: string; name: string; path?: string; port?: number };
  /** PEM CA bundle, base64, that signs the webhook's serving certificate. */
  caBundle?: string;
}

export interface ValidatingWebhook {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: 'Ignore' | 'Fail';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects: 'None' | 'NoneOnDryRun' | 'Some' | 'Unknown';
  timeoutSeconds?: number;
  admissionReviewVersions: string[];
}

export interface MutatingWebhook extends ValidatingWebhook {
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}

export interface ValidatingWebhookConfiguration extends KubeObject {
  apiVersion?: 'admissionregistration.k8s.io/v1';
  kind?: 'ValidatingWebhookConfiguration';
  webhooks?: ValidatingWebhook[];
}

export interface MutatingWebhookConfiguration extends KubeObject {
  apiVersion?: 'admissionregistration.k8s.io/v1';
  kind?: 'MutatingWebhookConfiguration';
  webhooks?: MutatingWebhook[];
}

/** admission.k8s.io/v1 AdmissionReview: `request` to the webhook, `response` back. */
export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: {
    uid: string;
    kind: { group: string; version: string; kind: string };
    resource: { group: string; version: string; resource: string };
    subResource?: string;
    requestKind: { group: string; version: string; kind: string };
    requestResource: { group: string; version: string; resource: string };
    requestSubResource?: string;
    name?: string;
    namespace?: string;
    operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    userInfo: { username: string; groups: string[] };
    object: unknown;
    oldObject: unknown;
    dryRun: boolean;
    options: unknown;
  };
  response?: {
    uid: string;
    allowed: boolean;
    status?: { code?: number; message?: string; reason?: string };
    patch?: string;
    patchType?: 'JSONPatch';
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
}
