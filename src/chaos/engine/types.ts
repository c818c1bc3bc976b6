/**
 * The chaos engine's vocabulary: a scenario (what to run), the environment a
 * plugin acts through (the system, time, the seeded random source), the
 * plugins (workloads, nemeses, checks), and what a run produces.
 *
 * Plugins are registered by name (see registry.ts). The store's plugins are
 * built in; Kubernetes-level ones (Deployment churn, scheduler failover, node
 * crash) register the same way and need no change to the engine.
 */
import type { MetricsSampling } from './metric-series.js';
import type { ActorSystem } from '../../actor/system.js';
import type { SimulatedSystem } from '../../actor/sim/sim-system.js';
import type { ReplicaStatus } from '../../kv/replica/protocol.js';
import type { Operation } from '../history.js';

/** A JSON Schema fragment (the subset schema.ts validates: type, properties, required, enum, const, minimum, maximum, items, oneOf, description, default). */
export type JsonSchema = Record<string, unknown>;

// ---------------------------------------------------------------- scenario

export interface ClusterSpec {
  /** The store: kubethreads' Raft replicas (absent or 'raft'), or real etcd member processes (threaded runtime only). */
  store?: 'raft' | 'etcd';
  /** Replicas of the store (odd). */
  replicas: number;
  tickMs: number;
  heartbeatTicks: number;
  electionTicks: number;
  /** Width of the randomized election timeout range in ticks (default electionTicks). */
  electionJitterTicks?: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Simulated runtime only: one-way message latency, uniform in [min, max] ms. */
  network: { latencyMinMs: number; latencyMaxMs: number };
  /** Simulated runtime only: what every fsync of the in-memory disks takes, in ms (a disk fault's fsyncDelayMs adds to it). */
  disk: { fsyncLatencyMs: number };
}

/** One fault of the schedule as written: a nemesis name and its parameters. */
export interface FaultSpec {
  fault: string;
  /** How long the fault lasts before it is healed (0: instantaneous, such as a kill). */
  durationMs?: number;
  [param: string]: unknown;
}

export type NemesisEntry =
  | ({ atMs: number } & FaultSpec)
  | {
      random: {
        /** Mean faults per minute (a Poisson process drawn from the seed). */
        perMinute: number;
        fromMs: number;
        untilMs: number;
        /** Drawn uniformly for each arrival. */
        faults: FaultSpec[];
      };
    };

export interface CheckSpec {
  check: string;
  [param: string]: unknown;
}

export interface Scenario {
  name: string;
  description: string;
  cluster: ClusterSpec;
  /** Workload name → its spec (see each workload's schema). */
  workload: Record<string, Record<string, unknown>>;
  nemesis: NemesisEntry[];
  /** The workload runs this long from the first fault's time origin; every fault still active at the end is healed. */
  durationMs: number;
  checks: CheckSpec[];
  /** How often each replica's status (role, term, leader, commit) is sampled for the plots and figures. */
  sampleMs: number;
  /** Series sampled from the cluster's metrics on the run's timeline (absent: none). */
  metrics?: MetricsSampling;
}

/** A fault of the concrete schedule: fixed time, nemesis name, parameters (random entries expanded from the seed). */
export interface ScheduledFault extends FaultSpec {
  atMs: number;
}

// ---------------------------------------------------------------- environment

/**
 * State one run's plugins share: a workload's observation for its checks, a
 * nemesis' record for the workload. The engine makes a fresh one for every
 * run (and hands it to workloads and nemeses through ChaosEnv, to checks
 * through RunData), so two runs never share state even through a registry
 * that lives as long as the process. Keys name the plugin family ('cloud').
 */
export interface RunState {
  /** The value under `key`, made by `init` the first time this run asks for it. */
  get<T>(key: string, init: () => T): T;
}

