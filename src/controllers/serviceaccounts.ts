/**
 * The service account controller (Kubernetes' pkg/controller/serviceaccount):
 * every active namespace has a `default` ServiceAccount; one deleted is made
 * again. Level-triggered: the key is the namespace, the sync looks at the
 * caches and creates the account if it is missing.
 */
import type { Namespace, ServiceAccount } from '../api/types/index.js';
import { ClientError, NAMESPACES, type Clock, type Informer } from '../client/index.js';
import type { ControllerApi } from './common.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';
import { SERVICEACCOUNTS } from './workload-resources.js';

/** The accounts every namespace gets (kube-controller-manager's default --service-account-names... is just this one). */
export const DEFAULT_SERVICE_ACCOUNTS = ['default'];

export interface ServiceAccountsControllerOptions {
  api: ControllerApi;
  clock: Clock;
  namespaces: Informer<Namespace>;
  serviceAccounts: Informer<ServiceAccount>;
  workers?: number;
  log?: Logger;
}

export class ServiceAccountsController {
  readonly workers: KeyedWorkers;

  constructor(private readonly options: ServiceAccountsControllerOptions) {
    this.workers = new KeyedWorkers({ name: 'serviceaccount', clock: options.clock, workers: options.workers ?? 3, sync: (key) => this.sync(key), log: options.log });
    options.namespaces.addEventHandler({ onAdd: (ns) => this.enqueue(ns.metadata.name), onUpdate: (_old, ns) => this.enqueue(ns.metadata.name) });
    // A default account deleted by hand comes back.
    options.serviceAccounts.addEventHandler({ onDelete: (sa) => { if (DEFAULT_SERVICE_ACCOUNTS.includes(sa.metadata.name ?? '')) this.enqueue(sa.metadata.namespace); } });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private enqueue(namespace: string | undefined): void {
    if (namespace !== undefined && namespace !== '') this.workers.enqueue(namespace);
  }

  async sync(namespace: string): Promise<SyncResult> {
    const ns = this.options.namespaces.store.get(namespace);
    // A terminating namespace gets nothing new (admission would refuse it anyway).
    if (ns === undefined || ns.metadata.deletionTimestamp !== undefined) return;
    for (const name of DEFAULT_SERVICE_ACCOUNTS) {
      if (this.options.serviceAccounts.store.get(`${namespace}/${name}`) !== undefined) continue;
      try {
        await this.options.api.create(SERVICEACCOUNTS, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
      } catch (error) {
        // Made meanwhile (the cache was behind), or the namespace went: nothing to do.
        if (error instanceof ClientError && (error.code === 409 || error.code === 404 || error.code === 403)) continue;
        throw error;
      }
    }
    return undefined;
  }
}
