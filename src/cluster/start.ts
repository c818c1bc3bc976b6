/**
 * Starting a whole cluster in one ActorSystem: the etcd replicas, the API
 * server (HTTPS on 127.0.0.1 for kubectl), and the components that exist so
 * far. Wiring only: each component's behaviour lives in its own module
 * (actors/ holds their entries). This module sits at the top of the import
 * graph with the CLI.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { ThreadedSystem } from '../actor/threaded/threaded-system.js';
import type { ActorSystem } from '../actor/system.js';
import { apiServer } from '../api/behaviour.js';
import { APISERVER_NAME, type ApiReply, type ApiServerInfo, type ApiServerMsg, type ApiServerSecrets } from '../api/protocol.js';
import type { Lease, List, Node, Pod } from '../api/types/index.js';
import { groupStatus, spawnEtcdGroup } from '../kv/replica/group.js';
import { spawnSchedulers } from '../../actors/scheduler.js';
import { CONTROLLER_MANAGER_REPLICAS, spawnControllerManagers } from '../../actors/controller-manager.js';
import { spawnNode, type SpawnedNode } from '../../actors/node.js';
import { spawnCloudComponents } from '../cloud/setup.js';
import type { SchedulerComponentStatus } from '../scheduler/component.js';
import type { ReplicaStatus } from '../kv/replica/protocol.js';
import { ApiServerSpread, ClusterSpecError, REALISTIC_TIMING, timingFor, type ClusterSpec, type Timing } from './spec.js';
import type { ApiServerArgs, KvSource } from '../api/behaviour.js';
import { EtcdCluster, asReplicaStatuses, etcdVersion, memberStatus } from '../kv/etcd/cluster.js';
import { join } from 'node:path';
import { CCM_DEFAULTS } from '../cloud/ccm/manager.js';

export interface Cluster {
  readonly system: ActorSystem;
  readonly spec: ClusterSpec;
  readonly timing: Timing;
  readonly etcd: string[];
  /** The store, for people (`3 etcd replicas`, `etcd 3.4.23 (...)`). */
  readonly store: string;
  /** The first API server's (the one with the HTTPS face). */
  readonly api: ApiServerInfo;
  /** Every API server's actor name, the first (`apiserver`) first. */
  readonly apiservers: readonly string[];
  /** The API server a client spawned next should talk to: each in turn, as the cluster's own components were spread. */
  apiserverForNextClient(): string;
  /** The admin kubeconfig was written here. */
  readonly kubeconfigPath: string | undefined;
  status(): Promise<ClusterStatus>;
  /** Nodes the API server knows and how many of them are Ready (one LIST of nodes; undefined: it did not answer). */
  nodesReady(): Promise<{ nodes: number; ready: number } | undefined>;
  stop(): Promise<void>;
}

export interface ClusterStatus {
  atMs: number;
  threads: Array<{ thread: string; actors: string[] }>;
  actors: Array<{ name: string; state: string; restarts: number }>;
  etcd: Array<ReplicaStatus | { name: string; down: true }>;
  /** Pods by phase, or undefined when the API server did not answer. */
  podsByPhase: Record<string, number> | undefined;
  nodes: number | undefined;
  /** Nodes whose Ready condition is True (undefined: the API server did not answer). */
  nodesReady: number | undefined;
  /** Holder of each component's leader Lease in kube-system (kube-scheduler, kube-controller-manager, ...); '' when none. */
  leaders: Record<string, string> | undefined;
  /** Scheduler replicas: which one leads (undefined: did not answer). */
  schedulers: Array<{ name: string; leader: boolean; scheduled: number; pending: number } | { name: string; down: true }>;
}

export interface StartClusterOptions {
  logLevel?: string;
  /** Start into an existing system (tests); by default a ThreadedSystem on `spec.dataDir`. */
  system?: ActorSystem;
  /** Write the kubeconfig (default true). */
  writeKubeconfig?: boolean;
}

/**
 * The API server thread's heap for short-lived objects (V8's default: 48 MB).
 * Every request, watch event and frame it handles allocates garbage that dies
 * young; in the density burst that thread is the one saturated, and it spent
 * a sixth of its time collecting (docs/performance.md). Four times the space
 * means a quarter of the scavenges, each costing about what one did (it copies
 * survivors, not garbage), for at most 144 MB more memory.
 */
export const APISERVER_YOUNG_GENERATION_MB = 192;