/** What the engine offers plugins while a run is in progress. Times are ms since the run's origin. */
export interface ChaosEnv {
  readonly system: ActorSystem;
  /** Present in the simulated runtime. */
  readonly sim: SimulatedSystem | undefined;
  readonly scenario: Scenario;
  readonly seed: number;
  /** This run's shared plugin state (fresh for every run). */
  readonly state: RunState;
  /** The store's replicas, in Raft id order (with store etcd: its members' names, etcd-0...). */
  readonly replicas: readonly string[];
  /** With store etcd: the member processes the run started (the only ones its nemeses may signal). */
  readonly etcd: EtcdMembers | undefined;
  /** Every workload actor (clients, watchers): "everyone else" for partitions. */
  readonly clients: string[];
  /** The origin in the system's clock (ms): workload actors compare their `now()` with `originMs + t`. */
  readonly originMs: number;
  /** Milliseconds since the run's origin. */
  elapsedMs(): number;
  /**
   * The actor a fault's `target` names: `leader`, `follower` or `random` among
   * the store's replicas, a leader a plugin knows how to find
   * (`scheduler-leader`, `controller-manager-leader`), or any actor by name
   * (`apiserver`, `scheduler-1`, `kubelet-node-0`). `pinned` (a replay's
   * `nodes`) wins.
   */
  resolveTarget(target: string, pinned?: unknown): Promise<string>;
  /** Wait until the store has a leader (after healing, before final reads). */
  waitForLeader(): Promise<void>;
  /** Await a host-side promise (the simulated runtime runs until it settles). */
  settle<T>(promise: Promise<T>): Promise<T>;
  /** Uniform in [0, 1), from the nemesis' own seeded stream. */
  random(): number;
  /** The newest status sample of every replica (undefined: did not answer). */
  latestStatus(): Array<ReplicaStatus | undefined>;
  /** The current leader by the newest sample: the highest term's self-declared leader. */
  leader(): { name: string; term: number } | undefined;
  /** Run `action` `afterMs` from now, inside the engine's loop (rolling restarts and other multi-step faults). */
  schedule(afterMs: number, label: string, action: () => Promise<void>): void;
  log(line: string): void;
}

/** A run's real etcd members, by name: what its nemeses do to them is done to processes, never to actors. */
export interface EtcdMembers {
  /** Client URLs, for the workloads' and the API server's etcd clients. */
  readonly endpoints: readonly string[];
  has(name: string): boolean;
  /** kill -9, and wait until the process is reaped. */
  kill(name: string): Promise<void>;
  /** Start a killed member again on its data directory. */
  restart(name: string): void;
  /** SIGSTOP / SIGCONT. */
  pause(name: string): void;
  resume(name: string): void;
}

// ---------------------------------------------------------------- plugins

export interface WorkloadContext {
  env: ChaosEnv;
  /** Stop invoking new operations at this many ms after the origin. */
  untilMs: number;
}

export interface WorkloadRun {
  /** Actor names this workload spawned (they count as clients for partitions). */
  actors: string[];
  /** Called once the run's faults are healed; resolves with what the workload observed. */
  finish(): Promise<WorkloadOutput>;
}

export interface WatchEventRecord {
  revision: number;
  key: string;
  type: 'put' | 'delete';
  value: string;
}

export interface WatchObservation {
  watcher: string;
  events: WatchEventRecord[];
  /** Highest revision the watch vouched for (events or progress notifications). */
  lastRevision: number;
}

/**
 * A request that is not a register operation: traffic to a Service through
 * kube-proxy, or a call to the API server. Times absolute in the system's
 * clock from a workload; the engine shifts them to ms from the origin.
 */
export interface RequestRecord {
  kind: 'service' | 'api';
  /** Who sent it (a workload actor). */
  process: string;
  /** service: `namespace/name`; api: `<verb> <resource>` such as `patch deployments`. */
  target: string;
  /** api: `mutating`, `read` (one object) or `list`, the SLO's classes; service: the node whose kube-proxy routed it. */
  class: string;
  invokeMs: number;
  completeMs: number;
  ok: boolean;
  /** service: the pod that answered. */
  servedBy?: string;
  error?: string;
}

/** Desired vs Running pods and the control plane's leaders at one moment, for the report. */
export interface ClusterSample {
  tMs: number;
  /** Summed over the workload's Deployments; absent when the API server did not answer. */
  desired?: number;
  running?: number;
  /** Running on the Deployment's current image. */
  runningCurrent?: number;
  schedulerLeader: string | null;
  controllerManagerLeader: string | null;
}

export interface WorkloadOutput {
  /** Register operations (times absolute in the system's clock; the engine shifts them). */
  operations?: Operation[];
  /** Service traffic and API calls (times absolute; the engine shifts them). */
  requests?: RequestRecord[];
  /** The cluster over time (times already in ms from the origin). */
  cluster?: ClusterSample[];
  watches?: WatchObservation[];
  /** Ground truth recorded after the run (e.g. every event of the store from revision 1). */
  reference?: { events: WatchEventRecord[]; revision: number };
}

