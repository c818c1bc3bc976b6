/**
 * RBAC as Kubernetes evaluates it (plugin/pkg/auth/authorizer/rbac): the
 * rules of Roles and ClusterRoles, granted to users, groups and service
 * accounts by RoleBindings (one namespace) and ClusterRoleBindings (every
 * namespace, cluster-scoped resources and non-resource URLs). Any matching
 * rule allows; nothing denies. The members of system:masters are allowed
 * everything before RBAC is asked (kube-apiserver's privileged-group
 * authorizer), so a broken policy cannot lock the administrator out.
 *
 * The authorizer reads the four kinds from the API server's watch caches
 * through an `RbacSource`, and compiles them into an index by subject that
 * is rebuilt only when one of the caches changed: a decision costs no store
 * read and no scan of unrelated bindings.
 *
 * The bootstrap policy (`bootstrapPolicy`) is a faithful subset of
 * Kubernetes' own (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): the
 * roles for the resources this server has, created at start when missing.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from './types/index.js';

export interface UserInfo {
  name: string;
  groups: string[];
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

export interface Decision {
  allowed: boolean;
  /** Why: the binding that allowed it, or what went wrong evaluating (a binding to a missing role). */
  reason: string;
}

/** Where the authorizer finds the policy: the watch caches in the server, plain arrays in tests. */
export interface RbacSource {
  /** Changes whenever any of the four kinds changed (a cheap number the index is keyed on). */
  generation(): number;
  roles(): Role[];
  clusterRoles(): ClusterRole[];
  roleBindings(): RoleBinding[];
  clusterRoleBindings(): ClusterRoleBinding[];
}

/** kube-apiserver's privileged group: allowed everything without consulting RBAC. */
export const SYSTEM_MASTERS = 'system:masters';

/** One grant of rules to a subject: from a ClusterRoleBinding (namespace undefined) or a RoleBinding. */
interface Grant {
  namespace: string | undefined;
  rules: PolicyRule[];
  /** `ClusterRoleBinding "x" of ClusterRole "y"`, for the reason of a decision. */
  description: string;
}

interface Index {
  generation: number;
  bySubject: Map<string, Grant[]>;
  /** Bindings whose role is missing, by subject: reported in a denial's reason, as Kubernetes does. */
  errorsBySubject: Map<string, string[]>;
}