export async function startCluster(spec: ClusterSpec, options: StartClusterOptions = {}): Promise<Cluster> {
  const system = options.system ?? new ThreadedSystem({ dataDir: spec.dataDir, logLevel: options.logLevel });
  const timing = timingFor(spec.profile);
  let store: ClusterStore | undefined;
  try {
    const started = await startStore(system, spec, timing);
    store = started;
    await system.spawn(apiServer, {
      name: APISERVER_NAME,
      youngGenerationMb: APISERVER_YOUNG_GENERATION_MB,
      args: {
        kv: started.kv,
        http: system.runtime === 'threaded' ? { host: spec.host, port: spec.port } : false,
        flowControl: flowControlFor(system, spec),
      },
    });
    const api = system.ref<ApiServerMsg>(APISERVER_NAME);
    const info = await api.ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 30_000 });
    const spread = new ApiServerSpread(spec.apiservers);
    await startMoreApiServers(system, spread.names.slice(1), started.kv, flowControlFor(system, spec));
    const election = { leaseDurationMs: timing.leaseDurationMs, renewDeadlineMs: timing.renewDeadlineMs, retryPeriodMs: timing.retryPeriodMs };
    const schedulerServers = spread.takeReplicas(SCHEDULER_REPLICAS);
    const schedulers = await spawnSchedulers(system, election, SCHEDULER_REPLICAS, () => schedulerServers.shift()!);
    const managerServers = spread.takeReplicas(CONTROLLER_MANAGER_REPLICAS);
    await spawnControllerManagers(system, { timing, replicas: CONTROLLER_MANAGER_REPLICAS, apiserverFor: () => managerServers.shift()!, apiQps: spec.controllerManagerQps, apiBurst: spec.controllerManagerBurst });
    // Worker nodes: runtime(s), kubelet and kube-proxy each (actors/node.ts); the process runtime keeps its logs under the system's data dir.
    // Spawned together: each node's threads start in parallel rather than one node after another.
    const nodes: SpawnedNode[] = await Promise.all(
      Array.from({ length: spec.nodes }, (_, index) =>
        spawnNode(system, {
          index, runtime: spec.runtime, allowProcesses: spec.allowProcesses, timing, dataDir: dataDirOf(system) ?? spec.dataDir, apiserver: spread.take(),
          // Many nodes share threads: a thread per actor stops paying off past a few dozen threads on a small machine.
          placement: spec.nodes > NODES_WITH_OWN_THREADS_MAX ? `nodes-${index % NODE_POOL_THREADS}` : undefined,
        }),
      ),
    );
    // The simulated cloud: an instance per node, and the cloud-controller-manager that initializes Nodes from them.
    // The CCM's periods and retry backoff follow the time profile like every other timeout (Kubernetes' own under realistic).
    const scale = timing.leaseDurationMs / REALISTIC_TIMING.leaseDurationMs;
    await spawnCloudComponents(system, {
      ccm: {
        leaderElection: election,
        apiserver: spread.take(),
        nodeMonitorPeriodMs: CCM_DEFAULTS.nodeMonitorPeriodMs * scale,
        routeReconcilePeriodMs: CCM_DEFAULTS.routeReconcilePeriodMs * scale,
        resyncPeriodMs: CCM_DEFAULTS.resyncPeriodMs * scale,
        retry: { baseMs: CCM_DEFAULTS.retry.baseMs * scale, maxMs: CCM_DEFAULTS.retry.maxMs * scale },
      },
      nodes: nodes.map((n) => ({ name: n.nodeName, internalIP: n.nodeIP, actors: [n.kubelet, n.kubeProxy, ...Object.values(n.runtimes)] })),
    });
    let kubeconfigPath: string | undefined;
    if (options.writeKubeconfig !== false && info.kubeconfig !== undefined) {
      // Written whole then renamed: a kubectl reading it never sees half a file.
      writeFileSync(`${spec.kubeconfigPath}.tmp`, info.kubeconfig, { mode: 0o600 });
      renameSync(`${spec.kubeconfigPath}.tmp`, spec.kubeconfigPath);
      kubeconfigPath = spec.kubeconfigPath;
    }
    return {
      system,
      spec,
      timing,
      etcd: started.names,
      store: started.describe,
      api: info,
      apiservers: spread.names,
      apiserverForNextClient: () => spread.take(),
      kubeconfigPath,
      status: () => clusterStatus(system, started, schedulers),
      nodesReady: () => nodesReady(system),
      stop: async () => {
        // Nodes first, as a real cluster is drained: kubelets stopped after the API server would each warn that their status writes failed.
        await Promise.all(nodes.flatMap((n) => [n.kubelet, n.kubeProxy]).map((name) => system.stop(name).catch(() => undefined)));
        try {
          await system.shutdown();
        } finally {
          // The store goes last, after the API server that writes to it.
          await started.stop();
        }
      },
    };
  } catch (error) {
    try {
      await system.shutdown();
    } finally {
      await store?.stop();
    }
    throw error;
  }
}

