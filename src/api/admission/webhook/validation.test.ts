import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusCause } from '../../types/index.js';
import { defaultWebhookConfiguration, validateWebhookConfiguration } from './validation.js';

const good = () => ({
  name: 'guard.example.com', clientConfig: { url: 'https://127.0.0.1:8443/validate' }, sideEffects: 'None', admissionReviewVersions: ['v1'],
  rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
});

test('defaults: failurePolicy Fail, matchPolicy Equivalent, timeoutSeconds 10, empty selectors, scope "*", service port 443', () => {
  const config = { webhooks: [good(), { ...good(), name: 'svc.example.com', clientConfig: { service: { namespace: 'hooks', name: 'guard' } } }] };
  defaultWebhookConfiguration(config, true);
  const [first, second] = config.webhooks as Record<string, unknown>[];
  assert.deepEqual({ ...first, clientConfig: undefined, rules: undefined, name: undefined, sideEffects: undefined, admissionReviewVersions: undefined }, {
    clientConfig: undefined, rules: undefined, name: undefined, sideEffects: undefined, admissionReviewVersions: undefined,
    failurePolicy: 'Fail', matchPolicy: 'Equivalent', namespaceSelector: {}, objectSelector: {}, timeoutSeconds: 10, reinvocationPolicy: 'Never',
  });
  assert.equal((first!.rules as { scope: string }[])[0]!.scope, '*');
  assert.equal((second!.clientConfig as { service: { port: number } }).service.port, 443);
});

test('validation names every bad field as Kubernetes does', () => {
  const causes: StatusCause[] = [];
  validateWebhookConfiguration({
    webhooks: [
      { ...good(), name: 'short', clientConfig: { url: 'http://127.0.0.1/x' }, sideEffects: 'Some', timeoutSeconds: 31 },
      { ...good(), clientConfig: {}, admissionReviewVersions: [], rules: [{ operations: ['PATCH'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] },
      good(),
    ],
  }, false, causes);
  assert.deepEqual(causes.map((c) => `${c.field}: ${c.message}`), [
    'webhooks[0].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
    'webhooks[0].clientConfig.url: Invalid value: "http://127.0.0.1/x": \'https\' is the only allowed URL scheme',
    'webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"',
    'webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds',
    'webhooks[1].clientConfig: Required value: exactly one of url or service is required',
    'webhooks[1].rules[0].operations[0]: Unsupported value: "PATCH": supported values: "*", "CREATE", "UPDATE", "DELETE", "CONNECT"',
    'webhooks[1].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
    'webhooks[2].name: Duplicate value: "guard.example.com"',
  ]);
});
