/**
 * The series client-go exposes in every component that uses it, under its
 * names: the work queues' (`workqueue_*{name}`), leader election's
 * (`leader_election_master_status{name}`) and the REST client's
 * (`rest_client_requests_total{code,method,host}`). One `ClientMetrics` per
 * component, in that component's registry; the component hands it to its
 * `ActorClock`, and every queue, elector and API client made with that clock
 * is counted without each caller passing it along.
 *
 * Per-call updates are tallies (src/metrics: an addition each); durations come
 * from the clock (the actor's `now()`), so the simulated runtime replays.
 */
import { Gauge, TallyCounter, TallyHistogram, componentRegistry, exponentialBuckets, secondsBetween, type CounterChild, type HistogramChild, type Registry } from '../metrics/index.js';

/** client-go's workqueue buckets: prometheus.ExponentialBuckets(10e-9, 10, 10), 10 ns to 10 s. */
export const WORKQUEUE_DURATION_BUCKETS: readonly number[] = Object.freeze(exponentialBuckets(1e-8, 10, 10));

/** What a queue tells its metrics; `now` is the queue's clock (ms). */
export interface WorkQueueMetrics {
  /** A new item entered the queue (not a duplicate of one already waiting). */
  added(item: unknown, nowMs: number): void;
  /** A worker took the item. */
  taken(item: unknown, nowMs: number): void;
  /** The worker is done with the item. */
  finished(item: unknown, nowMs: number): void;
  retried(): void;
}

export class ClientMetrics {
  readonly registry: Registry;
  private readonly adds: TallyCounter;
  private readonly retries: TallyCounter;
  private readonly queueDuration: TallyHistogram;
  private readonly workDuration: TallyHistogram;
  private readonly requests: TallyCounter;
  /** queue name → its depth, read when scraped. */
  private readonly depths = new Map<string, () => number>();
  /** lease name → whether this component leads it, read when scraped. */
  private readonly leading = new Map<string, () => boolean>();
  /** host → method → code → counter: no label string built per request. */
  private readonly requestSeries = new Map<string, Map<string, Map<string, CounterChild>>>();

  /** `registry`: the component's own (made here when not given), so its other series share it. */
  constructor(component: string, registry: Registry = componentRegistry(component)) {
    const registers = [(this.registry = registry)];
    const metrics = this;
    new Gauge({
      name: 'workqueue_depth', registers, labelNames: ['name'], help: 'Current depth of workqueue',
      collect() {
        this.reset();
        for (const [name, depth] of metrics.depths) this.set({ name }, depth());
      },
    });
    this.adds = new TallyCounter({ name: 'workqueue_adds_total', registers, labelNames: ['name'], help: 'Total number of adds handled by workqueue' });
    this.retries = new TallyCounter({ name: 'workqueue_retries_total', registers, labelNames: ['name'], help: 'Total number of retries handled by workqueue' });
    this.queueDuration = new TallyHistogram({
      name: 'workqueue_queue_duration_seconds', registers, labelNames: ['name'], buckets: [...WORKQUEUE_DURATION_BUCKETS],
      help: 'How long in seconds an item stays in workqueue before being requested.',
    });
    this.workDuration = new TallyHistogram({
      name: 'workqueue_work_duration_seconds', registers, labelNames: ['name'], buckets: [...WORKQUEUE_DURATION_BUCKETS],
      help: 'How long in seconds processing an item from workqueue takes.',
    });
    new Gauge({
      name: 'leader_election_master_status', registers, labelNames: ['name'],
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
      collect() {
        this.reset();
        for (const [name, leads] of metrics.leading) this.set({ name }, leads() ? 1 : 0);
      },
    });
    this.requests = new TallyCounter({
      name: 'rest_client_requests_total', registers, labelNames: ['code', 'method', 'host'],
      help: 'Number of HTTP requests, partitioned by status code, method, and host (here: the API server actor).',
    });
  }

  /** The metrics of the queue called `name`; `depth` is read when scraped. */
  workqueue(name: string, depth: () => number): WorkQueueMetrics {
    this.depths.set(name, depth);
    return new QueueMetrics(this.adds.child(name), this.retries.child(name), this.queueDuration.child(name), this.workDuration.child(name));
  }

  /** leader_election_master_status{name}: `leads` is read when scraped. */
  leaderElection(name: string, leads: () => boolean): void {
    this.leading.set(name, leads);
  }

  /** One request to the API server answered with `code` ('<error>' when no answer came, as client-go). */
  request(host: string, method: string, code: string): void {
    let byMethod = this.requestSeries.get(host);
    if (byMethod === undefined) this.requestSeries.set(host, (byMethod = new Map()));
    let byCode = byMethod.get(method);
    if (byCode === undefined) byMethod.set(method, (byCode = new Map()));
    let child = byCode.get(code);
    if (child === undefined) byCode.set(code, (child = this.requests.child(code, method, host)));
    child.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** client-go's defaultQueueMetrics: when each item was added and when its processing started. */
class QueueMetrics implements WorkQueueMetrics {
  private readonly addedAtMs = new Map<unknown, number>();
  private readonly takenAtMs = new Map<unknown, number>();

  constructor(
    private readonly adds: CounterChild,
    private readonly retries: CounterChild,
    private readonly queueDuration: HistogramChild,
    private readonly workDuration: HistogramChild,
  ) {}

  added(item: unknown, nowMs: number): void {
    this.adds.inc();
    if (!this.addedAtMs.has(item)) this.addedAtMs.set(item, nowMs);
  }

  taken(item: unknown, nowMs: number): void {
    const addedMs = this.addedAtMs.get(item);
    if (addedMs !== undefined) {
      this.queueDuration.observe(secondsBetween(addedMs, nowMs));
      this.addedAtMs.delete(item);
    }
    this.takenAtMs.set(item, nowMs);
  }

  finished(item: unknown, nowMs: number): void {
    const takenMs = this.takenAtMs.get(item);
    if (takenMs === undefined) return;
    this.workDuration.observe(secondsBetween(takenMs, nowMs));
    this.takenAtMs.delete(item);
  }

  retried(): void {
    this.retries.inc();
  }
}

/** The method client-go would send for an API server message. */
export function restMethod(messageType: string): string {
  switch (messageType) {
    case 'api.get':
    case 'api.list':
    case 'api.watch':
    case 'api.podLog':
      return 'GET';
    case 'api.create':
      return 'POST';
    case 'api.update':
      return 'PUT';
    case 'api.patch':
      return 'PATCH';
    case 'api.delete':
    case 'api.deleteCollection':
      return 'DELETE';
    default:
      return 'OTHER';
  }
}
