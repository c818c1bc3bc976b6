/**
 * User impersonation (Kubernetes' impersonation filter): a request with
 * `Impersonate-User` (and optionally `Impersonate-Group`) runs as that user
 * if the requester may `impersonate` it: `users` by name, a service account
 * user (`system:serviceaccount:NS:NAME`) as `serviceaccounts` NAME in NS,
 * and each group as `groups`. This is what `kubectl --as` and `--as-group`
 * send (`kubectl auth can-i --as=system:serviceaccount:ns:name`).
 */
import type { UserInfo } from './auth.js';
import { apiErrors } from './errors.js';
import type { Decision, RequestAttributes } from './rbac.js';
import { serviceAccountGroups } from './serviceaccount/token.js';

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The request's headers as node:http gives them: lower-case names, repeated ones as arrays. */
export type Headers = Record<string, string | string[] | undefined>;

const values = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * The user the request runs as: `requester` without impersonation headers,
 * the impersonated user when every impersonation is allowed; a 403 naming
 * the first one that is not, a 400 for groups or extras without a user.
 */
export function impersonatedUser(headers: Headers, requester: UserInfo, decide: (user: UserInfo, attributes: RequestAttributes) => Decision): UserInfo {
  const userNames = values(headers['impersonate-user']);
  const groups = values(headers['impersonate-group']);
  const others = Object.keys(headers).filter((h) => h === 'impersonate-uid' || h.startsWith('impersonate-extra-'));
  if (userNames.length === 0) {
    if (groups.length > 0 || others.length > 0) throw apiErrors.badRequest('requested impersonation of groups or extra fields without impersonating a user');
    return requester;
  }
  if (userNames.length > 1) throw apiErrors.badRequest('only one Impersonate-User header may be given');
  // Extra fields and uids are not modelled: refuse them rather than drop them silently.
  if (others.length > 0) throw apiErrors.badRequest(`impersonation of ${others.join(', ')} is not supported by this API server`);
  const name = userNames[0]!;
  const check = (attributes: RequestAttributes) => {
    if (decide(requester, attributes).allowed) return;
    throw apiErrors.forbidden(requester.name, 'impersonate', attributes.resource, '', attributes.namespace, '', attributes.name);
  };
  const account = SERVICE_ACCOUNT_USER.exec(name);
  if (account !== null) check({ verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: account[1]!, name: account[2]! });
  else check({ verb: 'impersonate', apiGroup: '', resource: 'users', name });
  for (const group of groups) check({ verb: 'impersonate', apiGroup: '', resource: 'groups', name: group });
  // As Kubernetes: a service account without asked-for groups gets its own; everyone impersonated is authenticated.
  const base = groups.length === 0 && account !== null ? serviceAccountGroups(account[1]!) : groups;
  return { name, groups: [...base.filter((g) => g !== 'system:authenticated'), 'system:authenticated'] };
}
