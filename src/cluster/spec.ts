/**
 * The cluster spec: what `kubethreads up` and chaos scenarios start. Pure:
 * defaults, validation, and the time profiles that scale every timeout.
 */

import { APISERVERS_MAX, apiserverName } from '../api/protocol.js';

export type RuntimeKind = 'sim' | 'process' | 'worker';
export type TimeProfile = 'realistic' | 'fast';
/** `raft`: kubethreads' own replicas (actors); `etcd`: a real etcd v3 cluster, started locally or given by endpoints. */
export type StoreKind = 'raft' | 'etcd';

export interface ClusterSpec {
  /** Worker nodes (each: kubelet, kube-proxy, runtime). */
  nodes: number;
  /** The nodes' default container runtime. */
  runtime: RuntimeKind;
  /** The process runtime runs real commands only when this is true. */
  allowProcesses: boolean;
  profile: TimeProfile;
  etcdReplicas: number;
  /** Which store the API server runs on (default raft; etcd when `etcdEndpoints` are given). */
  store: StoreKind;
  /** An existing etcd v3 cluster's client URLs: the API server uses it, nothing is started. */
  etcdEndpoints: string[] | undefined;
  /** The etcd binary a local etcd cluster is started from (default `etcd` on the PATH). */
  etcdBinary: string | undefined;
  /**
   * API servers (kube-apiserver HA), each an actor in its own thread with its own watch cache fed from the
   * store; the in-process clients are spread over them (see `ApiServerSpread`). Only the first listens on
   * `port`. Default 1.
   */
  apiservers: number;
  /**
   * API Priority and Fairness in the API servers (kube-apiserver's `--enable-priority-and-fairness`): requests
   * are classified by Kubernetes' default FlowSchemas into priority levels and flows, and once they wait, every
   * waiting level's oldest starts first in each turn of the server's thread (src/api/flow-control.ts). Only where
   * a handler takes real time, the threaded runtime. Default false, unlike Kubernetes: it meets every 1,000-node
   * target but costs a 5,000-node burst throughput (docs/performance.md, "API Priority and Fairness again").
   */
  priorityAndFairness: boolean;
  /**
   * kube-controller-manager's `--kube-api-qps` / `--kube-api-burst`: the controllers' requests wait in a
   * token bucket of this many a second (burst default: the qps). Undefined (the default): no limit, unlike
   * Kubernetes' 20 / 30, which would hold a 20,000-pod burst to 20 creates a second.
   */
  controllerManagerQps: number | undefined;
  controllerManagerBurst: number | undefined;
  /** The API server's HTTPS port on 127.0.0.1 (0: any free port). */
  port: number;
  host: string;
  /** Keeps state across restarts; undefined: a temporary directory removed at exit. */
  dataDir: string | undefined;
  /** Where the admin kubeconfig is written. */
  kubeconfigPath: string;
}

/** Every timeout in one place, in milliseconds. */
export interface Timing {
  /** One Raft tick: heartbeat = 1 tick, election timeout = 10 ticks. */
  raftTickMs: number;
  /** Leader election of scheduler and controller-manager (Kubernetes: 15 s / 10 s / 2 s). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Kubelet node lease renewal (10 s) and the node controller's grace before NotReady (50 s) and eviction (300 s). */
  nodeLeaseRenewMs: number;
  nodeMonitorGraceMs: number;
  podEvictionTimeoutMs: number;
}

/** etcd's and Kubernetes' own defaults. */
export const REALISTIC_TIMING: Timing = Object.freeze({
  raftTickMs: 100,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  nodeLeaseRenewMs: 10_000,
  nodeMonitorGraceMs: 50_000,
  podEvictionTimeoutMs: 300_000,
});

/** `fast` keeps every ratio and divides every duration by this. Why 10: failover in seconds, yet ticks well above thread-scheduling noise. */
export const FAST_PROFILE_DIVISOR = 10;

export function timingFor(profile: TimeProfile): Timing {
  if (profile === 'realistic') return REALISTIC_TIMING;
  const t = {} as Record<keyof Timing, number>;
  for (const [k, v] of Object.entries(REALISTIC_TIMING) as [keyof Timing, number][]) t[k] = v / FAST_PROFILE_DIVISOR;
  return t;
}

/** Nodes per cluster. Why 5,000: Kubernetes' own scalability envelope; past it nothing upstream is promised either. */
export const NODES_MAX = 5_000;

export class ClusterSpecError extends Error {
  override readonly name = 'ClusterSpecError';
}