/**
 * The second and later API servers (kube-apiserver HA): each its own actor, thread and watch cache over the
 * same store, spawned once the first has bootstrapped the cluster (namespaces, RBAC policy), so none races it
 * to create them, with the first's tokens and signing key. None listens for HTTPS (the first has the port);
 * each still calls webhooks and remote kubelets over HTTPS in the threaded runtime.
 */
async function startMoreApiServers(system: ActorSystem, names: readonly string[], kv: KvSource, flowControl: ApiServerArgs['flowControl']): Promise<void> {
  if (names.length === 0) return;
  const secrets = await system.ref<ApiServerMsg>(APISERVER_NAME).ask<ApiServerSecrets>({ type: 'api.secrets', body: null }, { timeoutMs: 30_000 });
  await Promise.all(names.map(async (name) => {
    await system.spawn(apiServer, {
      name,
      youngGenerationMb: APISERVER_YOUNG_GENERATION_MB,
      args: { kv, http: false, outboundHttps: system.runtime === 'threaded', secrets, flowControl },
    });
    await system.ref<ApiServerMsg>(name).ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 30_000 });
  }));
}

/** API Priority and Fairness where the spec asks for it and handlers take real time (threads), else off. */
function flowControlFor(system: ActorSystem, spec: ClusterSpec): ApiServerArgs['flowControl'] {
  return spec.priorityAndFairness && system.runtime === 'threaded' ? {} : false;
}

/** Scheduler replicas, one active through its Lease (spawnSchedulers' default). */
const SCHEDULER_REPLICAS = 2;

/** Where the cluster's state lives: how the API server reaches it, how to see it, how to stop it. */
interface ClusterStore {
  kv: KvSource;
  names: string[];
  /** For people: `3 etcd replicas`, `etcd 3.4.23 (3 members started here, data in ...)`. */
  describe: string;
  status(): Promise<Array<ReplicaStatus | undefined>>;
  stop(): Promise<void>;
}

async function startStore(system: ActorSystem, spec: ClusterSpec, timing: Timing): Promise<ClusterStore> {
  if (spec.store === 'raft') {
    const group = await spawnEtcdGroup(system, { replicas: spec.etcdReplicas, replica: { tickMs: timing.raftTickMs } });
    return {
      kv: { kind: 'replicated', options: { replicas: group.names } }, names: group.names, describe: `${spec.etcdReplicas} etcd replicas`,
      status: () => groupStatus(system, group.names), stop: async () => undefined,
    };
  }
  if (system.runtime === 'simulated') {
    throw new ClusterSpecError('store etcd runs a real etcd over gRPC, which the simulated runtime cannot replay: use the threaded runtime, or store raft');
  }
  if (spec.etcdEndpoints !== undefined) {
    const endpoints = spec.etcdEndpoints;
    const names = endpoints.map((url) => url.replace(/^https?:\/\//, ''));
    // Asked here, before the API server waits on them: a wrong URL is an error that names it, not a timeout.
    const reachable = await Promise.all(endpoints.map((url, i) => memberStatus(url, i, names[i]!, ENDPOINT_PROBE_TIMEOUT_MS)));
    if (reachable.every((s) => s === undefined)) {
      throw new ClusterSpecError(`no etcd member answered at ${endpoints.join(', ')}: check that etcd runs there (etcdctl --endpoints ${endpoints[0]} endpoint health), or let --store etcd start one`);
    }
    return {
      kv: { kind: 'etcd', endpoints }, names, describe: `etcd at ${endpoints.join(',')}`,
      status: async () => asReplicaStatuses(await Promise.all(endpoints.map((url, i) => memberStatus(url, i, names[i]!)))),
      stop: async () => undefined,
    };
  }
  const version = etcdVersion(spec.etcdBinary);
  if (version === undefined) throw new ClusterSpecError(`store etcd needs the etcd binary (${spec.etcdBinary ?? 'etcd on the PATH'}): run scripts/install-etcd.sh, or give --etcd-endpoints`);
  // Kept under the cluster's state directory when it has one; a temporary directory otherwise.
  const etcd = await EtcdCluster.start({
    members: spec.etcdReplicas, heartbeatMs: timing.raftTickMs, electionMs: timing.raftTickMs * ELECTION_TICKS, binary: spec.etcdBinary,
    dataDir: spec.dataDir === undefined ? undefined : join(spec.dataDir, 'etcd'), cleanOnSignals: false,
  });
  return {
    kv: { kind: 'etcd', endpoints: etcd.clientUrls() }, names: etcd.names,
    describe: `etcd ${version} (${spec.etcdReplicas} members at ${etcd.clientUrls().join(',')}, data in ${etcd.dir})`,
    status: async () => asReplicaStatuses(await etcd.statuses(), etcd.namesById), stop: () => etcd.stop(),
  };
}

/** How long `--etcd-endpoints` are given to answer at start-up. */
const ENDPOINT_PROBE_TIMEOUT_MS = 5_000;
/** The election timeout in heartbeats: etcd's defaults (100 ms / 1,000 ms), as kubethreads' replicas use. */
const ELECTION_TICKS = 10;

/** Up to this many nodes, each node actor gets its own thread (the architecture's default placement). */
const NODES_WITH_OWN_THREADS_MAX = 10;
/** Beyond that, nodes share this many threads. Why 4: two cores, and room for the control plane's threads. */
const NODE_POOL_THREADS = 4;

function dataDirOf(system: ActorSystem): string | undefined {
  return system instanceof ThreadedSystem ? system.dataDir : undefined;
}

function isReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

async function nodesReady(system: ActorSystem): Promise<{ nodes: number; ready: number } | undefined> {
  const api = system.ref<ApiServerMsg>(APISERVER_NAME);
  const reply = await api.ask<ApiReply<List<Node>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'nodes' } }, { timeoutMs: 5_000 }).catch(() => undefined);
  if (reply === undefined || !reply.ok) return undefined;
  return { nodes: reply.body.items.length, ready: reply.body.items.filter(isReady).length };
}

