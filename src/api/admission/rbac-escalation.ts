/**
 * RBAC's escalation prevention (Kubernetes does it in the rbac storage,
 * pkg/registry/rbac/<kind>/policybased; here it is a validating plugin): a user
 * may write a Role or ClusterRole only with rules it holds itself (or the
 * `escalate` verb on it), and bind a role only if it holds the role's rules
 * where the binding applies (or the `bind` verb on that role).
 */
import type { UserInfo } from '../auth.js';
import { apiErrors } from '../errors.js';
import { isObject } from '../patch.js';
import { SYSTEM_MASTERS, type Decision, type RequestAttributes } from '../rbac.js';
import { storageKey } from '../resources.js';
import type { PolicyRule, Role } from '../types/index.js';
import type { AdmissionContext } from './context.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from './types.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The authorizer's two questions the check asks. */
export interface EscalationAuthorizer {
  decide(user: UserInfo, attributes: RequestAttributes): Decision;
  /** The rules of `rules` the user does not hold in `namespace`. */
  uncovered(user: UserInfo, rules: PolicyRule[], namespace: string | undefined): PolicyRule[];
}

export class RbacEscalation implements AdmissionPlugin {
  readonly name = 'RBACEscalation';

  constructor(private readonly context: AdmissionContext, private readonly authorizer: EscalationAuthorizer) {}

  handles(operation: Operation): boolean {
    return operation === 'CREATE' || operation === 'UPDATE';
  }

  /** A patch of policy by a user who may not escalate is checked on the patched object. */
  wantsObject(a: AdmissionAttributes): boolean {
    return a.resource.group === RBAC_GROUP && !a.dryRun && !a.userInfo.groups.includes(SYSTEM_MASTERS);
  }

  validate(a: AdmissionAttributes): void {
    const object = a.object;
    if (a.resource.group !== RBAC_GROUP || object === undefined) return;
    const { resource } = a.resource;
    const namespace = a.namespace;
    const user = a.userInfo;
    const name = isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '';
    let rules: PolicyRule[];
    let exemption: RequestAttributes;
    if (resource === 'roles' || resource === 'clusterroles') {
      rules = Array.isArray(object.rules) ? (object.rules as unknown as PolicyRule[]) : [];
      exemption = { verb: 'escalate', apiGroup: RBAC_GROUP, resource, namespace, name };
    } else {
      const ref = isObject(object.roleRef) ? object.roleRef : {};
      const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
      const refInfo = this.context.info(RBAC_GROUP, 'v1', refResource);
      const refNamespace = refResource === 'roles' ? namespace : undefined;
      // Kubernetes asks `bind` in the binding's namespace, also for a ClusterRole a RoleBinding refers to.
      exemption = { verb: 'bind', apiGroup: RBAC_GROUP, resource: refResource, namespace, name: String(ref.name ?? '') };
      if (this.authorizer.decide(user, exemption).allowed) return;
      const role = this.context.cache(refInfo).get(storageKey(refInfo, refNamespace, String(ref.name ?? '')));
      if (role === undefined) throw apiErrors.notFound(refResource, RBAC_GROUP, String(ref.name ?? ''));
      rules = (role as Role).rules ?? [];
    }
    if (this.authorizer.decide(user, exemption).allowed) return;
    const missing = this.authorizer.uncovered(user, rules, namespace);
    if (missing.length === 0) return;
    const held = missing.map((m) => (m.nonResourceURLs ? `{NonResourceURLs:${JSON.stringify(m.nonResourceURLs)}, Verbs:${JSON.stringify(m.verbs)}}`
      : `{APIGroups:${JSON.stringify(m.apiGroups)}, Resources:${JSON.stringify(m.resources)}${m.resourceNames ? `, ResourceNames:${JSON.stringify(m.resourceNames)}` : ''}, Verbs:${JSON.stringify(m.verbs)}}`));
    throw apiErrors.forbiddenAdmission(
      `${resource}.${RBAC_GROUP} "${name}" is forbidden: user "${user.name}" (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${held.join('\n')}`,
      resource, RBAC_GROUP, name,
    );
  }
}