function subjectKey(subject: Subject, bindingNamespace: string | undefined): string | undefined {
  switch (subject.kind) {
    case 'User': return `User:${subject.name}`;
    case 'Group': return `Group:${subject.name}`;
    case 'ServiceAccount': {
      const namespace = subject.namespace ?? bindingNamespace;
      return namespace === undefined ? undefined : `User:system:serviceaccount:${namespace}:${subject.name}`;
    }
    default: return undefined;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function compile(source: RbacSource, generation: number): Index {
  const clusterRoles = new Map<string, PolicyRule[]>();
  for (const role of source.clusterRoles()) clusterRoles.set(role.metadata.name ?? '', role.rules ?? []);
  const roles = new Map<string, PolicyRule[]>();
  for (const role of source.roles()) roles.set(`${role.metadata.namespace}/${role.metadata.name}`, role.rules ?? []);
  const bySubject = new Map<string, Grant[]>();
  const errorsBySubject = new Map<string, string[]>();
  const add = (binding: RoleBinding | ClusterRoleBinding, kind: 'RoleBinding' | 'ClusterRoleBinding') => {
    const namespace = kind === 'RoleBinding' ? binding.metadata.namespace : undefined;
    const ref = binding.roleRef;
    const rules = ref?.kind === 'Role' ? (kind === 'RoleBinding' ? roles.get(`${namespace}/${ref.name}`) : undefined) : clusterRoles.get(ref?.name ?? '');
    const where = namespace === undefined ? '' : ` in namespace "${namespace}"`;
    const description = `${kind} "${binding.metadata.name}" of ${ref?.kind} "${ref?.name}"${where}`;
    for (const subject of binding.subjects ?? []) {
      const key = subjectKey(subject, namespace);
      if (key === undefined) continue;
      if (rules === undefined) {
        const missing = ref?.kind === 'Role' ? `role.rbac.authorization.k8s.io "${ref.name}" not found` : `clusterrole.rbac.authorization.k8s.io "${ref?.name}" not found`;
        push(errorsBySubject, key, missing);
        continue;
      }
      push(bySubject, key, { namespace, rules, description });
    }
  };
  for (const b of source.clusterRoleBindings()) add(b, 'ClusterRoleBinding');
  for (const b of source.roleBindings()) add(b, 'RoleBinding');
  return { generation, bySubject, errorsBySubject };
}

/** A list entry matches a value exactly or by `*`. */
function matches(list: string[] | undefined, value: string): boolean {
  return list !== undefined && (list.includes('*') || list.includes(value));
}

// Kubernetes' ResourceMatches: "*", the exact "resource[/subresource]", or "*" + "/subresource".
function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function nonResourceMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((p) => p === '*' || p === path || (p.endsWith('*') && path.startsWith(p.slice(0, -1))));
}

/** Does one rule allow the request? (Kubernetes' RuleAllows.) */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!matches(rule.verbs, a.verb)) return false;
  if (a.path !== undefined) return nonResourceMatches(rule, a.path);
  if (!matches(rule.apiGroups, a.apiGroup)) return false;
  if (!resourceMatches(rule, a.resource, a.subresource)) return false;
  if (rule.resourceNames !== undefined && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

export class RbacAuthorizer {
  private index: Index | undefined;
  /** Index rebuilds, for tests: a decision must not rebuild when nothing changed. */
  rebuilds = 0;

  constructor(private readonly source: RbacSource) {}

  private current(): Index {
    const generation = this.source.generation();
    if (this.index === undefined || this.index.generation !== generation) {
      this.index = compile(this.source, generation);
      this.rebuilds++;
    }
    return this.index;
  }

  authorize(user: UserInfo, a: RequestAttributes): Decision {
    if (user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: `member of ${SYSTEM_MASTERS}` };
    const index = this.current();
    const subjects = [`User:${user.name}`, ...user.groups.map((g) => `Group:${g}`)];
    const errors: string[] = [];
    for (const subject of subjects) {
      for (const grant of index.bySubject.get(subject) ?? []) {
        // A RoleBinding grants only namespaced resource requests in its own namespace.
        if (grant.namespace !== undefined && (a.path !== undefined || a.namespace !== grant.namespace)) continue;
        if (grant.rules.some((rule) => ruleAllows(rule, a))) {
          return { allowed: true, reason: `RBAC: allowed by ${grant.description} to ${subject.replace(':', ' "')}"` };
        }
      }
      errors.push(...(index.errorsBySubject.get(subject) ?? []));
    }
    return { allowed: false, reason: errors.length > 0 ? `RBAC: ${errors.join(', ')}` : '' };
  }

  /**
   * Escalation check (Kubernetes' ConfirmNoEscalation): a user may create or
   * change a role, or bind one, only if it already holds every permission in
   * it, in the namespace the role or binding applies to. Returns the rules
   * (as atomic pieces) the user does not hold.
   */
  uncovered(user: UserInfo, rules: PolicyRule[], namespace: string | undefined): PolicyRule[] {
    if (user.groups.includes(SYSTEM_MASTERS)) return [];
    const missing: PolicyRule[] = [];
    for (const piece of breakdown(rules)) {
      const a: RequestAttributes = piece.nonResourceURLs !== undefined
        ? { verb: piece.verbs[0]!, apiGroup: '', resource: '', path: piece.nonResourceURLs[0]! }
        : { verb: piece.verbs[0]!, apiGroup: piece.apiGroups![0]!, resource: piece.resources![0]!, namespace, name: piece.resourceNames?.[0] };
      if (a.resource.includes('/')) {
        const [resource, subresource] = a.resource.split('/', 2) as [string, string];
        a.resource = resource;
        a.subresource = subresource;
      }
      // A wildcard is covered only by a wildcard: the literal '*' is the value being asked for.
      if (!this.authorize(user, a).allowed) missing.push(piece);
    }
    return missing;
  }
}

/** Splits rules into pieces of one verb, group, resource and name (or one URL), as Kubernetes' BreakdownRule does. */
function breakdown(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const rule of rules) {
    for (const verb of rule.verbs) {
      for (const url of rule.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [url] });
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          const names = rule.resourceNames !== undefined && rule.resourceNames.length > 0 ? rule.resourceNames : [undefined];
          for (const name of names) out.push({ verbs: [verb], apiGroups: [group], resources: [resource], ...(name !== undefined ? { resourceNames: [name] } : {}) });
        }
      }
    }
  }
  return out;
}

