/**
 * TokenRequest (`POST .../serviceaccounts/<name>/token`, what `kubectl create
 * token` sends): checks the request as Kubernetes' validation does, finds
 * the account and the object the token is bound to, and answers the
 * TokenRequest with `status.token` and `status.expirationTimestamp`.
 */
import { apiErrors } from '../errors.js';
import { isObject } from '../patch.js';
import type { KubeObject, ServiceAccount, StatusCause, TokenRequest } from '../types/index.js';
import {
  API_AUDIENCES, SERVICE_ACCOUNT_ISSUER, TOKEN_EXPIRATION_SECONDS_DEFAULT, TOKEN_EXPIRATION_SECONDS_MAX, TOKEN_EXPIRATION_SECONDS_MIN,
  serviceAccountUserName, type ServiceAccountClaims, type ServiceAccountTokens,
} from './token.js';

const AUTHENTICATION_GROUP = 'authentication.k8s.io';
/** The kinds a token may be bound to (Kubernetes 1.32: Pod, Secret, and Node with its feature gate on by default). */
const BINDABLE_KINDS = ['Pod', 'Secret', 'Node'] as const;
type BindableKind = (typeof BINDABLE_KINDS)[number];

/** Where the request's account and bound object are looked up. */
export interface TokenRequestSource {
  serviceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>;
  /** A Pod or Secret in `namespace`, or a Node (cluster-scoped). */
  boundObject(kind: BindableKind, namespace: string, name: string): Promise<KubeObject | undefined>;
  now(): number;
  random(): number;
}

export async function requestToken(tokens: ServiceAccountTokens, source: TokenRequestSource, namespace: string, name: string, body: unknown): Promise<TokenRequest> {
  const spec = isObject(body) && isObject(body.spec) ? body.spec : {};
  const causes: StatusCause[] = [];
  const expirationSeconds = spec.expirationSeconds === undefined || spec.expirationSeconds === null ? TOKEN_EXPIRATION_SECONDS_DEFAULT : spec.expirationSeconds;
  if (typeof expirationSeconds !== 'number' || !Number.isInteger(expirationSeconds)) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${JSON.stringify(expirationSeconds)}: must be an integer` });
  } else if (expirationSeconds < TOKEN_EXPIRATION_SECONDS_MIN) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes` });
  } else if (expirationSeconds > TOKEN_EXPIRATION_SECONDS_MAX) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds` });
  }
  const audiences = spec.audiences === undefined || spec.audiences === null || (Array.isArray(spec.audiences) && spec.audiences.length === 0) ? [...API_AUDIENCES] : spec.audiences;
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === 'string' && a !== '')) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.audiences', message: 'Invalid value: audiences must be non-empty strings' });
  }
  const ref = isObject(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  if (ref !== undefined && !BINDABLE_KINDS.includes(ref.kind as BindableKind)) {
    causes.push({ reason: 'FieldValueNotSupported', field: 'spec.boundObjectRef.kind', message: `Unsupported value: ${JSON.stringify(ref.kind)}: supported values: ${BINDABLE_KINDS.map((k) => `"${k}"`).join(', ')}` });
  }
  if (causes.length > 0) throw apiErrors.invalid('TokenRequest', AUTHENTICATION_GROUP, name, causes);

  const account = await source.serviceAccount(namespace, name);
  if (account === undefined) throw apiErrors.notFound('serviceaccounts', '', name);
  const nowSeconds = Math.floor(source.now() / 1000);
  const expiresSeconds = nowSeconds + (expirationSeconds as number);
  const claims: ServiceAccountClaims = {
    aud: audiences as string[], exp: expiresSeconds, iat: nowSeconds, iss: SERVICE_ACCOUNT_ISSUER, jti: uuid(source.random), nbf: nowSeconds,
    sub: serviceAccountUserName(namespace, name),
    'kubernetes.io': { namespace, serviceaccount: { name, uid: account.metadata.uid ?? '' } },
  };
  let boundObjectRef: TokenRequest['spec']['boundObjectRef'];
  if (ref !== undefined) {
    const kind = ref.kind as BindableKind;
    const refName = typeof ref.name === 'string' ? ref.name : '';
    const bound = await source.boundObject(kind, namespace, refName);
    if (bound === undefined) throw apiErrors.notFound(`${kind.toLowerCase()}s`, '', refName);
    const uid = bound.metadata.uid ?? '';
    if (typeof ref.uid === 'string' && ref.uid !== '' && ref.uid !== uid) {
      throw apiErrors.conflict(`${kind.toLowerCase()}s`, '', refName, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    claims['kubernetes.io'][kind === 'Pod' ? 'pod' : kind === 'Secret' ? 'secret' : 'node'] = { name: refName, uid };
    boundObjectRef = { kind, apiVersion: 'v1', name: refName, uid };
  }
  return {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
    metadata: { name, namespace, creationTimestamp: formatTime(nowSeconds) },
    spec: { audiences: audiences as string[], expirationSeconds: expirationSeconds as number, ...(boundObjectRef === undefined ? {} : { boundObjectRef }) },
    status: { token: tokens.issue(claims), expirationTimestamp: formatTime(expiresSeconds) },
  };
}

function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** A v4 UUID from the injected random source (the token's jti). */
function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
