import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpsWebhookCaller } from './webhook-client.js';

test('a call the client cannot even make is a failed call with the reason, never a throw', async () => {
  const base = { body: '{}', timeoutMs: 1_000 };
  assert.deepEqual(await httpsWebhookCaller({ ...base, url: 'not a url' }), { ok: false, message: 'Post "not a url": invalid URL' });
  const garbage = await httpsWebhookCaller({ ...base, url: 'https://127.0.0.1:1/x', caPem: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' });
  assert.equal(garbage.ok, false);
  assert.match((garbage as { message: string }).message, /^Post "https:\/\/127\.0\.0\.1:1\/x": /);
});