/** Fills defaults and validates; throws `ClusterSpecError` naming the field and what to do. */
export function resolveClusterSpec(input: Partial<ClusterSpec>): ClusterSpec {
  const spec: ClusterSpec = {
    nodes: input.nodes ?? 3,
    runtime: input.runtime ?? 'sim',
    allowProcesses: input.allowProcesses ?? input.runtime === 'process',
    profile: input.profile ?? 'realistic',
    etcdReplicas: input.etcdReplicas ?? 3,
    store: input.store ?? (input.etcdEndpoints !== undefined ? 'etcd' : 'raft'),
    apiservers: input.apiservers ?? 1,
    priorityAndFairness: input.priorityAndFairness ?? false,
    controllerManagerQps: input.controllerManagerQps,
    controllerManagerBurst: input.controllerManagerBurst,
    etcdEndpoints: input.etcdEndpoints,
    etcdBinary: input.etcdBinary,
    port: input.port ?? 6443,
    host: input.host ?? '127.0.0.1',
    dataDir: input.dataDir,
    kubeconfigPath: input.kubeconfigPath ?? 'kubeconfig',
  };
  if (!Number.isInteger(spec.nodes) || spec.nodes < 0 || spec.nodes > NODES_MAX) throw new ClusterSpecError(`nodes must be an integer from 0 to ${NODES_MAX}, not ${spec.nodes}`);
  if (!['sim', 'process', 'worker'].includes(spec.runtime)) throw new ClusterSpecError(`runtime must be sim, process or worker, not ${JSON.stringify(spec.runtime)}`);
  if (!['realistic', 'fast'].includes(spec.profile)) throw new ClusterSpecError(`profile must be realistic or fast, not ${JSON.stringify(spec.profile)}`);
  if (!Number.isInteger(spec.etcdReplicas) || spec.etcdReplicas < 1 || spec.etcdReplicas % 2 === 0) throw new ClusterSpecError(`etcdReplicas must be odd (1, 3, 5), not ${spec.etcdReplicas}`);
  if (!Number.isInteger(spec.apiservers) || spec.apiservers < 1 || spec.apiservers > APISERVERS_MAX) throw new ClusterSpecError(`apiservers must be an integer from 1 to ${APISERVERS_MAX}, not ${spec.apiservers}`);
  if (spec.controllerManagerQps !== undefined && !(Number.isFinite(spec.controllerManagerQps) && spec.controllerManagerQps > 0)) throw new ClusterSpecError(`controllerManagerQps must be a positive number of requests a second, not ${spec.controllerManagerQps}`);
  if (spec.controllerManagerBurst !== undefined && !(Number.isInteger(spec.controllerManagerBurst) && spec.controllerManagerBurst >= 1)) throw new ClusterSpecError(`controllerManagerBurst must be a positive integer, not ${spec.controllerManagerBurst}`);
  if (spec.controllerManagerBurst !== undefined && spec.controllerManagerQps === undefined) throw new ClusterSpecError('controllerManagerBurst needs controllerManagerQps (the bucket it sizes)');
  if (!['raft', 'etcd'].includes(spec.store)) throw new ClusterSpecError(`store must be raft or etcd, not ${JSON.stringify(spec.store)}`);
  if (spec.etcdEndpoints !== undefined && spec.store !== 'etcd') throw new ClusterSpecError('etcdEndpoints name an etcd cluster: they need store etcd (or leave store out)');
  if (spec.etcdEndpoints !== undefined && spec.etcdEndpoints.length === 0) throw new ClusterSpecError('etcdEndpoints needs at least one URL, such as http://127.0.0.1:2379');
  if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65_535) throw new ClusterSpecError(`port must be from 0 to 65535, not ${spec.port}`);
  if (spec.runtime === 'process' && !spec.allowProcesses) {
    throw new ClusterSpecError('runtime process runs real commands: enable it explicitly with allowProcesses: true');
  }
  return spec;
}

/**
 * Spreads a cluster's in-process clients over its API servers, as a load balancer in front of several
 * kube-apiservers would: each client is given the next server in turn when it is spawned, and keeps it (a
 * client's requests and watches all go to one server). Deterministic: the same spawn order, the same
 * assignment, in both runtimes.
 */
export class ApiServerSpread {
  private next = 0;
  private replicaSets = 0;
  readonly names: readonly string[];

  constructor(apiservers: number) {
    if (!Number.isInteger(apiservers) || apiservers < 1) throw new ClusterSpecError(`apiservers must be a positive integer, not ${apiservers}`);
    this.names = Array.from({ length: apiservers }, (_, i) => apiserverName(i));
  }

  /** The API server the next client talks to. */
  take(): string {
    const name = this.names[this.next % this.names.length]!;
    this.next++;
    return name;
  }

  /**
   * The API servers of a leader-elected component's replicas (replica i gets the i-th): in turn from a start
   * that moves on by one per component, so that the first replicas of successive components, which usually
   * win their elections (they start first), talk to different servers. Taken in plain turn, with two servers,
   * scheduler-0 and controller-manager-0 both got the first and its thread did most of the burst's work
   * (docs/performance.md, "Several API servers").
   */
  takeReplicas(count: number): string[] {
    const start = this.replicaSets++;
    return Array.from({ length: count }, (_, i) => this.names[(start + i) % this.names.length]!);
  }
}
