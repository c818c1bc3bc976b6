/**
 * Wiring the simulated cloud into a cluster: spawn the cloud and the
 * cloud-controller-manager, and launch one instance per node so that the
 * node controller can initialize each Node from its instance. Used by
 * `kubethreads up` (src/cluster/start.ts), chaos scenarios and tests.
 */
import type { ActorSystem } from '../actor/system.js';
import { cloudControllerManager, type CcmArgs } from './ccm/behaviour.js';
import { CCM_NAME } from './ccm/protocol.js';
import type { CloudRequestOf } from './provider/api.js';
import { cloudProvider, type CloudArgs } from './provider/behaviour.js';
import { CLOUD_NAME, type CloudMsg } from './provider/protocol.js';
import { CloudApiError, type CloudResult, type Instance } from './provider/types.js';

/** Tag on an instance listing the node's actors, so a nemesis that terminates the instance can take them down too. */
export const ACTORS_TAG = 'kubethreads.io/actors';
export const NODE_TAG = 'kubethreads.io/node';

export interface NodeInstanceSpec {
  /** The Node's name: the instance is launched with it, which is how the node controller finds it. */
  name: string;
  zone?: string;
  /**
   * Where this node's NodePorts are reachable (its kube-proxy's NodePort
   * address); the load balancer data plane forwards there. Default: a fresh
   * address from the cloud's instance range, which nothing listens on.
   */
  internalIP?: string;
  instanceType?: string;
  /** The node's actors (kubelet, kube-proxy, runtime), for nemeses. */
  actors?: string[];
}

/** Launch attempts per node before giving up. Why: the cloud may be configured with an error rate; a few retries ride over it, a dead cloud fails start-up loudly. */
const LAUNCH_ATTEMPTS_MAX = 5;
const LAUNCH_TIMEOUT_MS = 10_000;

async function call<T>(system: Pick<ActorSystem, 'ref'>, cloud: string, request: CloudRequestOf<'instances.create'> | CloudRequestOf<'instances.list'>): Promise<T> {
  const result = await system.ref<CloudMsg>(cloud).ask<CloudResult<T>>({ type: 'cloud.call', body: request }, { timeoutMs: LAUNCH_TIMEOUT_MS });
  if (result.ok) return result.value;
  throw new CloudApiError(result.error.code, `${request.op}: ${result.error.message}`, result.error.retryable);
}

/**
 * Launches in flight at once. Why: each call waits out the cloud's latency (20–120 ms), so one node
 * after another took minutes at 1,000 nodes; 64 keeps start-up in seconds and far below the cloud's
 * PENDING_CALLS_MAX, so a start never trips its load shedding.
 */
const LAUNCHES_IN_FLIGHT_MAX = 64;

/**
 * One running instance per node, launched in the cloud actor. Idempotent: a
 * node that already has a live instance (a cluster restarted on its data
 * dir) keeps it. Returns the instances in the order of `nodes`.
 */
export async function registerNodeInstances(
  system: Pick<ActorSystem, 'ref'>,
  nodes: readonly NodeInstanceSpec[],
  options: { cloud?: string } = {},
): Promise<Instance[]> {
  const cloud = options.cloud ?? CLOUD_NAME;
  const instances: Instance[] = new Array<Instance>(nodes.length);
  let next = 0;
  const launcher = async (): Promise<void> => {
    while (next < nodes.length) {
      const index = next++;
      instances[index] = await launchInstance(system, cloud, nodes[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LAUNCHES_IN_FLIGHT_MAX, nodes.length) }, launcher));
  return instances;
}

async function launchInstance(system: Pick<ActorSystem, 'ref'>, cloud: string, node: NodeInstanceSpec): Promise<Instance> {
  let lastError: unknown;
  for (let attempt = 0; attempt < LAUNCH_ATTEMPTS_MAX; attempt++) {
    try {
      const existing = (await call<Instance[]>(system, cloud, { op: 'instances.list', name: node.name })).find((i) => i.state !== 'terminated');
      return existing ?? (await call<Instance>(system, cloud, {
        op: 'instances.create',
        name: node.name,
        ...(node.zone !== undefined ? { zone: node.zone } : {}),
        ...(node.internalIP !== undefined ? { internalIP: node.internalIP } : {}),
        ...(node.instanceType !== undefined ? { instanceType: node.instanceType } : {}),
        tags: { [NODE_TAG]: node.name, ...(node.actors !== undefined ? { [ACTORS_TAG]: node.actors.join(',') } : {}) },
      }));
    } catch (error) {
      lastError = error;
      if (error instanceof CloudApiError && !error.retryable) break;
    }
  }
  throw new Error(`could not launch an instance for node ${node.name}: ${(lastError as Error)?.message ?? 'unknown error'}`);
}

export interface CloudComponentsOptions {
  cloud?: CloudArgs;
  ccm?: CcmArgs;
  /** Replicas of the cloud-controller-manager (leader-elected). Default 1. */
  ccmReplicas?: number;
  nodes?: readonly NodeInstanceSpec[];
  /** Co-host the cloud-controller-manager replicas in one thread (`placement`). */
  placement?: string;
}

/** The cloud-controller-manager's actor names for `replicas` replicas. */
export function ccmNames(replicas: number): string[] {
  return replicas === 1 ? [CCM_NAME] : Array.from({ length: replicas }, (_, i) => `${CCM_NAME}-${i}`);
}

/**
 * Spawn the cloud, launch the nodes' instances, then the
 * cloud-controller-manager replicas (instances first, so new Nodes find
 * theirs at once). The API server must already run.
 */
export async function spawnCloudComponents(system: ActorSystem, options: CloudComponentsOptions = {}): Promise<{ cloud: string; ccm: string[]; instances: Instance[] }> {
  // Real load balancer listeners where sockets exist (threads); message-level only in the simulated runtime.
  const cloudArgs: CloudArgs = { ...(options.cloud ?? {}), dataPlane: options.cloud?.dataPlane ?? (system.runtime === 'threaded' ? 'tcp' : 'none') };
  await system.spawn(cloudProvider, { name: CLOUD_NAME, args: cloudArgs, supervision: { restart: 'permanent' } });
  const instances = await registerNodeInstances(system, options.nodes ?? []);
  const names = ccmNames(options.ccmReplicas ?? 1);
  for (const name of names) {
    await system.spawn(cloudControllerManager, {
      name,
      args: { ...(options.ccm ?? {}), identity: name },
      supervision: { restart: 'permanent' },
      ...(options.placement !== undefined ? { placement: options.placement } : {}),
    });
  }
  return { cloud: CLOUD_NAME, ccm: names, instances };
}
