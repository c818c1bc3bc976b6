import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from '../api/types/index.js';
import { compareIps, isHeadless, podHostname } from './endpoints.js';

const service = (clusterIP?: string): Service => ({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP, selector: { app: 'web' } } });
const pod = (hostname?: string, subdomain?: string, namespace = 'default'): Pod => ({ metadata: { name: 'web-0', namespace }, spec: { containers: [], hostname, subdomain } });

describe('endpoints of headless Services', () => {
  test('an endpoint carries the pod\'s hostname only for the Service its subdomain names, in its namespace', () => {
    assert.equal(podHostname(service('None'), pod('web-0', 'web')), 'web-0');
    assert.equal(podHostname(service('None'), pod('web-0', 'other')), undefined);
    assert.equal(podHostname(service('None'), pod(undefined, 'web')), undefined);
    assert.equal(podHostname(service('None'), pod('web-0', 'web', 'elsewhere')), undefined);
  });

  test('headless means clusterIP None', () => {
    assert.equal(isHeadless(service('None')), true);
    assert.equal(isHeadless(service('10.96.0.10')), false);
    assert.equal(isHeadless(service()), false);
  });
});

describe('endpoint order', () => {
  test('addresses sort in byte order of their IPs, as Kubernetes\' LessEndpointAddress (bytes.Compare), not by locale', () => {
    assert.deepEqual(['10.0.0.9', '10.0.0.10', '10.0.0.1', '10.0.1.0'].sort(compareIps), ['10.0.0.1', '10.0.0.10', '10.0.0.9', '10.0.1.0']);
    // ':' (0x3a) is above the digits and below the letters in byte order; ICU collation puts punctuation before both.
    assert.deepEqual(['fd00::1', 'fd00:1::', 'fd00:a::'].sort(compareIps), ['fd00:1::', 'fd00::1', 'fd00:a::']);
    assert.equal(compareIps('10.0.0.1', '10.0.0.1'), 0);
  });
});
