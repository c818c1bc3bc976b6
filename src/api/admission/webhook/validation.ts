/**
 * Defaulting and validation of ValidatingWebhookConfiguration and
 * MutatingWebhookConfiguration, as Kubernetes' admissionregistration
 * defaults and validation: the field paths and texts are Kubernetes'.
 */
import { isObject } from '../../patch.js';
import type { StatusCause } from '../../types/index.js';

/** Kubernetes' default and bounds of timeoutSeconds. */
export const WEBHOOK_TIMEOUT_SECONDS_DEFAULT = 10;
const WEBHOOK_TIMEOUT_SECONDS_MIN = 1;
const WEBHOOK_TIMEOUT_SECONDS_MAX = 30;
const OPERATIONS = ['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
const SIDE_EFFECTS = ['None', 'NoneOnDryRun'];
const FAILURE_POLICIES = ['Ignore', 'Fail'];
const MATCH_POLICIES = ['Exact', 'Equivalent'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
const REINVOCATION_POLICIES = ['Never', 'IfNeeded'];
/** A webhook name is a fully qualified DNS name with at least three segments. */
const QUALIFIED_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){2,}$/;

const quoted = (values: string[]) => values.map((v) => `"${v}"`).join(', ');

/** Kubernetes' SetDefaults for each webhook of a configuration (in place). */
export function defaultWebhookConfiguration(obj: Record<string, unknown>, mutating: boolean): void {
  if (!Array.isArray(obj.webhooks)) return;
  for (const webhook of obj.webhooks) {
    if (!isObject(webhook)) continue;
    webhook.failurePolicy ??= 'Fail';
    webhook.matchPolicy ??= 'Equivalent';
    webhook.namespaceSelector ??= {};
    webhook.objectSelector ??= {};
    webhook.timeoutSeconds ??= WEBHOOK_TIMEOUT_SECONDS_DEFAULT;
    if (mutating) webhook.reinvocationPolicy ??= 'Never';
    if (isObject(webhook.clientConfig) && isObject(webhook.clientConfig.service)) webhook.clientConfig.service.port ??= 443;
    for (const rule of Array.isArray(webhook.rules) ? webhook.rules : []) if (isObject(rule)) rule.scope ??= '*';
  }
}

export function validateWebhookConfiguration(obj: Record<string, unknown>, mutating: boolean, causes: StatusCause[]): void {
  const webhooks = obj.webhooks ?? [];
  if (!Array.isArray(webhooks)) {
    causes.push({ reason: 'FieldValueInvalid', field: 'webhooks', message: 'Invalid value: must be a list' });
    return;
  }
  const names = new Set<string>();
  webhooks.forEach((webhook, i) => {
    const at = `webhooks[${i}]`;
    if (!isObject(webhook)) {
      causes.push({ reason: 'FieldValueInvalid', field: at, message: 'Invalid value: must be an object' });
      return;
    }
    const name = typeof webhook.name === 'string' ? webhook.name : '';
    if (name === '') causes.push({ reason: 'FieldValueRequired', field: `${at}.name`, message: 'Required value' });
    else if (!QUALIFIED_NAME.test(name)) causes.push({ reason: 'FieldValueInvalid', field: `${at}.name`, message: `Invalid value: "${name}": should be a domain with at least three segments separated by dots` });
    else if (names.has(name)) causes.push({ reason: 'FieldValueDuplicate', field: `${at}.name`, message: `Duplicate value: "${name}"` });
    names.add(name);
    validateClientConfig(webhook.clientConfig, `${at}.clientConfig`, causes);
    const rules = webhook.rules ?? [];
    if (!Array.isArray(rules)) causes.push({ reason: 'FieldValueInvalid', field: `${at}.rules`, message: 'Invalid value: must be a list' });
    else rules.forEach((rule, j) => validateRule(rule, `${at}.rules[${j}]`, causes));
    enumField(webhook.failurePolicy, `${at}.failurePolicy`, FAILURE_POLICIES, causes);
    enumField(webhook.matchPolicy, `${at}.matchPolicy`, MATCH_POLICIES, causes);
    if (mutating) enumField(webhook.reinvocationPolicy, `${at}.reinvocationPolicy`, REINVOCATION_POLICIES, causes);
    if (webhook.sideEffects === undefined) causes.push({ reason: 'FieldValueRequired', field: `${at}.sideEffects`, message: `Required value: must specify one of ${SIDE_EFFECTS.join(', ')}` });
    else enumField(webhook.sideEffects, `${at}.sideEffects`, SIDE_EFFECTS, causes);
    const versions = webhook.admissionReviewVersions;
    if (!Array.isArray(versions) || versions.length === 0) causes.push({ reason: 'FieldValueRequired', field: `${at}.admissionReviewVersions`, message: 'Required value: must specify one of v1, v1beta1' });
    else if (!versions.includes('v1')) causes.push({ reason: 'FieldValueInvalid', field: `${at}.admissionReviewVersions`, message: `Invalid value: ${JSON.stringify(versions)}: must include at least one of v1 (this API server speaks AdmissionReview v1 only)` });
    const timeout = webhook.timeoutSeconds;
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < WEBHOOK_TIMEOUT_SECONDS_MIN || timeout > WEBHOOK_TIMEOUT_SECONDS_MAX)) {
      causes.push({ reason: 'FieldValueInvalid', field: `${at}.timeoutSeconds`, message: `Invalid value: ${JSON.stringify(timeout)}: the timeout value must be between 1 and 30 seconds` });
    }
  });
}

