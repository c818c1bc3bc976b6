/**
 * Series a chaos run samples from its cluster's metrics (scenario option
 * `metrics`): each scrape of `ActorSystem.metrics()` is reduced to one number
 * per chosen series, so result.json and report.html show, say, the store's
 * leader changes or the API server's p99 latency beside the faults.
 *
 * A series is a metric summed over its samples (every component, or those
 * matching `labels`), or a quantile of a histogram over the observations
 * made since the previous scrape, interpolated within buckets as PromQL's
 * `histogram_quantile(q, rate(..._bucket[window]))` does.
 *
 * Pure: text in, numbers out.
 */

/** One series to sample: a counter or gauge summed, or a histogram's quantile. */
export type MetricSeriesSpec =
  | { metric: string; labels?: Record<string, string>; title?: string }
  | { histogram: string; quantile: number; labels?: Record<string, string>; title?: string };

export interface MetricsSampling {
  /** How often the metrics are scraped, ms of the run's time. */
  everyMs: number;
  series: MetricSeriesSpec[];
}

/** One scrape: the time (ms from the run's origin) and a value per series, in the order of `series` (null: nothing to report). */
export interface MetricSample {
  tMs: number;
  values: (number | null)[];
}

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (comments skipped). */
export function parseExposition(text: string): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** A short name for a series, for plots and tables. */
export function seriesTitle(spec: MetricSeriesSpec): string {
  if (spec.title !== undefined) return spec.title;
  const labels = Object.entries(spec.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join(',');
  const selector = labels === '' ? '' : `{${labels}}`;
  return 'metric' in spec ? `${spec.metric}${selector}` : `p${Math.round(spec.quantile * 1000) / 10} ${spec.histogram}${selector}`;
}

function matches(sample: ParsedSample, labels: Record<string, string> | undefined): boolean {
  if (labels === undefined) return true;
  for (const [k, v] of Object.entries(labels)) if (sample.labels[k] !== v) return false;
  return true;
}

/**
 * Reduces scrapes to the chosen series. Stateful for histograms: a quantile is
 * of the observations between this scrape and the previous one.
 */
export class MetricSeriesSampler {
  /** Per histogram series: cumulative count per bucket bound at the previous scrape. */
  private readonly previousBuckets: (Map<number, number> | undefined)[];

  constructor(readonly series: readonly MetricSeriesSpec[]) {
    for (const spec of series) {
      if ('histogram' in spec && !(spec.quantile >= 0 && spec.quantile <= 1)) throw new Error(`metrics: quantile of ${spec.histogram} must be within 0..1, not ${spec.quantile}`);
    }
    this.previousBuckets = series.map(() => undefined);
  }

  sample(tMs: number, text: string): MetricSample {
    const samples = parseExposition(text);
    return { tMs, values: this.series.map((spec, i) => ('metric' in spec ? this.sum(spec.metric, spec.labels, samples) : this.quantile(i, spec, samples))) };
  }

  private sum(name: string, labels: Record<string, string> | undefined, samples: readonly ParsedSample[]): number | null {
    let total = 0;
    let found = false;
    for (const s of samples) {
      if (s.name !== name || !matches(s, labels)) continue;
      total += s.value;
      found = true;
    }
    return found ? total : null;
  }

  private quantile(index: number, spec: { histogram: string; quantile: number; labels?: Record<string, string> }, samples: readonly ParsedSample[]): number | null {
    const cumulative = new Map<number, number>();
    const bucketName = `${spec.histogram}_bucket`;
    for (const s of samples) {
      if (s.name !== bucketName || !matches(s, spec.labels)) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      cumulative.set(le, (cumulative.get(le) ?? 0) + s.value);
    }
    const previous = this.previousBuckets[index];
    this.previousBuckets[index] = cumulative;
    const window = [...cumulative].map(([le, n]) => [le, Math.max(0, n - (previous?.get(le) ?? 0))] as [number, number]).sort((a, b) => a[0] - b[0]);
    return bucketQuantile(spec.quantile, window);
  }
}

/**
 * PromQL's histogram_quantile over cumulative buckets (upper bound, count):
 * linear within the bucket the rank falls in; the highest finite bound when
 * it falls in +Inf; null without observations.
 */
export function bucketQuantile(q: number, buckets: readonly (readonly [number, number])[]): number | null {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1]![1];
  if (!(total > 0)) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      if (count === lowerCount) return le;
      return lowerBound + (le - lowerBound) * ((rank - lowerCount) / (count - lowerCount));
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