/** An RbacSource over fixed arrays (tests, tools). */
export function staticRbacSource(policy: { roles?: Role[]; clusterRoles?: ClusterRole[]; roleBindings?: RoleBinding[]; clusterRoleBindings?: ClusterRoleBinding[] }): RbacSource {
  return {
    generation: () => 0,
    roles: () => policy.roles ?? [],
    clusterRoles: () => policy.clusterRoles ?? [],
    roleBindings: () => policy.roleBindings ?? [],
    clusterRoleBindings: () => policy.clusterRoleBindings ?? [],
  };
}

// ---------- the bootstrap policy ----------

const READ = ['get', 'list', 'watch'];
const RBAC_GROUP = 'rbac.authorization.k8s.io';
/** Kubernetes labels and annotates its bootstrap objects so the start-up reconciliation can find them. */
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const BOOTSTRAP_ANNOTATIONS = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
/** Users the API server hands tokens to (tokens.csv). */
export const SCHEDULER_USER = 'system:kube-scheduler';
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
export const KUBE_PROXY_USER = 'system:kube-proxy';
export const NODES_GROUP = 'system:nodes';

function rule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule {
  return resourceNames === undefined ? { verbs, apiGroups, resources } : { verbs, apiGroups, resources, resourceNames };
}

const eventsRule = (): PolicyRule => rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

function clusterRole(name: string, rules: PolicyRule[]): ClusterRole {
  return { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...BOOTSTRAP_ANNOTATIONS } }, rules };
}

function withRole(name: string, role: string, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...BOOTSTRAP_ANNOTATIONS } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role }, subjects,
  };
}

const user = (name: string): Subject => ({ kind: 'User', apiGroup: RBAC_GROUP, name });
const group = (name: string): Subject => ({ kind: 'Group', apiGroup: RBAC_GROUP, name });

/**
 * Kubernetes' bootstrap roles and bindings for what this server serves.
 * Deviations, each because a piece of Kubernetes is not here:
 * - system:node is bound to the group system:nodes (Kubernetes leaves it
 *   unbound and uses the Node authorizer, which we do not have);
 * - the controller roles (system:controller:*) are bound to the controller
 *   manager's user, because our controller manager runs every controller
 *   under its own credentials (Kubernetes binds them to per-controller
 *   service accounts with --use-service-account-credentials);
 * - system:node-proxier is also bound to system:nodes: our kube-proxy runs
 *   with its node's credentials.
 */
