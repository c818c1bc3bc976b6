/**
 * Authentication (bearer tokens) and authorization (RBAC rules, evaluated as
 * Kubernetes' RBAC authorizer does, over a built-in policy).
 *
 * RBAC-lite: the rules are Kubernetes PolicyRules (verbs, apiGroups,
 * resources incl. `pods/status`, resourceNames, nonResourceURLs) bound to
 * users and groups, but the policy is configured in code at start
 * (`defaultPolicy`), not read from Role/RoleBinding objects in the store.
 */
import type { PolicyRule } from './types/index.js';

export interface UserInfo {
  name: string;
  groups: string[];
}

export const ANONYMOUS: UserInfo = Object.freeze({ name: 'system:anonymous', groups: ['system:unauthenticated'] });

/** Paths anyone may read, authenticated or not (as Kubernetes' system:public-info-viewer allows). */
export const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/livez', '/version']);

export interface TokenEntry {
  token: string;
  user: string;
  groups: string[];
}

/** Parses Kubernetes' static token file format: `token,user,uid,"group1,group2"` per line. */
export function parseTokenFile(text: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/.exec(line);
    if (!m) throw new Error(`token file: cannot parse line ${JSON.stringify(line.slice(0, 20))}...`);
    out.push({ token: m[1]!, user: m[2]!, groups: m[4] ? m[4].split(',').filter((g) => g !== '') : [] });
  }
  return out;
}

export function formatTokenFile(entries: TokenEntry[]): string {
  return entries.map((e) => `${e.token},${e.user},${e.user},"${e.groups.join(',')}"`).join('\n') + '\n';
}

export class TokenAuthenticator {
  private readonly byToken = new Map<string, UserInfo>();

  constructor(entries: TokenEntry[]) {
    for (const e of entries) this.byToken.set(e.token, { name: e.user, groups: [...e.groups, 'system:authenticated'] });
  }

  /** undefined: no credentials; null: wrong credentials (401). */
  authenticate(authorization: string | undefined): UserInfo | undefined | null {
    if (authorization === undefined || authorization === '') return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return null;
    return this.byToken.get(m[1]!) ?? null;
  }
}

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** For non-resource requests (discovery, openapi, healthz). */
  path?: string;
}

export interface Binding {
  /** `User:<name>` or `Group:<name>`. */
  subject: string;
  rules: PolicyRule[];
  /** Limit a binding to one namespace (a RoleBinding); absent: cluster-wide (a ClusterRoleBinding). */
  namespace?: string;
}

const DISCOVERY_RULE: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', '/version', '/version/', '/healthz', '/readyz', '/livez'] };
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];

/**
 * The built-in policy. Each component runs as its own user with the rights
 * its job needs (modelled on Kubernetes' system:kube-scheduler,
 * system:kube-controller-manager and system:node roles); system:masters may do anything.
 */
export function defaultPolicy(): Binding[] {
  return [
    { subject: 'Group:system:masters', rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }] },
    { subject: 'Group:system:authenticated', rules: [DISCOVERY_RULE] },
    {
      subject: 'User:system:kube-scheduler',
      rules: [
        { verbs: READ, apiGroups: [''], resources: ['pods', 'nodes', 'namespaces', 'services'] },
        { verbs: ['create'], apiGroups: [''], resources: ['pods/binding', 'events'] },
        { verbs: ['patch', 'update'], apiGroups: [''], resources: ['pods/status', 'events'] },
        { verbs: [...READ, ...WRITE], apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
        { verbs: READ, apiGroups: ['apps'], resources: ['replicasets'] },
      ],
    },
    {
      subject: 'User:system:kube-controller-manager',
      rules: [
        { verbs: [...READ, ...WRITE, 'deletecollection'], apiGroups: ['', 'apps', 'discovery.k8s.io', 'coordination.k8s.io'], resources: ['*'] },
      ],
    },
    {
      subject: 'Group:system:nodes',
      rules: [
        { verbs: READ, apiGroups: [''], resources: ['pods', 'services', 'endpoints', 'configmaps', 'secrets', 'namespaces'] },
        { verbs: [...READ, 'create', 'update', 'patch'], apiGroups: [''], resources: ['nodes', 'nodes/status', 'pods/status'] },
        { verbs: ['delete', 'create'], apiGroups: [''], resources: ['pods'] },
        { verbs: ['create', 'patch', 'update'], apiGroups: [''], resources: ['events'] },
        { verbs: [...READ, ...WRITE], apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
        { verbs: READ, apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
      ],
    },
  ];
}

function matches(list: string[] | undefined, value: string): boolean {
  return list !== undefined && (list.includes('*') || list.includes(value));
}

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!matches(rule.verbs, a.verb)) return false;
  if (a.path !== undefined) {
    return (rule.nonResourceURLs ?? []).some((p) => p === '*' || p === a.path || (p.endsWith('*') && a.path!.startsWith(p.slice(0, -1))));
  }
  if (!matches(rule.apiGroups, a.apiGroup)) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!matches(rule.resources, resource) && !(rule.resources ?? []).includes(`${a.resource}/*`)) return false;
  if (rule.resourceNames !== undefined && rule.resourceNames.length > 0 && (a.name === undefined || !rule.resourceNames.includes(a.name))) return false;
  return true;
}

export class RbacAuthorizer {
  constructor(private readonly bindings: Binding[]) {}

  authorize(user: UserInfo, a: RequestAttributes): { allowed: boolean; reason: string } {
    const subjects = new Set([`User:${user.name}`, ...user.groups.map((g) => `Group:${g}`)]);
    for (const b of this.bindings) {
      if (!subjects.has(b.subject)) continue;
      if (b.namespace !== undefined && b.namespace !== a.namespace) continue;
      if (b.rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: `allowed by the rules bound to ${b.subject}` };
    }
    return { allowed: false, reason: 'no RBAC policy matched' };
  }
}