/**
 * Waits until every one of the spec's Nodes is Ready (what `up`'s `ready` line promises), calling `progress` at
 * each poll. Resolves true when they are, false when `stopped()` said to give up first.
 */
export async function waitForNodesReady(
  cluster: Pick<Cluster, 'spec' | 'nodesReady'>,
  options: { sleep: (ms: number) => Promise<void>; stopped: () => boolean; progress?: (state: { nodes: number; ready: number } | undefined) => void; pollMs?: number },
): Promise<boolean> {
  for (;;) {
    if (options.stopped()) return false;
    const state = await cluster.nodesReady();
    options.progress?.(state);
    if (state !== undefined && state.ready >= cluster.spec.nodes) return true;
    await options.sleep(options.pollMs ?? NODES_READY_POLL_MS);
  }
}

/** How often start-up checks the Nodes: a LIST of 5,000 Nodes from the watch cache costs milliseconds. */
const NODES_READY_POLL_MS = 500;

async function clusterStatus(system: ActorSystem, store: Pick<ClusterStore, 'names' | 'status'>, schedulers: string[]): Promise<ClusterStatus> {
  const api = system.ref<ApiServerMsg>(APISERVER_NAME);
  const [inspection, replicas, pods, nodes, leases, schedulerStatuses] = await Promise.all([
    system.inspect(),
    store.status(),
    api.ask<ApiReply<List<Pod>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'pods' } }, { timeoutMs: 1_000 }).catch(() => undefined),
    api.ask<ApiReply<List<Node>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'nodes' } }, { timeoutMs: 1_000 }).catch(() => undefined),
    api.ask<ApiReply<List<Lease>>>({ type: 'api.list', body: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system' } }, { timeoutMs: 1_000 }).catch(() => undefined),
    Promise.all(schedulers.map((name) => system.ref(name).ask<SchedulerComponentStatus>({ type: 'scheduler.status', body: null }, { timeoutMs: 1_000 }).catch(() => undefined))),
  ]);
  let podsByPhase: Record<string, number> | undefined;
  if (pods?.ok) {
    podsByPhase = {};
    for (const pod of pods.body.items) {
      const phase = pod.metadata?.deletionTimestamp ? 'Terminating' : pod.status?.phase ?? 'Pending';
      podsByPhase[phase] = (podsByPhase[phase] ?? 0) + 1;
    }
  }
  return {
    atMs: system.now(),
    threads: inspection.threads.map((t) => ({ thread: t.thread, actors: t.actors })),
    actors: inspection.actors.map((a) => ({ name: a.name, state: a.state, restarts: a.restarts })),
    etcd: replicas.map((s, i) => s ?? { name: store.names[i] ?? `store-${i}`, down: true as const }),
    podsByPhase,
    nodes: nodes?.ok ? nodes.body.items.length : undefined,
    nodesReady: nodes?.ok ? nodes.body.items.filter(isReady).length : undefined,
    leaders: leases?.ok ? Object.fromEntries(leases.body.items.map((l) => [l.metadata.name ?? '', l.spec?.holderIdentity ?? ''])) : undefined,
    schedulers: schedulerStatuses.map((st, i) => (st === undefined ? { name: schedulers[i]!, down: true as const } : { name: st.name, leader: st.leader, scheduled: st.scheduled, pending: st.pending })),
  };
}

export { formatClusterStatus, clusterStatusLine } from './status-format.js';