function enumField(value: unknown, field: string, allowed: string[], causes: StatusCause[]): void {
  if (value !== undefined && !allowed.includes(value as string)) causes.push({ reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${quoted(allowed)}` });
}

function validateClientConfig(config: unknown, at: string, causes: StatusCause[]): void {
  if (!isObject(config)) {
    causes.push({ reason: 'FieldValueRequired', field: at, message: 'Required value: exactly one of url or service is required' });
    return;
  }
  const hasUrl = config.url !== undefined && config.url !== null;
  const hasService = config.service !== undefined && config.service !== null;
  if (hasUrl === hasService) {
    causes.push({ reason: 'FieldValueRequired', field: at, message: 'Required value: exactly one of url or service is required' });
    return;
  }
  if (hasUrl) {
    let url: URL | undefined;
    try {
      url = new URL(String(config.url));
    } catch {
      causes.push({ reason: 'FieldValueInvalid', field: `${at}.url`, message: `Invalid value: ${JSON.stringify(config.url)}: host must be specified` });
      return;
    }
    if (url.protocol !== 'https:') causes.push({ reason: 'FieldValueInvalid', field: `${at}.url`, message: `Invalid value: ${JSON.stringify(config.url)}: 'https' is the only allowed URL scheme` });
    if (url.hash !== '' || url.search !== '') causes.push({ reason: 'FieldValueInvalid', field: `${at}.url`, message: `Invalid value: ${JSON.stringify(config.url)}: query and fragment are not permitted` });
  } else {
    const service = config.service;
    if (!isObject(service) || typeof service.name !== 'string' || service.name === '') causes.push({ reason: 'FieldValueRequired', field: `${at}.service.name`, message: 'Required value: service name is required' });
    if (!isObject(service) || typeof service.namespace !== 'string' || service.namespace === '') causes.push({ reason: 'FieldValueRequired', field: `${at}.service.namespace`, message: 'Required value: service namespace is required' });
    const port = isObject(service) ? service.port : undefined;
    if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
      causes.push({ reason: 'FieldValueInvalid', field: `${at}.service.port`, message: `Invalid value: ${JSON.stringify(port)}: port is not valid: must be between 1 and 65535, inclusive` });
    }
  }
  if (config.caBundle !== undefined && (typeof config.caBundle !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(config.caBundle))) {
    causes.push({ reason: 'FieldValueInvalid', field: `${at}.caBundle`, message: 'Invalid value: must be base64-encoded PEM' });
  }
}

function validateRule(rule: unknown, at: string, causes: StatusCause[]): void {
  if (!isObject(rule)) {
    causes.push({ reason: 'FieldValueInvalid', field: at, message: 'Invalid value: must be an object' });
    return;
  }
  for (const field of ['operations', 'apiGroups', 'apiVersions', 'resources']) {
    const list = rule[field];
    if (!Array.isArray(list) || list.length === 0) {
      causes.push({ reason: 'FieldValueRequired', field: `${at}.${field}`, message: 'Required value' });
      continue;
    }
    list.forEach((value, k) => {
      if (typeof value !== 'string' || (value === '' && field !== 'apiGroups')) causes.push({ reason: 'FieldValueRequired', field: `${at}.${field}[${k}]`, message: 'Required value' });
      else if (field === 'operations' && !OPERATIONS.includes(value)) causes.push({ reason: 'FieldValueNotSupported', field: `${at}.${field}[${k}]`, message: `Unsupported value: "${value}": supported values: ${quoted(OPERATIONS)}` });
    });
  }
  enumField(rule.scope, `${at}.scope`, SCOPES, causes);
}
