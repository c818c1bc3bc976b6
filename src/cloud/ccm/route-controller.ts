/**
 * The route controller: a cloud route per node's pod CIDR, pointing at the
 * node's instance, reconciled on node changes and every reconcile period.
 * Routes named with this cluster's prefix that no node wants are deleted;
 * a route gone blackhole (its instance terminated) is replaced. Each node's
 * `NetworkUnavailable` condition says whether its route exists, as
 * Kubernetes' route controller reports it.
 */
import type { Node, NodeCondition } from '../../api/types/index.js';
import { NODES } from '../../client/api-client.js';
import { CloudApiError } from '../provider/types.js';
import { forEachLimited, type ControllerContext } from './context.js';
import { KeyedController, NotLeaderError, type RetryBackoff } from './controller.js';
import { desiredRouteOf, desiredRoutes, planRoutes, sameDesiredRoute, type DesiredRoute } from './desired.js';

/** Route calls in flight at once. Why: bounded so 1,000 new nodes do not burst the cloud API's throttle in one go. */
export const ROUTE_CONCURRENCY_MAX = 8;

const RECONCILE_KEY = 'routes';

export class RouteController {
  readonly controller: KeyedController;
  readonly stats = { created: 0, deleted: 0, conditionWrites: 0 };
  private running = false;
  private readonly timerKey = 'ccm/route-reconcile';

  constructor(private readonly c: ControllerContext, private readonly reconcilePeriodMs: number, backoff: RetryBackoff) {
    if (!(reconcilePeriodMs > 0)) throw new Error(`route reconcile period must be positive, got ${reconcilePeriodMs} ms`);
    this.controller = new KeyedController('route', c.clock, () => this.reconcile(), c.log, backoff);
    // Only what the event's node needs is compared, before and after: the routes wanted change only when one
    // node's route does. Rebuilding (and sorting) every node's route on every node event was quadratic: at 5,000
    // nodes each informer resync (every node handed back once) cost seconds of the CCM's thread (issue #16).
    // The first node event reconciles whatever it is, as the whole-table comparison it replaces did (its last
    // table started empty): the same reconciles at the same moments, so the simulated runs replay as before.
    let firstEvent = true;
    const changed = (before: Node | undefined, after: Node | undefined): void => {
      if (!firstEvent && sameDesiredRoute(desiredRouteOf(c.clusterName, before), desiredRouteOf(c.clusterName, after))) return;
      firstEvent = false;
      this.controller.enqueue(RECONCILE_KEY);
    };
    c.nodes.addEventHandler({ onAdd: (node) => changed(undefined, node), onUpdate: changed, onDelete: (node) => changed(node, undefined) });
  }

  start(): void {
    this.running = true;
    this.controller.start();
    this.controller.enqueue(RECONCILE_KEY);
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.controller.stop();
    this.c.clock.cancelTimer(this.timerKey);
  }

  private schedule(): void {
    this.c.clock.timer(this.timerKey, this.reconcilePeriodMs, () => {
      if (!this.running) return;
      this.controller.enqueue(RECONCILE_KEY);
      this.schedule();
    });
  }

  async reconcile(): Promise<void> {
    const nodes = this.c.nodes.store.list();
    const desired = desiredRoutes(this.c.clusterName, nodes);
    const existing = await this.c.cloud.call({ op: 'routes.list' });
    const plan = planRoutes(this.c.clusterName, desired, existing);
    const deleteFailures = await forEachLimited(plan.delete, ROUTE_CONCURRENCY_MAX, async (name) => {
      this.c.guard();
      try {
        await this.c.cloud.call({ op: 'routes.delete', name });
        this.stats.deleted++;
      } catch (error) {
        if (!(error instanceof CloudApiError && error.code === 'NotFound')) throw error;
      }
    });
    const failedNodes = new Set<string>();
    const createFailures = await forEachLimited(plan.create, ROUTE_CONCURRENCY_MAX, async (route: DesiredRoute) => {
      this.c.guard();
      try {
        await this.c.cloud.call({ op: 'routes.create', name: route.name, destinationCidr: route.destinationCidr, targetInstanceId: route.targetInstanceId });
        this.stats.created++;
      } catch (error) {
        // A create whose answer was lost and is retried finds its own route: that is success.
        if (error instanceof CloudApiError && error.code === 'Conflict') return;
        failedNodes.add(route.nodeName);
        throw error;
      }
    });
    const failures = [...deleteFailures, ...createFailures];
    if (failures.some((f) => f.error instanceof NotLeaderError)) throw new NotLeaderError('lost leadership during route reconcile');
    const byName = new Map(nodes.map((n) => [n.metadata.name!, n]));
    await forEachLimited(desired, ROUTE_CONCURRENCY_MAX, async (route) => {
      const node = byName.get(route.nodeName);
      if (node !== undefined) await this.reportNetwork(node, !failedNodes.has(route.nodeName));
    });
    if (failures.length > 0) throw new Error(`route reconcile: ${failures.length} cloud calls failed, first: ${(failures[0]!.error as Error).message}`);
  }

  private async reportNetwork(node: Node, routeExists: boolean): Promise<void> {
    const wanted = routeExists ? 'False' : 'True';
    const current = (node.status?.conditions ?? []).find((c) => c.type === 'NetworkUnavailable');
    if (current?.status === wanted) return;
    const nowIso = new Date(this.c.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const condition: NodeCondition = {
      type: 'NetworkUnavailable',
      status: wanted,
      reason: routeExists ? 'RouteCreated' : 'NoRouteCreated',
      message: routeExists ? 'RouteController created a route' : 'RouteController failed to create a route',
      lastTransitionTime: nowIso,
      lastHeartbeatTime: nowIso,
    };
    this.c.guard();
    await this.c.api.patch(NODES, undefined, node.metadata.name!, 'strategic', { status: { conditions: [condition] } }, { subresource: 'status' });
    this.stats.conditionWrites++;
  }
}
