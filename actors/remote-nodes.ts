/**
 * Nodes in another process than the API server (`kubethreads nodes`): the
 * same node actors as actors/node.ts (runtime, kubelet, kube-proxy), talking
 * to the API server over HTTPS only, each kubelet serving its logs on its
 * node IP. Named `<prefix>-<i>` and labelled `kubethreads.io/node-pool: <prefix>`,
 * so workloads can be pinned to one process's nodes with a nodeSelector.
 *
 * Addresses come from the node index as for in-process nodes (actors/node.ts):
 * processes on one machine take disjoint index ranges (`firstIndex`) so their
 * node IPs, kubelet endpoints and process-runtime pod addresses never meet.
 */
import type { ActorSystem } from '../src/actor/system.js';
import type { Timing } from '../src/cluster/spec.js';
import type { ApiConnection } from '../src/node/kubelet/http-api-client.js';
import type { RuntimeKind } from '../src/node/kubelet/kubelet.js';
import { NODE_INDEX_MAX, nodeAddressing, spawnNode, type SpawnedNode } from './node.js';

/** The label that names the process (by its prefix) a remote node belongs to. */
export const NODE_POOL_LABEL = 'kubethreads.io/node-pool';
/**
 * The providerID scheme of remote nodes (as a kubelet's --provider-id): no cloud provider of the cluster owns
 * them, so a cloud controller neither initializes nor deletes them; the node lifecycle controller still marks them.
 */
export const REMOTE_PROVIDER_ID_SCHEME = 'kubethreads-nodes://';
/** The real kubelet's port; each node listens on its own IP, so every node of a machine can have it. */
export const KUBELET_PORT_DEFAULT = 10250;
/** Up to this many nodes, each node actor gets its own thread; past it they share a pool (as start.ts places in-process nodes). */
const NODES_WITH_OWN_THREADS_MAX = 10;
/** Shared threads for many nodes. Why 4: two cores here, and a remote process is nothing but nodes. */
const NODE_POOL_THREADS = 4;
/** A prefix becomes part of Node names (DNS-1123 labels) and of a label value. */
const PREFIX_PATTERN = /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/;

export interface RemoteNodesOptions {
  connection: ApiConnection;
  count: number;
  prefix: string;
  /** Index of the first node, for its addresses (see above). */
  firstIndex: number;
  runtime: RuntimeKind;
  allowProcesses: boolean;
  timing: Timing;
  /** Where the process runtime keeps logs and pid records. */
  dataDir: string;
  /** The kubelet endpoints' certificate (one for the process) and port (0: any free port). */
  kubeletServer: { port: number; certPem: string; keyPem: string };
}

/** Checks the options a user gave; throws with a message that names the option. */
export function validateRemoteNodes(options: Pick<RemoteNodesOptions, 'count' | 'prefix' | 'firstIndex'>): void {
  if (!PREFIX_PATTERN.test(options.prefix)) throw new Error(`--prefix must be lower-case letters, digits and '-', at most 42, starting and ending alphanumeric, not ${JSON.stringify(options.prefix)}`);
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`--count must be a positive integer, not ${options.count}`);
  if (!Number.isInteger(options.firstIndex) || options.firstIndex < 0 || options.firstIndex + options.count > NODE_INDEX_MAX) {
    throw new Error(`--first-index ${options.firstIndex} with --count ${options.count} leaves the ${NODE_INDEX_MAX} node addresses there are; lower one of them`);
  }
}

export function remoteNodeName(prefix: string, i: number): string {
  return `${prefix}-${i}`;
}

/** The node IPs the process's kubelets listen on: the names its kubelet certificate must carry. */
export function remoteNodeIPs(options: Pick<RemoteNodesOptions, 'count' | 'firstIndex'>): string[] {
  return Array.from({ length: options.count }, (_, i) => nodeAddressing(options.firstIndex + i).nodeIP);
}

export async function spawnRemoteNodes(system: ActorSystem, options: RemoteNodesOptions): Promise<SpawnedNode[]> {
  validateRemoteNodes(options);
  return Promise.all(Array.from({ length: options.count }, (_, i) =>
    spawnNode(system, {
      index: options.firstIndex + i,
      nodeName: remoteNodeName(options.prefix, i),
      runtime: options.runtime,
      allowProcesses: options.allowProcesses,
      timing: options.timing,
      dataDir: options.dataDir,
      apiConnection: options.connection,
      kubeletServer: options.kubeletServer,
      labels: { [NODE_POOL_LABEL]: options.prefix },
      providerID: `${REMOTE_PROVIDER_ID_SCHEME}${options.prefix}/${remoteNodeName(options.prefix, i)}`,
      // Sim pods have no sockets to forward to; listening on every ClusterIP for them would only contend with the other processes.
      forward: options.runtime !== 'sim',
      placement: options.count > NODES_WITH_OWN_THREADS_MAX ? `nodes-${i % NODE_POOL_THREADS}` : undefined,
    }),
  ));
}
