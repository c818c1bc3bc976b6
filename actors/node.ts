/**
 * A worker node: its container runtime(s), kubelet and kube-proxy, each an
 * actor (`runtime-<node>`, `kubelet-<node>`, `kube-proxy-<node>`). Wiring
 * only: addresses and CIDRs per node index, timing from the cluster's profile.
 *
 * Addresses on one machine: node i has InternalIP 127.1.<i/250>.<i%250+1>;
 * its pods get addresses from a /24 of their runtime's range (process
 * 127.10.0.0/16 + i, worker 127.40.0.0/16 + i, sim 10.244.0.0/16 + i, on past 10.255), so
 * process pods of different nodes never collide and need no privileges.
 */
import { join } from 'node:path';
import type { ActorSystem } from '../src/actor/system.js';
import { NODES_MAX, REALISTIC_TIMING, type Timing } from '../src/cluster/spec.js';
import { kubelet, DEFAULT_NODE_CAPACITY, type KubeletArgs, type KubeletFeatureGates, type RuntimeKind } from '../src/node/kubelet/kubelet.js';
import { kubeletTimingFor } from '../src/node/kubelet/timing.js';
import { kubeProxy, type KubeProxyArgs } from '../src/node/proxy/kube-proxy.js';
import type { ApiConnection } from '../src/node/kubelet/http-api-client.js';
import { processRuntime, simRuntime, workerRuntime } from '../src/node/runtime/index.js';

/** kube-proxy's --iptables-min-sync-period default. */
const KUBE_PROXY_MIN_SYNC_PERIOD_MS = 1_000;

export interface NodeOptions {
  /** Node i is `node-<i>`. */
  index: number;
  /** The node's default runtime. */
  runtime: RuntimeKind;
  /** The process runtime (and exec probes) run real commands only with this. */
  allowProcesses: boolean;
  timing: Timing;
  /** Where the process runtime keeps logs and pid records (`<dataDir>/nodes/<node>`); required for process. */
  dataDir: string | undefined;
  /** Further runtimes pods may pick by runtimeClassName. Default: sim, plus process when allowed and threaded. */
  runtimes?: RuntimeKind[];
  /** Capacity (cpu also sizes the worker runtime's pool). */
  capacity?: Record<string, string>;
  zone?: string;
  apiserver?: string;
  /** Host all of the node's actors in this shared thread (many light nodes); default: a thread per actor, runtimes of a node together. */
  placement?: string;
  /** SpawnOptions.cpuNiceIncrement of every actor of the node (threaded: its threads run that much lower in the CPU scheduler). */
  cpuNiceIncrement?: number;
  /** The Node's name (default `node-<index>`); its actors are named after it. */
  nodeName?: string;
  /** Reach the API server over HTTPS instead of actor messages: a node in another process than the API server. */
  apiConnection?: ApiConnection;
  /** Serve the kubelet's HTTPS endpoint (logs) on the node's IP at `port` (0: any free port) with this certificate. */
  kubeletServer?: { port: number; certPem: string; keyPem: string };
  /** spec.providerID the kubelet registers the Node with (its --provider-id). */
  providerID?: string;
  /** Further labels of the Node. */
  labels?: Record<string, string>;
  /** Run kube-proxy's TCP forwarder (default: in the threaded runtime). */
  forward?: boolean;
  /** The kubelet's feature gates (EventedPLEG); default: Kubernetes' (all off). */
  kubeletFeatureGates?: KubeletFeatureGates;
}

export interface SpawnedNode {
  nodeName: string;
  nodeIP: string;
  runtimes: Partial<Record<RuntimeKind, string>>;
  kubelet: string;
  kubeProxy: string;
}

/** Nodes whose addresses fit the scheme above: the cluster spec's NODES_MAX (5,000). */
export const NODE_INDEX_MAX = NODES_MAX;

export function nodeNameOf(index: number): string {
  return `node-${index}`;
}

export function nodeAddressing(index: number): { nodeIP: string; podCidrs: Record<RuntimeKind, string> } {
  if (!Number.isInteger(index) || index < 0 || index >= NODE_INDEX_MAX) throw new Error(`node index must be an integer in [0, ${NODE_INDEX_MAX}), got ${index}`);
  const hi = Math.floor(index / 256);
  const lo = index % 256;
  return {
    nodeIP: `127.1.${Math.floor(index / 250)}.${(index % 250) + 1}`,
    // Sim pods past 10.255.255.0/24 (node 3,072 on) wrap around to 10.0.0.0/24: 10.0.0.0/8 has room for 65,536 nodes.
    podCidrs: { process: `127.${10 + hi}.${lo}.0/24`, worker: `127.${40 + hi}.${lo}.0/24`, sim: `10.${(244 + hi) % 256}.${lo}.0/24` },
  };
}

