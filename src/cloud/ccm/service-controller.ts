/**
 * The service controller: every Service of type LoadBalancer gets exactly
 * one cloud load balancer, whose listeners forward the Service's ports to
 * its NodePorts on every eligible node, and whose address is written to
 * `status.loadBalancer.ingress`. Targets follow the nodes. Deleting the
 * Service (or changing its type) deletes the load balancer; the
 * `service.kubernetes.io/load-balancer-cleanup` finalizer, added before the
 * load balancer is created, holds the Service until then.
 *
 * Never a duplicate after a retry: the load balancer's name is derived from
 * the Service's UID; a sync looks it up by name first and creates with that
 * name as the cloud's clientToken, so a creation whose answer was lost (a
 * 504, an ask timeout, a crash between call and reply) is answered with the
 * same load balancer when retried — even if the lost call lands later.
 */
import type { Node, Service } from '../../api/types/index.js';
import { SERVICES } from '../../client/api-client.js';
import { objectKey } from '../../client/store.js';
import type { LoadBalancer } from '../provider/types.js';
import { CloudApiError } from '../provider/types.js';
import type { ControllerContext } from './context.js';
import { KeyedController, type RetryBackoff } from './controller.js';
import {
  LB_CLEANUP_FINALIZER, hasCleanupFinalizer, ingressOf, listenersFor, loadBalancerName, sameIngress, sameListeners, sameTargets, targetInstanceIdOf, targetInstanceIds, wantsLoadBalancer,
} from './desired.js';

export interface ServiceControllerOptions {
  backoff: RetryBackoff;
  workers: number;
  /**
   * Test only: create without looking up and without a clientToken whenever
   * the Service shows no ingress yet — what a naive controller does. It
   * exists to show that the duplicate check catches the bug. Never set it in
   * a component.
   */
  unsafeNonIdempotentCreate?: boolean;
}

export class ServiceController {
  readonly controller: KeyedController;
  readonly stats = { created: 0, updated: 0, deleted: 0, duplicatesRemoved: 0, statusWrites: 0 };
  private lastTargets = '';

  constructor(private readonly c: ControllerContext, private readonly options: ServiceControllerOptions) {
    this.controller = new KeyedController('service', c.clock, (key) => this.sync(key), c.log, options.backoff, options.workers);
    c.services.addEventHandler({
      onAdd: (s) => this.maybeEnqueue(s),
      onUpdate: (_old, s) => this.maybeEnqueue(s),
      onDelete: (s) => this.maybeEnqueue(s),
    });
    // The target set is looked at again only when the event's node adds or takes away a target: an update that
    // leaves the node's own target as it was (a status write, a resync) cannot change the set (issue #16: the set
    // over every node on every node event was quadratic at 5,000 nodes).
    const nodesChanged = (before: Node | undefined, after: Node | undefined): void => {
      if (targetInstanceIdOf(before) !== targetInstanceIdOf(after)) this.onNodesChanged();
    };
    c.nodes.addEventHandler({ onAdd: (node) => nodesChanged(undefined, node), onUpdate: nodesChanged, onDelete: (node) => nodesChanged(node, undefined) });
  }

  private maybeEnqueue(service: Service): void {
    if (service.spec?.type === 'LoadBalancer' || hasCleanupFinalizer(service) || (service.status?.loadBalancer?.ingress?.length ?? 0) > 0) {
      this.controller.enqueue(objectKey(service));
    }
  }

  /** Targets follow the nodes: when the eligible set changes, every load balancer is revisited. */
  private onNodesChanged(): void {
    const targets = targetInstanceIds(this.c.nodes.store.list()).join(',');
    if (targets === this.lastTargets) return;
    this.lastTargets = targets;
    for (const service of this.c.services.store.list()) if (wantsLoadBalancer(service)) this.controller.enqueue(objectKey(service));
  }

  async sync(key: string): Promise<void> {
    const service = this.c.services.store.get(key);
    // Gone from the cache: its finalizer held it until its load balancer was deleted, so nothing is left to do.
    if (service === undefined) return;
    if (wantsLoadBalancer(service)) return this.ensure(service);
    if (hasCleanupFinalizer(service) || (service.status?.loadBalancer?.ingress?.length ?? 0) > 0) return this.cleanup(service);
  }

