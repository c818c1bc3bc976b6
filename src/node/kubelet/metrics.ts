/**
 * The kubelet's series, under its names and buckets, in the kubelet actor's
 * registry: pods with a running sandbox and containers by state (read when
 * scraped, from the pod workers and the last PLEG relist), how long a pod
 * took from the kubelet first seeing it to its first Running status, and how
 * long each pod sync took. Times are the actor's `now()`.
 */
import { Gauge, TallyHistogram, type HistogramChild, type Registry } from '../../metrics/index.js';

/** kubelet's pod start buckets (pkg/kubelet/metrics): 0.5 s to an hour. */
export const POD_START_DURATION_BUCKETS: readonly number[] = Object.freeze([0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600]);
/** Prometheus' default buckets, which kubelet_pod_worker_duration_seconds uses. */
export const PROMETHEUS_DEFAULT_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** CRI states as kubelet_running_containers' container_state label spells them. */
const CONTAINER_STATES = { CONTAINER_CREATED: 'created', CONTAINER_RUNNING: 'running', CONTAINER_EXITED: 'exited', CONTAINER_UNKNOWN: 'unknown' } as const;

export interface KubeletState {
  /** Pods whose sandbox runs. */
  runningPods(): number;
  /** Every container the runtimes listed at the last relist. */
  containers(): Iterable<{ state: keyof typeof CONTAINER_STATES }>;
}

export class KubeletMetrics {
  private readonly podStart: HistogramChild;
  private readonly syncCreate: HistogramChild;
  private readonly syncOther: HistogramChild;
  /** uid → when the kubelet first saw the pod; dropped at its first Running status. */
  private readonly seenAtMs = new Map<string, number>();
  /** Pods synced at least once: a first sync is a `create`, the rest `sync`. */
  private readonly synced = new Set<string>();

  constructor(registry: Registry, state: KubeletState) {
    const registers = [registry];
    new Gauge({
      name: 'kubelet_running_pods', registers, help: 'Number of pods that have a running pod sandbox',
      collect() { this.set(state.runningPods()); },
    });
    new Gauge({
      name: 'kubelet_running_containers', registers, labelNames: ['container_state'], help: 'Number of containers currently running',
      collect() {
        const counts: Record<string, number> = { created: 0, running: 0, exited: 0, unknown: 0 };
        for (const c of state.containers()) counts[CONTAINER_STATES[c.state] ?? 'unknown']!++;
        for (const [container_state, n] of Object.entries(counts)) this.set({ container_state }, n);
      },
    });
    this.podStart = new TallyHistogram({
      name: 'kubelet_pod_start_duration_seconds', registers, labelNames: [], buckets: [...POD_START_DURATION_BUCKETS],
      help: 'Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run',
    }).child();
    const worker = new TallyHistogram({
      name: 'kubelet_pod_worker_duration_seconds', registers, labelNames: ['operation'], buckets: [...PROMETHEUS_DEFAULT_BUCKETS],
      help: 'Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync',
    });
    this.syncCreate = worker.child('create');
    this.syncOther = worker.child('sync');
  }

  podSeen(uid: string, nowMs: number): void {
    this.seenAtMs.set(uid, nowMs);
  }

  /** The pod's status says Running; only the first time counts. */
  podRunning(uid: string, nowMs: number): void {
    const seenMs = this.seenAtMs.get(uid);
    if (seenMs === undefined) return;
    this.seenAtMs.delete(uid);
    this.podStart.observe(Math.max(0, nowMs - seenMs) / 1000);
  }

  podSynced(uid: string, seconds: number): void {
    if (this.synced.has(uid)) this.syncOther.observe(seconds);
    else {
      this.synced.add(uid);
      this.syncCreate.observe(seconds);
    }
  }

  podForgotten(uid: string): void {
    this.seenAtMs.delete(uid);
    this.synced.delete(uid);
  }
}
