/**
 * Service account tokens as Kubernetes issues them through TokenRequest:
 * JWTs whose claims name the account (`sub: system:serviceaccount:NS:NAME`,
 * `kubernetes.io.serviceaccount.{name,uid}`), an audience and an expiry.
 * Signed with HMAC-SHA256 over a key the API server keeps (Kubernetes signs
 * with RS256/ES256; a symmetric key made from the actor's seeded random
 * keeps the simulated runtime replayable). Pure: time comes from the caller.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** kube-apiserver's default --service-account-issuer and --api-audiences. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const API_AUDIENCES: readonly string[] = Object.freeze([SERVICE_ACCOUNT_ISSUER]);
/** TokenRequest's default lifetime (one hour) and its minimum (ten minutes), as Kubernetes' validation. */
export const TOKEN_EXPIRATION_SECONDS_DEFAULT = 3600;
export const TOKEN_EXPIRATION_SECONDS_MIN = 600;
/** Kubernetes refuses longer requests: "may not specify a duration larger than 2^32 seconds". */
export const TOKEN_EXPIRATION_SECONDS_MAX = 2 ** 32;
/** A token longer than this is not one of ours: refused before any parsing (bounds the work of a hostile header). */
const TOKEN_CHARS_MAX = 16 * 1024;
/** A signing key shorter than this is a configuration error (HS256 wants at least 256 bits). */
export const SIGNING_KEY_BYTES_MIN = 32;

/** What a token says about who it is for and who holds it. */
export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

export type TokenCheck = { ok: true; claims: ServiceAccountClaims } | { ok: false; reason: string };

/** `system:serviceaccount:<namespace>:<name>`, the user a token authenticates as. */
export function serviceAccountUserName(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The groups of every service account of a namespace, as Kubernetes' serviceaccount.MakeGroupNames. */
export function serviceAccountGroups(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`];
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class ServiceAccountTokens {
  private readonly key: Buffer;
  private readonly keyId: string;

  constructor(signingKey: Uint8Array) {
    if (signingKey.length < SIGNING_KEY_BYTES_MIN) throw new Error(`service account signing key: ${signingKey.length} bytes, at least ${SIGNING_KEY_BYTES_MIN} needed`);
    this.key = Buffer.from(signingKey);
    // Kubernetes' kid is a hash of the public key; here of the key, so a verifier can tell keys apart without learning one.
    this.keyId = createHmac('sha256', this.key).update('kid').digest('base64url').slice(0, 43);
  }

  /** A signed token carrying `claims`. */
  issue(claims: ServiceAccountClaims): string {
    const header = base64url(JSON.stringify({ alg: 'HS256', kid: this.keyId, typ: 'JWT' }));
    const payload = base64url(JSON.stringify(claims));
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  /**
   * The claims of a token this key signed, if it is still valid at `nowMs`
   * for one of `audiences`; otherwise why not (the API server logs the
   * reason and answers 401, telling the client nothing more).
   */
  verify(token: string, nowMs: number, audiences: readonly string[] = API_AUDIENCES): TokenCheck {
    if (token.length > TOKEN_CHARS_MAX) return { ok: false, reason: 'token too long' };
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'not a JWT' };
    const [header, payload, signature] = parts as [string, string, string];
    let head: unknown;
    let claims: unknown;
    try {
      head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed JWT' };
    }
    if (!isRecord(head) || head.alg !== 'HS256') return { ok: false, reason: 'unexpected signing algorithm' };
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid signature' };
    if (!isClaims(claims)) return { ok: false, reason: 'missing service account claims' };
    if (claims.iss !== SERVICE_ACCOUNT_ISSUER) return { ok: false, reason: `unknown issuer ${claims.iss}` };
    const nowSeconds = Math.floor(nowMs / 1000);
    if (claims.exp <= nowSeconds) return { ok: false, reason: 'token has expired' };
    if (claims.nbf > nowSeconds) return { ok: false, reason: 'token not valid yet' };
    if (!claims.aud.some((a) => audiences.includes(a))) return { ok: false, reason: 'token audiences is invalid for the current apiserver' };
    const k = claims['kubernetes.io'];
    if (claims.sub !== serviceAccountUserName(k.namespace, k.serviceaccount.name)) return { ok: false, reason: 'subject does not name the service account' };
    return { ok: true, claims };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isClaims(value: unknown): value is ServiceAccountClaims {
  if (!isRecord(value)) return false;
  const k = value['kubernetes.io'];
  return typeof value.iss === 'string' && typeof value.sub === 'string' && Array.isArray(value.aud) && value.aud.every((a) => typeof a === 'string')
    && typeof value.exp === 'number' && typeof value.nbf === 'number'
    && isRecord(k) && typeof k.namespace === 'string' && isRecord(k.serviceaccount)
    && typeof k.serviceaccount.name === 'string' && typeof k.serviceaccount.uid === 'string';
}
