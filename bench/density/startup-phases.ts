/**
 * Where a pod's startup time goes, as the density driver's watch sees it:
 * created (the pod's creationTimestamp, whole seconds as Kubernetes writes
 * it) → first seen by the watch → seen bound (spec.nodeName set) → seen
 * reported by its kubelet (status.startTime: the kubelet has admitted it) →
 * seen Running. Each step is the difference of two of those instants, so the
 * steps of one pod add up to its startup time.
 */
import { exactPercentile, round } from '../lib/stats.js';

export const STARTUP_PHASES = ['created_to_seen', 'seen_to_bound', 'bound_to_kubelet', 'kubelet_to_running'] as const;
export type StartupPhase = (typeof STARTUP_PHASES)[number];
/** One pod's steps in ms, in STARTUP_PHASES order. */
export type PhaseSample = [createdToSeen: number, seenToBound: number, boundToKubelet: number, kubeletToRunning: number];

/** The instants the watch saw of one pod (ms, the driver's clock); undefined where not seen (yet). */
export interface PodSightings {
  createdMs: number;
  firstSeenMs: number;
  boundSeenMs: number | undefined;
  kubeletSeenMs: number | undefined;
}

/**
 * The pod's steps once it is seen Running. A step whose instant the watch
 * never showed apart (two changes in one event) counts as 0 and the time
 * goes to the next step.
 */
export function phasesOf(pod: PodSightings, runningSeenMs: number): PhaseSample {
  const bound = pod.boundSeenMs ?? pod.kubeletSeenMs ?? runningSeenMs;
  const kubelet = pod.kubeletSeenMs ?? runningSeenMs;
  return [pod.firstSeenMs - pod.createdMs, bound - pod.firstSeenMs, kubelet - bound, runningSeenMs - kubelet];
}

export interface PhaseSummary {
  /** Pods summarised. */
  pods: number;
  /** Mean ms per step. */
  mean_ms: Record<StartupPhase, number>;
}

/**
 * The steps of every pod and of the slowest ones (startup at or above its
 * `q` percentile): which step the tail is made of. `startupMs[i]` and
 * `phases[i]` are the same pod.
 */
export function summarizePhases(startupMs: readonly number[], phases: readonly PhaseSample[], q = 99): { all: PhaseSummary; slowest: PhaseSummary } | null {
  if (startupMs.length !== phases.length) throw new Error(`startup phases: ${phases.length} samples for ${startupMs.length} pods`);
  if (phases.length === 0) return null;
  const threshold = exactPercentile(startupMs, q);
  const slowest = phases.filter((_, i) => startupMs[i]! >= threshold);
  return { all: summary(phases), slowest: summary(slowest) };
}

function summary(phases: readonly PhaseSample[]): PhaseSummary {
  const mean = {} as Record<StartupPhase, number>;
  STARTUP_PHASES.forEach((name, i) => {
    mean[name] = round(phases.reduce((sum, p) => sum + p[i]!, 0) / Math.max(1, phases.length), 0);
  });
  return { pods: phases.length, mean_ms: mean };
}
