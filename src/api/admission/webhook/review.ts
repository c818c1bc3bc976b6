/**
 * AdmissionReview v1, both ways: the request a webhook is sent for an
 * admission attribute set, and what its answer means (allowed, denied with
 * a message, a JSONPatch to apply). Pure; errors are ApiErrors carrying the
 * text Kubernetes gives clients.
 */
import { ApiError } from '../../errors.js';
import { isObject, jsonPatch, type Json } from '../../patch.js';
import type { AdmissionReview, StatusReason } from '../../types/index.js';
import type { AdmissionAttributes } from '../types.js';

export function reviewRequest(uid: string, a: AdmissionAttributes): AdmissionReview {
  const { group, version, resource, kind } = a.resource;
  const gvk = { group, version, kind };
  const gvr = { group, version, resource };
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid, kind: gvk, resource: gvr, requestKind: gvk, requestResource: gvr,
      ...(a.subresource === undefined ? {} : { subResource: a.subresource, requestSubResource: a.subresource }),
      ...(a.name === '' ? {} : { name: a.name }),
      ...(a.namespace === undefined ? {} : { namespace: a.namespace }),
      operation: a.operation,
      userInfo: { username: a.userInfo.name, groups: a.userInfo.groups },
      object: a.operation === 'DELETE' ? null : (a.object ?? null),
      oldObject: a.operation === 'CREATE' ? null : (a.oldObject ?? null),
      dryRun: a.dryRun,
      options: optionsOf(a),
    },
  };
}

/** The CreateOptions / UpdateOptions / DeleteOptions Kubernetes sends alongside. */
function optionsOf(a: AdmissionAttributes): Record<string, unknown> {
  const kind = a.operation === 'CREATE' ? 'CreateOptions' : a.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions';
  return { apiVersion: 'meta.k8s.io/v1', kind, ...(a.fieldManager === undefined ? {} : { fieldManager: a.fieldManager }), ...(a.dryRun ? { dryRun: ['All'] } : {}) };
}

export type ReviewVerdict = { allowed: true; patch?: unknown[]; warnings: string[] } | { allowed: false; error: ApiError };

/** Why a webhook's answer could not be used: `failed calling webhook` is the caller's to add. */
export class BadWebhookResponse extends Error {}

/**
 * What the webhook's answer decides. A denial becomes Kubernetes'
 * `admission webhook "NAME" denied the request: MESSAGE` with the webhook's
 * code (403 by default); a malformed answer throws BadWebhookResponse.
 */
export function readReviewResponse(webhookName: string, uid: string, body: unknown, mutating: boolean): ReviewVerdict {
  if (!isObject(body) || body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    throw new BadWebhookResponse('expected response of kind AdmissionReview, version admission.k8s.io/v1');
  }
  const response = body.response;
  if (!isObject(response)) throw new BadWebhookResponse('webhook response was absent');
  if (response.uid !== uid) throw new BadWebhookResponse(`expected response.uid="${uid}", got "${String(response.uid)}"`);
  const warnings = Array.isArray(response.warnings) ? response.warnings.filter((w): w is string => typeof w === 'string') : [];
  if (response.allowed !== true) {
    const status = isObject(response.status) ? response.status : {};
    // As Kubernetes' webhookerrors.ToStatusErr: the message, else the reason, else "without explanation"; 403 unless the webhook said.
    const code = typeof status.code === 'number' && status.code >= 400 && status.code < 600 ? status.code : 403;
    const reason = typeof status.reason === 'string' ? status.reason : '';
    const why = typeof status.message === 'string' && status.message !== '' ? status.message : reason;
    const deniedBy = `admission webhook "${webhookName}" denied the request`;
    const text = why === '' ? `${deniedBy} without explanation` : `${deniedBy}: ${why}`;
    return { allowed: false, error: new ApiError(code, reason as StatusReason, text) };
  }
  if (response.patch === undefined || response.patch === null) return { allowed: true, warnings };
  if (!mutating) throw new BadWebhookResponse('validating webhooks may not return patches');
  if (response.patchType !== 'JSONPatch') throw new BadWebhookResponse(`unsupported patch type "${String(response.patchType)}"`);
  if (typeof response.patch !== 'string') throw new BadWebhookResponse('the patch is not a base64 string');
  let ops: unknown;
  try {
    ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
  } catch {
    throw new BadWebhookResponse('the patch is not base64 JSON');
  }
  if (!Array.isArray(ops)) throw new BadWebhookResponse('the patch is not a JSON patch (an array of operations)');
  return { allowed: true, patch: ops, warnings };
}

/** A webhook's JSONPatch applied to the object; a patch that does not apply is the webhook's fault. */
export function applyWebhookPatch(object: Record<string, unknown>, ops: unknown[]): Record<string, unknown> {
  let patched: Json;
  try {
    patched = jsonPatch(object as Json, ops);
  } catch (error) {
    throw new BadWebhookResponse(`JSON patch could not be applied: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(patched)) throw new BadWebhookResponse('the patched object is not an object');
  return patched;
}