  private async ensure(cached: Service): Promise<void> {
    let service = cached;
    if (!hasCleanupFinalizer(service)) {
      this.c.guard();
      service = await this.c.api.update(SERVICES, { ...service, metadata: { ...service.metadata, finalizers: [...(service.metadata.finalizers ?? []), LB_CLEANUP_FINALIZER] } });
    }
    const name = loadBalancerName(service);
    const listeners = listenersFor(service);
    const targets = targetInstanceIds(this.c.nodes.store.list() as Node[]);
    const lb = this.options.unsafeNonIdempotentCreate === true && !this.hasIngress(service)
      ? await this.createNaively(service, name, listeners, targets)
      : await this.ensureLoadBalancer(service, name, listeners, targets);
    const ingress = ingressOf(lb);
    if (!sameIngress(service, ingress)) {
      this.c.guard();
      await this.c.api.patch(SERVICES, service.metadata.namespace, service.metadata.name!, 'merge', { status: { loadBalancer: { ingress } } }, { subresource: 'status' });
      this.stats.statusWrites++;
    }
  }

  private hasIngress(service: Service): boolean {
    return (service.status?.loadBalancer?.ingress?.length ?? 0) > 0;
  }

  private async ensureLoadBalancer(service: Service, name: string, listeners: LoadBalancer['listeners'], targets: string[]): Promise<LoadBalancer> {
    const existing = (await this.c.cloud.call({ op: 'lb.list', name })).sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
    let lb = existing[0];
    if (lb === undefined) {
      this.c.guard();
      lb = await this.c.cloud.call({
        op: 'lb.create', name, listeners, targets, clientToken: name,
        tags: { 'kubernetes.io/service-name': objectKey(service), 'kubernetes.io/cluster': this.c.clusterName },
      });
      this.stats.created++;
      this.c.log.info({ service: objectKey(service), loadBalancer: lb.id, address: lb.address }, 'load balancer created');
    } else if (!sameListeners(lb.listeners, listeners) || !sameTargets(lb.targets, targets)) {
      this.c.guard();
      lb = await this.c.cloud.call({ op: 'lb.update', id: lb.id, listeners, targets });
      this.stats.updated++;
    }
    // Duplicates can only come from outside this controller (a naive earlier version, a hand-made one): keep the oldest.
    for (const extra of existing.slice(1)) {
      this.c.guard();
      await this.deleteLoadBalancer(extra.id);
      this.stats.duplicatesRemoved++;
    }
    return lb;
  }

  private async createNaively(service: Service, name: string, listeners: LoadBalancer['listeners'], targets: string[]): Promise<LoadBalancer> {
    this.c.guard();
    const lb = await this.c.cloud.call({ op: 'lb.create', name, listeners, targets, tags: { 'kubernetes.io/service-name': objectKey(service) } });
    this.stats.created++;
    return lb;
  }

  private async deleteLoadBalancer(id: string): Promise<void> {
    try {
      await this.c.cloud.call({ op: 'lb.delete', id });
      this.stats.deleted++;
    } catch (error) {
      if (error instanceof CloudApiError && error.code === 'NotFound') return;
      throw error;
    }
  }

  private async cleanup(cached: Service): Promise<void> {
    let service = cached;
    const name = loadBalancerName(service);
    for (const lb of await this.c.cloud.call({ op: 'lb.list', name })) {
      this.c.guard();
      await this.deleteLoadBalancer(lb.id);
      this.c.log.info({ service: objectKey(service), loadBalancer: lb.id }, 'load balancer deleted');
    }
    if (service.metadata.deletionTimestamp === undefined && this.hasIngress(service)) {
      this.c.guard();
      service = await this.c.api.patch(SERVICES, service.metadata.namespace, service.metadata.name!, 'merge', { status: { loadBalancer: { ingress: null } } }, { subresource: 'status' });
      this.stats.statusWrites++;
    }
    if (hasCleanupFinalizer(service)) {
      this.c.guard();
      await this.c.api.update(SERVICES, { ...service, metadata: { ...service.metadata, finalizers: (service.metadata.finalizers ?? []).filter((f) => f !== LB_CLEANUP_FINALIZER) } });
    }
  }
}