export interface WorkloadPlugin<S = Record<string, unknown>> {
  name: string;
  description: string;
  /** Schema of this workload's spec under `workload.<name>`. */
  schema: JsonSchema;
  /** Spawns the workload's actors (before the origin) and returns a handle; `start` runs it. */
  prepare(env: ChaosEnv, spec: S): Promise<{ actors: string[]; start(ctx: WorkloadContext): WorkloadRun }>;
}

/** What an injected fault reports back. */
export interface Injection {
  /** The actors it hit, in the nemesis' order (a replay can pin them through the `nodes` parameter). */
  nodes: string[];
  /** For people: what was done. */
  description: string;
  /** Undo it (called at atMs + durationMs, or when the run ends). */
  heal?: () => Promise<void>;
}

export interface NemesisPlugin<P extends FaultSpec = FaultSpec> {
  name: string;
  description: string;
  /** Schema of the fault's own parameters (besides fault, atMs, durationMs, nodes). */
  schema: JsonSchema;
  /** True when the fault stays in force for `durationMs` and needs it. */
  needsDuration: boolean;
  inject(env: ChaosEnv, params: P): Promise<Injection>;
}

/** Per fault: what the run measured around it. Times in ms from the fault's start. */
export interface FaultFigures {
  index: number;
  fault: string;
  nodes: string[];
  description: string;
  atMs: number;
  /** When the fault was healed (absent: instantaneous). */
  healedAtMs?: number;
  leaderBefore: string | null;
  termBefore: number | null;
  /** Until a leader of a higher term than before reported itself; null: no election happened before the next fault. */
  newLeaderMs: number | null;
  /** How many terms that election took (its term minus the term before): 1 at the first attempt, more after split votes. */
  electionTerms: number | null;
  /** Longest gap between successful operations, from the fault to the next fault (or the end). */
  unavailabilityMs: number | null;
  /** Until the first acknowledged write invoked after the fault completed; null: none did. */
  writesRecoveredMs: number | null;
  /** Longest gap between successful requests to Services in the fault's window (present with Service traffic). */
  serviceUnavailabilityMs?: number | null;
  /** Longest gap between successful API server calls in the fault's window (present when a workload calls the API). */
  apiUnavailabilityMs?: number | null;
  /** Until a scheduler other than the one leading before the fault (or a new incarnation of it) started leading; null: none did before the next fault. */
  newSchedulerLeaderMs?: number | null;
  /** The same for the controller-manager. */
  newControllerManagerLeaderMs?: number | null;
  /** Until every Deployment again had its desired replicas Running on its current image, sampled after the fault healed; null: not before the next fault (or the end). */
  restoredMs?: number | null;
}

/** Kubernetes-level (or any plugin's) figures per fault, merged into each fault's figures. */
export interface FigurePlugin {
  name: string;
  /** One entry per fired fault, in `data.figures` order. */
  compute(data: RunData): Array<Partial<FaultFigures>>;
}

/** A named target a plugin can resolve (`scheduler-leader`): an actor name, or undefined when there is none now. */
export interface TargetPlugin {
  name: string;
  description: string;
  resolve(env: ChaosEnv): Promise<string | undefined>;
}

export interface StatusSample {
  tMs: number;
  replicas: Array<{ name: string; role: string; term: number; leader: string; commitIndex: number } | null>;
}

export interface CheckResult {
  name: string;
  /** 'pass' | 'fail'; 'unknown' when the check could not decide (a budget ran out). */
  verdict: 'pass' | 'fail' | 'unknown';
  summary: string;
  details?: unknown;
}

/** Everything a check may look at. */
export interface RunData {
  scenario: Scenario;
  /** Register operations, renumbered, times in ms from the origin. */
  history: Operation[];
  /** Service traffic and API calls, times in ms from the origin, by invocation. */
  requests: RequestRecord[];
  cluster: ClusterSample[];
  watches: WatchObservation[];
  reference: { events: WatchEventRecord[]; revision: number } | undefined;
  figures: FaultFigures[];
  samples: StatusSample[];
  /** What this run's workloads and nemeses left for the checks (see RunState). */
  state: RunState;
}

export interface CheckPlugin<P extends CheckSpec = CheckSpec> {
  name: string;
  description: string;
  schema: JsonSchema;
  run(data: RunData, params: P): Promise<CheckResult>;
}
