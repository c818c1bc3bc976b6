/**
 * What every cloud controller gets: the API server (typed client and the
 * shared informers of one leadership term), the cloud, time, a logger, and a
 * guard to call before every write so a replica that lost its lease stops
 * touching the cluster and the cloud.
 */
import type { Logger } from 'pino';
import type { Node, Service } from '../../api/types/index.js';
import type { ApiClient } from '../../client/api-client.js';
import type { Clock } from '../../client/clock.js';
import type { Informer } from '../../client/informer.js';
import type { CloudClient } from '../provider/client.js';
import type { Instance } from '../provider/types.js';
import { CloudApiError } from '../provider/types.js';
import { instanceIdFromProviderID } from './desired.js';

export type KubeWriter = Pick<ApiClient, 'get' | 'update' | 'updateStatus' | 'patch' | 'delete'>;

export interface ControllerContext {
  api: KubeWriter;
  cloud: CloudClient;
  clock: Clock;
  log: Logger;
  nodes: Informer<Node>;
  services: Informer<Service>;
  clusterName: string;
  /** Throws `NotLeaderError` unless this replica may act now. */
  guard(): void;
}

/**
 * The node's instance: by providerID when it has one, else by name (what a
 * kubelet registering itself knows). Several live instances of one name is
 * an error (the controller cannot tell which is the node). Cloud errors
 * propagate: "the cloud did not answer" must never read as "no instance".
 */
export async function findInstance(cloud: CloudClient, node: Node): Promise<Instance | undefined> {
  const id = instanceIdFromProviderID(node.spec?.providerID);
  if (id !== undefined) {
    try {
      return await cloud.call({ op: 'instances.get', id });
    } catch (error) {
      if (error instanceof CloudApiError && error.code === 'NotFound') return undefined;
      throw error;
    }
  }
  const name = node.metadata.name!;
  const all = await cloud.call({ op: 'instances.list', name });
  const live = all.filter((i) => i.state !== 'terminated');
  if (live.length > 1) throw new Error(`node ${name}: ${live.length} live instances carry its name (${live.map((i) => i.id).join(', ')}); set spec.providerID`);
  return live[0] ?? all.sort((a, b) => b.launchedAtMs - a.launchedAtMs)[0];
}

/** Run `f` over `items` with at most `limit` in flight, collecting failures instead of stopping at the first. */
export async function forEachLimited<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<Array<{ item: T; error: unknown }>> {
  const failures: Array<{ item: T; error: unknown }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await f(item);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failures;
}