export function bootstrapPolicy(): { clusterRoles: ClusterRole[]; clusterRoleBindings: ClusterRoleBinding[] } {
  const clusterRoles = [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { verbs: ['*'], nonResourceURLs: ['*'] }]),
    clusterRole('system:discovery', [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }]),
    clusterRole('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }]),
    clusterRole('system:basic-user', [rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'])]),
    clusterRole(SCHEDULER_USER, [
      eventsRule(),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      rule(READ, [''], ['nodes']),
      rule(['delete', ...READ], [''], ['pods']),
      rule(['create'], [''], ['bindings', 'pods/binding']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(READ, [''], ['replicationcontrollers', 'services']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(READ, [''], ['namespaces']),
    ]),
    clusterRole(CONTROLLER_MANAGER_USER, [
      eventsRule(),
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['configmaps', 'namespaces', 'secrets', 'serviceaccounts']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      // Every shared informer lists and watches.
      rule(['list', 'watch'], ['*'], ['*']),
    ]),
    clusterRole('system:controller:deployment-controller', [
      rule(['get', 'list', 'watch', 'update'], ['apps'], ['deployments']),
      rule(['update'], ['apps'], ['deployments/status', 'deployments/finalizers']),
      rule(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['replicasets']),
      rule(['get', 'list', 'update', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    clusterRole('system:controller:replicaset-controller', [
      rule(['get', 'list', 'watch', 'update'], ['apps'], ['replicasets']),
      rule(['update'], ['apps'], ['replicasets/status', 'replicasets/finalizers']),
      rule(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
      eventsRule(),
    ]),
    clusterRole('system:controller:endpoint-controller', [
      rule(READ, [''], ['services', 'pods']),
      rule(['create', 'delete', 'get', 'list', 'update'], [''], ['endpoints']),
      rule(['create'], [''], ['endpoints/restricted']),
      eventsRule(),
    ]),
    clusterRole('system:controller:endpointslice-controller', [
      rule(READ, [''], ['services', 'pods', 'nodes']),
      rule(['create', 'delete', 'get', 'list', 'update'], ['discovery.k8s.io'], ['endpointslices']),
      eventsRule(),
    ]),
    clusterRole('system:controller:node-controller', [
      rule(['delete', 'get', 'list', 'patch', 'update'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['delete', 'list'], [''], ['pods']),
      eventsRule(),
    ]),
    clusterRole('system:controller:statefulset-controller', [
      rule(['list', 'watch'], [''], ['pods']),
      rule(['get', 'list', 'watch'], ['apps'], ['statefulsets']),
      rule(['update'], ['apps'], ['statefulsets/status', 'statefulsets/finalizers']),
      rule(['get', 'create', 'delete', 'update', 'patch'], [''], ['pods']),
      rule(['get', 'create', 'delete', 'update', 'patch', 'list', 'watch'], ['apps'], ['controllerrevisions']),
      rule(['get', 'create', 'update', 'delete'], [''], ['persistentvolumeclaims']),
      eventsRule(),
    ]),
    clusterRole('system:controller:daemon-set-controller', [
      rule(['get', 'list', 'watch'], ['extensions', 'apps'], ['daemonsets']),
      rule(['update'], ['extensions', 'apps'], ['daemonsets/status', 'daemonsets/finalizers']),
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      // Kubernetes' role also grants pods/binding, a relic of the controller binding daemons itself (before 1.12); the scheduler binds them here.
      rule(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
      eventsRule(),
    ]),
    clusterRole('system:controller:job-controller', [
      rule(['get', 'list', 'watch', 'update', 'patch'], ['batch'], ['jobs']),
      rule(['update', 'patch'], ['batch'], ['jobs/status', 'jobs/finalizers']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      eventsRule(),
    ]),
    clusterRole('system:controller:cronjob-controller', [
      rule(['get', 'list', 'watch', 'update', 'patch'], ['batch'], ['cronjobs']),
      rule(['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['cronjobs/status', 'cronjobs/finalizers']),
      rule(['list', 'delete'], [''], ['pods']),
      eventsRule(),
    ]),
    clusterRole('system:controller:disruption-controller', [
      rule(READ, ['apps', 'extensions'], ['deployments', 'replicasets']),
      rule(READ, [''], ['replicationcontrollers']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(['update'], ['policy'], ['poddisruptionbudgets/status']),
      rule(['get'], ['*'], ['*/scale']),
      rule(['patch', 'update'], [''], ['pods/status']),
      eventsRule(),
    ]),
    clusterRole('system:controller:ttl-after-finished-controller', [
      rule(['delete', 'get', 'list', 'watch'], ['batch'], ['jobs']),
      eventsRule(),
    ]),
    clusterRole('system:controller:garbage-collector', [rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*'])]),
    clusterRole('system:node', [
      rule(['create', 'delete'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
      rule(READ, [''], ['services']),
      rule(['create', 'delete', 'get', 'list', 'watch', 'patch', 'update'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      eventsRule(),
      rule(READ, [''], ['pods']),
      rule(['create', 'delete'], [''], ['pods']),
      rule(['update', 'patch'], [''], ['pods/status']),
      rule(['create'], [''], ['pods/eviction']),
      rule(READ, [''], ['secrets', 'configmaps']),
      rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes', 'endpoints']),
      rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
    ]),
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(READ, [''], ['nodes']),
      eventsRule(),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
  ];
  const cm = [user(CONTROLLER_MANAGER_USER)];
  const clusterRoleBindings = [
    withRole('cluster-admin', 'cluster-admin', [group(SYSTEM_MASTERS)]),
    withRole('system:discovery', 'system:discovery', [group('system:authenticated')]),
    withRole('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    withRole('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    withRole(SCHEDULER_USER, SCHEDULER_USER, [user(SCHEDULER_USER)]),
    withRole(CONTROLLER_MANAGER_USER, CONTROLLER_MANAGER_USER, cm),
    ...['deployment-controller', 'replicaset-controller', 'endpoint-controller', 'endpointslice-controller', 'node-controller', 'garbage-collector']
      .concat(['statefulset-controller', 'daemon-set-controller'])
      .concat(['job-controller', 'cronjob-controller', 'disruption-controller', 'ttl-after-finished-controller'])
      .map((c) => withRole(`system:controller:${c}`, `system:controller:${c}`, cm)),
    withRole('system:node', 'system:node', [group(NODES_GROUP)]),
    withRole('system:node-proxier', 'system:node-proxier', [user(KUBE_PROXY_USER), group(NODES_GROUP)]),
  ];
  return { clusterRoles, clusterRoleBindings };
}
