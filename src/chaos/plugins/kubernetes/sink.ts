/**
 * What one run's Kubernetes plugins share (in the run's RunState): the
 * components the workload started, what the observers recorded, and what
 * the nemeses did. Workloads and nemeses write it; checks and figures read it.
 */
import type { LeaderActivity } from '../../../client/leader-activity.js';
import type { SpawnedNode } from '../../../../actors/node.js';
import type { RunState } from '../../engine/types.js';
import type { Pod } from '../../../api/types/index.js';

export interface PodBinding {
  /** ms from the origin when the watch first showed this pod on this node. */
  tMs: number;
  uid: string;
  pod: string;
  node: string;
}

/** One pod's startup as the watch saw it: first sight (creation) and first sight Running. */
export interface PodStartup {
  uid: string;
  pod: string;
  /** ms from the origin. */
  createdMs: number;
  /** ms from the origin; absent when it never ran. */
  runningMs?: number;
}

export interface DeploymentSample {
  desired: number;
  /** Running, not terminating pods of the Deployment (label app=<name>). */
  running: number;
  /** Of those, how many run the current image. */
  runningCurrent: number;
}

export interface KubeSample {
  tMs: number;
  /** By Deployment name; absent when the API server did not answer. */
  deployments?: Record<string, DeploymentSample>;
  /** Schedulers that said they lead at this sample. */
  schedulerLeaders: string[];
  controllerManagerLeaders: string[];
}

/** A change of one pod's health as the watch saw it (healthy: Running, Ready, not terminating). */
export interface PodHealthChange {
  /** ms from the origin. */
  tMs: number;
  uid: string;
  /** namespace/name */
  pod: string;
  /** The pod's `app` label: what the run's budgets select on. */
  app: string | undefined;
  healthy: boolean;
}

/** A PodDisruptionBudget a workload created: it selects the pods labelled app=<app>. */
export interface BudgetRecord {
  name: string;
  app: string;
  /** Healthy pods the budget must keep (minAvailable, or the workload's replicas minus maxUnavailable). */
  desiredHealthy: number;
}

/** One pod a drain took away: through the eviction API (accepted), or deleted directly (the broken variant). */
export interface DisruptionRecord {
  /** ms from the origin when the API server accepted it. */
  tMs: number;
  /**
   * ms from the origin when the request was sent: the pod's health is judged
   * as it was then (the watch may show the pod going before the answer
   * arrives). Absent in older records: judged at `tMs`.
   */
  sentMs?: number;
  uid: string;
  /** namespace/name */
  pod: string;
  node: string;
  via: 'eviction' | 'delete';
}

/** One drain of a node, as the drain-node nemesis did it. */
export interface DrainRecord {
  node: string;
  /** ms from the origin. */
  startedMs: number;
  /** When its last pod was evicted; absent: it timed out (or the run ended first). */
  doneMs?: number;
  /** Pods it took away. */
  evicted: number;
  /** 429 answers: evictions a budget refused (each retried). */
  refused: number;
  timedOut: boolean;
}

/** A StatefulSet's members as last observed: the ordinals that were Running and Ready under their own names. */
export interface StatefulSetObservation {
  converged: boolean;
  /** ms from the origin. */
  atMs: number;
  sets: Record<string, { replicas: number; readyOrdinals: number[]; others: string[] }>;
}

/** Each DaemonSet's pods as last observed, per live node. */
export interface DaemonSetObservation {
  converged: boolean;
  /** ms from the origin. */
  atMs: number;
  sets: Record<string, { nodes: number; missing: string[]; extra: string[] }>;
}

/** Each Job as last observed. */
export interface JobObservation {
  converged: boolean;
  /** ms from the origin. */
  atMs: number;
  jobs: Record<string, { completions: number; succeeded: number; failed: number; complete: boolean; failedCondition: boolean }>;
}

export interface KubeSink {
  /** An actor that answers `sleep` after the given ms: the host's timer in both runtimes. */
  sleeper: string;
  schedulers: string[];
  controllerManagers: string[];
  nodes: SpawnedNode[];
  /** Node names the crash-node nemesis took down. */
  crashedNodes: string[];
  samples: KubeSample[];
  bindings: PodBinding[];
  startups: PodStartup[];
  /** Every leader.activity record of the schedulers and controller-managers, times in ms from the origin. */
  activity: LeaderActivity[];
  /** Deployment → desired replicas and image, as last written. */
  desired: Record<string, { replicas: number; image: string }>;
  /** ms from the origin of the last churn write. */
  lastChangeMs: number;
  /** Health changes of every pod, from the pods watch (set by the deployments workload's finish). */
  health: PodHealthChange[];
  /** PodDisruptionBudgets the workloads created. */
  budgets: BudgetRecord[];
  /** Pods the drains took away, in order. */
  disruptions: DisruptionRecord[];
  drains: DrainRecord[];
  /** StatefulSet name → replicas (the statefulsets workload). */
  statefulsets: Record<string, number>;
  /** Set by the statefulsets workload's finish. */
  statefulsetFinal?: StatefulSetObservation;
  /** DaemonSet names (the daemonsets workload). */
  daemonsets: string[];
  /** Set by the daemonsets workload's finish. */
  daemonsetFinal?: DaemonSetObservation;
  /** Job name → completions (the jobs workload). */
  jobs: Record<string, number>;
  /** Set by the jobs workload's finish. */
  jobFinal?: JobObservation;
  /** Set by the workload's finish. */
  final?: { converged: boolean; atMs: number; deployments: Record<string, DeploymentSample> };
}

export function kubeSink(state: RunState): KubeSink {
  return state.get<KubeSink>('kubernetes', () => ({
    sleeper: 'k8s-chaos-sleeper',
    schedulers: [], controllerManagers: [], nodes: [], crashedNodes: [], samples: [], bindings: [], startups: [], activity: [], desired: {}, lastChangeMs: 0,
    health: [], budgets: [], disruptions: [], drains: [], statefulsets: {}, daemonsets: [], jobs: {},
  }));
}

export const sampleConverged = (d: Record<string, DeploymentSample>): boolean => Object.values(d).every((s) => s.running === s.desired && s.runningCurrent === s.desired);

/** The API server the workload starts (the component actors' default name). */
export const APISERVER = 'apiserver';
export const NAMESPACE = 'default';

/**
 * Pure: desired vs Running per Deployment from a pod list. Pods on a crashed
 * node do not count: the API still says Running (nobody is left to say
 * otherwise) until the node lifecycle evicts them; the harness knows better.
 */
export function countPods(pods: Iterable<Pod>, desired: Record<string, { replicas: number; image: string }>, crashedNodes: readonly string[] = []): Record<string, DeploymentSample> {
  const out: Record<string, DeploymentSample> = {};
  const crashed = new Set(crashedNodes);
  for (const [name, d] of Object.entries(desired)) out[name] = { desired: d.replicas, running: 0, runningCurrent: 0 };
  for (const pod of pods) {
    const app = pod.metadata?.labels?.app;
    const s = app !== undefined ? out[app] : undefined;
    if (s === undefined || pod.metadata.deletionTimestamp !== undefined || pod.status?.phase !== 'Running' || crashed.has(pod.spec?.nodeName ?? '')) continue;
    s.running++;
    if (pod.spec?.containers?.[0]?.image === desired[app!]!.image) s.runningCurrent++;
  }
  return out;
}
