import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_AUDIENCES, SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens, type ServiceAccountClaims } from './token.js';

const KEY = Buffer.alloc(32, 7);
const NOW_MS = Date.UTC(2026, 0, 1);
const nowSeconds = NOW_MS / 1000;

function claims(extra: Partial<ServiceAccountClaims> = {}): ServiceAccountClaims {
  return {
    iss: SERVICE_ACCOUNT_ISSUER, sub: 'system:serviceaccount:team:robot', aud: [...API_AUDIENCES],
    exp: nowSeconds + 3600, iat: nowSeconds, nbf: nowSeconds, jti: 'j',
    'kubernetes.io': { namespace: 'team', serviceaccount: { name: 'robot', uid: 'u-1' } },
    ...extra,
  };
}

test('a token verifies with the key that signed it, and names its account', () => {
  const tokens = new ServiceAccountTokens(KEY);
  const check = tokens.verify(tokens.issue(claims()), NOW_MS);
  assert.ok(check.ok);
  assert.equal(check.claims['kubernetes.io'].serviceaccount.uid, 'u-1');
});

test('a token is refused once expired, for another audience, under another key, or with a changed payload', () => {
  const tokens = new ServiceAccountTokens(KEY);
  const token = tokens.issue(claims());
  assert.deepEqual(tokens.verify(token, NOW_MS + 3600_000), { ok: false, reason: 'token has expired' });
  assert.deepEqual(tokens.verify(tokens.issue(claims({ aud: ['vault'] })), NOW_MS), { ok: false, reason: 'token audiences is invalid for the current apiserver' });
  assert.deepEqual(new ServiceAccountTokens(Buffer.alloc(32, 8)).verify(token, NOW_MS), { ok: false, reason: 'invalid signature' });
  const [header, , signature] = token.split('.');
  const forged = Buffer.from(JSON.stringify(claims({ sub: 'system:serviceaccount:kube-system:admin' }))).toString('base64url');
  assert.deepEqual(tokens.verify(`${header}.${forged}.${signature}`, NOW_MS), { ok: false, reason: 'invalid signature' });
});

test('garbage is refused with a reason, never a throw', () => {
  const tokens = new ServiceAccountTokens(KEY);
  for (const bad of ['', 'a.b', 'a.b.c', '!!.??.**', 'x'.repeat(20_000)]) assert.equal(tokens.verify(bad, NOW_MS).ok, false, bad.slice(0, 10));
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
  assert.deepEqual(tokens.verify(unsigned, NOW_MS), { ok: false, reason: 'unexpected signing algorithm' });
});

test('a signing key shorter than 256 bits is a configuration error', () => {
  assert.throws(() => new ServiceAccountTokens(Buffer.alloc(16)), /at least 32 needed/);
});
