import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../errors.js';
import { findResource } from '../../resources.js';
import { BadWebhookResponse, applyWebhookPatch, readReviewResponse, reviewRequest } from './review.js';

const answer = (response: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', ...response } });

test('the request names the resource, the user, the operation and carries the object', () => {
  const review = reviewRequest('u1', {
    operation: 'CREATE', resource: findResource('apps', 'v1', 'deployments')!, namespace: 'team', name: 'web', object: { metadata: { name: 'web' } },
    userInfo: { name: 'alice', groups: ['devs'] }, dryRun: false, fieldManager: 'kubectl',
  });
  assert.deepEqual(review.request?.kind, { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.deepEqual(review.request?.resource, { group: 'apps', version: 'v1', resource: 'deployments' });
  assert.equal(review.request?.operation, 'CREATE');
  assert.deepEqual(review.request?.userInfo, { username: 'alice', groups: ['devs'] });
  assert.equal(review.request?.oldObject, null);
  assert.deepEqual(review.request?.options, { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'kubectl' });
});

test('a denial carries Kubernetes\' text and the webhook\'s code, 403 by default', () => {
  const denied = readReviewResponse('deny.example.com', 'u1', answer({ allowed: false, status: { message: 'no latest tags' } }), false);
  assert.equal(denied.allowed, false);
  const error = (denied as { error: ApiError }).error;
  assert.equal(error.code, 403);
  assert.equal(error.message, 'admission webhook "deny.example.com" denied the request: no latest tags');
  const coded = readReviewResponse('deny.example.com', 'u1', answer({ allowed: false, status: { code: 422, reason: 'Invalid' } }), false) as { error: ApiError };
  assert.equal(coded.error.code, 422);
  assert.equal(coded.error.message, 'admission webhook "deny.example.com" denied the request: Invalid');
  const bare = readReviewResponse('deny.example.com', 'u1', answer({ allowed: false }), false) as { error: ApiError };
  assert.equal(bare.error.message, 'admission webhook "deny.example.com" denied the request without explanation');
});

test('a mutating webhook\'s JSONPatch is decoded and applies to the object', () => {
  const ops = [{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }];
  const verdict = readReviewResponse('m.example.com', 'u1', answer({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') }), true);
  assert.ok(verdict.allowed && verdict.patch !== undefined);
  assert.deepEqual(applyWebhookPatch({ metadata: { name: 'x' } }, verdict.patch), { metadata: { name: 'x', labels: { mutated: 'yes' } } });
});

test('answers that cannot be used are BadWebhookResponse: wrong kind or uid, a patch from a validating webhook, a patch that does not apply', () => {
  const bad = (f: () => unknown, message: RegExp) => assert.throws(f, (e: unknown) => e instanceof BadWebhookResponse && message.test(e.message));
  bad(() => readReviewResponse('w', 'u1', { kind: 'Status' }, false), /expected response of kind AdmissionReview/);
  bad(() => readReviewResponse('w', 'u1', answer({ uid: 'other', allowed: true }), false), /expected response.uid="u1", got "other"/);
  bad(() => readReviewResponse('w', 'u1', answer({ allowed: true, patchType: 'JSONPatch', patch: 'W10=' }), false), /validating webhooks may not return patches/);
  bad(() => readReviewResponse('w', 'u1', answer({ allowed: true, patchType: 'Merge', patch: 'W10=' }), true), /unsupported patch type "Merge"/);
  bad(() => applyWebhookPatch({}, [{ op: 'remove', path: '/spec/missing' }]), /JSON patch could not be applied/);
});
