/**
 * NamespaceLifecycle (plugin/pkg/admission/namespace/lifecycle): no object
 * in a namespace that does not exist, no new object in a terminating one,
 * and the system namespaces may not be deleted.
 */
import { apiErrors } from '../errors.js';
import { storageKey, type ResourceInfo } from '../resources.js';
import type { AdmissionContext } from './context.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from './types.js';

/** The namespaces every cluster has; none of them may be deleted. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class NamespaceLifecycle implements AdmissionPlugin {
  readonly name = 'NamespaceLifecycle';
  /** Namespaces this server was asked to delete: admission reads them from the store, never the cache (which may not show the deletion yet). */
  private readonly deleted = new Set<string>();

  constructor(private readonly context: AdmissionContext) {}

  handles(operation: Operation): boolean {
    return operation !== 'CONNECT';
  }

  // Not async: an active namespace in the cache admits without a promise (see the chain).
  admit(a: AdmissionAttributes): Promise<void> | undefined {
    if (a.resource.group === '' && a.resource.resource === 'namespaces') {
      if (a.operation !== 'DELETE') return;
      if (SYSTEM_NAMESPACES.includes(a.name)) {
        throw apiErrors.forbiddenAdmission(`namespace ${a.name} is a system namespace and cannot be deleted`, 'namespaces', '', a.name);
      }
      this.deleted.add(a.name);
      return;
    }
    if (!a.resource.namespaced || a.namespace === undefined || a.operation === 'DELETE') return;
    const namespace = a.namespace;
    const nsInfo = this.context.info('', 'v1', 'namespaces');
    // An active namespace in the cache admits at once; a namespace the cache lacks (just created) or
    // that this server was asked to delete is looked up in the store.
    const cached = this.deleted.has(namespace) ? undefined : this.context.cache(nsInfo).get(storageKey(nsInfo, undefined, namespace));
    if (cached !== undefined && cached.metadata.deletionTimestamp === undefined) return undefined;
    return this.admitFromStore(a, nsInfo, namespace);
  }

  private async admitFromStore(a: AdmissionAttributes, nsInfo: ResourceInfo, namespace: string): Promise<void> {
    const stored = await this.context.registry.read(nsInfo, undefined, namespace);
    if (stored === undefined) throw apiErrors.notFound('namespaces', '', namespace);
    if (a.operation === 'CREATE' && stored.object.metadata.deletionTimestamp !== undefined && a.resource.resource !== 'events') {
      throw apiErrors.forbiddenAdmission(`unable to create new content in namespace ${namespace} because it is being terminated`, a.resource.resource, a.resource.group, '');
    }
  }
}