export async function spawnNode(system: ActorSystem, options: NodeOptions): Promise<SpawnedNode> {
  const nodeName = options.nodeName ?? nodeNameOf(options.index);
  const { nodeIP, podCidrs } = nodeAddressing(options.index);
  const threaded = system.runtime === 'threaded';
  const kinds = new Set<RuntimeKind>([options.runtime, ...(options.runtimes ?? ['sim', ...(options.allowProcesses && threaded ? (['process'] as const) : [])])]);
  if (!threaded && (kinds.has('process') || kinds.has('worker'))) throw new Error(`node ${nodeName}: the ${kinds.has('process') ? 'process' : 'worker'} runtime needs the threaded runtime`);
  const capacity = { ...DEFAULT_NODE_CAPACITY, ...options.capacity };
  const runtimes: Partial<Record<RuntimeKind, string>> = {};
  const runtimePlacement = options.placement ?? `runtimes-${nodeName}`;
  const nice = options.cpuNiceIncrement === undefined ? {} : { cpuNiceIncrement: options.cpuNiceIncrement };
  for (const kind of kinds) {
    const name = kind === options.runtime ? `runtime-${nodeName}` : `runtime-${nodeName}-${kind}`;
    runtimes[kind] = name;
    switch (kind) {
      case 'sim':
        await system.spawn(simRuntime, { name, args: { podCidr: podCidrs.sim }, placement: runtimePlacement, ...nice });
        break;
      case 'process': {
        if (options.dataDir === undefined) throw new Error(`node ${nodeName}: the process runtime needs a data directory for logs and pid records`);
        await system.spawn(processRuntime, {
          name, placement: runtimePlacement, ...nice,
          args: { allowProcesses: options.allowProcesses, dataDir: join(options.dataDir, 'nodes', nodeName, 'process'), podCidr: podCidrs.process },
        });
        break;
      }
      case 'worker':
        await system.spawn(workerRuntime, { name, args: { cpus: Math.max(1, Number.parseInt(capacity.cpu ?? '1', 10) || 1), podCidr: podCidrs.worker }, placement: runtimePlacement, ...nice });
        break;
    }
  }
  const kubeletArgs: KubeletArgs = {
    nodeName,
    apiserver: options.apiserver,
    ...(options.apiConnection !== undefined ? { apiConnection: options.apiConnection } : {}),
    ...(options.kubeletServer !== undefined ? { serve: { host: nodeIP, ...options.kubeletServer } } : {}),
    ...(options.providerID !== undefined ? { providerID: options.providerID } : {}),
    defaultRuntime: options.runtime,
    runtimes,
    timing: kubeletTimingFor(options.timing.nodeLeaseRenewMs),
    nodeIP,
    podCidr: podCidrs[options.runtime],
    capacity,
    labels: options.zone !== undefined || options.labels !== undefined ? { ...options.labels, ...(options.zone !== undefined ? { 'topology.kubernetes.io/zone': options.zone } : {}) } : undefined,
    allowProcesses: options.allowProcesses,
    ...(options.kubeletFeatureGates !== undefined ? { featureGates: options.kubeletFeatureGates } : {}),
  };
  const kubeletName = `kubelet-${nodeName}`;
  await system.spawn(kubelet, { name: kubeletName, args: kubeletArgs, ...nice, ...(options.placement !== undefined ? { placement: options.placement } : {}) });
  // kube-proxy's min sync period is 1 s (--iptables-min-sync-period); the fast profile divides it with every other period.
  const minSyncPeriodMs = KUBE_PROXY_MIN_SYNC_PERIOD_MS * (options.timing.nodeLeaseRenewMs / REALISTIC_TIMING.nodeLeaseRenewMs);
  const proxyArgs: KubeProxyArgs = {
    nodeName, zone: options.zone, apiserver: options.apiserver, forward: options.forward ?? threaded, nodeIP, minSyncPeriodMs,
    ...(options.apiConnection !== undefined ? { apiConnection: options.apiConnection } : {}),
  };
  const proxyName = `kube-proxy-${nodeName}`;
  await system.spawn(kubeProxy, { name: proxyName, args: proxyArgs, ...nice, ...(options.placement !== undefined ? { placement: options.placement } : {}) });
  return { nodeName, nodeIP, runtimes, kubelet: kubeletName, kubeProxy: proxyName };
}
