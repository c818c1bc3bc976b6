/**
 * Prometheus metrics for actors, on prom-client, without global state: each
 * component (actor) makes its own `Registry` with `componentRegistry(name)`
 * and creates its instruments once, registered there only — never in
 * prom-client's global registry, which every actor of a thread (and every run
 * of the simulated runtime) would share.
 *
 * Durations are computed by the caller from its actor context's clock
 * (`ctx.now()`) and observed as seconds: never prom-client's `startTimer`,
 * which reads the real clock and would break the simulated runtime's replay.
 *
 * The lowest layer beside src/actor: it imports nothing of the project.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** The text exposition format prom-client writes (Prometheus 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** A registry of its own for one component; every series it exposes carries `component="<name>"`. */
export function componentRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  return registry;
}

/** kube-apiserver's buckets for apiserver_request_duration_seconds and etcd_request_duration_seconds. */
export const KUBE_REQUEST_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
]);

/** etcd's buckets for its disk durations (prometheus.ExponentialBuckets(0.001, 2, 14): 1 ms to 8 s). */
export const ETCD_DISK_DURATION_BUCKETS: readonly number[] = Object.freeze(exponentialBuckets(0.001, 2, 14));

export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const buckets: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) buckets.push(Number(b.toPrecision(12)));
  return buckets;
}

/** Two readings of an actor's `now()` (milliseconds) as the seconds a histogram observes. */
export function secondsBetween(startMs: number, endMs: number): number {
  return Math.max(0, endMs - startMs) / 1000;
}

/**
 * Children of a labelled instrument, made once per label combination and
 * reused. Label values must be bounded (verbs, resources, codes), never names
 * of objects.
 */
export class Children<C> {
  private readonly children = new Map<string, C>();
  constructor(private readonly make: (values: string[]) => C) {}

  of(...values: string[]): C {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    let child = this.children.get(key);
    if (child === undefined) this.children.set(key, (child = this.make(values)));
    return child;
  }

  values(): IterableIterator<C> {
    return this.children.values();
  }
}

export interface CounterChild {
  inc(value?: number): void;
}

export interface HistogramChild {
  observe(seconds: number): void;
}

interface TallyConfig {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: readonly Registry[];
}

/** What a registry asks a metric for when scraped (prom-client's MetricObjectWithValues). */
interface Collected {
  name: string;
  help: string;
  type: string;
  aggregator: 'sum';
  values: { labels: Record<string, string>; value: number; metricName?: string; sharedLabels?: Record<string, string> }[];
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  if (names.length !== values.length) throw new Error(`${values.length} label values for the ${names.length} labels ${names.join(', ')}`);
  const labels: Record<string, string> = {};
  names.forEach((name, i) => (labels[name] = values[i]!));
  return labels;
}

/**
 * A labelled counter for hot paths: a child's `inc` is one addition on a
 * plain number. prom-client's Counter hashes and validates the labels on every
 * call (about a microsecond per request: a fifth of a cached GET's handling);
 * this one hands its tallies to the registry only when scraped, through
 * prom-client's custom-metric surface (`registerMetric` and `get`).
 */
export class TallyCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly children: Children<{ labels: Record<string, string>; value: number; inc(value?: number): void }>;

  constructor(config: TallyConfig) {
    this.name = config.name;
    this.help = config.help;
    this.children = new Children((values) => ({
      labels: labelsOf(config.labelNames, values),
      value: 0,
      inc(by = 1) {
        this.value += by;
      },
    }));
    for (const registry of config.registers) registry.registerMetric(this as unknown as Counter);
  }

  child(...values: string[]): CounterChild {
    return this.children.of(...values);
  }

  async get(): Promise<Collected> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.children.values()].map((c) => ({ labels: c.labels, value: c.value })) };
  }
}

/**
 * A labelled histogram for hot paths, on the same terms as `TallyCounter`:
 * an observation finds its bucket and adds; the cumulative `_bucket`, `_sum`
 * and `_count` series are built when scraped.
 */
export class TallyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly buckets: readonly number[];
  private readonly children: Children<{ labels: Record<string, string>; counts: number[]; sum: number; observe(seconds: number): void }>;

  constructor(config: TallyConfig & { buckets: readonly number[] }) {
    this.name = config.name;
    this.help = config.help;
    const buckets = (this.buckets = [...config.buckets]);
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${config.name}: buckets must increase`);
    this.children = new Children((values) => ({
      labels: labelsOf(config.labelNames, values),
      // One count per bucket, and the last for +Inf; not cumulative until scraped.
      counts: new Array<number>(buckets.length + 1).fill(0),
      sum: 0,
      observe(seconds: number) {
        let i = 0;
        while (i < buckets.length && seconds > buckets[i]!) i++;
        this.counts[i]!++;
        this.sum += seconds;
      },
    }));
    for (const registry of config.registers) registry.registerMetric(this as unknown as Histogram);
  }

  child(...values: string[]): HistogramChild {
    return this.children.of(...values);
  }

  async get(): Promise<Collected> {
    const values: Collected['values'] = [];
    for (const c of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += c.counts[i]!;
        const le = i < this.buckets.length ? String(this.buckets[i]) : '+Inf';
        // The series' labels as prom-client's Histogram passes them (shared), so the text is the same as its.
        values.push({ labels: { le }, sharedLabels: c.labels, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: c.labels, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/**
 * Several registries' text expositions as one: each metric family once, with
 * its HELP and TYPE once and the samples of every source (they differ by the
 * `component` label). Concatenating the texts would repeat a family's HELP and
 * TYPE, which Prometheus' parser refuses.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { help: string; type: string; samples: string[] }>();
  for (const text of texts) {
    let current: { help: string; type: string; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta !== null) {
        const kind = meta[1]!;
        const name = meta[2]!;
        current = families.get(name);
        if (current === undefined) families.set(name, (current = { help: '', type: '', samples: [] }));
        if (kind === 'HELP' && current.help === '') current.help = line;
        if (kind === 'TYPE' && current.type === '') current.type = line;
        continue;
      }
      if (line.startsWith('#')) continue;
      if (current === undefined) throw new Error(`mergeExpositions: a sample before any # HELP or # TYPE line: ${line}`);
      current.samples.push(line);
    }
  }
  let out = '';
  for (const family of families.values()) {
    if (family.help !== '') out += family.help + '\n';
    if (family.type !== '') out += family.type + '\n';
    for (const sample of family.samples) out += sample + '\n';
  }
  return out;
}
