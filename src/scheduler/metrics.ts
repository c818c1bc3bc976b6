/**
 * kube-scheduler's series, under its names and buckets, in the scheduler
 * actor's registry: attempts by result and profile, how long each attempt
 * took (scheduling plus binding, as Kubernetes times it), the pods pending
 * per queue (read when scraped) and the pod scheduling SLI (from the pod's
 * first entry in the queue to its binding, over every attempt).
 *
 * `scheduler_e2e_scheduling_duration_seconds` is the older name of the
 * attempt duration, which Kubernetes exposed beside it while both existed;
 * it is kept so dashboards written for it still draw. Durations come from
 * the scheduler's clock (the actor's `now()`).
 */
import { Gauge, TallyCounter, TallyHistogram, exponentialBuckets, type HistogramChild, type CounterChild, type Registry } from '../metrics/index.js';

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

/** kube-scheduler's attempt buckets: ExponentialBuckets(0.001, 2, 15), 1 ms to 16 s. */
export const SCHEDULING_ATTEMPT_BUCKETS: readonly number[] = Object.freeze(exponentialBuckets(0.001, 2, 15));
/** kube-scheduler's SLI buckets: ExponentialBuckets(0.01, 2, 20), 10 ms to about 87 min. */
export const POD_SCHEDULING_SLI_BUCKETS: readonly number[] = Object.freeze(exponentialBuckets(0.01, 2, 20));

/** Queues scheduler_pending_pods reports, by our queue's place names. */
const PENDING_QUEUES = ['active', 'backoff', 'unschedulable'] as const;

/** What the scheduler's loop tells its metrics. */
export interface SchedulerMetricsSink {
  attempted(result: AttemptResult, seconds: number): void;
  /** A pod was bound after `attempts` attempts, `seconds` after it first entered the queue. */
  podScheduled(attempts: number, seconds: number): void;
}

export class SchedulerMetrics implements SchedulerMetricsSink {
  private readonly perResult = new Map<AttemptResult, { total: CounterChild; duration: HistogramChild; e2e: HistogramChild }>();
  private readonly sli: TallyHistogram;

  constructor(registry: Registry, profile: string, pending: () => Readonly<Record<(typeof PENDING_QUEUES)[number], number>> | undefined) {
    const registers = [registry];
    const total = new TallyCounter({
      name: 'scheduler_schedule_attempts_total', registers, labelNames: ['result', 'profile'],
      help: 'Number of attempts to schedule pods, by the result. \'unschedulable\' means a pod could not be scheduled, while \'error\' means an internal scheduler problem.',
    });
    const duration = new TallyHistogram({
      name: 'scheduler_scheduling_attempt_duration_seconds', registers, labelNames: ['result', 'profile'], buckets: [...SCHEDULING_ATTEMPT_BUCKETS],
      help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding)',
    });
    const e2e = new TallyHistogram({
      name: 'scheduler_e2e_scheduling_duration_seconds', registers, labelNames: ['result', 'profile'], buckets: [...SCHEDULING_ATTEMPT_BUCKETS],
      help: 'E2e scheduling latency in seconds (scheduling algorithm + binding); the older name of scheduler_scheduling_attempt_duration_seconds.',
    });
    for (const result of ['scheduled', 'unschedulable', 'error'] as const) {
      this.perResult.set(result, { total: total.child(result, profile), duration: duration.child(result, profile), e2e: e2e.child(result, profile) });
    }
    this.sli = new TallyHistogram({
      name: 'scheduler_pod_scheduling_sli_duration_seconds', registers, labelNames: ['attempts'], buckets: [...POD_SCHEDULING_SLI_BUCKETS],
      help: 'E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.',
    });
    new Gauge({
      name: 'scheduler_pending_pods', registers, labelNames: ['queue'],
      help: 'Number of pending pods, by the queue type. \'active\' means number of pods in activeQ; \'backoff\' means number of pods in backoffQ; \'unschedulable\' means number of pods in unschedulablePods.',
      collect() {
        const counts = pending();
        for (const queue of PENDING_QUEUES) this.set({ queue }, counts?.[queue] ?? 0);
      },
    });
  }

  attempted(result: AttemptResult, seconds: number): void {
    const series = this.perResult.get(result)!;
    series.total.inc();
    series.duration.observe(seconds);
    series.e2e.observe(seconds);
  }

  podScheduled(attempts: number, seconds: number): void {
    // Bounded as Kubernetes bounds it: attempts past 15 share one label value.
    this.sli.child(attempts > 15 ? '15+' : String(attempts)).observe(seconds);
  }
}
