/**
 * The cloud node controllers, as in k8s.io/cloud-provider:
 *
 * - CloudNodeController initializes each Node that carries the
 *   `node.cloudprovider.kubernetes.io/uninitialized` taint: addresses from
 *   its instance, spec.providerID, zone / region / instance-type labels, and
 *   the taint removed — last, so nothing is scheduled onto a half-made node.
 *   With `adoptUntainted` it also initializes a Node that has no providerID
 *   and no taint (a kubelet that registers without `--cloud-provider=external`).
 * - CloudNodeLifecycleController checks every node that is not Ready each
 *   monitor period: a node whose instance no longer exists is deleted; one
 *   whose instance is shut down gets the `.../shutdown` taint, removed once
 *   the node is Ready again. A cloud that does not answer changes nothing.
 */
import type { Node } from '../../api/types/index.js';
import { NODES } from '../../client/api-client.js';
import { forEachLimited, findInstance, type ControllerContext } from './context.js';
import { KeyedController, NotLeaderError, type RetryBackoff } from './controller.js';
import {
  SHUTDOWN_TAINT, SHUTDOWN_TAINT_KEY, UNINITIALIZED_TAINT_KEY, hasTaint, initializedNode, isNodeReady, nodeAddressesOf, ownedByAnotherProvider, withTaint,
} from './desired.js';

/** Nodes checked in parallel by one lifecycle pass. Why: bounded so a large cluster does not flood the cloud API (and its throttle) in one burst. */
export const LIFECYCLE_CONCURRENCY_MAX = 8;

export class CloudNodeController {
  readonly controller: KeyedController;
  readonly stats = { initialized: 0 };

  constructor(private readonly c: ControllerContext, backoff: RetryBackoff, private readonly adoptUntainted = false) {
    this.controller = new KeyedController('cloud-node', c.clock, (key) => this.sync(key), c.log, backoff);
    c.nodes.addEventHandler({
      onAdd: (node) => this.maybeEnqueue(node),
      onUpdate: (_old, node) => this.maybeEnqueue(node),
    });
  }

  private needsInit(node: Node): boolean {
    if (hasTaint(node, UNINITIALIZED_TAINT_KEY)) return true;
    return this.adoptUntainted && (node.spec?.providerID ?? '') === '' && node.metadata.deletionTimestamp === undefined;
  }

  private maybeEnqueue(node: Node): void {
    if (this.needsInit(node)) this.controller.enqueue(node.metadata.name!);
  }

  async sync(name: string): Promise<void> {
    const node = this.c.nodes.store.get(name);
    if (node === undefined || !this.needsInit(node)) return;
    const instance = await findInstance(this.c.cloud, node);
    if (instance === undefined) throw new Error(`node ${name}: no instance of that name in the cloud yet`);
    if (instance.state === 'terminated') throw new Error(`node ${name}: its instance ${instance.id} is terminated; the lifecycle controller will delete the node`);
    let current = node;
    const addresses = nodeAddressesOf(instance);
    if (JSON.stringify(current.status?.addresses ?? []) !== JSON.stringify(addresses)) {
      this.c.guard();
      current = await this.c.api.updateStatus(NODES, { ...current, status: { ...(current.status ?? {}), addresses } });
    }
    this.c.guard();
    await this.c.api.update(NODES, initializedNode(current, instance));
    this.stats.initialized++;
    this.c.log.info({ node: name, instance: instance.id, zone: instance.zone }, 'node initialized from its cloud instance');
  }
}

export class CloudNodeLifecycleController {
  readonly stats = { passes: 0, deleted: 0, shutdownTainted: 0, shutdownUntainted: 0, cloudErrors: 0 };
  private running = false;
  private inPass = false;
  private readonly timerKey = 'ccm/node-lifecycle';

  constructor(private readonly c: ControllerContext, private readonly monitorPeriodMs: number) {
    if (!(monitorPeriodMs > 0)) throw new Error(`node monitor period must be positive, got ${monitorPeriodMs} ms`);
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.c.clock.cancelTimer(this.timerKey);
  }

  private schedule(): void {
    this.c.clock.timer(this.timerKey, this.monitorPeriodMs, () => {
      if (!this.running) return;
      void this.pass().finally(() => {
        if (this.running) this.schedule();
      });
    });
  }

  /** One pass over every node (exported for tests that want a pass now). */
  async pass(): Promise<void> {
    if (this.inPass) return;
    this.inPass = true;
    try {
      this.stats.passes++;
      const failures = await forEachLimited(this.c.nodes.store.list(), LIFECYCLE_CONCURRENCY_MAX, (node) => this.check(node));
      for (const { item, error } of failures) {
        if (error instanceof NotLeaderError) return;
        this.stats.cloudErrors++;
        this.c.log.info({ node: item.metadata.name, err: (error as Error).message }, 'node lifecycle check failed; next pass retries');
      }
    } finally {
      this.inPass = false;
    }
  }

  private async check(node: Node): Promise<void> {
    const name = node.metadata.name!;
    if (ownedByAnotherProvider(node)) return;
    if (isNodeReady(node)) {
      if (!hasTaint(node, SHUTDOWN_TAINT_KEY)) return;
      this.c.guard();
      await this.c.api.update(NODES, withTaint(node, SHUTDOWN_TAINT, false));
      this.stats.shutdownUntainted++;
      return;
    }
    const instance = await findInstance(this.c.cloud, node);
    if (instance === undefined || instance.state === 'terminated') {
      this.c.guard();
      // The uid precondition: a node re-registered under the same name in the meantime is not ours to delete.
      await this.c.api.delete(NODES, undefined, name, { preconditions: { uid: node.metadata.uid } });
      this.stats.deleted++;
      this.c.log.info({ node: name, instance: instance?.id }, 'deleted a node whose instance no longer exists');
      return;
    }
    if (instance.state === 'stopped' && !hasTaint(node, SHUTDOWN_TAINT_KEY)) {
      this.c.guard();
      await this.c.api.update(NODES, withTaint(node, SHUTDOWN_TAINT, true));
      this.stats.shutdownTainted++;
    }
  }
}
